"""Policies written in a browser: what parses but would later break pages or the worker is refused.

Each refusal comes with a second line of defence in the engine, tested here with a
Policy built by hand (as if the loader had let it through).
"""

from __future__ import annotations

import dataclasses
import io
import tarfile
import time
import tomllib
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from builders import CONF, SPEC, E, d, gz, tar_bytes
from test_policy import DEPLOYMENT, MINIMAL

import bundlecheck
from bundlecheck import cli, patterns, policyspec
from bundlecheck.registry import CHECKS, PINNED
from bundlecheck.tomlpos import Positions

SAME_MODES = DEPLOYMENT.replace('"0755"', '"0644"').replace('"0600"', '"0644"').replace('"0640"', '"0644"')
CONVIRT = (resources.files("bundlecheck") / "policies" / "convirt.toml").read_text()


def _problems(text: str) -> list[bundlecheck.Problem]:
    with pytest.raises(bundlecheck.PolicyError) as err:
        bundlecheck.parse_policy(text, origin="p.toml")
    return err.value.problems


def _schema_errors(text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(bundlecheck.policy_schema())
    return [e.message for e in validator.iter_errors(tomllib.loads(text))]


def _line(text: str, problem: bundlecheck.Problem) -> str:
    assert problem.line is not None
    return text.split("\n")[problem.line - 1]


# --- 1. braces in the values filled with {distro} ------------------------------------

BRACES = [
    ('contribution_roots = ["pkg/{distro}/"]', 'contribution_roots = ["pkg/{distro}/{x}/"]',
     "layout.contribution_roots[1]"),
    ('contribution_roots = ["pkg/{distro}/"]', 'contribution_roots = ["pkg/{distro:>50000000}/"]',
     "layout.contribution_roots[1]"),
    ('distro_dir = "pkg/{distro}/"', 'distro_dir = "pkg/{distro}/}"', "layout.distro_dir"),
    ('distro_dir = "pkg/{distro}/"', 'distro_dir = "pkg/{{distro}}/"', "layout.distro_dir"),
    ('locations = ["pkg/{distro}/other.ini"]', 'locations = ["pkg/{distro}/{0}.ini"]', "config.locations[1]"),
    ('locations = ["pkg/{distro}/other.ini"]', 'locations = ["pkg/{distro.__class__}/o.ini"]',
     "config.locations[1]"),
]


@pytest.mark.parametrize(("old", "new", "key"), BRACES)
def test_braces_other_than_distro_are_refused_at_their_line(old, new, key):
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    [problem] = _problems(text)
    assert problem.key == key
    assert "only {distro} may appear in braces" in problem.message
    assert key.split(".")[-1].split("[")[0] in _line(text, problem)
    assert _schema_errors(text)


def test_braces_in_a_deployment_files_source_are_refused():
    text = MINIMAL + SAME_MODES.replace('source = "pkg/{distro}/other.ini"', 'source = "pkg/{distro}/{y}"')
    [problem] = _problems(text)
    assert problem.key == "deployment.files[1].source"
    assert "only {distro} may appear in braces" in problem.message
    assert "{y}" in _line(text, problem)
    assert _schema_errors(text)


def test_distro_twice_in_a_root_is_refused():
    [problem] = _problems(MINIMAL.replace('"pkg/{distro}/"]', '"pkg/{distro}/{distro}/"]'))
    assert problem.key == "layout.contribution_roots[1]" and "more than once" in problem.message


def test_fill_distro_replaces_the_text_and_reads_nothing_else():
    assert bundlecheck.fill_distro("distros/{distro}/x.conf", "ubuntu") == "distros/ubuntu/x.conf"
    assert bundlecheck.fill_distro("a/{distro}/{x}/{distro:>9}", "deb") == "a/deb/{x}/{distro:>9}"
    assert bundlecheck.Policy.for_distro("{distro}", "{distro}") == "{distro}"


def test_no_substitution_in_the_engine_uses_str_format():
    src = Path(bundlecheck.__file__).parent
    offenders = [f"{p.relative_to(src)}:{n}" for p in src.rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1) if ".format(distro" in line]
    assert not offenders, offenders


