from django.apps import AppConfig


class PublishingConfig(AppConfig):
    """The public side: merged tarball, public page, feed and JSON, link health.

    It has no models of its own: what it publishes is recorded by `releases`.
    """

    name = "publishing"
    verbose_name = "Publishing"
