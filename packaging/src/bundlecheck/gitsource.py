"""A release's tag, fetched from its source repository with the git CLI, within bounds.

The tag is fetched into a throwaway bare repository (never a checkout: nothing
of the tree is written as files), in bounded time (the process group is killed
at the deadline) and bounded size (the pack git writes is capped with
RLIMIT_FSIZE).  The tag's tree is read as ``git archive`` writes it, so
``export-ignore`` and ``export-subst`` apply as they do to a release made with
``git archive``; it is archived by tree id, so no pax comment is prepended.
A signed tag is verified with gpg against a keyring made from the keys given.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from .errors import BundlecheckError

#: Seconds a fetch may take, and the bytes the fetched objects may take on disk.
FETCH_TIMEOUT = 120.0
FETCH_MAX_BYTES = 2 << 30
#: Seconds gpg may take to import the keys or verify one tag.
GPG_TIMEOUT = 20.0
_REMOTE = re.compile(r"^https?://", re.IGNORECASE)
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class SourceError(BundlecheckError):
    """The repository, the tag or the tarball cannot be compared; ``str()`` is the sentence."""


@dataclass(frozen=True, slots=True)
class Signature:
    """Who signed the tag: state is signed, unsigned, lightweight, unknown-key or bad."""

    state: str
    fingerprint: str | None = None
    signer: str | None = None
    detail: str = ""

    def sentence(self) -> str:
        if self.state == "signed":
            return f"signed by {self.signer or 'a known key'} ({self.fingerprint})"
        if self.state == "unsigned":
            return "an annotated tag without a signature"
        if self.state == "lightweight":
            return "a lightweight tag: no tagger, no signature"
        if self.state == "unknown-key":
            return f"signed by a key not among the project's keys ({self.detail or 'unknown key'})"
        return f"its signature does not verify ({self.detail})"

    def short(self) -> str:
        """A few words for a summary line: 'signed by Alice <a@example.org>', 'unsigned'."""
        if self.state == "signed":
            return f"signed by {self.signer or self.fingerprint}"
        return {"unsigned": "unsigned", "lightweight": "a lightweight tag, unsigned",
                "unknown-key": "signed by an unknown key",
                "bad": "a bad signature"}.get(self.state, self.state)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TagInfo:
    repo: str
    tag: str
    tag_object: str | None  # the annotated tag's object id; None for a lightweight tag
    commit: str
    tree: str
    signature: Signature

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["signature"] = self.signature.to_dict()
        return out


def is_remote(repo: str) -> bool:
    return bool(_REMOTE.match(repo))


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot be a tag name, or None."""
    if not tag or tag.startswith("-") or len(tag) > 200:
        return f"'{tag}' is not a tag name: give the tag as `git tag` lists it, e.g. v2.0"
    ok = subprocess.run(["git", "check-ref-format", f"refs/tags/{tag}"], capture_output=True,
                        timeout=10, check=False)
    if ok.returncode != 0:
        return f"'{tag}' is not a valid git tag name: give the tag as `git tag` lists it, e.g. v2.0"
    return None


def _limit_files(max_bytes: int) -> Any:
    def limit() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return limit


def _env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C", "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false", "GNUPGHOME": str(home / "gnupg"),
    }


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no message"


class Repository:
    """A throwaway bare repository holding one fetched tag; use :func:`fetched_tag`."""

    def __init__(self, root: Path, *, config: Sequence[str] = ()):
        self.root = root
        self.git_dir = root / "repo.git"
        self._config = [x for pair in config for x in ("-c", pair)]

    def git(self, *args: str, timeout: float = 60.0, max_bytes: int = FETCH_MAX_BYTES,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
        cmd = ["git", *self._config, f"--git-dir={self.git_dir}", *args]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=_env(self.root),
                                    preexec_fn=_limit_files(max_bytes))
        except OSError as exc:
            raise SourceError(f"git could not be run ({exc.strerror}): install git") from None
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise TimeoutError from None
        done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)
        return done

    @contextmanager
    def archive(self, tree: str, paths: Sequence[str] = (), timeout: float = 600.0) -> Iterator[IO[bytes]]:
        """``git archive --format=tar TREE [-- PATHS]`` as a stream."""
        cmd = ["git", *self._config, f"--git-dir={self.git_dir}", "archive", "--format=tar", tree]
        if paths:
            cmd += ["--", *paths]
        env = _env(self.root) | {"GIT_LITERAL_PATHSPECS": "1"}
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        assert proc.stdout is not None
        timer = _Deadline(proc, timeout)
        try:
            yield proc.stdout
        finally:
            timer.cancel()
            _kill(proc)
            if timer.fired:
                raise SourceError(f"git archive of the tag's tree took over {timeout:.0f} s: "
                                  "the tree is larger than this portal reads")


