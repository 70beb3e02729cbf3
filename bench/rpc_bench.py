"""Tool-call latency over stdio with a raw JSON-RPC client, interleaved against the SDK's floor.

    python bench/rpc_bench.py                   # 6 rounds x 100 calls per tool, 10 cold starts
    python bench/rpc_bench.py --rounds 6 --calls 300 --cold 20
    python bench/rpc_bench.py --first-only --cold 20   # only the first-call table

The tool calls run twice: with the database in the temp folder (real fsync) and
then in /dev/shm (no real fsync, ``--no-fsync-dir``), so one run prints every
column of the README's table.  The /dev/shm pass also runs each case against a
floor that sends the very reply ours sent (``bare_server.py``'s ``canned``):
what the SDK spends on a reply of that size is then on both sides, and the
ratio shows our server-side work alone.

The client writes newline-delimited JSON-RPC to the server's stdin and reads its
stdout: no SDK client, so no client-side schema validation is in the time.  Two
servers run side by side for the whole run: orchestrator-mcp (stub decider, a
temporary SQLite file, the bundled workflows plus two tiny looping ones) and the
floor, ``bench/bare_server.py``, a bare ``MCPServer`` with one no-op tool.

Calls alternate one by one, floor then ours (A B A B ...), so machine load hits
both alike.  Each round gives a ratio, ours p50 / floor p50; the table quotes
the median of those per-round ratios.  "First call" spawns fresh processes
(again A B A B): initialize, ``notifications/initialized``, ``tools/list`` as a
client does, then the first tool call, timed alone.

Never part of the test run; no test asserts on time.  Writes bench/results/rpc.json.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT))
PROTOCOL = "2025-11-25"


def machine() -> str:
    """CPU model, cores, memory, Python and mcp versions: the machine the numbers belong to."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")) / 1024 / 1024
        memory = f", {mem:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = ""
    try:
        from importlib.metadata import version
        sdk = f", mcp {version('mcp')}"
    except Exception:  # noqa: BLE001 - a missing version only shortens the label
        sdk = ""
    return (f"{model} ({platform.machine()}), {os.cpu_count()} cores{memory}, {platform.system()}, "
            f"Python {platform.python_version()}{sdk}")


def load() -> str:
    try:
        return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "load average unknown"


