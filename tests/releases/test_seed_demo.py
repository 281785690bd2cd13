"""seed_demo: the ConVirt demo, with the guide's layout, safe to run twice."""

import tarfile

import pytest
from django.contrib.auth import authenticate
from django.core.files.storage import storages
from django.core.management import call_command

from releases.models import Artifact, Distro, Maintainership, Project, Release

pytestmark = pytest.mark.django_db


def counts():
    return {
        m.__name__: m.objects.count() for m in (Project, Distro, Maintainership, Release, Artifact)
    }


def test_seed_demo_twice_creates_the_demo_once(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first == {"Project": 1, "Distro": 3, "Maintainership": 3, "Release": 1, "Artifact": 1}
    out = capsys.readouterr().out
    assert "release-manager" in out and "ubuntu-packager" in out


def test_demo_logins_work():
    call_command("seed_demo")
    assert authenticate(username="release-manager", password="convirt-staff-demo").is_staff
    assert authenticate(username="ubuntu-packager", password="convirt-ubuntu-demo") is not None


def test_prerelease_tarball_has_the_guides_layout():
    call_command("seed_demo")
    release = Release.objects.get(project__slug="convirt")
    assert release.state == Release.State.PRERELEASE
    with (
        storages["uploads"].open(release.prerelease.key, "rb") as stored,
        tarfile.open(fileobj=stored, mode="r:gz") as tar,
    ):
        members = {m.name: m for m in tar.getmembers()}
    root = "convirt-2.0/"
    for path in [
        "doc/",
        "src/",
        "appliance_store/",
        "install/client/distros/fedora/convirt.conf",
        "install/client/distros/suse/convirt.conf",
        "distros/fedora/",
        "distros/suse/",
        "image_store/linux_cd_install/provision.sh",
    ]:
        assert any(name.startswith(root + path.rstrip("/")) for name in members), path
    assert members[root + "install/client/ConVirt"].mode == 0o755
    provision = [m for n, m in members.items() if n.endswith("provision.sh")]
    assert provision and all(m.mode == 0o744 for m in provision)
    assert not any("ubuntu" in name for name in members)  # ubuntu is the newcomer's to add
