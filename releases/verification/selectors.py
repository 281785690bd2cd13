"""The packaging guide: the project's policy laid out for people, from the same
data the checks enforce."""

from __future__ import annotations

import bundlecheck
from bundlecheck.registry import FAMILIES

from releases.models import Project

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


def guide_context(project: Project) -> dict:
    """The project's packaging policy, laid out for people: the same data the checks enforce."""
    policy = bundlecheck.load_policy(project.policy)
    deployment = policy.deployment
    config = policy.config
    return {
        "project": project,
        "policy": policy,
        "prereqs": [
            {"name": p.name, "min_version": p.min_version, "aliases": ", ".join(p.aliases)}
            for p in policy.prereqs
        ],
        "patched": policy.patched_prereq,
        "roots": [r.replace("{distro}", "$DISTRO") for r in policy.contribution_roots],
        "config_locations": [loc.replace("{distro}", "$DISTRO") for loc in config.locations]
        if config
        else [],
        "exec_path": config.exec_path if config else None,
        "exec_tools": sorted(
            (config.exec_path.tools.items() if config and config.exec_path else []),
            key=lambda item: item[0],
        ),
        "required_keys": config.required if config else (),
        "script_patterns": ", ".join(policy.script_patterns),
        "recipes": [(family, ", ".join(globs)) for family, globs in policy.recipes.items()],
        "tree": [
            {
                "source": m.source,
                "target": m.target,
                "mode": f"{m.mode:04o}",
                "required": m.required,
                "instead_of": m.alternative_to,
            }
            for m in deployment.tree
        ]
        if deployment
        else [],
        "files": [
            (m.source.replace("{distro}", "$DISTRO"), m.target, f"{m.mode:04o}")
            for m in deployment.files
        ]
        if deployment
        else [],
        "critical": [(r.path, f"{r.mode:04o}", r.required) for r in deployment.critical]
        if deployment
        else [],
        "symlinks": deployment.symlinks if deployment else (),
        "families": [
            {
                "prefix": prefix,
                "description": description,
                "docs": "https://lintian.debian.org/tags/" if prefix == "lintian:" else None,
            }
            for prefix, description in FAMILIES.items()
        ],
        "portal_checks": PORTAL_CHECKS,
        "checks": [
            {"id": check_id, "severity": policy.severity_of(check_id), "description": description}
            for check_id, (_, description) in sorted(bundlecheck.CHECKS.items())
        ],
    }
