"""The tarball is the tag: compare a release tarball with its tag's tree, member by member.

Both sides stream through the engine's bounded tar reader (the tag's tree as
``git archive`` writes it), nothing is extracted.  Each path of the tarball
(its single top directory stripped) gets one class:

``identical``          same type, content (sha256) or link target, and executable bit
``generated``          only in the tarball, matched by the policy's ``[generated]``
                       patterns, or a verbatim copy of a known autotools macro
``unexpected``         only in the tarball, anything else (an error)
``binary-unexpected``  only in the tarball and binary, whatever the patterns
                       (unless ``[generated] binary`` names it) (an error)
``differs``            in both, different (an error; a unified diff for text)
``macro-modified``     an m4 macro (``*.m4`` or an ``aclocal.m4`` section) carrying
                       the serial of a known copy with other text (an error)
``only-in-tag``        in the tag's tree, not in the tarball (a warning)

Paths of either side that differ only by case or Unicode normalisation are
named as collisions (an error), never merged.  Symbolic links are compared as
their targets, never followed.
"""

from __future__ import annotations

import difflib
import fnmatch
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from .decompress import Progress, RawReader
from .errors import ArchiveError
from .formats import DEB, RPM, detect_kind
from .gitsource import FETCH_MAX_BYTES, FETCH_TIMEOUT, Repository, SourceError, TagInfo, fetched_tag
from .limits import Limits
from .macros import MacroIndex, load_macro_index
from .members import Member, Scan
from .names import shown
from .policy import Policy, load_policy
from .tarheader import BLOCK
from .tarscan import scan_tar_stream

CLASSES = ("identical", "generated", "unexpected", "binary-unexpected", "differs", "macro-modified",
           "only-in-tag")
#: The classes that make a proof fail (the CLI's exit status 1).
FAILING = frozenset({"unexpected", "binary-unexpected", "differs", "macro-modified"})
#: Bytes of a file's start read to tell text from binary (git's rule: a NUL byte is binary).
SNIFF = 8000
#: Files read whole to diff or to judge as macros, each and in all.
MAX_DIFF_INPUT = 1 << 20
MAX_HELD = 32 << 20
#: Unified diffs shown, and the characters of each.
MAX_DIFFS = 50
MAX_DIFF_CHARS = 64 << 10


@dataclass(slots=True)
class FileVerdict:
    path: str
    cls: str
    detail: str = ""
    diff: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "class": self.cls}
        if self.detail:
            out["detail"] = self.detail
        if self.diff is not None:
            out["diff"] = self.diff
        return out


