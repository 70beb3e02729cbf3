"""Scale-out benchmark: SQLite vs PostgreSQL (1 and 2 replicas), and history scaling on PostgreSQL.

    python bench/scale_out.py                  # both parts (a few minutes)
    python bench/scale_out.py throughput       # or: history

Needs the [postgres] extra and PostgreSQL server binaries (Debian's ``postgresql``
package); the server is started here as a throwaway cluster, with fsync on (the
same durability SQLite gets from synchronous=FULL), on a loopback port.

* throughput: 8 concurrent clients over streamable HTTP, each advancing its own
  instance (a transition self-loop), against: one SQLite server; one server on
  PostgreSQL; two servers on one PostgreSQL database with the clients' calls
  spread round-robin over both (what a load balancer does).  The three set-ups
  run interleaved, ROUNDS times, so machine noise hits all alike; the table shows
  per-call p50/p95 over all rounds and the median throughput of the rounds.
* history: one server on PostgreSQL with 0 to 1,000,000 history rows generated
  by SQL; p50 of advance, status and list_instances over HTTP.

Never part of the test run.  Prints tables, writes bench/results/scale_out*.json.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
import orchestrator_mcp as om  # noqa: E402
from run_benchmarks import loop_workflows, percentiles, save, table  # noqa: E402
from test_orchestrator import PgCluster, free_port  # noqa: E402

CLIENTS = 8


class Replica:
    """``orchestrator-mcp serve --transport http`` as a process."""

    def __init__(self, env: dict[str, str]) -> None:
        import socket

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "orchestrator_mcp.py"), "serve", "--transport",
                                      "http", "--port", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env={**os.environ, "AI_PROVIDER": "stub",
                                                                     "LOG_LEVEL": "warning", **env})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class HttpClient:
    """An MCP client in plain HTTP: initialises once per server (keeping the
    session id when the server hands one out), then posts tools/call."""

    def __init__(self) -> None:
        import requests

        self.http = requests.Session()
        self.sessions: dict[str, str | None] = {}

    def reconnect(self) -> None:
        """Drop idle keep-alive connections: the server closes them after 5 s idle,
        and a POST racing that close would fail."""
        import requests

        self.http.close()
        self.http = requests.Session()

    def _post(self, url: str, message: dict[str, Any], sid: str | None) -> Any:
        headers = {"Accept": "application/json, text/event-stream"}
        if sid:
            headers["Mcp-Session-Id"] = sid
        response = self.http.post(url, json=message, headers=headers, timeout=60)
        response.raise_for_status()
        return response

    def tool(self, url: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        import json

        if url not in self.sessions:
            init = self._post(url, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}},
                None)
            sid = init.headers.get("mcp-session-id")
            if sid:
                self._post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
            self.sessions[url] = sid
        response = self._post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                    "params": {"name": name, "arguments": arguments}}, self.sessions[url])
        data = [ln[5:] for ln in response.text.splitlines() if ln.startswith("data:")]
        result = json.loads(data[-1] if data else response.text)["result"]
        if result.get("isError"):
            raise RuntimeError(result["content"][0]["text"])
        return result["structuredContent"]


def burst(urls: list[str], clients: list[HttpClient], ids: list[str], calls: int) -> tuple[list[float], float]:
    """Each client advances its own instance ``calls`` times, all at once; the
    calls of every client rotate over ``urls``.  Returns latencies and wall time."""
    samples: list[list[float]] = [[] for _ in clients]
    errors: list[BaseException] = []
    for c in clients:
        c.reconnect()

    def run(k: int) -> None:
        try:
            for i in range(calls):
                began = time.perf_counter()
                clients[k].tool(urls[(k + i) % len(urls)], "advance_workflow",
                                {"instance_id": ids[k], "report": {"status": "again"}})
                samples[k].append(time.perf_counter() - began)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(clients))]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    if errors:
        raise errors[0]
    return [s for per in samples for s in per], wall


def bench_throughput(cluster: PgCluster, tmp: Path, rounds: int, calls: int) -> list[dict[str, Any]]:
    root = loop_workflows(tmp / "wf")
    base = {"WORKFLOW_DEFINITIONS_DIR": str(root)}
    one_url, two_url = cluster.fresh_url(), cluster.fresh_url()
    setups = {
        "SQLite, 1 server": [Replica({**base, "WORKFLOW_DB_PATH": str(tmp / "bench.sqlite")})],
        "PostgreSQL, 1 replica": [Replica({**base, "WORKFLOW_DB_URL": one_url})],
        "PostgreSQL, 2 replicas": [Replica({**base, "WORKFLOW_DB_URL": two_url}) for _ in range(2)],
    }
    try:
        state: dict[str, tuple[list[str], list[HttpClient], list[str]]] = {}
        for name, replicas in setups.items():
            urls = [r.url for r in replicas]
            clients = [HttpClient() for _ in range(CLIENTS)]
            ids = [c.tool(urls[0], "start_workflow", {"workflow_name": "LOOP"})["instance_id"] for c in clients]
            burst(urls, clients, ids, 10)  # warm-up: connections, sessions, pools
            state[name] = (urls, clients, ids)
        latencies: dict[str, list[float]] = {name: [] for name in setups}
        rates: dict[str, list[float]] = {name: [] for name in setups}
        for _ in range(rounds):
            for name in setups:  # interleaved: each round runs every set-up once
                samples, wall = burst(*state[name], calls)
                latencies[name] += samples
                rates[name].append(len(samples) / wall)
    finally:
        for replicas in setups.values():
            for r in replicas:
                r.stop()
    rows = []
    base_rate = statistics.median(rates["SQLite, 1 server"])
    for name in setups:
        p = percentiles(latencies[name])
        rate = statistics.median(rates[name])
        rows.append({"setup": name, "advances": p["n"], "p50_ms": p["p50_ms"], "p95_ms": p["p95_ms"],
                     "advances_per_s": round(rate, 1), "x_sqlite": round(rate / base_rate, 2)})
    table(f"Advance over HTTP, {CLIENTS} concurrent clients, {rounds} interleaved rounds of {calls} calls each",
          rows, ["setup", "advances", "p50_ms", "p95_ms", "advances_per_s", "x_sqlite"])
    save("scale_out_throughput", rows)
    return rows


def fill_postgres(url: str, history_rows: int, instances: int) -> None:
    """Generate instances and history with SQL (``generate_series``), fast."""
    import psycopg

    om.PostgresStore(url).open().close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO workflow_instances (instance_id, workflow_name, current_step_name, status, context, "
            "version, definition_hash, created_at, updated_at) "
            "SELECT 'gen' || lpad(i::text, 8, '0'), 'LOOP', 'Loop', "
            "CASE WHEN i %% 3 = 0 THEN 'COMPLETED' ELSE 'RUNNING' END, '{\"k\": 1}', i %% 7, 'h', "
            "'2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'::timestamptz + (i %% 3600) * interval '1 second' "
            "FROM generate_series(1, %s) AS i", (instances,))
        conn.execute(
            "INSERT INTO workflow_history (instance_id, timestamp, step_name, user_report, outcome_status, "
            "determined_next_step, decided_by, reasoning) "
            "SELECT 'gen' || lpad(((i %% %s) + 1)::text, 8, '0'), '2025-01-01T00:00:00Z', 'Loop', "
            "'{\"status\": \"again\"}', 'again', 'Loop', 'transition', 'generated' "
            "FROM generate_series(1, %s) AS i", (max(1, instances), history_rows))
        conn.execute("ANALYZE")


def bench_history(cluster: PgCluster, tmp: Path, calls: int) -> list[dict[str, Any]]:
    root = loop_workflows(tmp / "wf-history")
    sizes = [(0, 0), (10, 10), (10_000, 1_000), (1_000_000, 100_000)]
    rows = []
    for history_rows, instances in sizes:
        url = cluster.fresh_url()
        began = time.perf_counter()
        fill_postgres(url, history_rows, instances)
        made = time.perf_counter() - began
        replica = Replica({"WORKFLOW_DEFINITIONS_DIR": str(root), "WORKFLOW_DB_URL": url})
        try:
            client = HttpClient()
            iid = client.tool(replica.url, "start_workflow", {"workflow_name": "LOOP"})["instance_id"]
            timings: dict[str, list[float]] = {"advance": [], "status": [], "list_instances": []}
            calls_by_name = {
                "advance": ("advance_workflow", {"instance_id": iid, "report": {"status": "again"}}),
                "status": ("get_workflow_status", {"instance_id": iid}),
                "list_instances": ("list_instances", {})}
            for name, (tool, args) in calls_by_name.items():
                for _ in range(20):  # warm-up
                    client.tool(replica.url, tool, args)
            for _ in range(calls):
                for name, (tool, args) in calls_by_name.items():
                    began = time.perf_counter()
                    client.tool(replica.url, tool, args)
                    timings[name].append(time.perf_counter() - began)
        finally:
            replica.stop()
        rows.append({"history_rows": history_rows, "instances": instances, "fill_s": round(made, 1),
                     **{f"{k} p50_ms": percentiles(v)["p50_ms"] for k, v in timings.items()}})
    for r in rows:
        r["advance x_empty"] = round(r["advance p50_ms"] / rows[0]["advance p50_ms"], 2)
    table(f"PostgreSQL history scaling: p50 over {calls} calls each, one client over HTTP", rows,
          ["history_rows", "instances", "fill_s", "advance p50_ms", "status p50_ms", "list_instances p50_ms",
           "advance x_empty"])
    save("scale_out_history", rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", choices=["throughput", "history", []], default=[])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=50, help="advances per client per round")
    parser.add_argument("--history-calls", type=int, default=200)
    args = parser.parse_args()
    args.parts = args.parts or ["throughput", "history"]
    cluster = PgCluster(durable=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if "throughput" in args.parts:
                bench_throughput(cluster, Path(tmp), args.rounds, args.calls)
            if "history" in args.parts:
                bench_history(cluster, Path(tmp), args.history_calls)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
