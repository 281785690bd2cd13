"""The patch ledger: the patches each distro carries, merged into one entry per fix.

:func:`find_patches` reads one bundle (or source package) through the engine's
bounded reader and finds the patches its distros carry:

- Debian: ``debian/patches/series`` and the DEP-3 header of each patch it names;
- RPM: the ``PatchN:`` / ``Patch:`` lines of a ``.spec`` and the files they name;
- Arch: the ``source=()`` entries of a ``PKGBUILD`` ending in ``.patch`` or ``.diff``;
- Gentoo: an ebuild's ``PATCHES=()`` and ``files/*.patch``;
- plain ``patches/*.patch`` or ``*.diff`` under the distro's contribution roots.

Diffs are parsed with ``unidiff`` (strict hunk line counts, binary diffs
flagged), never applied and never run here.  Each patch is normalised: the path
prefix (``a/``, ``b/``, ``convirt-2.0/``) is stripped, line numbers, hunk
offsets, context lines and whitespace at line ends are left out, and each run
of removed and added lines becomes one fingerprinted *change*.
:func:`build_ledger` merges the patches whose changes are the same into one
:class:`Entry` with one :class:`Carrier` per copy; an entry whose changes hold
another's *contains* it.  ``bundlecheck.patchapply`` adds each one's status
against a pre-release; ``bundlecheck.patchmbox`` writes them for ``git am``.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from unidiff import PatchSet, UnidiffParseError

from .decompress import RawReader
from .engine import scan_source
from .findings import Finding, Severity
from .formats import BLOCK, DEB, RPM, detect_kind
from .manifest import split_root
from .members import Member
from .names import is_clean, shown
from .policy import Policy, load_policy
from .view import owner_distro, root_parents, roots_pattern

#: The ledger's own findings, id -> (severity, description).  They are not
#: verification checks: a patch problem never fails a submission.
PATCH_PROBLEMS: dict[str, tuple[Severity, str]] = {
    "patch-not-a-diff": ("warning", "a file named as a patch holds no unified diff"),
    "patch-malformed": ("warning", "a diff whose hunks do not add up"),
    "patch-binary": ("info", "a binary diff: it is listed, not compared"),
    "patch-unsafe-path": ("warning", "a diff touching an absolute path or one that climbs out with '..'"),
    "patch-too-large": ("warning", "a patch over the size or hunk limits: not read"),
    "patch-missing": ("warning", "a recipe or series names a patch the bundle does not hold"),
    "patch-listed-twice": ("warning", "a series or recipe names the same patch twice"),
    "patch-unresolved": ("info", "a patch name the engine cannot resolve (a macro or variable)"),
    "patch-header-markup": ("info", "a DEP-3 header holding markup: kept as plain text"),
    "patch-too-many": ("warning", "more patches than the ledger reads from one bundle"),
    "patch-status-unknown": ("warning", "the status against the pre-release could not be computed"),
    "patch-problems-omitted": ("info", "more problems than the ledger lists for one bundle"),
    "prerelease-unusable": ("error", "the pre-release could not be read safely: no status computed"),
}

#: At most this many hunks in one patch; a longer one is refused before it is parsed.
MAX_HUNKS = 5000
#: At most this many patches read from one bundle.
MAX_PATCHES = 1000
#: At most this many problems listed for one bundle; a closing one says how many more there were.
MAX_PROBLEMS = 200
#: DEP-3 values are cut to this many characters.
MAX_FIELD = 2000
#: Lines of a series file, a spec or a recipe array read at most.
MAX_RECIPE_LINES = 20_000

PATCH_SUFFIXES = (".patch", ".diff", ".dpatch")
DEP3_FIELDS = ("description", "author", "origin", "bug", "forwarded", "applied_upstream",
               "last_update", "reviewed_by")
#: An HTML tag (not an address in angle brackets), an entity, a Markdown link or a script URL.
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!][A-Za-z0-9-]*(?:\s[^>]*)?/?>|&[A-Za-z#][A-Za-z0-9]*;|\]\(|"
                     r"javascript:", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def problem(check: str, path: str | None, message: str, hint: str = "") -> Finding:
    return Finding(check, PATCH_PROBLEMS[check][0], shown(path) if path else path, shown(message),
                   shown(hint))


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file's part of a patch, normalised: its path without prefix, its hunks re-rendered."""

    old: str | None  # None: the file is created
    new: str | None  # None: the file is removed
    hunks: tuple[str, ...]  # '@@ ... @@' + lines, as text

    @property
    def path(self) -> str:
        return self.new or self.old or ""

    def render(self) -> str:
        old = f"a/{self.old}" if self.old else "/dev/null"
        new = f"b/{self.new}" if self.new else "/dev/null"
        return f"--- {old}\n+++ {new}\n" + "".join(self.hunks)