class _Deadline:
    def __init__(self, proc: subprocess.Popen[bytes], timeout: float):
        import threading

        self.fired = False
        self._proc = proc
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        _kill(self._proc)

    def cancel(self) -> None:
        self._timer.cancel()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@contextmanager
def fetched_tag(
    repo: str,
    tag: str,
    *,
    keys: bytes | None = None,
    allow_local: bool = True,
    config: Sequence[str] = (),
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = FETCH_MAX_BYTES,
) -> Iterator[tuple[Repository, TagInfo]]:
    """Fetch ``tag`` of ``repo`` into a throwaway repository; yield it and what the tag is.

    ``repo`` is an http(s) URL, or (with ``allow_local``) a path or file:// URL.
    ``config`` is extra ``git -c`` settings (the portal pins the resolved address
    with ``http.curloptResolve``).  Raises SourceError with a sentence when the
    repository does not answer, answers too slowly, is too large or lacks the tag.
    """
    if (problem := tag_problem(tag)) is not None:
        raise SourceError(problem)
    if repo.startswith("-") or not repo.strip():
        raise SourceError(f"'{repo}' is not a repository: give a git URL (https://...)")
    remote = is_remote(repo)
    if not remote and not allow_local:
        raise SourceError(f"'{repo}' is not an http(s) URL: give the repository's https:// URL")
    if not remote and not repo.startswith("file://") and not Path(repo).exists():
        raise SourceError(f"no repository at {repo}: give a git URL or the path of a git repository")
    protocols = ["protocol.allow=never", "protocol.https.allow=always", "protocol.http.allow=always"]
    if allow_local:
        protocols.append("protocol.file.allow=always")
    settings = [*protocols, "http.followRedirects=false", "core.askPass=/bin/false",
                "transfer.fsckObjects=true", *config]
    root = Path(tempfile.mkdtemp(prefix="bundlecheck-source-"))
    try:
        (root / "gnupg").mkdir(mode=0o700)
        repository = Repository(root, config=settings)
        repository.git("init", "--quiet", "--bare", str(repository.git_dir), timeout=30)
        if not remote:
            _borrow_objects(repository, repo)
        ref = f"refs/tags/{tag}"
        args = ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules"]
        if remote:
            args.append("--depth=1")
        try:
            repository.git(*args, repo, f"+{ref}:{ref}", timeout=timeout, max_bytes=max_bytes)
        except TimeoutError:
            raise SourceError(f"{repo} did not send tag '{tag}' within {timeout:.0f} s: "
                              "try again later, or check that the repository answers") from None
        except subprocess.CalledProcessError as exc:
            message = _last_line(exc.stderr)
            if exc.returncode < 0 or "File size limit" in message or exc.returncode == 153:
                raise SourceError(f"{repo} is larger than the {max_bytes:,} bytes this portal "
                                  "fetches for one tag (the same limit as for archives)") from None
            if "couldn't find remote ref" in message or "not our ref" in message:
                raise SourceError(f"{repo} has no tag '{tag}': push the tag "
                                  f"(git push origin {tag}) or give the name `git tag` lists") from None
            raise SourceError(f"could not fetch tag '{tag}' from {repo}: {message}") from None
        yield repository, _describe(repository, repo, tag, keys)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _borrow_objects(repository: Repository, repo: str) -> None:
    """Read a local repository's objects in place (as `git clone --shared` does) rather
    than have git pack and copy them: the fetch then only writes the tag's ref."""
    path = repo[len("file://"):] if repo.startswith("file://") else repo
    found = subprocess.run(["git", "-C", path, "rev-parse", "--absolute-git-dir"], capture_output=True,
                           timeout=30, check=False, env=_env(repository.root))
    objects = Path(found.stdout.decode("utf-8", "replace").strip()) / "objects"
    if found.returncode == 0 and objects.is_dir():
        alternates = repository.git_dir / "objects" / "info" / "alternates"
        alternates.write_text(f"{objects}\n")


