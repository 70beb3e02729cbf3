"""Routing accuracy when the calling agent decides, beside the server-side LLM.

Drives the bundled workflow scenarios (``workflows/*/tests/*.md``, the ones with
LLM cases) through a real MCP client session twice, interleaved per scenario:

* ``llm``:   ``AI_PROVIDER=openai`` against a local OpenAI-compatible server: the
             server asks the model when no transition matches;
* ``agent``: ``AI_PROVIDER=agent``: the server returns a ``routing_question`` and
             the *same* model, playing the client's agent, reads the tool result
             (its ``next_step.instructions``, which state the question) and answers
             by calling the same tool again with ``report.choose_step``.  An invalid
             choice gets the server's ``INVALID_ARGUMENT`` (which lists the
             candidates) back once, as a client's model would see it.

A case is right when the run lands on the expected step in the expected state.
A wrong case ends its scenario (later cases assumed that routing), exactly as
``orchestrator-mcp test`` does.

    bash /work/shared/real-llm/start_server.sh            # or LLM_PORT=8090 ...
    .venv/bin/python bench/agent_routing.py --endpoint http://127.0.0.1:8090/v1

Prints a table per workflow and writes every case to ``--out`` (JSON lines).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import anyio  # noqa: E402
import requests  # noqa: E402

import orchestrator_mcp as om  # noqa: E402

AGENT_SYSTEM = (
    "You are a coding agent working through a workflow with an MCP server. The server's last tool result "
    "asks you to decide the next step. Read it and answer with JSON: choose_step must be exactly one of the "
    "candidate step names it lists, reasoning one short sentence."
)
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "choose_step": {"type": "string"}},
    "required": ["reasoning", "choose_step"],
    "additionalProperties": False,
}


def ask_agent_model(endpoint: str, model: str, messages: list[dict[str, str]], timeout: float) -> dict[str, Any]:
    """The client's model: one chat completion, JSON-shaped (the tool call it would make)."""
    body = {"model": model, "temperature": 0, "messages": [{"role": "system", "content": AGENT_SYSTEM}, *messages],
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "tool_call", "schema": ANSWER_SCHEMA, "strict": True}}}
    for attempt in range(5):  # the local server takes one request at a time: wait politely when busy
        try:
            resp = requests.post(f"{endpoint}/chat/completions", json=body, timeout=timeout)
        except requests.RequestException:
            time.sleep(2 + 3 * attempt)
            continue
        if resp.status_code == 200:
            text = resp.json()["choices"][0]["message"]["content"]
            try:
                data = json.loads(text)
            except ValueError:
                return {"choose_step": text.strip()[:100], "reasoning": ""}
            return data if isinstance(data, dict) else {"choose_step": str(data), "reasoning": ""}
        time.sleep(2 + 3 * attempt)
    raise RuntimeError(f"the model server at {endpoint} did not answer")


