"""Policies: the shipped one loads; broken ones fail with a clear message; others work."""

from __future__ import annotations

import io
from importlib import resources

import pytest
from builders import E, d, gz, ids, tar_bytes

import bundlecheck

MINIMAL = """schema = 1
name = "other"
[layout]
root = "other-*"
contribution_roots = ["pkg/{distro}/"]
distro_dir = "pkg/{distro}/"
[config]
file = "other.ini"
locations = ["pkg/{distro}/other.ini"]
[[config.required]]
section = "main"
key = "prefix"
[recipes]
deb = ["debian/control"]
[[prereqs]]
name = "libfoo"
min_version = "2.0"
aliases = ["libfoo2", "foo-libs"]
[severity]
"prereq-unversioned" = "error"
"""


def test_shipped_policy_encodes_the_guide():
    p = bundlecheck.load_policy("convirt")
    assert {x.name for x in p.prereqs} >= {"python", "xen", "python-gtk", "python-curses", "vte",
                                           "python-paramiko"}
    assert p.roots_for("ubuntu") == ("distros/ubuntu/", "install/client/distros/ubuntu/")
    assert p.deployment and p.deployment.symlinks[0].path == "/usr/bin/convirt"
    assert any(c.mode == 0o744 for c in p.deployment.critical)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("schema = 1\nname = 'x'\n[layout\n", "not valid TOML"),
        ("schema = 2\nname = 'x'\n", "reads schema 1 only"),
        (MINIMAL.replace('root = "other-*"\n', ""), "[layout] lacks `root`, which is required"),
        (MINIMAL.replace("[layout]\n", "[layout]\nrooot = 'x'\n"), "did you mean `root`?"),
        (MINIMAL.replace('"pkg/{distro}/"]', '"pkg/"]'), "must hold {distro}"),
        (MINIMAL.replace('"prereq-unversioned" = "error"', '"no-such-check" = "error"'),
         '"no-such-check": it is not a check id'),
        (MINIMAL.replace('"prereq-unversioned" = "error"', '"prereq-unversioned" = "fatal"'),
         "must be one of error, warning, info"),
        (MINIMAL + "[limits]\nmax_members = -1\n", "greater than 0"),
        (MINIMAL + "[limits]\nmax_bananas = 1\n", "[limits] has no key `max_bananas`"),
        (MINIMAL.replace('min_version = "2.0"', "min_version = 2"), "must be a string in quotes"),
        (MINIMAL + "[linters]\nblocking = ['no-copyright-file']\n", "is not 'lintian:<tag>'"),
        (MINIMAL + "[linters]\nblock = ['lintian:x']\n", "[linters] has no key `block`"),
        (MINIMAL + "[linters]\nblocking = ['lintian:x']\nadvisory = ['lintian:x']\n",
         "both blocking and advisory"),
    ],
)
def test_invalid_policy_is_refused_clearly(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(bundlecheck.PolicyError) as err:
        bundlecheck.load_policy(str(path))
    assert words in str(err.value) and str(path) in str(err.value)
    assert err.value.problems and all(p.message.endswith(".") for p in err.value.problems)


def _problems(text: str) -> list[bundlecheck.Problem]:
    with pytest.raises(bundlecheck.PolicyError) as err:
        bundlecheck.parse_policy(text, origin="p.toml")
    return err.value.problems


def _line(text: str, problem: bundlecheck.Problem) -> str:
    assert problem.line is not None
    return text.split("\n")[problem.line - 1]


def test_parse_policy_reads_text_as_load_policy_reads_the_file():
    text = (resources.files("bundlecheck") / "policies" / "convirt.toml").read_text()
    assert repr(bundlecheck.parse_policy(text)) == repr(bundlecheck.load_policy("convirt"))
    assert bundlecheck.parse_policy(MINIMAL, origin="db v3").name == "other"


def test_a_syntax_error_is_placed_where_tomllib_says():
    text = MINIMAL.replace('distro_dir = "pkg/{distro}/"', 'distro_dir = "pkg/{distro}/')
    [problem] = _problems(text)
    assert problem.line == 6 and problem.column is not None and problem.key == ""
    assert problem.message.startswith("This is not valid TOML")
    assert "distro_dir" in _line(text, problem)


def test_a_problem_points_at_the_offending_key_or_value():
    text = MINIMAL.replace("[layout]\n", "[layout]\nrooot = 'x'\n")
    [problem] = _problems(text)
    assert (problem.line, problem.column, problem.key) == (4, 1, "layout.rooot")
    assert "its keys are root, contribution_roots, distro_dir" in problem.message


def test_the_nth_prereqs_block_is_located():
    text = MINIMAL + '[[prereqs]]\nname = "libbar"\nmin_version = "latest"\naliases = ["bar"]\n'
    [problem] = _problems(text)
    assert problem.key == "prereqs[2].min_version"
    assert _line(text, problem) == 'min_version = "latest"' and problem.column == 15
    assert "starts with a digit" in problem.message and 'min_version = "2.0"' in problem.message


def test_an_entry_of_an_inline_array_is_located():
    text = bundlecheck.policy.read_policy("convirt")[0].replace(
        'target = "/var/cache/convirt/appliance_store/", mode = "0644"',
        'target = "/var/cache/convirt/appliance_store/", mode = "644x"')
    [problem] = _problems(text)
    assert problem.key == "deployment.tree[4].mode"
    line = _line(text, problem)
    assert "appliance_store" in line and line[problem.column - 1:].startswith('"644x"')
    assert "not an octal file mode" in problem.message and 'mode = "0644"' in problem.message


def test_a_missing_key_points_at_its_table():
    text = MINIMAL.replace('root = "other-*"\n', "")
    [problem] = _problems(text)
    assert _line(text, problem) == "[layout]" and problem.key == "layout.root"


def test_every_independent_problem_is_reported_one_line_each():
    text = (MINIMAL.replace('root = "other-*"', "root = 3")
            .replace('min_version = "2.0"', 'min_version = ">= 2.0"')
            + "[scripts]\nlnt = true\n")
    with pytest.raises(bundlecheck.PolicyError) as err:
        bundlecheck.parse_policy(text, origin="p.toml")
    keys = [p.key for p in err.value.problems]
    assert keys == ["layout.root", "prereqs[1].min_version", "scripts.lnt"]
    lines = str(err.value).split("\n")
    assert len(lines) == 3
    for line, problem in zip(lines, err.value.problems, strict=True):
        assert line == f"p.toml:{problem.line}:{problem.column}: {problem.message}"


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('contribution_roots = ["pkg/{distro}/"]', 'contribution_roots = ["/pkg/{distro}/"]',
         "layout.contribution_roots[1]", "it is absolute"),
        ('contribution_roots = ["pkg/{distro}/"]', 'contribution_roots = ["pkg/../{distro}/"]',
         "layout.contribution_roots[1]", "climbs out with '..'"),
        ('contribution_roots = ["pkg/{distro}/"]', 'contribution_roots = ["pkg\\\\{distro}/"]',
         "layout.contribution_roots[1]", "backslash"),
        ('distro_dir = "pkg/{distro}/"', 'distro_dir = "/pkg/{distro}/"', "layout.distro_dir", "absolute"),
        ('distro_dir = "pkg/{distro}/"', 'distro_dir = "../{distro}/"', "layout.distro_dir", "climbs out"),
        ('distro_dir = "pkg/{distro}/"', 'distro_dir = "pkg/"', "layout.distro_dir", "must hold {distro}"),
        ('min_version = "2.0"', 'min_version = "two"', "prereqs[1].min_version", "starts with a digit"),
        ('min_version = "2.0"', 'min_version = "2.0 beta"', "prereqs[1].min_version", "holds spaces"),
        ("[severity]", "[severty]", "severty", "did you mean `severity`?"),
    ],
)
def test_new_refusals_name_the_place_and_what_to_write(old, new, key, words):
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    [problem] = _problems(text)
    assert problem.key == key and words in problem.message
    assert problem.line is not None and problem.column is not None
    assert key.split(".")[-1].split("[")[0] in _line(text, problem)


