"""Verification: a worker claims a received submission, streams it back from
storage through bundlecheck, and saves its findings and verdict, once."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time

import bundlecheck
from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from portal import openpgp
from portal.errors import BadInput, Conflict
from releases.artifacts import artifact_open
from releases.events import Event, event_record
from releases.models import (
    Artifact,
    Finding,
    PolicyVersion,
    Project,
    Release,
    Reverification,
    ReverificationItem,
    Submission,
)
from releases.policies import (
    PolicyInvalid,
    current_version,
    policy_problems,
    rules_of,
    text_sha256,
    version_in_force,
)
from releases.prereleases.services import release_index
from releases.submission_lifecycle import (
    Action,
    submission_claim,
    submission_move,
    submission_requeue,
)

from .tasks import submission_reverify_task


class _ProgressWriter:
    """Saves verification progress, a few times a second at most, so pages can show it."""

    def __init__(self, submission_id: int, start: int, span: int):
        self.submission_id, self.start, self.span = submission_id, start, span
        self.last_percent, self.last_time = -1, 0.0

    def __call__(self, done: int, total: int | None) -> None:
        if not total:
            return
        percent = self.start + min(self.span, self.span * done // total)
        now = time.monotonic()
        if percent > self.last_percent and (now - self.last_time > 0.3 or percent == 100):
            Submission.objects.filter(
                pk=self.submission_id, state=Submission.State.VERIFYING, progress__lt=percent
            ).update(progress=min(percent, 99))
            self.last_percent, self.last_time = percent, now


def _verify_artifact(
    artifact: Artifact, *, submission: Submission, rules, reference, progress, **extra
):
    # S3 streams from the object's body as it arrives (resuming a cut read);
    # local storage opens the file.
    with artifact_open(artifact) as stored:
        return bundlecheck.verify(
            stored,
            distro=submission.distro.slug,
            policy=rules,
            reference=reference,
            progress=progress,
            total_size=artifact.size,
            filename=artifact.original_name or None,
            **extra,
        )


def submission_verify(*, submission_id: int) -> Submission | None:
    """Claim a received submission, stream it through the engine, save findings and verdict.

    The claim is a conditional update, so a second delivery of the same task
    finds nothing to do.
    """
    if not submission_claim(submission_id=submission_id):
        return None
    submission = Submission.objects.select_related(
        "release__project", "release__prerelease", "distro", "artifact", "package", "submitter"
    ).get(pk=submission_id)
    version = version_in_force(submission.release.project)
    reports = _judge(submission, version, progress=True)
    return submission_verdict_save(submission_id=submission_id, reports=reports, policy=version)


def _judge(submission: Submission, version: PolicyVersion, *, progress: bool) -> list:
    """The reports on a submission's bundle, package and signature, by one policy version."""
    rules = rules_of(version)
    submission_id = submission.pk
    reference = release_index(release=submission.release) if submission.release.prerelease else None
    sizes = [submission.artifact.size, submission.package.size if submission.package else 0]
    bundle_span = 100 * sizes[0] // max(1, sum(sizes))
    bundle = _verify_artifact(
        submission.artifact,
        submission=submission,
        rules=rules,
        reference=reference,
        progress=_ProgressWriter(submission_id, 0, bundle_span) if progress else None,
    )
    reports = [(Finding.Subject.BUNDLE, bundle)]
    if submission.package:
        reports.append(
            (
                Finding.Subject.PACKAGE,
                _verify_artifact(
                    submission.package,
                    submission=submission,
                    rules=rules,
                    reference=None,
                    progress=_ProgressWriter(submission_id, bundle_span, 100 - bundle_span)
                    if progress
                    else None,
                    # The bundle's overrides, from the engine's one bounded pass over it.
                    rpmlintrc=bundle.rpmlintrc,
                ),
            )
        )
    reports.append((Finding.Subject.BUNDLE, signature_report(submission)))
    return reports


SIGN_HINT = (
    "Sign the file you upload with a key on your profile: gpg --armor --detach-sign "
    "bundle.tar.gz, then send bundle.tar.gz.asc with it."
)


