"""Loading the workflow library: parsed afresh against read from the parse cache.

    python bench/parse_cache.py                 # 30 rounds, the bundled workflows
    python bench/parse_cache.py --rounds 100

Each round builds two new ``Library`` objects over the same roots, as a fresh
server does, and loads every workflow with each: one parses (no cache), the
other reads the ``ParseCache`` the first round wrote.  The two alternate (A B A
B), so machine load hits both alike; the ratio is the median of the per-round
ratios.  In-process and hot (the module is imported once), so a fresh server's
figures over stdio are higher: see ``rpc_bench.py``'s first-call table.

Never part of the test run; no test asserts on time.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import orchestrator_mcp as om  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    roots = [om.bundled_workflows_dir()]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "parse-cache"
        written = om.Library(roots, watch=False, disk=om.ParseCache(cache)).all()
        if len(list(cache.glob("*.json"))) != len(written):
            sys.exit("the bundled files changed less than 2 s ago, so nothing was cached; run again")
        parsed_ms, cached_ms = [], []
        for _ in range(args.rounds):
            began = time.perf_counter()
            fresh = om.Library(roots, watch=False).all()
            parsed_ms.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            read = om.Library(roots, watch=False, disk=om.ParseCache(cache)).all()
            cached_ms.append((time.perf_counter() - began) * 1000)
            assert read == fresh
    ratios = [c / p for p, c in zip(parsed_ms, cached_ms)]
    print(f"{len(written)} workflows, {args.rounds} rounds, load average {os.getloadavg()[0]:.2f}")
    print(f"parsed:          p50 {statistics.median(parsed_ms):.2f} ms")
    print(f"from the cache:  p50 {statistics.median(cached_ms):.2f} ms")
    print(f"cache / parse:   {statistics.median(ratios):.2f}x (median of rounds; range "
          f"{min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