@dataclass
class SourceProof:
    tag: TagInfo
    files: list[FileVerdict] = field(default_factory=list)
    collisions: list[list[str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    top: str = ""
    macro_sources: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(f.cls for f in self.files)
        return {cls: found.get(cls, 0) for cls in CLASSES}

    @property
    def passed(self) -> bool:
        return (not self.problems and not self.collisions and self.tag.signature.state != "bad"
                and not any(f.cls in FAILING for f in self.files))

    def not_identical(self) -> list[FileVerdict]:
        return [f for f in self.files if f.cls != "identical"]

    def summary(self) -> str:
        """``matches tag v2.0 (commit abc1234), signed by ...; 3 generated files``."""
        c = self.counts
        head = f"tag {self.tag.tag} (commit {self.tag.commit[:7]}), {self.tag.signature.short()}"
        if self.passed:
            parts = [f"matches {head}"]
            if c["generated"]:
                parts.append(f"{c['generated']} generated file{'s' if c['generated'] != 1 else ''}")
            if c["only-in-tag"]:
                parts.append(f"{c['only-in-tag']} only in the tag")
            return "; ".join(parts)
        bad = [f"{c[k]} {k}" for k in CLASSES if k in FAILING and c[k]]
        bad += [f"{len(self.collisions)} name collision{'s' if len(self.collisions) != 1 else ''}"] \
            if self.collisions else []
        bad += self.problems[:1]
        if self.tag.signature.state == "bad":
            bad.append(f"the tag's signature does not verify ({self.tag.signature.detail})")
        return f"does not match {head}: " + ", ".join(bad)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": self.summary(),
            "repository": self.tag.repo,
            "tag": self.tag.to_dict(),
            "top_directory": self.top,
            "counts": self.counts,
            "collisions": self.collisions,
            "problems": self.problems,
            "macro_sources": list(self.macro_sources),
            "files": [f.to_dict() for f in self.files],
        }


def is_binary(head: bytes) -> bool:
    return b"\x00" in head[:SNIFF]


def _matches(path: str, patterns: Iterable[str]) -> bool:
    base = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        target = path if "/" in pattern else base
        if fnmatch.fnmatchcase(target, pattern):
            return True
    return False


def _fold(path: str) -> str:
    return unicodedata.normalize("NFC", path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                                 ).casefold()


def collisions(paths: Iterable[str]) -> list[list[str]]:
    """Groups of distinct paths that are one path on a case-insensitive or normalising file system."""
    groups: dict[str, set[str]] = {}
    for path in paths:
        groups.setdefault(_fold(path), set()).add(path)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _entry(member: Member) -> tuple[str, str | None, bool]:
    """What is compared: the type, the content (sha256) or link target, and the exec bit."""
    if member.type == "symlink":
        return ("symlink", member.linkname, False)
    return (member.type, member.sha256, bool(member.mode & 0o111))


def _scan(fileobj: IO[bytes], limits: Limits, what: str, *, sink: Callable[[Member], Any] | None = None,
          progress: Progress | None = None, total: int | None = None) -> Scan:
    raw = RawReader(fileobj, progress, total)
    head = raw.peek(BLOCK)
    kind = detect_kind(head)
    if kind is None or kind in (DEB, RPM):
        raise SourceError(f"{what} is not a tar archive (.tar, .tar.gz, .tar.bz2, .tar.xz, .tar.zst): "
                          "give the release tarball")
    scan = Scan(kind=kind)
    try:
        scan_tar_stream(raw, kind, limits, scan, hash_members=True, data_sink=sink)
    except ArchiveError as exc:
        raise SourceError(f"{what} cannot be read: {exc.message}") from None
    scan.complete = True
    raw.finish()
    return scan


class _Holder:
    """Keeps, for the tarball's members, what the comparison needs of their data.

    A member of the tag with the same path is held whole (up to MAX_DIFF_INPUT)
    until its digest is known, and dropped if it equals the tag's: the diff of a
    differing text needs it.  A member only in the tarball keeps its first bytes
    (text or binary), an m4 file its text (the macro check).  The total held
    stays under MAX_HELD.
    """

    def __init__(self, tag: dict[str, Member], strip: Callable[[str], str | None]):
        self._tag = tag
        self._strip = strip
        self.held: dict[str, bytes] = {}
        self.heads: dict[str, bytes] = {}
        self._pending: tuple[Member, str, list[bytes], bool] | None = None
        self._total = 0

    def _settle(self) -> None:
        if self._pending is None:
            return
        member, rel, parts, whole = self._pending
        self._pending = None
        data = b"".join(parts)
        if rel not in self._tag:
            self.heads[rel] = data[:SNIFF]
        theirs = self._tag.get(rel)
        same = theirs is not None and theirs.sha256 == member.sha256
        if whole and not same and self._total + len(data) <= MAX_HELD:
            self.held[rel] = data
            self._total += len(data)

    def __call__(self, member: Member) -> Callable[[memoryview], object] | None:
        self._settle()
        rel = self._strip(member.path)
        if rel is None:
            return None
        whole = member.size <= MAX_DIFF_INPUT and (rel in self._tag or rel.endswith(".m4"))
        if not whole and rel in self._tag:
            return None
        parts: list[bytes] = []
        self._pending = (member, rel, parts, whole)
        budget = [member.size if whole else SNIFF]

        def feed(view: memoryview) -> None:
            if budget[0] > 0:
                chunk = bytes(view[:budget[0]])
                budget[0] -= len(chunk)
                parts.append(chunk)
        return feed

    def finish(self) -> None:
        self._settle()


def _top(members: dict[str, Member]) -> str:
    tops = {p.split("/", 1)[0] for p in members}
    if len(tops) != 1:
        shown_tops = ", ".join(sorted(shown(t) for t in tops)[:5])
        raise SourceError(f"the tarball has {len(tops)} top-level entries ({shown_tops}); a release "
                          "tarball holds one directory (name-version/): make it with `make dist` or "
                          "`git archive --prefix=name-version/`")
    top = tops.pop()
    if members.get(top) is not None and members[top].type != "dir":
        raise SourceError(f"the tarball's only entry '{shown(top)}' is not a directory: a release "
                          "tarball holds one directory (name-version/)")
    return top


def compare_tree(
    tarball: IO[bytes],
    repository: Repository,
    info: TagInfo,
    *,
    policy: Policy,
    macros: MacroIndex | None = None,
    progress: Progress | None = None,
    total_size: int | None = None,
) -> SourceProof:
    """Compare ``tarball`` with the tree of the fetched tag ``info``."""
    limits = policy.limits
    with repository.archive(info.tree) as stream:
        tag_scan = _scan(stream, limits, f"the tree of tag '{info.tag}'")
    tag = {p: m for p, m in tag_scan.members.items() if m.type != "dir"}

    seen_top: list[str] = []

    def strip(path: str) -> str | None:
        first, _, rest = path.partition("/")
        if not seen_top:
            seen_top.append(first)
        if first != seen_top[0] or not rest:
            return None
        return rest

    holder = _Holder(tag, strip)
    scan = _scan(tarball, limits, "the tarball", sink=holder, progress=progress, total=total_size)
    holder.finish()
    proof = SourceProof(info)
    proof.problems = [f"{shown(f.path or '')}: {f.message}" for f in scan.findings if f.severity == "error"]
    proof.top = _top(scan.members)
    ours: dict[str, Member] = {}
    for path, member in scan.members.items():
        rel = path.partition("/")[2]
        if rel and member.type != "dir":
            ours[rel] = member
    _resolve_hardlinks(ours, proof.top)
    known = _Known(macros)
    _classify(proof, ours, tag, holder, policy, known)
    proof.macro_sources = known.sources
    _diffs(proof, repository, info, holder, limits)
    proof.collisions = collisions(set(ours) | set(tag))
    return proof


class _Known:
    """The known macros, read from the system only when a vendored macro is to be judged."""

    def __init__(self, index: MacroIndex | None):
        self._index = index
        self.sources: tuple[str, ...] = index.sources if index is not None else ()

    def __getattr__(self, name: str) -> Any:
        if self._index is None:
            self._index = load_macro_index()
            self.sources = self._index.sources
        return getattr(self._index, name)


def _resolve_hardlinks(ours: dict[str, Member], top: str) -> None:
    for member in ours.values():
        if member.type == "hardlink":
            target = ours.get(member.linkname.partition("/")[2] if member.linkname.startswith(f"{top}/")
                              else member.linkname)
            if target is not None and target.type == "file":
                member.type, member.sha256 = "file", target.sha256


def _classify(proof: SourceProof, ours: dict[str, Member], tag: dict[str, Member], holder: _Holder,
              policy: Policy, macros: _Known) -> None:
    for rel in sorted(ours):
        member = ours[rel]
        theirs = tag.get(rel)
        if theirs is not None:
            a, b = _entry(member), _entry(theirs)
            if a == b:
                proof.files.append(FileVerdict(rel, "identical"))
                continue
            verdict = FileVerdict(rel, "differs", _difference(member, theirs))
            if rel.endswith(".m4") and rel in holder.held:
                verdict = _macro(rel, holder.held[rel], macros) or verdict
            proof.files.append(verdict)
            continue
        proof.files.append(_tarball_only(rel, member, holder, policy, macros))
    for rel in sorted(set(tag) - set(ours)):
        proof.files.append(FileVerdict(rel, "only-in-tag"))
    proof.files.sort(key=lambda f: f.path)


def _difference(ours: Member, theirs: Member) -> str:
    if ours.type != theirs.type:
        return f"a {ours.type} in the tarball, a {theirs.type} in the tag"
    if ours.type == "symlink":
        return f"a link to '{shown(ours.linkname)}' in the tarball, to '{shown(theirs.linkname)}' in the tag"
    if ours.sha256 == theirs.sha256:
        mode = "executable" if ours.mode & 0o111 else "not executable"
        return f"the same content, but {mode} in the tarball and not so in the tag"
    return f"other content ({ours.size:,} bytes in the tarball, {theirs.size:,} in the tag)"


def _macro(rel: str, data: bytes, macros: _Known, *, generated: bool = False) -> FileVerdict | None:
    text = data.decode("utf-8", "replace")
    name = rel.rsplit("/", 1)[-1]
    if name == "aclocal.m4":
        sections = macros.judge_aclocal(text)
        modified = [v for v in sections if v.state == "modified"]
        if modified:
            return FileVerdict(rel, "macro-modified", "; ".join(v.sentence() for v in modified))
        if generated:
            known = sorted(v.name for v in sections if v.state == "known")
            return FileVerdict(rel, "generated", f"matches [generated] patterns; {len(known)} macro "
                               f"file{'s' if len(known) != 1 else ''} pasted in, each a known copy"
                               + (f" ({', '.join(known)})" if known else ""))
        return None
    verdict = macros.judge_file(name, text)
    if verdict.state == "modified":
        return FileVerdict(rel, "macro-modified", verdict.sentence())
    if verdict.state == "known":
        return FileVerdict(rel, "generated", verdict.sentence())
    return None


def _tarball_only(rel: str, member: Member, holder: _Holder, policy: Policy,
                  macros: _Known) -> FileVerdict:
    if member.type == "file" and rel.endswith(".m4"):
        if rel in holder.held:
            found = _macro(rel, holder.held[rel], macros, generated=_matches(rel, policy.generated))
            if found is not None:
                return found
        elif member.size > 0:
            return FileVerdict(rel, "unexpected", f"a macro file of {member.size:,} bytes, too large to "
                               "compare with the known copies")
    if member.type == "file" and is_binary(holder.heads.get(rel, b"")):
        if _matches(rel, policy.generated_binary):
            return FileVerdict(rel, "generated", "binary, declared in [generated] binary")
        return FileVerdict(rel, "binary-unexpected", "a binary file that is not in the tag")
    if _matches(rel, policy.generated):
        return FileVerdict(rel, "generated", "matches [generated] patterns")
    what = "a link" if member.type == "symlink" else "a file"
    return FileVerdict(rel, "unexpected", f"{what} that is not in the tag and not declared generated")


def _diffs(proof: SourceProof, repository: Repository, info: TagInfo, holder: _Holder,
           limits: Limits) -> None:
    wanted = [f for f in proof.files if f.cls == "differs" and f.path in holder.held
              and not is_binary(holder.held[f.path])][:MAX_DIFFS]
    if not wanted:
        return
    paths = {f.path for f in wanted}
    parts: dict[str, list[bytes]] = {}

    def keep(member: Member) -> Callable[[memoryview], object] | None:
        if member.path not in paths or member.path in parts or member.size > MAX_DIFF_INPUT:
            return None
        chunks = parts.setdefault(member.path, [])
        return lambda view: chunks.append(bytes(view))

    with repository.archive(info.tree, sorted(paths)) as stream:
        _scan(stream, limits, f"the tree of tag '{info.tag}'", sink=keep)
    theirs = {path: b"".join(chunks) for path, chunks in parts.items()}
    for verdict in wanted:
        if verdict.path not in theirs or is_binary(theirs[verdict.path]):
            continue
        verdict.diff = unified_diff(theirs[verdict.path], holder.held[verdict.path], verdict.path)


def unified_diff(old: bytes, new: bytes, path: str) -> str:
    """The tag's text against the tarball's, as ``diff -u``, cut at MAX_DIFF_CHARS."""
    lines = difflib.unified_diff(old.decode("utf-8", "replace").splitlines(keepends=True),
                                 new.decode("utf-8", "replace").splitlines(keepends=True),
                                 fromfile=f"tag/{path}", tofile=f"tarball/{path}")
    out: list[str] = []
    size = 0
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        if size + len(line) > MAX_DIFF_CHARS:
            out.append(f"... (the diff is cut at {MAX_DIFF_CHARS:,} characters)\n")
            break
        out.append(line)
        size += len(line)
    return "".join(out)


def source_compare(
    tarball: IO[bytes],
    *,
    repo: str,
    tag: str,
    policy: str | Policy = "convirt",
    keys: bytes | None = None,
    allow_local: bool = True,
    git_config: Iterable[str] = (),
    timeout: float = FETCH_TIMEOUT,
    max_fetch_bytes: int = FETCH_MAX_BYTES,
    macros: MacroIndex | None = None,
    progress: Progress | None = None,
    total_size: int | None = None,
) -> SourceProof:
    """Fetch ``tag`` of ``repo`` and compare ``tarball`` with its tree.

    Raises SourceError, whose text is the sentence to show, when the repository,
    the tag or the tarball cannot be compared at all.
    """
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    with fetched_tag(repo, tag, keys=keys, allow_local=allow_local, config=tuple(git_config),
                     timeout=timeout, max_bytes=min(max_fetch_bytes, pol.limits.max_total_size)
                     ) as (repository, info):
        return compare_tree(tarball, repository, info, policy=pol, macros=macros, progress=progress,
                            total_size=total_size)


__all__ = ["CLASSES", "FAILING", "FileVerdict", "SourceError", "SourceProof", "collisions",
           "compare_tree", "source_compare", "unified_diff"]
