"""Fixtures of the accounts tests: a maintainer's own gpg keyring."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


class Keyring:
    """A throwaway gpg home that makes keys and signatures the way a maintainer would."""

    def __init__(self, home: Path):
        self.home = home
        home.mkdir(mode=0o700)

    def gpg(self, *args: str, data: bytes | None = None) -> bytes:
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--passphrase", "", *args],
            input=data,
            capture_output=True,
            check=True,
        ).stdout

    def make(
        self, uid: str, algo: str = "ed25519", *, expire: str = "never", when: str = ""
    ) -> str:
        faked = ["--faked-system-time", when] if when else []
        self.gpg(*faked, "--quick-gen-key", uid, algo, "sign", expire)
        listing = self.gpg("--list-keys", "--with-colons", uid).decode()
        return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))

    def public(self, fpr: str) -> str:
        return self.gpg("--armor", "--export", fpr).decode()

    def secret(self, fpr: str) -> str:
        return self.gpg("--armor", "--export-secret-keys", fpr).decode()

    def sign(self, fpr: str, data: bytes) -> str:
        return self.gpg("--local-user", fpr, "--armor", "--detach-sign", data=data).decode()

    def clearsign(self, fpr: str, text: str) -> str:
        return self.gpg("--local-user", fpr, "--clearsign", data=text.encode() + b"\n").decode()


@pytest.fixture
def keyring(tmp_path):
    ring = Keyring(tmp_path / "gnupg")
    yield ring
    subprocess.run(["gpgconf", "--homedir", str(ring.home), "--kill", "gpg-agent"], check=False)
