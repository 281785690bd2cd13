"""The command line: exit status 0/1/2 and the JSON shape other tools rely on."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from builders import E, d, good_bundle, good_package, gz, tar_bytes

from bundlecheck import cli


@pytest.fixture
def files(tmp_path):
    paths = {
        "good": tmp_path / "bundle.tar.gz",
        "bad": tmp_path / "evil.tar.gz",
        "ref": tmp_path / "convirt-2.0.tar.gz",
        "pkg": tmp_path / "convirt-2.0-ubuntu.tar.gz",
        "policy": tmp_path / "broken.toml",
        "notjson": tmp_path / "ref.json",
    }
    paths["good"].write_bytes(gz(tar_bytes(good_bundle())))
    paths["bad"].write_bytes(gz(tar_bytes([d("convirt-2.0"), E("/etc/passwd", b"x")])))
    from builders import reference_tree

    paths["ref"].write_bytes(gz(tar_bytes(reference_tree())))
    paths["pkg"].write_bytes(gz(tar_bytes(good_package())))
    paths["policy"].write_text("schema = 1\nname = 'x'\n[layout]\nroot = 3\n")
    paths["notjson"].write_text("{not json")
    return paths


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["check", "{good}", "--distro", "ubuntu"], 0),
        (["check", "{pkg}", "--distro", "ubuntu", "--against", "{ref}"], 0),
        (["check", "{bad}", "--distro", "ubuntu"], 1),
        (["check", "{good}", "--distro", "ubuntu", "--policy", "nosuch"], 2),
        (["check", "{good}", "--distro", "ubuntu", "--policy", "{policy}"], 2),
        (["check", "{good}", "--distro", "ubuntu", "--against", "{notjson}"], 2),
        (["check", "{good}", "--distro", "ubuntu", "--against", "{bad}"], 2),
        (["check", "/nonexistent.tar.gz", "--distro", "ubuntu"], 2),
        (["check", "{good}", "--distro", "Not A Distro"], 2),
        (["manifest", "{ref}"], 0),
        (["manifest", "{bad}"], 1),
        (["checks"], 0),
    ],
)
def test_exit_status(files, args, status, capsys):
    argv = [a.format(**files) for a in args]
    assert cli.main(argv) == status, capsys.readouterr()


def test_missing_distro_is_usage_error(files):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check", str(files["good"])])
    assert exit_.value.code == 2


def test_json_report_shape(files, capsys):
    cli.main(["check", str(files["bad"]), "--distro", "ubuntu", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "fail"
    assert set(report["stats"]) == {"members", "bytes_read", "seconds"}
    for f in report["findings"]:
        assert set(f) == {"check", "severity", "path", "message", "hint", "url"}
    assert report["tools"] == {}  # no linter runs on a source archive
    assert any(f["check"] == "archive-unsafe-path" and f["path"] == "/etc/passwd"
               for f in report["findings"])


def test_manifest_json_is_a_reference(files, capsys, tmp_path):
    cli.main(["manifest", str(files["ref"])])
    manifest = tmp_path / "ref.manifest.json"
    manifest.write_text(capsys.readouterr().out)
    data = json.loads(manifest.read_text())
    assert data["root"] == "convirt-2.0"
    assert data["members"]["install/client/ConVirt"]["mode"] == 0o755
    assert cli.main(["check", str(files["pkg"]), "--distro", "ubuntu", "--against", str(manifest)]) == 0


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "bundlecheck.cli", "checks"], capture_output=True,
                         text=True, check=True)
    assert "archive-unsafe-path" in out.stdout


def test_policy_check_accepts_a_valid_policy(tmp_path, capsys):
    from test_policy import MINIMAL

    path = tmp_path / "other.toml"
    path.write_text(MINIMAL)
    assert cli.main(["policy", "check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid policy other\n"
    assert cli.main(["policy", "check", "convirt"]) == 0
    assert capsys.readouterr().out == "convirt: valid policy convirt\n"


def test_policy_check_prints_one_line_per_problem_as_the_portal_shows_them(tmp_path, capsys):
    from test_policy import MINIMAL

    import bundlecheck

    text = MINIMAL.replace('root = "other-*"', "root = 3").replace('min_version = "2.0"', 'min_version = "x"')
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert cli.main(["policy", "check", str(path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    with pytest.raises(bundlecheck.PolicyError) as err:
        bundlecheck.parse_policy(text, origin=str(path))
    assert lines == [f"{path}:{p.line}:{p.column}: {p.message}" for p in err.value.problems]
    assert len(lines) == 2 and lines[0].startswith(f"{path}:4:8: `root` in [layout] must be a string")


def test_policy_check_of_a_missing_file_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "none.toml"
    assert cli.main(["policy", "check", str(path)]) == 2
    assert capsys.readouterr().out == f"{path}: cannot read the policy file: No such file or directory.\n"


def test_policy_guide_prints_the_guide_as_text(capsys):
    import bundlecheck

    assert cli.main(["policy", "guide", "convirt"]) == 0
    out = capsys.readouterr().out
    for title in ("Prerequisites", "Where your work goes", "The configuration file", "Install scripts",
                  "Deployment layout (binary packages)", "Every check"):
        assert f"\n{title}\n" in out
    assert "distros/$DISTRO/" in out
    assert "/usr/bin/convirt -> /usr/share/convirt/install/client/ConVirt" in out
    assert "python-paramiko >= 1.6.4" in out and "[PATHS] exec_path must reach" in out
    for check_id, (severity, _) in bundlecheck.CHECKS.items():
        assert any(line.split()[:2] == [check_id, severity] for line in out.splitlines()), check_id


def test_policy_guide_leaves_out_what_the_policy_lacks(tmp_path, capsys):
    from test_policy import MINIMAL

    path = tmp_path / "other.toml"
    path.write_text(MINIMAL)
    assert cli.main(["policy", "guide", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sets no deployment layout" in out and "Symbolic links" not in out
    assert "Install scripts" not in out and "must reach these tools" not in out
    assert "prereq-unversioned               error" in out  # the policy's [severity]


def test_policy_guide_of_a_broken_policy_says_how_to_see_why(files, capsys):
    assert cli.main(["policy", "guide", str(files["policy"])]) == 2
    assert "bundlecheck policy check" in capsys.readouterr().err


def test_policy_schema_prints_the_shipped_schema(capsys):
    import bundlecheck

    assert cli.main(["policy", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == bundlecheck.policy_schema()


def test_check_with_a_policy_file_still_works(files, tmp_path, capsys):
    from importlib import resources

    path = tmp_path / "mine.toml"
    path.write_text((resources.files("bundlecheck") / "policies" / "convirt.toml").read_text())
    assert cli.main(["check", str(files["good"]), "--distro", "ubuntu", "--policy", str(path)]) == 0
    capsys.readouterr()
    broken = str(files["policy"])
    assert cli.main(["check", str(files["good"]), "--distro", "ubuntu", "--policy", broken]) == 2
    assert f"{files['policy']}:4:8: `root` in [layout] must be a string" in capsys.readouterr().err


def test_checks_lists_what_a_policy_declares_with_policy(capsys):
    assert cli.main(["checks"]) == 0
    assert "paramiko-patch-missing" not in capsys.readouterr().out
    assert cli.main(["checks", "--policy", "convirt"]) == 0
    out = capsys.readouterr().out
    assert {"paramiko-patch-missing", "config-html-browser-missing", "archive-corrupt"} <= set(out.split())
