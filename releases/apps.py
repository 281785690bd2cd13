from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Releases"

    def ready(self) -> None:
        # The domain's own reactions to its events (mail).
        from . import subscribers  # noqa: F401
        from .ledger import subscribers as ledger_subscribers  # noqa: F401
        from .repositories import subscribers as repositories_subscribers  # noqa: F401
