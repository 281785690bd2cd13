"""Every page a person meets passes axe-core (from npm) in Debian's Chromium
with no violation of impact serious or critical; keyboard users can skip to
the content; the busiest pages fit a 375 px phone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import transaction

from publishing.services import public_page_regenerate
from releases.artifacts import artifact_create
from releases.events import event_record
from releases.models import Artifact, Finding, Maintainership, Release, Submission
from tests.factories import (
    DistroFactory,
    ProjectFactory,
    ProjectMemberFactory,
    UserFactory,
    released,
)
from tests.helpers import bundle_bytes, prerelease_bytes

from .conftest import PHONE, no_horizontal_scroll

pytestmark = [pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "a-long-enough-password-42"
SERIOUS = {"serious", "critical"}


def _axe(page) -> list[dict]:
    """Run axe-core in the page (through the browser's debugger: no page script is
    needed, whatever its Content-Security-Policy) and return the serious violations."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (package.json declares axe-core)")
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in json.loads(result)["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.fixture
def portal(settings, tmp_path):
    """A release in the middle of its life: an open release with a failed and a passed
    submission, an earlier one published, staff and a maintainer with passwords."""
    project = ProjectFactory(
        slug="convirt", name="ConVirt", homepage="https://convirt.example.org/"
    )
    ubuntu = DistroFactory(slug="ubuntu", name="Ubuntu")
    fedora = DistroFactory(slug="fedora", name="Fedora")
    # A site administrator (the new-project page) and ConVirt's owner.
    staff = UserFactory(username="release-manager", is_staff=True, password=PASSWORD)
    ProjectMemberFactory(project=project, user=staff)
    maintainer = UserFactory(username="ubuntu-dev", password=PASSWORD)
    other = UserFactory(username="fedora-dev")
    for user, distro in ((maintainer, ubuntu), (other, fedora)):
        Maintainership.objects.create(user=user, project=project, distro=distro, state="approved")
    older = released(project, "1.9", days_ago=30)
    Submission.objects.create(
        release=older,
        distro=ubuntu,
        submitter=maintainer,
        artifact=artifact_create(kind=Artifact.Kind.SUBMISSION, content=_bytes(bundle_bytes())),
        state="accepted",
    )
    release = Release.objects.create(
        project=project,
        version="2.0",
        state=Release.State.PRERELEASE,
        prerelease=artifact_create(
            kind=Artifact.Kind.PRERELEASE, content=_bytes(prerelease_bytes())
        ),
    )
    failed = Submission.objects.create(
        release=release,
        distro=ubuntu,
        submitter=maintainer,
        artifact=artifact_create(kind=Artifact.Kind.SUBMISSION, content=_bytes(bundle_bytes())),
        state="failed",
        progress=100,
    )
    for severity in ("error", "warning", "info"):
        Finding.objects.create(
            submission=failed,
            check_id="config-html-browser-missing",
            severity=severity,
            path="install/client/distros/ubuntu/convirt.conf",
            message=f"a {severity} finding",
            hint="Add html_browser to [CLIENT CONFIGURATION].",
        )
    Submission.objects.create(
        release=release,
        distro=fedora,
        submitter=other,
        artifact=artifact_create(kind=Artifact.Kind.SUBMISSION, content=_bytes(bundle_bytes())),
        state="passed",
        progress=100,
    )
    with transaction.atomic():
        event_record("release.opened", actor=staff, target=release)
    public_page_regenerate(project=project)
    return {"release": release, "failed": failed, "project": project}


def _bytes(data: bytes):
    import io

    return io.BytesIO(data)


def _log_in(context, username: str):
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_every_page_passes_axe_without_serious_violations(new_context, portal, shots):
    release, failed = portal["release"], portal["failed"]
    found: dict[str, list] = {}

    anonymous = new_context().new_page()
    for label, path in [
        ("home", "/"),
        ("sign-up", "/accounts/signup/"),
        ("log-in", "/accounts/login/"),
        ("password-reset", "/accounts/password/reset/"),
        ("guide", "/projects/convirt/guide/"),
        ("policy-format", "/policy-format/"),
        ("public-page", "/downloads/convirt/"),
    ]:
        anonymous.goto(path)
        shots(anonymous, label)
        found[label] = _axe(anonymous)

    maintainer = _log_in(new_context(), "ubuntu-dev")
    for label, path in [
        ("my-distros", "/maintain/"),
        ("distro-upload", f"/projects/convirt/releases/{release.version}/distros/ubuntu/"),
        ("report", f"/submissions/{failed.pk}/"),
        ("profile", "/accounts/profile/"),
    ]:
        maintainer.goto(path)
        shots(maintainer, label)
        found[label] = _axe(maintainer)

    staff = _log_in(new_context(), "release-manager")
    for label, path in [
        ("staff-releases", "/staff/"),
        ("staff-release", f"/staff/releases/{release.pk}/"),
        ("publish-confirmation", f"/staff/releases/{release.pk}/publish/"),
        ("respin-confirmation", f"/staff/releases/{release.pk}/respin/"),
        ("audit-log", "/staff/audit/"),
        ("claims", "/maintain/claims/"),
        ("new-project", "/staff/projects/new/"),
        ("policy-editor", "/staff/projects/convirt/policy/"),
        ("policy-version", "/staff/projects/convirt/policy/v1/"),
    ]:
        staff.goto(path)
        shots(staff, label)
        found[label] = _axe(staff)
    # The editor after a review: once with a problem named by line, once with the diff.
    staff.goto("/staff/projects/convirt/policy/")
    policy = staff.get_by_label("Policy (TOML)")
    text = policy.input_value()
    for label, edited in [
        ("policy-problem", text.replace("[layout]", "[layout", 1)),
        ("policy-diff", text.replace("lint = true", "lint = false", 1)),
    ]:
        staff.get_by_label("Policy (TOML)").fill(edited)
        staff.get_by_role("button", name="Review changes").click()
        staff.wait_for_load_state()
        shots(staff, label)
        found[label] = _axe(staff)
    assert staff.get_by_role("button", name="Save as version 2").is_visible()

    serious = {page: violations for page, violations in found.items() if violations}
    assert not serious, json.dumps(serious, indent=1)


NARROW = {"width": 390, "height": 844}


def _long_rows(project) -> None:
    """What made the profile and webhooks wide: a token, a key with its user ID,
    an endpoint with a long address and a delivery that was given up."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from accounts.models import ApiToken, OpenPGPKey
    from releases.models import WebhookDelivery, WebhookEndpoint

    maintainer = User.objects.get(username="ubuntu-dev")
    ApiToken.objects.create(user=maintainer, name="ubuntu CI on the build farm", key_hash="0" * 64, key_start="rp_AbCdEfGh")
    OpenPGPKey.objects.create(
        user=maintainer, fingerprint="0123456789ABCDEF0123456789ABCDEF01234567", algorithm="ed25519",
        uid="Ubuntu Developer (release signing key) <ubuntu-developer@lists.example.org>", armor="-",
    )
    endpoint = WebhookEndpoint.objects.create(
        project=project, url="https://hooks.chat.example.org/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        events=["release.published", "release.respun", "submission.accepted"], secret="whsec_x",
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, event="release.published", message_id="msg_0123456789abcdef0123456789",
        payload={}, attempts=5, outcome="HTTP 500 from https://hooks.chat.example.org/services/T0000000/B0000000",
        given_up_at=timezone.now(),
    )


def test_no_page_scrolls_sideways_on_a_390_px_phone(new_context, portal, shots):
    release, failed = portal["release"], portal["failed"]
    _long_rows(portal["project"])
    pages = [
        (None, "home", "/"),
        (None, "sign-up", "/accounts/signup/"),
        (None, "log-in", "/accounts/login/"),
        (None, "guide", "/projects/convirt/guide/"),
        (None, "policy-format", "/policy-format/"),
        (None, "public-page", "/downloads/convirt/"),
        ("ubuntu-dev", "my-distros", "/maintain/"),
        (
            "ubuntu-dev",
            "distro-upload",
            f"/projects/convirt/releases/{release.version}/distros/ubuntu/",
        ),
        ("ubuntu-dev", "report", f"/submissions/{failed.pk}/"),
        ("ubuntu-dev", "profile", "/accounts/profile/"),
        ("release-manager", "staff-releases", "/staff/"),
        ("release-manager", "staff-release", f"/staff/releases/{release.pk}/"),
        ("release-manager", "withdraw-confirmation", f"/staff/releases/{release.pk}/publish/"),
        ("release-manager", "audit-log", "/staff/audit/"),
        ("release-manager", "webhooks", "/staff/projects/convirt/webhooks/"),
        ("release-manager", "policy-editor", "/staff/projects/convirt/policy/"),
    ]
    sessions: dict = {}
    wide = {}
    for who, label, path in pages:
        if who not in sessions:
            context = new_context(viewport=NARROW)
            sessions[who] = _log_in(context, who) if who else context.new_page()
        page = sessions[who]
        page.goto(path)
        width, viewport = no_horizontal_scroll(page)
        if width > viewport:
            shots(page, f"{label}-390")
            wide[label] = width
    assert not wide, f"pages wider than 390 px: {wide}"
    # The matrix scrolls inside its box, but a decision is never off screen.
    page = sessions["release-manager"]
    page.goto(f"/staff/releases/{release.pk}/")
    for name in ("Accept", "Reject"):
        button = page.get_by_role("button", name=name, exact=True).first
        # Scrolled down to it, never sideways: the matrix's own scroll stays at 0.
        page.evaluate("y => window.scrollTo(0, y)", button.bounding_box()["y"] + page.evaluate("scrollY") - 200)
        assert page.evaluate("document.querySelector('.matrix-wrap').scrollLeft") == 0
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], (name, box)
        on_top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).textContent.trim()",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert on_top == name, (name, on_top)
    shots(page, "staff-release-390")


def test_keyboard_users_skip_to_the_content_and_the_matrix_fits_a_phone(new_context, portal, shots):
    release = portal["release"]
    page = _log_in(new_context(viewport=PHONE), "release-manager")
    page.goto(f"/staff/releases/{release.pk}/")
    page.keyboard.press("Tab")  # the first stop on every page
    skip = page.locator(":focus")
    assert skip.inner_text() == "Skip to the content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#content"
    width, viewport = no_horizontal_scroll(page)
    assert width <= viewport, (width, viewport)
    shots(page, "staff-release-phone")
    page.goto(f"/projects/convirt/releases/{release.version}/distros/ubuntu/")
    width, viewport = no_horizontal_scroll(page)
    assert width <= viewport, (width, viewport)
    shots(page, "distro-upload-phone")


def test_the_report_announces_its_verdict_and_pages_have_an_icon(new_context, portal):
    page = _log_in(new_context(), "ubuntu-dev")
    page.goto(f"/submissions/{portal['failed'].pk}/")
    assert page.locator('[aria-live="polite"]').count() >= 1
    response = page.request.get("/favicon.ico")
    assert response.status == 200 and response.headers["content-type"].startswith("image/")
    page.goto("/accounts/login/")
    assert page.get_by_role("link", name="Forgot your password?").count() == 1
