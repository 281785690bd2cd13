from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People: sign-up, log-in, profile, API tokens."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # The mail that follows sign-up.
        from . import subscribers  # noqa: F401
