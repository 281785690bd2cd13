"""A second upstream, Tern, whose policy differs in shape from ConVirt's: every page a
maintainer, staff and the public see of it, and every mail the portal sends about it,
take their paths, file names and wording from Tern's policy, never from ConVirt's.

Tern's policy (demo/policies/tern.toml) puts a distro's work under
packaging/$DISTRO/ only, names tern.ini and has no deployment layout: a page that
still said distros/$DISTRO, install/client/... or convirt.conf would be wrong for it.
"""

from __future__ import annotations

import io
import re

import bundlecheck
import pytest
from django.core import mail
from django.urls import reverse

from accounts.services import api_token_create
from demo import builders as demo
from publishing import links as link_checks
from publishing.services import public_page_render
from releases.artifacts import artifact_create
from releases.coordination import lifecycle
from releases.coordination.services import release_remind, submission_accept, submission_reject
from releases.maintainers.services import (
    maintainership_approve,
    maintainership_decline,
    maintainership_request,
)
from releases.models import Artifact, PackageLink, Project, Release, Submission
from releases.policies import current_version, rules_for, seed_version
from releases.prereleases.services import release_deliver_prerelease
from releases.verification.services import submission_verify
from tests.factories import (
    MaintainershipFactory,
    ProjectFactory,
    ProjectMemberFactory,
    UserFactory,
    accepted,
    link,
    released,
)
from tests.helpers import Upload, broken_bundle_bytes, bundle_bytes, submit

pytestmark = pytest.mark.django_db

# What only ConVirt's policy says; "convirt" covers convirt.conf and /usr/bin/convirt.
CONVIRT_WORDS = re.compile(r"convirt|install/client", re.IGNORECASE)
# ConVirt's contribution root as text; the portal's own URLs (…/releases/V/distros/D/)
# hold "/distros/" and are no layout.
DISTROS_ROOT = re.compile(r"(?<![/\w-])distros/")


def assert_names_no_convirt(text: str, where: str) -> None:
    for pattern in (CONVIRT_WORDS, DISTROS_ROOT):
        hit = pattern.search(text)
        assert hit is None, (
            f"{where} says {hit.group()!r}: …{text[max(0, hit.start() - 120) : hit.end() + 120]}…"
        )


def tern_bundle(distro: str = "ubuntu") -> bytes:
    return bundle_bytes(demo.tern_bundle_members(distro))


def broken_tern_bundle() -> bytes:
    """Ubuntu's Tern bundle with a tern.ini that lacks [libvirt] uri and a python3 too old."""
    members = []
    for name, data, mode in demo.tern_bundle_members("ubuntu"):
        if name.endswith("tern.ini"):
            data = b"[tern]\nstate_dir = /var/lib/tern\n"
        elif name.endswith("debian/control"):
            data = data.replace(b"python3 (>= 3.9), python3-libvirt", b"python3 (>= 3.6)")
        members.append((name, data, mode))
    return bundle_bytes(members)


@pytest.fixture
def tern(db):
    # As seed_demo makes it: version 1 of its policy from the repository's file.
    project = ProjectFactory(
        slug="tern", name="Tern", homepage="https://tern.example.org/", policy=str(demo.TERN_POLICY)
    )
    seed_version(project, demo.tern_policy_text(), "Tern's packaging guide.")
    return project


@pytest.fixture
def tern_release(tern):
    artifact = artifact_create(
        kind=Artifact.Kind.PRERELEASE,
        content=io.BytesIO(demo.tern_prerelease_bytes("0.4")),
        original_name="tern-0.4.tar.gz",
    )
    return Release.objects.create(
        project=tern, version="0.4", state=Release.State.PRERELEASE, prerelease=artifact
    )


@pytest.fixture
def tern_maintainers(tern, ubuntu, fedora):
    return {
        distro.slug: MaintainershipFactory(
            user=UserFactory(username=f"tern-{distro.slug}-dev"), project=tern, distro=distro
        ).user
        for distro in (ubuntu, fedora)
    }


# --- Tern's policy judges Tern's bundles -------------------------------------------


def test_the_demo_policy_is_valid_and_differs_in_shape_from_convirts():
    tern = bundlecheck.parse_policy(demo.tern_policy_text())
    convirt = bundlecheck.load_policy("convirt")
    assert tern.roots_for("ubuntu") == ("packaging/ubuntu/",)
    assert tern.distro_dir == "packaging/{distro}/" and tern.root == "tern-*"
    assert tern.config.file == "tern.ini" and tern.deployment is None
    assert {p.name: p.min_version for p in tern.prereqs} == {"python3": "3.9", "libvirt": None}
    assert set(tern.contribution_roots).isdisjoint(convirt.contribution_roots)


