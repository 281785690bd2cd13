"""Exceptions the library raises to its callers."""

from __future__ import annotations


class BundlecheckError(Exception):
    """Base class: anything a caller may want to catch as 'bundlecheck said no'."""


class PolicyError(BundlecheckError):
    """The policy file is missing, unparsable or fails validation."""


class RegistryError(BundlecheckError):
    """A check id is unknown or declared twice: a programming error, raised at import."""


class ArchiveError(BundlecheckError):
    """An archive cannot be read safely.

    Raised by :func:`bundlecheck.build_manifest` for a reference tarball; ``verify``
    turns the same condition into a finding instead.  ``check`` is the finding id,
    ``path`` the member concerned (escaped for display) or None.
    """

    def __init__(self, check: str, message: str, hint: str = "", path: str | None = None):
        super().__init__(message)
        self.check = check
        self.message = message
        self.hint = hint
        self.path = path


#: Exceptions a host raises into running code to stop it (Celery's soft time limit,
#: a worker shutdown).  Matched by name so that the library needs no Celery import;
#: they must never be turned into a finding.
PASSTHROUGH_NAMES = frozenset({"SoftTimeLimitExceeded", "TimeLimitExceeded", "Terminated",
                               "WorkerLostError", "WorkerShutdown", "WorkerTerminate"})


def is_passthrough(exc: BaseException) -> bool:
    return any(cls.__name__ in PASSTHROUGH_NAMES for cls in type(exc).__mro__)
