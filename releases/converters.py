"""The shapes of the values the portal's addresses carry, as path converters:
a value of another shape matches no route (under /api/ a JSON 404), and the
API's description states the same patterns."""

from __future__ import annotations

from django.urls import register_converter

# Django's own `slug` converter: projects and distros are named by these.
SLUG_PATTERN = r"[-a-zA-Z0-9_]+"
# A release's version: what `Release.version` accepts, at most 50 characters.
VERSION_PATTERN = r"[0-9A-Za-z][0-9A-Za-z.+~_-]{0,49}"


class VersionConverter:
    regex = VERSION_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(VersionConverter, "version")