@dataclass(slots=True)
class Patch:
    """One copy of a patch, in one bundle."""

    bundle: str
    distro: str
    path: str  # in the bundle, relative to its root
    via: str  # how it was found: 'debian/patches/series', 'PKGBUILD source', ...
    header: dict[str, Any]  # DEP-3 fields (bug: a list)
    files: tuple[FileDiff, ...]
    changes: tuple[str, ...]  # sorted change fingerprints (a multiset)
    hunks: int

    @property
    def diff(self) -> str:
        """The normalised diff, with a/ and b/ prefixes: applies with -p1."""
        return "".join(f.render() for f in self.files)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.changes).encode()).hexdigest()


@dataclass(slots=True)
class BundlePatches:
    """What :func:`find_patches` found in one bundle."""

    bundle: str
    patches: list[Patch] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class Status:
    state: str  # applies, applies-with-fuzz, already-upstream, conflicts, unknown
    detail: str = ""
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "detail": self.detail, "conflicts": list(self.conflicts)}


STATES = ("applies", "applies-with-fuzz", "already-upstream", "conflicts", "unknown")


@dataclass(slots=True)
class Carrier:
    patch: Patch
    status: Status | None = None

    def to_dict(self) -> dict[str, Any]:
        p = self.patch
        return {"bundle": p.bundle, "distro": p.distro, "path": p.path, "via": p.via,
                "header": dict(p.header), "same_diff": None,
                "status": self.status.to_dict() if self.status else None}


@dataclass(slots=True)
class Entry:
    """One fix, whoever carries it."""

    fingerprint: str
    changes: tuple[str, ...]
    carriers: list[Carrier]
    contains: list[str] = field(default_factory=list)
    contained_in: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.fingerprint[:16]

    def _by_header(self) -> list[Carrier]:
        """Carriers with the fullest DEP-3 header first (stable among equals)."""
        return sorted(self.carriers, key=lambda c: -sum(1 for v in c.patch.header.values() if v))

    @property
    def representative(self) -> Patch:
        """The diff most carriers ship; among equals, the one with the fullest header."""
        counts = Counter(c.patch.diff for c in self.carriers)
        best = max(counts.values())
        return next(c.patch for c in self._by_header() if counts[c.patch.diff] == best)

    @property
    def status(self) -> Status | None:
        rep = self.representative
        return next((c.status for c in self.carriers if c.patch is rep), None)

    def dep3(self) -> dict[str, Any]:
        """Each DEP-3 field from the first carrier giving it; bug links from all."""
        merged: dict[str, Any] = {}
        bugs: list[str] = []
        for c in self._by_header():
            for key, value in c.patch.header.items():
                if key == "bug":
                    bugs.extend(b for b in value if b not in bugs)
                elif value and key not in merged:
                    merged[key] = value
        merged["bug"] = bugs
        return merged

    def to_dict(self) -> dict[str, Any]:
        rep = self.representative
        status = self.status
        return {
            "id": self.id, "fingerprint": self.fingerprint,
            "files": sorted({f.path for f in rep.files}), "changes": len(self.changes),
            "hunks": rep.hunks, **self.dep3(),
            "carriers": [c.to_dict() | {"same_diff": c.patch.diff == rep.diff} for c in self.carriers],
            "contains": list(self.contains), "contained_in": list(self.contained_in),
            "status": status.to_dict() if status else None, "diff": rep.diff,
        }