def test_a_policy_with_stray_braces_built_by_hand_does_not_crash_the_checks():
    # As if the loader had let it through: every substitution is a plain replacement.
    base = bundlecheck.parse_policy(MINIMAL + SAME_MODES)
    assert base.config is not None and base.deployment is not None
    config = dataclasses.replace(base.config, locations=("pkg/{distro}/{x}.ini",))
    files = tuple(dataclasses.replace(m, source="pkg/{distro}/{0}") for m in base.deployment.files)
    policy = dataclasses.replace(base, contribution_roots=("pkg/{distro}/", "more/{distro}/{x}/"),
                                 distro_dir="pkg/{distro}/{x:>50000000}/", config=config,
                                 deployment=dataclasses.replace(base.deployment, files=files))
    assert policy.roots_for("deb") == ("pkg/deb/", "more/deb/{x}/")
    archive = gz(tar_bytes([d("pkg"), d("pkg/deb"), E("pkg/deb/other.ini", b"[main]\nprefix=/usr\n")]))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=policy)
    assert "check-crashed" not in {f.check for f in report.findings}, report.findings
    assert {"distro-dir-missing", "config-missing"} <= {f.check for f in report.findings}


# --- 2. deep nesting ----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "a = " + "[" * 600 + "]" * 600 + "\n",
    "a = " + "{ b = " * 600 + "1" + " }" * 600 + "\n",
    MINIMAL + "x = " + "[" * 40 + "]" * 40 + "\n",  # tomllib reads it; still far past the format
    MINIMAL.replace("[severity]", "[severity]\n" + "x = " + "[{ y = " * 20 + "1" + " }]" * 20),
], ids=["arrays-600", "inline-tables-600", "arrays-40", "mixed-40"])
def test_deep_nesting_is_one_problem_at_line_1(text):
    [problem] = _problems(text)
    assert (problem.line, problem.column) == (1, 1)
    assert "nests arrays or tables too deeply" in problem.message and problem.message.endswith(".")


def test_the_nesting_a_policy_needs_is_accepted():
    assert bundlecheck.parse_policy(CONVIRT).deployment is not None
    text = MINIMAL.replace("[severity]", "[severity]\nx = " + "[" * 14 + "]" * 14)
    assert [p.key for p in _problems(text)] == ["severity.x"]  # refused for its name, not its depth


def test_policy_check_of_a_deeply_nested_policy_prints_the_problem(tmp_path, capsys):
    path = tmp_path / "deep.toml"
    path.write_text("a=" + "[" * 600 + "]" * 600)
    assert cli.main(["policy", "check", str(path)]) == cli.EXIT_USAGE
    out = capsys.readouterr().out
    assert f"{path}:1:1: The policy nests arrays or tables too deeply" in out


@pytest.mark.parametrize("opening", ["[", "{ b = "])
def test_the_locator_keeps_its_depth_bounded(opening):
    closing = "]" if opening == "[" else " }"
    text = "name = 'x'\na = " + opening * 5000 + "1" * (opening != "[") + closing * 5000 + "\n"
    positions = Positions(text)  # no RecursionError, whatever the text
    assert positions.locate(("name",)) == (1, 1)


# --- 3. catastrophic patch_pattern ----------------------------------------------------

PATCHED = ('[patched_prereq]\nprereq = "libfoo"\nfixed_version = "2.1"\n'
           "patch_pattern = '{}'\n")


# The red team's shapes: each took seconds to minutes on one line with Python's re.
HOSTILE = [r"(.*){10}x", r".*.*.*.*.*x", r"((a{1,5}){1,5}){1,5}x", r"\s*\s*\s*\s*\s*x",
           r".*paramiko.*\.patch", r"([\w.+-]+)*\.patch", r"(a+)+", r"(\w+)*x", r"(a|aa)+b",
           r"(?:x+x+)+y", r"(a{1,3})+$"]
LINES = ["a" * 2048, " " * 2048, "a " * 1024, "paramiko" * 256, "x" * 2047 + "\n"]


@pytest.mark.parametrize("pattern", HOSTILE)
def test_a_hostile_pattern_loads_and_runs_in_linear_time(pattern):
    rule = bundlecheck.parse_policy(MINIMAL + PATCHED.format(pattern)).patched_prereq
    assert rule is not None
    for line in LINES:
        # Best of three: the machine is shared, and one slow run is the scheduler's doing.
        best = min(_seconds(rule.patch_pattern, line) for _ in range(3))
        assert best < 0.010, (pattern, line[:10], best)


def _seconds(pattern: patterns.Compiled, line: str) -> float:
    start = time.perf_counter()
    patterns.search_lines(pattern, line)
    return time.perf_counter() - start


