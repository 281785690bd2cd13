"""Real git repositories and release tarballs made in a test, for the source proof."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

IDENTITY = {"GIT_AUTHOR_NAME": "Release Manager", "GIT_AUTHOR_EMAIL": "rm@example.org",
            "GIT_COMMITTER_NAME": "Release Manager", "GIT_COMMITTER_EMAIL": "rm@example.org"}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full = {**os.environ, **IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
    return subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, env=full,
                          check=True, capture_output=True, text=True).stdout


def make_repo(path: Path, files: dict[str, bytes | str], *, tag: str = "v1.0",
              annotated: bool = True) -> Path:
    """A repository at ``path`` whose one commit holds ``files``, tagged ``tag``."""
    path.mkdir(parents=True)
    git(path, "init", "-q")
    write(path, files)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "release")
    if annotated:
        git(path, "tag", "-a", tag, "-m", f"release {tag}")
    else:
        git(path, "tag", tag)
    return path


def write(root: Path, files: dict[str, bytes | str]) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and content.startswith("->"):
            target.symlink_to(content[2:])
        elif isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(content)


def tarball_of(repo: Path, tag: str, out: Path, *, top: str = "proj-1.0",
               add: dict[str, bytes | str] | None = None, remove: tuple[str, ...] = ()) -> Path:
    """The tag's files (``git archive``), changed as asked, packed by GNU tar under ``top``."""
    work = out.parent / f"{out.name}.d"
    shutil.rmtree(work, ignore_errors=True)
    (work / top).mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", tag], cwd=repo, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work / top)], input=archive, check=True)
    for name in remove:
        (work / top / name).unlink()
    write(work / top, add or {})
    subprocess.run(["tar", "-C", str(work), "-czf", str(out), top], check=True)
    shutil.rmtree(work)
    return out