def signature_report(submission) -> bundlecheck.Report:
    """Who signed the upload, checked in a GNUPGHOME holding only the submitter's keys."""
    report = bundlecheck.Report()
    name = submission.artifact.original_name or "the upload"
    if not submission.signature:
        if submission.release.project.require_signed_uploads:
            report.findings.append(
                bundlecheck.Finding(
                    "upload-unsigned",
                    "error",
                    None,
                    f"{submission.release.project} takes signed uploads only; {name} came "
                    "without a signature.",
                    SIGN_HINT,
                )
            )
        return report
    keys = list(submission.submitter.openpgp_keys.values_list("armor", flat=True))
    with _local_copy(submission.artifact) as path:
        check = openpgp.signature_verify(
            path, submission.signature.encode("ascii", "replace"), keys
        )
    if check.valid:
        uid = (
            submission.submitter.openpgp_keys.filter(fingerprint=check.fingerprint)
            .values_list("uid", flat=True)
            .first()
        )
        report.findings.append(
            bundlecheck.Finding(
                "upload-signed",
                "info",
                None,
                f"{name} is signed by {check.fingerprint}"
                + (f" ({uid})" if uid else f" ({submission.submitter.get_username()})"),
                "",
            )
        )
    else:
        report.findings.append(
            bundlecheck.Finding(
                "upload-signature-bad",
                "error",
                None,
                f"The signature sent with {name} does not verify: {check.reason}.",
                SIGN_HINT + " Add the key to your profile first if it is not there.",
            )
        )
    return report


@contextlib.contextmanager
def _local_copy(artifact):
    """A path to the stored file, copying it from remote storage only when it must."""
    storage = storages[artifact.storage]
    try:
        local = storage.path(artifact.key)
    except NotImplementedError:
        local = None
    if local is not None:
        yield local
        return
    with tempfile.NamedTemporaryFile() as copy, storage.open(artifact.key, "rb") as stored:
        shutil.copyfileobj(stored, copy, 1024 * 1024)
        copy.flush()
        yield copy.name


@transaction.atomic
def submission_verdict_save(
    *, submission_id: int, reports, error: str = "", policy: PolicyVersion | None = None
) -> Submission | None:
    """Replace the findings and set the verdict, once, for a submission being verified."""
    submission = (
        Submission.objects.select_for_update(no_key=True)
        .select_related("release__project", "distro", "submitter")
        .filter(pk=submission_id, state=Submission.State.VERIFYING)
        .first()
    )
    if submission is None:
        return None
    findings, failed = _findings_replace(submission, reports, error)
    submission.progress = 100
    submission.error = error
    submission.verified_at = timezone.now()
    submission.checked_with = _checked_with(reports)
    submission.policy_version = policy
    return submission_move(
        submission,
        Action.FAIL if failed else Action.PASS,
        actor=None,
        findings=len(findings),
        errors=sum(f.severity == Finding.Severity.ERROR for f in findings),
        warnings=sum(f.severity == Finding.Severity.WARNING for f in findings),
        policy_version=policy.number if policy else None,
    )


def _checked_with(reports) -> dict[str, str]:
    """The outside checkers that ran, with their version lines, from the reports."""
    return {
        name: line for _, report in reports for name, line in getattr(report, "tools", {}).items()
    }


def _findings_replace(submission: Submission, reports, error: str) -> tuple[list[Finding], bool]:
    """Replace the submission's findings with the reports' (capped); whether any is an
    error. Sets `findings_omitted` on the instance, for the caller to save."""
    submission.findings.all().delete()
    findings = [
        Finding(
            submission=submission,
            subject=subject,
            check_id=f.check,
            severity=f.severity,
            path=f.path,
            message=f.message,
            hint=f.hint,
            url=getattr(f, "url", "")[:500],
        )
        for subject, report in reports
        for f in report.findings
    ]
    failed = bool(error) or any(f.severity == Finding.Severity.ERROR for f in findings)
    omitted = sum(getattr(report, "omitted", 0) for _, report in reports)
    findings, dropped = _capped(findings, settings.FINDINGS_PER_SUBMISSION)
    Finding.objects.bulk_create(findings, batch_size=500)
    submission.findings_omitted = omitted + dropped
    return findings, failed


