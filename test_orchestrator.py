"""Tests for orchestrator-mcp, in the module's section order.

Servers are driven the way clients drive them: through the MCP SDK client, in
memory for most tests and over stdio (a real subprocess) for a few, always
against a real SQLite file.  LLM providers are exercised against fake HTTP
servers, written below, that speak the providers' wire formats.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

import orchestrator_mcp as om

HERE = Path(__file__).resolve().parent
MODULE = HERE / "orchestrator_mcp.py"
BUNDLED = HERE / "workflows"
BUNDLED_NAMES = ["ANALYZE_GITLAB_ISSUE", "COMMIT_SUGGESTER", "JOKE_GENERATOR", "README_FRESHNESS_CHECK",
                 "REFACTOR_WITH_TESTS", "RESUME", "SAVE", "SUGGEST_REFACTORING", "WORKFLOW_CREATOR"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- helpers -----------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` (text is dedented)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def step_md(guidance: str = "Decide.", instructions: str = "Do it.", transitions: dict[str, str] | None = None,
            extra: str = "") -> str:
    text = f"# Orchestrator Guidance\n{guidance}\n\n# Client Instructions\n{instructions}\n"
    if transitions:
        text += "\n# Transitions\n" + "".join(f"- {k}: {v}\n" for k, v in transitions.items())
    return text + extra


def simple_workflow(root: Path, name: str, steps: list[tuple[str, dict[str, str] | None]],
                    guidance: dict[str, str] | None = None) -> Path:
    """A valid workflow: ``steps`` is [(step name, transitions or None)]."""
    files = {f"{name}/index.md": f"# {name} title\n\nGoal of {name}.\n\n## Steps\n"
             + "".join(f"{i}. [{s}](steps/s{i}.md)\n" for i, (s, _) in enumerate(steps, 1))}
    for i, (s, transitions) in enumerate(steps, 1):
        files[f"{name}/steps/s{i}.md"] = step_md((guidance or {}).get(s, f"Guidance for {s}."),
                                                 f"Instructions for {s}.", transitions)
    return write(root, files)


def make_app(tmp_path: Path, roots: list[Path] | None = None, **env: str) -> tuple[Any, om.Engine]:
    base = {"WORKFLOW_DB_PATH": str(tmp_path / "state.sqlite"), "AI_PROVIDER": "stub"}
    if roots:
        base["WORKFLOW_DEFINITIONS_DIR"] = os.pathsep.join(str(r) for r in roots)
    base.update(env)
    return om.create_app(om.Config.load(base))


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    assert result.structured_content is not None
    if "result" not in result.structured_content:
        assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def err(result: Any, code: str) -> dict[str, Any]:
    assert result.is_error, result.structured_content
    body = json.loads(result.content[0].text)
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message", "retryable"} <= set(error)
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    return error


def client(server: Any) -> Any:
    from mcp import Client
    return Client(server)


def db_rows(path: Path, sql: str, *args: Any) -> list[tuple]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, str(MODULE), *args], capture_output=True, text=True,
                          env=full_env, input=input, timeout=timeout)


# =============================================================================
# 1. Errors
# =============================================================================


def test_error_body_shapes_and_hides_internals() -> None:
    body = om.error_body(om.StepMismatch("wrong step", current_step_name="A"))
    assert body == {"error": {"code": "STEP_MISMATCH", "message": "wrong step", "retryable": False,
                              "current_step_name": "A"}}
    assert om.error_body(om.Conflict("moved"))["error"]["retryable"] is True
    internal = om.error_body(RuntimeError("secret internals /etc/passwd"))["error"]
    assert internal["code"] == "INTERNAL_ERROR" and "secret" not in internal["message"]
    db = om.error_body(sqlite3.OperationalError("disk I/O error"))["error"]
    assert db["code"] == "PERSISTENCE_ERROR" and db["retryable"] is True


# =============================================================================
# 2. Configuration
# =============================================================================


def test_config_defaults_and_per_platform_db_path(tmp_path: Path) -> None:
    config = om.Config.load({"HOME": str(tmp_path)})
    assert config.workflow_roots == (BUNDLED,)
    assert config.provider == "stub" and config.provider_auto is True
    assert config.db_path == tmp_path / ".local/share/orchestrator-mcp/workflows.sqlite"
    assert om.default_db_path({"HOME": "/h", "XDG_DATA_HOME": "/x"}, "linux") == \
        Path("/x/orchestrator-mcp/workflows.sqlite")
    assert om.default_db_path({"HOME": "/h"}, "darwin") == \
        Path("/h/Library/Application Support/orchestrator-mcp/workflows.sqlite")
    assert om.default_db_path({"HOME": "/h", "LOCALAPPDATA": "C:/L"}, "win32") == \
        Path("C:/L/orchestrator-mcp/workflows.sqlite")


def test_config_providers_and_flags_override_env(tmp_path: Path) -> None:
    env = {"GEMINI_API_KEY": "k-123", "WORKFLOW_DB_PATH": str(tmp_path / "a.db")}
    gemini = om.Config.load(env)
    assert (gemini.provider, gemini.model, gemini.endpoint) == (
        "gemini", "gemini-flash-latest", "https://generativelanguage.googleapis.com/v1beta")
    assert "k-123" not in repr(gemini)
    assert om.Config.load({**env, "USE_STUB_AI_CLIENT": "true"}).provider == "stub"
    flagged = om.Config.load(env, db=str(tmp_path / "b.db"), provider="stub", workflows=[str(tmp_path)])
    assert flagged.db_path == tmp_path / "b.db" and flagged.provider == "stub"
    assert flagged.workflow_roots == (tmp_path,)
    openai = om.Config.load({"AI_PROVIDER": "openai", "AI_MODEL_NAME": "llama3",
                             "AI_SERVICE_ENDPOINT": "http://127.0.0.1:1/v1/", "AI_REQUEST_TIMEOUT_MS": "1500"})
    assert (openai.provider, openai.endpoint, openai.timeout_s) == ("openai", "http://127.0.0.1:1/v1", 1.5)


@pytest.mark.parametrize("env, words", [
    ({"AI_PROVIDER": "bogus"}, "unknown AI_PROVIDER"),
    ({"AI_PROVIDER": "gemini"}, "GEMINI_API_KEY"),
    ({"AI_PROVIDER": "openai", "AI_SERVICE_ENDPOINT": "http://x"}, "AI_MODEL_NAME"),
    ({"AI_PROVIDER": "openai", "AI_MODEL_NAME": "m"}, "AI_SERVICE_ENDPOINT"),
    ({"AI_REQUEST_TIMEOUT_MS": "soon"}, "AI_REQUEST_TIMEOUT_MS"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ({"WORKFLOW_DEFINITIONS_DIR": "/nonexistent/dir"}, "not a directory"),
])
def test_bad_configuration_is_one_line_and_exit_2(env: dict[str, str], words: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(om.ConfigError, match=words):
        om.Config.load(env)
    code = om.main(["serve"], env={"WORKFLOW_DB_PATH": str(tmp_path / "s.db"), **env})
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = [ln for ln in captured.err.splitlines() if ln.startswith("orchestrator-mcp:")]
    assert len(lines) == 1 and words.split()[0] in lines[0] and "Traceback" not in captured.err


def test_unwritable_db_path_exits_2_without_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = run_cli("serve", env={"WORKFLOW_DB_PATH": str(blocker / "sub" / "db.sqlite"), "AI_PROVIDER": "stub"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "WORKFLOW_DB_PATH" in proc.stderr and "Traceback" not in proc.stderr


# =============================================================================
# 3. Definitions
# =============================================================================


def lines_of(text: str, name: str = "f.md") -> list[om.Line]:
    return [om.Line(t, Path(name), i) for i, t in enumerate(textwrap.dedent(text).splitlines(), 1)]


def test_splitter_respects_fences_and_keeps_subheadings() -> None:
    pre, sections = om.split_h1(lines_of("""
        intro
        # One
        ## Sub heading
        text
        ```bash
        # not a heading
        ```
        ~~~~
        # still code
        ```
        # still code too
        ~~~~
           # Two ##
            # indented four: code, not a heading
        #nospace
        # three   extra   spaces
    """))
    assert [s.title for s in sections] == ["One", "Two", "three   extra   spaces"]
    assert [ln.text for ln in pre if ln.text] == ["intro"]
    assert "## Sub heading" in sections[0].text and "# not a heading" in sections[0].text
    assert "# still code too" in sections[0].text
    assert "#nospace" in sections[1].text and "indented four" in sections[1].text
    assert sections[1].at is not None and sections[1].at.lineno == 14


@pytest.mark.parametrize("listing", [
    "- [Alpha](steps/a.md)\n- [Beta](steps/b.md)\n",
    "1. [Alpha](steps/a.md)\n2. [Beta](steps/b.md)\n",
    "   * [Alpha](steps/a.md)\n   * [Beta](steps/b.md)\n",
    "1) **[Alpha](steps/a.md)**: first\n2) [Beta](steps/b.md) - second\n",
])
def test_index_list_styles_and_indents(tmp_path: Path, listing: str) -> None:
    write(tmp_path, {"W/index.md": "# Title\n\nSome prose goal.\n\n" + listing,
                     "W/steps/a.md": step_md(), "W/steps/b.md": step_md()})
    wf = om.Library([tmp_path]).load("W")
    assert wf.valid, wf.errors
    assert [s.name for s in wf.steps] == ["Alpha", "Beta"]
    assert wf.title == "Title" and wf.goal == "Some prose goal."


def test_steps_heading_wins_and_overall_goal_section(tmp_path: Path) -> None:
    write(tmp_path, {"W/index.md": """
        # Title
        See [the docs](steps/b.md) for background:
        - [Not A Step](steps/b.md)

        ## Overall Goal
        Reach the goal.

        ## High-Level Plan
        1. [Alpha](steps/a.md)
        """, "W/steps/a.md": step_md(), "W/steps/b.md": step_md()})
    wf = om.Library([tmp_path]).load("W")
    assert [s.name for s in wf.steps] == ["Alpha"] and wf.goal == "Reach the goal."


def test_structural_errors_name_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {
        "W/index.md": """
            # W
            ## Steps
            1. [Do It](steps/a.md)
            2. [do_it](steps/b.md)
            3. [FINISH](steps/c.md)
            4. [Missing](steps/nope.md)
            5. [No Guidance](steps/d.md)
            """,
        "W/steps/a.md": step_md(transitions={"success": "Nowhere", "default": "finish"}),
        "W/steps/b.md": step_md(), "W/steps/c.md": step_md(),
        "W/steps/d.md": "# Client Instructions\nOnly this.\n",
        "EMPTY/index.md": "# Empty\n\nNo list here.\n",
        "NOINDEX/steps/a.md": step_md(),
    })
    lib = om.Library([tmp_path])
    errors = [str(p) for p in lib.load("W").errors]
    assert any(e.startswith("W/index.md:4: duplicate step name 'do_it'") for e in errors), errors
    assert any(e.startswith("W/index.md:5: step name 'FINISH' is reserved") for e in errors)
    assert any(e.startswith("W/index.md:6: step file 'steps/nope.md' not found") for e in errors)
    assert any(e.startswith("W/steps/d.md:1: step 'No Guidance' lacks a '# Orchestrator Guidance'") for e in errors)
    assert any(e.startswith("W/steps/a.md:8: transition 'success' goes to unknown step 'Nowhere'") for e in errors)
    assert lib.load("W").steps[0].transitions == {"default": "FINISH"}
    assert "no step list" in str(lib.load("EMPTY").errors[0])
    assert str(lib.load("NOINDEX").errors[0]) == "NOINDEX/index.md:1: index.md is missing"


def test_transitions_are_parsed_case_insensitively(tmp_path: Path) -> None:
    write(tmp_path, {"W/index.md": "# W\n1. [A](a.md)\n2. [B Step](b.md)\n",
                     "W/a.md": step_md(transitions={"Success": "b_step", "NO_FILES": "FAILED",
                                                    "default": "A"}),
                     "W/b.md": step_md()})
    wf = om.Library([tmp_path]).load("W")
    assert wf.valid, wf.errors
    assert wf.steps[0].transitions == {"success": "B Step", "no_files": "FAILED", "default": "A"}


def test_includes_nest_and_keep_line_origins(tmp_path: Path) -> None:
    write(tmp_path, {
        "_shared/outer.md": "Outer line\n{{file:inner.md}}\n",
        "_shared/inner.md": "Inner line\n",
        "W/index.md": "# W\n1. [A](steps/a.md)\n",
        "W/steps/a.md": "# Orchestrator Guidance\nG\n# Client Instructions\nBefore {{file:../../_shared/outer.md}} after\n"
                        "# Transitions\n- success: Nope\n",
    })
    wf = om.Library([tmp_path]).load("W")
    assert wf.steps[0].instructions == "Before Outer line\nInner line after"
    # the broken transition is reported at its real line, after the included lines
    assert [str(p) for p in wf.errors] == [
        "W/steps/a.md:6: transition 'success' goes to unknown step 'Nope'; known: A, FINISH, FAILED"]


def test_include_depth_cycle_and_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside.md"
    outside.write_text("secret")
    files = {f"_d/{i}.md": f"{{{{file:{i + 1}.md}}}}\n" for i in range(12)}
    files["_d/12.md"] = "bottom\n"
    files.update({
        "_c/a.md": "{{file:b.md}}\n", "_c/b.md": "{{file:a.md}}\n",
        "W/index.md": "# W\n1. [A](steps/a.md)\n",
        "W/steps/a.md": step_md(instructions="{{file:../../_d/0.md}}\n{{file:../../_c/a.md}}\n"
                                             "{{file:../../../outside.md}}\n{{file:/etc/hostname}}\n"
                                             "{{file:link.md}}\n{{file:missing.md}}\n"),
    })
    write(root, files)
    (root / "W/steps/link.md").symlink_to(outside)
    errors = [str(p) for p in om.Library([root]).load("W").errors]
    assert any("includes nested deeper than 10" in e for e in errors), errors
    assert "_c/b.md:1: include cycle: W/steps/a.md -> _c/a.md -> _c/b.md -> _c/a.md" in errors, errors
    assert any("'../../../outside.md' leaves the definitions root" in e for e in errors)
    assert any("'/etc/hostname' is an absolute path" in e for e in errors)
    assert any("'link.md' leaves the definitions root" in e for e in errors)
    assert any("'missing.md' not found" in e for e in errors)
    assert all(e.startswith(("W/steps/a.md:", "_d/", "_c/")) for e in errors), errors


def test_warnings_for_unreachable_steps_and_unknown_guidance_names(tmp_path: Path) -> None:
    simple_workflow(tmp_path, "W", [("Start", {"success": "FINISH"}), ("Orphan", None)],
                    guidance={"Start": "On trouble go to `Recovery Step`."})
    wf = om.Library([tmp_path]).load("W")
    assert wf.valid
    messages = [p.message for p in wf.warnings]
    assert "step 'Orphan' is unreachable: no transition or guidance mentions it" in messages
    assert "guidance of 'Start' names step 'Recovery Step', which does not exist" in messages


def test_several_roots_first_wins(tmp_path: Path) -> None:
    simple_workflow(tmp_path / "one", "SHARED", [("From One", None)])
    simple_workflow(tmp_path / "two", "SHARED", [("From Two", None)])
    simple_workflow(tmp_path / "two", "ONLY_TWO", [("Two", None)])
    (tmp_path / "two" / "_hidden").mkdir()
    (tmp_path / "two" / ".git").mkdir()
    lib = om.Library([tmp_path / "one", tmp_path / "two"])
    assert lib.names() == ["ONLY_TWO", "SHARED"]
    assert lib.load("SHARED").steps[0].name == "From One"


def test_hot_reload_sees_edit_add_remove_and_caches(tmp_path: Path) -> None:
    simple_workflow(tmp_path, "W", [("A", None), ("B", None)])
    lib = om.Library([tmp_path])
    first = lib.load("W")
    assert lib.load("W") is first  # unchanged files: served from the cache
    step = tmp_path / "W/steps/s1.md"
    step.write_text(step.read_text().replace("Instructions for A.", "Edited instructions, longer."))
    edited = lib.load("W")
    assert edited.steps[0].instructions == "Edited instructions, longer." and edited.hash != first.hash
    index = tmp_path / "W/index.md"
    index.write_text(index.read_text() + "3. [C](steps/s3.md)\n")
    assert not lib.load("W").valid  # C's file does not exist yet
    (tmp_path / "W/steps/s3.md").write_text(step_md())
    assert [s.name for s in lib.load("W").steps] == ["A", "B", "C"]
    (tmp_path / "W/steps/s2.md").unlink()
    assert "step file 'steps/s2.md' not found" in str(lib.load("W").errors[0])


def test_hot_reload_sees_changed_shared_include(tmp_path: Path) -> None:
    write(tmp_path, {"_shared/x.md": "v1\n", "W/index.md": "# W\n1. [A](a.md)\n",
                     "W/a.md": step_md(instructions="{{file:../_shared/x.md}}")})
    lib = om.Library([tmp_path])
    assert lib.load("W").steps[0].instructions == "v1"
    (tmp_path / "_shared/x.md").write_text("version two\n")
    assert lib.load("W").steps[0].instructions == "version two"


def test_assembled_text_and_hash(tmp_path: Path) -> None:
    simple_workflow(tmp_path, "W", [("A", None), ("B", None)])
    wf = om.Library([tmp_path]).load("W")
    parts = wf.text.split("\n\n---\n\n")
    assert parts[0].startswith("# W title") and parts[1].startswith("## Step: A\n\n# Orchestrator Guidance")
    assert parts[2].startswith("## Step: B") and len(wf.hash) == 16


def test_unknown_and_malformed_workflow_names(tmp_path: Path) -> None:
    lib = om.Library([tmp_path])
    with pytest.raises(om.DefinitionNotFound):
        lib.load("NOPE")
    for bad in ("../etc", "a/b", "", "x" * 101, "nul\x00"):
        with pytest.raises(om.InvalidArgument):
            lib.load(bad)


def test_check_command_exit_codes_and_output(tmp_path: Path) -> None:
    good = simple_workflow(tmp_path / "good", "FINE", [("A", {"default": "FINISH"})])
    bad = write(tmp_path / "bad", {"BROKEN/index.md": "# B\n1. [A](a.md)\n", "BROKEN/a.md": "# Client Instructions\nx\n"})
    proc = run_cli("check", str(good))
    assert proc.returncode == 0 and "FINE: ok (1 steps, 0 warnings)" in proc.stdout
    proc = run_cli("check", str(good), str(bad))
    assert proc.returncode == 1
    assert "BROKEN/a.md:1: step 'A' lacks a '# Orchestrator Guidance' section: error" in proc.stdout
    assert "1 valid, 1 invalid" in proc.stdout
    proc = run_cli("check", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "not a directory" in proc.stderr


def test_bundled_library_passes_check() -> None:
    lib = om.Library([BUNDLED])
    assert lib.names() == BUNDLED_NAMES
    for wf in lib.all():
        assert wf.valid and not wf.warnings, (wf.name, wf.errors, wf.warnings)
        assert any(s.transitions for s in wf.steps), wf.name
    proc = run_cli("check")
    assert proc.returncode == 0 and "9 valid, 0 invalid" in proc.stdout


def test_import_and_version_stay_light() -> None:
    code = ("import sys, orchestrator_mcp; heavy = [m for m in ('mcp', 'requests', 'pydantic', 'anyio') "
            "if m in sys.modules]; print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE)
    assert proc.stdout.strip() == "[]", proc.stderr
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"orchestrator-mcp {om.__version__}"
    proc = run_cli("--help")
    assert proc.returncode == 0 and "check" in proc.stdout and "serve" in proc.stdout


def test_installed_wheel_finds_bundled_workflows(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(HERE)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("orchestrator_mcp-*.whl"))
    prefix = tmp_path / "prefix"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--prefix", str(prefix), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    site = next(prefix.glob("lib/python*/site-packages"))
    assert (site / "orchestrator_mcp_workflows" / "JOKE_GENERATOR" / "index.md").is_file()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("WORKFLOW_DEFINITIONS_DIR", None)
    proc = subprocess.run([str(prefix / "bin" / "orchestrator-mcp"), "check"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "9 valid, 0 invalid" in proc.stdout and str(site / "orchestrator_mcp_workflows") in proc.stdout
