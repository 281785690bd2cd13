"""Exceptions the library raises to its callers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class BundlecheckError(Exception):
    """Base class: anything a caller may want to catch as 'bundlecheck said no'."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a policy, where it is and what to write instead.

    ``line`` and ``column`` are 1-based positions in the policy's TOML text of the
    offending key or value (None when the problem has no place, e.g. a text too
    large to read).  ``key`` is the dotted key path (``deployment.tree[3].mode``;
    array entries are numbered from 1, as in the messages), "" for the whole text.
    ``message`` is a sentence a packager or a release manager can act on.
    """

    line: int | None
    column: int | None
    key: str
    message: str

    def render(self, origin: str) -> str:
        """``ORIGIN:LINE:COL: message``, as compilers print it."""
        where = origin
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class PolicyError(BundlecheckError):
    """The policy is missing, unparsable or fails validation.

    ``problems`` is never empty; ``str(exc)`` is one ``ORIGIN:LINE:COL: message``
    line per problem.
    """

    def __init__(self, problems: str | Sequence[Problem], origin: str = "policy"):
        if isinstance(problems, str):
            problems = [Problem(None, None, "", problems)]
        if not problems:
            raise ValueError("a PolicyError needs at least one problem")
        self.problems: list[Problem] = list(problems)
        self.origin = origin
        self._plain = len(self.problems) == 1 and self.problems[0].line is None and not self.problems[0].key
        super().__init__(str(self))

    def __str__(self) -> str:
        if self._plain and self.origin == "policy":
            return self.problems[0].message
        return "\n".join(p.render(self.origin) for p in self.problems)


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
