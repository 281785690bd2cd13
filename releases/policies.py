"""Each project's packaging policy: TOML text kept in immutable, numbered versions.

The newest version is the project's rules, as long as this engine can read
it: a version saved under an older engine that a newer one refuses is passed
over for the newest one it reads, and the editor says so (`version_in_force`).
A project without any version yet (from before versions existed) gets version 1
from the shipped policy it names (``Project.policy``, e.g. ``convirt``) the
first time its rules are asked for. Parsed rules, and refusals, are cached by
digest: a version never changes, so its parse never does.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from importlib import resources

import bundlecheck
from bundlecheck.guide import why_section
from bundlecheck.limits import Limits
from bundlecheck.policyspec import toml_value
from django.db import IntegrityError, transaction

from portal.errors import BadInput

from .models import PolicyVersion, Project, Reverification

logger = logging.getLogger(__name__)

# What a policy text may hold at most; the engine refuses longer text too.
MAX_TEXT_CHARS = 256 * 1024


# Where a new upstream starts: the smallest valid policy, to be grown in the editor.
STARTER_POLICY = """\
# The packaging rules of this project, checked on every upload.
# Every key is described on the portal's policy format page, /policy-format/.
schema = 1
name = "{slug}"
description = {description}

[layout]
# The one top-level directory of the source package, and where a distro's work goes.
root = "{slug}-*"
contribution_roots = ["packaging/{{distro}}/"]
distro_dir = "packaging/{{distro}}/"
"""


def policy_or_starter(text: str, *, slug: str, name: str) -> str:
    """`text`, or where it is blank the starter policy named for the project."""
    if text.strip():
        return text
    slug = slug or "project"
    return STARTER_POLICY.format(
        slug=slug, description=toml_value(f"{name or slug} packaging policy")
    )


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shipped_text(name: str) -> str:
    """The TOML of a policy shipped with the engine (by name only: never a path, so
    nothing stored in a project can make the portal read a file of the server)."""
    if name not in bundlecheck.policy.shipped_policies():
        raise bundlecheck.PolicyError(
            f"no shipped policy named {name!r}: save the project's policy on its policy page"
        )
    return (resources.files("bundlecheck") / "policies" / f"{name}.toml").read_text(
        encoding="utf-8"
    )


def current_version(project: Project) -> PolicyVersion:
    """The project's newest policy version (version 1 seeded if none): what the editor
    edits. Uploads are judged by `version_in_force`, the same one unless this engine
    cannot read it."""
    version = project.policy_versions.order_by("-number").first()
    if version is not None:
        return version
    return seed_version(
        project, shipped_text(project.policy), f"Seeded from the shipped policy {project.policy}."
    )


def seed_version(project: Project, text: str, note: str, author=None) -> PolicyVersion:
    """Version 1 of a new project's policy (or the one already there)."""
    try:
        with transaction.atomic():
            return PolicyVersion.objects.create(
                project=project,
                number=1,
                text=text,
                sha256=text_sha256(text),
                note=note,
                author=author,
            )
    except IntegrityError:  # a concurrent first reader seeded it
        return project.policy_versions.get(number=1)


@lru_cache(maxsize=64)
def _parsed(sha256: str, text: str, origin: str) -> bundlecheck.Policy | bundlecheck.PolicyError:
    try:
        return bundlecheck.parse_policy(text, origin=origin)
    except bundlecheck.PolicyError as refused:
        return refused


def rules_of(version: PolicyVersion) -> bundlecheck.Policy:
    """The engine's Policy for one saved version (bundlecheck.PolicyError if it reads none)."""
    parsed = _parsed(
        version.sha256, version.text, f"{version.project.slug} policy v{version.number}"
    )
    if isinstance(parsed, bundlecheck.PolicyError):
        raise parsed
    return parsed


