"""Where a tool call's time goes, stage by stage, in-process, beside the floor's no-op.

    python bench/profile_calls.py            # 2,000 repetitions per stage
    python bench/profile_calls.py --n 5000

It builds the real server (``create_app``, stub decider, a temporary SQLite
file) and the floor (``bench/bare_server.py``) and times, for one call of each
tool, the stages the SDK runs on the event loop or on its worker thread:

- argument validation: the SDK's pydantic model of the tool's arguments;
- the tool body: our engine, of which SQLite (every ``StateStore`` call,
  commit and fsync included) is shown apart, plus building the reply;
- output conversion: what the SDK does to the returned object, text encoding
  and output-schema validation included;
- wire encoding: the JSON-RPC response the stdio transport writes.

"SDK dispatch" is what remains of the stdio round trip measured by
``bench/rpc_bench.py`` (reading, parsing, routing, middleware, thread hops,
writing).  Medians in microseconds; the machine is shared, so read them as
proportions.  Uses SDK internals (``_tool_manager``), which is fine for a
benchmark and never done by the module.
"""

import argparse
import importlib.util
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
import orchestrator_mcp as om  # noqa: E402
import rpc_bench  # noqa: E402


def median_us(n: int, fn: Callable[[], Any]) -> float:
    samples = []
    for _ in range(n):
        began = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - began)
    return statistics.median(samples) / 1000


class SqliteClock:
    """Wrap every StateStore method so the time spent in SQLite can be told apart."""

    def __init__(self, store: om.StateStore) -> None:
        self.spent = 0
        for name in ("get", "history", "with_history", "last_accepted", "update", "create", "append", "list"):
            original = getattr(store, name)
            setattr(store, name, self._timed(original))

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent += time.perf_counter_ns() - began
        return timed


def stages(server: Any, tool_name: str, arguments: dict[str, Any], n: int,
           clock: SqliteClock | None) -> dict[str, float]:
    from mcp.server.runner import _dump_result
    from mcp_types import JSONRPCResponse

    tool = server._tool_manager.get_tool(tool_name)
    meta = tool.fn_metadata
    validated = meta.validate_arguments(arguments)
    out: dict[str, float] = {"argument validation": median_us(n, lambda: meta.validate_arguments(arguments))}
    bodies, sqlite = [], []
    for _ in range(n):
        before = clock.spent if clock else 0
        began = time.perf_counter_ns()
        result = tool.fn(**validated)
        bodies.append(time.perf_counter_ns() - began)
        sqlite.append((clock.spent - before) if clock else 0)
    out["tool body: SQLite"] = statistics.median(sqlite) / 1000
    out["tool body: engine and reply"] = statistics.median(bodies) / 1000 - out["tool body: SQLite"]
    converted = meta.convert_result(result)
    out["output conversion (SDK)"] = median_us(n, lambda: meta.convert_result(result))
    if meta.output_model is not None and converted.structured_content is not None:
        adapter = meta._output_adapter(meta.output_model)
        payload = converted.structured_content if isinstance(result, type(converted)) else result
        out["  of which output-schema validation"] = median_us(n, lambda: adapter.validate_python(payload))
    else:
        out["  of which output-schema validation"] = 0.0
    out["wire encoding (SDK)"] = median_us(n, lambda: JSONRPCResponse(
        jsonrpc="2.0", id=1, result=_dump_result(converted)).model_dump_json(by_alias=True, exclude_unset=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--db-dir", default=None, help="where the SQLite file goes (/dev/shm: no real fsync)")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the engine's per-call info lines would time stderr, not the call
    print(f"machine: {rpc_bench.machine()}\n{rpc_bench.load()}")
    spec = importlib.util.spec_from_file_location("bare_server", HERE / "bare_server.py")
    bare = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(bare)  # type: ignore[union-attr]
    rows: dict[str, dict[str, float]] = {"floor noop": stages(bare.server, "noop", {}, args.n, None)}
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        env = rpc_bench.ours_env(Path(tmp))
        config = om.Config.load(env)
        server, engine = om.create_app(config)
        clock = SqliteClock(engine.store)
        loop = engine.start("LOOP").instance_id
        status_id = engine.start("LOOP").instance_id
        for _ in range(20):
            engine.advance(status_id, {"status": "again"})
        cases = {"advance (transition)": ("advance_workflow", {"instance_id": loop, "report": {"status": "again"}}),
                 "start_workflow": ("start_workflow", {"workflow_name": "LOOP"}),
                 "get_workflow_status": ("get_workflow_status", {"instance_id": status_id}),
                 "list_workflows": ("list_workflows", {})}
        for label, (tool, arguments) in cases.items():
            rows[label] = stages(server, tool, arguments, args.n if tool != "start_workflow" else args.n // 2, clock)
        engine.store.close()
    names = list(next(iter(rows.values())))
    width = max(map(len, names))
    print("\nmedian microseconds per stage, in-process\n")
    print("stage".ljust(width) + "".join(f"  {k:>21}" for k in rows))
    for name in names:
        print(name.ljust(width) + "".join(f"  {rows[k][name]:>21.1f}" for k in rows))
    total = {k: sum(v for s, v in r.items() if not s.startswith("  ")) for k, r in rows.items()}
    print("sum".ljust(width) + "".join(f"  {total[k]:>21.1f}" for k in rows))


if __name__ == "__main__":
    main()