def structured(result: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(structured result, error body) of a tool call."""
    if result.is_error:
        return None, json.loads(result.content[0].text)["error"]
    return result.structured_content, None


async def drive(arm: str, config: om.Config, wf: om.WorkflowDef, scenario: Any, args: argparse.Namespace,
                rows: list[dict[str, Any]]) -> None:
    from mcp import Client

    server, engine = om.create_app(config)
    try:
        async with Client(server) as c:
            progress, error = structured(await c.call_tool("start_workflow", {
                "workflow_name": wf.name, "context": scenario.context}))
            if error:
                raise RuntimeError(error)
            for case in scenario.cases:
                at = progress["next_step"]["step_name"]
                if case.kind == "report":
                    tool = "advance_workflow"
                    call = {"instance_id": progress["instance_id"], "context_updates": case.context_updates,
                            "report": om.typed_evidence(wf.step(at), {"step_id": at, **case.report})}
                else:
                    tool = "resume_workflow"
                    call = {"instance_id": progress["instance_id"], "context_updates": case.context_updates,
                            "assumed_current_step_name": case.assumed_step or "", "report": dict(case.report)}
                started = time.perf_counter()
                got, error = structured(await c.call_tool(tool, call))
                asked = invalid = 0
                if arm == "agent" and got and got.get("routing_question"):
                    messages = [{"role": "user", "content": got["next_step"]["instructions"]}]
                    for _ in range(2):
                        answer = await anyio.to_thread.run_sync(
                            lambda: ask_agent_model(args.endpoint, args.model, messages, args.timeout))
                        asked += 1
                        again = {**call, "report": {**call["report"], "choose_step": str(answer.get("choose_step")),
                                                    "reasoning": str(answer.get("reasoning", ""))[:300]}}
                        got, error = structured(await c.call_tool(tool, again))
                        if error and error["code"] == "INVALID_ARGUMENT" and "candidates" in error:
                            invalid += 1
                            messages += [{"role": "assistant", "content": json.dumps(answer)},
                                         {"role": "user", "content": json.dumps({"error": error})}]
                            continue
                        break
                latency = time.perf_counter() - started
                right = bool(got) and case.accepts(got["next_step"]["step_name"], got["status"])
                rows.append({"arm": arm, "workflow": wf.name, "scenario": scenario.name, "line": case.line,
                             "llm_case": case.llm, "kind": case.kind, "at": at, "right": right,
                             "expected": list(case.expect), "got": got["next_step"]["step_name"] if got else None,
                             "decided_by": got["decided_by"] if got else None,
                             "error": error["message"][:200] if error else None,
                             "agent_calls": asked, "invalid_choices": invalid, "latency_s": round(latency, 3)})
                if not right:
                    return
                progress = got
    finally:
        engine.store.close()


def summarize(rows: list[dict[str, Any]], arms: list[str]) -> str:
    out = []
    workflows = sorted({r["workflow"] for r in rows})
    judged = lambda arm, wf=None: [r for r in rows if r["arm"] == arm and r["decided_by"] != "transition"  # noqa: E731
                                   and (wf is None or r["workflow"] == wf)]
    llm_cases = lambda arm, wf=None: [r for r in rows if r["arm"] == arm and r["llm_case"]  # noqa: E731
                                      and (wf is None or r["workflow"] == wf)]
    out.append("| workflow | " + " | ".join(f"{a}: LLM cases right" for a in arms) + " |")
    out.append("|---|" + "---|" * len(arms))
    for wf in workflows:
        cells = []
        for arm in arms:
            cases = llm_cases(arm, wf)
            cells.append(f"{sum(r['right'] for r in cases)}/{len(cases)}")
        out.append(f"| {wf} | " + " | ".join(cells) + " |")
    cells = []
    for arm in arms:
        cases = llm_cases(arm)
        pct = 100 * sum(r["right"] for r in cases) / len(cases) if cases else 0
        cells.append(f"**{sum(r['right'] for r in cases)}/{len(cases)} ({pct:.0f}%)**")
    out.append("| all | " + " | ".join(cells) + " |")
    out.append("")
    for arm in arms:
        decided = judged(arm)
        lat = [r["latency_s"] for r in decided]
        out.append(f"{arm}: {len(decided)} judged decisions (any case no transition decided), "
                   f"{sum(r['right'] for r in decided)} right; median latency "
                   f"{statistics.median(lat) if lat else 0:.1f}s; "
                   f"agent model calls {sum(r['agent_calls'] for r in decided)}, "
                   f"invalid first choices {sum(r['invalid_choices'] for r in decided)}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:8089/v1")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--workflows", nargs="*", default=None)
    parser.add_argument("--limit", type=int, default=0, help="at most this many scenarios per workflow")
    parser.add_argument("--arms", nargs="*", default=["llm", "agent"], choices=["llm", "agent"])
    parser.add_argument("--out", default=None, help="JSON-lines file of every case")
    args = parser.parse_args()
    om.setup_logging("warning")
    library = om.Library([om.bundled_workflows_dir()])
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="agent-routing-") as tmp:
        env = {"WORKFLOW_DEFINITIONS_DIR": str(om.bundled_workflows_dir()),
               "AI_REQUEST_TIMEOUT_MS": str(int(args.timeout * 1000)),
               "AI_SERVICE_ENDPOINT": args.endpoint, "AI_MODEL_NAME": args.model}
        configs = {arm: om.Config.load({**env, "WORKFLOW_DB_PATH": str(Path(tmp) / f"{arm}.sqlite"),
                                        "AI_PROVIDER": "openai" if arm == "llm" else "agent"})
                   for arm in args.arms}
        turn = 0
        for name in args.workflows or library.names():
            wf = library.load(name)
            root, _ = library.locate(name)
            scenarios, problems = om.parse_scenarios(wf, root)
            scenarios = [s for s in scenarios if any(c.llm for c in s.cases)]
            if args.limit:
                scenarios = scenarios[:args.limit]
            for scenario in scenarios:
                order = args.arms if turn % 2 == 0 else list(reversed(args.arms))  # interleaved
                turn += 1
                for arm in order:
                    anyio.run(drive, arm, configs[arm], wf, scenario, args, rows)
                done = [r for r in rows
                        if r["scenario"] == scenario.name and r["workflow"] == wf.name and r["llm_case"]]
                print(f"{wf.name} / {scenario.name}: " + ", ".join(
                    f"{r['arm']} {'ok' if r['right'] else 'WRONG ' + str(r['got'])}" for r in done), flush=True)
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print()
    print(summarize(rows, args.arms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
