"""Quick routing check against a real OpenAI-compatible server (llama.cpp).

A stop-gap until the scenario runner (`orchestrator-mcp test`) lands: each
case drives a bundled workflow to a step through its declared transitions,
then sends a report whose status matches no transition and compares the
decision with the answer read from that step's guidance.

    python bench/routing_quick.py --endpoint http://127.0.0.1:8089/v1 --model qwen2.5-coder-1.5b-instruct
    python bench/routing_quick.py --provider stub
"""
from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import orchestrator_mcp as om  # noqa: E402

R, C, F = "RUNNING", "COMPLETED", "FAILED"
# (workflow, step, report, acceptable next steps, run status)
CASES = [
    ("COMMIT_SUGGESTER", "Check Staged Files", {"status": "done", "message": "git diff --cached shows nothing staged; two files are modified but unstaged"}, ["Handle No Staged Files"], R),
    ("COMMIT_SUGGESTER", "Check Staged Files", {"status": "ok", "result": "M src/app.py\nA src/util.py"}, ["Get Staged Diffs"], R),
    ("COMMIT_SUGGESTER", "Check Staged Files", {"status": "error", "error": "fatal: not a git repository (or any of the parent directories): .git"}, ["Handle Failure"], R),
    ("COMMIT_SUGGESTER", "Suggest Commit Message", {"status": "done", "message": "The user said no thanks, they do not want to commit now"}, ["FINISH"], C),
    ("COMMIT_SUGGESTER", "Suggest Commit Message", {"status": "feedback", "message": "The user wants a shorter subject that mentions bug #42"}, ["Suggest Commit Message"], R),
    ("COMMIT_SUGGESTER", "Suggest Commit Message", {"status": "ok", "message": "The user approved the message as is", "result": "fix(parser): handle empty input"}, ["Commit Changes"], R),
    ("COMMIT_SUGGESTER", "Handle No Staged Files", {"status": "cancel", "message": "The user does not want to stage anything right now"}, ["FINISH"], C),
    ("COMMIT_SUGGESTER", "Handle No Staged Files", {"status": "done", "message": "The user chose src/app.py and I ran git add src/app.py"}, ["Check Staged Files"], R),
    ("COMMIT_SUGGESTER", "Commit Changes", {"status": "error", "error": "pre-commit hook failed: flake8 E501 line too long"}, ["Handle Failure"], R),
    ("COMMIT_SUGGESTER", "Handle Failure", {"status": "stop", "message": "The user gives up: the hook cannot be fixed today"}, ["FAILED"], F),
    ("COMMIT_SUGGESTER", "Handle Failure", {"status": "fixed", "message": "Fixed the lint error; the user wants to try the commit again"}, ["Check Staged Files"], R),
    ("JOKE_GENERATOR", "Get Feedback", {"status": "laughed", "message": "User: haha good one, that's enough jokes for today"}, ["FINISH"], C),
    ("JOKE_GENERATOR", "Get Feedback", {"status": "more", "message": "User: tell me another one about the same topic"}, ["Tell the Joke"], R),
    ("JOKE_GENERATOR", "Get Feedback", {"status": "other", "message": "User: can you do one about space instead?"}, ["Pick a Topic"], R),
    ("JOKE_GENERATOR", "Pick a Topic", {"status": "nope", "message": "The user says they do not want a joke after all"}, ["FINISH"], C),
    ("JOKE_GENERATOR", "Tell the Joke", {"status": "told", "result": "Why do programmers prefer dark mode? Because light attracts bugs."}, ["Get Feedback"], R),
    ("README_FRESHNESS_CHECK", "Read README", {"status": "missing", "message": "There is no README file in the repository"}, ["Draft README"], R),
    ("README_FRESHNESS_CHECK", "Compare With Code", {"status": "ok", "message": "Every claim in the README still holds; nothing is outdated"}, ["FINISH"], C),
    ("README_FRESHNESS_CHECK", "Compare With Code", {"status": "outdated", "message": "The install section mentions a flag that was removed"}, ["Propose Updates"], R),
    ("README_FRESHNESS_CHECK", "Propose Updates", {"status": "no", "message": "The user declined all the proposed changes"}, ["FINISH"], C),
    ("README_FRESHNESS_CHECK", "Apply Updates", {"status": "conflict", "error": "the edit did not apply: the section changed meanwhile"}, ["Propose Updates"], R),
    ("REFACTOR_WITH_TESTS", "Run Baseline Tests", {"status": "red", "result": "3 failed, 120 passed"}, ["Report Broken Baseline"], R),
    ("REFACTOR_WITH_TESTS", "Run Baseline Tests", {"status": "none", "message": "The project has no test suite at all"}, ["Add Characterization Tests"], R),
    ("REFACTOR_WITH_TESTS", "Run Baseline Tests", {"status": "green", "result": "240 passed in 12s"}, ["Check Coverage"], R),
    ("REFACTOR_WITH_TESTS", "Refactor in Small Steps", {"status": "ok", "message": "Tests pass after extracting one function; two more extractions are planned"}, ["Refactor in Small Steps"], R),
    ("REFACTOR_WITH_TESTS", "Refactor in Small Steps", {"status": "red", "message": "Two tests fail after the change"}, ["Fix or Revert"], R),
    ("REFACTOR_WITH_TESTS", "Report Broken Baseline", {"status": "abort", "message": "The user does not want to refactor on a red suite"}, ["FAILED"], F),
    ("REFACTOR_WITH_TESTS", "Define Scope", {"status": "cancel", "message": "The user changed their mind: no refactoring today"}, ["FINISH"], C),
    ("ANALYZE_GITLAB_ISSUE", "Fetch Issue", {"status": "error", "error": "404 Not Found: issue 77 does not exist"}, ["Handle Fetch Failure"], R),
    ("ANALYZE_GITLAB_ISSUE", "Analyze Requirements", {"status": "ok", "message": "The requirements are clear and complete"}, ["Locate Relevant Code"], R),
    ("ANALYZE_GITLAB_ISSUE", "Analyze Requirements", {"status": "questions", "message": "It is unclear which API version must be supported; this blocks a plan"}, ["Draft Clarifying Questions"], R),
    ("ANALYZE_GITLAB_ISSUE", "Propose Plan", {"status": "ok", "message": "The user approved the plan"}, ["FINISH"], C),
    ("ANALYZE_GITLAB_ISSUE", "Propose Plan", {"status": "changes", "message": "The user wants the migration split into its own step"}, ["Propose Plan"], R),
    ("SAVE", "Write Save File", {"status": "error", "error": "PermissionError: .orchestrator/save.md is read-only"}, ["Handle Save Failure"], R),
    ("SAVE", "Handle Save Failure", {"status": "cannot", "message": "No writable location exists anywhere"}, ["FAILED"], F),
    ("SUGGEST_REFACTORING", "Survey Code", {"status": "empty", "message": "The directory has no source files at all"}, ["FINISH"], C),
    ("SUGGEST_REFACTORING", "Identify Smells", {"status": "clean", "message": "The code is in good shape; no real problems"}, ["FINISH"], C),
    ("SUGGEST_REFACTORING", "Ask User", {"status": "pick", "message": "The user wants to carry out suggestion 2"}, ["Hand Off"], R),
    ("SUGGEST_REFACTORING", "Ask User", {"status": "thanks", "message": "The user only wanted the review"}, ["FINISH"], C),
    ("WORKFLOW_CREATOR", "Validate Workflow", {"status": "errors", "result": "2 errors: step 'Ship' lacks a Client Instructions section"}, ["Fix Problems"], R),
    ("WORKFLOW_CREATOR", "Design Steps", {"status": "ok", "message": "The user approved the design"}, ["Write Files"], R),
    ("WORKFLOW_CREATOR", "Gather Requirements", {"status": "quit", "message": "The user gives up; no workflow is needed"}, ["FINISH"], C),
    ("RESUME", "Find Save File", {"status": "nothing", "message": "No save file was found"}, ["Handle Missing Save"], R),
    ("RESUME", "Present Summary", {"status": "continue_run", "message": "The save lists open instance abc123 and the user wants to continue it"}, ["Resume Instance"], R),
]
# (workflow, stored step, assumed step, report, acceptable steps, run status)
RESUMES = [
    ("COMMIT_SUGGESTER", "Suggest Commit Message", "Suggest Commit Message", {"status": "accepted", "message": "The user accepted the message in the previous conversation"}, ["Commit Changes"], R),
    ("COMMIT_SUGGESTER", "Get Staged Diffs", "Check Staged Files", {}, ["Get Staged Diffs"], R),
    ("JOKE_GENERATOR", "Tell the Joke", "Tell the Joke", {"status": "success", "message": "I told the joke; now I need the user's feedback"}, ["Get Feedback"], R),
    ("REFACTOR_WITH_TESTS", "Run Baseline Tests", "Run Baseline Tests", {"status": "done", "message": "Ran the suite before the break: 240 passed"}, ["Check Coverage"], R),
    ("README_FRESHNESS_CHECK", "Compare With Code", "Read README", {"message": "I am back; where was I?"}, ["Compare With Code"], R),
]


