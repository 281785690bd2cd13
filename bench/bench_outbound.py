#!/usr/bin/env python3
"""How long a tarpit holds a link check, and a signature bomb a verdict's gpg.

Not a test: it prints figures. A local server trickles one byte a second
(tests/helpers.py::trickle) and `publishing.links.link_probe` checks it with the
configured deadline; then an armored "signature" that is a bzip2-compressed
message inflating to `--bomb-mib` MiB goes through `portal.openpgp.signature_verify`.

    PORTAL_DATA_DIR=$(mktemp -d) .venv/bin/python bench/bench_outbound.py --deadline 10 --bomb-mib 2048
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deadline", type=float, default=10)
    parser.add_argument("--bomb-mib", type=int, default=2048)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from portal import openpgp
    from publishing import links
    from tests.accounts.test_openpgp_untrusted import signature_bomb
    from tests.helpers import RawServer, trickle

    settings.OUTBOUND_ALLOW_PRIVATE = True  # the tarpit is on loopback
    settings.PACKAGE_LINK_CHECK_TIMEOUT = args.deadline
    server = RawServer(trickle)
    started = time.monotonic()
    probe = links.link_probe(f"http://127.0.0.1:{server.port}/convirt.deb")
    print(f"tarpit link check: {time.monotonic() - started:.2f} s ({probe.detail}; {probe.internal})")
    server.close()

    started = time.monotonic()
    bomb = signature_bomb(args.bomb_mib)
    print(f"bomb: {len(bomb):,} bytes armored, {args.bomb_mib} MiB inflated "
          f"(built in {time.monotonic() - started:.1f} s)")
    with tempfile.TemporaryDirectory() as home:
        gpg = ["gpg", "--homedir", home, "--batch", "--passphrase", ""]
        subprocess.run([*gpg, "--quick-gen-key", "B <b@example.org>", "ed25519", "sign", "never"],
                       check=True, capture_output=True)
        key = subprocess.run([*gpg, "--armor", "--export", "b@example.org"],
                             check=True, capture_output=True).stdout.decode()
        data = Path(home) / "bundle.tar.gz"
        data.write_bytes(b"bundle")
        started = time.monotonic()
        check = openpgp.signature_verify(data, bomb, [key])
        print(f"signature bomb: {time.monotonic() - started:.2f} s ({check.reason})")
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)


if __name__ == "__main__":
    main()
