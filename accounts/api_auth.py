"""API tokens for django-ninja: `Authorization: Token <key>`.

The key is checked by `accounts.backends.ApiTokenBackend` through Django's
`authenticate()`, so the API's routers (in `releases`) never import this app.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from ninja.security import APIKeyHeader


class TokenAuth(APIKeyHeader):
    """The API's one authentication: a token made on the profile page."""

    param_name = "Authorization"
    openapi_description = "`Token <key>`; keys are made on the profile page."

    def authenticate(self, request, key):
        scheme, _, value = (key or "").partition(" ")
        if scheme != "Token" or not value.strip():
            return None
        user = authenticate(request, api_token=value.strip())
        if user is not None:
            request.user = user
        return user
