from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The Django project itself. It has no models any more: its migrations
    keep the history of the tables that `accounts` and `releases` took over."""

    name = "portal"
    verbose_name = "Portal"
