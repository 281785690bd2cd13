"""The embedded defaults' outbox: mail is kept, not sent, one `.eml` file per message
under `DATA_DIR/outbox/`, and listed on a local page (/outbox/) with its links, so a
newcomer follows a confirmation or download link without reading any process's log.

Only on the embedded defaults (`EMAIL_URL=outbox://`, the default outside
production); production refuses it at start-up (settings.py).
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

SHOWN = 200
_LINK = re.compile(r"https?://[^\s<>\"]+")


class OutboxBackend(BaseEmailBackend):
    """Django's mail backend that writes each message, whole, to the outbox folder."""

    def send_messages(self, email_messages) -> int:
        folder = Path(settings.EMAIL_OUTBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            name = f"{datetime.now():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}.eml"
            scratch = folder / f".{name}.part"
            scratch.write_bytes(message.message().as_bytes(linesep="\n"))
            os.replace(scratch, folder / name)  # never half a mail under its name
            sent += 1
        return sent


@dataclass
class OutboxMail:
    name: str
    sent: datetime | None
    to: str
    subject: str
    body: str
    links: list[str]


def outbox_mails(folder: Path | None = None, limit: int = SHOWN) -> list[OutboxMail]:
    """The newest mails first, each with its plain-text body and the links in it."""
    folder = Path(folder or settings.EMAIL_OUTBOX_DIR)
    if not folder.is_dir():
        return []
    mails = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        try:
            sent = parsedate_to_datetime(message["Date"]) if message["Date"] else None
        except (TypeError, ValueError):
            sent = None
        mails.append(
            OutboxMail(
                name=path.name,
                sent=sent,
                to=str(message["To"] or ""),
                subject=str(message["Subject"] or ""),
                body=body,
                links=list(dict.fromkeys(link.rstrip(".,)") for link in _LINK.findall(body))),
            )
        )
    return mails
