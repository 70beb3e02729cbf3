"""Benchmarks for orchestrator-mcp: print tables, write bench/results/*.json.

    python bench/run_benchmarks.py                 # everything (a few minutes)
    python bench/run_benchmarks.py startup scale   # some of: startup scale cache economy

Per-call latency against the SDK's floor is ``bench/rpc_bench.py`` (a raw
JSON-RPC client, calls interleaved with the floor); where that time goes is
``bench/profile_calls.py``.

Never part of the test run. Numbers depend on the machine; the README quotes
one run with the machine it ran on.
"""

import argparse
import re
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
import orchestrator_mcp as om  # noqa: E402

RESULTS = HERE / "results"


# -- small helpers -------------------------------------------------------------


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"n": len(ordered), "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}


def table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    print(f"\n{title}")
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)))


def save(name: str, data: Any) -> None:
    RESULTS.mkdir(exist_ok=True)
    payload = {"machine": machine(), "time": om.utcnow(), "data": data}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))


def machine() -> str:
    from rpc_bench import machine as described

    return described()


def loop_workflows(root: Path) -> Path:
    """LOOP and STUBBY, the self-looping workflows the raw-client benchmark uses too."""
    from rpc_bench import loop_workflows as shared

    return shared(root)


# -- start-up -------------------------------------------------------------------------


def time_to_initialize(cmd: list[str], env: dict[str, str]) -> float:
    init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, **env}, text=True)
    assert proc.stdin and proc.stdout
    proc.stdin.write(init + "\n")
    proc.stdin.flush()
    proc.stdout.readline()
    elapsed = time.perf_counter() - began
    proc.kill()
    proc.wait()
    return elapsed


def bench_startup(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"WORKFLOW_DB_PATH": str(Path(tmp) / "s.sqlite"), "AI_PROVIDER": "stub", "LOG_LEVEL": "warning"}
        ours, bare, version = [], [], []
        for _ in range(runs):  # interleaved: A B A B, so load hits both alike
            ours.append(time_to_initialize([sys.executable, str(ROOT / "orchestrator_mcp.py")], env))
            bare.append(time_to_initialize([sys.executable, str(HERE / "bare_server.py")], env))
            began = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "orchestrator_mcp.py"), "--version"], capture_output=True)
            version.append(time.perf_counter() - began)
    rows = [{"what": "bare MCPServer: spawn to initialize reply", "median_s": round(statistics.median(bare), 3)},
            {"what": "orchestrator-mcp: spawn to initialize reply", "median_s": round(statistics.median(ours), 3)},
            {"what": "orchestrator-mcp --version", "median_s": round(statistics.median(version), 3)}]
    rows[1]["vs_bare_s"] = round(statistics.median(ours) - statistics.median(bare), 3)
    table(f"Start-up (median of {runs})", rows, ["what", "median_s", "vs_bare_s"])
    save("startup", rows)
    return {"rows": rows}


# -- scale -------------------------------------------------------------------------------


def fill(db: Path, history_rows: int, instances: int) -> None:
    """Generate instances and history rows with SQL, fast."""
    om.StateStore(db).open().close()
    conn = sqlite3.connect(str(db))
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO workflow_instances (instance_id, workflow_name, current_step_name, status, context, "
        "created_at, updated_at, version, definition_hash) "
        "SELECT printf('gen%08d', i), 'LOOP', 'Loop', CASE WHEN i % 3 = 0 THEN 'COMPLETED' ELSE 'RUNNING' END, "
        "'{\"k\": 1}', '2025-01-01T00:00:00.000Z', printf('2025-01-01T00:%02d:%02d.000Z', (i / 60) % 60, i % 60), "
        "i % 7, 'h' FROM n", (instances,))
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO workflow_history (instance_id, timestamp, step_name, user_report, outcome_status, "
        "determined_next_step, decided_by, reasoning) "
        "SELECT printf('gen%08d', (i % ?) + 1), '2025-01-01T00:00:00.000Z', 'Loop', '{\"status\": \"again\"}', "
        "'again', 'Loop', 'transition', 'generated' FROM n", (history_rows, max(1, instances)))
    conn.commit()
    conn.close()


