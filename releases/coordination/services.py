"""Staff services that run a release besides its lifecycle: create it, accept or
reject submissions, remind lagging maintainers. Each writes its audit event in
the same transaction and mails the people concerned once it commits."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.errors import BadInput, Conflict
from publishing.webhooks import submission_event
from releases.artifacts import artifact_discard
from releases.audit import audit_record
from releases.models import Distro, PackageLink, Project, Release, Reminder, Submission
from releases.notifications import mail_on_commit, maintainer_addresses
from releases.policies import PolicyInvalid, policy_problems, seed_version
from releases.prereleases.services import prerelease_store
from releases.public import public_changed
from releases.rules import OPEN_STATES

from .lifecycle import release_open

REMIND_EVERY = timedelta(days=1)


@transaction.atomic
def project_create(*, name: str, slug: str, homepage: str, policy_text: str, actor) -> Project:
    """A new upstream project, with version 1 of its packaging policy."""
    problems = policy_problems(policy_text, f"{slug} policy")
    if problems:
        raise PolicyInvalid(problems)
    taken = Conflict(f"A project with the short name {slug} exists already.", field="slug")
    if Project.objects.filter(slug=slug).exists():
        raise taken
    try:
        with transaction.atomic():
            project = Project.objects.create(name=name, slug=slug, homepage=homepage, policy="")
    except IntegrityError:  # the same project created twice at once
        raise taken from None
    seed_version(project, policy_text, "Written when the project was created.", author=actor)
    audit_record(actor=actor, verb="project.create", target=project)
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
) -> Release:
    """A new release with its pre-release tarball; opened at once unless asked not to."""
    if Release.objects.filter(project=project, version=version).exists():
        raise Conflict(f"{project} {version} exists already.")
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
    audit_record(actor=actor, verb="release.create", target=release)
    if open_now:
        release_open(release=release, actor=actor)
    return release


def _decidable(submission: Submission, allowed: tuple[str, ...]) -> Submission:
    release = Release.objects.select_for_update().get(pk=submission.release_id)
    if release.state not in OPEN_STATES:
        # What is accepted goes into the source tarball; once publishing
        # starts, that tarball is being (or has been) built.
        raise Conflict(
            f"{release} is {release.get_state_display()}: submissions can no "
            "longer be accepted or rejected."
        )
    locked = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("release__project", "distro", "package")
        .get(pk=submission.pk)
    )
    if locked.state not in allowed:
        raise Conflict(
            f"Submission {locked.pk} is {locked.state}; only a "
            f"{' or '.join(allowed)} submission can be decided."
        )
    return locked


def _mail_decision(submission: Submission, verb: str) -> None:
    mail_on_commit(
        to=maintainer_addresses(submission.release.project, submission.distro)
        + [submission.submitter.email],
        subject=f"[{submission.release}] {submission.distro}: submission {submission.pk} {verb}",
        template="mail/decision.txt",
        context={"submission": submission, "verb": verb},
    )


@transaction.atomic
def submission_accept(*, submission: Submission, actor, comment: str = "") -> Submission:
    locked = _decidable(submission, (Submission.State.PASSED,))
    locked.state = Submission.State.ACCEPTED
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.decision_comment = comment.strip()
    locked.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
    if locked.package_id and not PackageLink.objects.filter(staged=locked.package_id).exists():
        # Upstream hosts the package the maintainer asked it to stage.
        PackageLink.objects.create(
            release=locked.release,
            distro=locked.distro,
            staged=locked.package,
            sha256=locked.package.sha256,
            added_by=actor,
            health=PackageLink.Health.OK,
        )
    audit_record(
        actor=actor, verb="submission.accept", target=locked, comment=locked.decision_comment
    )
    _mail_decision(locked, "accepted")
    submission_event(locked, "submission.accepted", comment=locked.decision_comment)
    public_changed(locked.release.project)
    return locked


@transaction.atomic
def submission_reject(*, submission: Submission, actor, comment: str) -> Submission:
    if not comment.strip():
        raise BadInput(
            "Say why the submission is rejected; the maintainers are mailed it.", field="comment"
        )
    locked = _decidable(
        submission, (Submission.State.PASSED, Submission.State.FAILED, Submission.State.ACCEPTED)
    )
    was_accepted = locked.state == Submission.State.ACCEPTED
    if was_accepted and locked.package_id:
        # Upstream stops hosting the package it staged for this submission.
        PackageLink.objects.filter(staged=locked.package_id).delete()
    locked.state = Submission.State.REJECTED
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.decision_comment = comment.strip()
    locked.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
    audit_record(
        actor=actor, verb="submission.reject", target=locked, comment=locked.decision_comment
    )
    _mail_decision(locked, "rejected")
    submission_event(locked, "submission.rejected", comment=locked.decision_comment)
    if was_accepted:
        public_changed(locked.release.project)
    return locked


@transaction.atomic
def release_remind(*, release: Release, actor, distros) -> list[Distro]:
    """Mail the maintainers of each lagging distro, at most once a day per distro.

    Only while the release takes uploads: a reminder to upload to a frozen
    release would ask for what it refuses.
    """
    if release.state != Release.State.PRERELEASE:
        raise Conflict(
            f"{release} is {release.get_state_display()}: it takes no uploads, so there is "
            "nothing to remind anyone of. Reopen it (or the distro) first."
        )
    since = timezone.now() - REMIND_EVERY
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
        mail_on_commit(
            to=addresses,
            subject=f"[{release}] reminder: {distro} has no passing submission yet",
            template="mail/reminder.txt",
            context={"release": release, "distro": distro},
        )
        reminded.append(distro)
    audit_record(
        actor=actor, verb="release.remind", target=release, distros=[d.slug for d in reminded]
    )
    return reminded