def test_a_disagreement_between_keys_is_reported_beside_a_typo_elsewhere():
    text = (MINIMAL.replace("[recipes]", "[recipes]\ndebian = ['x']")
            + '[[prereqs]]\nname = "libfoo"\naliases = ["foo"]\n' + DEPLOYMENT)
    keys = [p.key for p in _problems(text)]
    assert keys[0] == "recipes.debian" and "prereqs[2].name" in keys and "deployment.tree[2].mode" in keys
    # a rule reading a table that is itself wrong waits until the table is right
    broken = MINIMAL + '[[prereqs]]\nname = "libfoo"\naliases = "foo"\n'
    assert [p.key for p in _problems(broken)] == ["prereqs[2].aliases"]


def test_an_unknown_key_names_the_known_keys_of_its_table():
    [problem] = _problems(MINIMAL.replace('file = "other.ini"', 'file = "other.ini"\nfiles = []'))
    assert problem.key == "config.files"
    assert "[config] has no key `files`" in problem.message
    assert "its keys are file, locations, exec_path, required" in problem.message


def test_an_unparsable_fixed_version_is_refused():
    text = MINIMAL + ('[patched_prereq]\nprereq = "libfoo"\nfixed_version = "soon"\n'
                      'patch_pattern = "foo.patch"\n')
    [problem] = _problems(text)
    assert problem.key == "patched_prereq.fixed_version" and _line(text, problem).startswith("fixed_version")