def _capped(findings: list[Finding], cap: int) -> tuple[list[Finding], int]:
    """At most `cap` findings, errors first; and how many were left out."""
    if len(findings) <= cap:
        return findings, 0
    rank = {Finding.Severity.ERROR: 0, Finding.Severity.WARNING: 1}
    kept = sorted(findings, key=lambda f: rank.get(f.severity, 2))[:cap]
    return kept, len(findings) - cap


def submission_fail(*, submission_id: int, error: str) -> Submission | None:
    """Verification could not finish (time limit, unreadable storage): say so, once."""
    return submission_verdict_save(submission_id=submission_id, reports=[], error=error)


def submission_release_claim(*, submission_id: int) -> None:
    """Hand a submission back to `received` so that the task's own retry can claim it again."""
    submission_requeue(submission_id=submission_id, reason="retry after a storage error")


# --- the project's policy: saving a version, and judging again by it -----------

# A verdict staff or the maintainer rely on: what a change of rules may flip.
REVERIFIABLE_STATES = (Submission.State.PASSED, Submission.State.FAILED, Submission.State.ACCEPTED)
# Releases whose submissions are still being judged and decided.
OPEN_RELEASE_STATES = (Release.State.PRERELEASE, Release.State.FROZEN)


class PolicyChanged(Conflict):
    """Someone saved a newer version since the editor opened the one it changes."""

    def __init__(self, current: PolicyVersion, base_number: int):
        who = current.author.get_username() if current.author else "the portal"
        super().__init__(
            f"The policy changed while you edited it: {who} saved version {current.number} "
            f"at {timezone.localtime(current.created_at):%Y-%m-%d %H:%M} (you started from "
            f"version {base_number}). Nothing was saved; your text is kept below, beside what "
            "changed. Merge the two and review again.",
            field="text",
        )
        self.current = current


def reverifiable_submissions(project: Project):
    """The live submissions a new policy version would judge again."""
    return Submission.objects.filter(
        release__project=project,
        release__state__in=OPEN_RELEASE_STATES,
        state__in=REVERIFIABLE_STATES,
    ).select_related("release", "distro")


def policy_version_save(
    *, project: Project, text: str, note: str, author, base_number: int, reverify: bool
) -> tuple[PolicyVersion, Reverification | None]:
    """Save policy text as the project's next version, if it is valid and nobody saved
    another version since `base_number`; optionally judge the live submissions again."""
    problems = policy_problems(text, f"{project.slug} policy")
    if problems:
        raise PolicyInvalid(problems)
    with transaction.atomic():
        Project.objects.select_for_update(no_key=True).get(pk=project.pk)
        current = current_version(project)
        if current.number != base_number:
            raise PolicyChanged(current, base_number)
        if current.text == text:
            raise BadInput(
                f"This is the text of version {current.number} already: nothing to save.",
                field="text",
            )
        version = PolicyVersion.objects.create(
            project=project,
            number=current.number + 1,
            text=text,
            sha256=text_sha256(text),
            note=note,
            author=author,
        )
        event_record(
            Event.POLICY_SAVED,
            actor=author,
            target=project,
            version=version.number,
            sha256=version.sha256,
            note=note,
            previous=current.number,
        )
        reverification = reverification_start(version=version, actor=author) if reverify else None
    return version, reverification


def reverification_start(*, version: PolicyVersion, actor) -> Reverification | None:
    """A task per live submission of the project's open releases, judged by `version`."""
    submissions = list(reverifiable_submissions(version.project))
    if not submissions:
        return None
    reverification = Reverification.objects.create(policy_version=version, started_by=actor)
    items = ReverificationItem.objects.bulk_create(
        ReverificationItem(
            reverification=reverification, submission=submission, verdict_before=submission.state
        )
        for submission in submissions
    )
    event_record(
        Event.POLICY_REVERIFICATION_STARTED,
        actor=actor,
        target=version.project,
        version=version.number,
        submissions=len(items),
    )
    for item in items:
        submission_reverify_task.delay(item.pk)
    return reverification


def _passes(state: str) -> bool:
    return state in (Submission.State.PASSED, Submission.State.ACCEPTED)


