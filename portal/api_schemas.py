"""What every API answer shares: the error body and the statuses that carry it.

The routers in the apps import this; it knows nothing of them.
"""

from __future__ import annotations

from ninja import Schema

ERROR_STATUSES = {
    400: "bad input: a missing or invalid field, a refused file",
    401: "no valid token: `Authorization: Token <key>`",
    403: "the token's user may not do this",
    404: "nothing of that name that the token's user can see",
    409: "the release's state does not allow it now; the error says why",
    413: "the upload is larger than the limit",
    429: "too many requests; see Retry-After",
}


class ErrorOut(Schema):
    error: str


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The `response=` entries of an operation's error statuses."""
    unknown = set(statuses) - set(ERROR_STATUSES)
    assert not unknown, unknown
    return {status: ErrorOut for status in statuses}


def multipart_body(required: list[str], properties: dict) -> dict:
    """`openapi_extra` for a route that streams its multipart body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": required, "properties": properties}
                }
            },
        }
    }
