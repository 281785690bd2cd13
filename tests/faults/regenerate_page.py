"""Regenerate a project's public page in a process of its own, for the fault tests.

    python -m tests.faults.regenerate_page <project-slug> [--slow]

`--slow` hands the writer the page a few bytes at a time, so that a test can
kill the process, or race a second one, while the new file is half written.
"""

from __future__ import annotations

import io
import os
import sys
import time


class Trickle(io.RawIOBase):
    """Gives out its bytes in small pieces, slowly (about two seconds in all)."""

    def __init__(self, content):
        self._data = content if isinstance(content, bytes) else content.read()
        self._pos = 0
        self._piece = max(64, len(self._data) // 80)

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = offset if whence == io.SEEK_SET else self._pos + offset
        return self._pos

    def read(self, size: int = -1) -> bytes:
        time.sleep(0.025)
        piece = self._data[self._pos : self._pos + self._piece]
        self._pos += len(piece)
        return piece


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from publishing import services
    from releases.models import Project

    if "--slow" in argv:
        write = services.atomic_write
        services.atomic_write = lambda storage, name, content: write(
            storage, name, Trickle(content)
        )
    services.public_page_regenerate(project=Project.objects.get(slug=argv[0]))
    print("regenerated", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
