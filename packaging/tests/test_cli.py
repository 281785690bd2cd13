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