@dataclass(slots=True)
class Ledger:
    entries: list[Entry] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    bundles: list[str] = field(default_factory=list)
    against: str | None = None  # the pre-release the statuses were computed on

    def entry(self, entry_id: str) -> Entry:
        return next(e for e in self.entries if e.id == entry_id or e.fingerprint == entry_id)

    def to_dict(self) -> dict[str, Any]:
        return {"bundles": list(self.bundles), "against": self.against,
                "entries": [e.to_dict() for e in self.entries],
                "problems": [p.to_dict() for p in self.problems]}


# --- reading a bundle ---------------------------------------------------------------


def _policy(policy: str | Policy) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(policy)


def _wanted_name(rel: str) -> bool:
    base = rel.rsplit("/", 1)[-1]
    return (base.endswith(PATCH_SUFFIXES) or base.endswith((".spec", ".ebuild"))
            or base in ("series", "PKGBUILD") or "/debian/patches/" in f"/{rel}")


def find_patches(fileobj: IO[bytes], *, bundle: str, policy: str | Policy = "convirt") -> BundlePatches:
    """Find and parse the patches the distros of one bundle carry; never raises on bad input.

    ``bundle`` names the bundle in the ledger (a file name, a submission id).
    Only files under the policy's contribution roots are read, each at most the
    policy's ``max_member_in_memory``; the archive is read once, never extracted.
    """
    pol = _policy(policy)
    out = BundlePatches(bundle)
    pattern = roots_pattern(pol)

    def capture(path: str) -> bool:
        rest = path.split("/", 1)[1] if "/" in path else ""
        return _wanted_name(path) and (owner_distro(pattern, path) is not None
                                       or owner_distro(pattern, rest) is not None)

    raw = RawReader(fileobj, None, None)
    kind = detect_kind(raw.peek(BLOCK))
    if kind is None or kind in (DEB, RPM):
        out.problems.append(problem("patch-not-a-diff", bundle, f"{bundle} is not a source bundle "
                                    "(a tar archive): no patches read",
                                    "Give the distro's bundle or source package."))
        return out
    scan = scan_source(raw, kind, pol.limits, capture=capture, hash_members=False)
    errors = [f for f in scan.findings if f.severity == "error"]
    if errors or not scan.complete:
        first = errors[0] if errors else scan.findings[0]
        out.problems.append(Finding(first.check, "error", first.path,
                                    f"{bundle}: {first.message}; no patches read", first.hint))
        return out
    root = _root(scan.members, pol)
    members = _relative(scan.members, root)
    files = _relative(scan.captured, root)
    too_large = set(_relative(dict.fromkeys(scan.too_large_to_capture), root))
    problems = _CappedProblems()
    out.problems = problems
    reader = _BundleReader(out, pol, members, files, too_large)
    for distro in sorted({d for rel in members if (d := owner_distro(pattern, rel)) is not None}):
        reader.read_distro(distro)
    out.problems = problems.closed(bundle)
    return out


class _CappedProblems(list):
    """A list of problems that keeps the first MAX_PROBLEMS and counts the rest."""

    omitted = 0

    def append(self, item: Finding) -> None:
        if len(self) < MAX_PROBLEMS:
            super().append(item)
        else:
            self.omitted += 1

    def closed(self, bundle: str) -> list[Finding]:
        done = list(self)
        if self.omitted:
            done.append(problem("patch-problems-omitted", None, f"{bundle}: {self.omitted} more problems "
                                f"were left out (at most {MAX_PROBLEMS} are listed)",
                                "Fix the problems listed first: they are usually one mistake repeated."))
        return done


def _root(members: dict[str, Member], pol: Policy) -> str | None:
    tops = {p.split("/", 1)[0] for p in members}
    if tops and tops <= {p.split("/", 1)[0] for p in root_parents(pol)}:
        return None
    return split_root(members)


