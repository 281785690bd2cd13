"""What the domain does after its events commit: the mail each person is owed.

Registered by `ReleasesConfig.ready()`. Each subscriber reads the event's
object as it is now and mails the people concerned with the template named
after the event (`releases.notifications.mail_event`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from .events import Event, subscribe
from .models import AuditEvent, Distro, DistroRepository, Release, Submission
from .notifications import (
    mail_event,
    maintainer_addresses,
    site_admin_addresses,
    staff_addresses,
)
from .policies import rules_for
from .prereleases.services import changes_for_distros, prerelease_changes, prerelease_link
from .rules import distro_standing, next_step
from .sourceproof.selectors import latest_proof, proof_sentence


def _url(name: str, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


@subscribe(Event.MAINTAINERSHIP_REQUESTED)
def maintainership_requested(record: AuditEvent) -> None:
    claim = record.target()
    if claim is not None:
        mail_event(record, to=staff_addresses(claim.project), claim=claim)


@subscribe(Event.PROJECT_REQUESTED)
def project_requested(record: AuditEvent) -> None:
    asked = record.target()
    if asked is not None:
        mail_event(record, to=site_admin_addresses(), asked=asked)


@subscribe(
    Event.MAINTAINERSHIP_APPROVED, Event.MAINTAINERSHIP_DECLINED, Event.MAINTAINERSHIP_REVOKED
)
def maintainership_decided(record: AuditEvent) -> None:
    claim = record.target()
    if claim is not None:
        mail_event(record, to=[claim.user.email], claim=claim)


@subscribe(Event.PRERELEASE_INVITED)
def prerelease_invited(record: AuditEvent) -> None:
    release = record.target()
    user = get_user_model().objects.filter(pk=record.detail.get("user")).first()
    if release is None or user is None or not release.prerelease_id:
        return
    distros = list(
        user.maintainerships.filter(project=release.project_id, state="approved").values_list(
            "distro__slug", flat=True
        )
    )
    policy = rules_for(release.project)
    mail_event(
        record,
        to=[user.email],
        release=release,
        user=user,
        distros=distros,
        # Where their work goes, from the project's policy.
        own_roots=[r for slug in distros or ["<your distro>"] for r in policy.roots_for(slug)],
        changes=changes_for_distros(
            prerelease_changes(release), list(policy.contribution_roots), distros
        ),
        accepting=release.state == Release.State.PRERELEASE,
        link=prerelease_link(release=release, user=user),
        days=settings.PRERELEASE_LINK_DAYS,
        source_proof=proof_sentence(latest_proof(release)),
    )


@subscribe(Event.SOURCE_PROOF_DONE)
def source_tag_moved(record: AuditEvent) -> None:
    """A tag that names another commit than at the previous pre-release: the maintainers
    who read the repository at the earlier commit are told."""
    proof = record.target()
    if proof is None or not proof.moved_from:
        return
    release = proof.release
    mail_event(
        record,
        to=maintainer_addresses(release.project),
        release=release,
        proof=proof,
        sentence=proof_sentence(proof),
    )


@subscribe(Event.RELEASE_DISTRO_REOPENED)
def distro_reopened(record: AuditEvent) -> None:
    release = record.target()
    distro = Distro.objects.filter(slug=record.detail.get("distro")).first()
    if release is not None and distro is not None:
        mail_event(
            record,
            to=maintainer_addresses(release.project, distro),
            release=release,
            distro=distro,
        )


@subscribe(Event.RELEASE_REMINDED)
def reminded(record: AuditEvent) -> None:
    release = record.target()
    if release is None:
        return
    for distro in Distro.objects.filter(slug__in=record.detail.get("distros", [])):
        live = (
            Submission.objects.filter(
                release=release, distro=distro, state__in=Submission.LIVE_STATES
            )
            .order_by("-created_at")
            .values_list("state", flat=True)
            .first()
        )
        behind = DistroRepository.objects.filter(
            project=release.project, distro=distro, status__in=("outdated", "legacy")
        ).exclude(version="").order_by("branch")
        mail_event(
            record,
            to=maintainer_addresses(release.project, distro),
            release=release,
            distro=distro,
            standing=distro_standing(live),
            still_shows=[f"{r.branch} still shows {r.version} ({r.status})" for r in behind],
            url=_url("release-distro", release.project.slug, release.version, distro.slug),
        )


@subscribe(Event.SUBMISSION_VERIFIED)
def verified(record: AuditEvent) -> None:
    submission = record.target()
    if submission is None:
        return
    verdict = record.detail.get("state", submission.state)
    mail_event(
        record,
        to=[submission.submitter.email],
        submission=submission,
        verdict=verdict,
        errors=record.detail.get("errors", 0),
        warnings=record.detail.get("warnings", 0),
        url=_url("submission-detail", submission.pk),
        next_step=next_step(verdict),
    )


def _concerned(submission) -> list[str]:
    """The submitter and the distro's maintainers."""
    return [submission.submitter.email] + maintainer_addresses(
        submission.release.project, submission.distro
    )


@subscribe(Event.SUBMISSION_REVERIFIED)
def reverified(record: AuditEvent) -> None:
    if not record.detail.get("verdict_changed"):
        return
    submission = record.target()
    if submission is None:
        return
    after = record.detail.get("state", submission.state)
    mail_event(
        record,
        to=_concerned(submission),
        submission=submission,
        version=record.detail.get("policy_version"),
        note=record.detail.get("policy_note", ""),
        was=record.detail.get("was"),
        now=after,
        appeared=record.detail.get("appeared", []),
        went=record.detail.get("went", []),
        url=_url("submission-detail", submission.pk),
        next_step=next_step(after),
    )


@subscribe(Event.SUBMISSION_ACCEPTED, Event.SUBMISSION_REJECTED)
def decided(record: AuditEvent) -> None:
    submission = record.target()
    if submission is not None:
        mail_event(
            record,
            to=_concerned(submission),
            submission=submission,
            comment=record.detail.get("comment", ""),
            url=_url("submission-detail", submission.pk),
        )


@subscribe(Event.PACKAGE_LINK_BROKEN)
def link_broken(record: AuditEvent) -> None:
    link = record.target()
    if link is not None:
        mail_event(
            record,
            to=maintainer_addresses(link.release.project, link.distro),
            link=link,
            release=link.release,
            distro=link.distro,
            url=_url(
                "release-distro", link.release.project.slug, link.release.version, link.distro.slug
            ),
        )
