"""The packaging guide: the project's policy laid out for people, from the same
data the checks enforce."""

from __future__ import annotations

import bundlecheck
from bundlecheck.policy import shipped_policies

from releases.models import Project
from releases.policies import rules_for, version_in_force

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


def guide_context(project: Project, policy: bundlecheck.Policy | None = None) -> dict:
    """The packaging guide page: ``policy`` (by default the project's rules in force)
    laid out for people, from the same data the checks enforce."""
    rules = policy if policy is not None else rules_for(project)
    argument = _policy_argument(rules)
    return {
        "project": project,
        "guide": bundlecheck.guide_data(rules),
        "policy_argument": argument,
        "policy_is_shipped": argument == rules.name,
        # The text in force (not shown for a preview's unsaved rules).
        "version": version_in_force(project) if policy is None else None,
        "portal_checks": PORTAL_CHECKS,
    }


def _policy_argument(rules: bundlecheck.Policy) -> str:
    """What a maintainer passes as --policy: the shipped name while the rules are the
    shipped ones, else a file holding the project's own text."""
    if rules.name in shipped_policies() and repr(bundlecheck.load_policy(rules.name)) == repr(
        rules
    ):
        return rules.name
    return "policy.toml"