class RawServer:
    """One server process driven by newline-delimited JSON-RPC over its stdin/stdout."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env={**os.environ, **env})
        self.next_id = 0

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """Send one request; return (seconds to its reply, the reply).  Encoding happens before the clock."""
        assert self.proc.stdin and self.proc.stdout
        self.next_id += 1
        data = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}).encode() + b"\n"
        began = time.perf_counter()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"server exited during {method}")
            if b'"id"' in line:  # skip notifications the server may send
                elapsed = time.perf_counter() - began
                break
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return elapsed, reply

    def initialize(self) -> float:
        elapsed, _ = self.request("initialize", {"protocolVersion": PROTOCOL, "capabilities": {},
                                                  "clientInfo": {"name": "rpc-bench", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return elapsed

    def call(self, tool: str, arguments: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        elapsed, reply = self.request("tools/call", {"name": tool, "arguments": arguments})
        result = reply["result"]
        if result.get("isError"):
            raise RuntimeError(f"{tool}: {result['content'][0]['text']}")
        return elapsed, result

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def loop_workflows(root: Path) -> Path:
    """LOOP: a self-loop by transition; STUBBY: a self-loop by the stub (status failure)."""
    files = {
        "LOOP/index.md": "# Loop\n1. [Loop](loop.md)\n",
        "LOOP/loop.md": "# Orchestrator Guidance\nLoop.\n# Client Instructions\nReport again.\n"
                        "# Transitions\n- again: Loop\n- stop: FINISH\n",
        "STUBBY/index.md": "# Stubby\n1. [Work](work.md)\n",
        "STUBBY/work.md": "# Orchestrator Guidance\nRepeat on failure.\n# Client Instructions\nWork.\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if not (root / rel).is_file() or (root / rel).read_text() != text:  # unchanged files keep their stamps
            (root / rel).write_text(text)
    return root


def ours_cmd() -> list[str]:
    return [sys.executable, str(ROOT / "orchestrator_mcp.py"), "serve"]


def floor_cmd() -> list[str]:
    return [sys.executable, str(HERE / "bare_server.py")]


def ours_env(tmp: Path) -> dict[str, str]:
    import orchestrator_mcp as om

    roots = os.pathsep.join([str(om.bundled_workflows_dir()), str(loop_workflows(tmp / "wf"))])
    return {"WORKFLOW_DB_PATH": str(tmp / "bench.sqlite"), "AI_PROVIDER": "stub",
            "WORKFLOW_DEFINITIONS_DIR": roots, "LOG_LEVEL": "warning"}


#: The row of the floor's own durable write (``bare_server.py``'s ``commit``).
DURABLE_FLOOR = "floor + one durable SQLite commit"


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def warm_calls(rounds: int, calls: int, tmp: Path, same_reply: bool = False) -> list[dict[str, Any]]:
    """Each case's calls interleaved with the floor's no-op.  With ``same_reply``, the
    rounds run again against a floor that returns the very reply ours last sent
    (``bare_server.py``'s ``canned``): that ratio leaves out what the SDK spends on
    the reply's size and shape, so what remains is our server-side work."""
    floor = RawServer(floor_cmd(), {"BARE_DB": str(tmp / "floor.sqlite")})
    ours = RawServer(ours_cmd(), ours_env(tmp))
    floor.initialize()
    ours.initialize()
    try:
        loop = ours.call("start_workflow", {"workflow_name": "LOOP"})[1]["structuredContent"]["instance_id"]
        stub = ours.call("start_workflow", {"workflow_name": "STUBBY"})[1]["structuredContent"]["instance_id"]
        fresh = ours.call("start_workflow", {"workflow_name": "LOOP"})[1]["structuredContent"]["instance_id"]
        long = ours.call("start_workflow", {"workflow_name": "LOOP"})[1]["structuredContent"]["instance_id"]
        for _ in range(600):
            ours.call("advance_workflow", {"instance_id": long, "report": {"status": "again"}})
        cases: list[tuple[str, str, dict[str, Any]]] = [
            ("advance_workflow (transition)", "advance_workflow", {"instance_id": loop, "report": {"status": "again"}}),
            ("advance_workflow (stub)", "advance_workflow", {"instance_id": stub, "report": {"status": "failure"}}),
            ("start_workflow", "start_workflow", {"workflow_name": "LOOP"}),
            ("get_workflow_status (10 history rows)", "get_workflow_status", {"instance_id": loop}),
            ("get_workflow_status (history_limit 0)", "get_workflow_status", {"instance_id": loop,
                                                                             "history_limit": 0}),
            ("get_workflow_status (limit 5, 1 history row)", "get_workflow_status", {"instance_id": fresh,
                                                                                   "history_limit": 5}),
            ("get_workflow_status (limit 5, 601 history rows)", "get_workflow_status", {"instance_id": long,
                                                                                      "history_limit": 5}),
            ("list_workflows (11 workflows)", "list_workflows", {}),
        ]
        # The floor with one durable write per call, against its own no-op: what
        # durability alone costs, for any server.  Its database first takes as many
        # writes as ours has (the WAL file grows to its working size once, then
        # commits overwrite it, which costs about half as much).
        cases.append((DURABLE_FLOOR, "commit", {}))
        for _ in range(1800):
            floor.call("commit", {})
        for _ in range(30):  # warm both: imports, caches, worker threads
            floor.call("noop", {})
            for _, tool, args in cases:
                (floor if tool == "commit" else ours).call(tool, args)
        samples: dict[str, list[list[tuple[float, float]]]] = {label: [] for label, _, _ in cases}
        sizes: dict[str, int] = {}
        replies: dict[str, Any] = {}
        for _ in range(rounds):
            for label, tool, args in cases:
                pairs = []
                server = floor if tool == "commit" else ours
                for _ in range(calls):
                    a, _ = floor.call("noop", {})
                    b, result = server.call(tool, args)
                    pairs.append((a, b))
                samples[label].append(pairs)
                sizes[label] = len(json.dumps(result, separators=(",", ":")))
                replies[label] = result
        same: dict[str, list[float]] = {}
        if same_reply:
            (tmp / "replies.json").write_text(json.dumps(replies))
            canned = RawServer(floor_cmd(), {"BARE_REPLIES": str(tmp / "replies.json")})
            canned.initialize()
            try:
                for _ in range(rounds):
                    for label, tool, args in cases[:-1]:
                        pairs = [(canned.call("canned", {"name": label})[0], ours.call(tool, args)[0])
                                 for _ in range(calls)]
                        same.setdefault(label, []).append(p50([b for _, b in pairs]) / p50([a for a, _ in pairs]))
            finally:
                canned.close()
    finally:
        floor.close()
        ours.close()
    rows = []
    for label, per_round in samples.items():
        floors = [a for pairs in per_round for a, _ in pairs]
        oursamples = [b for pairs in per_round for _, b in pairs]
        ratios = [p50([b for _, b in pairs]) / p50([a for a, _ in pairs]) for pairs in per_round]
        rows.append({"call": label, "floor_p50_ms": round(p50(floors), 3), "ours_p50_ms": round(p50(oursamples), 3),
                     "ours_p95_ms": round(sorted(oursamples)[int(0.95 * len(oursamples))] * 1000, 3),
                     "ratio_median": round(statistics.median(ratios), 2),
                     "ratio_range": f"{min(ratios):.2f}-{max(ratios):.2f}", "reply_bytes": sizes[label]})
        if label in same:
            rows[-1]["ratio_same_reply"] = round(statistics.median(same[label]), 2)
    return rows


def prime_parse_cache(env: dict[str, str]) -> None:
    """Run one server until its warm-up has written the parse cache, as any earlier run has.

    A file changed less than 2 s before a parse is not cached (its stamps may not
    show a second change within the same tick), so wait until the bench's own
    workflow files are older than that.
    """
    roots = env["WORKFLOW_DEFINITIONS_DIR"].split(os.pathsep)
    newest = max(p.stat().st_ctime for root in roots for p in Path(root).rglob("*"))
    time.sleep(max(0.0, newest + 2.2 - time.time()))
    server = RawServer(ours_cmd(), env)
    server.initialize()
    time.sleep(1.0)
    server.call("list_workflows", {})
    server.close()


def first_calls(runs: int, tmp: Path) -> list[dict[str, Any]]:
    """Fresh processes: spawn-to-initialize, then the first tool call after a client's tools/list.

    Measured twice: at once after tools/list (the worst case: the warm-up has
    had about a millisecond), and after a 0.2 s pause (an agent takes longer
    than that to choose its first tool call), each beside the floor's first call.
    The parse cache holds the library, as after any earlier run; the "no parse
    cache" rows turn it off (``WORKFLOW_PARSE_CACHE=off``), as on a first run or
    after every workflow changed.
    """
    env = ours_env(tmp)
    prime_parse_cache(env)
    uncached = {**env, "WORKFLOW_PARSE_CACHE": "off"}
    cases = [("noop", floor_cmd(), {}, "noop", {}),
             ("list_workflows", ours_cmd(), env, "list_workflows", {}),
             ("noop", floor_cmd(), {}, "noop", {}),
             ("start_workflow", ours_cmd(), env, "start_workflow", {"workflow_name": "REFACTOR_WITH_TESTS"}),
             ("noop", floor_cmd(), {}, "noop", {}),
             ("list_workflows, no parse cache", ours_cmd(), uncached, "list_workflows", {}),
             ("noop", floor_cmd(), {}, "noop", {}),
             ("start_workflow, no parse cache", ours_cmd(), uncached, "start_workflow",
              {"workflow_name": "REFACTOR_WITH_TESTS"})]
    init: dict[str, list[float]] = {}
    first: dict[tuple[float, str], list[float]] = {}
    for _ in range(runs):
        for pause in (0.0, 0.2):
            for label, cmd, cenv, tool, args in cases:
                began = time.perf_counter()
                server = RawServer(cmd, cenv)
                server.initialize()
                if "no parse cache" not in label:
                    init.setdefault("floor" if label == "noop" else "orchestrator-mcp", []).append(
                        time.perf_counter() - began)
                server.request("tools/list", {})
                time.sleep(pause)
                elapsed, _ = server.call(tool, args)
                first.setdefault((pause, label), []).append(elapsed)
                server.close()
    rows = []
    for pause in (0.0, 0.2):
        when = "at once after tools/list" if not pause else "0.2 s after tools/list"
        floor_first = p50(first[(pause, "noop")])
        rows.append({"first call": f"floor noop, {when}", "p50_ms": round(floor_first, 2), "x_floor": 1.0})
        rows += [{"first call": f"{label}, {when}", "p50_ms": round(p50(first[(pause, label)]), 2),
                  "x_floor": round(p50(first[(pause, label)]) / floor_first, 2)}
                 for label in ("list_workflows", "start_workflow", "list_workflows, no parse cache",
                               "start_workflow, no parse cache")]
    rows += [{"first call": f"({k}: spawn to initialize reply)", "p50_ms": round(p50(v), 1)} for k, v in init.items()]
    return rows


def table(title: str, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(c for r in rows for c in r))
    print(f"\n{title}")
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)))