DEPLOYMENT = """[deployment]
tree = [
  { source = "doc/", target = "/usr/share/o/doc/", mode = "0644" },
  { source = "man/", target = "/usr/share/o/doc", mode = "0755" },
]
files = [
  { source = "pkg/{distro}/other.ini", target = "/etc/other.ini", mode = "0644" },
]
critical = [
  { path = "/etc/other.ini", mode = "0600" },
  { path = "/etc/*.ini", mode = "0640" },
]
"""


def test_conflicting_modes_for_one_path_are_refused():
    text = MINIMAL + DEPLOYMENT
    problems = _problems(text)
    assert [p.key for p in problems] == ["deployment.tree[2].mode", "deployment.critical[1].mode",
                                         "deployment.files[1].mode"]
    assert "gives /usr/share/o/doc mode 0755, but [[deployment.tree]] #1 gives it 0644" in problems[0].message
    assert "/usr/share/o/doc" in _line(text, problems[0])
    assert "/etc/other.ini" in _line(text, problems[1]) and "0600" in problems[1].message
    assert "[[deployment.critical]] #2 (/etc/*.ini) gives it 0640" in problems[2].message
    same = DEPLOYMENT.replace('"0755"', '"0644"').replace('"0600"', '"0644"').replace('"0640"', '"0644"')
    assert bundlecheck.parse_policy(MINIMAL + same).deployment is not None


def test_a_text_over_the_limit_is_refused_before_parsing(tmp_path):
    text = "# " + "x" * (5 << 20) + "\n" + MINIMAL
    [problem] = _problems(text)
    assert problem.line is None and "at most 256 KiB" in problem.message
    assert bundlecheck.MAX_POLICY_BYTES == 256 * 1024
    path = tmp_path / "huge.toml"
    path.write_text(text)
    with pytest.raises(bundlecheck.PolicyError, match=r"huge\.toml: The policy is 5,2\d\d,\d\d\d bytes"):
        bundlecheck.load_policy(path)
    assert bundlecheck.parse_policy("#" * (bundlecheck.MAX_POLICY_BYTES - len(MINIMAL) - 1) + "\n" + MINIMAL)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.replace("other", "\xe9t\xe9").encode("latin-1"))
    with pytest.raises(bundlecheck.PolicyError, match="not UTF-8"):
        bundlecheck.load_policy(path)