def version_in_force(project: Project) -> PolicyVersion:
    """The version uploads are judged by: the newest this engine reads."""
    newest = current_version(project)
    if not unreadable_problems(newest):
        return newest
    # Only when the newest is refused are older versions looked at.
    for version in [newest, *project.policy_versions.filter(number__lt=newest.number)[:20]]:
        if unreadable_problems(version):
            logger.error(
                "%s policy version %s is refused by this engine", project.slug, version.number
            )
            continue
        return version
    return newest  # none reads: rules_of says why, to whoever asks


def rules_for(project: Project) -> bundlecheck.Policy:
    """The engine's Policy the project's uploads are judged by now."""
    return rules_of(version_in_force(project))


def parse(text: str, origin: str = "policy") -> bundlecheck.Policy:
    """Parse policy text staff wrote, as the engine will (raises bundlecheck.PolicyError).

    The engine's own limits are the ceilings: a policy edited in the browser may
    tighten how much an archive may hold or a check may read, never loosen it
    past what the workers were sized for."""
    return bundlecheck.parse_policy(text, origin=origin, ceilings=Limits())


def reverification_progress(reverification, release=None) -> dict:
    """How far a re-verification has come: items done of all, and verdicts that changed
    (of one release's submissions, with `release`)."""
    items = reverification.items.all()
    if release is not None:
        items = items.filter(submission__release=release)
    rows = list(items.values_list("verdict_before", "verdict_after", "done_at"))
    done = [(before, after) for before, after, at in rows if at is not None]
    passing, verdicts = {"passed", "accepted"}, {"passed", "accepted", "failed"}
    judged = [(before, after) for before, after in done if after in verdicts]
    return {
        "reverification": reverification,
        "version": reverification.policy_version,
        "total": len(rows),
        "done": len(done),
        "percent": 100 * len(done) // len(rows) if rows else 100,
        "changed": sum((before in passing) != (after in passing) for before, after in judged),
        # Not judged again: replaced, decided or closed meanwhile, a newer version
        # saved, the bytes removed, or the work failed (each item says which).
        "skipped": len(done) - len(judged),
        "finished": len(done) == len(rows),
    }


def latest_reverification(project: Project, release=None) -> dict | None:
    """The progress of the project's newest re-verification (touching `release`, if given)."""
    reverifications = Reverification.objects.filter(policy_version__project=project)
    if release is not None:
        reverifications = reverifications.filter(items__submission__release=release)
    latest = reverifications.select_related("policy_version").order_by("-started_at").first()
    return reverification_progress(latest, release) if latest else None


class PolicyInvalid(BadInput):
    """Policy text the engine refuses, with each problem's line and column."""

    def __init__(self, problems: list[dict]):
        super().__init__(
            "The policy has "
            + (f"{len(problems)} problems" if len(problems) > 1 else "a problem")
            + ": nothing was saved. Correct the lines named below and review again.",
            field="text",
        )
        self.problems = problems


def policy_problems(text: str, origin: str = "policy") -> list[dict]:
    """Every problem the engine finds in policy text staff wrote, as
    {line, column, key, message}; [] if none."""
    try:
        parse(text, origin)
    except bundlecheck.PolicyError as error:
        return problems_of(error)
    return []


def problems_of(error: bundlecheck.PolicyError) -> list[dict]:
    return [
        {"line": p.line, "column": p.column, "key": p.key, "message": p.message}
        for p in error.problems
    ] or [{"line": None, "column": None, "key": "", "message": str(error)}]


def unreadable_problems(version: PolicyVersion) -> list[dict]:
    """Why this engine cannot read a stored version ([] when it can)."""
    try:
        rules_of(version)
    except bundlecheck.PolicyError as error:
        return problems_of(error)
    return []


def why_anchor(check_id: str) -> str:
    """The guide page's anchor that explains why `check_id` exists: its kind's section
    (the engine's, or the portal's own for signed uploads), or for a check a policy
    declares itself, its line in the list of checks."""
    if check_id.startswith("upload-"):
        return "why-signatures"
    section = why_section(check_id)
    return f"why-{section}" if section else f"check-{check_id}"