def _rev(repository: Repository, spec: str) -> str:
    out = repository.git("rev-parse", "--verify", "--quiet", spec, timeout=30, check=False)
    value = out.stdout.decode().strip()
    if out.returncode != 0 or not _SHA.match(value):
        raise SourceError(f"the tag does not point at a commit ({spec}): tag a commit")
    return value


def _describe(repository: Repository, repo: str, tag: str, keys: bytes | None) -> TagInfo:
    ref = f"refs/tags/{tag}"
    kind = repository.git("cat-file", "-t", ref, timeout=30).stdout.decode().strip()
    commit = _rev(repository, f"{ref}^{{commit}}")
    tree = _rev(repository, f"{ref}^{{tree}}")
    if kind != "tag":
        return TagInfo(repo, tag, None, commit, tree, Signature("lightweight"))
    tag_object = _rev(repository, ref)
    body = repository.git("cat-file", "tag", ref, timeout=30).stdout
    if b"-----BEGIN PGP SIGNATURE-----" not in body and b"-----BEGIN SSH SIGNATURE-----" not in body:
        return TagInfo(repo, tag, tag_object, commit, tree, Signature("unsigned"))
    return TagInfo(repo, tag, tag_object, commit, tree, _verify(repository, ref, keys))


def _verify(repository: Repository, ref: str, keys: bytes | None) -> Signature:
    home = repository.root / "gnupg"
    if keys:
        try:
            subprocess.run(["gpg", "--homedir", str(home), "--batch", "--quiet", "--import"],
                           input=keys, capture_output=True, timeout=GPG_TIMEOUT, check=False,
                           env=_env(repository.root))
        except (OSError, subprocess.TimeoutExpired):
            return Signature("unknown-key", detail="the keys could not be read")
    try:
        out = repository.git("verify-tag", "--raw", ref, timeout=GPG_TIMEOUT, check=False)
    except TimeoutError:
        return Signature("bad", detail=f"gpg did not finish within {GPG_TIMEOUT:.0f} s")
    return signature_from_status(out.stderr.decode("utf-8", "replace"))


def signature_from_status(status: str) -> Signature:
    """The verdict of gpg's ``--status-fd`` lines, as ``git verify-tag --raw`` prints them."""
    fields: dict[str, list[str]] = {}
    for line in status.splitlines():
        if line.startswith("[GNUPG:] "):
            word, *rest = line[9:].split(" ", 1)
            fields.setdefault(word, rest)
    if "BADSIG" in fields:
        return Signature("bad", detail="the signature does not match the tag")
    for word, why in (("EXPKEYSIG", "the key has expired"), ("REVKEYSIG", "the key is revoked")):
        if word in fields:
            return Signature("bad", detail=why)
    if "GOODSIG" in fields and "VALIDSIG" in fields:
        valid = fields["VALIDSIG"][0].split() if fields["VALIDSIG"] else []
        good = fields["GOODSIG"][0].split(" ", 1) if fields["GOODSIG"] else []
        fingerprint = valid[-1] if valid else None
        return Signature("signed", fingerprint=fingerprint, signer=good[1] if len(good) > 1 else None)
    if "NO_PUBKEY" in fields or "ERRSIG" in fields:
        key = (fields.get("NO_PUBKEY") or fields.get("ERRSIG") or [""])[0].split(" ")[0]
        return Signature("unknown-key", detail=f"key {key}" if key else "unknown key")
    if "-----BEGIN SSH SIGNATURE-----" in status or not fields:
        return Signature("unknown-key", detail="not an OpenPGP signature this portal verifies")
    return Signature("bad", detail="gpg did not say the signature is good")