def test_a_tern_bundle_passes_by_terns_policy():
    policy = bundlecheck.parse_policy(demo.tern_policy_text())
    reference = bundlecheck.build_manifest(io.BytesIO(demo.tern_prerelease_bytes()), policy=policy)
    report = bundlecheck.verify(
        io.BytesIO(tern_bundle()), distro="ubuntu", policy=policy, reference=reference
    )
    assert [(f.check, f.message) for f in report.findings if f.severity == "error"] == []


def test_a_convirt_shaped_bundle_fails_by_terns_policy_with_a_layout_finding():
    policy = bundlecheck.parse_policy(demo.tern_policy_text())
    reference = bundlecheck.build_manifest(io.BytesIO(demo.tern_prerelease_bytes()), policy=policy)
    report = bundlecheck.verify(
        io.BytesIO(bundle_bytes(demo.ubuntu_bundle_members())),
        distro="ubuntu",
        policy=policy,
        reference=reference,
    )
    errors = {f.check: f for f in report.findings if f.severity == "error"}
    assert "packaging/ubuntu/" in errors["distro-dir-missing"].message
    outside = [f for f in report.findings if f.check == "contribution-outside-distro"]
    assert any(
        f.path == "distros/ubuntu/debian/control" and "outside packaging/ubuntu/" in f.message
        for f in outside
    )
    assert "tern.ini" in errors["config-missing"].message


def test_tern_names_its_own_check_as_convirt_does():
    """The engine's catalogue names no project: each policy declares its own checks."""
    tern = bundlecheck.parse_policy(demo.tern_policy_text())
    assert set(tern.declared) == {"tern-libvirt-uri-missing"}
    assert not {"config-html-browser-missing", "paramiko-patch-missing"} & set(tern.catalogue)
    report = bundlecheck.verify(io.BytesIO(broken_tern_bundle()), distro="ubuntu", policy=tern)
    [uri] = [f for f in report.findings if f.check == "tern-libvirt-uri-missing"]
    assert uri.severity == "error" and "does not set [libvirt] uri" in uri.message
    convirt = bundlecheck.verify(
        io.BytesIO(broken_bundle_bytes()), distro="ubuntu", policy="convirt"
    )
    assert "config-html-browser-missing" in {f.check for f in convirt.findings}


# --- The report names the policy version -------------------------------------------


def test_the_report_names_the_policy_version_it_was_checked_against(
    client, tern_release, ubuntu, tern_maintainers, django_capture_on_commit_callbacks
):
    maintainer = tern_maintainers["ubuntu"]
    submission = submit(tern_release, ubuntu, maintainer, tern_bundle(), "tern-ubuntu.tar.gz")
    with django_capture_on_commit_callbacks(execute=True):
        submission_verify(submission_id=submission.pk)
    submission.refresh_from_db()
    version = current_version(tern_release.project)
    assert submission.state == "passed" and submission.policy_version == version

    client.force_login(maintainer)
    page = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    text = reverse("project-policy-version-text", args=["tern", version.number])
    assert (
        f'Checked against Tern\'s packaging policy, <a href="{text}">version {version.number}</a> '
        f"(sha256 <code>{version.sha256[:12]}</code>…)"
    ) in page
    report = client.get(reverse("submission-report", args=[submission.pk])).json()
    assert report["policy"] == {"version": version.number, "sha256": version.sha256}


def test_an_old_submission_without_a_policy_version_says_nothing_of_one(
    client, tern_release, ubuntu, tern_maintainers
):
    maintainer = tern_maintainers["ubuntu"]
    submission = submit(tern_release, ubuntu, maintainer, tern_bundle())
    Submission.objects.filter(pk=submission.pk).update(state="passed", progress=100)
    client.force_login(maintainer)
    page = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    assert "policy, version" not in page
    assert client.get(reverse("submission-report", args=[submission.pk])).json()["policy"] is None


def test_the_api_report_names_the_policy_version(
    client, tern_release, ubuntu, tern_maintainers, django_capture_on_commit_callbacks
):
    maintainer = tern_maintainers["ubuntu"]
    submission = submit(tern_release, ubuntu, maintainer, tern_bundle())
    with django_capture_on_commit_callbacks(execute=True):
        submission_verify(submission_id=submission.pk)
    version = current_version(tern_release.project)
    _, key = api_token_create(user=maintainer, name="ci")
    body = client.get(
        reverse("api-submission", args=[submission.pk]), HTTP_AUTHORIZATION=f"Token {key}"
    ).json()
    assert body["policy"] == {"version": version.number, "sha256": version.sha256}


