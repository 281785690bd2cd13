"""Member names: normalising and showing them safely to a human."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(name: str) -> str:
    """Return ``name`` printable: undecodable bytes and control characters escaped.

    Tar names are decoded with ``surrogateescape``; encoding them back gives the
    original bytes, which we show with backslash escapes (repr-like) so that the
    packager can find the member and no terminal or web page gets raw controls.
    """
    raw = name.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def is_clean(name: str) -> bool:
    """True when the name is valid UTF-8 and holds no control characters."""
    if name.isascii():  # most names: printable ASCII is exactly "no control character"
        return name.isprintable()
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not _CONTROL.search(name)


def normalise(name: str) -> str:
    """Drop './', empty components and trailing '/', keeping '..' for the safety checks."""
    parts = name.split("/")
    if "" not in parts and "." not in parts:
        return name
    return "/".join(p for p in parts if p not in ("", "."))


def quoted(name: str) -> str:
    """``shown(name)`` in single quotes, for messages."""
    return f"'{shown(name)}'"
