"""The packaging guide: the project's policy laid out for people, from the same
data the checks enforce."""

from __future__ import annotations

import bundlecheck

from releases.models import Project
from releases.policies import rules_for, version_in_force

from .tools import wheel_name

# What the portal itself checks beside the policy: who signed the upload.
PORTAL_CHECKS = [
    {"id": "upload-signed", "severity": "info", "description": "who signed the upload (OpenPGP)"},
    {
        "id": "upload-signature-bad",
        "severity": "error",
        "description": "the upload's signature does not verify against the submitter's keys",
    },
    {
        "id": "upload-unsigned",
        "severity": "error",
        "description": "the project takes signed uploads only, and this one has no signature",
    },
]


PORTAL_WHY = {
    "id": "signatures",
    "title": "Signed uploads",
    "text": "A signature says who made an upload, whoever sent it: the report names the key, "
    "and a project that takes signed uploads only refuses one that is unsigned or signed by "
    "a key that is not on the submitter's profile.",
}


def guide_context(project: Project, policy: bundlecheck.Policy | None = None) -> dict:
    """The packaging guide page: ``policy`` (by default the project's rules in force)
    laid out for people, from the same data the checks enforce."""
    rules = policy if policy is not None else rules_for(project)
    return {
        "project": project,
        "guide": bundlecheck.guide_data(rules),
        # The text in force (not shown for a preview's unsaved rules).
        "version": version_in_force(project) if policy is None else None,
        "portal_checks": PORTAL_CHECKS,
        "wheel_name": wheel_name(),
        "portal_why": PORTAL_WHY,
    }