@pytest.mark.parametrize(("pattern", "said"), [
    (r"(a)\1\.patch", "a backreference"),
    (r"(?P<p>a)(?P=p)", "a named backreference"),
    (r"foo(?=\.patch)", "a lookahead"),
    (r"(?!x)foo", "a negative lookahead"),
    (r"(?<=patches/)foo", "a lookbehind"),
    (r"(?<!x)foo", "a negative lookbehind"),
    (r"(?>a+)b", "an atomic group"),
    (r"a++b", "a possessive repeat"),
    (r"((a{1,10}){1,10}){1,10}x", "counted repeats inside counted repeats multiply"),
    (r"foo\Z", "cannot read it: invalid escape sequence"),
])
def test_a_pattern_outside_the_documented_subset_is_refused_at_its_line(pattern, said):
    text = MINIMAL + PATCHED.format(pattern)
    [problem] = _problems(text)
    assert problem.key == "patched_prereq.patch_pattern" and _line(text, problem).startswith("patch_pattern")
    assert said in problem.message and "Policy patterns" in problem.message, problem.message


def test_a_10_kb_pattern_is_refused_at_its_line():
    text = MINIMAL + PATCHED.format("x" * 10240)
    [problem] = _problems(text)
    assert _line(text, problem).startswith("patch_pattern") and "at most 500 characters" in problem.message
    assert _schema_errors(text)
    assert bundlecheck.parse_policy(MINIMAL + PATCHED.format("x" * 500)).patched_prereq


def test_the_documented_subset_is_in_the_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "### Policy patterns" in readme
    assert f"{patterns.MAX_PROGRAM:,}" in readme and str(patterns.MAX_PATTERN_CHARS) in readme


@pytest.mark.parametrize("pattern", [
    r"libfoo[\w.+-]*\.patch", r"(?i)(paramiko[\w.+-]*\.(patch|diff)|patches/[^\s" + '"' + r"]*paramiko)",
    r"(ab?)+\.patch", r"(\d{1,3}\.){3}patch", r"(?:foo|bar)+\.diff",
])
def test_ordinary_patterns_still_load(pattern):
    rule = bundlecheck.parse_policy(MINIMAL + PATCHED.format(pattern)).patched_prereq
    assert rule is not None and rule.patch_pattern.pattern == pattern


def test_the_shipped_pattern_still_finds_the_patch(run):
    rule = bundlecheck.load_policy("convirt").patched_prereq
    assert rule is not None and rule.patch_pattern.pattern in CONVIRT

    def found(spec: bytes, *extra: E) -> set[str]:
        archive = gz(tar_bytes([d("distros"), d("distros/ubuntu"), E("distros/ubuntu/convirt.conf", CONF),
                                E("distros/ubuntu/convirt.spec", spec), *extra]))
        return {f.check for f in run(archive).findings}

    assert b"Patch0: paramiko-1.6.4-fix.patch" in SPEC
    assert "paramiko-patch-missing" not in found(SPEC)  # a line of the recipe
    bare = SPEC.replace(b"Patch0: paramiko-1.6.4-fix.patch\n", b"")
    assert "paramiko-patch-missing" in found(bare)
    patch = E("distros/ubuntu/patches/paramiko-fix.patch", b"--- a\n")
    assert "paramiko-patch-missing" not in found(bare, patch)  # a file of the distro's patch set


def test_a_pattern_is_applied_to_bounded_lines_only():
    slow = patterns.compile_pattern(r"[\w.+-]*\.patch")
    assert not patterns.search_lines(slow, "b" * 4000 + ".patch\n")  # past MAX_LINE on its line
    start = time.monotonic()
    assert not patterns.search_lines(slow, "a" * (1 << 20) + "\n" + "c" * 100)
    assert time.monotonic() - start < 5
    assert patterns.search_lines(slow, "x\nfoo-1.0.patch\n")


# --- 4. safety checks cannot be silenced ------------------------------------------------

def test_every_archive_check_and_check_crashed_are_pinned():
    assert {c for c in CHECKS if c.startswith("archive-")} | {"check-crashed"} <= set(PINNED)
    assert all(CHECKS[c][0] == "error" for c in PINNED)


