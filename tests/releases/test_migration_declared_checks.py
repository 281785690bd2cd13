"""A project whose newest policy version was saved before policies declared their own
checks gets a version that declares them: the engine reads it, the ids stay."""

import hashlib
from pathlib import Path

import bundlecheck
import pytest

from tests.helpers import migrate_to

BEFORE = [("releases", "0016_event_vocabulary")]
AFTER = [("releases", "0018_declared_checks")]
ROOT = Path(__file__).resolve().parents[2]


def _convirt_before_declared_checks() -> str:
    """ConVirt's policy as projects saved it when the engine named its checks."""
    text = (ROOT / "packaging/src/bundlecheck/policies/convirt.toml").read_text()
    start = text.index("# Checks of this guide's own")
    end = text.index("[layout]")
    text = text[:start] + text[end:]
    return text.replace('check = "paramiko-patch-missing"\n', "")


@pytest.mark.django_db(transaction=True)
def test_a_policy_saved_before_declared_checks_gets_a_version_that_declares_them():
    old_text = _convirt_before_declared_checks()
    with pytest.raises(bundlecheck.PolicyError, match="config-html-browser-missing"):
        bundlecheck.parse_policy(old_text)
    old = migrate_to(BEFORE)
    Project = old.get_model("releases", "Project")
    PolicyVersion = old.get_model("releases", "PolicyVersion")
    convirt = Project.objects.create(slug="convirt", name="ConVirt")
    PolicyVersion.objects.create(project=convirt, number=1, text=old_text, sha256="0" * 64)
    other = Project.objects.create(slug="tern", name="Tern", policy="tern")
    tern_text = (ROOT / "demo/policies/tern.toml").read_text()
    PolicyVersion.objects.create(project=other, number=1, text=tern_text, sha256="1" * 64)

    new = migrate_to(AFTER)
    versions = new.get_model("releases", "PolicyVersion").objects
    assert versions.filter(project__slug="tern").count() == 1  # nothing to declare
    first, second = versions.filter(project__slug="convirt").order_by("number")
    assert first.text == old_text  # versions never change
    assert second.number == 2 and "no longer holds" in second.note
    policy = bundlecheck.parse_policy(second.text)
    assert set(policy.declared) == {"config-html-browser-missing", "paramiko-patch-missing"}
    assert policy.patched_prereq.check == "paramiko-patch-missing"
    shipped = bundlecheck.load_policy("convirt")
    assert policy.declared == shipped.declared
    assert second.sha256 == hashlib.sha256(second.text.encode()).hexdigest()
    migrate_to()