def path_to(wf: om.WorkflowDef, target: str) -> list[dict]:
    """Reports (by declared transitions) that lead from the first step to ``target``."""
    start = wf.first_step.name
    prev: dict[str, tuple[str, str] | None] = {start: None}
    queue = [start]
    while queue:
        name = queue.pop(0)
        if name == target:
            break
        for status, nxt in wf.step(name).transitions.items():
            if nxt not in prev and wf.step(nxt):
                prev[nxt] = (name, status)
                queue.append(nxt)
    reports, name = [], target
    while prev[name] is not None:
        before, status = prev[name]
        reports.append({"step_id": before, "status": status})
        name = before
    return reports[::-1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--provider", default="openai")
    ap.add_argument("--endpoint", default="http://127.0.0.1:8089/v1")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--only", default="")
    ap.add_argument("--log", default="")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    env = {"AI_PROVIDER": args.provider, "AI_SERVICE_ENDPOINT": args.endpoint, "AI_MODEL_NAME": args.model,
           "AI_REQUEST_TIMEOUT_MS": "120000", "WORKFLOW_DB_PATH": str(tmp / "db.sqlite"),
           "AI_INTERACTIONS_LOG": args.log or str(tmp / "interactions.jsonl"), "LOG_LEVEL": "error"}
    config = om.Config.load(env)
    om.setup_logging("error")
    store = om.StateStore(config.db_path).open()
    engine = om.Engine(om.Library(config.workflow_roots), store, om.make_decider(config))
    results = collections.Counter()
    latencies, kinds, lines = [], collections.Counter(), []
    every = [("advance",) + c for c in CASES] + [("resume",) + c for c in RESUMES]
    for case in every:
        if args.only and args.only not in json.dumps(case):
            continue
        kind, wf_name = case[0], case[1]
        wf = engine.library.load_valid(wf_name)
        if kind == "advance":
            _, _, step, report, want, want_status = case
            setup = path_to(wf, step)
        else:
            _, _, step, assumed, report, want, want_status = case
            setup = path_to(wf, step)
        p = engine.start(wf_name)
        for r in setup:
            p = engine.advance(p.instance_id, r)
        assert p.next_step.step_name == step, (case, p.next_step.step_name)
        began = time.monotonic()
        try:
            if kind == "advance":
                p = engine.advance(p.instance_id, report)
            else:
                p = engine.resume(p.instance_id, assumed, report)
            got, status, why, by = p.next_step.step_name, p.status, p.reasoning, p.decided_by
        except om.OrchestratorError as exc:
            got, status, why, by = exc.code, "-", exc.message, "error"
        latencies.append(time.monotonic() - began)
        kinds[by] += 1
        right = got in want
        both = right and status == want_status
        results["step"] += right
        results["both"] += both
        results["n"] += 1
        mark = "ok " if both else ("st " if right else "BAD")
        line = f"{mark} {kind} {wf_name}/{step} {json.dumps(report)[:70]} -> {got} {status} (want {want[0]} {want_status}) [{by}] {why[:150]}"
        lines.append(line)
        print(line, flush=True)
    n = results["n"] or 1
    lat = sorted(latencies)
    print(f"\n{args.provider}: right step and run state {results['both']}/{n} = {100 * results['both'] / n:.0f}%, "
          f"right step {results['step']}/{n} = {100 * results['step'] / n:.0f}%, decided by {dict(kinds)}, "
          f"decision p50 {statistics.median(lat):.1f}s p95 {lat[int(0.95 * (len(lat) - 1))]:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
