#!/usr/bin/env python3
"""A longer run of the differential fuzzer than the test suite's.

Mutates header bytes of a good bundle (packaging/tests/test_differential.py's
strategy), and for every case asserts the differential property: what
bundlecheck passes, GNU tar and bsdtar extract alike, and as reported.  Prints
how many cases ran, how many bundlecheck refused and how many it passed (and so
were extracted and compared).

    python packaging/fuzz/differential.py              # 2000 cases
    python packaging/fuzz/differential.py --cases 20000 --seed 7
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from differential import PropertyFailure, check, missing_extractors
from hypothesis import HealthCheck, given, seed, settings
from test_differential import mutated_bundle


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--cases", type=int, default=2000)
    p.add_argument("--seed", type=int, default=2008)
    p.add_argument("--keep-going", action="store_true",
                   help="count property failures instead of stopping at the first")
    args = p.parse_args()
    if missing_extractors():
        print(f"missing: {', '.join(missing_extractors())}", file=sys.stderr)
        return 2
    outcomes: collections.Counter[str] = collections.Counter()
    work = Path(tempfile.mkdtemp(prefix="bundlecheck-fuzz-"))
    started = time.monotonic()

    @seed(args.seed)
    @settings(max_examples=args.cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated_bundle())
    def one(data: bytes) -> None:
        try:
            outcomes[check(data, workdir=work)] += 1
        except PropertyFailure as exc:
            outcomes[f"FAILED {exc.which}"] += 1
            if not args.keep_going:
                raise

    try:
        one()
    finally:
        total = sum(outcomes.values())
        print(f"{total} cases in {time.monotonic() - started:.0f} s: "
              + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
