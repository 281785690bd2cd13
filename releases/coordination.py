"""Staff services that run a release: create, accept or reject, remind, freeze,
reopen a distro, respin the pre-release. Each writes its audit event in the same
transaction and mails the people concerned once it commits."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.utils import timezone

from .errors import BadUpload, Conflict
from .models import (
    Artifact,
    Distro,
    Maintainership,
    PackageLink,
    Project,
    Release,
    Reminder,
    Submission,
)
from .notifications import mail_on_commit
from .services import artifact_create, audit_record, public_changed, release_open

REMIND_EVERY = timedelta(days=1)


def _prerelease_manifest(tarball, project: Project) -> dict:
    """Index an uploaded pre-release before it is kept: a broken one is refused at once."""
    import bundlecheck

    try:
        manifest = bundlecheck.build_manifest(
            tarball,
            policy=bundlecheck.load_policy(project.policy),
            total_size=getattr(tarball, "size", None),
        )
    except bundlecheck.ArchiveError as error:
        raise BadUpload(
            f"The pre-release tarball cannot be used: {error.message} {error.hint}", field="tarball"
        ) from None
    tarball.seek(0)
    return manifest


def maintainer_addresses(project, distro) -> list[str]:
    return list(
        Maintainership.objects.filter(
            project=project,
            distro=distro,
            state=Maintainership.State.APPROVED,
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


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
    manifest = _prerelease_manifest(tarball, project)
    artifact = artifact_create(
        kind=Artifact.Kind.PRERELEASE,
        content=tarball,
        sha256=getattr(tarball, "sha256", None),
        size=getattr(tarball, "size", None),
        original_name=getattr(tarball, "name", ""),
    )
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
        storages[artifact.storage].delete(artifact.key)
        artifact.delete()
        raise Conflict(f"{project} {version} exists already.") from None
    audit_record(actor=actor, verb="release.create", target=release)
    if open_now:
        release_open(release=release, actor=actor)
    return release


def _decidable(submission: Submission, allowed: tuple[str, ...]) -> Submission:
    release = Release.objects.select_for_update().get(pk=submission.release_id)
    if release.state not in (Release.State.PRERELEASE, Release.State.FROZEN):
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
    public_changed(locked.release.project)
    return locked


@transaction.atomic
def submission_reject(*, submission: Submission, actor, comment: str) -> Submission:
    if not comment.strip():
        raise BadUpload(
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
    if was_accepted:
        public_changed(locked.release.project)
    return locked


def _locked_release(release: Release, allowed: tuple[str, ...], action: str) -> Release:
    locked = Release.objects.select_for_update().select_related("project").get(pk=release.pk)
    if locked.state not in allowed:
        raise Conflict(f"{locked} is {locked.get_state_display()}; it cannot be {action}.")
    return locked


def _release_move(
    release: Release, *, source: str, target: str, actor, verb: str, action: str
) -> Release:
    locked = _locked_release(release, (source,), action)
    locked.state = target
    locked.save(update_fields=["state"])
    # Reopened distros belong to one freeze; either move ends it.
    locked.reopened_distros.clear()
    audit_record(actor=actor, verb=verb, target=locked)
    return locked


@transaction.atomic
def release_freeze(*, release: Release, actor) -> Release:
    """Close submissions (the deadline); staff may reopen single distros."""
    return _release_move(
        release,
        source=Release.State.PRERELEASE,
        target=Release.State.FROZEN,
        actor=actor,
        verb="release.freeze",
        action="frozen",
    )


@transaction.atomic
def release_unfreeze(*, release: Release, actor) -> Release:
    return _release_move(
        release,
        source=Release.State.FROZEN,
        target=Release.State.PRERELEASE,
        actor=actor,
        verb="release.unfreeze",
        action="reopened",
    )


@transaction.atomic
def release_reopen_distro(*, release: Release, distro: Distro, actor) -> Release:
    """Let one distro upload again while the release stays frozen for the rest."""
    locked = _locked_release(release, (Release.State.FROZEN,), "reopened for a distro")
    locked.reopened_distros.add(distro)
    audit_record(actor=actor, verb="release.reopen_distro", target=locked, distro=distro.slug)
    mail_on_commit(
        to=maintainer_addresses(locked.project, distro),
        subject=f"[{locked}] reopened for {distro} uploads",
        template="mail/reopened.txt",
        context={"release": locked, "distro": distro},
    )
    return locked


@transaction.atomic
def release_remind(*, release: Release, actor, distros) -> list[Distro]:
    """Mail the maintainers of each lagging distro, at most once a day per distro."""
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


@transaction.atomic
def release_respin(*, release: Release, actor, tarball) -> Release:
    """Replace the pre-release tarball: older submissions go stale, maintainers learn what changed."""
    locked = _locked_release(
        release, (Release.State.DRAFT, Release.State.PRERELEASE, Release.State.FROZEN), "respun"
    )
    old_manifest = locked.manifest
    manifest = _prerelease_manifest(tarball, locked.project)
    artifact = artifact_create(
        kind=Artifact.Kind.PRERELEASE,
        content=tarball,
        sha256=getattr(tarball, "sha256", None),
        size=getattr(tarball, "size", None),
        original_name=getattr(tarball, "name", ""),
    )
    stale = Submission.objects.filter(release=locked, state__in=Submission.LIVE_STATES)
    stale_ids = list(stale.values_list("pk", flat=True))
    stale.update(state=Submission.State.STALE)
    Release.objects.filter(pk=locked.pk).update(
        prerelease=artifact, manifest=manifest, replaced_manifest=old_manifest
    )
    audit_record(
        actor=actor,
        verb="release.respin",
        target=locked,
        sha256=artifact.sha256,
        stale_submissions=stale_ids,
    )
    locked.refresh_from_db()
    if locked.state in (Release.State.PRERELEASE, Release.State.FROZEN):
        # Indexing the new tarball and mailing fresh links with the changes is the
        # same delivery as at opening; every maintainer is invited to the new file.
        from .tasks import queue_on_commit, release_deliver_prerelease

        queue_on_commit(release_deliver_prerelease, locked.pk)
    public_changed(locked.project)
    return locked