def test_unknown_shipped_name():
    with pytest.raises(bundlecheck.PolicyError, match="no shipped policy named 'nope'"):
        bundlecheck.load_policy("nope")


def test_another_project_writes_its_own_policy(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(MINIMAL)
    policy = bundlecheck.load_policy(path)
    archive = gz(tar_bytes([d("pkg"), d("pkg/deb"), E("pkg/deb/other.ini", b"[main]\nprefix=/usr\n"),
                            E("pkg/deb/debian/control", b"Package: o\nDepends: foo-libs\n")]))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=policy)
    assert ids(report) == {"prereq-unversioned"}
    assert report.findings[0].severity == "error"  # raised by the policy's [severity]
    archive = gz(tar_bytes([d("pkg"), d("pkg/deb"), E("pkg/deb/other.ini", b"[main]\n")]))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=policy)
    assert {"config-key-missing", "recipe-missing"} <= ids(report)


def test_the_check_catalogue_names_no_project():
    for check_id, (_, description) in bundlecheck.CHECKS.items():
        assert "convirt" not in description.lower() and "paramiko" not in description, check_id


def test_another_projects_findings_name_its_own_files_not_convirts(tmp_path):
    policy = bundlecheck.parse_policy(MINIMAL + '[patched_prereq]\nprereq = "libfoo"\nfixed_version = "2.1"\n'
                                      'patch_pattern = "libfoo-fix"\n')
    control = E("pkg/deb/debian/control", b"Depends: libfoo2 (>= 2.0)\n")
    archives = [b"not an archive" * 100, gz(tar_bytes([d("pkg"), E("pkg/x", b"x")])),
                gz(tar_bytes([d("pkg"), d("pkg/deb"), E("/abs", b"x"), control]))]
    reports = [bundlecheck.verify(io.BytesIO(a), distro="deb", policy=policy) for a in archives]
    findings = [f for r in reports for f in r.findings]
    assert {"archive-unreadable", "distro-dir-missing", "archive-unsafe-path", "prereq-patch-missing"} <= {
        f.check for f in findings}
    for f in findings:
        assert "convirt" not in (f.message + f.hint).lower() and "patches/" not in f.message + f.hint, f
    hints = {f.check: f.hint for f in findings}
    assert "tar -czf other-1.0.tar.gz other-1.0/" in hints["archive-unreadable"]
    assert "other.ini" in hints["distro-dir-missing"]
    assert "/libfoo-fix/" in hints["prereq-patch-missing"]


def test_with_ceilings_a_policy_may_tighten_a_limit_but_not_loosen_it():
    from bundlecheck.limits import Limits

    text = MINIMAL + "\n[limits]\nmax_members = 10\n"
    assert bundlecheck.parse_policy(text, ceilings=Limits()).limits.max_members == 10
    loose = text.replace("max_members = 10", "max_members = 100000000")
    # A file on the server is the operator's: trusted as it is.
    assert bundlecheck.parse_policy(loose).limits.max_members == 100_000_000
    with pytest.raises(bundlecheck.PolicyError) as refused:
        bundlecheck.parse_policy(loose, ceilings=Limits())
    (problem,) = refused.value.problems
    assert problem.key == "limits.max_members" and problem.line == len(loose.splitlines())
    assert "not loosen it" in problem.message


# --- checks a policy declares ([[checks]]) --------------------------------------------

DECLARED = ('[[checks]]\nid = "other-prefix-missing"\nseverity = "warning"\n'
            'description = "other.ini does not say where Other is installed"\n')


