"""seed_demo: two upstreams side by side, each with its own guide's layout, safe to run twice."""

import shutil
import tarfile

import pytest
from django.contrib.auth import authenticate
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from demo import builders as demo
from releases.coordination.lifecycle import Action, refusal
from releases.models import (
    Artifact,
    Distro,
    DistroRepository,
    Maintainership,
    PolicyVersion,
    Project,
    Release,
    SourceProof,
)
from releases.policies import current_version, rules_for, text_sha256
from tests.factories import released

pytestmark = pytest.mark.django_db


def counts():
    return {
        m.__name__: m.objects.count()
        for m in (Project, Distro, Maintainership, Release, Artifact, PolicyVersion)
    }


def test_seed_demo_twice_creates_the_demo_once(capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first == {
        "Project": 2,
        "Distro": 3,
        "Maintainership": 6,  # fedora-packager packages both projects
        "Release": 3,  # ConVirt 2.0 (open) and 2.1 (a draft whose source proof fails), Tern 0.4
        "Artifact": 3,
        "PolicyVersion": 2,  # version 1 of each project's policy
    }
    out = capsys.readouterr().out
    assert "release-manager" in out and "ubuntu-packager" in out and "tern-ubuntu-packager" in out


def test_demo_logins_work():
    call_command("seed_demo")
    assert authenticate(username="release-manager", password="convirt-staff-demo").is_staff
    assert authenticate(username="ubuntu-packager", password="convirt-ubuntu-demo") is not None
    assert authenticate(username="tern-ubuntu-packager", password="tern-ubuntu-demo") is not None


def test_prerelease_tarball_has_the_guides_layout():
    call_command("seed_demo")
    release = Release.objects.get(project__slug="convirt", version="2.0")
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


def test_the_second_upstream_has_its_own_policy_maintainers_and_release():
    call_command("seed_demo")
    tern = Project.objects.get(slug="tern")
    version = current_version(tern)
    assert (version.number, version.sha256) == (1, text_sha256(demo.tern_policy_text()))
    policy = rules_for(tern)
    assert policy.contribution_roots == ("packaging/{distro}/",)
    assert policy.config.file == "tern.ini" and policy.deployment is None
    assert {p.name for p in policy.prereqs} == {"python3", "libvirt"}
    assert set(
        Maintainership.objects.filter(project=tern, state="approved").values_list(
            "user__username", "distro__slug"
        )
    ) == {
        ("tern-fedora-packager", "fedora"),
        ("tern-ubuntu-packager", "ubuntu"),
        ("fedora-packager", "fedora"),  # the one who packages both
    }
    # ConVirt's maintainers are not Tern's.
    assert not Maintainership.objects.filter(project=tern, user__username="ubuntu-packager")

    release = Release.objects.get(project=tern)
    assert (release.version, release.state) == ("0.4", Release.State.PRERELEASE)
    assert release.prerelease.original_name == "tern-0.4.tar.gz"
    with (
        storages["uploads"].open(release.prerelease.key, "rb") as stored,
        tarfile.open(fileobj=stored, mode="r:gz") as tar,
    ):
        names = set(tar.getnames())
    assert {"tern-0.4/packaging/fedora/tern.ini", "tern-0.4/packaging/fedora/tern.spec"} <= names
    assert not any("distros" in name or "ubuntu" in name for name in names)


def test_the_demo_proves_convirt_against_its_tags_and_one_proof_fails():
    call_command("seed_demo")
    convirt = Project.objects.get(slug="convirt")
    assert convirt.source_repository.endswith("demo-git/convirt.git")
    good = Release.objects.get(project=convirt, version="2.0")
    assert good.state == Release.State.PRERELEASE and good.source_tag == "v2.0"
    assert good.source_proofs.get().state == SourceProof.State.PASSED
    bad = Release.objects.get(project=convirt, version="2.1")
    proof = bad.source_proofs.get()
    assert bad.state == Release.State.DRAFT and proof.state == SourceProof.State.FAILED
    assert [f["path"] for f in proof.files] == [f"tests/files/{demo.INJECTED_PATH.rsplit('/', 1)[1]}"]
    assert proof.files[0]["class"] == "binary-unexpected"
    assert "is not proved against tag v2.1" in refusal(bad, Action.OPEN)


def test_each_upstream_has_its_own_team_and_key():
    from releases import permissions
    from releases.models import ProjectKey

    call_command("seed_demo")
    convirt, tern = Project.objects.get(slug="convirt"), Project.objects.get(slug="tern")
    boss = authenticate(username="release-manager", password="convirt-staff-demo")
    tern_rm = authenticate(username="tern-release-manager", password="tern-staff-demo")
    assert boss.is_staff and not tern_rm.is_staff
    assert permissions.project_role(tern_rm, tern) == "owner"
    assert permissions.project_role(tern_rm, convirt) is None  # Tern only
    assert permissions.project_role(boss, tern) is None
    assert (convirt.signing, tern.signing) == ("portal", "release_manager")
    convirt_key, tern_key = (
        ProjectKey.objects.get(project=convirt),
        ProjectKey.objects.get(project=tern),
    )
    assert convirt_key.portal_held and not tern_key.portal_held
    assert convirt_key.fingerprint != tern_key.fingerprint
    call_command("seed_demo")  # twice: nothing doubled
    assert ProjectKey.objects.count() == 2
@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in
        ("dpkg-deb", "apt-ftparchive", "dpkg-scansources", "rpmbuild", "createrepo_c", "repo-add")),
    reason="the distributions' repository tools are not installed",
)
def test_demo_repositories_one_of_each_status(settings):
    settings.OUTBOUND_ALLOW_FILE_URLS = True
    call_command("seed_demo")
    released(Project.objects.get(slug="convirt"), "1.9", days_ago=10)
    call_command("seed_demo", "--with-repositories")
    shown = {
        (r.distro.slug, r.branch): (r.format, r.status, r.version)
        for r in DistroRepository.objects.select_related("distro")
    }
    assert shown == {
        ("ubuntu", "noble"): ("deb-packages", "newest", "1.9-1"),
        ("ubuntu", "jammy"): ("deb-sources", "legacy", "1.8-1"),
        ("fedora", "42"): ("rpm-md", "outdated", "1.8-2.fc42"),
        ("arch", "extra"): ("arch-db", "newest", "1.9-1"),
        ("alpine", "edge"): ("apk-index", "unknown", ""),
    }
    alpine = DistroRepository.objects.get(distro__slug="alpine")
    assert alpine.reason.startswith("The server answered 404")


def test_demo_repositories_need_a_published_release():
    call_command("seed_demo")
    with pytest.raises(CommandError, match="needs a published release"):
        call_command("seed_demo", "--with-repositories")
