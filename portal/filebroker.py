"""Celery's embedded broker (kombu's filesystem transport), with whole messages.

kombu writes a message straight into the folder the worker reads, and the
worker reads it without waiting for the writer's lock: a worker that picks
up a message while a web process is still writing it reads a partial file,
fails to decode it and stops ("Unrecoverable error: JSONDecodeError"), as
a few uploads at once did on the embedded defaults. Here a message is
written under a name the worker does not read, then renamed into place,
which is atomic: the worker sees a whole message or none.

portal/settings.py uses it for `filesystem://` (CELERY_BROKER_TRANSPORT).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`, whole: written aside, then renamed in."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Not "<queue>.msg": the worker skips it until it is renamed.
        partial = final + ".partial"
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
