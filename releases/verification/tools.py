"""The bundlecheck wheel the portal runs, built once from its source and kept, so a
maintainer installs exactly it (`pipx install <portal>/tools/bundlecheck-….whl`) and
runs the same checks at home.

The wheel is built by pip from the engine's source (`BUNDLECHECK_SOURCE`, the
repository's packaging/), copied first to a scratch directory so that a read-only
source tree is fine, into `TOOLS_DIR/<digest of the source>/`: a changed source is a
new build, and a build that dies halfway leaves nothing under the served name (the
file is moved into place whole). Nothing is fetched: no build isolation, no index.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import bundlecheck
from django.conf import settings

BUILD_SECONDS = 120


class WheelUnavailable(Exception):
    """The wheel cannot be built here; the message says why, for the log and the page."""


def wheel_name() -> str:
    return f"bundlecheck-{bundlecheck.__version__}-py3-none-any.whl"


def _source() -> Path:
    return Path(settings.BUNDLECHECK_SOURCE)


@functools.cache
def _digest(source: Path) -> str:
    """What the wheel is built from, hashed: its pyproject.toml, README and src/ tree."""
    digest = hashlib.sha256()
    files = [source / "pyproject.toml", source / "README.md"]
    files += sorted(p for p in (source / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def wheel_path() -> Path:
    """The built wheel, building it on the first call (a few seconds)."""
    source = _source()
    if not (source / "pyproject.toml").is_file():
        raise WheelUnavailable(f"the engine's source is not at {source} (BUNDLECHECK_SOURCE)")
    target = Path(settings.TOOLS_DIR) / _digest(source) / wheel_name()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as scratch:
        tree = Path(scratch) / "bundlecheck"
        tree.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(source / name, tree / name)
        shutil.copytree(source / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        out = Path(scratch) / "out"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--no-index", "--wheel-dir", str(out), str(tree)],
            capture_output=True, text=True, timeout=BUILD_SECONDS, cwd=scratch,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONWARNINGS": "ignore"},
        )
        built = out / wheel_name()
        if result.returncode != 0 or not built.is_file():
            raise WheelUnavailable(
                f"building the bundlecheck wheel failed: {(result.stderr or result.stdout).strip()[-500:]}"
            )
        os.replace(built, target)
    return target