def _relative(mapping: dict[str, Any], root: str | None) -> dict[str, Any]:
    if root is None:
        return dict(mapping)
    prefix = root + "/"
    return {k[len(prefix):]: v for k, v in mapping.items() if k.startswith(prefix)}


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class _BundleReader:
    """Finds the patches of each distro of one bundle, recipe by recipe."""

    def __init__(self, out: BundlePatches, pol: Policy, members: dict[str, Member],
                 files: dict[str, bytes], too_large: set[str]):
        self.out, self.pol, self.members, self.files, self.too_large = out, pol, members, files, too_large
        self.seen: set[str] = set()

    def read_distro(self, distro: str) -> None:
        for root in self.pol.roots_for(distro):
            under = sorted(p for p in self.members if p.startswith(root))
            for rel in under:
                base = rel[len(root):]
                if base == "debian/patches/series":
                    self._series(distro, root, rel)
                elif base.endswith(".spec"):
                    self._spec(distro, rel)
                elif rel.rsplit("/", 1)[-1] == "PKGBUILD":
                    self._pkgbuild(distro, rel)
                elif base.endswith(".ebuild"):
                    self._ebuild(distro, rel)
            for rel in under:
                base = rel[len(root):]
                parent = posixpath.dirname(base)
                if base.endswith(PATCH_SUFFIXES) and (
                        parent == "patches" or parent == "files" or parent.endswith("/files")):
                    via = "patches/" if parent == "patches" else "files/"
                    self._add(distro, rel, via, strip=None)

    # -- one patch ---------------------------------------------------------------

    def _add(self, distro: str, rel: str, via: str, strip: int | None, named_by: str | None = None) -> None:
        if rel in self.seen:
            return
        self.seen.add(rel)
        if len(self.out.patches) >= MAX_PATCHES:
            if len(self.out.patches) == MAX_PATCHES:
                self.out.problems.append(problem(
                    "patch-too-many", rel, f"{self.out.bundle} carries more than {MAX_PATCHES} patches; "
                    "the rest are not in the ledger", "Fold patches together or drop the obsolete ones."))
            return
        m = self.members.get(rel)
        where = f" (named by {named_by})" if named_by else ""
        if m is None:
            self.out.problems.append(problem(
                "patch-missing", rel, f"{rel}{where} is not in the bundle",
                "Add the patch file, or remove it from the series or recipe."))
            return
        if m.type != "file":
            self.out.problems.append(problem(
                "patch-missing", rel, f"{rel}{where} is a {m.type}, not a patch file: not read",
                "Ship the patch as a regular file."))
            return
        if rel in self.too_large:
            self.out.problems.append(problem(
                "patch-too-large", rel, f"{rel} is {m.size} bytes, over the "
                f"{self.pol.limits.max_member_in_memory} bytes the ledger reads: not read",
                "Split the patch, or send it upstream as a pull request."))
            return
        data = self.files.get(rel)
        if data is None:
            return
        patch = parse_patch(data, bundle=self.out.bundle, distro=distro, path=rel, via=via, strip=strip,
                            problems=self.out.problems)
        if patch is not None:
            self.out.patches.append(patch)

    # -- recipes -----------------------------------------------------------------

    def _lines(self, rel: str) -> list[str]:
        data = self.files.get(rel)
        if data is None:
            if rel in self.too_large:
                self.out.problems.append(problem(
                    "patch-too-large", rel, f"{rel} is over the size the ledger reads: its patches are not "
                    "listed", "Keep recipes and series files under 1 MiB."))
            return []
        return _text(data).splitlines()[:MAX_RECIPE_LINES]

    def _series(self, distro: str, root: str, rel: str) -> None:
        listed: set[str] = set()
        for number, line in enumerate(self._lines(rel), 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            name = words[0]
            strip = next((int(w[2:]) for w in words[1:] if re.fullmatch(r"-p\d", w)), 1)
            if not self._safe_name(name, f"{rel}:{number}"):
                continue
            if name in listed:
                self.out.problems.append(problem(
                    "patch-listed-twice", rel, f"{rel} line {number} names {name} again: quilt would "
                    "apply it twice, the ledger reads it once", "Remove the repeated line."))
                continue
            listed.add(name)
            self._add(distro, posixpath.normpath(f"{root}debian/patches/{name}"), "debian/patches/series",
                      strip, named_by=f"{rel} line {number}")

    def _safe_name(self, name: str, where: str) -> bool:
        if name.startswith("/") or ".." in name.split("/") or not is_clean(name):
            self.out.problems.append(problem(
                "patch-unsafe-path", where, f"{where} names {name!r}, outside the packaging directory: "
                "not read", "Name patches by a path inside the directory of the recipe."))
            return False
        return True

    def _spec(self, distro: str, rel: str) -> None:
        lines = self._lines(rel)
        macros = {"name": "", "version": ""}
        for line in lines:
            if m := re.match(r"\s*(Name|Version)\s*:\s*(\S+)", line, re.I):
                macros[m.group(1).lower()] = m.group(2)
            elif m := re.match(r"\s*%(?:define|global)\s+(\w+)\s+(\S+)", line):
                macros[m.group(1)] = m.group(2)
        default_strip: int | None = None
        strips: dict[str, int] = {}
        for line in lines:
            if m := re.match(r"\s*%(?:autosetup|autopatch)\b.*?-p\s*(\d)", line):
                default_strip = int(m.group(1))
            elif m := re.match(r"\s*%patch\s*(?:-P\s*)?(\d+)\b.*?-p\s*(\d)", line):
                strips[m.group(1)] = int(m.group(2))
        directory = posixpath.dirname(rel)
        for number, line in enumerate(lines, 1):
            m = re.match(r"\s*Patch(\d*)\s*:\s*(\S+)", line, re.I)
            if m is None:
                continue
            value = _expand(m.group(2), macros, r"%\{\??(\w+)\}|%(\w+)")
            where = f"{rel} line {number}"
            if "%" in value:
                self.out.problems.append(problem(
                    "patch-unresolved", rel, f"{where}: Patch{m.group(1)} names {value!r}, which uses a "
                    "macro the engine does not expand: checked by hand",
                    "Nothing to do; the patch is not in the ledger."))
                continue
            name = value.rsplit("/", 1)[-1]
            if self._safe_name(name, where):
                self._add(distro, _join(directory, name), f"{rel.rsplit('/', 1)[-1]} Patch{m.group(1)}",
                          strips.get(m.group(1) or "0", default_strip), named_by=where)

    def _pkgbuild(self, distro: str, rel: str) -> None:
        text = "\n".join(self._lines(rel))
        variables = dict(re.findall(r"^(\w+)=['\"]?([^'\"\s()]*)['\"]?\s*$", text, re.M))
        directory = posixpath.dirname(rel)
        for entry in _bash_array(text, r"source(?:_\w+)?"):
            value = _expand(entry.split("::", 1)[-1], variables, r"\$\{(\w+)\}|\$(\w+)")
            name = value.rsplit("/", 1)[-1]
            if not name.endswith(PATCH_SUFFIXES):
                continue
            if "$" in name:
                self.out.problems.append(problem(
                    "patch-unresolved", rel, f"{rel}: source entry {entry!r} uses a variable the engine does "
                    "not expand: checked by hand", "Nothing to do; the patch is not in the ledger."))
            elif self._safe_name(name, rel):
                self._add(distro, _join(directory, name), "PKGBUILD source", _patch_strip(text, name),
                          named_by=rel)

    def _ebuild(self, distro: str, rel: str) -> None:
        text = "\n".join(self._lines(rel))
        directory = posixpath.dirname(rel)
        stem = rel.rsplit("/", 1)[-1][: -len(".ebuild")]
        pn, _, pv = stem.rpartition("-") if re.search(r"-\d", stem) else (stem, "", "")
        if re.fullmatch(r"r\d+", pv) and "-" in pn:  # foo-1.0-r1
            pn, _, version = pn.rpartition("-")
            pv = f"{version}-{pv}"
        variables = {"FILESDIR": _join(directory, "files"), "PN": pn, "PV": pv.split("-r")[0],
                     "P": f"{pn}-{pv.split('-r')[0]}", "PF": stem}
        for entry in _bash_array(text, "PATCHES"):
            value = _expand(entry, variables, r"\$\{(\w+)\}|\$(\w+)")
            if "$" in value or not value.startswith(directory + "/files/"):
                self.out.problems.append(problem(
                    "patch-unresolved", rel, f"{rel}: PATCHES entry {entry!r} is not a file under "
                    "${FILESDIR} the engine can name: checked by hand",
                    "Nothing to do; the patch is not in the ledger."))
            elif self._safe_name(value, rel):
                self._add(distro, posixpath.normpath(value), "ebuild PATCHES", None, named_by=rel)


def _patch_strip(text: str, name: str) -> int | None:
    """The -pN of the ``patch`` command line naming ``name`` in a build function, if any."""
    for line in text.splitlines():
        if len(line) <= 1000 and name in line and "patch" in line:
            m = re.search(r"\bpatch\b.*?\s-\w*p\s*(\d)", line)
            if m:
                return int(m.group(1))
    return None


def _join(directory: str, name: str) -> str:
    return posixpath.normpath(f"{directory}/{name}") if directory else posixpath.normpath(name)


def _expand(value: str, variables: dict[str, str], pattern: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return variables.get(name, m.group(0))

    return re.sub(pattern, sub, value.strip("'\""))


#: A recipe's arrays are read over at most this many characters in all, and at most this many arrays.
MAX_ARRAY_CHARS = 64 * 1024
MAX_ARRAYS = 64


def _bash_array(text: str, name: str) -> Iterator[str]:
    """The words of ``NAME=( ... )`` arrays: quotes honoured, comments dropped.

    Each array is read over at most MAX_ARRAY_CHARS, and at most MAX_ARRAYS of
    them, so an unclosed quote or parenthesis costs a bounded time.
    """
    budget = MAX_ARRAY_CHARS
    for count, m in enumerate(re.finditer(rf"^\s*(?:{name})\+?=\(", text, re.M)):
        if count >= MAX_ARRAYS or budget <= 0:
            return
        word: list[str] = []
        quote = ""
        i = m.end()
        end = min(len(text), i + budget)
        budget -= end - i
        while i < end:
            ch = text[i]
            if quote:
                if ch == quote:
                    quote = ""
                else:
                    word.append(ch)
            elif ch in "'\"":
                quote = ch
            elif ch == "#" and not word:
                i = text.find("\n", i)
                if i < 0:
                    break
                continue
            elif ch.isspace() or ch == ")":
                if word:
                    yield "".join(word)
                    word = []
                if ch == ")":
                    break
            elif ch != "\\":
                word.append(ch)
            i += 1


# --- one diff ---------------------------------------------------------------------


def parse_patch(data: bytes, *, bundle: str, distro: str, path: str, via: str, strip: int | None,
                problems: list[Finding]) -> Patch | None:
    """Parse one patch file; a problem (appended to ``problems``) and None when it is not usable."""
    text = _text(data)
    hunks = text.count("\n@@ ") + text.startswith("@@ ")
    if hunks > MAX_HUNKS:
        problems.append(problem("patch-too-large", path, f"{path} has {hunks} hunks, over the {MAX_HUNKS} "
                                "the ledger reads: not read", "Split the patch into smaller fixes."))
        return None
    try:
        parsed = PatchSet(text)
    except UnidiffParseError as exc:
        problems.append(problem("patch-malformed", path, f"{path} is not a well-formed diff ({exc}): not "
                                "read", "Regenerate the patch with diff -u or git format-patch."))
        return None
    header, found = parse_header(text)
    for name in found:
        problems.append(problem("patch-header-markup", path, f"{path}: the {name} field of its header holds "
                                "markup; it is shown as plain text", "Write DEP-3 fields as plain text."))
    diffs: list[FileDiff] = []
    binary: list[str] = []
    for pf in parsed:
        if pf.is_binary_file:
            binary.append(pf.path)
            continue
        fd = _file_diff(pf, strip)
        if fd is None:
            problems.append(problem("patch-unsafe-path", path, f"{path} touches {pf.target_file!r}, an "
                                    "absolute path or one outside the source tree: not read",
                                    "Make every path in the diff relative to the source tree."))
            return None
        diffs.append(fd)
    if binary:
        problems.append(problem("patch-binary", path, f"{path} holds a binary diff of {binary[0]}"
                                + (f" and {len(binary) - 1} more" if len(binary) > 1 else "")
                                + ": listed, not compared",
                                "Binary changes are best sent upstream as files."))
    if not diffs:
        if not binary:
            problems.append(problem("patch-not-a-diff", path, f"{path} holds no unified diff: not read",
                                    "A patch is the output of diff -u or git format-patch."))
        return None
    changes = tuple(sorted(c for fd in diffs for c in _changes(fd)))
    return Patch(bundle=bundle, distro=distro, path=path, via=via, header=header, files=tuple(diffs),
                 changes=changes, hunks=sum(len(fd.hunks) for fd in diffs))


def _strip_level(old: str, new: str) -> int:
    """The prefix depth of a diff's paths when no recipe says: a/ b/, x.orig/ x/, convirt-2.0/."""
    real = [p for p in (old, new) if p != "/dev/null"]
    if not real or any("/" not in p for p in real):
        return 0
    firsts = {p.split("/", 1)[0] for p in real}
    if len(firsts) > 1:
        return 1
    (first,) = firsts
    return 1 if re.fullmatch(r"[ab]|.*\d.*|.*\.(orig|old|new)|.*-(orig|old|new)", first) else 0


def _clean_path(raw: str, strip: int) -> str | None:
    """The path without its prefix; None when absolute, climbing out or unprintable."""
    if raw.startswith("/"):
        return None
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts or not is_clean(raw):
        return None
    rest = parts[strip:]
    return "/".join(rest) if rest else None


def _file_diff(pf: Any, strip: int | None) -> FileDiff | None:
    old_raw, new_raw = pf.source_file, pf.target_file
    level = _strip_level(old_raw, new_raw) if strip is None else strip
    old = None if old_raw == "/dev/null" else _clean_path(old_raw, level)
    new = None if new_raw == "/dev/null" else _clean_path(new_raw, level)
    if (old is None and old_raw != "/dev/null") or (new is None and new_raw != "/dev/null"):
        return None
    if old and new and old != new and old.removesuffix(".orig") == new:  # gendiff: x.orig vs x
        old = new
    hunks = tuple(_hunk_text(h) for h in pf)
    return FileDiff(old, new, hunks)


def _hunk_text(hunk: Any) -> str:
    text = str(hunk)
    return text if text.endswith("\n") else text + "\n"


def _changes(fd: FileDiff) -> Iterator[str]:
    """One fingerprint per run of removed and added lines; context and line numbers left out."""
    for hunk in fd.hunks:
        run: list[str] = []
        for line in hunk.split("\n")[1:]:
            if line[:1] in ("-", "+"):
                run.append(line[0] + line[1:].rstrip())
            elif line.startswith("\\"):
                continue
            elif run:
                yield _digest(fd.path, run)
                run = []
        if run:
            yield _digest(fd.path, run)


def _digest(path: str, run: list[str]) -> str:
    # Removed lines before added ones, each kept in order: diff tools interleave them differently.
    ordered = [x for x in run if x[0] == "-"] + [x for x in run if x[0] == "+"]
    body = path + "\0" + "\n".join(ordered)
    return hashlib.sha256(body.encode("utf-8", "surrogateescape")).hexdigest()


# --- DEP-3 --------------------------------------------------------------------------

_ALIASES = {"description": "description", "subject": "description", "author": "author", "from": "author",
            "origin": "origin", "bug": "bug", "forwarded": "forwarded",
            "applied-upstream": "applied_upstream", "last-update": "last_update",
            "reviewed-by": "reviewed_by", "acked-by": "reviewed_by"}


def parse_header(text: str) -> tuple[dict[str, Any], list[str]]:
    """The DEP-3 (or git format-patch) fields before the first diff, and the fields holding markup."""
    lines: list[str] = []
    for line in text.splitlines()[:500]:
        if line.startswith(("--- ", "diff ", "Index: ", "===", "@@ ")) or line == "---":
            break
        lines.append(line)
    fields: dict[str, Any] = {"bug": []}
    extra: list[str] = []
    key: str | None = None
    for line in lines:
        if line.startswith("From ") and re.match(r"From [0-9a-f]{7,40} ", line):
            continue  # the mbox separator of a git format-patch file
        m = re.match(r"([A-Za-z][A-Za-z0-9-]*):\s?(.*)$", line)
        name = m.group(1).lower() if m else ""
        if m and (name in _ALIASES or name.startswith("bug-")):
            key = "bug" if name.startswith("bug") else _ALIASES[name]
            value = m.group(2).strip()
            if key == "bug":
                if value:
                    fields["bug"].append(value)
            elif key not in fields:
                fields[key] = value
            else:
                key = None  # a repeated field: the first one is kept
        elif line[:1] in (" ", "\t") and key == "description":
            body = line.strip()
            fields["description"] += "\n" + ("" if body == "." else body)
        elif m:
            key = None  # another header (Date, Signed-off-by, ...): not a DEP-3 field
        else:
            key = None
            extra.append(line.strip())
    free = "\n".join(extra).strip()
    if free:
        fields["description"] = (fields.get("description", "") + "\n\n" + free).strip()
    fields["description"] = re.sub(r"^\[PATCH[^\]]*\]\s*", "", fields.get("description", ""))
    markup = []
    for name, value in list(fields.items()):
        values = value if isinstance(value, list) else [value]
        cleaned = [_CONTROL.sub("", v)[:MAX_FIELD] for v in values]
        if any(_MARKUP.search(v) for v in cleaned):
            markup.append(name)
        fields[name] = cleaned[:20] if isinstance(value, list) else cleaned[0]
    return {k: v for k, v in fields.items() if v or k == "bug"}, markup


# --- the ledger ---------------------------------------------------------------------


def build_ledger(submissions: Iterable[BundlePatches]) -> Ledger:
    """Merge the patches of every bundle: one entry per set of changes, with its carriers.

    Entries are ordered by how many carry them, then by fingerprint; carriers by
    bundle and path.  An entry whose changes strictly hold another's lists it in
    ``contains`` (and the other lists it in ``contained_in``).
    """
    ledger = Ledger()
    by_key: dict[tuple[str, ...], Entry] = {}
    for sub in submissions:
        ledger.bundles.append(sub.bundle)
        ledger.problems.extend(sub.problems)
        for patch in sub.patches:
            entry = by_key.get(patch.changes)
            if entry is None:
                entry = by_key[patch.changes] = Entry(patch.fingerprint, patch.changes, [])
            entry.carriers.append(Carrier(patch))
    entries = list(by_key.values())
    for e in entries:
        e.carriers.sort(key=lambda c: (c.patch.bundle, c.patch.path))
    _containment(entries)
    entries.sort(key=lambda e: (-len(e.carriers), e.fingerprint))
    ledger.entries = entries
    return ledger


def _containment(entries: list[Entry]) -> None:
    """Fill contains/contained_in: for each entry, the entries holding all of its changes (and more)."""
    holders: dict[str, set[int]] = {}
    for i, e in enumerate(entries):
        for change in set(e.changes):
            holders.setdefault(change, set()).add(i)
    for i, e in enumerate(entries):
        need = Counter(e.changes)
        rarest = min(need, key=lambda c: len(holders[c]))
        for j in sorted(holders[rarest] - {i}):
            other = entries[j]
            have = Counter(other.changes)
            if all(have[c] >= n for c, n in need.items()) and len(other.changes) > len(e.changes):
                other.contains.append(e.id)
                e.contained_in.append(other.id)


def status_changes(previous: dict[str, Any] | None, current: Ledger | dict[str, Any]) -> list[dict[str, Any]]:
    """What changed for each carried patch between two ledgers (``Ledger.to_dict()`` or a Ledger).

    One item per carrier (bundle's distro and path) whose state differs, or that
    is new: ``{"entry", "distro", "path", "bundle", "before", "after", "description"}``.
    A respin's mail reads it to tell each maintainer what happened to their patches.
    """
    now = current.to_dict() if isinstance(current, Ledger) else current

    def states(ledger: dict[str, Any] | None) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
        out: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for entry in (ledger or {}).get("entries", []):
            for c in entry["carriers"]:
                state = (c.get("status") or {}).get("state", "unknown")
                out[(c["distro"], c["path"])] = (state, {"entry": entry["id"], "bundle": c["bundle"],
                                                         "description": entry.get("description", "")})
        return out

    before, after = states(previous), states(now)
    changes = []
    for key in sorted(after):
        state, info = after[key]
        old = before.get(key, (None, {}))[0]
        if old != state:
            changes.append({**info, "distro": key[0], "path": key[1], "before": old, "after": state})
    return changes
