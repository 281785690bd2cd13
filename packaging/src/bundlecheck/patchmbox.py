"""Ledger entries as an mbox for upstream, in ``git format-patch`` style, ready for ``git am``.

The author and the description come from the DEP-3 header (or the git header) of
the carriers' patches; the other DEP-3 fields become trailers, and each carrier
is credited with a ``Carried-by:`` trailer.  The diff is the ledger's normalised
rendering (``a/`` and ``b/`` prefixes), which ``git am`` applies with its default
``-p1``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from .patches import Ledger

#: Used when an entry names no author: the commit is then credited to its carriers.
UNKNOWN_AUTHOR = ("Distribution packagers", "packagers@invalid")
_TRAILERS = (("origin", "Origin"), ("forwarded", "Forwarded"), ("applied_upstream", "Applied-Upstream"),
             ("reviewed_by", "Reviewed-by"))


def ledger_mbox(ledger: Ledger | dict[str, Any], ids: Iterable[str] | None = None, *,
                date: dt.datetime | None = None) -> str:
    """The entries named by ``ids`` (all when None), in ledger order, as one mbox text.

    ``ledger`` is a :class:`Ledger` or what its ``to_dict()`` gave (as stored by the portal).
    """
    data = ledger.to_dict() if isinstance(ledger, Ledger) else ledger
    wanted = None if ids is None else set(ids)
    entries = [e for e in data["entries"]
               if wanted is None or e["id"] in wanted or e["fingerprint"] in wanted]
    when = date or dt.datetime.now(dt.UTC)
    return "".join(entry_mail(e, i, len(entries), when) for i, e in enumerate(entries, 1))


def _author(value: str) -> str:
    name, address = parseaddr(value or "")
    if not address or "@" not in address:
        name, address = (value.strip() or UNKNOWN_AUTHOR[0]), UNKNOWN_AUTHOR[1]
    name = _one_line(name) or UNKNOWN_AUTHOR[0]
    return formataddr((name, address), charset="utf-8")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _body_line(line: str) -> str:
    # Lines git mailinfo would take for the start of the diff, or mbox for a new message.
    if line == "---" or line.startswith(("diff -", "Index: ", "From ", "--- ", "+++ ")):
        return " " + line
    return line


def _date(entry: dict[str, Any], default: dt.datetime) -> dt.datetime:
    value = entry.get("last_update") or ""
    try:
        return dt.datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError:
        return default


def entry_mail(entry: dict[str, Any], number: int, total: int, date: dt.datetime) -> str:
    """One message (from an entry's ``to_dict()``): git format-patch's headers, the description,
    the trailers, the diff."""
    description = (entry.get("description") or "").strip()
    subject_text, _, long_text = description.partition("\n")
    carriers = entry["carriers"]
    subject_text = _one_line(subject_text) or f"Fix carried by {len(carriers)} distributions"
    prefix = f"[PATCH {number}/{total}] " if total > 1 else "[PATCH] "
    subject = Header(prefix + subject_text[:200], "utf-8").encode() if not subject_text.isascii() \
        else prefix + subject_text[:200]
    body = [_body_line(line.rstrip()) for line in long_text.strip().splitlines()]
    trailers = [f"Bug: {_one_line(b)}" for b in entry.get("bug", [])]
    trailers += [f"{label}: {_one_line(entry[key])}" for key, label in _TRAILERS if entry.get(key)]
    trailers += [f"Carried-by: {c['distro']} ({c['bundle']}: {c['path']})" for c in carriers]
    trailers.append(f"Ledger-Fingerprint: {entry['fingerprint']}")
    lines = [
        f"From {entry['fingerprint'][:40]} Mon Sep 17 00:00:00 2001",
        f"From: {_author(entry.get('author') or '')}",
        f"Date: {format_datetime(_date(entry, date))}",
        f"Subject: {subject}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        *([*body, ""] if body else []),
        *trailers,
        "---",
        entry["diff"].rstrip("\n"),
        "-- ",
        "bundlecheck patch ledger",
        "",
        "",
    ]
    return "\n".join(lines)
