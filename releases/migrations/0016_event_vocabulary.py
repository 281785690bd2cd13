"""The audit's verbs become the event vocabulary's words (releases/events.py),
each row learns the project, release and distro it concerns, and the state
the sweeper used to read back from the audit is written where it belongs."""

from django.db import migrations
from django.db.models import Max
from django.utils import timezone

# Old verb -> event word. Frozen here: the vocabulary may grow, this may not.
RENAMED = {
    "account.create": "account.created",
    "account.confirm": "account.confirmed",
    "api_token.create": "api_token.created",
    "api_token.revoke": "api_token.revoked",
    "distro.create": "distro.created",
    "maintainership.request": "maintainership.requested",
    "openpgp_key.add": "openpgp_key.added",
    "openpgp_key.remove": "openpgp_key.removed",
    "package_link.add": "package_link.added",
    "package_link.recheck": "package_link.rechecked",
    "package_link.remove": "package_link.removed",
    "package_link.update": "package_link.updated",
    "profile.update": "profile.updated",
    "project.create": "project.created",
    "release.create": "release.created",
    "release.deliver_requeue": "release.delivery_requeued",
    "release.freeze": "release.frozen",
    "release.open": "release.opened",
    "release.publish": "release.publishing",
    "release.released": "release.published",
    "release.remind": "release.reminded",
    "release.reopen_distro": "release.distro_reopened",
    "release.requeue": "release.assembly_requeued",
    "release.respin": "release.respun",
    "release.unfreeze": "release.unfrozen",
    "release.withdraw": "release.withdrawn",
    "submission.accept": "submission.accepted",
    "submission.create": "submission.created",
    "submission.reject": "submission.rejected",
    "submission.requeue": "submission.requeued",
    "webhook.create": "webhook.created",
    "webhook.resend": "webhook.resent",
}


def _scope_rows(AuditEvent, model, label, scope):
    """Fill project/release/distro on the events of one kind of object."""
    ids = set(
        AuditEvent.objects.filter(object_type=label).values_list("object_id", flat=True)
    )
    numeric = [int(i) for i in ids if i.isdigit()]
    for row in model.objects.filter(pk__in=numeric).values("pk", *scope.values()):
        AuditEvent.objects.filter(object_type=label, object_id=str(row["pk"])).update(
            **{field: row[source] for field, source in scope.items()}
        )


def forward(apps, schema_editor):
    AuditEvent = apps.get_model("releases", "AuditEvent")
    Release = apps.get_model("releases", "Release")
    Submission = apps.get_model("releases", "Submission")
    for old, new in RENAMED.items():
        AuditEvent.objects.filter(verb=old).update(verb=new)
    # What was recorded before has had its mail and webhooks: nothing to dispatch.
    AuditEvent.objects.filter(dispatched_at__isnull=True).update(
        dispatched_at=timezone.now()
    )
    kinds = {
        "releases.project": ("Project", {"project_id": "pk"}),
        "releases.release": ("Release", {"project_id": "project_id", "release_id": "pk"}),
        "releases.distro": ("Distro", {"distro_id": "pk"}),
        "releases.submission": (
            "Submission",
            {"project_id": "release__project_id", "release_id": "release_id", "distro_id": "distro_id"},
        ),
        "releases.packagelink": (
            "PackageLink",
            {"project_id": "release__project_id", "release_id": "release_id", "distro_id": "distro_id"},
        ),
        "releases.maintainership": (
            "Maintainership",
            {"project_id": "project_id", "distro_id": "distro_id"},
        ),
        "releases.webhookendpoint": ("WebhookEndpoint", {"project_id": "project_id"}),
    }
    for label, (name, scope) in kinds.items():
        _scope_rows(AuditEvent, apps.get_model("releases", name), label, scope)

    def last(verbs, object_id):
        return (
            AuditEvent.objects.filter(
                object_type="releases.release", object_id=str(object_id), verb__in=verbs
            ).aggregate(at=Max("created_at"))["at"]
        )

    for release in Release.objects.all():
        release.assembly_queued_at = last(
            ("release.publishing", "release.assembly_requeued"), release.pk
        )
        release.delivery_queued_at = last(
            ("release.opened", "release.respun", "release.delivery_requeued"), release.pk
        )
        freezes = AuditEvent.objects.filter(
            object_type="releases.release", object_id=str(release.pk), verb="release.frozen"
        )
        if freezes.filter(actor__isnull=True).exists():
            # The sweeper froze it at its deadline once: that deadline is spent.
            release.deadline_frozen_at = release.submission_deadline
        if release.state == "frozen":
            newest = freezes.order_by("-created_at").first()
            by_sweeper = newest is not None and newest.actor_id is None
            release.frozen_reason = "deadline" if by_sweeper else "staff"
        release.save(
            update_fields=[
                "assembly_queued_at",
                "delivery_queued_at",
                "deadline_frozen_at",
                "frozen_reason",
            ]
        )
    for submission in Submission.objects.filter(state__in=("received", "verifying")):
        submission.queued_at = (
            last_submission(AuditEvent, submission.pk) or submission.created_at
        )
        submission.stalls = AuditEvent.objects.filter(
            object_type="releases.submission",
            object_id=str(submission.pk),
            verb="submission.requeued",
            detail__reason="verification stalled",
        ).count()
        submission.save(update_fields=["queued_at", "stalls"])


def last_submission(AuditEvent, pk):
    return AuditEvent.objects.filter(
        object_type="releases.submission", object_id=str(pk), verb="submission.requeued"
    ).aggregate(at=Max("created_at"))["at"]


def backward(apps, schema_editor):
    AuditEvent = apps.get_model("releases", "AuditEvent")
    for old, new in RENAMED.items():
        AuditEvent.objects.filter(verb=new).update(verb=old)


class Migration(migrations.Migration):
    dependencies = [("releases", "0015_events_and_lifecycle_state")]

    operations = [migrations.RunPython(forward, backward)]
