"""Layout: single root, the distro's directory, and changes confined to it."""

from __future__ import annotations

import io

import pytest
from builders import CONF, E, d, good_bundle, good_package, gz, ids, reference_tree, tar_bytes

import bundlecheck

R = "convirt-2.0/"


@pytest.fixture(scope="module")
def reference():
    return bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(reference_tree()))))


def _replace(entries: list[E], name: str, new: E | None) -> list[E]:
    out = [e for e in entries if e.name != name]
    return out + ([new] if new else [])


@pytest.mark.parametrize(
    ("entries", "check", "path"),
    [
        pytest.param(lambda: _replace(good_package(), R + "src/convirt.py", E(R + "src/convirt.py", b"x")),
                     "contribution-outside-distro", "src/convirt.py", id="modified-src"),
        pytest.param(lambda: [*good_package(), E(R + "src/new.py", b"x")],
                     "contribution-outside-distro", "src/new.py", id="added-src"),
        pytest.param(lambda: _replace(good_package(), R + "doc/guide.txt", None),
                     "contribution-outside-distro", "doc/guide.txt", id="removed-doc"),
        pytest.param(lambda: _replace(good_package(), R + "install/client/ConVirt",
                                      E(R + "install/client/ConVirt", b"#!/bin/sh\nexec python ...\n",
                                        mode=0o644)),
                     "contribution-outside-distro", "install/client/ConVirt", id="mode-changed"),
        pytest.param(lambda: _replace(good_package(), R + "distros/fedora/convirt.conf",
                                      E(R + "distros/fedora/convirt.conf", b"[PATHS]\n")),
                     "existing-distro-modified", "distros/fedora/convirt.conf", id="fedora-touched"),
        pytest.param(lambda: _replace(good_package(), R + "distros/suse/convirt.conf", None),
                     "existing-distro-modified", "distros/suse/convirt.conf", id="suse-removed"),
        pytest.param(lambda: [*good_bundle(), E("distros/fedora/extra", b"x")],
                     "existing-distro-modified", "distros/fedora/extra", id="bundle-touches-fedora"),
        pytest.param(lambda: [*good_bundle(), d("src"), E("src/convirt.py", b"x")],
                     "layout-single-root", None, id="bundle-plus-other-tree"),
    ],
)
def test_changes_outside_the_distro_are_listed(run, reference, entries, check, path):
    report = run(gz(tar_bytes(entries())), reference=reference)
    found = [f for f in report.findings if f.check == check]
    assert found, report.findings
    assert path is None or path in {f.path for f in found}
    assert report.verdict == "fail"


@pytest.mark.parametrize("entries", [good_package, good_bundle], ids=["package", "bundle"])
def test_own_changes_pass(run, reference, entries):
    report = run(gz(tar_bytes(entries())), reference=reference)
    assert report.verdict == "pass", report.findings


def test_bundle_with_install_client_root_passes(run, reference):
    entries = [*good_bundle(), d("install"), d("install/client"), d("install/client/distros"),
               d("install/client/distros/ubuntu"), E("install/client/distros/ubuntu/convirt.conf", CONF)]
    assert run(gz(tar_bytes(entries)), reference=reference).verdict == "pass"


def test_distro_dir_missing(run, reference):
    entries = [e for e in good_package() if "distros/ubuntu" not in e.name]
    report = run(gz(tar_bytes(entries)), reference=reference)
    assert "distro-dir-missing" in ids(report)
    assert "config-missing" in ids(report)


def test_many_changes_are_summarised(run, reference):
    entries = good_package() + [E(R + f"src/extra{i}.py", b"x") for i in range(80)]
    found = [f for f in run(gz(tar_bytes(entries)), reference=reference).findings
             if f.check == "contribution-outside-distro"]
    assert len(found) == 51 and "30 more" in found[-1].message


def test_no_reference_is_said(run):
    assert "reference-missing" in ids(run(gz(tar_bytes(good_package()))))


def test_large_members_hashed_on_the_side_thread_are_compared():
    """Members of 1 MiB and more are hashed on a second thread: a change of content
    that keeps the size is still found, and an unchanged one passes."""
    big = bytes(range(256)) * (6 << 12)  # 6 MiB
    tree = [*reference_tree(), E(R + "image_store/disk.img", big)]
    ref = bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(tree))))
    assert len(ref["members"]["image_store/disk.img"]["sha256"]) == 64
    same = [*good_package(), E(R + "image_store/disk.img", big)]
    report = bundlecheck.verify(io.BytesIO(gz(tar_bytes(same))), distro="ubuntu", reference=ref)
    assert "contribution-outside-distro" not in ids(report)
    changed = big[:-1] + b"!"
    other = [*good_package(), E(R + "image_store/disk.img", changed)]
    report = bundlecheck.verify(io.BytesIO(gz(tar_bytes(other))), distro="ubuntu", reference=ref)
    [f] = [f for f in report.findings if f.check == "contribution-outside-distro"]
    assert f.path == "image_store/disk.img" and "content changed" in f.message
