"""What reserving the write-ahead log buys a new server's first commits.

    python bench/wal_reserve.py            # 6 fresh databases each way, 150 advances each
    python bench/wal_reserve.py --runs 10 --advances 200

SQLite deletes the -wal file when the last connection closes, so a new server's
first commits grow it again, and each fdatasync then also writes the file's new
size to the filesystem journal.  ``SQLiteStore.prepare`` (run by the warm-up
after the handshake) writes the file's space ahead.  This times the first
advances of a fresh database in-process with and without it, alternating
(A B A B), in the system temp folder (a real disk; /dev/shm would show nothing).
"""

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import orchestrator_mcp as om  # noqa: E402
import rpc_bench  # noqa: E402


def first_advances(reserve: bool, advances: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        server, engine = om.create_app(om.Config.load(rpc_bench.ours_env(Path(tmp))))
        try:
            if reserve:
                engine.store.prepare()
            iid = engine.start("LOOP").instance_id
            times = []
            for _ in range(advances):
                began = time.perf_counter()
                engine.advance(iid, {"status": "again"})
                times.append((time.perf_counter() - began) * 1000)
            return times
        finally:
            engine.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--advances", type=int, default=150)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"machine: {rpc_bench.machine()}\n{rpc_bench.load()}")
    medians: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.runs):
        for reserve in (False, True):
            medians[reserve].append(statistics.median(first_advances(reserve, args.advances)))
    for reserve, values in medians.items():
        print(f"{'reserved' if reserve else 'growing '} WAL: p50 of the first {args.advances} advances "
              f"{statistics.median(values):.3f} ms (runs: {', '.join(f'{v:.3f}' for v in values)})")
    print(rpc_bench.load())


if __name__ == "__main__":
    main()