def measure_scale(env: dict[str, str], n: int) -> dict[str, float]:
    """p50 of each call on a pre-filled database, each call beside a floor no-op (raw JSON-RPC, A B A B)."""
    from rpc_bench import RawServer, floor_cmd, ours_cmd

    floor, ours = RawServer(floor_cmd(), {}), RawServer(ours_cmd(), env)
    floor.initialize()
    ours.initialize()
    try:
        loop = ours.call("start_workflow", {"workflow_name": "LOOP"})[1]["structuredContent"]["instance_id"]
        cases = {"start_workflow": ("start_workflow", {"workflow_name": "LOOP"}),
                 "advance (transition)": ("advance_workflow", {"instance_id": loop, "report": {"status": "again"}}),
                 "get_workflow_status": ("get_workflow_status", {"instance_id": "gen00000001"}),
                 "list_instances": ("list_instances", {})}
        if env.get("SCALE_EMPTY"):
            cases["get_workflow_status"] = ("get_workflow_status", {"instance_id": loop})
        for _ in range(20):
            floor.call("noop", {})
            for tool, args in cases.values():
                ours.call(tool, args)
        out: dict[str, float] = {}
        floor_all: list[float] = []
        for label, (tool, args) in cases.items():
            samples = []
            for _ in range(n):
                floor_all.append(floor.call("noop", {})[0])
                samples.append(ours.call(tool, args)[0])
            out[label] = round(statistics.median(samples) * 1000, 3)
        out["floor"] = round(statistics.median(floor_all) * 1000, 3)
        return out
    finally:
        floor.close()
        ours.close()