# --- Every page and mail of the second project ---------------------------------------


def test_no_page_or_mail_of_the_second_project_names_convirt(
    client,
    monkeypatch,
    tern,
    tern_release,
    ubuntu,
    fedora,
    tern_maintainers,
    staff,
    django_capture_on_commit_callbacks,
):
    assert rules_for(tern).roots_for("ubuntu") == ("packaging/ubuntu/",)
    maintainer = tern_maintainers["ubuntu"]
    staff.email = "staff@example.org"
    staff.is_superuser = True
    staff.save()
    # The release team is Tern's: the `staff` fixture's ConVirt has no place here.
    ProjectMemberFactory(project=tern, user=staff)
    Project.objects.filter(slug="convirt").delete()
    pages: dict[str, str] = {}

    def page(name: str, user, url: str, status: int = 200) -> str:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == status, (name, response.status_code)
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        pages[name] = body
        return body

    with django_capture_on_commit_callbacks(execute=True):
        # Mails: the pre-release is ready (and, after a respin, what changed).
        release_deliver_prerelease(release=tern_release)
        # A newcomer asks for a distro; staff decline one claim, approve another.
        newcomer = UserFactory(username="tern-newcomer")
        maintainership_decline(
            claim=maintainership_request(user=newcomer, project=tern, distro=ubuntu),
            actor=staff,
            reason="Ubuntu is maintained already.",
        )
        debian_claim = maintainership_request(
            user=newcomer, project=tern, new_distro_slug="debian", new_distro_name="Debian"
        )
    page("claims (staff)", staff, reverse("claims"))
    with django_capture_on_commit_callbacks(execute=True):
        maintainership_approve(claim=debian_claim, actor=staff)

        # A failing upload, then one that passes, then the release team's decision.
        broken = submit(tern_release, ubuntu, maintainer, broken_tern_bundle())
        submission_verify(submission_id=broken.pk)
        good = submit(tern_release, ubuntu, maintainer, tern_bundle(), "tern-ubuntu.tar.gz")
        submission_verify(submission_id=good.pk)
        submission_accept(
            submission=Submission.objects.get(pk=good.pk), actor=staff, comment="Thanks."
        )
        fedora_bundle = submit(
            tern_release, fedora, tern_maintainers["fedora"], tern_bundle("fedora")
        )
        submission_verify(submission_id=fedora_bundle.pk)
        submission_reject(
            submission=Submission.objects.get(pk=fedora_bundle.pk),
            actor=staff,
            comment="Keep fedora's tern.spec as the pre-release has it.",
        )
    broken.refresh_from_db()
    assert broken.state == "superseded"
    assert {"tern-libvirt-uri-missing", "prereq-version-too-low", "prereq-missing"} <= set(
        broken.findings.values_list("check_id", flat=True)
    )

    release = Release.objects.get(pk=tern_release.pk)
    for name, user, url in [
        ("my distros", maintainer, reverse("my-distros")),
        ("my distros (newcomer)", newcomer, reverse("my-distros")),
        (
            "distro page",
            maintainer,
            reverse("release-distro", args=["tern", "0.4", "ubuntu"]),
        ),
        ("report of the failed upload", maintainer, reverse("submission-detail", args=[broken.pk])),
        ("report of the passed upload", maintainer, reverse("submission-detail", args=[good.pk])),
        ("report status", maintainer, reverse("submission-status", args=[broken.pk])),
        ("guide", maintainer, reverse("project-guide", args=["tern"])),
        ("staff releases", staff, reverse("staff-releases")),
        ("release dashboard", staff, reverse("staff-release", args=[release.pk])),
        ("confirm freeze", staff, reverse("staff-release-freeze", args=[release.pk])),
        ("confirm publish", staff, reverse("staff-release-publish", args=[release.pk])),
        ("confirm withdraw", staff, reverse("staff-release-withdraw", args=[release.pk])),
        ("confirm respin", staff, reverse("staff-release-respin", args=[release.pk])),
        ("audit log", staff, reverse("staff-audit")),
        ("new release", staff, reverse("staff-release-new", args=["tern"])),
        ("webhooks", staff, reverse("staff-webhooks", args=["tern"])),
        ("policy editor", staff, reverse("staff-policy", args=["tern"])),
    ]:
        page(name, user, url)
    assert "packaging/ubuntu/" in pages["distro page"]
    assert "tern.ini" in pages["distro page"]
    assert "packaging/ubuntu/" in pages["my distros"]
    assert "packaging/&lt;name&gt;/" in pages["my distros (newcomer)"]
    client.force_login(maintainer)
    report = client.get(reverse("submission-report", args=[broken.pk]))
    pages["JSON report of the failed upload"] = report.content.decode()
    assert report.json()["verdict"] == "fail"
    _, key = api_token_create(user=maintainer, name="ci")
    for name, url in [
        ("API submission", reverse("api-submission", args=[broken.pk])),
        ("API release", reverse("api-release", args=["tern", "0.4"])),
    ]:
        response = client.get(url, HTTP_AUTHORIZATION=f"Token {key}")
        assert response.status_code == 200, name
        pages[name] = response.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        # The deadline: frozen, then reopened for one distro; a reminder to the lagging.
        lifecycle.release_freeze(release=release, actor=staff)
        lifecycle.release_reopen_distro(release=release, distro=fedora, actor=staff)
        assert release_remind(release=release, actor=staff, distros=[fedora])
        # A respin mails each maintainer what changed under their directory.
        lifecycle.release_unfreeze(release=release, actor=staff)
        members = demo.tern_prerelease_members("0.4")
        members.append(("tern-0.4/CHANGES", b"rc2: fixes\n", 0o644))
        lifecycle.release_respin(
            release=release, actor=staff, tarball=Upload(bundle_bytes(members), "tern-0.4.tar.gz")
        )
        release_deliver_prerelease(release=Release.objects.get(pk=release.pk))

    page(
        "release dashboard, after a freeze and a respin",
        staff,
        reverse("staff-release", args=[release.pk]),
    )
    page("audit log, after a freeze and a respin", staff, reverse("staff-audit"))
    # The first pre-release link stopped working with the respin.
    fedora_dev = tern_maintainers["fedora"]
    first_invitation = next(
        m for m in mail.outbox if "ready for packaging" in m.subject and m.to == [fedora_dev.email]
    )
    first_link = next(line for line in first_invitation.body.splitlines() if "/prerelease/" in line)
    page("expired pre-release link", fedora_dev, first_link, status=410)

    # The public side: an earlier release, published with ubuntu's packaging in it.
    earlier = released(tern, "0.3", days_ago=30)
    accepted(earlier, ubuntu, maintainer)
    package = link(earlier, ubuntu, "https://pkgs.example.org/ubuntu/tern_0.3_all.deb")
    monkeypatch.setattr(
        link_checks, "link_probe", lambda url, **kw: link_checks.Probe(False, "HTTP 404")
    )
    with django_capture_on_commit_callbacks(execute=True):
        link_checks.package_link_check(link=PackageLink.objects.get(pk=package.pk))
    html, payload = public_page_render(project=tern)
    pages["public download page"] = html.decode()
    pages["downloads.json"] = payload.decode()
    assert "Its packaging files are in the source tarball." in pages["public download page"]
    client.logout()
    feed = client.get(reverse("publishing:feed", kwargs={"project": "tern"}))
    pages["Atom feed"] = feed.content.decode()

    for name, body in pages.items():
        assert "Tern" in body or "tern" in body, name
        assert_names_no_convirt(body, name)

    sent = {message.subject: message for message in mail.outbox}
    expected = [
        "pre-release 0.4 is ready for packaging",  # first delivery and the respin's
        "asks to maintain",
        "your maintainership of Ubuntu: declined",
        "your maintainership of Debian: approved",
        "verification failed",
        "verification passed",
        "accepted",
        "rejected",
        "reopened for Fedora uploads",
        "reminder for Fedora: the submission deadline approaches",
        "Package link broken",
    ]
    for words in expected:
        assert any(words in subject for subject in sent), (words, sorted(sent))
    # Plain text: a comment's apostrophe is no HTML entity.
    assert "Keep fedora's tern.spec" in next(m.body for m in mail.outbox if "rejected" in m.subject)
    prerelease_mails = [m for m in mail.outbox if "is ready for packaging" in m.subject]
    assert any("packaging/ubuntu/" in m.body for m in prerelease_mails)
    assert any("This pre-release replaces an earlier one" in m.body for m in prerelease_mails)
    for message in mail.outbox:
        assert_names_no_convirt(f"{message.subject}\n{message.body}", f"mail {message.subject!r}")
