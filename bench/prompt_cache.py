"""Prompt-cache economy of LLM decisions against a real llama.cpp server.

The decision prompt puts a static prefix first (instructions + workflow
summary, identical for every decision on a workflow) and the per-call part
last, so llama.cpp reuses its KV cache for the prefix.  This drives several
LLM-decided advances per run, on several bundled workflows one after another
(each workflow's first decision is made cold: an unrelated request evicts the cache), and
prints, per decision, the prompt tokens, the tokens llama.cpp evaluated afresh
(``timings.prompt_n``), the cached ones and the latency, read from the
interactions log.  Run it alone: the server has one slot, and another client's
requests in between would evict the prefix.

    python bench/prompt_cache.py --endpoint http://127.0.0.1:8089/v1 --model qwen2.5-coder-1.5b-instruct
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import orchestrator_mcp as om  # noqa: E402

# (workflow, [(report, step it should be at before)]): every report matches no transition,
# and the steps loop so a run makes several LLM decisions in a row.
RUNS = [
    ("COMMIT_SUGGESTER", [
        {"status": "ok", "result": "M src/app.py"},
        {"status": "ok", "result": "app.py: fix the empty-input crash"},
        {"status": "feedback", "message": "The user wants a shorter subject"},
        {"status": "feedback", "message": "The user wants to mention issue 42"},
        {"status": "ok", "message": "The user approved the message"},
    ]),
    ("REFACTOR_WITH_TESTS", [
        {"status": "ok", "message": "Target: parser.py; goal: split parse() into smaller functions"},
        {"status": "green", "result": "240 passed", "tests_passed": 240, "tests_failed": 0},
        {"status": "yes", "message": "parse() is covered by 30 tests"},
        {"status": "ok", "message": "Tests pass after one extraction; two more are planned",
         "tests_passed": 240, "tests_failed": 0},
        {"status": "ok", "message": "Tests pass after the second extraction; one more is planned",
         "tests_passed": 241, "tests_failed": 0},
    ]),
    ("JOKE_GENERATOR", [
        {"status": "ok", "message": "The user wants a joke about databases"},
        {"status": "told", "result": "Why did the DBA leave? Too many relations."},
        {"status": "more", "message": "User: another one on the same topic please"},
        {"status": "told", "result": "SELECT * FROM jokes WHERE funny = 1; 0 rows."},
        {"status": "more", "message": "User: one more, same topic"},
    ]),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", default="http://127.0.0.1:8089/v1")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    log_path = tmp / "interactions.jsonl"
    config = om.Config.load({"AI_PROVIDER": "openai", "AI_SERVICE_ENDPOINT": args.endpoint,
                             "AI_MODEL_NAME": args.model, "AI_REQUEST_TIMEOUT_MS": "120000",
                             "WORKFLOW_DB_PATH": str(tmp / "db.sqlite"), "AI_INTERACTIONS_LOG": str(log_path)})
    om.setup_logging("error")
    engine = om.Engine(om.Library(config.workflow_roots), om.StateStore(config.db_path).open(),
                       om.make_decider(config))
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average at start {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    rows = []
    import requests

    for name, reports in RUNS:
        # Evict the server's cache with an unrelated prompt, so each workflow's first
        # decision is cold (the generic instructions would otherwise be cached already).
        requests.post(f"{args.endpoint}/chat/completions", timeout=120, json={
            "model": args.model, "max_tokens": 1,
            "messages": [{"role": "user", "content": f"Say OK. ({name}: a cold start for the measurement)"}]})
        p = engine.start(name)
        for i, report in enumerate(reports, 1):
            before = sum(1 for _ in log_path.open()) if log_path.exists() else 0
            at = p.next_step.step_name
            try:
                p = engine.advance(p.instance_id, report)
            except om.OrchestratorError as exc:
                print(f"{name} decision {i}: {exc.code} {exc.message[:100]}")
                break
            records = [json.loads(line) for line in log_path.open()][before:]
            if not records:  # a declared transition decided: no LLM call
                continue
            r = records[-1]
            u = r["usage"]
            rows.append((name, i, at, u.get("prompt_tokens"), u.get("evaluated_tokens"), u.get("cached_tokens"),
                         r["latency_ms"], len(records)))
            if p.status != om.RUNNING:
                break
    print("\n| workflow | decision | at step | prompt tokens | evaluated afresh (`prompt_n`) | share of a cold 1st prompt | "
          "latency s |")
    print("|---|---|---|---|---|---|---|")
    first: dict[str, int] = {}
    for name, i, at, prompt, fresh, cached, ms, attempts in rows:
        # against the first decision's whole prompt: what a cold cache evaluates (this server
        # build keeps prompt caches in RAM, so even a run's first decision finds its prefix cached)
        first.setdefault(name, prompt or 0)
        share = f"{fresh / first[name]:.2f}" if first[name] and fresh is not None else "-"
        print(f"| {name} | {i} | {at} | {prompt} | {fresh} | {share} | {ms / 1000:.1f} |")
    later = [r for r in rows if r[0] in first and (r[1], r[0]) != min((x[1], x[0]) for x in rows if x[0] == r[0])]
    firsts = [r for r in rows if r not in later]
    if later and firsts:
        print(f"\nmedian evaluated tokens: first decision {statistics.median(r[4] for r in firsts):.0f}, "
              f"later decisions {statistics.median(r[4] for r in later):.0f}; median latency: first "
              f"{statistics.median(r[6] for r in firsts) / 1000:.1f} s, later "
              f"{statistics.median(r[6] for r in later) / 1000:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
