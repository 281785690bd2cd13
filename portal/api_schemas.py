"""What every API answer shares: the error body and the statuses that carry it,
and the description of a multipart body (its fields and the file names taken).

The routers in the apps import this; it knows nothing of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar, get_origin

from ninja import Schema
from pydantic import BaseModel, ValidationError

from .errors import BadInput

M = TypeVar("M", bound=BaseModel)

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


# What each pattern the API declares means, said to the person whose value missed it.
PATTERN_PROBLEMS: dict[str, str] = {}


def pattern(regex: str, problem: str) -> str:
    """A pattern a schema declares and the server holds values to (pydantic checks it
    with the same kind of engine as JSON Schema's), with its sentence when missed."""
    PATTERN_PROBLEMS[regex] = problem
    return regex


def invalid_value(error: dict) -> str:
    """`field: problem` for pydantic's first error, in the words the API speaks."""
    where = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
    field = ".".join(where) or "body"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "string_pattern_mismatch":
        message = PATTERN_PROBLEMS.get(error.get("ctx", {}).get("pattern"), message)
    return f"{field}: {message}"


def _any_case(text: str) -> str:
    """A pattern matching `text` in any letter case (JSON Schema patterns take no flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


def file_name_pattern(suffixes: tuple[str, ...]) -> str:
    """The file names the server takes for a part (`releases.submissions.uploads`):
    a bare name of at most 255 characters, no `/`, `\\`, `..` or control
    character, ending in one of `suffixes` in any letter case."""
    ends = "|".join(_any_case(suffix) for suffix in suffixes)
    return rf'filename="(?=[^"]{{1,255}}")(?![^"]*\.\.)[^"/\\\x00-\x1f\x7f]*(?:{ends})"'


@dataclass(frozen=True)
class FilePart:
    description: str
    suffixes: tuple[str, ...]
    example: str  # a file name the server takes

    def encoding(self, name: str) -> dict:
        disposition = f'form-data; name="{name}"; filename="{self.example}"'
        return {
            "contentType": "application/octet-stream",
            "headers": {
                "Content-Disposition": {
                    "description": "the part's file name: " + ", ".join(self.suffixes),
                    "schema": {"type": "string", "pattern": file_name_pattern(self.suffixes)},
                    "example": disposition,
                }
            },
        }


def multipart_body(
    fields: type[BaseModel] | None, files: dict[str, FilePart], required_files: list[str]
) -> dict:
    """`openapi_extra` for a route that streams its multipart body itself: its
    text fields from the model the route validates them with (`multipart_fields`),
    its files with the names the server takes."""
    schema = fields.model_json_schema() if fields else {"properties": {}}
    properties = {
        name: {key: value for key, value in field.items() if key != "title"}
        for name, field in schema["properties"].items()
    }
    for name, part in files.items():
        properties[name] = {
            "type": "string",
            "format": "binary",
            "minLength": 1,  # an empty file is refused
            "description": part.description,
        }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [*schema.get("required", []), *required_files],
                        "properties": properties,
                    },
                    "encoding": {name: part.encoding(name) for name, part in files.items()},
                }
            },
        }
    }


def multipart_fields(fields: type[M], data) -> M:
    """The text fields of a multipart body, validated by the model that describes them."""
    values = {}
    for name, field in fields.model_fields.items():
        if name not in data:
            continue
        listed = get_origin(field.annotation) is list
        values[name] = data.getlist(name) if listed else data.get(name)
    try:
        return fields.model_validate(values)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        raise BadInput(invalid_value(first), field=str(first["loc"][0])) from None