@pytest.mark.parametrize("check", sorted(PINNED))
@pytest.mark.parametrize("severity", ["warning", "info"])
def test_lowering_a_safety_check_is_refused(check, severity):
    text = MINIMAL.replace('"prereq-unversioned" = "error"', f'"{check}" = "{severity}"')
    [problem] = _problems(text)
    assert problem.key == f"severity.{check}" and check in _line(text, problem)
    assert f"{check} cannot be lowered below error" in problem.message
    assert _schema_errors(text)


def test_raising_severities_and_lowering_others_stay_allowed():
    text = MINIMAL.replace('"prereq-unversioned" = "error"',
                           '"prereq-unversioned" = "error"\n"archive-unsafe-path" = "error"\n'
                           '"script-lint" = "info"\n"check-crashed" = "error"')
    policy = bundlecheck.parse_policy(text)
    assert policy.severity_of("script-lint") == "info"
    assert policy.severity_of("archive-unsafe-path") == "error"
    assert not _schema_errors(text)


def test_a_policy_built_by_hand_cannot_silence_an_unsafe_archive(run):
    policy = dataclasses.replace(bundlecheck.load_policy("convirt"), severity={
        "archive-unsafe-path": "info", "archive-unsafe-mode": "info", "archive-unsafe-link": "info"})
    archive = gz(tar_bytes([
        d("convirt-2.0"), d("convirt-2.0/distros"), d("convirt-2.0/distros/ubuntu"),
        E("convirt-2.0/distros/ubuntu/../../etc/x", b"x"),
        E("convirt-2.0/distros/ubuntu/su", b"#!/bin/sh\n", mode=0o4755),
        E("convirt-2.0/distros/ubuntu/shadow", type=tarfile.SYMTYPE, linkname="/etc/shadow"),
    ]))
    report = run(archive, policy=policy)
    assert report.verdict == "fail"
    unsafe = [f for f in report.findings if f.check.startswith("archive-unsafe")]
    assert unsafe and all(f.severity == "error" for f in unsafe)


# --- 5. empty lists a check reads the first entry of -----------------------------------

@pytest.mark.parametrize(("old", "new", "key"), [
    ('contribution_roots = ["pkg/{distro}/"]', "contribution_roots = []", "layout.contribution_roots"),
    ('locations = ["pkg/{distro}/other.ini"]', "locations = []", "config.locations"),
])
def test_an_empty_list_of_roots_or_locations_is_refused(old, new, key):
    text = MINIMAL.replace(old, new)
    [problem] = _problems(text)
    assert problem.key == key and "is empty: give at least one" in problem.message
    assert new.split(" =")[0] in _line(text, problem)
    assert _schema_errors(text)


# --- 6. the catalogue names no project -------------------------------------------------

def test_no_check_description_names_one_projects_words():
    for check_id, (_, description) in CHECKS.items():
        words = description.lower()
        assert not any(w in words for w in ("convirt", "paramiko", "html", "browser")), check_id


def test_the_patched_prereq_finding_names_the_policys_prerequisite():
    policy = bundlecheck.parse_policy(MINIMAL + PATCHED.format("libfoo-fix"))
    archive = gz(tar_bytes([d("pkg"), d("pkg/deb"), E("pkg/deb/other.ini", b"[main]\nprefix=/usr\n"),
                            E("pkg/deb/debian/control", b"Depends: libfoo2 (>= 2.0)\n")]))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=policy)
    [finding] = [f for f in report.findings if f.check == "prereq-patch-missing"]
    assert "libfoo patch" in finding.message and "libfoo >= 2.1" in finding.message
    assert "paramiko" not in (finding.message + finding.hint).lower()


# --- 7. the name is typed on a command line ----------------------------------------------

@pytest.mark.parametrize("name", ["x; rm -rf ~", "$(id)", "My Project", "-rf", ".hidden", "a`b`", "é",
                                  "a" * 65, "UPPER"])
def test_a_name_a_shell_could_misread_is_refused(name):
    text = MINIMAL.replace('name = "other"', f"name = {policyspec.toml_value(name)}")
    [problem] = _problems(text)
    assert problem.key == "name" and "can be typed on a command line" in problem.message
    assert _line(text, problem).startswith("name =")
    assert _schema_errors(text)


@pytest.mark.parametrize("name", ["other", "my-proj.v2", "tern_2", "0ad"])
def test_plain_names_load(name):
    assert bundlecheck.parse_policy(MINIMAL.replace('name = "other"', f'name = "{name}"')).name == name
