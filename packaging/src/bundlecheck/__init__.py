"""bundlecheck: verify distro bundles and packages against an upstream packaging policy.

Framework-free (no Django): the portal's workers and a maintainer's laptop run
the same checks.
"""

from __future__ import annotations

from .assemble import assemble, write_tarball
from .engine import build_manifest, verify
from .errors import ArchiveError, BundlecheckError, PolicyError, Problem, RegistryError
from .findings import Finding, Report
from .guide import guide_data
from .manifest import manifest_diff
from .policy import MAX_POLICY_BYTES, Policy, fill_distro, load_policy, parse_policy, policy_schema
from .registry import CHECKS

__all__ = [
    "CHECKS",
    "MAX_POLICY_BYTES",
    "ArchiveError",
    "BundlecheckError",
    "Finding",
    "Policy",
    "PolicyError",
    "Problem",
    "RegistryError",
    "Report",
    "assemble",
    "build_manifest",
    "fill_distro",
    "guide_data",
    "load_policy",
    "manifest_diff",
    "parse_policy",
    "policy_schema",
    "verify",
    "write_tarball",
]
__version__ = "0.1.0"
