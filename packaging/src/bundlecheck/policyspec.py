"""The policy format, declared once: every table and key with its type, whether
it is required, its default, a one-line meaning and an example.

This one definition drives the validation of a policy (:func:`validate`), its
JSON Schema (:func:`json_schema`, shipped as ``policy.schema.json``) and the key
reference in packaging/README.md (:func:`reference_markdown`), so none of the
three can say something the others do not.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .findings import SEVERITIES
from .limits import Limits
from .patterns import MAX_PATTERN_CHARS, pattern_problem
from .registry import CHECKS, PINNED
from .versions import version_problem

Path = tuple[str | int, ...]

# Kinds of value, as TOML writes them.
STRING, INTEGER, NUMBER, BOOLEAN = "string", "integer", "number", "boolean"
STRINGS = "strings"  # an array of non-empty strings
TABLE = "table"  # a table with the keys of its own Table
TABLES = "tables"  # an array of such tables ([[name]] blocks or inline tables)
MAP = "map"  # a table whose keys are the policy's own names (tools, check ids)


@dataclass(frozen=True)
class Rule:
    """A constraint on a string (each string of an array) beyond its type.

    ``test`` returns why a value is refused (a sentence fragment) or None;
    ``schema`` is the same constraint in JSON Schema, as far as it can say it.
    """

    name: str
    test: Callable[[Any], str | None]
    schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Key:
    name: str
    kind: str
    meaning: str
    example: Any = None  # the value as TOML would hold it (None for tables)
    required: bool = False
    default: Any = None
    default_text: str = ""  # how the README states a default that is not a plain value
    rule: Rule | None = None
    table: Table | None = None  # for TABLE and TABLES
    value: Key | None = None  # for MAP: what each value is
    key_rule: Rule | None = None  # for MAP: what each key must be
    #: for MAP: why a (key, value) pair is refused though each is right alone, and the
    #: same in JSON Schema (as ``properties``)
    pair_rule: Callable[[str, Any], str | None] | None = None
    pair_schema: dict[str, Any] = field(default_factory=dict)
    non_empty: bool = False  # for STRINGS: at least one entry


@dataclass(frozen=True)
class Table:
    title: str  # as the README and the messages name it: "[layout]", "[[prereqs]]"
    meaning: str
    keys: tuple[Key, ...]

    def key(self, name: str) -> Key:
        return next(k for k in self.keys if k.name == name)

    def names(self) -> list[str]:
        return [k.name for k in self.keys]


# --- rules ------------------------------------------------------------------------

_MODE = r"^0?[0-7]{3,4}$"
_CHECK_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"
_LINTER_TAG = r"^(lintian:[a-z0-9][a-z0-9.+_-]*|rpmlint:[A-Za-z0-9][A-Za-z0-9._+-]*)$"
_CLIMBS = re.compile(r"(^|/)\.\.(/|$)")


def _relative(value: str) -> str | None:
    if value.startswith("/"):
        return "it is absolute (starts with '/'); give it relative to the top of the source package"
    if "\\" in value:
        return "it holds a backslash; separate directories with '/'"
    if _CLIMBS.search(value):
        return "it climbs out with '..'; give a directory inside the source package"
    return None


DISTRO = "{distro}"


def _braces(value: str) -> str | None:
    """Only the exact text {distro} may be in braces: the engine replaces that text and
    nothing else, and a value that looks like a template must mean what it says."""
    rest = value.replace(DISTRO, "")
    if "{" in rest or "}" in rest:
        return ("only {distro} may appear in braces (it stands for the distro's name); remove "
                "every other '{' and '}'")
    return None


def _relative_filled(value: str) -> str | None:
    return _relative(value) or _braces(value)


def _distro_dir(value: str) -> str | None:
    if problem := _relative(value) or _braces(value):
        return problem
    if DISTRO not in value or not value.endswith("/"):
        return "it must hold {distro} (where the distro's name goes) and end in '/'"
    if value.count(DISTRO) > 1:
        return "it holds {distro} more than once; a distro's directory names the distro once"
    return None


def _absolute(value: str) -> str | None:
    if not value.startswith("/"):
        return "it must be an absolute path on the installed system (start with '/')"
    return None


def _mode(value: str) -> str | None:
    if not re.fullmatch(_MODE, value):
        return "it is not an octal file mode; write it as a string of octal digits"
    return None


def _regex(value: str) -> str | None:
    return pattern_problem(value)


_NAME = r"^[a-z0-9][a-z0-9._-]*$"
MAX_NAME_CHARS = 64


def _name(value: str) -> str | None:
    if not re.fullmatch(_NAME, value) or len(value) > MAX_NAME_CHARS:
        return (f"a policy's name is at most {MAX_NAME_CHARS} lower-case letters, digits, '.', '_' and "
                "'-', starting with a letter or digit, so that it can be typed on a command line as "
                "it is")
    return None


def _pinned_severity(check: str, severity: Any) -> str | None:
    if check in PINNED and severity != "error":
        return (f"{check} cannot be lowered below error: {PINNED[check]}; a policy may raise a "
                "check's severity, never silence this one. Remove the line")
    return None


def _version(value: str) -> str | None:
    problem = version_problem(value)
    return f"the version comparison cannot read it: {problem}" if problem else None


def _check_id(value: str) -> str | None:
    """The form of a check id; whether it is one (the engine's, or one the policy declares
    in [[checks]]) is checked across tables (policy._cross_checks)."""
    if not re.fullmatch(_CHECK_ID, value):
        return unknown_check(value, ())
    return None


def unknown_check(value: str, declared: Iterable[str]) -> str:
    known = [*CHECKS, *declared]
    close = difflib.get_close_matches(value, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (f"it is not a check id{hint}; `bundlecheck checks` lists the engine's, and a policy "
            "declares its own in [[checks]]")


def _declared_id(value: str) -> str | None:
    if not re.fullmatch(_CHECK_ID, value):
        return ("a check id is lower-case letters, digits and '-', starting with a letter or digit "
                f"(at most {MAX_NAME_CHARS} characters)")
    if value in CHECKS:
        return (f"{value} is one of the engine's own checks (`bundlecheck checks`): give the policy's "
                "check an id of its own")
    return None


def _linter_tag(value: str) -> str | None:
    if not re.fullmatch(_LINTER_TAG, value):
        return "it is not 'lintian:<tag>' or 'rpmlint:<check>'"
    return None


def _severity(value: str) -> str | None:
    if value not in SEVERITIES:
        return f"it must be one of {', '.join(SEVERITIES)}"
    return None


def _schema_one(value: Any) -> str | None:
    return None if value == 1 else "this version of bundlecheck reads schema 1 only"


def _positive(value: Any) -> str | None:
    return None if value > 0 else "it must be greater than 0"


_SYMBOL = r"^\S+$"
_PROVIDED = r"^[^\s<>=]+(\s*(>=|>|=)\s*[0-9][A-Za-z0-9.+~^:-]*)?$"


def _symbol(value: str) -> str | None:
    if not re.fullmatch(_SYMBOL, value) or len(value) > 128:
        return ("a symbol is one word as the recipe writes it (${python:Depends}, %{py_requires}, "
                "distutils-r1)")
    return None


PROVIDED_FORM = re.compile(r"([^\s<>=]+)\s*(?:(>=|>|=)\s*(\S+))?")


def _provided(value: str) -> str | None:
    if not re.fullmatch(_PROVIDED, value):
        return "it must be a package name, optionally followed by '>=', '>' or '=' and a version"
    m = PROVIDED_FORM.fullmatch(value)
    return _version(m.group(3)) if m and m.group(3) else None


_NO_CLIMB = r"^(?!/)(?!(?:.*/)?\.\.(?:/|$))[^\\]*$"
_ONLY_DISTRO_BRACES = r"(?=(?:[^{}]|\{distro\})*$)"
RELATIVE = Rule("relative path, {distro} allowed", _relative_filled,
                {"pattern": r"^(?!/)(?!(?:.*/)?\.\.(?:/|$))" + _ONLY_DISTRO_BRACES + r"[^\\]*$"})
FILLED = Rule("{distro} allowed", _braces, {"pattern": "^" + _ONLY_DISTRO_BRACES})
DISTRO_DIR = Rule("distro directory", _distro_dir,
                  {"pattern": r"^(?!/)(?!(?:.*/)?\.\.(?:/|$))" + _ONLY_DISTRO_BRACES
                   + r"(?!.*\{distro\}.*\{distro\})[^\\]*\{distro\}[^\\]*/$"})
ABSOLUTE = Rule("absolute path", _absolute, {"pattern": "^/"})
MODE = Rule("mode", _mode, {"pattern": _MODE})
REGEX = Rule("regular expression", _regex, {"format": "regex", "maxLength": MAX_PATTERN_CHARS})
NAME = Rule("name", _name, {"pattern": _NAME, "maxLength": MAX_NAME_CHARS})
VERSION = Rule("version", _version, {"pattern": r"^([0-9]+:)?[0-9][A-Za-z0-9.+~^-]*$"})
CHECK_ID = Rule("check id", _check_id, {"pattern": _CHECK_ID})
DECLARED_ID = Rule("declared check id", _declared_id,
                   {"pattern": _CHECK_ID, "not": {"enum": sorted(CHECKS)}})
LINTER_TAG = Rule("linter tag", _linter_tag, {"pattern": _LINTER_TAG})
SEVERITY = Rule("severity", _severity, {"enum": list(SEVERITIES)})
SCHEMA_ONE = Rule("schema 1", _schema_one, {"const": 1})
POSITIVE = Rule("positive", _positive, {"exclusiveMinimum": 0})
SYMBOL = Rule("symbol", _symbol, {"pattern": _SYMBOL, "maxLength": 128})
PROVIDED = Rule("provided package", _provided, {"pattern": _PROVIDED})


#: What autotools, libtool and gettext put in a release tarball beside the repository's files.
GENERATED_DEFAULT = (
    "configure", "Makefile.in", "aclocal.m4", "config.h.in", "build-aux/*",
    "compile", "depcomp", "install-sh", "missing", "config.guess", "config.sub", "ltmain.sh",
    "ar-lib", "test-driver", "ylwrap", "mkinstalldirs", "py-compile", "mdate-sh", "texinfo.tex",
    "config.rpath", "ABOUT-NLS", "INSTALL", "stamp-h.in", ".tarball-version", ".version",
    "m4/libtool.m4", "m4/ltoptions.m4", "m4/ltsugar.m4", "m4/ltversion.m4", "m4/lt~obsolete.m4",
    "*.pot", "po/Makefile.in.in", "po/Rules-quot", "po/*.sed", "po/*.header", "po/*.sin",
    "po/stamp-po", "po/POTFILES",
)


# --- the definition ---------------------------------------------------------------


def _mapping(title: str, meaning: str, required_default: str, source_rule: Rule | None = None) -> Table:
    return Table(title, meaning, (
        Key("source", STRING,
            "Where the files are in the source package ({distro} allowed in [[deployment.files]]).",
            "doc/", required=True, rule=source_rule),
        Key("target", STRING, "Where the package installs them.", "/usr/share/myproject/doc/",
            required=True, rule=ABSOLUTE),
        Key("mode", STRING, "The octal mode of the installed files.", "0644", required=True, rule=MODE),
        Key("required", BOOLEAN, "Whether the package must install it.", True, default_text=required_default),
        Key("alternative_to", STRING, "A required target this one is accepted instead of.",
            "/var/cache/myproject/install/", rule=ABSOLUTE),
    ))


_LIMIT_MEANINGS = {
    "max_total_size": ("Uncompressed bytes an archive may hold.", 8 << 30),
    "max_ratio": ("Uncompressed / compressed ratio allowed past ratio_threshold.", 50.0),
    "ratio_threshold": ("Uncompressed bytes read before max_ratio applies.", 64 << 20),
    "max_members": ("Member headers an archive may have.", 100_000),
    "max_path_length": ("Bytes of one member name.", 1024),
    "max_path_depth": ("Directory levels of one member name.", 32),
    "max_header_size": ("Bytes of one pax or GNU long-name extension header.", 64 << 10),
    "max_name_bytes": ("Bytes of all member names and link targets together.", 16 << 20),
    "max_member_in_memory": ("Bytes of one distro file a check reads (configuration, recipe, script).",
                             1 << 20),
    "max_captured_total": ("Bytes of all distro files the checks read together.", 16 << 20),
    "max_spool_size": ("Bytes of a .deb or .rpm copied to a temporary file.", 1 << 30),
    "lint_timeout": ("Seconds lintian or rpmlint may run on a package.", 120.0),
}
_defaults = Limits()
_LIMIT_KEYS = tuple(
    Key(name, NUMBER if isinstance(getattr(_defaults, name), float) else INTEGER, meaning, example,
        default=getattr(_defaults, name), rule=POSITIVE)
    for name, (meaning, example) in _LIMIT_MEANINGS.items()
)

POLICY = Table("Top level", "The keys before any table header.", (
    Key("schema", INTEGER, "The policy format's version.", 1, required=True, rule=SCHEMA_ONE),
    Key("name", STRING, "A short name for the policy, shown on the guide page and in reports.", "myproject",
        required=True, rule=NAME),
    Key("description", STRING, "One line saying what the policy encodes.", "MyProject packaging guide",
        default=""),
    Key("layout", TABLE, "Where a source package's and a distro's files are.", required=True,
        table=Table("[layout]", "Where a source package's and a distro's files are.", (
            Key("root", STRING, "Glob of the one top-level directory of a full source package.",
                "myproject-*", required=True),
            Key("contribution_roots", STRINGS,
                "The directories a distro maintainer may change, with {distro} for the distro's name.",
                ["distros/{distro}/"], required=True, rule=DISTRO_DIR, non_empty=True),
            Key("distro_dir", STRING, "The distro's own directory, which every submission must have.",
                "distros/{distro}/", required=True, rule=DISTRO_DIR),
        ))),
    Key("limits", TABLE, "Ceilings on what an archive may hold; each is optional.",
        table=Table("[limits]", "Ceilings on what an archive may hold; each is optional.", _LIMIT_KEYS)),
    Key("severity", MAP, "Overrides of checks' default severities, check id = severity.",
        {"prereq-unversioned": "error"}, default={}, key_rule=CHECK_ID,
        value=Key("severity", STRING, "A severity.", "error", rule=SEVERITY),
        pair_rule=_pinned_severity, pair_schema={c: {"const": "error"} for c in PINNED}),
    Key("checks", TABLES, "Checks of the policy's own: ids its rules report under ([[config.required]] "
        "or [patched_prereq] `check`), beside the engine's.", default=[],
        table=Table("[[checks]]", "A check the policy declares.", (
            Key("id", STRING, "Its id: lower-case letters, digits and '-', none of the engine's.",
                "myproject-browser-missing", required=True, rule=DECLARED_ID),
            Key("severity", STRING, "Its severity, unless [severity] says otherwise.", "error",
                required=True, rule=SEVERITY),
            Key("description", STRING, "One line saying what it finds, as the check list shows it.",
                "myproject.conf does not name the browser help pages open in", required=True),
        ))),
    Key("config", TABLE, "The distro's configuration file and the keys it must set.",
        table=Table("[config]", "The distro's configuration file and the keys it must set.", (
            Key("file", STRING, "The configuration file's base name.", "myproject.conf", required=True),
            Key("locations", STRINGS, "Where it may be, relative to the source package, with {distro}.",
                ["distros/{distro}/myproject.conf"], required=True, rule=RELATIVE, non_empty=True),
            Key("exec_path", TABLE, "The key holding the search path for the tools the program runs.",
                table=Table("[config.exec_path]",
                            "The key holding the search path for the tools the program runs.", (
                    Key("section", STRING, "The INI section of the key.", "PATHS", required=True),
                    Key("key", STRING, "The key.", "exec_path", required=True),
                    Key("variables", MAP, "What a variable in the value stands for.",
                        {"$PATH": "/usr/bin:/bin"}, default={},
                        value=Key("value", STRING, "Directories separated by ':'.", "/usr/bin:/bin")),
                    Key("tools", MAP, "Each tool the program runs = the directories distros install it in.",
                        {"lvcreate": ["/sbin", "/usr/sbin"]}, required=True,
                        value=Key("dirs", STRINGS, "Directories.", ["/sbin", "/usr/sbin"], rule=ABSOLUTE)),
                ))),
            Key("required", TABLES, "Keys the file must set.", default=[],
                table=Table("[[config.required]]", "A key the configuration file must set.", (
                    Key("section", STRING, "The INI section of the key.", "CLIENT CONFIGURATION",
                        required=True),
                    Key("key", STRING, "The key.", "html_browser", required=True),
                    Key("check", STRING, "The check id a missing key is reported under: "
                        "config-key-missing, or one the policy declares in [[checks]].",
                        "myproject-browser-missing", default="config-key-missing", rule=CHECK_ID),
                ))),
        ))),
    Key("scripts", TABLE, "The distro's install scripts.",
        table=Table("[scripts]", "The distro's install scripts.", (
            Key("patterns", STRINGS, "Globs on the base names of files under the contribution roots.",
                ["postinst", "*.sh"], default=[]),
            Key("lint", BOOLEAN, "Whether shellcheck reads them.", True, default=True),
        ))),
    Key("recipes", TABLE, "Where the prerequisites are read from, per packaging family.",
        table=Table("[recipes]", "Where the prerequisites are read from, per packaging family.", tuple(
            Key(family, STRINGS, f"Globs (or path suffixes) of {what}.", [example], default=[])
            for family, what, example in (
                ("rpm", "RPM spec files", "*.spec"), ("deb", "Debian control files", "debian/control"),
                ("arch", "Arch PKGBUILDs", "PKGBUILD"), ("gentoo", "Gentoo ebuilds", "*.ebuild"))
        ))),
    Key("prereqs", TABLES, "What the package must require.", default=[],
        table=Table("[[prereqs]]", "One prerequisite the package must require.", (
            Key("name", STRING, "The prerequisite's name in the guide (unique).", "libfoo", required=True),
            Key("min_version", STRING, "The lowest version accepted.", "2.0", rule=VERSION),
            Key("aliases", STRINGS, "The names distros give it.", ["libfoo2", "foo-libs"], required=True),
        ))),
    Key("provides", TABLE,
        "What a recipe's symbols stand for, per packaging family: a Debian substvar, an RPM macro, "
        "a Gentoo variable or eclass, and the packages it brings in.",
        table=Table("[provides]", "What a recipe's symbols stand for, per packaging family.", tuple(
            Key(family, MAP, f"{what} = the packages it stands for (none: it brings in nothing the "
                "[[prereqs]] name).", {example: [provided]}, default={}, key_rule=SYMBOL,
                value=Key("packages", STRINGS, "Package names, each with an optional minimum version.",
                          [provided], rule=PROVIDED))
            for family, what, example, provided in (
                ("rpm", "A macro", "%{py_requires}", "python"),
                ("deb", "A substitution variable", "${python:Depends}", "python"),
                ("arch", "A variable", "$_python", "python2"),
                ("gentoo", "A variable or an eclass", "${PYTHON_DEPS}", "dev-lang/python"))
        ))),
    Key("patched_prereq", TABLE, "A prerequisite with a known bug: patched, or at a fixed version.",
        table=Table("[patched_prereq]", "A prerequisite with a known bug: patched, or at a fixed version.", (
            Key("prereq", STRING, "The name of one of the [[prereqs]].", "libfoo", required=True),
            Key("fixed_version", STRING, "The first version without the bug.", "2.1", required=True,
                rule=VERSION),
            Key("patch_pattern", STRING, "Regular expression (RE2 syntax, see Policy patterns) matching "
                "the patch in a recipe line or file name.",
                r"libfoo[\w.+-]*\.patch", required=True, rule=REGEX),
            Key("check", STRING, "The check id it is reported under: prereq-patch-missing, or one the "
                "policy declares in [[checks]].", "libfoo-patch-missing", default="prereq-patch-missing",
                rule=CHECK_ID),
        ))),
    Key("advice", TABLE, "Things recommended, never required.",
        table=Table("[advice]", "Things recommended, never required.", (
            Key("image_store", STRING, "The directory of provisionable images.", "image_store/"),
        ))),
    Key("generated", TABLE, "Files a release tarball may hold that its tag does not: what the "
        "release tools generate (bundlecheck source compare).",
        table=Table("[generated]", "Files a release tarball may hold that its tag does not.", (
            Key("patterns", STRINGS, "Globs: one without '/' matches a base name in any directory, "
                "one with '/' the whole path under the top directory.",
                ["configure", "Makefile.in", "*.pot"], default=list(GENERATED_DEFAULT),
                default_text="the autotools and gettext outputs (configure, Makefile.in, aclocal.m4, "
                "config.h.in, build-aux/*, *.pot, INSTALL, ...)"),
            Key("binary", STRINGS, "Globs of binary files the tools generate (e.g. *.gmo); any other "
                "binary file only in the tarball is named, whatever the patterns.", ["po/*.gmo"],
                default=[]),
        ))),
    Key("linters", TABLE, "How lintian and rpmlint findings count.",
        table=Table("[linters]", "How lintian and rpmlint findings count.", (
            Key("blocking", STRINGS, "Tags that are errors whatever the tool says.",
                ["lintian:no-copyright-file"], default=[], rule=LINTER_TAG),
            Key("advisory", STRINGS, "Tags that are at most warnings.", ["rpmlint:no-manual-page-for-binary"],
                default=[], rule=LINTER_TAG),
        ))),
    Key("deployment", TABLE, "Where a binary package installs things, with which modes.",
        table=Table("[deployment]", "Where a binary package installs things, with which modes.", (
            Key("tree", TABLES, "Directories of the source package and where they are installed.", default=[],
                table=_mapping("[[deployment.tree]]", "A directory of the source package and where it goes.",
                               "true, false with alternative_to")),
            Key("files", TABLES, "Single files and where they are installed.", default=[],
                table=_mapping("[[deployment.files]]", "A file of the source package and where it goes.",
                               "true, false with alternative_to", source_rule=FILLED)),
            Key("critical", TABLES, "Installed paths whose mode matters most.", default=[],
                table=Table("[[deployment.critical]]", "An installed path whose mode matters most.", (
                    Key("path", STRING, "The installed path (may hold * globs).", "/usr/bin/myproject",
                        required=True, rule=ABSOLUTE),
                    Key("mode", STRING, "Its octal mode.", "0755", required=True, rule=MODE),
                    Key("required", BOOLEAN, "Whether the package must install it (a path without globs).",
                        True, default=True),
                ))),
            Key("symlinks", TABLES, "Symbolic links the package must ship.", default=[],
                table=Table("[[deployment.symlinks]]", "A symbolic link the package must ship.", (
                    Key("path", STRING, "The link.", "/usr/bin/myproject", required=True, rule=ABSOLUTE),
                    Key("target", STRING, "Where it points.", "/usr/share/myproject/bin/myproject",
                        required=True, rule=ABSOLUTE),
                ))),
            Key("allowed", STRINGS, "Globs of other paths a package may install.", ["/usr/share/doc/**"],
                default=[]),
        ))),
))


# --- validation -------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """A problem found in the parsed data, before positions are known."""

    path: Path
    message: str
    at_value: bool = True  # the value is wrong (else the key itself, or a key missing from a table)


def toml_value(value: Any) -> str:
    """``value`` as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def key_path(path: Path) -> str:
    """``deployment.tree[3].mode``: dotted, entries numbered from 1 as in the messages."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + toml_key(part)
    return out


def where(path: Path) -> str:
    """How a message names ``path``: "`mode` in [deployment] tree #3"."""
    if not path:
        return "the policy"
    *table, last = path
    name = f"entry #{last + 1}" if isinstance(last, int) else f"`{last}`"
    return f"{name} in {_table_name(tuple(table))}" if table else name


def _table_name(path: Path) -> str:
    head = [p for p in path if isinstance(p, str)]
    text = "[" + ".".join(toml_key(p) for p in head) + "]"
    numbers = [p for p in path if isinstance(p, int)]
    if numbers and isinstance(path[-1], int):
        text = "[" + text + "]" + f" #{path[-1] + 1}"
    elif numbers:
        text = f"{text} (entry #{numbers[-1] + 1})"
    return text


_KIND_WORDS = {
    STRING: "a string in quotes", INTEGER: "a whole number", NUMBER: "a number",
    BOOLEAN: "true or false", STRINGS: "an array of strings, like [\"a\", \"b\"]", TABLE: "a table",
    TABLES: "an array of tables", MAP: "a table",
}


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {str: "a string", int: "a whole number", float: "a number", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


def _example(key: Key, name: str | None = None) -> str:
    if key.kind in (TABLE, TABLES) or key.example is None:
        return ""
    return f"; for example {toml_key(name or key.name)} = {toml_value(key.example)}"


def validate(data: Any, table: Table = POLICY, path: Path = ()) -> list[Issue]:
    """Every problem of type, presence and form in parsed policy data, in file order."""
    return list(_table(data, table, path))


def _table(data: Any, table: Table, path: Path) -> Iterator[Issue]:
    if not isinstance(data, dict):
        yield Issue(path, f"{where(path)} must be a table, not {_what(data)}")
        return
    names = table.names()
    for name, value in data.items():
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            yield Issue((*path, name), f"{_table_name(path) if path else 'the policy'} has no key "
                        f"`{name}`: {hint}its keys are {', '.join(names)}", at_value=False)
        else:
            yield from _value(value, table.key(name), (*path, name))
    for key in table.keys:
        if key.required and key.name not in data:
            inside = _table_name(path) if path else "the policy"
            add = f"add a [{key_path((*path, key.name))}] table" if key.kind == TABLE else (
                f"add {toml_key(key.name)} = {toml_value(key.example)}" if key.example is not None
                else f"add `{key.name}`")
            yield Issue((*path, key.name), f"{inside} lacks `{key.name}`, which is required "
                        f"({key.meaning[0].lower() + key.meaning[1:].rstrip('.')}): {add}", at_value=False)


def _value(value: Any, key: Key, path: Path, name: str | None = None) -> Iterator[Issue]:
    if not _is_kind(value, key.kind):
        yield Issue(path, f"{where(path)} must be {_KIND_WORDS[key.kind]}, not {_what(value)}"
                    f"{_example(key, name)}")
        return
    if key.kind == TABLE and key.table:
        yield from _table(value, key.table, path)
    elif key.kind == TABLES and key.table:
        for i, item in enumerate(value):
            yield from _table(item, key.table, (*path, i))
    elif key.kind == MAP and key.value:
        for item_name, item in value.items():
            if key.key_rule and (why := key.key_rule.test(item_name)):
                yield Issue((*path, item_name), f"{_table_name(path)} names {toml_value(item_name)}: {why}",
                            at_value=False)
            else:
                issues = list(_value(item, key.value, (*path, item_name), item_name))
                yield from issues
                if not issues and key.pair_rule and (why := key.pair_rule(item_name, item)):
                    yield Issue((*path, item_name), f"{_table_name(path)} sets {toml_value(item_name)} "
                                f"to {toml_value(item)}: {why}")
    elif key.kind == STRINGS:
        if key.non_empty and not value:
            yield Issue(path, f"{where(path)} is empty: give at least one{_example(key, name)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                what = "empty" if item == "" else _what(item)
                yield Issue((*path, i), f"{where(path)} must hold non-empty strings only; entry #{i + 1} "
                            f"is {what}{_example(key, name)}")
            elif key.rule and (why := key.rule.test(item)):
                yield Issue((*path, i), f"entry #{i + 1} of {where(path)} is {toml_value(item)}: {why}"
                            f"{_example(key, name)}")
    elif key.kind == STRING and not value and key.required:
        yield Issue(path, f"{where(path)} is empty{_example(key, name)}")
    elif key.rule and (why := key.rule.test(value)):
        yield Issue(path, f"{where(path)} is {toml_value(value)}: {why}{_example(key, name)}")


def _is_kind(value: Any, kind: str) -> bool:
    if kind == STRING:
        return isinstance(value, str)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind in (STRINGS, TABLES):
        return isinstance(value, list)
    return isinstance(value, dict)


# --- JSON Schema ------------------------------------------------------------------

def json_schema() -> dict[str, Any]:
    """The policy format as JSON Schema (draft 2020-12), from the same definition."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "title": "bundlecheck packaging policy"}
    schema.update(_table_schema(POLICY))
    return schema