TARGETS = {"advance_workflow (transition)": 1.2, "start_workflow": 1.2, "get_workflow_status (10 history rows)": 1.1,
           "list_workflows (11 workflows)": 1.2}


def markdown(warm: list[dict[str, Any]], first: list[dict[str, Any]],
             no_fsync: list[dict[str, Any]] | None = None) -> str:
    """The README's tables, from one run."""
    extra = " ours / floor, no fsync |" if no_fsync else ""
    same = any("ratio_same_reply" in r for r in (no_fsync or warm))
    extra += " no fsync, ours / a floor sending our reply |" if same else ""
    lines = ["| call | floor p50 ms | ours p50 ms | ours p95 ms | ours / floor (median of rounds) | rounds' range "
             "| target | reply bytes |" + extra,
             "|---|---|---|---|---|---|---|---|" + ("---|" if no_fsync else "") + ("---|" if same else "")]
    shm = {r["call"]: r for r in no_fsync or []}
    for r in warm:
        target = TARGETS.get(r["call"])
        cell = (f" {shm[r['call']]['ratio_median']:.2f}x ({shm[r['call']]['ratio_range']}) |"
                if r["call"] in shm else (" |" if no_fsync else ""))
        if same:
            other = shm.get(r["call"], r) if no_fsync else r
            cell += f" {other['ratio_same_reply']:.2f}x |" if "ratio_same_reply" in other else " |"
        name = (r["call"] if r["call"] == DURABLE_FLOOR
                else f"`{r['call'].split(' ')[0]}` {' '.join(r['call'].split(' ')[1:])}")
        lines.append(f"| {name} | {r['floor_p50_ms']:.3f} "
                     f"| {r['ours_p50_ms']:.3f} | {r['ours_p95_ms']:.3f} | **{r['ratio_median']:.2f}x** "
                     f"| {r['ratio_range']} | {f'<= {target}x' if target else ''} | {r['reply_bytes']:,} |" + cell)
    lines += ["", "| first tool call | p50 ms | vs the floor's first call |", "|---|---|---|"]
    for r in first:
        ratio = f"{r['x_floor']:.2f}x" if "x_floor" in r else ""
        lines.append(f"| {r['first call']} | {r['p50_ms']} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=100, help="calls per tool per round (each beside a floor call)")
    parser.add_argument("--cold", type=int, default=10, help="fresh-process runs for the first-call figures (0: skip)")
    parser.add_argument("--first-only", action="store_true", help="only the first-call figures")
    parser.add_argument("--db-dir", default=None, help="where the SQLite file goes (default: the system's temp "
                        "folder); /dev/shm (no real fsync) shows what durability costs")
    parser.add_argument("--no-fsync-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else "",
                        help="after the main run, run the tool calls again with the database here, for the "
                             "table's no-fsync column (default /dev/shm when it exists; '' skips it)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"before: {load()}")
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        warm = [] if args.first_only else warm_calls(args.rounds, args.calls, Path(tmp))
        mid = load()
        cold = first_calls(args.cold, Path(tmp)) if args.cold else []
    after = load()
    no_fsync: list[dict[str, Any]] = []
    if args.no_fsync_dir and args.no_fsync_dir != args.db_dir and not args.first_only:
        with tempfile.TemporaryDirectory(dir=args.no_fsync_dir) as tmp:
            no_fsync = warm_calls(args.rounds, args.calls, Path(tmp), same_reply=True)
    table(f"Tool calls over stdio, raw JSON-RPC client, {args.rounds} rounds x {args.calls} calls, "
          "interleaved with the floor", warm)
    table(f"First call after initialize ({args.cold} fresh processes each, interleaved)", cold)
    if no_fsync:
        table(f"The same tool calls with the database in {args.no_fsync_dir} (no real fsync)", no_fsync)
    print(f"\nafter warm calls: {mid}\nafter first calls: {after}\nat the end: {load()}")
    print("\nREADME tables:\n\n" + markdown(warm, cold, no_fsync))
    RESULTS.mkdir(exist_ok=True)
    name = "rpc-first.json" if args.first_only else "rpc.json" if not args.db_dir else "rpc-dbdir.json"
    (RESULTS / name).write_text(json.dumps(
        {"machine": machine(), "load": [mid, after], "rounds": args.rounds, "calls": args.calls, "warm": warm,
         "first": cold, "no_fsync": no_fsync, "no_fsync_dir": args.no_fsync_dir}, indent=2))


if __name__ == "__main__":
    main()
