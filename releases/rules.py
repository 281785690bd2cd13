"""Pure rules of the domain: what a release allows, read by services and pages alike."""

from __future__ import annotations

from .models import Distro, Release

# The states in which a release collects submissions and decisions.
OPEN_STATES = (Release.State.PRERELEASE, Release.State.FROZEN)

_CLOSED_REASONS = {
    Release.State.DRAFT: "the release is not open for submissions yet",
    Release.State.PUBLISHING: "the release is being published",
    Release.State.RELEASED: "the release is already published",
    Release.State.WITHDRAWN: "the release was withdrawn",
}


def frozen_reason(release: Release) -> str:
    """Why a frozen release is frozen, in the maintainer's words (never a guess)."""
    why = {
        Release.FreezeReason.DEADLINE: "its submission deadline has passed",
        Release.FreezeReason.STAFF: "the release team froze it",
    }.get(release.frozen_reason, "it takes no more uploads for now")
    return f"the release is frozen: {why}; ask the release manager to reopen it for your distro"


def upload_refusal(release: Release, distro: Distro) -> str | None:
    """Why `release` takes no upload for `distro` now, or None when it does."""
    if release.state == Release.State.PRERELEASE:
        return None
    if (
        release.state == Release.State.FROZEN
        and release.reopened_distros.filter(pk=distro.pk).exists()
    ):
        return None
    reason = (
        frozen_reason(release)
        if release.state == Release.State.FROZEN
        else _CLOSED_REASONS[release.state]
    )
    return f"{release} takes no uploads for {distro}: {reason}."


def dates_refusal(deadline, release_date) -> str | None:
    """Why a release's dates cannot stand: submissions must close before the release."""
    if deadline is not None and release_date is not None and deadline >= release_date:
        return (
            f"The submission deadline ({deadline:%Y-%m-%d %H:%M} UTC) must come before the "
            f"release date ({release_date:%Y-%m-%d %H:%M} UTC): the distros' work goes into "
            "the released tarball. Move the deadline earlier or the release later."
        )
    return None


_STANDING = {
    None: "has no submission yet",
    "received": "has a submission waiting for verification",
    "verifying": "has a submission being verified",
    "failed": "has a submission that failed verification: read its report and upload a fixed one",
    "rejected": "had its submission rejected by the release team: read their comment and upload "
    "a revised one",
    "passed": "has a passing submission waiting for the release team",
    "accepted": "has an accepted submission",
}


def distro_standing(state: str | None) -> str:
    """Where a distro's work stands for a release, from its live submission's state."""
    return _STANDING.get(state, "has a submission")


def remind_refusal(release: Release) -> str | None:
    """Why maintainers cannot be reminded to upload now: only while the release takes
    uploads, since a reminder to upload to a frozen release would ask for what it refuses."""
    if release.state != Release.State.PRERELEASE:
        return (
            f"{release} is {release.get_state_display()}: it takes no uploads, so there is "
            "nothing to remind anyone of. Reopen it (or the distro) first."
        )
    return None


def links_refusal(release: Release) -> str | None:
    """Why a distro's package links cannot be changed now, or None when they can."""
    if release.state in (Release.State.DRAFT, *OPEN_STATES):
        return None
    return (
        f"{release} is {release.get_state_display()}: its package links are fixed now. "
        "Ask the release manager if a link must change."
    )


# What happens next, for the maintainer reading a submission in each state.
NEXT_STEPS = {
    "received": "Waiting for a worker to verify it; this page updates by itself.",
    "verifying": "Being verified against the packaging guide; this page updates by itself.",
    "passed": "Passed: waiting for the release team's review. You are mailed their decision.",
    "failed": "Failed: fix what the errors below say, then upload again on your distro's page.",
    "accepted": "Accepted: it goes into the release's source tarball when the release is published.",
    "rejected": "Rejected: read the release team's reason, fix it, then upload again.",
    "superseded": "Superseded by a newer upload of your distro; that one counts now.",
    "stale": "Stale: the pre-release tarball was replaced. Download the new one and upload again.",
}


def next_step(state: str) -> str:
    return NEXT_STEPS.get(state, "")