def submission_reverify(*, item_id: int) -> str:
    """Judge one submission again by the re-verification's policy version; once.

    Passed and failed submissions take the new verdict. An accepted submission
    that now fails goes back to failed: what the release tarball takes must
    pass the rules in force. Its maintainers are mailed when the verdict
    changes, with the problems that appeared and those that went away.
    """
    item = ReverificationItem.objects.select_related("reverification__policy_version__project").get(
        pk=item_id
    )
    if item.done_at is not None:
        return "done already"
    version = item.reverification.policy_version
    submission = Submission.objects.select_related(
        "release__project", "release__prerelease", "distro", "artifact", "package", "submitter"
    ).get(pk=item.submission_id)
    if skipped := _reverify_skip(submission, version):
        reverify_item_close(item_id=item.pk, outcome=skipped)
        return f"skipped: {skipped}"
    before = _problem_lines(submission)
    reports = _judge(submission, version, progress=False)
    with transaction.atomic():
        # The release first, as a publish locks it: a release published meanwhile
        # keeps the verdicts it was published with.
        Release.objects.select_for_update(no_key=True).get(pk=submission.release_id)
        submission = (
            Submission.objects.select_for_update(no_key=True)
            .select_related("release__project", "distro", "submitter", "artifact")
            .get(pk=submission.pk)
        )
        claimed = ReverificationItem.objects.filter(pk=item.pk, done_at__isnull=True).update(
            done_at=timezone.now()
        )
        if not claimed:
            return "done already"
        if skipped := _reverify_skip(submission, version):
            ReverificationItem.objects.filter(pk=item.pk).update(verdict_after=skipped)
            return f"skipped: {skipped}"
        was = submission.state
        findings, failed = _findings_replace(submission, reports, "")
        submission.policy_version = version
        submission.verified_at = timezone.now()
        submission.checked_with = _checked_with(reports)
        after = _problem_lines(submission)
        submission_move(
            submission,
            Action.REVERIFY_FAIL if failed else Action.REVERIFY_PASS,
            actor=None,
            policy_version=version.number,
            policy_note=version.note,
            verdict_changed=_passes(was) != (not failed),
            appeared=_listed(after - before),
            went=_listed(before - after),
        )
        ReverificationItem.objects.filter(pk=item.pk).update(verdict_after=submission.state)
    return f"{was} -> {submission.state}"


# The problems a re-verification mail lists, at most: the report has them all.
LISTED_PROBLEMS = 50


def _listed(lines: set[str]) -> list[str]:
    ordered = sorted(lines)
    if len(ordered) <= LISTED_PROBLEMS:
        return ordered
    rest = len(ordered) - LISTED_PROBLEMS
    return [*ordered[:LISTED_PROBLEMS], f"... and {rest} more: see the report"]


def _reverify_skip(submission: Submission, version: PolicyVersion) -> str | None:
    """Why a submission is not judged again by `version`, if it is not: decided,
    replaced or withdrawn meanwhile (its state), its bytes removed by retention, its
    release no longer open, or a newer version saved since (whose own
    re-verification judges it)."""
    if submission.state not in REVERIFIABLE_STATES:
        return submission.state
    if submission.artifact.removed_at:
        return "removed"
    if submission.release.state not in OPEN_RELEASE_STATES:
        return "closed"
    if current_version(submission.release.project).number != version.number:
        return "outdated"
    return None


def reverify_item_close(*, item_id: int, outcome: str) -> bool:
    """Mark an item done without a new verdict (skipped, or the work failed); once."""
    return bool(
        ReverificationItem.objects.filter(pk=item_id, done_at__isnull=True).update(
            verdict_after=outcome[:16], done_at=timezone.now()
        )
    )


def _problem_lines(submission: Submission) -> set[str]:
    """The submission's errors and warnings, one line each, to compare two verdicts."""
    return {
        f"{severity}: {check_id}" + (f" ({path})" if path else "") + f": {message}"
        for severity, check_id, path, message in submission.findings.filter(
            severity__in=(Finding.Severity.ERROR, Finding.Severity.WARNING)
        ).values_list("severity", "check_id", "path", "message")
    }
