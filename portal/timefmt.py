"""Times as the portal writes them for machines: ISO 8601, or None for no time."""

from __future__ import annotations

from datetime import date, datetime


def iso(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment else None
