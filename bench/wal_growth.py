"""What one durable SQLite commit costs while the WAL file grows, and after it has.

    python bench/wal_growth.py                 # 6,000 one-row commits in the temp folder
    python bench/wal_growth.py --dir /dev/shm  # where fsync costs nothing

The state store commits every change in WAL mode with ``synchronous=FULL``.  A
server's last connection checkpoints and deletes the WAL file on exit, so a new
server's first writes append to a growing file (each fdatasync also records the new
size) until the first checkpoint (1,000 pages) lets SQLite write over it from the
start.  Prints the median microseconds per commit of the first 1,000 commits and of
the last 3,000, plain ``sqlite3`` with nothing of ours in the way.  Never part of
the test run.
"""

import argparse
import os
import sqlite3
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default=None, help="folder for the database (default: the temp folder)")
    parser.add_argument("--commits", type=int, default=6000)
    args = parser.parse_args()
    if args.commits < 4000:
        parser.error("--commits must be at least 4000: the first 1,000 and the last 3,000 are compared")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        db = sqlite3.connect(os.path.join(tmp, "wal.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        samples = []
        for _ in range(args.commits):
            began = time.perf_counter_ns()
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO rows (body) VALUES (?)", ("x" * 200,))
            db.execute("COMMIT")
            samples.append(time.perf_counter_ns() - began)
        db.close()
    first = statistics.median(samples[:1000]) / 1000
    last = statistics.median(samples[-3000:]) / 1000
    print(f"one-row commit, WAL, synchronous=FULL, in {args.dir or tempfile.gettempdir()}:")
    print(f"  first 1,000 commits (the WAL file grows): {first:.0f} us median")
    print(f"  last 3,000 commits (written over):        {last:.0f} us median ({first / last:.2f}x less)")


if __name__ == "__main__":
    main()
