"""Binary packages: .deb via python-debian, .rpm via rpmfile, against the deployment layout."""

from __future__ import annotations

import tarfile

import pytest
from builders import DEB_CONTROL, E, ar_bytes, deb_bytes, deployed_tree, gz, ids, rpm_from_tree, tar_bytes


def _without(name: str) -> list[E]:
    return [e for e in deployed_tree() if e.name != name]


def _with(name: str, **changes) -> list[E]:
    return [E(e.name, e.data, changes.get("type", e.type), changes.get("mode", e.mode),
              changes.get("linkname", e.linkname)) if e.name == name else e for e in deployed_tree()]


@pytest.mark.parametrize("build", [deb_bytes, rpm_from_tree], ids=["deb", "rpm"])
def test_a_package_following_the_guide_passes(run, build):
    report = run(build())
    assert report.verdict == "pass", report.findings
    assert report.stats["members"] > 20


@pytest.mark.parametrize("build", [deb_bytes, rpm_from_tree], ids=["deb", "rpm"])
@pytest.mark.parametrize(
    ("tree", "check", "path"),
    [
        pytest.param(lambda: _without("./etc/convirt.conf"), "deploy-missing-path", "/etc/convirt.conf",
                     id="no-conf"),
        pytest.param(lambda: [e for e in deployed_tree() if "/doc" not in e.name or "share/doc" in e.name],
                     "deploy-missing-path", "/usr/share/convirt/doc/", id="no-doc"),
        pytest.param(lambda: _with("./usr/share/convirt/install/client/ConVirt", mode=0o644),
                     "deploy-mode-mismatch", "/usr/share/convirt/install/client/ConVirt", id="convirt-0644"),
        pytest.param(lambda: _with("./var/cache/convirt/image_store/vm/provision.sh", mode=0o755),
                     "deploy-mode-mismatch", "/var/cache/convirt/image_store/vm/provision.sh",
                     id="provision-0755"),
        pytest.param(lambda: _without("./usr/bin/convirt"), "deploy-symlink-missing", "/usr/bin/convirt",
                     id="no-symlink"),
        pytest.param(lambda: _with("./usr/bin/convirt", linkname="/opt/convirt"), "deploy-symlink-missing",
                     "/usr/bin/convirt", id="symlink-elsewhere"),
        pytest.param(lambda: [*deployed_tree(), E("./opt/convirt/x", b"x")], "deploy-unexpected-path",
                     "/opt/convirt/x", id="unexpected"),
    ],
)
def test_deployment_findings(run, build, tree, check, path):
    report = run(build(tree()))
    found = [f for f in report.findings if f.check == check]
    assert path in {f.path for f in found}, report.findings


def test_deb_dependencies_are_checked(run):
    control = DEB_CONTROL.replace(b"python (>= 2.4)", b"python (>= 2.3)").replace(b"python-vte, ", b"")
    assert {"prereq-version-too-low", "prereq-missing"} <= ids(run(deb_bytes(control=control)))


def test_rpm_rpmlib_requires_are_ignored_and_versions_read(run):
    report = run(rpm_from_tree())
    assert not {c for c in ids(report) if c.startswith("prereq-")}


def test_deb_data_is_checked_for_unsafe_members(run):
    report = run(deb_bytes([*deployed_tree(), E("../../etc/shadow", b"x")]))
    assert "archive-unsafe-path" in ids(report)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(lambda: deb_bytes()[:200], id="truncated-deb"),
        pytest.param(lambda: ar_bytes([("debian-binary", b"2.0\n"), ("control.tar.gz", gz(b""))]),
                     id="deb-without-data"),
        pytest.param(lambda: rpm_from_tree()[:150], id="truncated-rpm"),
        pytest.param(lambda: b"\xed\xab\xee\xdb" + b"\0" * 200, id="rpm-garbage"),
    ],
)
def test_broken_packages_are_findings_not_crashes(run, data):
    report = run(data())
    assert report.verdict == "fail"
    assert ids(report) & {"archive-corrupt", "archive-unreadable"}, report.findings


def _deb_with_data(name: str, data: bytes) -> bytes:
    control = gz(tar_bytes([E("./control", DEB_CONTROL)]))
    return ar_bytes([("debian-binary", b"2.0\n"), ("control.tar.gz", control), (name, data)])


def test_a_zstd_deb_as_ubuntu_builds_it_is_fully_checked(run):
    import zstandard

    good = zstandard.ZstdCompressor().compress(tar_bytes(deployed_tree()))
    report = run(_deb_with_data("data.tar.zst", good))
    assert report.verdict == "pass", report.findings
    assert report.stats["members"] > 20
    missing = zstandard.ZstdCompressor().compress(tar_bytes(_without("./usr/bin/convirt")))
    assert "deploy-symlink-missing" in ids(run(_deb_with_data("data.tar.zst", missing)))


def test_a_corrupt_or_truncated_zstd_part_is_a_finding(run):
    import zstandard

    good = zstandard.ZstdCompressor().compress(tar_bytes(deployed_tree()))
    for broken in (good[: len(good) // 2], b"\x28\xb5\x2f\xfd" + b"\0" * 100):
        report = run(_deb_with_data("data.tar.zst", broken))
        assert ids(report) & {"archive-corrupt"}, report.findings


def test_a_zstd_bomb_is_stopped_before_it_fills_memory(run):
    import zstandard

    squeeze, zeros = zstandard.ZstdCompressor(level=19).compressobj(), b"\0" * 1024 * 1024
    bomb = b"".join(squeeze.compress(zeros) for _ in range(600)) + squeeze.flush()
    assert len(bomb) < 100_000
    report = run(_deb_with_data("data.tar.zst", bomb))
    assert "archive-too-large" in ids(report), report.findings


def test_a_part_compressed_otherwise_is_reported_not_crashed(run):
    report = run(_deb_with_data("data.tar.lz4", b"\x04\x22\x4d\x18" + b"\0" * 100))
    assert ids(report) == {"package-part-unsupported"}, report.findings
    assert report.verdict == "pass"


def test_symlink_type_in_tree_helper():
    assert any(e.type == tarfile.SYMTYPE for e in deployed_tree())