def json_schema_text() -> str:
    """The schema as ``policy.schema.json`` holds it (``bundlecheck policy schema`` prints this)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _table_schema(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "description": table.meaning,
        "properties": {k.name: _key_schema(k) for k in table.keys},
        "additionalProperties": False,
    }
    required = [k.name for k in table.keys if k.required]
    if required:
        out["required"] = required
    return out


def _key_schema(key: Key) -> dict[str, Any]:
    out: dict[str, Any] = {"description": key.meaning}
    if key.kind == TABLE and key.table:
        out.update(_table_schema(key.table))
    elif key.kind == TABLES and key.table:
        out.update({"type": "array", "items": _table_schema(key.table)})
    elif key.kind == MAP and key.value:
        out.update({"type": "object", "additionalProperties": _key_schema(key.value)})
        if key.pair_schema:
            out["properties"] = dict(key.pair_schema)
        if key.key_rule:
            out["propertyNames"] = dict(key.key_rule.schema)
    elif key.kind == STRINGS:
        item: dict[str, Any] = {"type": "string", "minLength": 1}
        item.update(key.rule.schema if key.rule else {})
        out.update({"type": "array", "items": item})
        if key.non_empty:
            out["minItems"] = 1
    else:
        out["type"] = key.kind
        if key.kind == STRING and key.required:
            out["minLength"] = 1
        out.update(key.rule.schema if key.rule else {})
    if key.default not in (None, [], {}) or (key.kind == STRING and key.default == ""):
        out["default"] = key.default
    if key.example is not None:
        out["examples"] = [key.example]
    return out


# --- the README's key reference ---------------------------------------------------

README_START = "<!-- policy keys: generated by bundlecheck.policyspec.reference_markdown() -->"
README_END = "<!-- end of policy keys -->"


def reference_markdown() -> str:
    """The key reference of packaging/README.md: one table per policy table."""
    lines = [README_START, ""]
    for path, table, owner in _tables(POLICY, (), None):
        need = "" if owner is None else " (required)" if owner.required else " (optional)"
        lines += [f"**{table.title}**{need} — {table.meaning}", "",
                  "| key | type | required / default | meaning | example |", "|---|---|---|---|---|"]
        for key in table.keys:
            if key.kind == TABLE:
                continue  # listed as a table of its own
            qualified = key_path((*path, key.name)) if path else key.name
            need = "required" if key.required else (key.default_text or _default_text(key))
            example = f"`{toml_key(key.name)} = {toml_value(key.example)}`" if key.example is not None else ""
            if key.kind == TABLES:
                example = f"see {key.table.title}" if key.table else ""
            lines.append(f"| `{qualified}` | {_type_text(key)} | {need} | {key.meaning} | {example} |")
        lines.append("")
    lines.append(README_END)
    return "\n".join(lines)


def reference_tables() -> list[dict[str, Any]]:
    """The key reference as plain data (what :func:`reference_markdown` writes), for a page:
    per table its title, meaning, whether it is required, and each key's line."""
    out = []
    for path, table, owner in _tables(POLICY, (), None):
        rows = []
        for key in table.keys:
            if key.kind == TABLE:
                continue
            example = f"{toml_key(key.name)} = {toml_value(key.example)}" if key.example is not None else ""
            if key.kind == TABLES:
                example = f"see {key.table.title}" if key.table else ""
            rows.append({
                "key": key_path((*path, key.name)) if path else key.name,
                "type": _type_text(key),
                "need": "required" if key.required else (key.default_text or _default_text(key)),
                "meaning": key.meaning,
                "example": example,
            })
        out.append({"title": table.title, "meaning": table.meaning, "keys": rows,
                    "required": None if owner is None else owner.required})
    return out


def _tables(table: Table, path: tuple[str, ...],
            owner: Key | None) -> Iterator[tuple[tuple[str, ...], Table, Key | None]]:
    yield path, table, owner
    for key in table.keys:
        if key.table:
            yield from _tables(key.table, (*path, key.name), key)


def _type_text(key: Key) -> str:
    text = {STRINGS: "array of strings", TABLES: "array of tables", MAP: "table"}.get(key.kind, key.kind)
    if key.kind == MAP and key.value:
        text += f" of {_type_text(key.value)}"
    if key.rule:
        text += f" ({key.rule.name})"
    if key.non_empty:
        text += ", at least one"
    if key.key_rule:
        text += f", keys: {key.key_rule.name}s"
    return text


def _default_text(key: Key) -> str:
    if key.default is None:
        return "optional"
    if key.default in ([], {}):
        return "optional, empty"
    return f"`{toml_value(key.default)}`"


def every_key() -> list[str]:
    """The dotted name of every key of the definition (for the README test)."""
    out = []
    for path, table, _ in _tables(POLICY, (), None):
        out += [key_path((*path, k.name)) if path else k.name for k in table.keys]
    return out
