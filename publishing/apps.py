from django.apps import AppConfig


class PublishingConfig(AppConfig):
    """The public side: merged tarball, public page, feed and JSON, link health.

    It has no models of its own: what it publishes is recorded by `releases`.
    """

    name = "publishing"
    verbose_name = "Publishing"

    def ready(self) -> None:
        # Webhooks, the public page and the assembly queue follow the domain's
        # events; stale pages and half-written files are part of every sweep.
        from . import subscribers, sweeper  # noqa: F401