def bench_scale(n: int) -> dict[str, Any]:
    sizes = [(0, 0), (10, 10), (10_000, 1_000), (1_000_000, 100_000)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = loop_workflows(Path(tmp) / "wf")
        for history_rows, instances in sizes:
            db = Path(tmp) / f"scale-{history_rows}.sqlite"
            began = time.perf_counter()
            fill(db, history_rows, instances)
            made = time.perf_counter() - began
            env = {"WORKFLOW_DB_PATH": str(db), "AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(root),
                   "LOG_LEVEL": "warning", **({"SCALE_EMPTY": "1"} if not instances else {})}
            measured = measure_scale(env, n)
            rows.append({"history_rows": history_rows, "instances": instances, "fill_s": round(made, 1),
                         "floor p50_ms": measured.pop("floor"), **{f"{k} p50_ms": v for k, v in measured.items()}})
    base = rows[0]
    for r in rows:
        r["advance x_empty"] = round(r["advance (transition) p50_ms"] / base["advance (transition) p50_ms"], 2)
    columns = ["history_rows", "instances", "floor p50_ms", "start_workflow p50_ms", "advance (transition) p50_ms",
               "get_workflow_status p50_ms", "list_instances p50_ms", "advance x_empty"]
    table(f"Scale: p50 over {n} calls by database size (raw JSON-RPC, each call beside a floor no-op)", rows,
          columns)
    save("scale", rows)
    return {"rows": rows}


# -- definition cache ------------------------------------------------------------------------


def bench_cache(iterations: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        steps = 200
        (root / "BIG/steps").mkdir(parents=True)
        (root / "BIG/index.md").write_text("# Big\n## Steps\n" + "".join(
            f"{i}. [Step {i}](steps/s{i}.md)\n" for i in range(1, steps + 1)))
        for i in range(1, steps + 1):
            nxt = f"Step {i + 1}" if i < steps else "FINISH"
            (root / f"BIG/steps/s{i}.md").write_text(
                f"# Orchestrator Guidance\nGo on to `{nxt}`.\n# Client Instructions\nDo step {i}.\n"
                f"```bash\n# a comment, not a heading\nmake step-{i}\n```\n# Transitions\n- success: {nxt}\n")
        library = om.Library([root])
        library.load("BIG")
        watched = []
        for _ in range(iterations):
            began = time.perf_counter()
            library.load("BIG")
            watched.append(time.perf_counter() - began)
        stat_only = om.Library([root], watch=False)
        stat_only.load("BIG")
        unchanged, changed = [], []
        target = root / "BIG/steps/s100.md"
        for k in range(iterations):
            began = time.perf_counter()
            stat_only.load("BIG")
            unchanged.append(time.perf_counter() - began)
            target.write_text(target.read_text() + f"\n<!-- edit {k} -->\n")
            began = time.perf_counter()
            stat_only.load("BIG")
            changed.append(time.perf_counter() - began)
    rows = [{"case": "200-step workflow, no change, folders watched (inotify)", **percentiles(watched)},
            {"case": "200-step workflow, no change, stat signature (no inotify)", **percentiles(unchanged)},
            {"case": "200-step workflow, one file changed (full re-parse)", **percentiles(changed)}]
    table(f"Definition cache ({iterations} loads each)", rows, ["case", "p50_ms", "p95_ms", "p99_ms"])
    save("cache", rows)
    return {"rows": rows}


# -- LLM economy -------------------------------------------------------------------------------


class CountingLLM:
    """A Gemini-speaking stand-in that picks the first candidate that moves on (or
    stays, for a report of status ``progress``) and counts requests and bytes."""

    def __init__(self) -> None:
        bench = self
        self.prompt_bytes: list[int] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["contents"][0]["parts"][0]["text"]
                bench.prompt_bytes.append(len(json.dumps(body).encode()))
                names = body["generationConfig"]["responseJsonSchema"]["properties"]["next_step_name"]["enum"]
                found = re.search(r'Current step: "([^"]+)"', prompt)
                current = found.group(1) if found else ""
                # the first candidate that moves on (the author's routes come first)
                choice = next((n for n in names if n not in (current, "FAILED")), "FINISH")
                if '"status": "progress"' in prompt:  # the growth run: stay on the step
                    choice = current
                answer = {"reasoning": "first candidate", "next_step_name": choice, "context_updates": []}
                data = json.dumps({"candidates": [{"content": {"parts": [{"text": json.dumps(answer)}]},
                                                   "finishReason": "STOP"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


# a value of each `# Report` type, for steps that require evidence
EVIDENCE_SAMPLE = {"text": "done", "integer": 0, "number": 0, "boolean": True, "list": []}


def bench_economy() -> dict[str, Any]:
    llm = CountingLLM()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config = om.Config.load({"AI_PROVIDER": "gemini", "GEMINI_API_KEY": "bench-key", "AI_SERVICE_ENDPOINT": llm.url,
                                 "WORKFLOW_DB_PATH": str(Path(tmp) / "eco.sqlite")})
        engine = om.Engine(om.Library([om.bundled_workflows_dir(), loop_workflows(Path(tmp) / "wf")]),
                           om.StateStore(config.db_path).open(), om.make_decider(config))
        for name in om.Library([om.bundled_workflows_dir()]).names():
            llm.prompt_bytes.clear()
            progress = engine.start(name)
            decided: dict[str, int] = {}
            for _ in range(50):
                if progress.status != om.RUNNING:
                    break
                evidence = {f.name: EVIDENCE_SAMPLE[f.type] for f in progress.next_step.report_fields if f.required}
                progress = engine.advance(progress.instance_id, {"step_id": progress.next_step.step_name,
                                                                 "status": "success", **evidence})
                decided[progress.decided_by] = decided.get(progress.decided_by, 0) + 1
            calls = len(llm.prompt_bytes)
            rows.append({"workflow": name, "advances": sum(decided.values()), "by transition": decided.get("transition", 0),
                         "llm calls": calls, "mean prompt bytes": round(statistics.mean(llm.prompt_bytes)) if calls else 0,
                         "status": progress.status})
        llm.prompt_bytes.clear()
        progress = engine.start("STUBBY")
        for _ in range(200):
            progress = engine.advance(progress.instance_id, {"status": "progress", "details": "x" * 200})
        growth = {f"call {k}": llm.prompt_bytes[k - 1] for k in (1, 5, 10, 50, 100, 200)}
    table("LLM economy: each bundled workflow to FINISH, every report 'success'", rows,
          ["workflow", "advances", "by transition", "llm calls", "mean prompt bytes", "status"])
    table("Prompt size as history grows (bytes of the request body)", [growth], list(growth))
    save("economy", {"workflows": rows, "growth": growth})
    return {"rows": rows, "growth": growth}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", default=["startup", "scale", "cache", "economy"])
    parser.add_argument("--calls", type=int, default=1000, help="sets the calls per size in scale (a third)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    jobs = {"startup": lambda: bench_startup(10),
            "scale": lambda: bench_scale(max(100, args.calls // 3)), "cache": lambda: bench_cache(100),
            "economy": bench_economy}
    for name in args.which:
        jobs[name]()


if __name__ == "__main__":
    main()
