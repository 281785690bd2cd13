"""The maintainer's status line: where their distro stands, what changed since they
last looked, and the one thing to do next, from the lifecycles and the events."""

from __future__ import annotations

from releases.events import Event
from releases.models import Release, Submission
from releases.rules import next_step

from . import selectors

_DONE_AT = {
    # How far each live submission state has come along the steps.
    None: 2,
    Submission.State.RECEIVED: 3,
    Submission.State.VERIFYING: 3,
    Submission.State.FAILED: 3,
    Submission.State.REJECTED: 4,
    Submission.State.PASSED: 4,
    Submission.State.ACCEPTED: 5,
}


def _reached(context: dict, release: Release) -> int:
    """How many steps are done (0-6)."""
    live = context["live"]
    if release.state in (Release.State.RELEASED, Release.State.WITHDRAWN) and live and (
        live.state == Submission.State.ACCEPTED
    ):
        return 6
    if live is not None:
        return _DONE_AT.get(live.state, 3)
    return 2 if context["downloaded"] else 1


def _trouble(context: dict) -> str | None:
    live = context["live"]
    if live is not None and live.state in (Submission.State.FAILED, Submission.State.REJECTED):
        return live.state
    return None


def next_action(context: dict, release: Release) -> str:
    """The one thing the maintainer should do now."""
    live = context["live"]
    if release.state == Release.State.RELEASED:
        return (
            "Nothing more: the release is out and its download page credits your work."
            if live and live.state == Submission.State.ACCEPTED
            else "The release is out without your distro's packaging; it can join the next one."
        )
    if release.state == Release.State.WITHDRAWN:
        return "The release was withdrawn; wait for the release team's next pre-release."
    if live is not None and live.state != Submission.State.REJECTED:
        if live.state == Submission.State.FAILED and context["closed_reason"]:
            return f"Your last upload failed, and {context['closed_reason'][0].lower()}" + (
                context["closed_reason"][1:]
            )
        return next_step(live.state)
    if context["closed_reason"]:
        return context["closed_reason"]
    if live is not None:  # rejected
        return next_step(live.state)
    if not context["downloaded"]:
        return "Download the pre-release tarball below, then add your packaging under your roots."
    return "Upload your revised source package, or just your distro's bundle, below."


def _news_line(event) -> str:
    who = event.actor.get_username() if event.actor else "The portal"
    words = Event(event.verb).sentence if event.verb in Event._value2member_map_ else event.verb
    when = event.created_at.strftime("%Y-%m-%d %H:%M UTC")
    detail = event.detail or {}
    extra = ""
    if event.verb == Event.RELEASE_RESPUN:
        extra = ": download it again and upload against the new one"
    elif event.verb == Event.POLICY_SAVED and detail.get("version"):
        extra = f" (version {detail['version']}): your submission may be judged again"
    elif event.verb == Event.SUBMISSION_REVERIFIED and detail.get("state"):
        extra = f": the verdict is now {detail['state']}"
    elif detail.get("comment"):
        extra = f": “{detail['comment']}”"
    elif detail.get("reason"):
        extra = f": {detail['reason']}"
    return f"{when}: {who} {words}{extra}."


def distro_status(context: dict, release: Release, news) -> dict:
    """The status line's three answers."""
    reached = _reached(context, release)
    trouble = _trouble(context)
    steps = []
    for index, (key, label) in enumerate(selectors.STEPS):
        if index < reached:
            state = "done"
        elif index == reached:
            state = "bad" if trouble and key in ("verified", "accepted") else "current"
        else:
            state = "todo"
        steps.append({"key": key, "label": label, "state": state})
    return {
        "steps": steps,
        "news": [_news_line(event) for event in news],
        "next": next_action(context, release),
    }
