from django.db import models


class WorkerPing(models.Model):
    """One round trip through the task queue: queued by the web, answered by a worker.

    The status page shows the latest one, so staff can tell at a glance
    whether verification and publishing will actually run.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ping {self.pk} ({'answered' if self.answered_at else 'waiting'})"

    @property
    def round_trip_seconds(self) -> float | None:
        if self.answered_at is None:
            return None
        return (self.answered_at - self.created_at).total_seconds()


class Profile(models.Model):
    """What a person chooses to be called in public: the download page credits this name."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="Shown on the public download page, e.g. “Packaged for Ubuntu by …”.",
    )

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


def credit_name(user) -> str:
    """The name the portal credits a person with in public."""
    profile = getattr(user, "profile", None)
    if profile is not None and profile.display_name:
        return profile.display_name
    return user.get_full_name() or user.get_username()
