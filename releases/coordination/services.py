"""Staff services that run a release besides its lifecycle: create it, accept or
reject submissions, remind lagging maintainers. Each ends with its event, in
the same transaction; the event's subscribers mail the people concerned and
update the public side once it commits."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.errors import BadInput, Conflict
from releases import rules
from releases.artifacts import artifact_discard
from releases.events import Event, event_record
from releases.models import Distro, Project, ProjectMember, Release, Reminder, Submission
from releases.notifications import maintainer_addresses
from releases.policies import PolicyInvalid, policy_problems, seed_version
from releases.prereleases.services import prerelease_store
from releases.sourceproof.services import source_proof_request
from releases.submission_lifecycle import Action, submission_move

from .lifecycle import release_open

REMIND_EVERY = timedelta(days=1)


@transaction.atomic
def project_create(
    *, name: str, slug: str, homepage: str, policy_text: str, actor, source_repository: str = ""
) -> Project:
    """A new upstream project, with version 1 of its packaging policy."""
    problems = policy_problems(policy_text, f"{slug} policy")
    if problems:
        raise PolicyInvalid(problems)
    taken = Conflict(f"A project with the short name {slug} exists already.", field="slug")
    if Project.objects.filter(slug=slug).exists():
        raise taken
    try:
        with transaction.atomic():
            project = Project.objects.create(
                name=name, slug=slug, homepage=homepage, policy="", source_repository=source_repository
            )
    except IntegrityError:  # the same project created twice at once
        raise taken from None
    seed_version(project, policy_text, "Written when the project was created.", author=actor)
    owner = actor if getattr(actor, "is_authenticated", False) else None
    if owner is not None:
        ProjectMember.objects.create(
            project=project, user=owner, role=ProjectMember.Role.OWNER, added_by=owner
        )
    event_record(
        Event.PROJECT_CREATED,
        actor=actor,
        target=project,
        owner=owner.get_username() if owner else None,
    )
    return project


@transaction.atomic
def release_create(
    *,
    project: Project,
    version: str,
    actor,
    tarball,
    deadline=None,
    release_date=None,
    open_now: bool = True,
    source_tag: str = "",
) -> Release:
    """A new release with its pre-release tarball; opened at once unless asked not to.
    With `source_tag`, the tarball is first proved against that tag of the project's
    repository, and the release stays a draft until the proof lets it open."""
    if Release.objects.filter(project=project, version=version).exists():
        raise Conflict(f"{project} {version} exists already.")
    refused = rules.dates_refusal(deadline, release_date)
    if refused:
        raise BadInput(refused, field="submission_deadline")
    manifest, artifact = prerelease_store(tarball, project)
    try:
        with transaction.atomic():
            release = Release.objects.create(
                project=project,
                version=version,
                prerelease=artifact,
                manifest=manifest,
                submission_deadline=deadline,
                release_date=release_date,
            )
    except IntegrityError:  # the same version created twice at once
        artifact_discard([artifact])
        raise Conflict(f"{project} {version} exists already.") from None
    proof = source_proof_request(release=release, tag=source_tag)
    event_record(Event.RELEASE_CREATED, actor=actor, target=release,
                 source_tag=proof.tag if proof is not None else "")
    if open_now and proof is None:
        release_open(release=release, actor=actor)
    return release


def _decided(submission: Submission, action: str, *, actor, comment: str) -> Submission:
    """Accept or reject, as the Submission lifecycle allows (locks the release first,
    as a publish does, then the submission)."""
    release = Release.objects.select_for_update(no_key=True).get(pk=submission.release_id)
    locked = (
        Submission.objects.select_for_update(of=("self",), no_key=True)
        .select_related("release__project", "distro", "package")
        .get(pk=submission.pk)
    )
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.decision_comment = comment.strip()
    return submission_move(
        locked, action, actor=actor, release=release, comment=locked.decision_comment
    )


@transaction.atomic
def submission_accept(*, submission: Submission, actor, comment: str = "") -> Submission:
    """Accept a passing submission: it goes into the source tarball, and the package
    it asked upstream to host is staged (the lifecycle's doing)."""
    return _decided(submission, Action.ACCEPT, actor=actor, comment=comment)


@transaction.atomic
def submission_reject(*, submission: Submission, actor, comment: str) -> Submission:
    if not comment.strip():
        raise BadInput(
            "Say why the submission is rejected; the maintainers are mailed it.", field="comment"
        )
    return _decided(submission, Action.REJECT, actor=actor, comment=comment)


@transaction.atomic
def release_remind(*, release: Release, actor, distros) -> list[Distro]:
    """Mail the maintainers of each lagging distro, at most once a day per distro.

    Only while the release takes uploads: a reminder to upload to a frozen
    release would ask for what it refuses.
    """
    refused = rules.remind_refusal(release)
    if refused:
        raise Conflict(refused)
    since = timezone.now() - REMIND_EVERY
    if release.prerelease_id:
        # A respin starts afresh: reminders of the replaced pre-release do not count.
        since = max(since, release.prerelease.created_at)
    recent = set(
        Reminder.objects.filter(release=release, sent_at__gte=since).values_list(
            "distro_id", flat=True
        )
    )
    reminded = []
    for distro in distros:
        if distro.pk in recent:
            continue
        addresses = maintainer_addresses(release.project, distro)
        if not addresses:
            continue
        Reminder.objects.create(release=release, distro=distro, sent_by=actor)
        reminded.append(distro)
    event_record(
        Event.RELEASE_REMINDED, actor=actor, target=release, distros=[d.slug for d in reminded]
    )
    return reminded
