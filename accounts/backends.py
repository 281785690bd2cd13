"""API tokens as a Django authentication backend.

The API asks `django.contrib.auth.authenticate(request, api_token=key)`, the
same interface as a password log-in, so it never needs to know how tokens
are kept.
"""

from __future__ import annotations

from .models import ApiToken


class ApiTokenBackend:
    def authenticate(self, request, api_token: str | None = None, **credentials):
        if not api_token:
            return None
        return ApiToken.authenticate(api_token)

    def get_user(self, user_id):
        # Tokens authenticate one request at a time; sessions use ModelBackend.
        return None