def _declaring(*, check: str = "other-prefix-missing", checks: str = DECLARED) -> str:
    """MINIMAL with [[checks]] (after the top-level keys, as TOML wants) and the required
    key reported under ``check``."""
    head, rest = MINIMAL.split("[layout]\n", 1)
    rest = rest.replace('key = "prefix"\n', f'key = "prefix"\ncheck = "{check}"\n')
    return head + checks + "[layout]\n" + rest


def test_a_policy_reports_a_missing_key_under_a_check_it_declares():
    policy = bundlecheck.parse_policy(_declaring())
    assert policy.declared == {"other-prefix-missing": ("warning", "other.ini does not say where Other is "
                                                                  "installed")}
    archive = gz(tar_bytes([d("pkg"), d("pkg/deb"), E("pkg/deb/other.ini", b"[main]\nname=x\n")]))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=policy)
    [finding] = [f for f in report.findings if f.check == "other-prefix-missing"]
    assert finding.severity == "warning" and "does not set [main] prefix" in finding.message
    assert "config-key-missing" not in {f.check for f in report.findings}
    # [severity] may raise it like any check.
    strict = bundlecheck.parse_policy(_declaring().replace(
        '"prereq-unversioned" = "error"', '"prereq-unversioned" = "error"\n"other-prefix-missing" = "error"'))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=strict)
    assert {f.check: f.severity for f in report.findings}["other-prefix-missing"] == "error"
    assert "other-prefix-missing" in {c["id"] for c in bundlecheck.guide_data(policy)["checks"]}


@pytest.mark.parametrize(("text", "line_starts", "said"), [
    (_declaring(check="other-prefx-missing"), "check =",
     "is \"other-prefx-missing\": it is not a check id (did you mean 'other-prefix-missing'?)"),
    (_declaring(check="config-missing"), "check =", "one of the engine's checks, for something else"),
    (_declaring(checks=DECLARED.replace("other-prefix-missing", "config-missing")), "id =",
     "config-missing is one of the engine's own checks"),
    (_declaring(checks=DECLARED + DECLARED), "id =", "declare each check once"),
    (_declaring(checks=DECLARED + DECLARED.replace("other-prefix", "other-unused")), "id =",
     "declares 'other-unused-missing', but no rule reports under it"),
    (_declaring(checks=DECLARED.replace('"warning"', '"fatal"')), "severity =",
     "one of error, warning, info"),
    (_declaring(checks=DECLARED.replace('id = "other-prefix-missing"', 'id = "Other Prefix"')), "id =",
     "lower-case letters, digits and '-'"),
])
def test_a_declared_check_that_does_not_hold_together_is_refused_at_its_line(text, line_starts, said):
    with pytest.raises(bundlecheck.PolicyError) as refused:
        bundlecheck.parse_policy(text)
    problem = refused.value.problems[0]
    assert said in problem.message, problem.message
    assert text.split("\n")[problem.line - 1].startswith(line_starts), (problem, text)


def test_the_patched_prereq_is_reported_under_the_id_the_policy_declares():
    declared = ('[[checks]]\nid = "libfoo-patch-missing"\nseverity = "error"\n'
                'description = "libfoo is neither patched nor fixed"\n')
    text = _declaring(checks=declared, check="config-key-missing")
    text += ('[patched_prereq]\nprereq = "libfoo"\nfixed_version = "2.1"\npatch_pattern = "libfoo-fix"\n'
             'check = "libfoo-patch-missing"\n')
    policy = bundlecheck.parse_policy(text)
    archive = gz(tar_bytes([d("pkg"), d("pkg/deb"), E("pkg/deb/other.ini", b"[main]\nprefix=/usr\n"),
                            E("pkg/deb/debian/control", b"Depends: libfoo2 (>= 2.0)\n")]))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=policy)
    [finding] = [f for f in report.findings if f.check == "libfoo-patch-missing"]
    assert finding.severity == "error" and "libfoo >= 2.1" in finding.message
