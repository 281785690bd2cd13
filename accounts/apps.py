from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People: sign-up, log-in, profile, API tokens."""

    name = "accounts"
    verbose_name = "Accounts"
