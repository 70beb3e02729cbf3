# /// script
# requires-python = ">=3.10"
# dependencies = ["mcp>=2.3,<3", "requests>=2.28"]
# # Optional: WORKFLOW_DB_URL=postgresql://... (a state store shared by several servers) needs the
# # [postgres] extra, psycopg 3 and psycopg_pool: pip install 'orchestrator-mcp[postgres]'
# ///
"""orchestrator-mcp: an MCP server that walks coding agents through Markdown workflows.

A workflow is a folder of Markdown (``index.md`` plus ``steps/*.md``).  An agent
calls ``start_workflow``, does what the returned instructions say, reports back
with ``advance_workflow``, and this server decides the next step: by a declared
``# Transitions`` rule, else by an LLM (Gemini or any OpenAI-compatible server),
else by a deterministic stub.  State and history live in SQLite, so a workflow
interrupted in one conversation resumes in the next.

The file reads top to bottom in the order data flows through it:

1. errors         - exception classes, each mapped to one public error code
2. configuration  - one frozen dataclass built from the environment and flags
3. definitions    - heading splitter, parsers, includes, validation, cache, scenarios
4. state store    - SQLite or PostgreSQL: schema, migrations, versioned transactions
5. deciders       - transitions, stub, Gemini, OpenAI-compatible
6. engine         - start / advance / resume / status / cancel
7. MCP surface    - tools, resources, prompts (``mcp`` is imported only here)
7b. web view      - ``ui``: read-only pages over the state database (http.server)
8. command line   - serve, check, run, demo, diagram, test, approve, the tools as
                    commands, ui

Importing this module has no side effects: no files, no network, no ``mcp``.
"""

import argparse
import contextlib
import dataclasses
import hashlib
import html
import inspect
import json
import logging
import os
import random
import re
import sqlite3
import stat
import sys
import threading
import time
import typing
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Callable, ClassVar, Iterable, Iterator, Mapping, Sequence

__version__ = "0.1.0"

log = logging.getLogger("orchestrator_mcp")

#: Reserved step names: the two terminal decisions a workflow can reach, and
#: SUSPEND, which an author declares where a run must wait for the outside world
#: (the run stays at its step, SUSPENDED, until resume_workflow).
FINISH = "FINISH"
FAILED = "FAILED"
SUSPEND = "SUSPEND"
RESERVED_STEPS = (FINISH, FAILED, SUSPEND)

#: Instance statuses.  Only a RUNNING instance advances; COMPLETED and CANCELLED are final.
RUNNING, SUSPENDED, COMPLETED, FAILED_STATUS, CANCELLED = (
    "RUNNING", "SUSPENDED", "COMPLETED", "FAILED", "CANCELLED")
INSTANCE_STATUSES = (RUNNING, SUSPENDED, COMPLETED, FAILED_STATUS, CANCELLED)

#: Largest JSON (bytes) accepted for a context, an update or a report.
MAX_JSON_BYTES = 1024 * 1024
#: Longest comment a person's approval or rejection keeps in the history.
MAX_COMMENT_CHARS = 10_000


# =============================================================================
# 1. Errors
#    Every failure a client can see is one of these classes; its ``code`` is the
#    public error code a client sees in ``{"error": {"code", "message",
#    "retryable"}}``, and its message says what to do next.
# =============================================================================


class OrchestratorError(Exception):
    """Base of every expected failure; carries the public code and extra fields."""

    code = "INTERNAL_ERROR"
    retryable = False

    def __init__(self, message: str, *, retryable: bool | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        """The exact error body returned to clients: ``{"error": {...}}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message, "retryable": self.retryable}
        body.update(self.extra)
        return {"error": body}


class ConfigError(OrchestratorError):
    """A bad setting; ``main()`` prints it as one line and exits 2."""
    code = "INVALID_ARGUMENT"


class InvalidArgument(OrchestratorError):
    code = "INVALID_ARGUMENT"


class DefinitionNotFound(OrchestratorError):
    code = "DEFINITION_NOT_FOUND"


class DefinitionInvalid(OrchestratorError):
    code = "DEFINITION_INVALID"


class InstanceNotFound(OrchestratorError):
    code = "INSTANCE_NOT_FOUND"


class InstanceNotRunning(OrchestratorError):
    code = "INSTANCE_NOT_RUNNING"


class StepMismatch(OrchestratorError):
    code = "STEP_MISMATCH"


class Conflict(OrchestratorError):
    """Another writer moved the instance between our read and our write."""
    code = "CONFLICT"
    retryable = True


class AIServiceError(OrchestratorError):
    code = "AI_SERVICE_ERROR"


class PersistenceError(OrchestratorError):
    code = "PERSISTENCE_ERROR"
    retryable = True


def error_body(exc: BaseException) -> dict[str, Any]:
    """Map any exception to the public error body; the one place codes are chosen.

    Unexpected exceptions never leak their text: the traceback goes to the log,
    the client gets ``INTERNAL_ERROR``.
    """
    if isinstance(exc, OrchestratorError):
        return exc.to_dict()
    if isinstance(exc, sqlite3.Error):
        log.error("database error: %s", exc)
        return PersistenceError(f"The state database failed ({type(exc).__name__}); "
                                "retry, and check the disk and WORKFLOW_DB_PATH if it persists.").to_dict()
    log.error("unexpected error", exc_info=exc)
    return OrchestratorError("Internal error; the server log (stderr) has the details. "
                             "The stored state is unchanged.").to_dict()


# =============================================================================
# 2. Configuration
#    One frozen dataclass, built once from the environment and command-line
#    flags; nothing else in the module reads ``os.environ``.
# =============================================================================

PROVIDERS = ("auto", "gemini", "openai", "agent", "stub")
DEFAULT_GEMINI_ENDPOINT = "https://generativelanguage.googleapis.com/v1beta"
DEFAULT_GEMINI_MODEL = "gemini-flash-latest"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
#: Tools run on the MCP SDK's worker threads (40); provider calls stay well below that.
MAX_LLM_CALLS_LIMIT = 32


def bundled_workflows_dir() -> Path:
    """Find the bundled library beside this file: a checkout or vendored copy has
    ``workflows/``; an installed wheel ships it as ``orchestrator_mcp_workflows/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "workflows", here / "orchestrator_mcp_workflows"):
        if candidate.is_dir():
            return candidate
    return here / "workflows"


def default_db_path(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The per-user data location of the state database, by platform convention."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    home = Path(env.get("HOME") or Path.home())
    if platform.startswith("win"):
        base = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home / "AppData" / "Local"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_DATA_HOME") or ""
        # The XDG spec: a relative value is invalid and ignored (it would follow the client's cwd).
        base = Path(xdg) if os.path.isabs(xdg) else home / ".local" / "share"
    return base / "orchestrator-mcp" / "workflows.sqlite"


def is_postgres_url(text: str) -> bool:
    """A PostgreSQL connection URL (as opposed to a SQLite file path)."""
    return text.startswith(("postgresql://", "postgres://"))


def not_a_sqlite_path(text: str) -> str:
    """Why ``text``, given where a SQLite file path belongs, is something else ("" when it is
    a path): any ``scheme://`` URL, or a key=value conninfo string.  Never echoed, as either may
    hold a password; left as a path, it would silently become a new empty database."""
    stripped = text.strip()
    if re.match(r"^[a-z][a-z0-9+.-]*://", stripped, re.IGNORECASE):
        return "a URL of another kind (a PostgreSQL URL is spelled postgresql://...)"
    pairs = [re.fullmatch(r"([a-z_]+)\s*=\S*", token, re.IGNORECASE) for token in stripped.split()]
    if pairs and all(pairs) and (len(pairs) > 1 or "password" in pairs[0].group(1).lower()):
        # every word a key=value pair, and more than one, or a password: not a file name such as host=ci.sqlite
        return "a key=value conninfo string (write it as postgresql://user:password@host:5432/db)"
    return ""


_URL_USERINFO_RE = re.compile(r"^([a-z][a-z0-9+.-]*://[^:@/]*):([^@/]*)@", re.IGNORECASE)
#: A query parameter (libpq reads a value up to the next ``&``; ``#`` is not special to it).
_URL_PARAM_RE = re.compile(r"([?&])([^=&]*)=([^&]*)")


#: libpq's connection keywords that hold no secret; any other query parameter (``sslpassword``,
#: a misspelt ``pasword``) is treated as one, so its value is never printed.
_PLAIN_URL_PARAMS = frozenset((
    "host hostaddr port dbname user passfile connect_timeout client_encoding options application_name "
    "fallback_application_name keepalives keepalives_idle keepalives_interval keepalives_count tcp_user_timeout "
    "replication gssencmode sslmode sslnegotiation sslcompression sslcert sslkey sslcertmode sslrootcert sslcrl "
    "sslcrldir sslsni requirepeer ssl_min_protocol_version ssl_max_protocol_version krbsrvname gsslib "
    "gssdelegation service target_session_attrs load_balance_hosts require_auth channel_binding").split())


def _secret_param(name: str) -> bool:
    """Is a URL query parameter a secret?  Any but libpq's plain keywords (``_PLAIN_URL_PARAMS``)."""
    from urllib.parse import unquote

    return unquote(name).strip().lower() not in _PLAIN_URL_PARAMS


def url_userinfo_problem(url: str) -> str:
    """Why libpq would not read a URL's user and password as written, or "": a raw ``/`` in
    the password ends the host part early (libpq then sees no password at all, so nothing
    would be redacted), a raw ``@`` splits it.  Such a URL is refused, never echoed."""
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = rest.split("/", 1)[0]  # libpq looks for the "@" up to the first "/" ("?" may be in a password)
    if authority.count("@") > 1:
        return _USERINFO_ADVICE
    # An "@" after the first "/" while the part before it holds an "@" or a ":" (a password, or a
    # user and host, cut short by a raw "/": "app:p@ss/word@db", "app:Xy/S?cret@db"): refused.
    # Where the text after the ":" could pass for a port ("app:4/Zq8+Kx@db"), an "@" in the path
    # is refused too (write one in a database name as %40), one in a query value is not.
    later = rest[len(authority):]
    host_part = authority.split("]")[-1]
    if "@" in authority or (":" in host_part and not host_part.rsplit(":", 1)[1].isdigit()):
        if "@" in later:
            return _USERINFO_ADVICE
    elif ":" in host_part and "@" in later.split("?", 1)[0]:  # "host:5432" then a path with an "@"
        return _USERINFO_ADVICE
    return ""


_USERINFO_ADVICE = ("its user or password holds a raw '/' or '@'; percent-encode them in the URL (/ is %2F, "
                    "@ is %40, : is %3A)")


def url_secrets(url: str) -> list[str]:
    """Every secret in a PostgreSQL URL as libpq reads it, raw and percent-decoded: the password
    (between the user's ``:`` and the ``@`` before the first ``/``; ``?`` and ``#`` included)
    and each query parameter whose decoded name holds ``password`` (``sslpassword``, ``pass%77ord``)."""
    from urllib.parse import unquote

    found = []
    m = _URL_USERINFO_RE.match(url)
    if m and m.group(2):
        found.append(m.group(2))
    found += [p.group(3) for p in _URL_PARAM_RE.finditer(url) if _secret_param(p.group(2)) and p.group(3)]
    return [text for secret in found for text in dict.fromkeys((secret, unquote(secret))) if text]


def redact_url(url: str) -> str:
    """The URL without its secrets (``url_secrets``), fit for logs and errors; a URL whose
    user and password libpq would misread (``url_userinfo_problem``) loses all of them."""
    if url_userinfo_problem(url):
        scheme, _, rest = url.partition("://")
        url = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    url = _URL_USERINFO_RE.sub(lambda m: f"{m.group(1)}:***@" if m.group(2) else m.group(0), url)
    return _URL_PARAM_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}=***" if _secret_param(m.group(2))
                             else m.group(0), url)


def scrub_secrets(text: str, url: str | None) -> str:
    """``text`` (a driver's message, say) with every secret of ``url`` replaced: libpq quotes the
    whole URI, or a bad value, in its own errors.  A secret of three characters or fewer is
    replaced only where it stands as a value (after ``:`` or ``=``, or quoted), so that a
    password ``1`` does not blank every 1 of ``127.0.0.1``."""
    if not url:
        return text
    text = text.replace(url, redact_url(url))
    for secret in sorted(url_secrets(url), key=len, reverse=True):
        if len(secret) > 3:
            text = text.replace(secret, "***")
        else:
            text = re.sub(rf"(?<=[:=\"'])({re.escape(secret)})(?=[@\"'&\s]|$)", "***", text)
    return text


def describe_db(config: "Config") -> str:
    """Where the state lives, safe to print: the SQLite path or the redacted URL."""
    return redact_url(config.db_url) if config.db_url else str(config.db_path)


_BOOLEAN_WORDS = ("", "1", "true", "yes", "on", "0", "false", "no", "off")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Config:
    """Everything the server needs to know, resolved and checked once."""

    workflow_roots: tuple[Path, ...]
    db_path: Path
    provider: str  # gemini | openai | agent | stub (``auto`` is resolved away)
    provider_auto: bool = False  # True when ``auto`` fell back to the agent (no key set)
    api_key: str | None = field(default=None, repr=False)
    model: str | None = None
    endpoint: str | None = None
    timeout_s: float = 30.0
    interactions_log: Path | None = None
    log_level: str = "info"
    auth_token: str | None = field(default=None, repr=False)
    db_url: str | None = field(default=None, repr=False)  # postgresql://...; replaces db_path when set
    db_pool_size: int = 10  # WORKFLOW_DB_POOL_SIZE: most connections one server holds to its database
    max_llm_calls: int = 8  # provider calls in flight at once; more are refused as retryable
    parse_cache: Path | None = None  # WORKFLOW_PARSE_CACHE: folder of parsed definitions kept between runs

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, *, workflows: Sequence[str] | None = None,
             db: str | None = None, provider: str | None = None, model: str | None = None,
             endpoint: str | None = None, log_level: str | None = None, db_url: str | None = None) -> "Config":
        """Build from ``env`` (default ``os.environ``); keyword flags override it.

        Raises ConfigError with a one-line message for any bad value.
        """
        env = os.environ if env is None else env
        if workflows:
            roots = tuple(Path(p).expanduser() for p in workflows)
        elif env.get("WORKFLOW_DEFINITIONS_DIR"):
            roots = tuple(Path(p).expanduser() for p in env["WORKFLOW_DEFINITIONS_DIR"].split(os.pathsep) if p.strip())
            if not roots:
                raise ConfigError(f"WORKFLOW_DEFINITIONS_DIR={env['WORKFLOW_DEFINITIONS_DIR']!r} names no folder; "
                                  f"give folders separated by {os.pathsep!r}, or unset it for the bundled library")
        else:
            roots = (bundled_workflows_dir(),)
        for root in roots:
            if not root.is_dir():
                raise ConfigError(f"workflow root {str(root)!r} is not a directory "
                                  "(set WORKFLOW_DEFINITIONS_DIR or --workflows to existing folders)")

        if db is not None and not db.strip():
            raise ConfigError("--db is empty; give the SQLite file the server uses")
        if workflows is not None and any(not w.strip() for w in workflows):
            raise ConfigError("--workflows is empty; give a folder of workflows")
        if db_url is not None and not db_url.strip():
            # `--db-url "$WORKFLOW_DB_URL"` (an approval hint) in a shell without the variable:
            # never fall back to another database in silence.
            raise ConfigError("--db-url is empty; is WORKFLOW_DB_URL set in this shell? Give the PostgreSQL URL "
                              "the server uses")
        if db and db_url:
            raise ConfigError("both --db and --db-url are given; keep exactly one")
        # A flag beats the environment: `--db FILE` in a shell that exports WORKFLOW_DB_URL means FILE.
        db_text = db or (None if db_url else env.get("WORKFLOW_DB_PATH") or None)  # "" is unset, as elsewhere
        if db_text is not None and not db_text.strip():
            raise ConfigError("WORKFLOW_DB_PATH is blank; give a SQLite file, or unset it for the default")
        if db_text and (why := not_a_sqlite_path(db_text)):  # never echoed: it may hold a password
            raise ConfigError(f"--db / WORKFLOW_DB_PATH take a SQLite file, not {why}; a PostgreSQL URL goes in "
                              "--db-url / WORKFLOW_DB_URL")
        db_path = Path(db_text).expanduser() if db_text else default_db_path(env)
        url = (db_url or (None if db else env.get("WORKFLOW_DB_URL")) or "").strip() or None
        if url and db_text:
            raise ConfigError("both a PostgreSQL URL (WORKFLOW_DB_URL) and a SQLite file (WORKFLOW_DB_PATH) are "
                              "set; keep exactly one")
        if url and not is_postgres_url(url):  # never echoed: a key=value conninfo holds its password as text
            raise ConfigError("WORKFLOW_DB_URL (or --db-url) must be a URL starting with postgresql:// or postgres:// "
                              "(a key=value conninfo string such as 'host=... password=...' is not accepted; write it "
                              "as postgresql://user:password@host:5432/db)")
        if url and (why := url_userinfo_problem(url)):  # never echoed: the password is where libpq would not look
            raise ConfigError(f"WORKFLOW_DB_URL (or --db-url): {why}")
        pool_text = env.get("WORKFLOW_DB_POOL_SIZE", "10")
        try:
            pool_size = int(pool_text)
            if not 1 <= pool_size <= 1000:
                raise ValueError
        except ValueError:
            raise ConfigError(f"WORKFLOW_DB_POOL_SIZE must be a whole number from 1 to 1000, "
                              f"got {pool_text!r}") from None

        chosen = (provider or env.get("AI_PROVIDER") or "auto").strip().lower()
        if chosen not in PROVIDERS:  # checked before USE_STUB_AI_CLIENT, which must not hide a typo
            raise ConfigError(f"unknown AI_PROVIDER {chosen!r}; use one of {', '.join(PROVIDERS)}")
        use_stub = (env.get("USE_STUB_AI_CLIENT") or "").strip().lower()
        if use_stub not in _BOOLEAN_WORDS:
            raise ConfigError(f"USE_STUB_AI_CLIENT must be true or false, got {env.get('USE_STUB_AI_CLIENT')!r}")
        if _truthy(use_stub) and not provider:
            chosen = "stub"
        # A blank key (`echo > key`, a template's " ") is no key: `auto` then picks the agent.
        api_key = (env.get("GEMINI_API_KEY") or "").strip() or (env.get("AI_SERVICE_API_KEY") or "").strip() or None
        provider_auto = False
        if chosen == "auto":
            chosen = "gemini" if api_key else "agent"
            provider_auto = chosen == "agent"
        model = model or env.get("GEMINI_MODEL_NAME") or env.get("AI_MODEL_NAME") or None
        endpoint = (endpoint or env.get("AI_SERVICE_ENDPOINT") or "").rstrip("/") or None
        if chosen == "gemini":
            if not api_key:
                raise ConfigError("AI_PROVIDER=gemini needs GEMINI_API_KEY (or AI_SERVICE_API_KEY)")
            model = model or DEFAULT_GEMINI_MODEL
            endpoint = endpoint or DEFAULT_GEMINI_ENDPOINT
        elif chosen == "openai":
            if not model:
                raise ConfigError("AI_PROVIDER=openai needs AI_MODEL_NAME (the model id the server serves)")
            if not endpoint:
                raise ConfigError("AI_PROVIDER=openai needs AI_SERVICE_ENDPOINT "
                                  "(e.g. http://localhost:11434/v1 for Ollama)")
        if endpoint and not re.match(r"^https?://", endpoint):
            raise ConfigError(f"AI_SERVICE_ENDPOINT must start with http:// or https://, got {endpoint!r}")

        timeout_text = env.get("AI_REQUEST_TIMEOUT_MS", "30000")
        try:
            timeout_ms = int(timeout_text)
            if timeout_ms <= 0:
                raise ValueError
        except ValueError:
            raise ConfigError(f"AI_REQUEST_TIMEOUT_MS must be a positive whole number, got {timeout_text!r}") from None

        calls_text = env.get("AI_MAX_CONCURRENT_CALLS", "8")
        try:
            max_calls = int(calls_text)
            if not 1 <= max_calls <= MAX_LLM_CALLS_LIMIT:
                raise ValueError
        except ValueError:
            raise ConfigError(f"AI_MAX_CONCURRENT_CALLS must be a whole number from 1 to {MAX_LLM_CALLS_LIMIT} "
                              f"(below the server's worker threads), got {calls_text!r}") from None

        level = (log_level or env.get("LOG_LEVEL") or "info").strip().lower()
        if level not in LOG_LEVELS:
            raise ConfigError(f"unknown LOG_LEVEL {level!r}; use one of {', '.join(LOG_LEVELS)}")
        cache_text = (env.get("WORKFLOW_PARSE_CACHE") or "").strip()
        if cache_text.lower() not in _BOOLEAN_WORDS:
            if cache_text not in (".", "..") and not any(sep in cache_text for sep in ("/", os.sep, "~")):
                # "none", "disabled": a misspelled word, not a folder to create in the client's cwd
                raise ConfigError(f"WORKFLOW_PARSE_CACHE={cache_text!r} is neither on nor off nor a folder; use "
                                  "off, on, or a path such as ./parse-cache or /var/cache/orchestrator")
            parse_cache: Path | None = Path(cache_text).expanduser()
        elif _truthy(cache_text) or (not cache_text and not url):  # PostgreSQL: only when asked for
            parse_cache = db_path.parent / "parse-cache"  # beside the SQLite file, or where it would be
        else:
            parse_cache = None
        ilog = env.get("AI_INTERACTIONS_LOG")
        if ilog:
            _check_log_path(Path(ilog).expanduser())
        return cls(workflow_roots=roots, db_path=db_path, db_url=url, db_pool_size=pool_size, provider=chosen,
                   provider_auto=provider_auto, api_key=api_key, model=model, endpoint=endpoint,
                   timeout_s=timeout_ms / 1000.0,
                   interactions_log=Path(ilog).expanduser() if ilog else None, log_level=level,
                   auth_token=env.get("ORCHESTRATOR_AUTH_TOKEN") or None, max_llm_calls=max_calls,
                   parse_cache=parse_cache)

    def command(self, *words: str) -> str:
        """The ``orchestrator-mcp WORDS...`` command a person types, in any folder and shell, to
        act on this server's runs: always with the database (``--db``, absolute: the person's
        shell may set ``XDG_DATA_HOME`` or ``WORKFLOW_DB_PATH``), and with ``--workflows``
        when the roots are not the bundled library.  Without them an approval hint from a
        server with its own database would name a run the person's command cannot find.  A
        URL with a password is never written out: the command names the variable instead."""
        parts = ["orchestrator-mcp"]
        if self.db_url:
            secret = redact_url(self.db_url) != self.db_url
            parts += ["--db-url", '"$WORKFLOW_DB_URL"' if secret else shell_word(self.db_url)]
        else:  # always: the person's shell may set XDG_DATA_HOME or WORKFLOW_DB_PATH otherwise
            parts += ["--db", shell_word(str(Path(self.db_path).absolute()))]  # '..' kept: it may follow a link
        if self.workflow_roots != (bundled_workflows_dir(),):
            for root in self.workflow_roots:
                parts += ["--workflows", shell_word(str(Path(root).absolute()))]
        return " ".join([*parts, *(shell_word(w) for w in words)])


def shell_word(text: str) -> str:
    """``text`` as one word a POSIX shell reads back exactly, and as printable Unicode: a path
    with undecodable bytes (``os.fsdecode`` gives lone surrogates, which can be neither stored
    nor sent) is written in bash's ``$'...'`` form with ``\\xNN`` escapes."""
    import shlex

    if is_unicode(text) and not _TERMINAL_UNSAFE.search(text) and "\n" not in text and "\t" not in text:
        return shlex.quote(text)
    escaped = "".join(chr(b) if 0x20 <= b < 0x7f and chr(b) not in "\\'" else f"\\x{b:02x}"
                      for b in os.fsencode(text))
    return f"$'{escaped}'"


def _check_log_path(path: Path) -> None:
    """``AI_INTERACTIONS_LOG`` must be a file this process can append to, or create where its
    nearest existing folder is writable: found at start-up, not as a warning on every attempt."""
    if path.is_dir():
        raise ConfigError(f"AI_INTERACTIONS_LOG={str(path)!r} is a folder; name a file such as {str(path / 'llm.jsonl')!r}")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigError(f"AI_INTERACTIONS_LOG={str(path)!r} is not writable by this process")
        return
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"AI_INTERACTIONS_LOG={str(path)!r} cannot be created ({str(folder)!r} is not a writable "
                          "folder); point it at a file in a folder you can write")


#: Characters a terminal acts on instead of showing: C0 and C1 controls but newline and tab
#: (escape sequences can retitle, hide or rewrite what a person reads), the bidirectional
#: overrides that reorder a line on screen, and lone surrogates (undecodable bytes of a file
#: name or of input, which a C locale would write back raw and a UTF-8 one cannot write).
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape (``\\x1b``).

    Folder names, titles and reports come from files and clients; what reaches a
    person's terminal (the commands' output, the log) must show them, not obey them."""
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                else f"\\u{ord(m.group()):04x}", text)


def terminal_safe_json(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON a terminal shows as it is: every character ``terminal_safe``
    escapes becomes a ``\\uXXXX`` escape, which JSON readers decode back to the same text
    (``terminal_safe``'s ``\\x7f`` is not JSON)."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (tests and embedders swap it), terminal-safe."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record))


def setup_logging(level: str) -> None:
    """Send our logs (and the SDK's) to stderr only: stdout is the protocol."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


# =============================================================================
# 3. Definitions
#    Markdown in, ``WorkflowDef`` out: includes are expanded with line origins
#    kept, H1 sections are split outside code fences, and every problem names
#    its file and line.  A stat-signature cache makes edits visible at once; a
#    parse cache on disk spares a fresh server the parse of unchanged workflows.
# =============================================================================

WORKFLOW_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
INCLUDE_RE = re.compile(r"\{\{\s*file:\s*([^}]*?)\s*\}\}")
MAX_INCLUDE_DEPTH = 10
#: Largest definition file (index.md, a step, an include) read; a bigger one is an error naming it.
MAX_DEFINITION_FILE_BYTES = 1024 * 1024
#: Largest assembled workflow: includes repeated many times cannot multiply past this.
MAX_WORKFLOW_TEXT_BYTES = 4 * 1024 * 1024
#: Longest path a step link or an include may name.
MAX_LINK_CHARS = 1000
#: Bounds of the hot-reload walk over one workflow folder (directory links are never followed).
MAX_WORKFLOW_FILES = 5000
MAX_WORKFLOW_DEPTH = 16
#: Only these end a line, as in editors: a form feed or U+2028 inside a line keeps line numbers right.
_LINE_END_RE = re.compile(r"\r\n|\r|\n")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_LIST_ITEM_RE = re.compile(r"^(\s*)(?:[-*+]|\d{1,9}[.)])[ \t]+(.*)$")
_LINK_ITEM_RE = re.compile(r"^\[([^\]]+)\]\(\s*<?([^)\s>]+)>?\s*\)")
#: A transition item: ``- STATUS: TARGET``, or ``- FIELD OP LITERAL: TARGET`` where a quoted
#: literal may hold a colon (``- branch == "a: b": Review``).
_TRANSITION_RE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])[ \t]+`?((?:\"[^\"\n]*\"|'[^'\n]*'|[^:`])+?)`?\s*:\s*(.+?)\s*$")


@dataclass(frozen=True)
class Line:
    """One line of expanded Markdown and where it really came from."""
    text: str
    file: Path
    lineno: int


@dataclass(frozen=True)
class Problem:
    """A validation error or warning, printed as ``file:line: message``."""
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Section:
    """An H1 section: its title, body lines, and where the heading stood."""
    title: str
    lines: tuple[Line, ...]
    at: Line | None

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines).strip()


#: Types a ``# Report`` field may declare, and the JSON values each accepts.
REPORT_TYPES = ("text", "integer", "number", "boolean", "list")
#: Report keys with a meaning of their own; a ``# Report`` field may not reuse them.
RESERVED_REPORT_KEYS = ("step_id", "status", "choose_step")
_REPORT_FIELD_RE = re.compile(
    r"^\s*(?:[-*+]|\d{1,9}[.)])[ \t]+`?([A-Za-z_][A-Za-z0-9_]*)`?\s*:\s*`?([A-Za-z]+)`?"
    r"\s*(?:,\s*(required|optional))?\s*(?:(?:\u2014|\u2013|--|-|:)\s*(.*?))?\s*$", re.IGNORECASE)
_CONDITION_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|>=|<=|>|<)\s*(\S.*?)$")


@dataclass(frozen=True)
class ReportField:
    """One piece of evidence a step's report must (or may) carry, at the report's top level."""
    name: str
    type: str  # one of REPORT_TYPES
    required: bool
    description: str = ""


def report_type_of(value: Any) -> str:
    """The ``# Report`` type a JSON value has (``bool`` is not a number in JSON)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    return "object" if isinstance(value, dict) else "null"


def report_value_fits(expected: str, value: Any) -> bool:
    """An integer is also a number; nothing else converts (``"3"`` is text, not an integer)."""
    got = report_type_of(value)
    return got == expected or (expected == "number" and got == "integer")


@dataclass(frozen=True)
class Condition:
    """An evidence transition: ``- field OP literal: Target``, one field against one literal.

    Deliberately no expression language: no ``and``/``or``, no arithmetic, no
    second field.  A missing field or a value of another type never matches.
    """
    field: str
    op: str
    value: Any
    target: str

    def holds(self, report: Mapping[str, Any]) -> bool:
        if self.field not in report:
            return False
        got = report[self.field]
        numeric = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
        if numeric(self.value) != numeric(got) or (isinstance(self.value, bool) != isinstance(got, bool)):
            return False
        if isinstance(self.value, str) and not isinstance(got, str):
            return False
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
        return ops[self.op](got, self.value)

    def describe(self) -> str:
        return f"{self.field} {self.op} {json.dumps(self.value)}"


#: Most digits a number in a condition may have: any real threshold fits, and Python refuses to
#: read an integer of more than 4,300 digits at all.
MAX_LITERAL_DIGITS = 30


def parse_literal(text: str) -> Any:
    """A condition's right-hand side: a number, true/false, or text (quoted or bare).

    Raises ``ValueError`` (with a message for the author) for a number of more than
    ``MAX_LITERAL_DIGITS`` digits: such a threshold is a mistake (400 nines would read as
    infinity, 4,301 digits not at all), reported at its line by the caller."""
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    number = re.fullmatch(r"-?\d+", text) or re.fullmatch(r"-?\d+\.\d*|-?\.\d+", text)
    if number and sum(c.isdigit() for c in text) > MAX_LITERAL_DIGITS:
        raise ValueError(f"the number {text[:12]}... has more than {MAX_LITERAL_DIGITS} digits; "
                         "write a smaller threshold")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if number:
        return float(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


@dataclass
class StepDef:
    name: str
    file: Path
    guidance: str
    instructions: str
    goal: str
    transitions: dict[str, str]  # lower-case status -> canonical target
    text: str  # the whole expanded step file
    report_fields: list[ReportField] = field(default_factory=list)  # the ``# Report`` section
    conditions: list[Condition] = field(default_factory=list)  # evidence transitions, in file order
    approval: str = ""  # the ``# Approval`` section: what a person approves before the run leaves this step


@dataclass
class WorkflowDef:
    """A parsed workflow; returned even when invalid so callers can show why."""
    name: str
    directory: Path
    title: str = ""
    goal: str = ""
    steps: list[StepDef] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    text: str = ""
    hash: str = ""
    included_outside: tuple[str, ...] = ()  # paths read (or missing) outside the folder, for the caches
    #: Every path the parse resolved and its real path (None: unusable), for the parse cache.
    resolved: tuple[tuple[str, str | None], ...] = field(default=(), init=False, repr=False, compare=False)
    #: Each file the parse read (real path) and its stamps when it was opened: a file whose stamps
    #: differ afterwards was saved during the parse, and the library parses again.
    read_stamps: tuple[tuple[str, tuple[int, int, int, int]], ...] = field(default=(), init=False, repr=False,
                                                                           compare=False)
    #: Real paths of the step files and includes the parse found missing: one written meanwhile
    #: makes the library parse again.
    read_missing: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    #: (the steps list it was built from, normalized name -> first step of that name), for ``step``.
    _index: "tuple[list[StepDef], dict[str, StepDef]] | None" = field(default=None, init=False, repr=False,
                                                                      compare=False)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def first_step(self) -> StepDef:
        return self.steps[0]

    def step(self, name: str) -> StepDef | None:
        """Look a step up by canonical name, forgiving case, spaces and underscores."""
        index = self._index
        if index is None or index[0] is not self.steps:  # built on first use (several look-ups per call)
            by_key: dict[str, StepDef] = {}
            for step in self.steps:
                by_key.setdefault(normalize_name(step.name), step)
            index = self._index = (self.steps, by_key)
        return index[1].get(normalize_name(name))

    def resolve_target(self, name: str) -> str | None:
        """Map a decision (exact or near-miss) to a step name, FINISH or FAILED."""
        key = normalize_name(name)
        for reserved in RESERVED_STEPS:
            if key == reserved.lower():
                return reserved
        found = self.step(name)
        return found.name if found else None

    @property
    def targets(self) -> list[str]:
        """Every name a decision may always take; SUSPEND only where a step offers it."""
        return [s.name for s in self.steps] + [FINISH, FAILED]


_NAME_NOISE = re.compile(r"[\s_]+")


def normalize_name(name: str) -> str:
    """Step names compare case-, space- and underscore-insensitively."""
    return _NAME_NOISE.sub("", name).lower()


def _printable(text: str) -> str:
    """Text safe to return as JSON: undecodable file-name bytes become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _display(path: Path, root: Path) -> str:
    """Problems name files relative to their definitions root (``W/steps/a.md``).

    A link that leaves the root is named by where it stands, not where it points.
    """
    for where, base in ((_real(path), _real(root)), (Path(os.path.abspath(path)), Path(os.path.abspath(root)))):
        if where is not None and base is not None:
            try:
                return _printable(where.relative_to(base).as_posix())
            except ValueError:
                continue
    return _printable(str(path))


def _realpath(path: str | Path) -> str | None:
    """``os.path.realpath``, or None when the OS cannot resolve it (a NUL byte, a name too long)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return None


def _real(path: Path) -> Path | None:
    """The real path as a ``Path`` (see ``_realpath``)."""
    found = _realpath(path)
    return None if found is None else Path(found)


def _stamp(st: os.stat_result, link: bool = False) -> tuple[int, int, int, int]:
    """What says a file is unchanged: modified time, changed time, size (-2 for a link
    itself) and inode.  The changed time moves on every write, even one that sets the
    modified time back, and a file renamed in over the old one has another inode."""
    return st.st_mtime_ns, st.st_ctime_ns, -2 if link else st.st_size, st.st_ino


def _inside(real: Path, root: Path) -> bool:
    """Is the real path ``real`` the real path ``root`` or below it?  Both are resolved, so
    comparing text is exact, and it costs a tenth of walking ``real.parents``."""
    path, top = str(real), str(root)
    return path == top or path.startswith(top if top.endswith(os.sep) else top + os.sep)


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: split on newlines only (``str.splitlines``
    also splits on form feeds and other separators, which shifts line numbers)."""
    lines = _LINE_END_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def confine(base: Path, rel: str, root: Path,
            real_path: Callable[[Path], Path | None] = _real) -> tuple[Path | None, str]:
    """Resolve a step link or include path inside ``root``: (real path, "") or
    (None, why not).  Never raises, whatever the text: the parser reports it."""
    if len(rel) > MAX_LINK_CHARS:
        return None, f"is longer than {MAX_LINK_CHARS} characters"
    if "\x00" in rel:
        return None, "contains a NUL byte"
    real = real_path(base / rel)
    if real is None:
        return None, "is not a usable path"
    if not _inside(real, root):
        return None, f"leaves the definitions root {str(root)!r}"
    try:
        found = real.is_file()
    except (OSError, ValueError):
        found = False
    return (real, "") if found else (None, "not found")


class _Includes:
    """Reads definition files for one workflow, confined to its definitions root.

    Every file the parser reads comes through ``expand``: it must resolve inside
    the root, be a regular file within the size cap, and be UTF-8; otherwise it
    is an error naming the file and not one byte of it is returned.
    ``{{file:...}}`` directives are expanded recursively.
    """

    def __init__(self, root: Path) -> None:
        self._dirs: dict[str, str | None] = {}  # folder as written -> its real path, for this parse only
        real_root = self._real_text(os.fspath(root))
        self._dirs[os.fspath(root)] = real_root
        self.root = Path(real_root) if real_root else root.absolute()
        self.errors: list[Problem] = []
        self.files: set[Path] = set()
        self.total = 0  # bytes read so far, against MAX_WORKFLOW_TEXT_BYTES
        #: Every path resolved, as written -> its real path: what the parse's view of links depends on.
        self.resolved: dict[str, str | None] = {}
        #: Real path -> its stamps when opened (see ``WorkflowDef.read_stamps``).
        self.stamps: dict[str, tuple[int, int, int, int]] = {}
        #: Real paths of step files and includes found missing (see ``WorkflowDef.read_missing``).
        self.missing: set[str] = set()

    def confine(self, base: Path, rel: str) -> tuple[Path | None, str]:
        """``confine`` in this root, remembering a file found missing."""
        real, why = confine(base, rel, self.root, self.real)
        if why == "not found":
            self.missing.add(self.resolved.get(os.fspath(base / rel)) or "")
        return real, why

    def real(self, path: Path) -> Path | None:
        """``_real(path)``, each folder resolved once per parse; remembered in ``resolved``."""
        text = os.fspath(path)
        found = self.resolved[text] = self._real_text(text)
        return None if found is None else Path(found)

    def _real_text(self, path: str) -> str | None:
        """``os.path.realpath(path)``, one folder at a time, each folder once per parse.

        ``realpath`` checks every component of the path with ``lstat``: about a
        hundred calls per workflow, a quarter of its parse.  The real path of a
        folder joined with a name that is not a link is the real path of the whole,
        so once a folder is known each name in it costs one ``lstat``; a link, ``..``
        or anything unusual takes the full ``realpath``.
        """
        parent, name = os.path.split(path)
        if name in ("", ".", "..") or not parent:
            return _realpath(path)
        chain: list[tuple[str, str, str]] = []  # folders not yet resolved, from the deepest up
        folder = parent
        while folder not in self._dirs:
            up, leaf = os.path.split(folder)
            if leaf in ("", ".", "..") or not up:
                self._dirs[folder] = _realpath(folder)
                break
            chain.append((folder, up, leaf))
            folder = up
        for folder, up, leaf in reversed(chain):
            self._dirs[folder] = self._below(self._dirs[up], leaf, folder)
        return self._below(self._dirs[parent], name, path)

    def _below(self, base: str | None, name: str, path: str) -> str | None:
        """The real path of ``path``, whose folder's real path is ``base``."""
        if base is None:
            return None
        full = os.path.join(base, name)
        try:
            if stat.S_ISLNK(os.lstat(full).st_mode):
                return _realpath(path)
        except FileNotFoundError:
            pass  # realpath keeps a missing component as written, and so does this
        except (OSError, ValueError):
            return _realpath(path)
        return full

    def problem(self, at: Line | None, file: Path, message: str) -> None:
        where = at.file if at else file
        self.errors.append(Problem(_display(where, self.root), at.lineno if at else 1, message))

    def read(self, path: Path, at: Line | None) -> tuple[str, Path] | None:
        """The text of one definition file and its real path, or None (with a problem recorded).

        The real path is resolved once here: the confinement check needs it and
        the include-cycle check reuses it.  The display name is worked out only
        for a problem, since resolving it costs two more ``realpath`` calls.
        """
        def name() -> str:
            return _display(path, self.root)

        real = self.real(path)
        if real is None or not _inside(real, self.root):
            self.problem(at, path, f"{name()} is a link that leaves the definitions root; "
                                   "it was not read")
            return None
        try:
            # O_NONBLOCK: opening a FIFO planted in a workflow must not hang the server.
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    self.problem(at, path, f"{name()} is not a regular file")
                    return None
                self.stamps.setdefault(str(real), _stamp(st))  # before the read: a later save shows
                data = fh.read(MAX_DEFINITION_FILE_BYTES + 1)
        except OSError as exc:
            self.problem(at, path, f"cannot read {name()}: {exc.__class__.__name__}")
            return None
        if len(data) > MAX_DEFINITION_FILE_BYTES:
            self.problem(at, path, f"{name()} is larger than {MAX_DEFINITION_FILE_BYTES} bytes "
                                   "(1 MiB), the limit for a definition file; split it")
            return None
        self.total += len(data)
        if self.total > MAX_WORKFLOW_TEXT_BYTES:
            self.problem(at, path, f"the assembled workflow exceeds {MAX_WORKFLOW_TEXT_BYTES} bytes (4 MiB) at "
                                   f"{name()}; include less")
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.problem(at, path, f"{name()} is not UTF-8 text")
            return None
        self.files.add(path)
        return (text[1:] if text.startswith("\ufeff") else text), real  # a BOM is an encoding mark, not content

    def expand(self, path: Path, chain: tuple[Path, ...] = (), at: Line | None = None) -> list[Line]:
        """Read ``path`` and return its lines with includes spliced in."""
        got = self.read(path, at)
        if got is None:
            return []
        text, real_path = got  # cycle checks compare real paths
        out: list[Line] = []
        for lineno, raw in enumerate(split_lines(text), 1):
            here = Line(raw, path, lineno)
            if "{{" not in raw:
                out.append(here)
                continue
            pos, pending, origin = 0, "", here
            for m in INCLUDE_RE.finditer(raw):
                pending += raw[pos:m.start()]
                pos = m.end()
                target = self._resolve(m.group(1), path, real_path, chain, here)
                inner = self.expand(target, chain + (real_path,), here) if target else []
                if inner:
                    # Text before the directive joins the first included line; the
                    # last included line stays open for the text after it.
                    inner[0] = dataclasses.replace(inner[0], text=pending + inner[0].text)
                    out.extend(inner[:-1])
                    pending, origin = inner[-1].text, inner[-1]
            out.append(Line(pending + raw[pos:], origin.file, origin.lineno))
        return out

    def _resolve(self, rel: str, including: Path, real_including: Path, chain: tuple[Path, ...],
                 at: Line) -> Path | None:
        if not rel:
            self.problem(at, including, "empty include path in {{file:}}")
            return None
        if os.path.isabs(rel) or rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel):
            self.problem(at, including, f"include {rel[:80]!r} is an absolute path; use a path relative "
                                        "to the file")
            return None
        real, why = self.confine(including.parent, rel)
        if real is None:
            self.problem(at, including, f"include {rel[:80]!r} {why}")
            return None
        if real in chain or real == real_including:
            names = " -> ".join(_display(p, self.root) for p in chain + (real_including, real))
            self.problem(at, including, f"include cycle: {names}")
            return None
        if len(chain) + 1 > MAX_INCLUDE_DEPTH:
            self.problem(at, including, f"includes nested deeper than {MAX_INCLUDE_DEPTH}")
            return None
        return real


def _scan(lines: Sequence[Line]) -> Iterator[tuple[Line, bool]]:
    """Yield each line with whether it is inside (or delimits) a fenced code block."""
    fence: str | None = None
    for ln in lines:
        m = _FENCE_RE.match(ln.text)
        if fence is None:
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = m.group(1)
                yield ln, True
                continue
            yield ln, False
        else:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
                fence = None
            yield ln, True


def _heading(ln: Line, in_fence: bool) -> tuple[int, str] | None:
    """(level, text) when the line is an ATX heading outside a fence."""
    if in_fence:
        return None
    m = _HEADING_RE.match(ln.text)
    if not m:
        return None
    text = re.sub(r"(?:^|[ \t]+)#+$", "", m.group(2) or "").strip()
    return len(m.group(1)), text


def split_h1(lines: Sequence[Line]) -> tuple[tuple[Line, ...], list[Section]]:
    """Split into (preamble, H1 sections); deeper headings stay in their section."""
    preamble: list[Line] = []
    sections: list[Section] = []
    title, body, at = None, [], None
    for ln, in_fence in _scan(lines):
        h = _heading(ln, in_fence)
        if h and h[0] == 1:
            if at is not None:
                sections.append(Section(title or "", tuple(body), at))
            title, body, at = h[1], [], ln
        elif at is None:
            preamble.append(ln)
        else:
            body.append(ln)
    if at is not None:
        sections.append(Section(title or "", tuple(body), at))
    return tuple(preamble), sections


def _section_key(title: str) -> str:
    return " ".join(title.lower().split())


def _lines_text(lines: Iterable[Line]) -> str:
    return "\n".join(ln.text for ln in lines).strip()


def _find_step_list(lines: Sequence[Line]) -> tuple[list[tuple[str, str, Line]], int | None]:
    """Find the step list: the first list of links, preferring one under a
    heading named ``Steps`` or ``High-Level Plan``.  Returns the items and the
    index in ``lines`` where the chosen list starts."""
    lists: list[tuple[list[tuple[str, str, Line]], int, bool]] = []
    preferred_level: int | None = None
    current: list[tuple[str, str, Line]] | None = None
    start = 0
    under_preferred = False
    for idx, (ln, in_fence) in enumerate(_scan(lines)):
        h = _heading(ln, in_fence)
        if h:
            if current:
                lists.append((current, start, under_preferred))
            current = None
            if _section_key(h[1]).rstrip(":") in ("steps", "high-level plan", "high level plan", "plan"):
                preferred_level, under_preferred = h[0], True
            elif preferred_level is not None and h[0] <= preferred_level:
                preferred_level, under_preferred = None, False
            continue
        item = None if in_fence else _LIST_ITEM_RE.match(ln.text)
        if item:
            link = _LINK_ITEM_RE.match(item.group(2).strip().lstrip("*_").strip())
            if current is None:
                current, start = [], idx
            if link:
                current.append((link.group(1).strip().strip("*_`").strip(), link.group(2), ln))
        elif ln.text.strip() and not ln.text.startswith((" ", "\t")) and current is not None:
            lists.append((current, start, under_preferred))
            current = None
    if current:
        lists.append((current, start, under_preferred))
    lists = [entry for entry in lists if entry[0]]
    for items, begin, preferred in lists:
        if preferred:
            return items, begin
    return (lists[0][0], lists[0][1]) if lists else ([], None)


def _parse_transitions(section: Section, root: Path, errors: list[Problem]) -> list[tuple[str, str, Line]]:
    """Read ``- status: Target`` items; targets are checked later against steps."""
    out: list[tuple[str, str, Line]] = []
    for ln, in_fence in _scan(section.lines):
        if in_fence or not ln.text.strip():
            continue
        m = _TRANSITION_RE.match(ln.text)
        if not m:
            if _LIST_ITEM_RE.match(ln.text):
                errors.append(Problem(_display(ln.file, root), ln.lineno,
                                      "transition must look like '- status: Step Name'"))
            continue
        status, target = m.group(1).strip().lower(), m.group(2).strip().strip("`*").strip()
        cond = _CONDITION_RE.match(m.group(1).strip())
        if cond:
            # Kept as "field op literal" text; the step's parser turns it into a Condition.
            out.append((f"{cond.group(1)} {cond.group(2)} {cond.group(3)}", target, ln))
            continue
        if not re.match(r"^[\w .-]+$", status):
            errors.append(Problem(_display(ln.file, root), ln.lineno, f"bad transition status {status!r}"))
            continue
        out.append((status, target, ln))
    return out


_GUIDANCE_REF_RES = (
    re.compile(r"\b(?:step|go(?:es)? to|proceed(?:s)? to|move(?:s)? to|continue(?:s)? (?:with|to)|next)\s*:?\s*"
               r"(?:the\s+)?(?:`|\*\*|\")([^`*\"\n]{2,60})(?:`|\*\*|\")", re.IGNORECASE),
    re.compile(r"(?:`|\*\*|\")([^`*\"\n]{2,60})(?:`|\*\*|\")\s+step\b", re.IGNORECASE),
)


def parse_workflow(name: str, directory: Path, root: Path) -> WorkflowDef:
    """Parse and validate one workflow folder.  Never raises for bad content:
    every problem becomes an entry in ``errors`` or ``warnings``."""
    wf = WorkflowDef(name=name, directory=directory)
    inc = _Includes(root)
    index = directory / "index.md"

    def problem(into: list[Problem], at: Line | Path, message: str) -> None:
        file, line = (at.file, at.lineno) if isinstance(at, Line) else (at, 1)
        into.append(Problem(_display(file, root), line, message))

    if not WORKFLOW_NAME_RE.match(name):
        problem(wf.errors, directory, "workflow folder name must be 1-100 letters, digits, '_' or '-'")
    real_dir = _real(directory)
    if real_dir is None or real_dir == inc.root or not _inside(real_dir, inc.root):
        problem(wf.errors, directory, "the workflow folder is a link that leaves the definitions root; "
                                      "nothing in it was read")
        return _finish(wf, inc, [], [])
    try:
        has_index = index.is_file()
    except OSError:
        has_index = False
    if not has_index:
        problem(wf.errors, index, "index.md is missing")
        return _finish(wf, inc, [], [])
    index_lines = inc.expand(index)
    if not index_lines and inc.errors:  # unreadable: say so once, not as a missing title and list
        return _finish(wf, inc, [], [])
    title_line = next((ln for ln, f in _scan(index_lines) if (h := _heading(ln, f)) and h[0] == 1), None)
    heading = _heading(title_line, False) if title_line else None
    wf.title = heading[1] if heading and heading[1] else name
    if title_line is None:
        problem(wf.warnings, index, "index.md has no '# Title' heading")
    items, list_at = _find_step_list(index_lines)
    wf.goal = _index_goal(index_lines, title_line, list_at)
    if not items:
        problem(wf.errors, index, "no step list: add a list of links like '1. [Step Name](steps/step.md)'")
    seen: dict[str, Line] = {}
    parsed: list[tuple[StepDef, list[tuple[str, str, Line]]]] = []
    for step_name, target, ln in items:
        key = normalize_name(step_name)
        if key in (r.lower() for r in RESERVED_STEPS):
            problem(wf.errors, ln, f"step name {step_name!r} is reserved")
        elif key in seen:
            problem(wf.errors, ln, f"duplicate step name {step_name!r} (same as line {seen[key].lineno} "
                                   "when case, spaces and underscores are ignored)")
        else:
            seen[key] = ln
            real, why = inc.confine(ln.file.parent, target)
            if real is None:
                problem(wf.errors, ln, f"step file {target[:80]!r} {why}")
            else:
                parsed.append(_parse_step(step_name, real, inc, root, wf.errors))
    wf.steps = [step for step, _ in parsed]
    # Targets are checked once every step is known: a transition may point forward.
    for step, transitions in parsed:
        for status, target, ln in transitions:
            resolved = wf.resolve_target(target)
            cond = _CONDITION_RE.match(status)
            if resolved is None:
                hint = (" (a run waits through the reserved target SUSPEND)"
                        if normalize_name(target) in ("suspended", "suspend", "wait") else "")
                problem(wf.errors, ln, f"transition '{status}' goes to unknown step {target!r}{hint}; "
                                       f"known: {', '.join(wf.targets + [SUSPEND])}")
            elif cond:
                _add_condition(step, cond, resolved, lambda msg, at=ln: problem(wf.errors, at, msg))
            else:
                step.transitions[status] = resolved
    _warn(wf, root)
    return _finish(wf, inc, index_lines, wf.steps)


def _add_condition(step: StepDef, cond: "re.Match[str]", target: str, error: Callable[[str], None]) -> None:
    """Check an evidence transition against the step's ``# Report`` fields and keep it."""
    name, op = cond.group(1), cond.group(2)
    try:
        literal = parse_literal(cond.group(3))
    except ValueError as exc:
        error(f"transition on {name!r}: {exc}")
        return
    declared = {f.name: f for f in step.report_fields}
    if name not in declared:
        error(f"transition '{cond.group(0)}' tests {name!r}, which the step's '# Report' section does not "
              f"declare (declared: {', '.join(declared) or 'none'})")
        return
    kind = declared[name].type
    numeric = isinstance(literal, (int, float)) and not isinstance(literal, bool)
    if op in (">", ">=", "<", "<=") and not (kind in ("integer", "number") and numeric):
        error(f"transition '{cond.group(0)}': '{op}' compares numbers only; {name!r} is {kind}")
        return
    fits = {"integer": numeric, "number": numeric, "boolean": isinstance(literal, bool),
            "text": isinstance(literal, str), "list": False}[kind]
    if not fits:
        error(f"transition '{cond.group(0)}': {json.dumps(literal)} does not fit {name!r}, which is {kind}")
        return
    step.conditions.append(Condition(name, op, literal, target))


def _parse_report_fields(section: Section, root: Path, errors: list[Problem]) -> list[ReportField]:
    """Read ``- name: type[, required][ - description]`` items of a ``# Report`` section."""
    fields: list[ReportField] = []
    for ln, in_fence in _scan(section.lines):
        if in_fence or not _LIST_ITEM_RE.match(ln.text):
            continue
        where = (_display(ln.file, root), ln.lineno)
        m = _REPORT_FIELD_RE.match(ln.text)
        if not m:
            errors.append(Problem(*where, "report field must look like '- name: integer, required' "
                                          f"(types: {', '.join(REPORT_TYPES)})"))
            continue
        name, kind = m.group(1), m.group(2).lower()
        if kind not in REPORT_TYPES:
            errors.append(Problem(*where, f"report field {name!r} has unknown type {kind!r}; "
                                          f"use one of {', '.join(REPORT_TYPES)}"))
        elif name.lower() in RESERVED_REPORT_KEYS:
            errors.append(Problem(*where, f"report field name {name!r} is reserved "
                                          f"({', '.join(RESERVED_REPORT_KEYS)} have their own meaning)"))
        elif any(f.name == name for f in fields):
            errors.append(Problem(*where, f"report field {name!r} is declared twice"))
        else:
            fields.append(ReportField(name, kind, (m.group(3) or "").lower() == "required", (m.group(4) or "")))
    if not fields:
        at = section.at
        errors.append(Problem(_display(at.file if at else Path("?"), root), at.lineno if at else 1,
                              "the '# Report' section declares no fields; list them as "
                              "'- name: type, required' or remove the section"))
    return fields


def _index_goal(lines: Sequence[Line], title: Line | None, list_at: int | None) -> str:
    """``## Overall Goal`` when present, else the prose between title and step list."""
    capture: list[Line] | None = None
    level = 0
    for ln, in_fence in _scan(lines):
        h = _heading(ln, in_fence)
        if h and capture is not None and h[0] <= level:
            break
        if capture is not None:
            capture.append(ln)
        elif h and _section_key(h[1]).rstrip(":") in ("overall goal", "goal"):
            capture, level = [], h[0]
    if capture is not None:
        return _lines_text(capture)
    begin = lines.index(title) + 1 if title is not None else 0
    end = list_at if list_at is not None else len(lines)
    prose = [ln for ln, f in _scan(lines[begin:end]) if not _heading(ln, f)]
    return _lines_text(prose)


def _parse_step(name: str, path: Path, inc: _Includes, root: Path,
                errors: list[Problem]) -> tuple[StepDef, list[tuple[str, str, Line]]]:
    lines = inc.expand(path)
    _, sections = split_h1(lines)
    by_key: dict[str, Section] = {}
    for sec in sections:
        by_key.setdefault(_section_key(sec.title), sec)
    for required in ("Orchestrator Guidance", "Client Instructions"):
        if _section_key(required) not in by_key:
            errors.append(Problem(_display(path, root), 1, f"step {name!r} lacks a '# {required}' section"))
    transitions: list[tuple[str, str, Line]] = []
    if "transitions" in by_key:
        transitions = _parse_transitions(by_key["transitions"], root, errors)
    get = lambda key: by_key[key].text if key in by_key else ""  # noqa: E731
    step = StepDef(name=name, file=path, guidance=get("orchestrator guidance"),
                   instructions=get("client instructions"), goal=get("goal"), transitions={},
                   text=_lines_text(lines), approval=get("approval"))
    if "report" in by_key:
        step.report_fields = _parse_report_fields(by_key["report"], root, errors)
    if "approval" in by_key and not step.approval:
        at = by_key["approval"].at
        errors.append(Problem(_display(path, root), at.lineno if at else 1,
                              f"step {name!r} has an empty '# Approval' section; say what the person approves"))
    return step, transitions


def _warn(wf: WorkflowDef, root: Path) -> None:
    """Unreachable steps and guidance that names steps which do not exist."""
    if not wf.steps:
        return
    targets = {t for s in wf.steps for t in s.transitions.values()} | {c.target for s in wf.steps
                                                                         for c in s.conditions}
    for step in wf.steps:
        if "rejected" in step.transitions and not step.approval:
            wf.warnings.append(Problem(_display(step.file, root), 1,
                                       f"step {step.name!r} has a 'rejected' transition but no '# Approval' "
                                       "section, so only a report status can take it"))
    guidance = [s.guidance.lower() for s in wf.steps]
    for i, step in enumerate(wf.steps):
        if i == 0 or step.name in targets:
            continue
        # The stub walks index order, so a step after one without a transition
        # table is reachable too.
        if not wf.steps[i - 1].transitions:
            continue
        name = step.name.lower()
        if any(name in text for j, text in enumerate(guidance) if j != i):  # its own guidance does not count
            continue
        wf.warnings.append(Problem(_display(step.file, root), 1,
                                   f"step {step.name!r} is unreachable: no transition or guidance mentions it"))
    for step in wf.steps:
        for rx in _GUIDANCE_REF_RES:
            for m in rx.finditer(step.guidance):
                ref = m.group(1).strip()
                if wf.resolve_target(ref) is None and not re.search(r"[/.$(){}=]|\s-\w", ref):
                    wf.warnings.append(Problem(_display(step.file, root), 1,
                                               f"guidance of {step.name!r} names step {ref!r}, "
                                               "which does not exist"))


def _finish(wf: WorkflowDef, inc: _Includes, index_lines: Sequence[Line], steps: Sequence[StepDef]) -> WorkflowDef:
    wf.errors[:0] = inc.errors
    parts = [_lines_text(index_lines)] + [f"## Step: {s.name}\n\n{s.text}" for s in steps]
    wf.text = "\n\n---\n\n".join(parts)
    wf.hash = hashlib.sha256(wf.text.encode("utf-8")).hexdigest()[:16]
    real_dir = Path(os.path.realpath(wf.directory))
    outside = {str(f) for f in inc.files if real_dir not in f.parents}
    # A path that leads outside counts as written and as resolved, read or missing: creating
    # a missing include, or repointing a link in another folder, is an edit of the workflow.
    for written, real in inc.resolved.items():
        if real is not None and real_dir not in Path(real).parents:
            outside.update((written, real))
    wf.included_outside = tuple(sorted(outside))
    wf.resolved = tuple(inc.resolved.items())
    wf.read_stamps = tuple(inc.stamps.items())
    wf.read_missing = tuple(sorted(p for p in inc.missing if p))
    return wf


class _FolderWatch:
    """Linux inotify, through ``ctypes``: has anything changed in the watched folders?

    The kernel queues an event in the same system call that writes, renames,
    creates or deletes a file in a watched folder, so a call that arrives after
    an edit always sees it; asking costs one non-blocking ``read``.  ``create``
    returns None where inotify is missing (macOS, Windows) or fails; the
    library then checks stat signatures on every call, as before.
    """

    #: IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
    #: IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
    MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800

    #: Filesystems whose changes may come from another machine (or a FUSE daemon),
    #: which inotify never hears of: folders on them keep the stat check.
    REMOTE_FS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "ceph", "glusterfs", "afs",
                 "lustre", "gpfs", "beegfs", "davfs", "fuse", "fuseblk")

    def __init__(self, libc: Any, fd: int, mounts: Sequence[tuple[str, str]] = ()) -> None:
        import select

        self._libc = libc
        self._fd = fd
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)
        self._watched: set[str] = set()
        # Longest mount point first; of two at one point, the later (the one on top) first.
        self._mounts = sorted(reversed(list(mounts)), key=lambda m: len(m[0]), reverse=True)

    @staticmethod
    def read_mounts(text: str) -> list[tuple[str, str]]:
        """(mount point, filesystem type) pairs from ``/proc/self/mountinfo`` text."""
        mounts = []
        for line in text.splitlines():
            left, sep, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if sep and len(fields) >= 5 and rest:
                point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
                mounts.append((point, rest[0]))
        return mounts

    def local(self, folder: str) -> bool:
        """Is ``folder`` on a filesystem whose every change this kernel makes itself?"""
        real = os.path.realpath(folder)
        for point, fstype in self._mounts:
            if real == point or real.startswith(point.rstrip("/") + "/"):
                return fstype.split(".")[0] not in self.REMOTE_FS
        return False

    @classmethod
    def create(cls) -> "_FolderWatch | None":
        if not sys.platform.startswith("linux"):
            return None
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            mounts = cls.read_mounts(Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace"))
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(libc, fd, mounts) if fd >= 0 else None

    def watch(self, folder: str) -> bool:
        """Watch ``folder`` (its entries, not its subfolders); False if the kernel refused.

        A folder on a network or FUSE filesystem is refused: an edit made by
        another machine raises no event here.  Remembered until ``changed``
        reports an event: a folder deleted and
        made again loses its kernel watch, so after any event every folder is
        watched afresh by the next look at it.
        """
        if folder in self._watched:
            return True
        if not self.local(folder):
            return False
        if self._libc.inotify_add_watch(self._fd, os.fsencode(folder), self.MASK) < 0:
            return False
        self._watched.add(folder)
        return True

    def changed(self) -> bool:
        """True if any event arrived since the last call (the queue is drained)."""
        if not self._poll.poll(0):
            return False
        while True:
            try:
                if not os.read(self._fd, 65536):
                    break
            except OSError:  # BlockingIOError: drained
                break
        self._watched.clear()
        return True

    def close(self) -> None:
        """Close once: a second close could hit a descriptor number reused meanwhile."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


# -- the parse cache: parsed workflows kept on disk between runs -------------

#: Bumped whenever the layout of a cache file changes; a file of another format is a miss.
PARSE_CACHE_FORMAT = 1
#: A larger cache file is neither read nor written: that workflow is parsed each time.
MAX_PARSE_CACHE_BYTES = 16 * 1024 * 1024
#: A file changed this shortly before a parse began may change again within the same
#: timestamp tick (1-2 s on FAT, HFS+ and some network filesystems) without its stamps
#: moving, so such a parse is kept in memory only.
PARSE_CACHE_SETTLE_NS = 2_000_000_000


def _module_identity() -> tuple[Any, ...]:
    """This file as it was when imported: path, device, inode, size, modified and changed time.

    Taken at import, not at first use: a server that idles while an upgrade replaces
    the file runs the old code, and must not label its parses as the new file's."""
    try:
        st = os.stat(__file__)
        return (__version__, os.path.abspath(__file__), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                st.st_ctime_ns)
    except (OSError, NameError):  # no file (frozen, zipped): entries from another build could not be told apart
        return ()


#: The parse cache trusts only entries written by this very code (see ``_module_identity``).
_MODULE_AT_IMPORT = _module_identity()


class ParseCache:
    """Parsed workflows kept as JSON files in a folder of the server's data directory,
    so that a fresh server's first call reads a definition instead of parsing it.

    Only ever a speed-up.  An entry is used only when a fresh parse would read
    exactly what it read: the same stat signature of the workflow folder and of the
    files it includes from outside it (modified and changed time, size, inode);
    every path the parse resolved resolving to the same real path, whose stamps are
    unchanged (a link swapped, a file created where one was missing); the same root
    and folder, real paths included; and this very module file.  Anything else (a
    missing, corrupt, truncated, foreign or oversized file, a checksum that does not
    match, an unreadable or read-only folder, a folder that is a link or that another
    user owns or may write in, a file another user owns or may write) is a miss, and
    the workflow is parsed as if there were no cache; the first such problem is one
    line in the log.  JSON only: nothing read from the cache can run.  Each file is
    written under a temporary name and renamed into place, so a reader sees a whole
    entry or none.  A file holds a header line (what the entry depends on, and the
    SHA-256 of the rest) and then the workflow.
    """

    def __init__(self, folder: Path, settle_ns: int = PARSE_CACHE_SETTLE_NS) -> None:
        self.folder = Path(folder)
        self.settle_ns = settle_ns
        self._complained = False

    def get(self, root: Path, directory: Path) -> tuple[WorkflowDef, tuple] | None:
        """The cached workflow and its current stat signature, or None: parse it."""
        try:
            why = self._not_private(os.lstat(self.folder))
            if why:
                return self._problem(f"the folder {why}")
            fd = os.open(self._file(directory), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._problem("cannot be read", exc)
        try:
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                why = "is not a regular file" if not stat.S_ISREG(st.st_mode) else self._not_private(st)
                if why:
                    raise ValueError(f"the entry {why}")
                data = fh.read(MAX_PARSE_CACHE_BYTES + 1)
            if len(data) > MAX_PARSE_CACHE_BYTES:
                raise ValueError("too large")
            head_text, _, payload = data.partition(b"\n")
            head = json.loads(head_text)
            signature = self._unchanged(head, root, directory)
            if signature is None:  # the files changed since, or another version wrote it
                return None
            if hashlib.sha256(payload).hexdigest() != head["checksum"]:
                raise ValueError("checksum mismatch")
            return self._workflow(json.loads(payload)), signature
        except (OSError, ValueError, LookupError, TypeError, AttributeError, RecursionError) as exc:
            return self._problem(f"the entry of {str(directory)!r} is unusable", exc)

    def put(self, root: Path, directory: Path, signature: tuple, wf: WorkflowDef, began_ns: int) -> None:
        """Keep a fresh parse, begun at ``began_ns`` (wall clock), unless a file it read had
        changed too shortly before (see ``PARSE_CACHE_SETTLE_NS``)."""
        resolved = [[written, real, self._stamp_of(real)] for written, real in wf.resolved]
        changed = [entry[2] for entry in signature] + [s[1] for _, _, s in resolved if s]
        if max(changed, default=0) > began_ns - self.settle_ns:
            return
        try:
            payload = json.dumps(self._plain(wf)).encode("ascii")
            head = {"key": self._key(root, directory, _Includes(root)), "signature": signature,
                    "outside": wf.included_outside, "resolved": resolved,
                    "checksum": hashlib.sha256(payload).hexdigest()}
            data = json.dumps(head).encode("ascii") + b"\n" + payload
            if len(data) > MAX_PARSE_CACHE_BYTES:
                return
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            why = self._not_private(os.lstat(self.folder))
            if why:
                return self._problem(f"the folder {why}")
            temp = os.path.join(self.folder, f".{uuid.uuid4().hex}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(temp, self._file(directory))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except (OSError, ValueError, TypeError) as exc:  # ValueError, TypeError: a value JSON cannot hold
            self._problem("cannot be written", exc)

    def _unchanged(self, head: dict[str, Any], root: Path, directory: Path) -> tuple | None:
        """The folder's signature now, when everything the cached parse read is as it was."""
        inc = _Includes(root)  # resolves exactly as the parser does
        if head["key"] != self._key(root, directory, inc):
            return None
        signature, overflow = Library._signature(root, directory, head["outside"])
        if overflow or [list(entry) for entry in signature] != head["signature"]:
            return None
        # A file the walk reached in the folder, through no link, resolves to itself and its
        # stamps were just compared; every other path is resolved and stamped again.
        links = {entry[0] for entry in signature if entry[3] == -2}
        walked = {entry[0] for entry in signature if entry[3] != -2} - links
        inside = os.path.join(str(directory), "")
        for written, real, stamp in head["resolved"]:
            if written == real and written in walked and written.startswith(inside):
                continue
            if inc._real_text(written) != real or (real and self._stamp_of(real)) != stamp:
                return None
        return signature

    def _key(self, root: Path, directory: Path, inc: _Includes) -> dict[str, Any]:
        """What an entry is for: this cache format and module file, the root and the folder."""
        if not _MODULE_AT_IMPORT:
            raise ValueError("this module has no file to tell its build by")
        return {"format": PARSE_CACHE_FORMAT, "module": list(_MODULE_AT_IMPORT), "root": str(root),
                "real_root": str(inc.root),
                "directory": str(directory), "real_directory": inc._real_text(str(directory))}

    def _file(self, directory: Path) -> str:
        return os.path.join(self.folder, hashlib.sha256(os.fsencode(directory)).hexdigest()[:32] + ".json")

    @staticmethod
    def _not_private(st: os.stat_result) -> str:
        """Why a folder or entry is not to be trusted ("" when it is): a link, or something
        another user could have written.  An entry planted by another user (in a shared
        data folder) could put words in the agent's instructions."""
        if stat.S_ISLNK(st.st_mode):
            return "is a link (never followed)"
        if not hasattr(os, "getuid"):
            return ""
        if st.st_uid != os.getuid():
            return f"belongs to user id {st.st_uid}, not to this user ({os.getuid()})"
        if st.st_mode & 0o022:
            return (f"may be written by its group or by others (mode {stat.S_IMODE(st.st_mode):o}; "
                    "chmod go-w it)")
        return ""

    @staticmethod
    def _stamp_of(path: str) -> list[int] | None:
        try:
            return list(_stamp(os.stat(path)))
        except (OSError, ValueError):
            return None

    def _problem(self, what: str, exc: BaseException | None = None) -> None:
        if not self._complained:
            self._complained = True
            why = f" ({exc.__class__.__name__}: {exc})" if exc else ""
            log.warning("parse cache %s: %s%s; parsing instead", self.folder, what, why)
        return None

    @classmethod
    def _plain(cls, value: Any) -> Any:
        """A parsed workflow as JSON values: each dataclass an object of its fields, paths as text."""
        if isinstance(value, Path):
            return str(value)
        if dataclasses.is_dataclass(value):
            return {f.name: cls._plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        if isinstance(value, (list, tuple)):
            return [cls._plain(item) for item in value]
        if isinstance(value, dict):
            return {key: cls._plain(item) for key, item in value.items()}
        return value

    @staticmethod
    def _workflow(data: dict[str, Any]) -> WorkflowDef:
        """``_plain`` read back; a field missing or unknown raises."""
        steps = [StepDef(**{**s, "file": Path(s["file"]),
                            "report_fields": [ReportField(**f) for f in s["report_fields"]],
                            "conditions": [Condition(**c) for c in s["conditions"]]}) for s in data["steps"]]
        return WorkflowDef(**{**data, "directory": Path(data["directory"]), "steps": steps,
                              "errors": [Problem(**p) for p in data["errors"]],
                              "warnings": [Problem(**p) for p in data["warnings"]],
                              "included_outside": tuple(data["included_outside"])})


class Library:
    """The workflow roots, scanned on demand, with parsed definitions cached.

    A cache entry is keyed by a stat signature (path, mtime, size) of every file
    in the workflow folder plus every file it includes, so an edit, an added
    file or a removed file is seen by the next call without re-reading files.
    One bad folder never breaks the others: it is listed as invalid.
    On Linux the folders are also watched with inotify (``_FolderWatch``): once
    an entry's signature has been checked, later calls trust it until an event
    arrives, so a call that changes nothing costs one ``poll`` instead of a
    ``stat`` of every file of every workflow it reads.  With a ``ParseCache``, a
    workflow not yet in memory is read from disk when nothing it read has changed.
    """

    def __init__(self, roots: Sequence[Path], watch: bool = True, disk: ParseCache | None = None) -> None:
        self.roots = tuple(Path(r) for r in roots)
        self._cache: dict[Path, tuple[tuple, WorkflowDef]] = {}
        self._disk = disk
        self._lock = threading.Lock()
        #: Held while parsing, so a call that needs a workflow the warm-up is
        #: parsing waits for that parse instead of doing it a second time.
        self._parsing = threading.Lock()
        #: Asked for; the watch itself is made on first use (no side effect before).
        self._want_watch = watch
        #: ``defer_watch`` was called: ``warm`` starts the watch, and calls check stats until then.
        self._watch_deferred = False
        self._watch: _FolderWatch | None = None
        #: Folders whose every (sub)folder and included file's folder is watched.
        self._watched: set[Path] = set()
        #: Cache entries checked since the last event, and names located since then.
        self._current: set[Path] = set()
        self._located: dict[str, tuple[Path, Path]] = {}
        self._found: dict[str, tuple[Path, Path]] | None = None
        #: Bumped whenever an event makes the library forget; what was checked
        #: under an older generation is not remembered as current.
        self._generation = 0

    # -- freshness -------------------------------------------------------------

    def _fresh(self) -> int | None:
        """Start watching on first use; on any event forget what was checked.

        The current generation while the watch is active (then ``_current``,
        ``_located`` and ``_found`` can be trusted); None where there is no
        watch, and every call checks stats.
        """
        if self._want_watch:
            with self._lock:
                starting, self._want_watch = self._want_watch, False
            if starting:
                # Made outside the lock (it imports ctypes): meanwhile other calls check stats.
                watch = _FolderWatch.create()
                if watch is not None:
                    weakref.finalize(self, watch.close)
                    with self._lock:
                        if self._watch_roots(watch):
                            self._watch = watch
                    if self._watch is None:
                        watch.close()  # a root behind a link: stat checks, and no descriptor held
        with self._lock:
            if self._watch is None:
                return None
            if self._watch.changed():
                self._generation += 1
                self._current.clear()
                self._located.clear()
                self._watched.clear()
                self._found = None
                if not self._watch_roots(self._watch):  # a root is gone: back to stat checks
                    self._watch = None
                    return None
            return self._generation

    def _remember(self, generation: int | None, fn: Callable[[], None]) -> None:
        """Record a checked fact, unless an event arrived since ``generation`` was read."""
        if generation is None:
            return
        with self._lock:
            if generation == self._generation:
                fn()

    def _watch_roots(self, watch: "_FolderWatch") -> bool:
        """Watch every root, unless one is reached through a link: repointing a link above a
        root (``current -> releases/v2``) happens in a folder no watch sees, so such a
        library keeps the stat check on every call."""
        if any(os.path.realpath(root) != os.path.abspath(root) for root in self.roots):
            return False
        return all(watch.watch(str(root)) for root in self.roots)

    def _watch_tree(self, directory: Path, wf: WorkflowDef | None) -> None:
        """Watch every folder of a workflow, and the folders of files it includes from outside.

        A folder that is or holds a link, or is too big for the stat signature,
        is left unwatched: an edit behind a link happens in a folder the watch
        does not see, so such a workflow keeps its stat check on every call.  So
        is a workflow that reads a file through a link anywhere on its path (an
        include through ``_shared/lib -> ../lib_v1``): the link may be repointed.
        """
        if self._watch is None or os.path.islink(directory):
            return
        if wf is not None and any(real is not None and os.path.abspath(written) != real
                                  for written, real in wf.resolved):
            with self._lock:
                self._watched.discard(directory)
            return
        folders, pending = [str(directory)], [(str(directory), 0)]
        while pending:
            folder, depth = pending.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_symlink() or depth + 1 > MAX_WORKFLOW_DEPTH or len(folders) > MAX_WORKFLOW_FILES:
                            return
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(entry.path)
                            pending.append((entry.path, depth + 1))
            except OSError:
                continue
        if wf is not None:
            folders += sorted({os.path.dirname(path) for path in wf.included_outside})
        if all(self._watch.watch(folder) for folder in folders):
            with self._lock:
                self._watched.add(directory)

    # -- names -------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every workflow name across the roots, the first root winning a clash."""
        return sorted(self._found_now(self._fresh()))

    def _found_now(self, generation: int | None) -> dict[str, tuple[Path, Path]]:
        """``_locations``, remembered while the roots are watched and unchanged."""
        if generation is not None and self._found is not None:
            return self._found
        found = self._locations()
        self._remember(generation, lambda: setattr(self, "_found", found))
        return found

    def _locations(self) -> dict[str, tuple[Path, Path]]:
        found: dict[str, tuple[Path, Path]] = {}
        for root in self.roots:
            try:
                entries = sorted(os.scandir(root), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.name.startswith((".", "_")) or not entry.is_dir():
                        continue
                except OSError:
                    continue
                found.setdefault(entry.name, (root, Path(entry.path)))
        return found

    def locate(self, name: str) -> tuple[Path, Path]:
        return self._locate(name, self._fresh())

    def _locate(self, name: str, generation: int | None) -> tuple[Path, Path]:
        if generation is not None and isinstance(name, str):
            found = self._located.get(name)
            if found is not None:
                return found
        if isinstance(name, str) and name[:1] in ("_", ".") and WORKFLOW_NAME_RE.match(name[1:] or "-"):
            # '_shared', '.git': folders of shared files, never workflows
            raise DefinitionNotFound(f"{name!r} is not a workflow: folders starting with '_' or '.' hold shared "
                                     "files; call list_workflows to see the names", available=self.names())
        if not isinstance(name, str) or not WORKFLOW_NAME_RE.match(name):
            raise InvalidArgument(f"workflow_name {_printable(str(name)[:80])!r} is not a workflow name "
                                  "(letters, digits, '_' and '-'); call list_workflows to see the names")
        for root in self.roots:
            if os.path.isdir(os.path.join(root, name)):
                self._remember(generation, lambda: self._located.__setitem__(name, (root, root / name)))
                return root, root / name
        raise DefinitionNotFound(f"no workflow named {name!r}; call list_workflows to see the names",
                                 available=self.names())

    # -- definitions ---------------------------------------------------------------

    def load(self, name: str) -> WorkflowDef:
        """The parsed workflow (valid or not); raises only when it does not exist."""
        generation = self._fresh()
        root, directory = self._locate(name, generation)
        return self._load_at(name, root, directory, generation)

    def _load_at(self, name: str, root: Path, directory: Path, generation: int | None = None) -> WorkflowDef:
        return self._load(name, root, directory, generation, parse=True)  # type: ignore[return-value]

    def _load(self, name: str, root: Path, directory: Path, generation: int | None, *,
              parse: bool) -> WorkflowDef | None:
        """The workflow from memory, else from the parse cache, else (``parse``) parsed now."""
        cached = self._cached(root, directory, generation)
        if cached is not None:
            return cached
        with self._parsing:
            cached = self._cached(root, directory, generation)  # parsed by another thread while we waited?
            if cached is not None:
                return cached
            self._watch_tree(directory, None)  # before reading: an edit during the parse is an event
            found = self._disk.get(root, directory) if self._disk is not None else None
            if found is None and not parse:
                return None
            wf, signature = found if found is not None else self._parse(name, root, directory)
            self._watch_tree(directory, wf)
            with self._lock:
                self._cache[directory] = (signature, wf)
            return wf

    def _parse(self, name: str, root: Path, directory: Path) -> tuple[WorkflowDef, tuple]:
        """Parse one workflow; keep it on disk too when its folder is not too big to sign."""
        for _ in range(3):  # a file saved while the parser read the folder: read it again
            began, keep = time.time_ns(), self._disk is not None
            before = self._signature(root, directory, ())[0]
            try:
                wf = parse_workflow(_printable(name), directory, root)
            except Exception as exc:  # noqa: BLE001 - content must never break the library
                log.error("parsing workflow %r failed", name, exc_info=exc)
                wf = WorkflowDef(name=_printable(name), directory=directory, errors=[Problem(
                    _display(directory, root), 1, f"the parser failed on this workflow ({type(exc).__name__}); "
                                                  "the server log has the details")])
                keep = False
            signature, overflow = self._signature(root, directory, wf.included_outside)
            # The walk of the folder is the signature's head (the files outside follow it).
            inside = signature[:len(signature) - len(wf.included_outside)]
            if inside == before and not self._saved_since_read(wf):
                break
        else:
            # Still changing: keep the signature from before the last parse, so the next call,
            # finding the folder changed since, parses again instead of trusting this one.
            signature, keep = before, False
        if overflow:
            wf.errors.append(Problem(_display(directory, root), 1, overflow))
        elif keep:
            self._disk.put(root, directory, signature, wf, began)  # type: ignore[union-attr]
        return wf, signature

    @staticmethod
    def _saved_since_read(wf: WorkflowDef) -> bool:
        """Was a file the parse read (a shared include, say) saved after the parser opened it?"""
        for real, stamp in wf.read_stamps:
            try:
                if _stamp(os.stat(real)) != stamp:
                    return True
            except OSError:
                return True
        # A step file or include the parse found missing (not written yet) that exists now.
        return any(os.path.isfile(real) for real in wf.read_missing)

    def _cached(self, root: Path, directory: Path, generation: int | None) -> WorkflowDef | None:
        with self._lock:
            cached = self._cache.get(directory)
            current = generation is not None and generation == self._generation and directory in self._current
        if cached is None:
            return None
        if current:
            return cached[1]
        if self._signature(root, directory, cached[1].included_outside)[0] != cached[0]:
            return None
        if generation is not None:
            if directory not in self._watched:
                self._watch_tree(directory, cached[1])
            self._remember(generation, lambda: self._current.add(directory) if directory in self._watched else None)
        return cached[1]

    def warm(self, pause: Callable[[], Any] = lambda: time.sleep(0),
             step_aside: Callable[[], Any] = lambda: None) -> None:
        """Start the folder watch, then load every workflow, so later calls find them in memory.

        Run on a background thread after the client's handshake.  What the parse
        cache holds is read first, each after ``step_aside`` (the server's warm-up
        waits there while a request is in flight): a read costs a few tenths of a
        millisecond, mostly system calls.  ``pause`` runs before each workflow that
        must be parsed: by default a 0 s sleep, which hands the GIL over; the
        server's warm-up waits there until requests have been quiet a moment, so a
        request arriving meanwhile shares the interpreter with one parse at most.
        """
        pause()
        with self._lock:
            if self._watch_deferred:
                self._want_watch, self._watch_deferred = True, False
        # The watch first, once requests are quiet (or after one wait at most), on this
        # thread, not a request's: until it runs every call checks stat signatures, and a
        # client that keeps calling would keep the rest of the warm-up waiting, each wait
        # giving up only after a second.
        found = sorted(self._found_now(self._fresh()).items())
        missed = []
        for name, (root, directory) in found:
            step_aside()
            if self._load(name, root, directory, self._fresh(), parse=False) is None:
                missed.append((name, root, directory))
        for name, root, directory in missed:
            pause()
            self._load_at(name, root, directory, self._fresh())
        log.debug("warm-up: %d workflow(s), %d read from the parse cache", len(found), len(found) - len(missed))

    def defer_watch(self) -> None:
        """Leave starting the folder watch to ``warm``: it costs 2.5 ms (``ctypes`` is
        imported for it), which a server's first call should not pay.  Until then each
        call checks stat signatures, as where there is no watch at all."""
        with self._lock:
            if self._want_watch:
                self._want_watch, self._watch_deferred = False, True

    def load_valid(self, name: str) -> WorkflowDef:
        wf = self.load(name)
        if not wf.valid:
            raise DefinitionInvalid(
                f"workflow {name!r} has {len(wf.errors)} error(s); fix them (see validate_workflow): "
                + "; ".join(str(p) for p in wf.errors[:5]),
                errors=[dataclasses.asdict(p) for p in wf.errors])
        return wf

    def all(self) -> list[WorkflowDef]:
        """Every workflow folder, parsed; a folder with a bad name is listed as invalid."""
        generation = self._fresh()
        return [self._load_at(name, root, directory, generation)
                for name, (root, directory) in sorted(self._found_now(generation).items())]

    @staticmethod
    def _signature(root: Path, directory: Path, outside: Sequence[str]) -> tuple[tuple, str]:
        """(path, ``_stamp``) of every file in the folder and every file it includes,
        and a message when the folder is too big to watch.

        Built with ``os.scandir`` (one stat per file, no path objects): this runs
        on every call, so it is the price of hot reload.  Directory links are
        recorded but never followed, so links to ``.`` or to ``/usr`` cannot make
        the walk loop or leave the workflow; the walk is bounded in files and depth.
        """
        sig: list[tuple[str, int, int, int, int]] = []
        pending = [(str(directory), 0)]
        overflow = ""
        if os.path.islink(directory):  # a linked workflow folder is walked only when it stays in the root
            real, real_root = _real(directory), _real(root)
            try:
                sig.append((str(directory), *_stamp(os.lstat(directory), link=True)))
            except OSError:
                pass
            if real is None or real_root is None or real == real_root or not _inside(real, real_root):
                pending = []
        while pending and not overflow:
            folder, depth = pending.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_symlink():
                        sig.append((entry.path, *_stamp(entry.stat(follow_symlinks=False), link=True)))
                        if not entry.is_dir():  # a file link: its target's changes count too
                            sig.append((entry.path, *_stamp(entry.stat())))
                    elif entry.is_dir(follow_symlinks=False):
                        if depth + 1 > MAX_WORKFLOW_DEPTH:
                            overflow = (f"the workflow folder is nested deeper than {MAX_WORKFLOW_DEPTH} "
                                        "levels; hot reload does not watch it, flatten it")
                            break
                        pending.append((entry.path, depth + 1))
                    else:
                        sig.append((entry.path, *_stamp(entry.stat())))
                except OSError:
                    continue
                if len(sig) > MAX_WORKFLOW_FILES:
                    overflow = (f"the workflow folder holds more than {MAX_WORKFLOW_FILES} files; hot reload "
                                "does not watch it, keep only the workflow's files in it")
                    break
        for path in outside:
            try:
                sig.append((path, *_stamp(os.stat(path))))
            except OSError:
                sig.append((path, -1, -1, -1, -1))
        return tuple(sig), overflow


def mermaid(wf: WorkflowDef) -> str:
    """A Mermaid flowchart: solid arrows for declared transitions (labelled
    with the status), dashed arrows for steps a step's guidance names."""
    ids = {s.name: f"s{i}" for i, s in enumerate(wf.steps)}
    ids.update({r: r for r in RESERVED_STEPS})
    quote = lambda text: text.replace('"', "#quot;")  # noqa: E731
    lines = ["flowchart TD", "    START((start))"]
    # A step gated by '# Approval' is a hexagon labelled with what needs approving.
    lines += [f'    {ids[s.name]}{{{{"{quote(s.name)}<br/>approval: {quote(clip(s.approval.splitlines()[0], 60))}"}}}}'
              if s.approval else f'    {ids[s.name]}["{quote(s.name)}"]' for s in wf.steps]
    referenced = {t for s in wf.steps for t in s.transitions.values()} | {
        c.target for s in wf.steps for c in s.conditions} | {
        r for r in RESERVED_STEPS if any(re.search(rf"\b{r}\b", s.guidance) for s in wf.steps)}
    lines += [f"    {r}(({r}))" for r in RESERVED_STEPS if r == FINISH or r in referenced]
    if wf.steps:
        lines.append(f"    START --> {ids[wf.first_step.name]}")
    for step in wf.steps:
        for cond in step.conditions:
            lines.append(f'    {ids[step.name]} -->|"{quote(cond.describe())}"| {ids[cond.target]}')
        for status, target in step.transitions.items():
            lines.append(f'    {ids[step.name]} -->|"{quote(status)}"| {ids[target]}')
        declared = set(step.transitions.values()) | {c.target for c in step.conditions}
        text = step.guidance
        for name in wf.targets + [SUSPEND]:
            if name == step.name or name in declared:
                continue
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE if name not in
                         RESERVED_STEPS else 0):
                lines.append(f"    {ids[step.name]} -.-> {ids[name]}")
    return "\n".join(lines) + "\n"


# -- workflow scenarios: tests/*.md beside the definitions -------------------
#
# A scenario file states how a workflow must route: a start context, then
# reports (or resumes), each followed by the step that must come next.  The
# parser only reads; ``orchestrator-mcp test`` runs scenarios through the real
# engine and ``check`` lints them (command line section).

SCENARIO_DIR = "tests"
#: The reserved target a step declares to suspend a run; scenarios may expect it.
SUSPEND = "SUSPEND"
#: Run states a scenario may expect after a report (CANCELLED is the client's doing).
RUN_STATES = (RUNNING, SUSPENDED, COMPLETED, FAILED_STATUS)
SCENARIO_KINDS = ("start", "report", "llm report", "resume", "llm resume", "approve", "reject")
#: Items a person's answer at an ``# Approval`` gate stands for (``engine.approve``).
SCENARIO_GATE_KINDS = ("approve", "reject")
_SCENARIO_ITEM_RE = re.compile(r"^ ?(?:[-*+]|\d{1,9}[.)])[ \t]+(.*)$")  # indented lists belong to a value
_SCENARIO_HEAD_RE = re.compile(r"^([A-Za-z][A-Za-z ]*?)[ \t]*(?::[ \t]*(.*))?$")
_SCENARIO_FIELD_RE = re.compile(r"^([ \t]+)([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*)|[ \t]*)$")
_SCENARIO_RESERVED_FIELDS = ("expect", "state", "context_updates")


@dataclass
class ScenarioCase:
    """One report (or resume) of a scenario and the routing it must get."""
    kind: str  # "report", "resume", "approve" or "reject"
    llm: bool  # a free-form case only an LLM can judge
    file: Path
    line: int
    report: dict[str, Any]
    context_updates: dict[str, Any]
    expect: tuple[str, ...]  # acceptable targets: step names, FINISH, FAILED, SUSPEND
    state: str | None  # the run state to expect; None = implied by each target
    assumed_step: str | None = None  # resume only

    def expected(self) -> list[tuple[str, str]]:
        """(target, run state) pairs that count as right."""
        implied = {FINISH: COMPLETED, FAILED: FAILED_STATUS, SUSPEND: SUSPENDED}
        return [(t, self.state or implied.get(t, RUNNING)) for t in self.expect]

    def accepts(self, step_name: str, status: str) -> bool:
        """Right step and right run state; ``SUSPEND`` matches any suspended step."""
        for target, state in self.expected():
            if status != state:
                continue
            if target == SUSPEND or normalize_name(target) == normalize_name(step_name):
                return True
        return False


@dataclass
class Scenario:
    workflow: str
    name: str
    file: Path
    line: int
    context: dict[str, Any]
    cases: list[ScenarioCase]


def scenario_files(wf: WorkflowDef) -> list[Path]:
    """``tests/*.md`` of a workflow, sorted; names starting with '.' or '_' are skipped.

    Anything but a folder is listed, so a FIFO or a dangling link is reported by the
    reader rather than silently passed over."""
    folder = wf.directory / SCENARIO_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.md") if not p.is_dir() and not p.name.startswith((".", "_")))


def typed_evidence(step: StepDef | None, report: dict[str, Any]) -> dict[str, Any]:
    """A scenario's field for a step's ``# Report`` field of another type than text takes that type
    (``tests_failed: 2`` is the integer 2), so evidence reads naturally in scenario files."""
    out = dict(report)
    for f in step.report_fields if step else []:
        if f.type != "text" and isinstance(out.get(f.name), str):
            try:
                out[f.name] = json.loads(out[f.name])
            except (ValueError, RecursionError):
                pass  # left as text: the engine names the wrong type
    return out


def _scenario_value(text: str) -> Any:
    """A field value: JSON when it opens with '{' or '[', else text (backticks around it dropped)."""
    text = text.strip()
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except RecursionError:
            # Deeper than Python's parser can go: a ValueError like any other bad JSON,
            # so the caller reports it at the item's line instead of the command dying.
            raise ValueError(f"it is nested deeper than {MAX_JSON_DEPTH} levels; flatten it") from None
    if len(text) >= 2 and text[0] == text[-1] == "`":
        text = text[1:-1].strip()
    return text


def parse_scenarios(wf: WorkflowDef, root: Path, files: Sequence[Path] | None = None
                    ) -> tuple[list[Scenario], list[Problem]]:
    """Parse a workflow's scenario files; every problem names its file and line.

    Never raises for bad content.  Step names in ``expect`` are checked against
    ``wf`` and stored in their canonical spelling.  Scenario files are read as
    definition files are (``_Includes.read``): inside the root, regular, within the
    size cap, UTF-8; a ``tests`` folder or file that links out of the root is an
    error and not one byte of it (nor, for a folder, one name in it) is read.
    """
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    seen: dict[str, Problem] = {}
    if files is None:
        folder = wf.directory / SCENARIO_DIR
        real_folder, real_root = _real(folder), _real(root)
        if (folder.is_dir() and real_folder is not None and real_root is not None
                and not _inside(real_folder, real_root)):
            problems.append(Problem(_display(folder, root), 1, f"{_display(folder, root)} is a link that leaves "
                                                               "the definitions root; it was not read"))
            return scenarios, problems
    for path in scenario_files(wf) if files is None else files:
        shown = _display(path, root)
        reader = _Includes(root)  # one per file: each file has the definition files' cap of its own
        got = reader.read(path, None)
        if got is None:
            problems += reader.errors
            continue
        text, _ = got
        lines = [Line(t, path, i) for i, t in enumerate(text.splitlines(), 1)]
        _, sections = split_h1(lines)
        if not sections:
            problems.append(Problem(shown, 1, "no scenarios: start each one with a '# Scenario name' heading"))
        for section in sections:
            at = section.at.lineno if section.at else 1
            if not section.title:
                problems.append(Problem(shown, at, "a scenario needs a name after '#'"))
                continue
            key = normalize_name(section.title)
            if key in seen:
                problems.append(Problem(shown, at, f"duplicate scenario name {section.title!r} "
                                                   f"(first at {seen[key].file}:{seen[key].line})"))
                continue
            seen[key] = Problem(shown, at, "")
            scenario = _parse_scenario(wf, section, path, shown, problems)
            if scenario is not None:
                scenarios.append(scenario)
    return scenarios, problems


def _scenario_items(section: Section, shown: str, problems: list[Problem]
                    ) -> list[tuple[Line, str, list[tuple[Line, str, str]]]]:
    """Group a scenario's list items: (head line, head text, [(line, field, raw value)])."""
    items: list[tuple[Line, str, list[tuple[Line, str, str]]]] = []
    current: tuple[Line, str, list[tuple[Line, str, str]]] | None = None
    field_indent: int | None = None
    for ln, in_fence in _scan(section.lines):
        if in_fence or not ln.text.strip():
            continue
        item = _SCENARIO_ITEM_RE.match(ln.text)
        if item:
            current, field_indent = (ln, item.group(1).strip(), []), None
            items.append(current)
            continue
        if current is None or not ln.text[0] in " \t":
            current = None  # prose between items
            continue
        indent = len(ln.text) - len(ln.text.lstrip())
        m = _SCENARIO_FIELD_RE.match(ln.text)
        if m and (field_indent is None or indent <= field_indent):
            field_indent = indent
            current[2].append((ln, m.group(2).lower(), m.group(3) or ""))
        elif current[2]:
            last_ln, name, value = current[2][-1]
            current[2][-1] = (last_ln, name, (value + "\n" + ln.text.strip()).strip())
        else:
            problems.append(Problem(shown, ln.lineno, "expected a 'field: value' line under the item"))
    return items


def _parse_scenario(wf: WorkflowDef, section: Section, path: Path, shown: str,
                    problems: list[Problem]) -> Scenario | None:
    at = section.at.lineno if section.at else 1
    scenario = Scenario(wf.name, section.title, path, at, {}, [])
    before = len(problems)

    def bad(line: int, message: str) -> None:
        problems.append(Problem(shown, line, message))

    for index, (ln, head, fields) in enumerate(_scenario_items(section, shown, problems)):
        m = _SCENARIO_HEAD_RE.match(head)
        kind = " ".join(m.group(1).lower().split()) if m else ""
        if kind not in SCENARIO_KINDS:
            bad(ln.lineno, f"unknown item {head[:60]!r}: items are '{SCENARIO_KINDS[0]}', "
                           + ", ".join(f"'{k}: ...'" for k in SCENARIO_KINDS[1:]))
            continue
        head_value = (m.group(2) or "").strip() if m else ""
        if kind == "start":
            if index != 0:
                bad(ln.lineno, "'start' must be the first item of a scenario")
            if fields:
                bad(fields[0][0].lineno, "'start' takes no fields; write the context as JSON after 'start:'")
            try:
                context = _scenario_value(head_value) if head_value else {}
            except ValueError as exc:
                bad(ln.lineno, f"start context is not JSON: {exc}")
                continue
            if not isinstance(context, dict):
                bad(ln.lineno, "start context must be a JSON object like {\"topic\": \"cats\"}")
                continue
            scenario.context = context
            continue
        case = _parse_case(wf, kind, head_value, ln, fields, path, bad)
        if case is not None:
            scenario.cases.append(case)
    if not scenario.cases and len(problems) == before:
        bad(at, f"scenario {section.title!r} has no reports: add items like '- report: success' "
                "with an 'expect: Step Name' line")
    return scenario if len(problems) == before else None


def _parse_case(wf: WorkflowDef, kind: str, head_value: str, ln: Line, fields: list[tuple[Line, str, str]],
                path: Path, bad: Callable[[int, str], None]) -> ScenarioCase | None:
    llm = kind.startswith("llm ")
    base = kind.split()[-1]
    value = head_value.strip("`").strip()
    if base in SCENARIO_GATE_KINDS:
        return _parse_gate_case(wf, base, value, ln, fields, path, bad)
    if not value:
        bad(ln.lineno, f"'{kind}:' needs a status" if base == "report" else
            f"'{kind}:' needs the step the client assumes it is at")
        return None
    report: dict[str, Any] = {"status": value} if base == "report" else {}
    updates: dict[str, Any] = {}
    expect: tuple[str, ...] = ()
    state: str | None = None
    seen: set[str] = set()
    ok = True
    for fl, name, raw in fields:
        if name in seen:
            bad(fl.lineno, f"field {name!r} appears twice in one item")
            ok = False
            continue
        seen.add(name)
        if name == "expect":
            targets = []
            for alt in (a.strip().strip("`").strip() for a in raw.split("|")):
                target = SUSPEND if normalize_name(alt) == SUSPEND.lower() else wf.resolve_target(alt)
                if not alt or target is None:
                    bad(fl.lineno, f"expect names unknown step {alt!r}; known: {', '.join(wf.targets)}, {SUSPEND}")
                    ok = False
                else:
                    targets.append(target)
            expect = tuple(targets)
        elif name == "state":
            state = raw.strip().strip("`").upper()
            if state not in RUN_STATES:
                bad(fl.lineno, f"state must be one of {', '.join(RUN_STATES)}, got {raw.strip()!r}")
                ok = False
        elif name == "status" and base == "report":
            bad(fl.lineno, "the status of a report goes on its first line: '- report: STATUS'")
            ok = False
        else:
            try:
                parsed = _scenario_value(raw)
            except ValueError as exc:
                bad(fl.lineno, f"field {name!r} starts like JSON but is not: {exc}")
                ok = False
                continue
            if name == "context_updates":
                if not isinstance(parsed, dict):
                    bad(fl.lineno, "context_updates must be a JSON object")
                    ok = False
                updates = parsed if isinstance(parsed, dict) else {}
            else:
                report[name] = parsed
    if "expect" not in seen:
        bad(ln.lineno, f"'{kind}' needs an 'expect: Step Name' line (alternatives separated by '|')")
        return None
    if not ok or not expect:
        return None
    if base == "resume" and wf.resolve_target(value) is None:
        bad(ln.lineno, f"'{kind}:' names unknown step {value!r}; known: {', '.join(s.name for s in wf.steps)}")
        return None
    return ScenarioCase(base, llm, path, ln.lineno, report, updates, expect, state,
                        value if base == "resume" else None)


def _parse_gate_case(wf: WorkflowDef, kind: str, comment: str, ln: Line, fields: list[tuple[Line, str, str]],
                     path: Path, bad: Callable[[int, str], None]) -> ScenarioCase | None:
    """``- approve: COMMENT`` / ``- reject: COMMENT``: a person's answer at a gate, with
    ``expect`` (and optionally ``state``) and nothing else: a person sends no report."""
    extra = [fl for fl, name, _ in fields if name not in ("expect", "state")]
    if extra:
        bad(extra[0].lineno, f"'{kind}' takes only 'expect' and 'state' (the text after '{kind}:' is the "
                             "person's comment)")
        return None
    if not any(name == "expect" for _, name, _ in fields):
        bad(ln.lineno, f"'{kind}' needs an 'expect: Step Name' line (alternatives separated by '|')")
        return None
    case = _parse_case(wf, "report", "-", ln, fields, path, bad)  # the same expect and state rules
    if case is None:
        return None
    return ScenarioCase(kind, False, path, ln.lineno, {"comment": comment} if comment else {}, {}, case.expect,
                        case.state)


# =============================================================================
# 4. State store
#    One interface, two databases: SQLite through the standard library (WAL,
#    synchronous=FULL, ``user_version`` migrations) or PostgreSQL through
#    psycopg 3 (JSONB, advisory-locked migrations), one versioned transaction
#    per change on both.
# =============================================================================


def utcnow() -> str:
    """ISO-8601 UTC with milliseconds: sortable text, readable in the DB.

    The same text as ``datetime.now(timezone.utc).isoformat(timespec="milliseconds")``
    with ``Z``, at a third of the cost: the date and time of the current second are
    formatted once per second (every change stamps one or two of these).
    """
    global _utc_second
    now = time.time()
    second = int(now)
    cached = _utc_second  # one tuple, replaced whole, so threads never see half an update
    if cached[0] != second:
        cached = _utc_second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{int((now - second) * 1000):03d}Z"


_utc_second: tuple[int, str] = (-1, "")


@dataclass
class Instance:
    instance_id: str
    workflow_name: str
    current_step_name: str
    status: str
    context: dict[str, Any]
    version: int
    definition_hash: str
    created_at: str
    updated_at: str
    completed_at: str | None = None
    awaiting_approval: dict[str, Any] | None = None  # set while a SUSPENDED run waits for a person

    def but(self, **changes: Any) -> "Instance":
        """A copy with ``changes``: ``dataclasses.replace`` without its walk over the
        fields and ``__init__`` call, which an advance paid three times."""
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"Instance has no field(s) {', '.join(sorted(unknown))}")
        new = object.__new__(Instance)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new


@dataclass
class HistoryEntry:
    instance_id: str
    timestamp: str
    step_name: str
    user_report: Any
    outcome_status: str
    determined_next_step: str | None
    decided_by: str
    reasoning: str
    id: int | None = None
    context_updates: dict[str, Any] | None = None  # what the advance carried besides its report
    #: ``user_report`` as JSON text when the engine has encoded it already (to measure
    #: it), so the store writes that text instead of encoding the report again.
    report_json: str | None = field(default=None, compare=False, repr=False)


#: Forward migrations; entry N brings a database from user_version N to N+1.
#: Version 1 is the seed project's schema; 2 adds optimistic versioning, the
#: definition hash and decision provenance; 3 records each advance's
#: ``context_updates``, so a retry is a replay only when the whole call matches; 4 the pending
#: approval of a gated step.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE workflow_instances (
        instance_id TEXT PRIMARY KEY,
        workflow_name TEXT NOT NULL,
        current_step_name TEXT NOT NULL,
        status TEXT NOT NULL,
        context TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE workflow_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_id TEXT NOT NULL REFERENCES workflow_instances(instance_id) ON DELETE CASCADE,
        timestamp TEXT NOT NULL,
        step_name TEXT NOT NULL,
        user_report TEXT,
        outcome_status TEXT,
        determined_next_step TEXT
    );
    """,
    """
    ALTER TABLE workflow_instances ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE workflow_instances ADD COLUMN definition_hash TEXT NOT NULL DEFAULT '';
    ALTER TABLE workflow_instances ADD COLUMN completed_at TEXT;
    ALTER TABLE workflow_history ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE workflow_history ADD COLUMN reasoning TEXT NOT NULL DEFAULT '';
    CREATE INDEX IF NOT EXISTS idx_history_instance ON workflow_history(instance_id, id);
    CREATE INDEX IF NOT EXISTS idx_instances_updated ON workflow_instances(updated_at);
    """,
    """
    ALTER TABLE workflow_history ADD COLUMN context_updates TEXT;
    """,
    """
    ALTER TABLE workflow_instances ADD COLUMN awaiting_approval TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT_MS = 10_000
#: ``json``'s C scanner: (value, end) for the JSON value at an index (see ``Store._json_out``).
_SCAN_JSON = json.JSONDecoder().scan_once
#: ``json.dumps(value, ensure_ascii=False)``, without building an encoder per call.
_ENCODE_JSON = json.JSONEncoder(ensure_ascii=False).encode


class Store:
    """What the engine needs from durable state, whichever database holds it.

    Two implementations with the same semantics: ``SQLiteStore`` (one file, the
    default) and ``PostgresStore`` (a shared server, for several replicas).  The
    shared SQL lives here; a subclass supplies connections, transactions, the
    dialect's few differences and the mapping of its driver's errors.  Every
    change is one transaction that checks the instance's ``version``, so two
    writers (threads, processes or replicas) can never both move one instance.
    """

    #: Printable location (a path, or a URL without its password).
    location: str = ""
    #: SQL fragments a dialect overrides: parameter marker, JSON and time parameters,
    #: the column lists as read back, and the insertion-order tie-breaker.
    _P, _J, _T = "?", "?", "?"
    _INSTANCE_READ = ("instance_id, workflow_name, current_step_name, status, context, version, "
                      "definition_hash, created_at, updated_at, completed_at, awaiting_approval")
    _HISTORY_READ = ("id, instance_id, timestamp, step_name, user_report, outcome_status, "
                     "determined_next_step, decided_by, reasoning, context_updates")
    _ORDER = "rowid"
    _REPORT_READ = "user_report"
    #: What a runs list shows (``InstanceSummary``): never the context, up to 1 MiB a run.
    _SUMMARY_READ = ("instance_id, workflow_name, status, current_step_name, updated_at, "
                     "awaiting_approval IS NOT NULL")
    #: Statement text -> this dialect's text (a subclass gets its own, see ``__init_subclass__``).
    _dialect: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dialect = {}

    def open(self) -> "Store":
        """Connect (and migrate when needed) now, so a bad database fails at start-up."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _tx(self, fn: Callable[[Any], Any], *, write: bool) -> Any:
        """Run ``fn(connection)`` in one transaction (``write``) or plain read; driver errors
        become ``PersistenceError`` and nothing half-done stays."""
        raise NotImplementedError

    def _snapshot(self, fn: Callable[[Any], Any]) -> Any:
        """Run the reads of ``fn(connection)``; a dialect may make them one snapshot."""
        return self._tx(fn, write=False)

    def _sql(self, text: str) -> str:
        """``text`` in this dialect, translated once per statement (this runs on every call)."""
        done = self._dialect.get(text)
        if done is None:
            done = self._dialect[text] = text.replace("?", self._P).replace("{J}", self._J).replace("{T}", self._T)
        return done

    # -- rows ------------------------------------------------------------------

    @staticmethod
    def _json_in(value: Any) -> str | None:
        return None if value is None else _ENCODE_JSON(value)

    @staticmethod
    def _json_out(value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        # The C scanner alone, without ``json.loads``' wrapper and whitespace regexes:
        # a status decodes a report per history row, and this is 5x faster on small
        # ones.  Text that does not scan whole (leading or trailing whitespace, say)
        # takes ``json.loads``, so the result is always the same.
        try:
            decoded, end = _SCAN_JSON(value, 0)
            if end == len(value):
                return decoded
        except (StopIteration, ValueError):
            pass
        return json.loads(value)

    @classmethod
    def _instance(cls, row: Sequence[Any]) -> Instance:
        return Instance(row[0], row[1], row[2], row[3], cls._json_out(row[4]) or {}, row[5], row[6],
                        row[7], row[8], row[9], cls._json_out(row[10]) if row[10] else None)

    @classmethod
    def _entry(cls, row: Sequence[Any]) -> HistoryEntry:
        # Positional: a status builds ten of these per call, and keywords cost a third more.
        out = cls._json_out
        return HistoryEntry(row[1], row[2], row[3], out(row[4]) if row[4] else None, row[5] or "", row[6],
                            row[7] or "", row[8] or "", row[0], out(row[9]) if row[9] else None)

    def _insert_instance(self, conn: Any, inst: Instance) -> None:
        conn.execute(self._sql(
            "INSERT INTO workflow_instances (instance_id, workflow_name, current_step_name, status, context, "
            "version, definition_hash, created_at, updated_at, completed_at, awaiting_approval) "
            "VALUES (?,?,?,?,{J},?,?,{T},{T},{T},{J})"),
            (inst.instance_id, inst.workflow_name, inst.current_step_name, inst.status,
             self._json_in(inst.context), inst.version, inst.definition_hash, inst.created_at, inst.updated_at,
             inst.completed_at, self._json_in(inst.awaiting_approval) if inst.awaiting_approval else None))

    def _insert_entry(self, conn: Any, e: HistoryEntry, *, keep_id: bool = False) -> None:
        cols = ("instance_id, timestamp, step_name, user_report, outcome_status, determined_next_step, "
                "decided_by, reasoning, context_updates")
        values = (e.instance_id, e.timestamp, e.step_name,
                  e.report_json if e.report_json is not None else self._json_in(e.user_report), e.outcome_status,
                  e.determined_next_step, e.decided_by, e.reasoning,
                  self._json_in(e.context_updates) if e.context_updates else None)
        marks = "?,{T},?,{J},?,?,?,?,{J}"
        if keep_id:
            cols, values, marks = "id, " + cols, (e.id, *values), "?," + marks
        conn.execute(self._sql(f"INSERT INTO workflow_history ({cols}) VALUES ({marks})"), values)

    # -- the interface the engine uses -------------------------------------------

    #: How many instances ``claim`` remembers (then it starts afresh), and the largest
    #: context and report it keeps: memory stays bounded (64 MiB at worst) whatever
    #: clients store; a run with more is simply read before each advance.
    KNOWN_MAX = 1024
    KNOWN_JSON_MAX = 64 * 1024

    def _remember(self, inst: Instance, entry: HistoryEntry, context: str | None) -> None:
        """Keep the state just written, as JSON text: nothing a caller holds (its report, its
        context_updates, the context it was answered with) can change what is kept."""
        known = self.__dict__.setdefault("_known", {})
        if context is not None and len(context) > self.KNOWN_JSON_MAX:
            known.pop(inst.instance_id, None)
            return
        if len(known) >= self.KNOWN_MAX:
            known.clear()
        # An entry that moved nothing (no next step), or whose report is large or of unknown
        # size, is not kept: a report with a step_id is then checked for a replay by a read.
        last = None
        if entry.determined_next_step is not None and (entry.user_report is None or (
                entry.report_json is not None and len(entry.report_json) <= self.KNOWN_JSON_MAX)):
            updates = self._json_in(entry.context_updates) if entry.context_updates else None
            if updates is None or len(updates) <= self.KNOWN_JSON_MAX:
                last = (entry.timestamp, entry.step_name, entry.report_json if entry.user_report is not None
                        else None, entry.outcome_status, entry.determined_next_step, entry.decided_by,
                        entry.reasoning, entry.id, updates)
        known[inst.instance_id] = (inst.but(context={}), context, last)

    def claim(self, instance_id: str, *, with_last: bool = False
              ) -> "tuple[Instance, HistoryEntry | None] | None":
        """The instance as this process last wrote it and, with ``with_last``, the history
        entry that write added if it moved the run (else None); None when this process has
        not written it, or another call of this process holds it now.

        A guess, not a read: another process may have moved the instance since.  It is
        only ever used for a change whose versioned write then proves it current (the
        ``version`` and timestamp it was written with are still the stored ones; every
        change bumps both).  Claiming takes it: while one call advances from it, a
        concurrent call on the same run reads, as any call did before; the write that
        follows leaves the new state here.
        """
        known = self.__dict__.get("_known")
        kept = known.pop(instance_id, None) if known else None
        if kept is None:
            return None
        shell, context, last = kept
        inst = shell.but(context=self._json_out(context) or {})
        if not with_last or last is None:
            return inst, None
        out = self._json_out
        return inst, HistoryEntry(instance_id, last[0], last[1], out(last[2]), *last[3:8], out(last[8]),
                                  report_json=last[2])

    def forget(self, instance_id: str) -> None:
        self.__dict__.get("_known", {}).pop(instance_id, None)

    def create(self, inst: Instance, entry: HistoryEntry) -> None:
        def tx(conn: Any) -> None:
            self._insert_instance(conn, inst)
            self._insert_entry(conn, entry)
        self._tx(tx, write=True)
        self._remember(inst, entry, self._json_in(inst.context))

    def get(self, instance_id: str) -> Instance:
        row = self._tx(lambda conn: conn.execute(self._sql(
            f"SELECT {self._INSTANCE_READ} FROM workflow_instances WHERE instance_id = ?"),
            (instance_id,)).fetchone(), write=False)
        if row is None:
            raise self._missing(instance_id)
        inst = self._instance(row)
        kept = self.__dict__.get("_known", {}).get(instance_id)
        if kept is not None and kept[0].version != inst.version:
            self.forget(instance_id)  # another writer moved it: the remembered state is stale
        return inst

    def history(self, instance_id: str, limit: int) -> list[HistoryEntry]:
        """The newest ``limit`` entries, oldest first."""
        rows = self._tx(lambda conn: self._history_rows(conn, instance_id, limit), write=False)
        return [self._entry(r) for r in reversed(rows)]

    def _history_rows(self, conn: Any, instance_id: str, limit: int) -> list[Any]:
        return conn.execute(self._sql(
            f"SELECT {self._HISTORY_READ} FROM workflow_history WHERE instance_id = ? ORDER BY id DESC LIMIT ?"),
            (instance_id, limit)).fetchall()

    def with_history(self, instance_id: str, limit: int) -> tuple[Instance, list[HistoryEntry]]:
        """An instance and its newest ``limit`` history entries (oldest first), read on one
        borrowed connection: a status is two reads, and borrowing costs more than each."""
        def read(conn: Any) -> tuple[Any, list[Any]]:
            row = conn.execute(self._sql(f"SELECT {self._INSTANCE_READ} FROM workflow_instances "
                                         "WHERE instance_id = ?"), (instance_id,)).fetchone()
            return row, (self._history_rows(conn, instance_id, limit) if row is not None and limit else [])
        row, rows = self._snapshot(read)
        if row is None:
            raise self._missing(instance_id)
        return self._instance(row), [self._entry(r) for r in reversed(rows)]

    @staticmethod
    def _missing(instance_id: str) -> InstanceNotFound:
        return InstanceNotFound(f"no workflow instance {instance_id[:80]!r}; call list_instances to find yours, "
                                "or start_workflow to begin a new one")

    def last_accepted(self, instance_id: str) -> HistoryEntry | None:
        """The newest entry that moved the instance (failed attempts excluded)."""
        row = self._tx(lambda conn: conn.execute(self._sql(
            f"SELECT {self._HISTORY_READ} FROM workflow_history WHERE instance_id = ? "
            "AND determined_next_step IS NOT NULL ORDER BY id DESC LIMIT 1"), (instance_id,)).fetchone(),
            write=False)
        return self._entry(row) if row else None

    def approved_moves(self, instance_id: str) -> set[tuple[str, str]]:
        """(gate, where a person let the run go past it), for every approval in the history: the
        gated step itself, or the gate a held jump from before it got past (``past_gate``)."""
        rows = self._tx(lambda conn: conn.execute(self._sql(
            f"SELECT step_name, determined_next_step, {self._REPORT_READ} FROM workflow_history "
            "WHERE instance_id = ? AND outcome_status = 'APPROVED' AND determined_next_step IS NOT NULL"),
            (instance_id,)).fetchall(), write=False)
        moves = set()
        for step_name, target, record in rows:
            record = self._json_out(record)
            gate = record.get("past_gate") if isinstance(record, dict) else None
            moves.add((gate if isinstance(gate, str) else step_name, target))
        return moves

    def last_position(self, instance_id: str, besides: str) -> str | None:
        """The newest place the run was that is not ``besides`` (the step before a run of FAILEDs)."""
        row = self._tx(lambda conn: conn.execute(self._sql(
            "SELECT determined_next_step FROM workflow_history WHERE instance_id = ? AND determined_next_step "
            "IS NOT NULL AND determined_next_step <> ? ORDER BY id DESC LIMIT 1"), (instance_id, besides)).fetchone(),
            write=False)
        return row[0] if row else None

    def positions(self, instance_id: str, limit: int = 1000) -> list[str]:
        """Where the run has been, newest first (each entry's ``determined_next_step``)."""
        rows = self._tx(lambda conn: conn.execute(self._sql(
            "SELECT determined_next_step FROM workflow_history WHERE instance_id = ? "
            "AND determined_next_step IS NOT NULL ORDER BY id DESC LIMIT ?"), (instance_id, limit)).fetchall(),
            write=False)
        return [row[0] for row in rows]

    def update(self, before: Instance, after: Instance, entry: HistoryEntry, *, exact: bool = False) -> Instance:
        """Write ``after`` and its history entry if nobody moved ``before`` meanwhile.

        ``exact`` (for a ``before`` this process remembers rather than read) also requires
        the stored timestamp, step and status to be ``before``'s: a version alone can recur
        when a copy of the database is restored over it (``migrate-db --force``) and
        another writer then moves the run down another path.
        """
        context = self._json_in(after.context)
        exact_sql = " AND updated_at = {T} AND current_step_name = ? AND status = ?" if exact else ""

        def tx(conn: Any) -> Instance:
            cur = conn.execute(self._sql(
                "UPDATE workflow_instances SET current_step_name = ?, status = ?, context = {J}, version = ?, "
                "definition_hash = ?, updated_at = {T}, completed_at = {T}, awaiting_approval = {J} "
                "WHERE instance_id = ? AND version = ?" + exact_sql),
                (after.current_step_name, after.status, context, before.version + 1,
                 after.definition_hash, after.updated_at, after.completed_at,
                 self._json_in(after.awaiting_approval) if after.awaiting_approval else None,
                 before.instance_id, before.version,
                 *((before.updated_at, before.current_step_name, before.status) if exact else ())))
            if cur.rowcount != 1:
                raise Conflict(f"instance {before.instance_id} was changed by another client meanwhile; "
                               "call get_workflow_status and report on its current step")
            self._insert_entry(conn, entry)
            return after.but(version=before.version + 1)
        try:
            stored = self._tx(tx, write=True)
        except Conflict:
            self.forget(before.instance_id)
            raise
        self._remember(stored, entry, context)
        return stored

    def append(self, entry: HistoryEntry) -> None:
        """Record a history entry that does not move the instance (a failed attempt)."""
        self._tx(lambda conn: self._insert_entry(conn, entry), write=True)

    def list(self, status: str | None, workflow_name: str | None, limit: int) -> "list[InstanceSummary]":
        where, args = [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if workflow_name:
            where.append("workflow_name = ?")
            args.append(workflow_name)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._tx(lambda conn: conn.execute(self._sql(
            f"SELECT {self._SUMMARY_READ} FROM workflow_instances {clause} "
            f"ORDER BY updated_at DESC, {self._ORDER} DESC LIMIT ?"), (*args, limit)).fetchall(), write=False)
        return [InstanceSummary(*row[:5], bool(row[5])) for row in rows]

    # -- whole-database copies (``migrate-db``) ------------------------------------

    def counts(self) -> tuple[int, int]:
        """(instances, history rows)."""
        return self._tx(lambda conn: (
            conn.execute("SELECT COUNT(*) FROM workflow_instances").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM workflow_history").fetchone()[0]), write=False)

    def same_store(self, other: "Store") -> bool:
        """Is ``other`` this very database, however it was named (``migrate-db`` refuses a copy
        onto itself)?  Each kind knows how to tell; two kinds are never the same."""
        raise NotImplementedError

    def dump(self) -> "tuple[list[Instance], list[HistoryEntry]]":
        """Every instance in insertion order and every history row by id (one consistent read)."""
        return self._tx(self._dump_rows, write=True)  # a transaction: one snapshot of both tables

    def _dump_rows(self, conn: Any) -> "tuple[list[Instance], list[HistoryEntry]]":
        insts = conn.execute(f"SELECT {self._INSTANCE_READ} FROM workflow_instances ORDER BY {self._ORDER}").fetchall()
        hist = conn.execute(f"SELECT {self._HISTORY_READ} FROM workflow_history ORDER BY id").fetchall()
        return [self._instance(r) for r in insts], [self._entry(r) for r in hist]

    def load(self, instances: Sequence[Instance], history: Sequence[HistoryEntry], *, replace: bool) -> None:
        """Insert copied rows (history keeps its ids) in one transaction; ``replace``
        first empties the target."""
        def tx(conn: Any) -> None:
            if replace:
                conn.execute("DELETE FROM workflow_history")
                conn.execute("DELETE FROM workflow_instances")
            for inst in instances:
                self._insert_instance(conn, inst)
            for entry in history:
                self._insert_entry(conn, entry, keep_id=True)
            self._after_load(conn)
        self._tx(tx, write=True)

    def _after_load(self, conn: Any) -> None:
        """Hook: a dialect re-aligns its id generator after rows kept their ids."""


class _ConnectionPool:
    """A small bounded pool of SQLite connections shared by all threads.

    A connection per thread would outlive its thread (the SDK's worker threads
    come and go) and leak its file descriptors; here at most ``size`` connections
    ever exist, and a caller waits for a free one.
    """

    def __init__(self, factory: Callable[[], sqlite3.Connection], size: int) -> None:
        self._factory = factory
        self._size = size
        self._idle: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []
        self._opened = 0
        self._cv = threading.Condition()

    def acquire(self) -> sqlite3.Connection:
        with self._cv:
            while not self._idle and self._opened >= self._size:
                self._cv.wait()
            if self._idle:
                return self._idle.pop()
            self._opened += 1  # reserve the slot while connecting
        try:
            conn = self._factory()
        except BaseException:
            with self._cv:
                self._opened -= 1
                self._cv.notify()
            raise
        with self._cv:
            self._all.append(conn)
        return conn

    def release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:  # never hand on a half-done transaction
            conn.rollback()
        with self._cv:
            if conn not in self._all:  # the pool was closed while this one was out: close it now
                self._close(conn)
                return
            self._idle.append(conn)
            self._cv.notify()

    def close(self) -> None:
        """Close the idle connections now and each borrowed one when it comes back.

        Closing a connection that another thread is using (a background warm-up,
        say) can crash the interpreter, so that one is left to its borrower.
        """
        with self._cv:
            for conn in self._idle:
                self._close(conn)
            self._opened -= len(self._all)
            self._all.clear()
            self._idle.clear()
            self._cv.notify_all()

    @staticmethod
    def _close(conn: sqlite3.Connection) -> None:
        try:
            conn.close()
        except sqlite3.Error:
            pass


class SQLiteStore(Store):
    """Instances and their history in one SQLite file.

    Several processes may share the file.  Writes use ``BEGIN IMMEDIATE`` and a
    ``version`` check; connections come from a bounded pool, so open file
    descriptors stay flat however many worker threads come and go.
    """

    def __init__(self, path: Path, pool_size: int = 8) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._pool = _ConnectionPool(self._connect, pool_size)
        self._migrated = False
        self._migrate_lock = threading.Lock()
        self._write_lock = threading.Lock()

    # -- connections ---------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
                with self._migrate_lock:
                    if not self._migrated:
                        self._migrate(conn)
                        self._migrated = True
            except BaseException:
                conn.close()
                raise
        except PersistenceError:
            raise
        except (OSError, sqlite3.Error) as exc:
            read_only = "readonly" in str(exc).replace(" ", "") or (
                self.path.exists() and not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)))
            not_sqlite = isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc)
            why = ("it is read-only for this process" if read_only else
                   "it is not a SQLite database (another file at that path?)" if not_sqlite else str(exc))
            raise PersistenceError(f"cannot use the state database {self.location!r}: {why}; point "
                                   "WORKFLOW_DB_PATH (or --db) at a writable SQLite file, or at a path where one "
                                   "can be created", retryable=False) from exc
        return conn

    def same_store(self, other: "Store") -> bool:
        # The file itself (device and inode): a link or another spelling of the path is the same.
        if not isinstance(other, SQLiteStore):
            return False
        mine, theirs = os.stat(self.path), os.stat(other.path)
        return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)

    @property
    def connection(self) -> Any:
        """``with store.connection as conn``: borrow a pooled connection (tests, tools)."""
        import contextlib

        @contextlib.contextmanager
        def borrow() -> Iterator[sqlite3.Connection]:
            conn = self._pool.acquire()
            try:
                yield conn
            finally:
                self._pool.release(conn)
        return borrow()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the schema forward; a database already current is only read, so a
        read-only file fails on the write probe with a clear message, not here."""
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise PersistenceError(f"the database {self.location!r} has schema {current}, newer than this "
                                   f"server's {SCHEMA_VERSION}; upgrade orchestrator-mcp", retryable=False)
        if current == SCHEMA_VERSION:
            # Probe, without changing anything, that this process can write the file:
            # a read-only one opens and reads fine, then fails on the first advance.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            finally:
                conn.execute("ROLLBACK")
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            for version in range(current, SCHEMA_VERSION):
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if 0 < current < SCHEMA_VERSION:
                log.info("migrated %s from schema %d to %d", self.location, current, SCHEMA_VERSION)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def open(self) -> "SQLiteStore":
        with self.connection:
            pass
        return self

    def close(self) -> None:
        self._pool.close()

    def _snapshot(self, fn: Callable[[Any], Any]) -> Any:
        # One read transaction: the reads agree, and SQLite takes its WAL read lock
        # (four fcntl calls) once instead of once per statement.
        conn = self._pool.acquire()
        try:
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")
        finally:
            self._pool.release(conn)

    def _tx(self, fn: Callable[[Any], Any], *, write: bool) -> Any:
        # Plain acquire/release rather than ``with self.connection``: this runs two
        # or three times per tool call, and building a context manager each time
        # costs more than the read it wraps.
        pool = self._pool
        if not write:
            conn = pool.acquire()
            try:
                return fn(conn)
            finally:
                pool.release(conn)
        # SQLite has one writer at a time.  Threads of this process queue on a lock
        # instead of on the file lock, whose busy handler sleeps in steps of up to
        # 100 ms (long tails under concurrent advances); other processes still
        # meet the busy timeout.
        with self._write_lock:
            conn = pool.acquire()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                    return result
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            finally:
                pool.release(conn)


#: The seed name of the SQLite store, kept for embedders and scripts.
StateStore = SQLiteStore

#: PostgreSQL schema, one entry per version in ``orchestrator_schema_version``.
#: The same two tables as SQLite, with JSONB and UTC timestamps; ``seq`` plays
#: SQLite's ``rowid`` (insertion order, the tie-breaker of ``list``).
PG_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE workflow_instances (
        instance_id TEXT PRIMARY KEY,
        workflow_name TEXT NOT NULL,
        current_step_name TEXT NOT NULL,
        status TEXT NOT NULL,
        context JSONB NOT NULL DEFAULT '{}',
        version INTEGER NOT NULL DEFAULT 0,
        definition_hash TEXT NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        completed_at TIMESTAMPTZ,
        seq BIGINT GENERATED ALWAYS AS IDENTITY
    );
    CREATE TABLE workflow_history (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        instance_id TEXT NOT NULL REFERENCES workflow_instances(instance_id) ON DELETE CASCADE,
        timestamp TIMESTAMPTZ NOT NULL,
        step_name TEXT NOT NULL,
        user_report JSONB,
        outcome_status TEXT,
        determined_next_step TEXT,
        decided_by TEXT NOT NULL DEFAULT '',
        reasoning TEXT NOT NULL DEFAULT '',
        context_updates JSONB
    );
    CREATE INDEX idx_history_instance ON workflow_history(instance_id, id);
    CREATE INDEX idx_instances_updated ON workflow_instances(updated_at);
    """,
    """
    ALTER TABLE workflow_instances ADD COLUMN awaiting_approval JSONB;
    """,
)
PG_SCHEMA_VERSION = len(PG_MIGRATIONS)
#: Advisory lock key taken while migrating, so replicas starting together migrate once.
PG_MIGRATION_LOCK = 0x6F726368  # "orch"
PG_TIMEOUT_S = 5.0
#: Server-side limits in a serving store's transactions (see ``PostgresStore._LIMITS``).
PG_LOCK_TIMEOUT_MS = 4000
PG_STATEMENT_TIMEOUT_MS = 5000
PG_IDLE_IN_TX_MS = 30000


def _pg_time(column: str) -> str:
    """A timestamptz read back as the same ISO-8601 UTC text SQLite stores."""
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"


class _SocketWatchdog:
    """Ends a PostgreSQL call that outlives its deadline, whatever the server does.

    The server's own limits (``statement_timeout``) need a server that runs: a frozen
    host or a network path that silently drops packets leaves the driver waiting on a
    socket for minutes, since the kernel may still acknowledge what is sent.  Each
    call registers its connection (a dict entry, no thread per call); one thread
    checks four times a second and shuts down the socket of a connection still busy
    past its deadline.  The driver's read then fails at once, the call answers a
    retryable ``PERSISTENCE_ERROR``, and the pool discards the broken connection.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._busy: dict[int, tuple[Any, float]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def stop(self) -> None:
        """End the thread (the store closed)."""
        self._stopped.set()

    def watch(self, conn: Any) -> None:
        with self._lock:
            self._busy[id(conn)] = (conn, time.monotonic() + self.seconds)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="postgres-deadlines", daemon=True)
                self._thread.start()

    def release(self, conn: Any) -> None:
        with self._lock:
            self._busy.pop(id(conn), None)

    def _run(self) -> None:
        import socket

        while not self._stopped.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [conn for conn, deadline in self._busy.values() if deadline < now]
                for conn in late:
                    self._busy.pop(id(conn), None)
            for conn in late:
                log.warning("a PostgreSQL call took over %.0f s (no answer, or a very large one); dropping its "
                            "connection", self.seconds)
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    finally:
                        sock.close()


class PostgresStore(Store):
    """Instances and their history in PostgreSQL, shared by any number of replicas.

    psycopg 3 with a bounded ``psycopg_pool`` pool; each borrowed connection is
    checked first, so after a database restart the pool replaces dead connections
    by itself.  Any driver failure (connection lost, failover, restart) is a
    retryable ``PERSISTENCE_ERROR`` and the transaction is rolled back whole.
    """

    _P, _J, _T = "%s", "%s::jsonb", "%s::timestamptz"
    _INSTANCE_READ = ("instance_id, workflow_name, current_step_name, status, context::text, version, "
                      f"definition_hash, {_pg_time('created_at')}, {_pg_time('updated_at')}, "
                      f"{_pg_time('completed_at')}, awaiting_approval::text")
    _HISTORY_READ = (f"id, instance_id, {_pg_time('timestamp')}, step_name, user_report::text, outcome_status, "
                     "determined_next_step, decided_by, reasoning, context_updates::text")
    _ORDER = "seq"
    _REPORT_READ = "user_report::text"
    _SUMMARY_READ = (f"instance_id, workflow_name, status, current_step_name, {_pg_time('updated_at')}, "
                     "awaiting_approval IS NOT NULL")

    def __init__(self, url: str, pool_size: int = 10, timeout_s: float = PG_TIMEOUT_S, *,
                 serving: bool = True, check_writes: bool = True) -> None:
        """``serving`` (a server's store) bounds every call and, with ``check_writes``, refuses
        a database it cannot write; ``migrate-db`` opens its stores without both (a copy may
        read a standby and take longer than a call), and commands that only read (``list``,
        ``status``, ``ui``) without the write check, so they can read a standby."""
        self.url = url
        self.location = redact_url(url)
        self.pool_size = pool_size
        self.timeout_s = timeout_s
        self.serving = serving
        self.check_writes = check_writes
        self._pool: Any = None
        self._errors: tuple[type[BaseException], ...] = ()
        self._watchdog = _SocketWatchdog(timeout_s) if serving else None

    def _scrub(self, text: str) -> str:
        """A driver message without our secrets: libpq quotes the whole URI in some errors."""
        return scrub_secrets(text, self.url)

    def open(self) -> "PostgresStore":
        try:
            import psycopg
            from psycopg_pool import ConnectionPool, PoolTimeout
        except ImportError:
            raise ConfigError("WORKFLOW_DB_URL needs the PostgreSQL driver: "
                              "pip install 'orchestrator-mcp[postgres]' (psycopg 3 and psycopg_pool)") from None
        self._errors = (psycopg.Error, PoolTimeout)
        connect_timeout = max(1, int(self.timeout_s))
        try:
            # One direct connection first: a wrong URL or a server that is down fails
            # now with the driver's own reason, and migrations run before any pool.
            with psycopg.connect(self.url, autocommit=True, connect_timeout=connect_timeout) as conn:
                with self._deadline(conn):  # a path that stops answering right after the login
                    current = self._schema_current(conn)
                if not current:
                    self._migrate(conn)  # unbounded: another replica may hold the migration lock a while
                if self.serving and self.check_writes:
                    with self._deadline(conn):
                        self._check_writable(conn)
            self._pool = ConnectionPool(self.url, min_size=1, max_size=self.pool_size, open=False,
                                        timeout=self.timeout_s, check=self._check,
                                        kwargs={"autocommit": True, "connect_timeout": connect_timeout},
                                        num_workers=2, name="orchestrator-mcp")
            self._pool.open(wait=True, timeout=self.timeout_s)
        except self._errors as exc:
            self.close()
            first = (self._scrub(str(exc)).strip().splitlines() or [type(exc).__name__])[0]
            raise PersistenceError(f"cannot use the PostgreSQL database {self.location}: {first}; "
                                   "check WORKFLOW_DB_URL and that the server is up", retryable=False) from exc
        return self

    def _schema_current(self, conn: Any) -> bool:
        """Is the schema this server's version already?  Then it is only read."""
        if conn.execute("SELECT to_regclass('orchestrator_schema_version')").fetchone()[0]:
            return conn.execute("SELECT COALESCE(MAX(version), 0) FROM orchestrator_schema_version"
                                ).fetchone()[0] == PG_SCHEMA_VERSION
        return False

    def _migrate(self, conn: Any) -> None:
        """Create or bring the schema forward under an advisory lock (replicas may
        start at once)."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS orchestrator_schema_version (version INTEGER PRIMARY KEY, "
                         "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM orchestrator_schema_version").fetchone()[0]
            if current > PG_SCHEMA_VERSION:
                raise PersistenceError(f"the database {self.location} has schema {current}, newer than this "
                                       f"server's {PG_SCHEMA_VERSION}; upgrade orchestrator-mcp", retryable=False)
            for version in range(current, PG_SCHEMA_VERSION):
                conn.execute(PG_MIGRATIONS[version])
                conn.execute("INSERT INTO orchestrator_schema_version (version) VALUES (%s)", (version + 1,))
            if current < PG_SCHEMA_VERSION:
                log.info("migrated %s from schema %d to %d", self.location, current, PG_SCHEMA_VERSION)

    def _check_writable(self, conn: Any) -> None:
        """Refuse, at start-up, a database every change would fail on (as a read-only SQLite
        file is): a standby, ``default_transaction_read_only``, or a role that may not write."""
        # Each privilege on its own: a list in one has_table_privilege is true when any one is held.
        # DELETE is not needed: a server never deletes (only migrate-db --force does).
        read_only, standby, may_write = conn.execute(
            "SELECT current_setting('transaction_read_only') = 'on', pg_is_in_recovery(), "
            + " AND ".join(f"has_table_privilege('{table}', '{privilege}')"
                           for table in ("workflow_instances", "workflow_history")
                           for privilege in ("SELECT", "INSERT", "UPDATE"))).fetchone()
        why = ("it is a standby (read-only replica)" if standby else "its sessions are read-only "
               "(default_transaction_read_only)" if read_only else "" if may_write else
               "this role may not select, insert and update in workflow_instances and workflow_history")
        if why:
            raise PersistenceError(f"cannot use the PostgreSQL database {self.location}: {why}; point "
                                   "WORKFLOW_DB_URL at the writable primary, with a role that may write",
                                   retryable=False)

    #: Server-side limits set first in each of a serving store's transactions, for that
    #: transaction only (``SET LOCAL``: behind PgBouncer in transaction pooling a session is
    #: shared, and a session setting would reach other applications).  A lock held past
    #: ``PG_LOCK_TIMEOUT_MS`` (an operator's open transaction, a replica paused mid-change) or
    #: a statement past ``PG_STATEMENT_TIMEOUT_MS`` is a coded error; a transaction of ours left
    #: idle (its process frozen) is ended by the server after ``PG_IDLE_IN_TX_MS``, releasing
    #: its locks for the other replicas.
    _LIMITS = (f"SELECT set_config('lock_timeout', '{PG_LOCK_TIMEOUT_MS}', true), "
               f"set_config('statement_timeout', '{PG_STATEMENT_TIMEOUT_MS}', true), "
               f"set_config('idle_in_transaction_session_timeout', '{PG_IDLE_IN_TX_MS}', true)")

    def _check(self, conn: Any) -> None:
        """The pool's check of a borrowed connection, under the same deadline as a call."""
        from psycopg_pool import ConnectionPool

        with self._deadline(conn):
            ConnectionPool.check_connection(conn)

    @contextlib.contextmanager
    def _deadline(self, conn: Any) -> Iterator[None]:
        if self._watchdog is None:
            yield
            return
        self._watchdog.watch(conn)
        try:
            yield
        finally:
            self._watchdog.release(conn)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._watchdog is not None:
            self._watchdog.stop()

    def _tx(self, fn: Callable[[Any], Any], *, write: bool, limits: bool = True) -> Any:
        import psycopg

        try:
            with self._pool.connection() as conn, self._deadline(conn):
                if not write:
                    return fn(conn)
                with conn.transaction():
                    if self.serving and limits:
                        conn.execute(self._LIMITS)
                    return fn(conn)
        except psycopg.DataError as exc:
            if "\\u0000" in str(exc) or "0x00" in str(exc):
                raise InvalidArgument("PostgreSQL cannot store the NUL character (\\u0000) in text or JSON; "
                                      "remove it from the report or context") from exc
            raise self._fault(exc) from exc
        except self._errors as exc:
            raise self._fault(exc) from exc

    def _fault(self, exc: BaseException) -> PersistenceError:
        first = (self._scrub(str(exc)).strip().splitlines() or [type(exc).__name__])[0]
        log.warning("PostgreSQL error (%s): %s", type(exc).__name__, first)
        state = getattr(exc, "sqlstate", None)
        if state == "55P03":  # lock_not_available: lock_timeout
            return PersistenceError(f"another database session held this run longer than {PG_LOCK_TIMEOUT_MS} ms "
                                    "(an open transaction, or a replica paused mid-change); nothing changed: "
                                    "retry the same call shortly")
        if state in ("25006", "42501"):  # read_only_sql_transaction, insufficient_privilege
            return PersistenceError(f"the state database refuses changes ({type(exc).__name__}: {first[:200]}); "
                                    "nothing changed: point WORKFLOW_DB_URL at the writable primary, with a role "
                                    "that may write", retryable=False)
        return PersistenceError(f"the state database is unavailable ({type(exc).__name__}: {first[:200]}); "
                                "nothing changed: retry the same call shortly")

    def same_store(self, other: "Store") -> bool:
        """Is ``other`` this very database and schema, however its URL names it?  A session
        lock taken through ``other`` is visible here only on the same server (a restored
        dump or a physical copy carries every name and identifier over, but not the lock)."""
        if not isinstance(other, PostgresStore):
            return False
        import secrets

        import psycopg

        key = secrets.randbits(31)
        with psycopg.connect(other.url, autocommit=True, connect_timeout=max(1, int(self.timeout_s))) as held:
            held.execute("SELECT pg_advisory_lock(%s, %s)", (PG_MIGRATION_LOCK, key))
            theirs = held.execute("SELECT current_database(), current_schema()").fetchone()
            seen, *ours = self._tx(lambda conn: conn.execute(
                "SELECT count(*) > 0, current_database(), current_schema() FROM pg_locks WHERE locktype = "
                "'advisory' AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2",
                (PG_MIGRATION_LOCK, key)).fetchone(), write=False)
        return bool(seen) and tuple(ours) == tuple(theirs)

    def dump(self) -> "tuple[list[Instance], list[HistoryEntry]]":
        # Its isolation level must be the transaction's first statement, before any limits.
        return self._tx(self._dump_rows, write=True, limits=False)

    def _dump_rows(self, conn: Any) -> "tuple[list[Instance], list[HistoryEntry]]":
        # PostgreSQL's default, READ COMMITTED, gives each SELECT its own snapshot: history
        # written by a live server between the two would name runs the copy does not hold.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return super()._dump_rows(conn)

    def _after_load(self, conn: Any) -> None:
        conn.execute("SELECT setval(pg_get_serial_sequence('workflow_history', 'id'), "
                     "COALESCE((SELECT MAX(id) FROM workflow_history), 0) + 1, false)")


def open_store(config: Config, writes: bool = True) -> Store:
    """The configured store, opened: PostgreSQL when a URL is set, else the SQLite file.
    ``writes=False`` (a command that only reads) lets a PostgreSQL standby or a role that
    may only read serve it."""
    if config.db_url:
        return PostgresStore(config.db_url, config.db_pool_size, check_writes=writes).open()
    return SQLiteStore(config.db_path, config.db_pool_size).open()


def store_for(target: str, pool_size: int = 2) -> Store:
    """A store for a ``migrate-db`` argument: a PostgreSQL URL or a SQLite file path."""
    if is_postgres_url(target):
        return PostgresStore(target, pool_size, serving=False)
    return SQLiteStore(Path(target).expanduser(), pool_size)


# =============================================================================
# 5. Deciders
#    Given a workflow, an instance and a report, name the next step.  Declared
#    transitions first; else the configured provider: stub, Gemini or OpenAI.
# =============================================================================


@dataclass
class DecisionRequest:
    """Everything a decider may look at; built by the engine."""
    kind: str  # "advance" or "resume"
    workflow: WorkflowDef
    instance: Instance  # context already merged with the client's updates
    history: list[HistoryEntry]
    report: dict[str, Any]
    assumed_step: str | None = None


@dataclass
class Decision:
    next_step: str  # a step name of the workflow, FINISH, FAILED or SUSPEND
    decided_by: str  # transition | stub | llm
    reasoning: str
    updated_context: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # ignored side fields, kept in history


def decide_by_transition(step: StepDef, report: Mapping[str, Any]) -> Decision | None:
    """The author's ``# Transitions`` table: evidence conditions first (in file order,
    so the facts outrank the status the agent chose), then the status, then ``default``."""
    for cond in step.conditions:
        if cond.holds(report):
            return Decision(cond.target, "transition",
                            f"evidence {cond.field}={json.dumps(report[cond.field])} matches "
                            f"'{cond.describe()}' of step '{step.name}', which goes to {cond.target}")
    status = str(report.get("status", "")).strip().lower()
    if status in step.transitions and not (step.approval and status == "rejected"):
        # On a gated step `rejected:` is the route of a person's answer, not of the agent's report.
        return Decision(step.transitions[status], "transition",
                        f"status '{status}' of step '{step.name}' goes to {step.transitions[status]}")
    if "default" in step.transitions:
        return Decision(step.transitions["default"], "transition",
                        f"status '{status}' of step '{step.name}' took the default transition "
                        f"to {step.transitions['default']}")
    return None


def expected_statuses(step: StepDef) -> list[str]:
    """The statuses a report can use to take a declared route, in the author's order."""
    # 'rejected' on a gated step is the route of a person's rejection, not a status to report.
    return [status for status in step.transitions
            if status != "default" and not (status == "rejected" and step.approval)]


class StubDecider:
    """Deterministic decisions without an LLM: index order, FINISH after the last
    step, and a ``failure``/``error`` status repeats the current step.

    A step that declares transitions (and no ``default``) is a contract: a
    status outside it is refused, because guessing "the next step in the list"
    sends, say, "nothing staged" on to reading diffs.
    """

    name = "stub"
    #: The stub never reads history, so the engine does not fetch it for it.
    reads_history = False
    #: It decides from the request alone (no I/O, nothing recorded), so the engine may
    #: ask it from remembered state and throw the decision away if that state was stale.
    pure = True

    def decide(self, req: DecisionRequest) -> Decision:
        wf, current = req.workflow, req.workflow.step(req.instance.current_step_name)
        if req.kind == "resume":
            step = current or (wf.step(req.assumed_step) if req.assumed_step else None) or wf.first_step
            return Decision(step.name, "stub", f"resuming at the stored step '{step.name}'")
        assert current is not None
        status = str(req.report.get("status", "")).strip().lower()
        if current.transitions and "default" not in current.transitions:
            valid = expected_statuses(current)
            raise InvalidArgument(
                f"status {status[:100]!r} matches no transition of step '{current.name}'; report one of: "
                f"{', '.join(valid)} (no LLM is configured to judge other statuses). Nothing changed",
                expected_statuses=valid, current_step_name=current.name)
        if status in ("failure", "error", "failed"):
            return Decision(current.name, "stub", f"status '{status}': repeat step '{current.name}'")
        index = wf.steps.index(current)
        if index + 1 < len(wf.steps):
            nxt = wf.steps[index + 1].name
            return Decision(nxt, "stub", f"status '{status}': next step in index order is '{nxt}'")
        return Decision(FINISH, "stub", f"status '{status}' on the last step: the workflow is finished")


# -- the LLM prompt, shared by both providers -------------------------------
#
# The prompt is built for small models and for provider prompt caches.  The
# system message (instructions + a summary of the workflow) depends only on the
# workflow, so it is byte-identical across every decision of every run of it:
# Gemini's implicit cache and llama.cpp's KV cache reuse it.  The per-call part
# (the current step's guidance and routes, history, context, the report and the
# candidates) comes last and stays short.

PROMPT_JSON_LIMIT = 1_500  # characters of report or context JSON in a prompt
PROMPT_GUIDANCE_LIMIT = 3_000
PROMPT_GOAL_LIMIT = 600
PROMPT_HISTORY_ROWS = 4
DESCRIPTION_LIMIT = 110
REASONING_LIMIT = 1_000  # characters of a model's reasoning we store
ANSWER_MAX_TOKENS = 256  # reasoning (about 20 words) + name + a few context pairs, with room to spare
GEMINI_MAX_OUTPUT_TOKENS = 2_048  # Gemini counts thinking tokens in this budget
SYSTEM_PROMPT = (
    "You route a workflow that a coding agent (the client) carries out step by step. After the client "
    "reports on a step, you choose the step it must do next, by what the current step's Orchestrator "
    "Guidance says for what the report says happened.\n"
    "Answer with one JSON object: \"reasoning\" (one short sentence, at most 25 words: what happened and what "
    "the guidance says for it), then \"next_step_name\" (exactly one candidate), then \"context_updates\" (a list of "
    "{\"key\", \"value\"} string pairs that later steps need; usually [])."
)


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters with a visible marker."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n...[truncated {len(text) - limit} more characters]"


def clip_json(value: Any, limit: int = PROMPT_JSON_LIMIT) -> str:
    return clip(json.dumps(value, ensure_ascii=False, default=str), limit)


def step_description(step: StepDef) -> str:
    """One line about a step: the first sentence of its goal, else of its instructions."""
    text = re.sub(r"```.*?(?:```|$)", " ", step.goal or step.instructions, flags=re.DOTALL)
    text = " ".join(text.split())
    if not text:
        return "(no description)"
    m = re.match(r"(.+?)[.!?:](?:\s|$)", text)
    first = (m.group(1) if m else text).strip()
    return (first[:DESCRIPTION_LIMIT - 3] + "..." if len(first) > DESCRIPTION_LIMIT else first) + "."


def _named_in(name: str, text: str) -> bool:
    """Whether guidance names a step: whole words, any case; reserved names in capitals only."""
    flags = 0 if name in RESERVED_STEPS else re.IGNORECASE
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, flags) is not None


def offers_suspend(step: StepDef) -> bool:
    """SUSPEND is the author's choice: a declared route to it, or guidance that names it."""
    return SUSPEND in step.transitions.values() or re.search(r"\bSUSPEND(?:ED)?\b", step.guidance) is not None


def candidate_targets(wf: WorkflowDef, step: StepDef) -> list[tuple[str, str]]:
    """Where a decision on ``step`` may go, each with a one-line description.

    Narrowing the choice to what the step can reach is what lets a small model
    route well: its declared targets, the steps its guidance names, the next
    step in index order when it declares no routes, the step itself (repeat),
    FINISH; FAILED where the step names it or declares no routes; SUSPEND only
    where the author offers it.  Order matters to small models: the author's
    routes come first.
    """
    names: list[str] = []

    def add(name: str | None) -> None:
        if name and name not in names:
            names.append(name)

    for cond in step.conditions:  # evidence routes are the author's routes too
        add(cond.target)
    for target in step.transitions.values():
        add(target)
    for other in wf.steps:
        if other is not step and _named_in(other.name, step.guidance):
            add(other.name)
    if not step.transitions:
        index = wf.steps.index(step) if step in wf.steps else -1
        add(wf.steps[index + 1].name if 0 <= index < len(wf.steps) - 1 else FINISH)
    add(step.name)
    add(FINISH)
    # A step that declares its routes and never names FAILED sends failures somewhere
    # itself; offering FAILED there only tempts a model to end the run on any error.
    if not step.transitions or FAILED in step.transitions.values() or _named_in(FAILED, step.guidance):
        add(FAILED)
    if offers_suspend(step):
        add(SUSPEND)
    out: list[tuple[str, str]] = []
    for name in names:
        if name == step.name:
            out.append((name, f"this step, again: {step_description(step)}"))
        elif name == FINISH:
            out.append((name, "finish: end the run as done (goal met, nothing to do, or the user stops)."))
        elif name == FAILED:
            out.append((name, "end the whole run as failed, only where the guidance says the workflow FAILED."))
        elif name == SUSPEND:
            out.append((name, "pause the run at this step until it is resumed: wait for something outside it."))
        else:
            target = wf.step(name)
            out.append((name, step_description(target) if target else ""))
    return out


def resume_candidates(wf: WorkflowDef) -> list[tuple[str, str]]:
    """Where a resumed run may be: any step (the agent reads the history to say which), or the end."""
    ends = [(n, d) for n, d in candidate_targets(wf, wf.first_step) if n in (FINISH, FAILED)]
    return [(s.name, step_description(s)) for s in wf.steps] + ends


def _routes(step: StepDef) -> str:
    return "; ".join(f"{status} -> {target}" for status, target in step.transitions.items()) or "none declared"


def workflow_summary(wf: WorkflowDef) -> str:
    """The static, per-workflow part of the prompt: title, goal and steps.

    Without each step's routes: a 1.5B model read another step's ``success ->``
    as an answer for the current one (67.6% of the bundled LLM cases with the
    routes listed, 80.3% without, with the rule list below dropped as well)."""
    lines = [f"Workflow {wf.name}: {wf.title}", f"Goal: {clip(' '.join(wf.goal.split()), PROMPT_GOAL_LIMIT)}",
             "Steps, in order:"]
    for i, step in enumerate(wf.steps, 1):
        lines.append(f"{i}. {step.name}: {step_description(step)}")
    return "\n".join(lines)


def system_prompt(wf: WorkflowDef) -> str:
    """Instructions, then the workflow summary: identical for every call on ``wf``."""
    return f"{SYSTEM_PROMPT}\n\n{workflow_summary(wf)}"


def _history_lines(history: Sequence[HistoryEntry]) -> str:
    rows = [h for h in history if h.outcome_status != "STARTED"][-PROMPT_HISTORY_ROWS:]
    return "\n".join(f"- {h.step_name}: reported {h.outcome_status or '-'} -> "
                     f"{h.determined_next_step or '(no decision)'}" for h in rows)


def _guidance_block(step: StepDef) -> str:
    return f'Orchestrator Guidance of "{step.name}":\n"""\n{clip(step.guidance, PROMPT_GUIDANCE_LIMIT)}\n"""'


def _candidate_lines(candidates: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f'- "{name}": {text}' for name, text in candidates)


def decision_candidates(req: DecisionRequest) -> list[tuple[str, str]]:
    """The candidates of an advance, or of a resume: the stored step, the step the
    client assumes, and where that step can go."""
    wf = req.workflow
    current = wf.step(req.instance.current_step_name)
    if current is None:
        return [(name, "") for name in wf.targets]
    if req.kind != "resume":
        return candidate_targets(wf, current)
    assumed = wf.step(req.assumed_step or "") or current
    out = [(current.name, f"the stored step: {step_description(current)}")]
    if assumed is not current:
        out.append((assumed.name, f"the step the client assumes: {step_description(assumed)}"))
    for name, text in candidate_targets(wf, assumed):
        if name != SUSPEND and name not in (n for n, _ in out):
            out.append((name, text))
    return out


def build_prompt(req: DecisionRequest, candidates: Sequence[tuple[str, str]]) -> str:
    """The per-call user message: the step, its guidance and routes, recent
    history, context, the report, the candidates and the question."""
    inst = req.instance
    wf = req.workflow
    report = clip_json(req.report) if req.report else "(no report)"
    context = clip_json(inst.context)
    if req.kind == "resume":
        stored = wf.step(inst.current_step_name)
        assumed = wf.step(req.assumed_step or "")
        parts = [
            "The client is resuming this run, probably in a new conversation, and asks which step to do now.",
            f'Stored state: the run is at step "{inst.current_step_name}" (status {inst.status}). '
            f'The client believes it is at step "{req.assumed_step}".',
        ]
        shown = [assumed] if assumed is not None else []
        shown += [stored] if stored is not None and stored is not assumed else []
        for step in shown:
            parts.append(f"{_guidance_block(step)}\nRoutes: {_routes(step)}.")
        history = _history_lines(req.history)
        parts += [*([f"Recent history (oldest first):\n{history}"] if history else []), f"Run context: {context}",
                  f"What the client reports it did since:\n{report}",
                  f"Candidates for next_step_name:\n{_candidate_lines(candidates)}",
                  "Question: which step is to be done NOW? If the report shows the client's step was completed, "
                  "apply that step's guidance to choose the step after it. If the report shows nothing new was "
                  "done, the step to do now is the step the run is at."]
        return "\n\n".join(parts)
    step = wf.step(inst.current_step_name)
    assert step is not None
    status = str(req.report.get("status", ""))
    why = (f'The status "{clip(status, 100)}" is not one of them: judge from what the report says.'
           if step.transitions else "The step declares no routes: judge from what the report says.")
    history = _history_lines(req.history)  # left out when empty: an empty heading is noise to a small model
    return "\n\n".join([
        f'Current step: "{step.name}"',
        f"{_guidance_block(step)}\nDeclared transitions (status -> next step): {_routes(step)}.\n{why}",
        *([f"Recent history (oldest first):\n{history}"] if history else []),
        *([f"Run context: {context}"] if inst.context else []),
        f'The client\'s report on "{step.name}":\n{report}',
        f"Candidates for next_step_name:\n{_candidate_lines(candidates)}",
        f'Question: following the guidance of "{step.name}", which candidate comes next after this report?',
    ])


def decision_schema(names: Sequence[str]) -> dict[str, Any]:
    """The answer's JSON Schema, strict-mode safe (every property required, no
    free-form objects).

    ``reasoning`` comes first so the model thinks before it names the step.
    Context updates are a list of ``{key, value}`` string pairs: strict mode
    forbids open objects, and JSON *inside* a string (the old shape) is what
    small models break most; a string value that parses as JSON keeps its type.
    """
    return {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "description": "one short sentence: which case of the guidance this is"},
            "next_step_name": {"type": "string", "enum": list(names)},
            "context_updates": {
                "type": "array", "description": "facts later steps need; usually []",
                "items": {"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                          "required": ["key", "value"], "additionalProperties": False}},
        },
        "required": ["reasoning", "next_step_name", "context_updates"],
        "additionalProperties": False,
    }


def _pair_value(value: Any) -> Any:
    """A pair's value keeps its JSON type when the text is JSON; else it is text."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:1] in "{[-0123456789" or text in ("true", "false", "null"):
        try:
            return json.loads(text) if text else value
        except ValueError:
            return value
    return value


def context_from_answer(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """The model's optional context updates, and a warning for each part ignored.

    Accepted shapes: a list of ``{key, value}`` pairs (the schema's), or an
    object (a provider that does not enforce the schema).  Whatever does not
    fit, or breaks the limits client input obeys (depth, NaN, 1 MiB), is
    dropped with a warning: a bad side field never costs the decision.
    """
    if raw in (None, [], {}, ""):
        return {}, []
    updates: dict[str, Any] = {}
    warnings: list[str] = []
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = []
        for pair in raw:
            if isinstance(pair, dict) and isinstance(pair.get("key"), str) and "value" in pair:
                items.append((pair["key"], pair["value"]))
            else:
                warnings.append(f"ignored a context update that is not a {{key, value}} pair: {clip(str(pair), 80)}")
    else:
        return {}, [f"ignored the model's context updates: expected a list of {{key, value}} pairs, got "
                    f"{type(raw).__name__}"]
    for key, value in items:
        key = str(key).strip()
        if not key or len(key) > 200:
            warnings.append(f"ignored a context update with an empty or over-long key {clip(key, 40)!r}")
            continue
        try:
            updates[key] = _pair_value(value)
        except RecursionError:
            warnings.append(f"ignored context update {key!r}: nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        check_json("the model's context updates", updates)
    except (InvalidArgument, RecursionError) as exc:
        message = exc.message if isinstance(exc, InvalidArgument) else "nested too deeply"
        return {}, warnings + [f"ignored all of the model's context updates: {message}"]
    return updates, warnings


def parse_decision(text: str) -> dict[str, Any]:
    """Parse and check a model's answer ourselves: APIs do not enforce ``required``,
    and an answer obeys the same limits as client input."""
    if len(text) > MAX_JSON_BYTES:
        raise AIServiceError(f"the model's answer is {len(text)} characters; the limit is {MAX_JSON_BYTES}",
                             retryable=True)
    body = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", body, re.DOTALL)
    if fenced:
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise AIServiceError(f"the model's answer is not JSON: {clip(text, 200)!r}", retryable=True) from None
    if not isinstance(data, dict):
        raise AIServiceError("the model's answer is not a JSON object", retryable=True)
    name = data.get("next_step_name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise AIServiceError("the model's answer lacks next_step_name", retryable=True)
    raw_context = data.get("context_updates", data.get("updated_context"))
    if isinstance(raw_context, str):  # older shape: JSON text
        try:
            raw_context = json.loads(raw_context) if raw_context.strip() else None
        except (ValueError, RecursionError):
            raw_context = "(text that is not JSON)"
    updates, warnings = context_from_answer(raw_context)
    reasoning = data.get("reasoning")
    reasoning = " ".join(reasoning.split()) if isinstance(reasoning, str) else ""
    return {"next_step_name": name.strip(), "updated_context": updates, "warnings": warnings,
            "reasoning": clip(reasoning, REASONING_LIMIT)}


# -- the agent decides: the routing question and its answer ---------------


@dataclass
class Candidate:
    step_name: str
    description: str


@dataclass
class RoutingQuestion:
    """What the agent must decide, returned instead of a decision when the provider is ``agent``."""
    kind: str  # advance | resume
    step_name: str  # the step the report is about (resume: the stored current step)
    guidance: str  # that step's Orchestrator Guidance
    report: Any  # the report as received
    candidates: list[Candidate]
    how_to_answer: str
    history: list[str] = field(default_factory=list)  # resume only: the stored history, one line each

    def render(self, for_agent: bool = True) -> str:
        """The question as text, for ``next_step.instructions``; ``for_agent=False`` leaves out
        the candidates and how to answer through a tool (``run`` asks a person its own way)."""
        parts = ["No declared transition matched, so you decide the next step." if self.kind == "advance"
                 else "You are resuming this run: decide which step is to be done now."]
        if self.history:
            parts.append("Stored history, oldest first:\n" + "\n".join(f"- {h}" for h in self.history))
        parts.append(f"Orchestrator Guidance of step '{self.step_name}':\n{self.guidance or '(none)'}")
        parts.append("Report as received:\n" + clip_json(self.report, 2000))
        if for_agent:
            parts.append("Candidates:\n" + "\n".join(f"- {c.step_name}: {c.description}" for c in self.candidates))
            parts.append(self.how_to_answer)
        return "\n\n".join(parts)


class AskAgent(Exception):
    """Raised by the agent decider when the calling agent must choose: not a failure,
    the engine turns it into a result carrying the routing question."""

    def __init__(self, question: RoutingQuestion) -> None:
        super().__init__(question.how_to_answer)
        self.question = question


class AgentDecider:
    """The calling agent decides (no LLM configured): without ``report.choose_step`` it
    gets the routing question; with it, the choice is checked against the candidates.

    The answer travels in the same tool call as the report (``advance_workflow`` or
    ``resume_workflow`` again, plus ``report.choose_step``) rather than a new tool,
    so the report and the choice are stored together and replay, CONFLICT and
    ``step_id`` work exactly as for every other decision.
    """

    name = "agent"

    def decide(self, req: DecisionRequest) -> Decision:
        wf = req.workflow
        step = wf.step(req.instance.current_step_name)
        candidates = (resume_candidates(wf) if req.kind == "resume" or step is None
                      else candidate_targets(wf, step))
        report = {k: v for k, v in req.report.items() if k != "choose_step"}
        choice = req.report.get("choose_step")
        tool = "resume_workflow" if req.kind == "resume" else "advance_workflow"
        if choice is None:
            history = [f"{h.timestamp} step '{h.step_name}' status {h.outcome_status or '-'} -> "
                       f"{h.determined_next_step or '(no decision)'} [{h.decided_by}]"
                       for h in req.history] if req.kind == "resume" else []
            how = (f"Answer by calling {tool} again with the same arguments and the same report plus "
                   f"report.choose_step set to exactly one candidate name ({', '.join(n for n, _ in candidates)}); "
                   "add report.reasoning with one sentence saying why.")
            if req.kind == "resume":
                how += (f" The stored current step is '{req.instance.current_step_name}'; you assumed "
                        f"'{req.assumed_step}'.")
            raise AskAgent(RoutingQuestion(req.kind, step.name if step else req.instance.current_step_name,
                                           step.guidance if step else "", report,
                                           [Candidate(n, d) for n, d in candidates], how, history))
        names = [n for n, _ in candidates]
        target = wf.resolve_target(choice) if isinstance(choice, str) else None
        if target not in names:
            raise InvalidArgument(f"report.choose_step {str(choice)[:100]!r} is not one of the candidates: "
                                  f"{', '.join(names)}; send the same report with one of them",
                                  candidates=names)
        why = req.report.get("reasoning")
        # Cut as a model's reasoning is: every status and ui page carries it.
        return Decision(target, "agent", clip(" ".join(why.split()), REASONING_LIMIT)
                        if isinstance(why, str) and why.strip() else f"the agent chose '{target}'")


# -- HTTP with retries, shared by both providers ---------------------------

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
MAX_ATTEMPTS = 3
BACKOFF_BASE_S = 0.25
RETRY_DELAY_CAP_S = 10.0
#: Largest provider response body read; a bigger one is a fault, not a memory hog.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


def _shutdown_socket(sock: Any) -> None:
    import socket

    try:  # the plain-socket method, also for TLS sockets: it only ends the blocked read
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError):
        pass


class _AttemptDeadline:
    """A wall-clock deadline for one HTTP attempt, headers and body included.

    A socket timeout bounds each read, not their sum: a provider that sends a
    byte every half second never trips it.  At the deadline this shuts the
    attempt's socket down, which ends any blocked read at once.  The sockets
    are registered by the connection classes of ``_deadline_session``.
    """

    _current = threading.local()

    def __init__(self, seconds: float) -> None:
        self.expired = threading.Event()
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.001), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_AttemptDeadline":
        _AttemptDeadline._current.active = self
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()
        _AttemptDeadline._current.active = None

    @classmethod
    def watch(cls, sock: Any) -> None:
        """Put the calling thread's attempt in charge of ``sock``."""
        active = getattr(cls._current, "active", None)
        if active is None or sock is None:
            return
        with active._lock:
            active._sockets.append(sock)
            if active.expired.is_set():
                _shutdown_socket(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired.set()
            for sock in self._sockets:
                _shutdown_socket(sock)


def _deadline_session(requests: Any) -> Any:
    """A ``requests.Session`` whose connections report their sockets to the
    current ``_AttemptDeadline`` (new and reused connections alike)."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.poolmanager import ProxyManager

    def watched(base: Any) -> Any:
        class Watched(base):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                _AttemptDeadline.watch(self.sock)

            def getresponse(self, *args: Any, **kwargs: Any) -> Any:
                _AttemptDeadline.watch(self.sock)
                return super().getresponse(*args, **kwargs)
        return Watched

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = watched(HTTPConnection)

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = watched(HTTPSConnection)

    pools = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}

    class DeadlineAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(pools)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if type(manager) is ProxyManager:  # SOCKS managers keep their own pools
                manager.pool_classes_by_scheme = dict(pools)
            return manager

    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, DeadlineAdapter())
    return session


@dataclass
class _HttpFault:
    message: str
    retryable: bool
    delay: float | None = None  # what the server asked us to wait


class LLMDecider:
    """A decider that asks an LLM over HTTP; subclasses speak one wire format.

    ``decide`` builds the prompt, posts it with retries for transient faults,
    validates the answer, and gives one corrective retry for an unknown step.
    Every failure is an ``AIServiceError``; nothing here touches stored state.
    """

    name = "llm"
    provider = ""

    def __init__(self, config: Config) -> None:
        import requests  # imported here so the module imports fast

        self.config = config
        self._requests = requests
        self._session = _deadline_session(requests)
        self._log_lock = threading.Lock()
        # Provider calls in flight are capped below the SDK's worker pool (40
        # threads), so a hanging provider can never take every thread from reads.
        self._slots = threading.BoundedSemaphore(config.max_llm_calls)

    # subclasses fill these three in
    def _request(self, system: str, turns: list[tuple[str, str]], schema: dict[str, Any]
                 ) -> tuple[str, dict[str, str], dict[str, Any]]:
        raise NotImplementedError

    def _answer(self, payload: Any) -> str:
        raise NotImplementedError

    def _fault(self, status: int, payload: Any, headers: Mapping[str, str]) -> _HttpFault:
        raise NotImplementedError

    def usage(self, payload: Any) -> dict[str, int]:
        """Token counts the provider reported for one call (subclasses read their format)."""
        return {}

    def decide(self, req: DecisionRequest) -> Decision:
        candidates = decision_candidates(req)
        names = [name for name, _ in candidates]
        system = system_prompt(req.workflow)
        turns: list[tuple[str, str]] = [("user", build_prompt(req, candidates))]
        schema = decision_schema(names)
        deadline = time.monotonic() + self.call_budget_s()  # shared by the corrective round
        for round_ in (1, 2):
            text = self._post_with_retries(system, turns, schema, req, deadline)
            data = parse_decision(text)
            target = req.workflow.resolve_target(data["next_step_name"])
            if target is not None and (target in names or target != SUSPEND):
                return Decision(target, "llm", data["reasoning"] or "(the model gave no reasoning)",
                                data["updated_context"], data["warnings"])
            if round_ == 2:
                break
            turns += [("model", text),
                      ("user", f"'{clip(data['next_step_name'], 100)}' is not a candidate. Answer again with "
                               f"next_step_name exactly one of: {', '.join(names)}.")]
        raise AIServiceError(f"the model named an unknown step {clip(data['next_step_name'], 100)!r} twice; "
                             f"valid names are {', '.join(names)}", retryable=True)

    def call_budget_s(self) -> float:
        """The most one decision may take: every attempt's timeout plus the retry waits."""
        return MAX_ATTEMPTS * self.config.timeout_s + (MAX_ATTEMPTS - 1) * RETRY_DELAY_CAP_S

    def _redact(self, text: str) -> str:
        key = self.config.api_key
        return text.replace(key, "[REDACTED]") if key else text

    def _redact_value(self, value: Any) -> Any:
        """Redact every string of a parsed response (keys included), whatever escapes hid it."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, list):
            return [self._redact_value(v) for v in value]
        if isinstance(value, dict):
            return {self._redact(k) if isinstance(k, str) else k: self._redact_value(v) for k, v in value.items()}
        return value

    def _payload(self, raw: bytes) -> Any:
        """The response as JSON (else text), redacted whole before anything reads or cuts it."""
        text = self._redact(raw.decode("utf-8", "replace"))
        try:
            return self._redact_value(json.loads(text))
        except (ValueError, RecursionError):
            return text[:2000]

    def _attempt(self, url: str, body: Any, headers: Mapping[str, str], seconds: float
                 ) -> tuple[int, Mapping[str, str], Any] | _HttpFault:
        """One POST under a wall-clock deadline: (status, headers, payload) or a fault.

        Redirects are never followed: ``requests`` would re-send the key header
        (and on 307/308 the prompt) to whatever host the redirect names.
        """
        timed_out = _HttpFault(f"no answer within {self.config.timeout_s:g}s (AI_REQUEST_TIMEOUT_MS)", True)
        with _AttemptDeadline(seconds) as deadline:
            try:
                # The read timeout is a second longer than the deadline, so the deadline ends reads first.
                resp = self._session.post(url, json=body, headers=dict(headers), timeout=(seconds, seconds + 1),
                                          allow_redirects=False, stream=True)
                try:
                    chunks, size = [], 0
                    for chunk in resp.iter_content(64 * 1024):
                        size += len(chunk)
                        if size > MAX_RESPONSE_BYTES:
                            return _HttpFault(f"the response is larger than {MAX_RESPONSE_BYTES} bytes", False)
                        chunks.append(chunk)
                finally:
                    resp.close()
            except self._requests.Timeout:
                return timed_out
            except self._requests.RequestException as exc:
                if deadline.expired.is_set():
                    return timed_out
                return _HttpFault(f"cannot reach {self.config.endpoint}: {type(exc).__name__}", True)
            if deadline.expired.is_set():
                return timed_out
        if 300 <= resp.status_code < 400:
            where = resp.headers.get("Location", "")
            return _HttpFault(f"{self.config.endpoint} answered HTTP {resp.status_code}, a redirect"
                              f"{' to ' + where[:200] if where else ''}; redirects are not followed, so the key "
                              "and the prompt stay with the configured host: set AI_SERVICE_ENDPOINT to the final "
                              "URL", False)
        return resp.status_code, resp.headers, self._payload(b"".join(chunks))

    def _post_with_retries(self, system: str, turns: list[tuple[str, str]], schema: dict[str, Any],
                           req: DecisionRequest, deadline: float | None = None) -> str:
        if not self._slots.acquire(blocking=False):
            raise AIServiceError(f"{self.config.max_llm_calls} LLM calls are already in progress "
                                 "(AI_MAX_CONCURRENT_CALLS); retry in a moment", retryable=True, retry_after_s=1)
        try:
            return self._post_locked(system, turns, schema, req,
                                     deadline if deadline is not None else time.monotonic() + self.call_budget_s())
        finally:
            self._slots.release()

    def _post_locked(self, system: str, turns: list[tuple[str, str]], schema: dict[str, Any],
                     req: DecisionRequest, deadline: float) -> str:
        url, headers, body = self._request(system, turns, schema)
        fault = _HttpFault("no attempt made", True)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            started = time.monotonic()
            outcome = self._attempt(url, body, headers, min(self.config.timeout_s, deadline - started))
            if isinstance(outcome, _HttpFault):
                fault = outcome
                self._log_interaction(req, attempt, body, started, error=fault.message)
            else:
                status, resp_headers, payload = outcome
                if status == 200:
                    try:
                        text = self._answer(payload)
                    except AIServiceError as exc:
                        self._log_interaction(req, attempt, body, started, error=exc.message, response=payload)
                        raise
                    self._log_interaction(req, attempt, body, started, response=payload)
                    # Answers assembled from several parts can carry a key no single part held whole.
                    return self._redact(text)
                fault = self._fault(status, payload, resp_headers)
                if fault.delay is None and re.fullmatch(r"[0-9]{1,6}", resp_headers.get("Retry-After", "").strip()):
                    fault.delay = float(resp_headers["Retry-After"])
                self._log_interaction(req, attempt, body, started, error=fault.message, response=payload)
            if fault.retryable and fault.delay is not None and fault.delay > RETRY_DELAY_CAP_S:
                raise AIServiceError(self._redact(f"{self.provider}: {fault.message}; the provider asks to wait "
                                                  f"{fault.delay:g}s, retry after that"),
                                     retryable=True, retry_after_s=fault.delay)
            if not fault.retryable or attempt == MAX_ATTEMPTS:
                break
            wait = fault.delay if fault.delay is not None else BACKOFF_BASE_S * 2 ** (attempt - 1)
            wait += random.uniform(0, BACKOFF_BASE_S / 2)
            if time.monotonic() + wait + 0.05 >= deadline:
                break  # the call's budget is spent: answer now rather than overrun it
            log.warning("%s attempt %d failed (%s); retrying in %.2fs", self.provider, attempt,
                        self._redact(fault.message), wait)
            time.sleep(wait)
        raise AIServiceError(self._redact(f"{self.provider}: {fault.message}"), retryable=fault.retryable)

    def _log_interaction(self, req: DecisionRequest, attempt: int, body: Any, started: float,
                         response: Any = None, error: str | None = None) -> None:
        """One JSON line per attempt, failed and timed-out ones included, with the
        token counts the provider reported (prompt, cached, answer) and latency."""
        path = self.config.interactions_log
        if path is None:
            return
        record = {"time": utcnow(), "provider": self.provider, "model": self.config.model,
                  "instance_id": req.instance.instance_id, "kind": req.kind,
                  "step_name": req.instance.current_step_name, "attempt": attempt,
                  "latency_ms": round((time.monotonic() - started) * 1000, 1),
                  "usage": self.usage(response) if response is not None else {},
                  "request": body, "response": response, "error": error}
        line = self._redact(json.dumps(record, ensure_ascii=False, default=str))
        try:
            with self._log_lock:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
        except OSError as exc:
            log.warning("cannot write AI_INTERACTIONS_LOG %s: %s", path, exc)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _usage(**counts: Any) -> dict[str, int]:
    return {k: v for k, v in ((k, _count(v)) for k, v in counts.items()) if v is not None}


def _google_error(payload: Any) -> dict[str, Any]:
    """Google wraps errors as ``{"error": {...}}``, sometimes inside a one-element list."""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return payload["error"]
    return {"message": str(payload)[:300]} if payload else {}


def _seconds(text: Any) -> float | None:
    m = re.match(r"^\s*(\d+(?:\.\d+)?)s\s*$", str(text or ""))
    return float(m.group(1)) if m else None


class GeminiDecider(LLMDecider):
    """Gemini's REST ``generateContent`` with a JSON response schema."""

    provider = "gemini"

    def _request(self, system: str, turns: list[tuple[str, str]], schema: dict[str, Any]
                 ) -> tuple[str, dict[str, str], dict[str, Any]]:
        url = f"{self.config.endpoint}/models/{self.config.model}:generateContent"
        headers = {"x-goog-api-key": self.config.api_key or "", "Content-Type": "application/json"}
        body = {
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": role, "parts": [{"text": text}]} for role, text in turns],
            "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema,
                                 "temperature": 0, "maxOutputTokens": GEMINI_MAX_OUTPUT_TOKENS},
        }
        return url, headers, body

    def usage(self, payload: Any) -> dict[str, int]:
        meta = payload.get("usageMetadata") if isinstance(payload, dict) else None
        if not isinstance(meta, dict):
            return {}
        return _usage(prompt_tokens=meta.get("promptTokenCount"), cached_tokens=meta.get("cachedContentTokenCount"),
                      answer_tokens=meta.get("candidatesTokenCount"))

    def _answer(self, payload: Any) -> str:
        if not isinstance(payload, dict):
            raise AIServiceError("gemini: the response is not a JSON object", retryable=True)
        candidates = payload.get("candidates") or []
        if not candidates:
            reason = (payload.get("promptFeedback") or {}).get("blockReason")
            if reason:
                raise AIServiceError(f"gemini blocked the prompt ({reason}); rephrase the report and retry",
                                     retryable=False, provider_reason=reason)
            raise AIServiceError("gemini returned no candidates", retryable=True)
        cand = candidates[0]
        finish = cand.get("finishReason", "STOP")
        parts = (cand.get("content") or {}).get("parts") or []
        text = "".join(p.get("text", "") for p in parts if isinstance(p, dict) and not p.get("thought"))
        if finish not in ("STOP", "FINISH_REASON_UNSPECIFIED") or not text.strip():
            if finish == "MAX_TOKENS":
                raise AIServiceError("gemini stopped at its output token limit (MAX_TOKENS) before answering",
                                     retryable=True, provider_reason=finish)
            if finish in ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"):
                raise AIServiceError(f"gemini refused to answer (finishReason {finish}); rephrase the report",
                                     retryable=False, provider_reason=finish)
            raise AIServiceError(f"gemini gave no usable answer (finishReason {finish})", retryable=True,
                                 provider_reason=finish)
        return text

    def _fault(self, status: int, payload: Any, headers: Mapping[str, str]) -> _HttpFault:
        err = _google_error(payload)
        message = str(err.get("message") or f"HTTP {status}")[:500]
        details = err.get("details") if isinstance(err.get("details"), list) else []
        delay, per_day, reason = None, False, ""
        for d in details:
            if not isinstance(d, dict):
                continue
            kind = str(d.get("@type", ""))
            if kind.endswith("RetryInfo"):
                delay = _seconds(d.get("retryDelay"))
            elif kind.endswith("QuotaFailure"):
                for v in d.get("violations") or []:
                    if isinstance(v, dict) and "perday" in str(v.get("quotaId", "")).lower():
                        per_day = True
            elif kind.endswith("ErrorInfo"):
                reason = str(d.get("reason", ""))
        if status == 429 and per_day:
            return _HttpFault(f"daily quota exhausted (HTTP 429): {message}; wait for the quota to reset "
                              "or use another key/model", False)
        if status in RETRY_STATUSES:
            return _HttpFault(f"HTTP {status}: {message}", True, delay)
        if status == 400 and reason == "API_KEY_INVALID" or status in (401, 403):
            return _HttpFault(f"the API key was refused (HTTP {status}): {message}; "
                              "check GEMINI_API_KEY", False)
        if status == 404:
            return _HttpFault(f"model {self.config.model!r} not found (HTTP 404): {message}; "
                              "check GEMINI_MODEL_NAME", False)
        return _HttpFault(f"HTTP {status}: {message}", False)


class OpenAIDecider(LLMDecider):
    """Any OpenAI-compatible ``/chat/completions`` server (Ollama, llama.cpp,
    vLLM, LM Studio, Gemini's compatible endpoint) with a strict JSON schema."""

    provider = "openai"

    def _request(self, system: str, turns: list[tuple[str, str]], schema: dict[str, Any]
                 ) -> tuple[str, dict[str, str], dict[str, Any]]:
        url = f"{self.config.endpoint}/chat/completions"
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        messages = [{"role": "system", "content": system}]
        messages += [{"role": "assistant" if role == "model" else "user", "content": text} for role, text in turns]
        body = {"model": self.config.model, "messages": messages, "temperature": 0,
                "max_tokens": ANSWER_MAX_TOKENS, "response_format": {"type": "json_schema",
                                    "json_schema": {"name": "workflow_decision", "schema": schema, "strict": True}}}
        return url, headers, body

    def usage(self, payload: Any) -> dict[str, int]:
        """OpenAI's ``usage`` (with ``prompt_tokens_details.cached_tokens``); llama.cpp
        adds ``timings``, whose ``prompt_n`` counts the prompt tokens evaluated
        afresh, that is, not served from its KV cache."""
        if not isinstance(payload, dict):
            return {}
        use = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
        details = use.get("prompt_tokens_details") if isinstance(use.get("prompt_tokens_details"), dict) else {}
        timings = payload.get("timings") if isinstance(payload.get("timings"), dict) else {}
        return _usage(prompt_tokens=use.get("prompt_tokens"), cached_tokens=details.get("cached_tokens"),
                      answer_tokens=use.get("completion_tokens"), evaluated_tokens=timings.get("prompt_n"))

    def _answer(self, payload: Any) -> str:
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not choices:
            raise AIServiceError("openai: the response has no choices", retryable=True)
        choice = choices[0]
        finish = choice.get("finish_reason")
        message = choice.get("message") or {}
        if message.get("refusal"):
            raise AIServiceError(f"the model refused: {clip(str(message['refusal']), 200)}", retryable=False,
                                 provider_reason="refusal")
        if finish == "length":
            raise AIServiceError("the model stopped at its token limit (finish_reason length) before answering",
                                 retryable=True, provider_reason=finish)
        if finish == "content_filter":
            raise AIServiceError("the server's content filter blocked the answer; rephrase the report",
                                 retryable=False, provider_reason=finish)
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise AIServiceError("openai: the answer is empty", retryable=True)
        return content

    def _fault(self, status: int, payload: Any, headers: Mapping[str, str]) -> _HttpFault:
        err = payload.get("error") if isinstance(payload, dict) else None
        message = str((err.get("message") if isinstance(err, dict) else err) or payload or f"HTTP {status}")[:500]
        if status in RETRY_STATUSES:
            return _HttpFault(f"HTTP {status}: {message}", True)
        if status in (401, 403):
            return _HttpFault(f"the API key was refused (HTTP {status}): {message}; check AI_SERVICE_API_KEY", False)
        if status == 404:
            return _HttpFault(f"not found (HTTP 404): {message}; check AI_SERVICE_ENDPOINT and AI_MODEL_NAME", False)
        return _HttpFault(f"HTTP {status}: {message}", False)


def make_decider(config: Config) -> "StubDecider | AgentDecider | LLMDecider":
    if config.provider == "gemini":
        return GeminiDecider(config)
    if config.provider == "openai":
        return OpenAIDecider(config)
    if config.provider == "agent":
        return AgentDecider()
    return StubDecider()


# =============================================================================
# 6. Engine
#    How the next step is decided, over the library, the store and a decider:
#    start, advance, resume, status, list, cancel.  Results are dataclasses.
# =============================================================================


@dataclass
class NextStep:
    """What the client does next.  ``expected_statuses`` are the statuses the
    step's transitions route on (empty when it declares none, or the run has
    ended), so an agent can report one the author planned for."""
    step_name: str
    instructions: str
    expected_statuses: list[str] = field(default_factory=list)
    report_fields: list[ReportField] = field(default_factory=list)  # evidence the report must carry


@dataclass
class Progress:
    instance_id: str
    workflow_name: str
    status: str
    next_step: NextStep
    current_context: dict[str, Any]
    decided_by: str
    reasoning: str
    definition_changed: bool
    awaiting_approval: dict[str, Any] | None = None  # the run waits for a person: what, and how to approve
    routing_question: RoutingQuestion | None = None  # the agent decides: answer with report.choose_step


@dataclass
class HistoryItem:
    timestamp: str
    step_name: str
    outcome_status: str
    report: Any
    determined_next_step: str | None
    decided_by: str
    reasoning: str


@dataclass
class Status:
    instance_id: str
    workflow_name: str
    status: str
    current_step_name: str
    next_step: NextStep | None
    context: dict[str, Any]
    created_at: str
    updated_at: str
    completed_at: str | None
    history: list[HistoryItem]
    definition_changed: bool
    awaiting_approval: dict[str, Any] | None = None


@dataclass
class InstanceSummary:
    instance_id: str
    workflow_name: str
    status: str
    current_step_name: str
    updated_at: str
    awaiting_approval: bool = False  # SUSPENDED for a person's approval, not a pause


@dataclass
class WorkflowSummary:
    """What a client needs to choose a workflow; ``steps`` and ``errors`` only
    with ``detail`` (else omitted from the reply: see ``plain``)."""
    name: str
    title: str
    description: str
    step_count: int
    valid: bool
    steps: list[str] | None = None
    errors: list[str] | None = None

    OMIT_WHEN_NONE: ClassVar[tuple[str, ...]] = ("steps", "errors")


@dataclass
class WorkflowList:
    workflows: list[WorkflowSummary]


@dataclass
class InstanceList:
    instances: list[InstanceSummary]


@dataclass
class Validation:
    workflow_name: str
    valid: bool
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


ADVANCE_DECIDERS = ("transition", "stub", "llm", "agent")


def public_approval(pending: dict[str, Any] | None) -> dict[str, Any] | None:
    """A pending approval as clients see it: without its id, which only answers carry back."""
    return {k: v for k, v in pending.items() if k != "approval_id"} if pending else None


def evidence_line(fields: Sequence[ReportField]) -> str:
    """The one generated line that ends the instructions of a step with a ``# Report``."""
    return ("Include in your report (top-level keys): "
            + ", ".join(f"`{f.name}` ({f.type}{', required' if f.required else ''})" for f in fields) + ".")


def check_evidence(step: StepDef, report: Mapping[str, Any]) -> None:
    """Refuse a report that lacks a required ``# Report`` field or has one of the wrong type.

    ``null`` counts as absent.  Raised before anything is written, so nothing moves.
    """
    missing = [f.name for f in step.report_fields if f.required and report.get(f.name) is None]
    wrong = [{"name": f.name, "expected": f.type, "got": report_type_of(report[f.name])}
             for f in step.report_fields
             if report.get(f.name) is not None and not report_value_fits(f.type, report[f.name])]
    if not missing and not wrong:
        return
    parts = []
    if missing:
        parts.append(f"missing required field(s): {', '.join(missing)}")
    if wrong:
        parts.append("wrong type: " + ", ".join(f"{w['name']} must be {w['expected']}, got {w['got']}"
                                                for w in wrong))
    raise InvalidArgument(f"the report for step {step.name!r} lacks its evidence: {'; '.join(parts)}. Nothing "
                          "moved: send the report again with every required field as a top-level key of "
                          "report (next_step.report_fields lists them)",
                          missing_fields=missing, wrong_type=wrong,
                          report_fields=[dataclasses.asdict(f) for f in step.report_fields])

#: Longest one-line description ``list_workflows`` returns.
DESCRIPTION_LIMIT = 160


def one_line(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """The first paragraph of ``text`` on one line, cut at ``limit`` characters with an ellipsis."""
    first = " ".join(text.strip().split("\n\n", 1)[0].split())
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "…"


MAX_JSON_DEPTH = 64
#: ``json.dumps(value, ensure_ascii=False, allow_nan=False)``; one encoder, not one per call.
_ENCODE_PLAIN_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _json_depth(value: Any) -> int:
    """Nesting depth, computed without recursion so hostile input cannot blow the stack."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                break
            stack.extend((child, depth + 1) for child in item)
    return deepest


def is_unicode(text: str) -> bool:
    """False for text with a lone surrogate (undecodable bytes of a file name or of
    input, as Python keeps them), which neither SQLite nor a reply can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json(name: str, value: Any) -> dict[str, Any]:
    """Refuse what cannot be stored faithfully: non-objects, NaN, deep nesting, over 1 MiB."""
    return checked_json(name, value)[0]


def checked_json(name: str, value: Any) -> tuple[dict[str, Any], str | None]:
    """``check_json``, plus the JSON text it measured (None for ``{}``), which the store
    can write as it is rather than encode the value a second time."""
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{name} must be a JSON object, got {type(value).__name__}")
    if not value:  # {}: nothing to measure (the common context_updates)
        return value, None
    deep = InvalidArgument(f"{name} is nested deeper than {MAX_JSON_DEPTH} levels; flatten it")
    try:
        text = _ENCODE_PLAIN_JSON(value)
    except RecursionError:  # nested far deeper than the limit: the encoder gave up first
        raise deep from None
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"{name} is not plain JSON: {exc}") from None
    # Each level of nesting adds two characters, so only a text longer than twice the
    # limit can be too deep: the walk is skipped for the short reports of most calls.
    if len(text) > 2 * MAX_JSON_DEPTH and _json_depth(value) > MAX_JSON_DEPTH:
        raise deep
    try:
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate (see ``is_unicode``)
        raise InvalidArgument(f"{name} holds text that is not valid Unicode (a lone surrogate, as undecodable "
                              "bytes become); send UTF-8 text") from None
    if size > MAX_JSON_BYTES:
        raise InvalidArgument(f"{name} is {size} bytes of JSON; the limit is {MAX_JSON_BYTES} (1 MiB). "
                              "Store large data in files and pass their paths")
    return value, text


def merged_context(context: dict[str, Any], updates: dict[str, Any], who: str = "context_updates") -> dict[str, Any]:
    """``context`` with ``updates`` applied, refused when that would take the run's stored context
    over ``MAX_JSON_BYTES``: each call is capped, and without this a key added per call would
    grow the context (and every later reply, which carries it) without bound."""
    if not updates:
        return context
    merged = {**context, **updates}
    text = _ENCODE_JSON(merged)
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_JSON_BYTES:
        raise InvalidArgument(f"{who} would make the run's context {size} bytes of JSON; a run keeps at most "
                              f"{MAX_JSON_BYTES} (1 MiB). Store large data in files and keep their paths in the "
                              "context, or overwrite keys instead of adding new ones; nothing changed")
    return merged


def route_targets(wf: WorkflowDef, step: StepDef) -> set[str]:
    """Where the author lets ``step`` go: its ``# Transitions`` and evidence routes, and, for
    a step that declares no routes, the next step in index order (``FINISH`` after the last).

    Only what the author declared: a step the guidance merely names is a candidate for
    a decider, not a route ("never deploy before the review" names ``Deploy`` too), and
    ``gate_skipped`` judges such a choice like any other."""
    targets = set(step.transitions.values()) | {cond.target for cond in step.conditions}
    if not step.transitions and step in wf.steps:
        index = wf.steps.index(step)
        targets.add(wf.steps[index + 1].name if index < len(wf.steps) - 1 else FINISH)
    return {t for t in (wf.resolve_target(t) for t in targets) if t is not None}


def _no_walls(step: StepDef) -> bool:
    """Walls for ``_reach``: none, every route is followed."""
    return False


def _gates(step: StepDef) -> bool:
    """Walls for ``_reach``: a gated step is reached but not passed."""
    return bool(step.approval)


def _reach(wf: WorkflowDef, start: StepDef, walls: Callable[[StepDef], bool], *,
           forward: bool = False, approved: frozenset[tuple[str, str]] = frozenset()) -> set[str]:
    """Every step (and FINISH, FAILED) reachable from ``start`` along the author's routes;
    a step for which ``walls`` is true is reached but not passed.  ``forward`` leaves out a
    gated step's ``rejected:`` route (a rejection sends the run back, it passes nothing) and
    lets a gate reach every step after it in index order and every step a person let the run
    go to from it (``approved``): a person may approve a move a decider proposed, outside the
    gate's routes."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        step = pending.pop()
        targets = route_targets(wf, step)
        if forward and step.approval:
            if "rejected" in step.transitions:
                targets.discard(wf.resolve_target(step.transitions["rejected"]) or "")
            if step in wf.steps:  # approval may go where a decider proposed: any later step as well
                targets |= {later.name for later in wf.steps[wf.steps.index(step) + 1:]} | {FINISH}
            targets |= {to for gate, to in approved if gate == step.name}  # and where a person let it go
        for target in targets:
            if target not in seen:
                seen.add(target)
                found = wf.step(target)
                if found is not None and not walls(found):
                    pending.append(found)
    return seen


def gate_skipped(wf: WorkflowDef, origin: str, target: str,
                 positions: Callable[[], list[str]] = lambda: [],
                 approved: Callable[[], frozenset[tuple[str, str]]] = lambda: frozenset()) -> list[StepDef]:
    """The approval gates a move from ``origin`` to ``target`` would get past ([] for none).

    A gated step cannot be left without a person, so it must not be stepped over either:
    by a decider's choice outside the author's routes (an agent's or a model's ``FINISH``,
    a step past the gate), or by a resume that takes the client's word for where it is.
    A gated origin is itself the gate for any move off it.  Otherwise a move is free
    when ``target`` is ``FAILED``, reachable from the origin without passing a gate,
    reachable from the first step without passing one (a step before every gate), or
    a step the run has been at since it last stood in front of a gate toward it, and
    that lies nowhere ahead of the origin through a gate: going back, as in a rework
    loop.  Which way is back cannot be told from the routes alone (a route from after a
    gate back to before it makes every step both), so the run's history (``positions``,
    newest first, read only when needed) says it.  The gates skipped are those on
    every route from the origin to ``target`` (from the first step, when the origin has
    no route there): all of them, so a person approving the move sees each question."""
    gates = [step for step in wf.steps if step.approval]
    start = wf.step(origin)
    if not gates or target in (origin, FAILED) or start is None:
        return []
    if start.approval:
        return [start]
    if target in start.transitions.values() or any(cond.target == target for cond in start.conditions):
        return []  # a declared route (every advance the author's table decides): no walk needed
    first = wf.first_step
    if target in _reach(wf, start, _gates) or target == first.name or target in _reach(wf, first, _gates):
        return []
    if (target not in _reach(wf, start, _no_walls, forward=True, approved=approved())
            and _been_back(wf, target, positions(), approved())):
        return []
    source = start if target in _reach(wf, start, _no_walls) else first
    on_every_route = [gate for gate in gates if gate is not source and target != gate.name
                      and target not in _reach(wf, source, lambda step, gate=gate: step is gate)]
    if source is first and first.approval:
        on_every_route.insert(0, first)
    return on_every_route or [next((gate for gate in gates if target == gate.name
                                    or target in _reach(wf, gate, _no_walls)), gates[0])]


def _been_back(wf: WorkflowDef, target: str, positions: Sequence[str],
               approved: frozenset[tuple[str, str]] = frozenset()) -> bool:
    """Was the run at ``target`` more recently than at any step in front of a gate toward it?
    A visit from an earlier pass, before the run went back in front of the gate, does not count."""
    in_front: dict[str, bool] = {}
    for position in positions:
        if position == target:
            return True
        if position not in in_front:
            at = wf.step(position)
            in_front[position] = at is not None and (
                at.approval or (target in _reach(wf, at, _no_walls, forward=True, approved=approved)
                                and target not in _reach(wf, at, _gates)))
        if in_front[position]:
            return False
    return False


def _read_once(read: Callable[[], Any]) -> Callable[[], Any]:
    """``read``, called at most once and only when first asked: the gate rule's history reads
    cost a query that most moves (declared routes, workflows without gates) never need."""
    found: list[Any] = []

    def once() -> Any:
        if not found:
            found.append(read())
        return found[0]
    return once


class Engine:
    """The workflow rules.  Thread-safe: all shared state lives in the store."""

    def __init__(self, library: Library, store: Store,
                 decider: "StubDecider | AgentDecider | LLMDecider",
                 command: Callable[..., str] | None = None) -> None:
        self.library = library
        self.store = store
        self.decider = decider
        #: Builds the ``orchestrator-mcp ...`` commands a person is told to run (``Config.command``:
        #: with the flags that find this server's runs).
        self.command: Callable[..., str] = command or (lambda *words: " ".join(("orchestrator-mcp", *words)))
        #: The last lean workflow list and the definitions it was built from:
        #: while the library returns the very same definitions, so is the list.
        self._lean: tuple[list[WorkflowDef], WorkflowList] | None = None

    # -- reading -------------------------------------------------------------

    def list_workflows(self, detail: bool = False) -> WorkflowList:
        """Every workflow, lean by default: name, title, one-line description,
        step count, validity.  ``detail`` adds the step names and the errors."""
        workflows = self.library.all()
        last = self._lean
        if not detail and last is not None and len(last[0]) == len(workflows) and all(
                a is b for a, b in zip(last[0], workflows)):
            return last[1]
        found = WorkflowList([WorkflowSummary(wf.name, wf.title, one_line(wf.goal), len(wf.steps), wf.valid,
                                              [s.name for s in wf.steps] if detail else None,
                                              [str(p) for p in wf.errors] if detail else None)
                              for wf in workflows])
        if not detail:
            self._lean = (workflows, found)
        return found

    def validate(self, workflow_name: str) -> Validation:
        wf = self.library.load(workflow_name)
        return Validation(wf.name, wf.valid, [dataclasses.asdict(p) for p in wf.errors],
                          [dataclasses.asdict(p) for p in wf.warnings])

    def status(self, instance_id: str, history_limit: int = 10) -> Status:
        instance_id = self._instance_id(instance_id)
        if not isinstance(history_limit, int) or not 0 <= history_limit <= 1000:
            raise InvalidArgument("history_limit must be a whole number from 0 to 1000")
        inst, history = self.store.with_history(instance_id, history_limit)
        next_step, changed = None, False
        try:
            wf = self.library.load(inst.workflow_name)
            changed = bool(inst.definition_hash) and wf.hash != inst.definition_hash
            next_step = self._next_step(wf, inst, "")
        except (DefinitionNotFound, InvalidArgument):
            pass
        return Status(inst.instance_id, inst.workflow_name, inst.status, inst.current_step_name, next_step,
                      inst.context, inst.created_at, inst.updated_at, inst.completed_at,
                      [HistoryItem(h.timestamp, h.step_name, h.outcome_status, h.user_report,
                                   h.determined_next_step, h.decided_by, h.reasoning) for h in history], changed,
                      public_approval(inst.awaiting_approval))

    def list_instances(self, status: str | None = None, workflow_name: str | None = None,
                       limit: int = 20) -> InstanceList:
        if status is not None and status.upper() not in INSTANCE_STATUSES:
            raise InvalidArgument(f"status must be one of {', '.join(INSTANCE_STATUSES)}")
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidArgument("limit must be a whole number from 1 to 1000")
        if workflow_name is not None and (not isinstance(workflow_name, str) or not is_unicode(workflow_name)):
            raise InvalidArgument("workflow_name must be a workflow's name as list_workflows shows it")
        return InstanceList(self.store.list(status.upper() if status else None, workflow_name or None, limit))

    # -- moving --------------------------------------------------------------

    def start(self, workflow_name: str, context: dict[str, Any] | None = None) -> Progress:
        """Create a run at the first step of index.md; no decider is asked."""
        context = check_json("context", context)
        wf = self.library.load_valid(workflow_name)
        now, first = utcnow(), wf.first_step
        inst = Instance(uuid.uuid4().hex, wf.name, first.name, RUNNING, dict(context), 0, wf.hash, now, now)
        reasoning = "the first step of index.md"
        self.store.create(inst, HistoryEntry(inst.instance_id, now, first.name, None, "STARTED",
                                             first.name, "start", reasoning))
        log.info("started %s instance %s", wf.name, inst.instance_id)
        return self._progress(wf, inst, "start", reasoning, False)

    def advance(self, instance_id: str, report: dict[str, Any],
                context_updates: dict[str, Any] | None = None, *, replayable: bool = True) -> Progress:
        """Apply a report to the current step and move on.

        In this order: the instance must be RUNNING; ``report.step_id``, when
        given, must name the current step; context updates are merged; a
        ``# Transitions`` match decides, else the decider; the decision is then
        stored in one versioned transaction.

        A retried report is replayed before the RUNNING check, so a client whose
        reply was lost after the final step still gets its FINISH answer.  A caller
        that cannot lose a reply (``run``, in-process) passes ``replayable=False``:
        its second identical report on a step that loops to itself is a new turn.
        """
        instance_id = self._instance_id(instance_id)
        report, report_json = self._checked_report(report, required=True)
        updates = check_json("context_updates", context_updates)
        known = self.store.claim(instance_id, with_last=replayable and report.get("step_id") is not None)
        if known is not None:
            moved = self._advance_written(*known, report, updates, report_json, replayable)
            if moved is not None:
                return moved
        inst = self.store.get(instance_id)
        replay = self._replay(inst, report, updates) if replayable else None
        if replay is not None:
            return replay
        if inst.status != RUNNING:
            raise self._not_running(inst)
        wf = self.library.load_valid(inst.workflow_name)
        step = wf.step(inst.current_step_name)
        if step is None:
            raise StepMismatch(
                f"the current step {inst.current_step_name!r} no longer exists in the edited workflow "
                f"{wf.name!r}; call resume_workflow with assumed_current_step_name set to one of: "
                f"{', '.join(s.name for s in wf.steps)}", current_step_name=inst.current_step_name)
        step_id = report.get("step_id")
        if step_id is not None and (not isinstance(step_id, str) or wf.step(step_id) is not step):
            raise StepMismatch(
                f"the report is for step {str(step_id)[:100]!r} but the instance is at {step.name!r}; do the "
                f"current step's instructions (get_workflow_status shows them), or call resume_workflow if "
                "you are continuing from another conversation", current_step_name=step.name)
        check_evidence(step, report)
        working = inst.but(context=merged_context(inst.context, updates))
        decision = decide_by_transition(step, report)
        if decision is None:
            try:
                decision = self._ask(DecisionRequest("advance", wf, working, self._recent(instance_id), report),
                                     inst, step.name, report)
            except AskAgent as ask:
                return self._question(wf, inst, ask.question)
        return self._apply(wf, inst, working, decision, step.name, report, str(report.get("status", "")),
                           updates, report_json=report_json)

    def _advance_written(self, inst: Instance, last: HistoryEntry | None, report: dict[str, Any],
                         updates: dict[str, Any], report_json: str | None,
                         replayable: bool = True) -> Progress | None:
        """The common advance without reading the instance first: from the state this
        process last wrote, when the step's ``# Transitions`` decide.

        The write proves that state current: it requires the stored ``version``,
        timestamp, step and status to be the ones this process wrote (another writer
        would have bumped the version and stamped its own time; a restored copy at the
        same version carries another write's time), so a result from here is exactly
        what a fresh read would give.  Anything else returns None before writing, and ``advance``
        takes its usual path from a fresh read: a stale state (the write's version
        check fails), a run that is not plainly RUNNING, a retried report (a replay
        writes nothing, so nothing would prove it), a decider that is not ``pure``
        (an LLM, the agent) or an error to report.
        """
        step_id = report.get("step_id")
        if inst.status != RUNNING or inst.awaiting_approval or (replayable and step_id is not None and (
                last is None or not isinstance(step_id, str) or self._same_call(inst, last, report, updates))):
            return None
        try:
            wf = self.library.load_valid(inst.workflow_name)
        except OrchestratorError:
            return None
        step = wf.step(inst.current_step_name)
        if step is None or (step_id is not None and wf.step(step_id) is not step):
            return None
        try:
            check_evidence(step, report)
        except InvalidArgument:
            return None
        working = inst.but(context=merged_context(inst.context, updates))
        decision = decide_by_transition(step, report)
        if decision is None and getattr(self.decider, "pure", False):
            try:
                decision = self.decider.decide(DecisionRequest("advance", wf, working, [], report))
            except OrchestratorError:
                return None
        if decision is None or wf.resolve_target(decision.next_step) is None:
            return None
        try:
            return self._apply(wf, inst, working, decision, step.name,
                               report, str(report.get("status", "")), updates, recheck=False,
                               report_json=report_json)
        except Conflict:  # the state was stale: read it afresh
            return None

    def resume(self, instance_id: str, assumed_current_step_name: str, report: dict[str, Any] | None = None,
               context_updates: dict[str, Any] | None = None) -> Progress:
        """Pick a run up again, typically in a new conversation.

        When the client assumes the stored step, its report's status is routed by
        the step's transitions (no status: the step is re-issued); otherwise the
        decider reconciles the client's idea of where it is with the stored step
        and history.  A resumed run is RUNNING unless the decision ends it.
        """
        instance_id = self._instance_id(instance_id)
        if not isinstance(assumed_current_step_name, str) or len(assumed_current_step_name) > 200:
            raise InvalidArgument("assumed_current_step_name must be a step name (text up to 200 characters)")
        report = self._report(report or {}, required=False)
        updates = check_json("context_updates", context_updates)
        inst = self.store.get(instance_id)
        if inst.status not in (RUNNING, SUSPENDED, FAILED_STATUS) or inst.awaiting_approval:
            raise self._not_running(inst)
        wf = self.library.load_valid(inst.workflow_name)
        where = origin = inst.current_step_name
        origin_known = True  # False when no step the run worked at is left to judge from
        if wf.step(where) is None:
            # FAILED/FINISH pseudo-steps, or a step the edited definition dropped:
            # trust the client's step, else the last one that ran, else the first.
            # Where the run goes is still judged from the last step that ran (the
            # origin): the client's word never takes a run past an approval gate.
            # A FAILED run is judged from where it stood when it failed: the position before
            # the failing entry (every entry's determined_next_step is where the run really went;
            # a resume's own step name is only the client's claim).  A step an edit dropped
            # leaves nothing to judge from but the first step.
            before = self.store.last_position(instance_id, FAILED) if inst.current_step_name == FAILED else None
            worked = before if before and wf.step(before) else None  # failed again after a resume: past them all
            origin_known = worked is not None
            ran = worked or wf.first_step.name
            candidates = (assumed_current_step_name, ran)
            where = next(wf.step(c).name for c in candidates if c and wf.step(c))  # type: ignore[union-attr]
            origin = wf.step(ran).name  # type: ignore[union-attr]
        working = dataclasses.replace(inst, context=merged_context(inst.context, updates), current_step_name=where)
        record = {"assumed_current_step_name": assumed_current_step_name, "report": report}
        decision: Decision | None = None
        stored = wf.step(where)
        positions = self._positions(instance_id)
        if where != origin and gate_skipped(wf, origin, where, positions, self._approved(instance_id)):
            # The client claims a step past a gate from where the run really was: a report on
            # that step proves nothing yet.  Getting there is the move, and a person answers it.
            decision = Decision(where, "resume", f"the client says it is at '{where}', beyond an approval gate "
                                                 f"from '{origin}', where the run last was")
        elif stored is not None and wf.step(assumed_current_step_name) is stored:
            # The client is where the run is, so nothing needs reconciling: a status the
            # step routes on says it was done (the author's table answers, as in an
            # advance), and no status says it was not done yet.
            if isinstance(report.get("status"), str) and report["status"].strip():
                check_evidence(stored, report)  # a status says the step was done: its evidence, as in an advance
                decision = decide_by_transition(stored, report)
            else:
                decision = Decision(stored.name, "resume", f"the client is at the stored step '{stored.name}' and "
                                                           "reports no status: do it now")
        if decision is None:
            try:
                decision = self._ask(DecisionRequest("resume", wf, working, self._recent(instance_id), report,
                                                     assumed_current_step_name), inst, where, record)
            except AskAgent as ask:
                return self._question(wf, working, ask.question)
        if decision.next_step == SUSPEND:  # a resume is a request to go on, never to wait again
            decision = dataclasses.replace(decision, next_step=where)
        target = wf.resolve_target(decision.next_step)
        done = wf.step(origin) if origin_known else None  # the step the run really was at
        ahead = _reach(wf, done, _no_walls) if done is not None else set()
        came_from = (next((p for p in positions()[1:] if p not in (origin, FAILED)), None)
                     if done is not None else None)
        back = came_from if came_from not in ahead else None  # a step behind, not one ahead as well
        if done is not None and done.report_fields and target not in (None, done.name, FAILED, back):
            # Leaving the step the run was at, for anything but the step it came from, says it was
            # done (a step with no route from it, then FINISH, is a way around as well): its
            # evidence, as an advance needs it, and the evidence's own routes, as an advance takes
            # them.  Going back to the step the run came from says it was not done: nothing to show.
            evidence = {k: v for k, v in report.items() if k != "choose_step"}
            check_evidence(done, evidence)
            routed = next((cond for cond in done.conditions if cond.holds(evidence)), None)
            if routed is not None and wf.resolve_target(routed.target) != target:
                raise InvalidArgument(f"the report's evidence sends step '{done.name}' to {routed.target} "
                                      f"('{routed.describe()}'), not to '{target}'; nothing moved: report on "
                                      f"'{done.name}' with advance_workflow", expected_next_step=routed.target)
        return self._apply(wf, inst, working, decision, where, record, "RESUMING", origin=origin)

    def _approved(self, instance_id: str) -> Callable[[], frozenset[tuple[str, str]]]:
        """The moves people approved in this run, read at most once and only if asked."""
        return _read_once(lambda: frozenset(self.store.approved_moves(instance_id)))

    def _positions(self, instance_id: str) -> Callable[[], list[str]]:
        """Where the run has been, newest first, read at most once and only if asked."""
        return _read_once(lambda: self.store.positions(instance_id))

    def cancel(self, instance_id: str, reason: str | None = None) -> Status:
        """End a run for good; cancelled runs cannot be resumed."""
        instance_id = self._instance_id(instance_id)
        if reason is not None and (not isinstance(reason, str) or len(reason) > 10_000 or not is_unicode(reason)):
            raise InvalidArgument("reason must be valid Unicode text up to 10,000 characters")
        inst = self.store.get(instance_id)
        if inst.status in (COMPLETED, CANCELLED):
            raise self._not_running(inst)
        now = utcnow()
        after = dataclasses.replace(inst, status=CANCELLED, updated_at=now, completed_at=now, awaiting_approval=None)
        self.store.update(inst, after, HistoryEntry(instance_id, now, inst.current_step_name,
                                                    {"reason": reason} if reason else None, "CANCELLED",
                                                    inst.current_step_name, "client", reason or "cancelled"))
        return self.status(instance_id)

    def approve(self, instance_id: str, approved: bool, comment: str | None = None, by: str = "unknown",
                approval_id: str | None = None) -> Progress:
        """A person's answer to a pending approval; never reachable from an agent's tool.

        Approval moves the run to the step decided when the agent reported; a
        rejection takes the step's ``rejected`` transition, else returns to the
        gated step so the agent can redo it.  Who answered and the comment go
        into history.  ``approval_id``, when given, must name the pending request,
        so a stale answer (say, an elicitation reply after a CLI approval) is refused.
        """
        instance_id = self._instance_id(instance_id)
        if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS
                                    or not is_unicode(comment)):
            raise InvalidArgument("comment must be valid Unicode text up to 10,000 characters")
        inst = self.store.get(instance_id)
        pending = inst.awaiting_approval
        if not pending:
            raise InvalidArgument(f"instance {instance_id} is not waiting for an approval (it is {inst.status} at "
                                  f"step {inst.current_step_name!r}); nothing to approve",
                                  status=inst.status, current_step_name=inst.current_step_name)
        if approval_id is not None and approval_id != pending.get("approval_id"):
            raise InvalidArgument("this answer is for an approval request that is no longer pending; "
                                  "get_workflow_status shows the current one")
        wf = self.library.load_valid(inst.workflow_name)
        at = pending["step_name"]
        gated = wf.step(at)
        if approved:
            target = wf.resolve_target(pending["proposed_next_step"])
            if target is None:  # the definition was edited while the run waited
                raise StepMismatch(
                    f"the proposed step {pending['proposed_next_step']!r} is no longer in workflow {wf.name!r}; "
                    "nothing was approved: reject instead, so the agent reports on the step again",
                    status=inst.status, current_step_name=inst.current_step_name)
        elif pending.get("past_gate") or gated is None:
            # A held jump, rejected: the run stays where it was.  A gated step the edited
            # definition dropped: the run keeps its name, so an advance answers STEP_MISMATCH
            # and a resume reconciles it, as for any step an edit removed.
            target = (gated.name if gated else at)
        else:
            target = wf.resolve_target(gated.transitions.get("rejected") or gated.name) or gated.name
        now = utcnow()
        status = {FINISH: COMPLETED, FAILED: FAILED_STATUS, SUSPEND: SUSPENDED}.get(target, RUNNING)
        if target == SUSPEND:  # `rejected: SUSPEND`: the run waits at the gated step, as SUSPEND means everywhere
            target = at
        after = dataclasses.replace(inst, current_step_name=target, status=status, awaiting_approval=None,
                                    updated_at=now, definition_hash=wf.hash,
                                    completed_at=now if status in (COMPLETED, FAILED_STATUS) else None)
        verdict = "approved" if approved else "rejected"
        reasoning = f"{verdict} by {by}" + (f": {comment}" if comment else "")
        if not approved:
            reasoning += (f"; suspended at '{target}'" if status == SUSPENDED else f"; back to '{target}'"
                          if target == at else f"; rejected goes to '{target}'")
        record = {"approval": verdict, "by": by, "comment": comment, "approval_id": pending.get("approval_id"),
                  "what": pending.get("approval")}
        if pending.get("past_gate"):  # the gate this approval let the run past, from a step before it
            record["past_gate"] = pending["past_gate"]
        try:
            after = self.store.update(inst, after, HistoryEntry(instance_id, now, pending["step_name"], record,
                                                                verdict.upper(), target, "approval", reasoning))
        except Conflict:  # worded for the person answering (the store's message is for an agent)
            raise Conflict(f"someone else answered this approval, or the run moved, while you answered; nothing "
                           f"was recorded: see `{self.command('status', instance_id)}`, and answer again if it "
                           "still waits", retryable=True) from None
        log.info("%s %s: %s by %s -> %s", wf.name, instance_id, verdict, by, target)
        return self._progress(wf, after, "approval", reasoning, False)

    def waiting(self, instance_id: str, reasoning: str = "waiting for a person to approve") -> Progress:
        """The run as it stands: while it waits for an approval (the user dismissed the
        question), or after someone else answered it."""
        inst = self.store.get(instance_id)
        wf = self.library.load_valid(inst.workflow_name)
        return self._progress(wf, inst, (inst.awaiting_approval or {}).get("decided_by", "approval"),
                              reasoning, False)

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def _instance_id(value: Any) -> str:
        # is_unicode: undecodable bytes (a mistyped id on the command line) can be neither
        # looked up nor stored, so they are the caller's mistake, not the database's.
        if not isinstance(value, str) or not value.strip() or len(value) > 200 or not is_unicode(value):
            raise InvalidArgument("instance_id must be the id start_workflow returned (text up to 200 characters)")
        return value.strip()

    @classmethod
    def _report(cls, report: Any, *, required: bool) -> dict[str, Any]:
        return cls._checked_report(report, required=required)[0]

    @staticmethod
    def _checked_report(report: Any, *, required: bool) -> tuple[dict[str, Any], str | None]:
        """The report, checked, and its JSON text (``checked_json``)."""
        report, text = checked_json("report", report)
        status = report.get("status")
        if required and (not isinstance(status, str) or not status.strip()):
            raise InvalidArgument("report.status is required: a short word such as 'success' or 'failure' "
                                  "(the current step's instructions list the statuses it expects)")
        if status is not None and (not isinstance(status, str) or len(status) > 200):
            raise InvalidArgument("report.status must be text up to 200 characters")
        return report, text

    def _recent(self, instance_id: str) -> list[HistoryEntry]:
        """The history a decider reads, fetched only for deciders that read it."""
        if not getattr(self.decider, "reads_history", True):
            return []
        return self.store.history(instance_id, PROMPT_HISTORY_ROWS)

    def _not_running(self, inst: Instance) -> InstanceNotRunning:
        if inst.awaiting_approval:
            return InstanceNotRunning(
                f"instance {inst.instance_id} waits for a person to approve leaving step "
                f"{inst.current_step_name!r} ({clip(inst.awaiting_approval.get('approval', ''), 200)}). You cannot "
                f"approve it: ask the user to run `{self.command('approve', inst.instance_id)}` (or add --reject "
                f"--comment '...') or to use the run's page in `{self.command('ui')}`; then call get_workflow_status "
                "for the next step", status=inst.status,
                current_step_name=inst.current_step_name, awaiting_approval=public_approval(inst.awaiting_approval))
        hint = {SUSPENDED: "call resume_workflow to continue it",
                FAILED_STATUS: "call resume_workflow to retry it, or start_workflow for a fresh run",
                COMPLETED: "it is finished; call start_workflow for a new run",
                CANCELLED: "it was cancelled; call start_workflow for a new run"}.get(inst.status, "")
        return InstanceNotRunning(f"instance {inst.instance_id} is {inst.status}, not RUNNING; {hint}",
                                  status=inst.status, current_step_name=inst.current_step_name)

    def _ask(self, req: DecisionRequest, inst: Instance, step_name: str, report: Any) -> Decision:
        """Ask the provider; on failure record the attempt and leave the instance as it was."""
        try:
            return self.decider.decide(req)
        except AIServiceError as exc:
            self.store.append(HistoryEntry(inst.instance_id, utcnow(), step_name, report,
                                           str(report.get("status", "")) if req.kind == "advance" else "RESUMING",
                                           None, "error", f"AI_SERVICE_ERROR: {exc.message}"))
            exc.extra.setdefault("current_step_name", inst.current_step_name)
            exc.message += "; nothing changed: the instance is still at its step, retry the same call"
            raise

    def _apply(self, wf: WorkflowDef, inst: Instance, working: Instance, decision: Decision,
               step_name: str, report: Any, outcome: str, updates: dict[str, Any] | None = None,
               recheck: bool = True, report_json: str | None = None, origin: str | None = None) -> Progress:
        """Store a decision on ``step_name``, unless a person must approve it first: leaving a
        gated step, or a move from ``origin`` (the step the run really was at: a resume of a
        FAILED run names the last step that ran) that would get past a gate."""
        target = wf.resolve_target(decision.next_step)
        if target is None:  # deciders validate; this guards a misbehaving one
            raise AIServiceError(f"the decider chose unknown step {decision.next_step!r}", retryable=True)
        now = utcnow()
        status = {FINISH: COMPLETED, FAILED: FAILED_STATUS, SUSPEND: SUSPENDED}.get(target, RUNNING)
        if target == SUSPEND:  # the run waits at the step it is on
            target = step_name
        reasoning = decision.reasoning
        warnings = list(decision.warnings)
        if decision.updated_context:
            try:
                merged_context(working.context, decision.updated_context, "the decider's context updates")
            except InvalidArgument as exc:  # the decision stands; the updates go, as malformed ones do
                decision = dataclasses.replace(decision, updated_context={})
                warnings.append(f"context updates ignored: {exc.message}")
        if warnings:
            reasoning += "".join(f" [warning: {w}]" for w in warnings)
        # A gated step is left only with a person's approval, and never stepped over: the run
        # stays where it is, SUSPENDED, with the decision kept until someone approves or rejects it.
        leaving = wf.step(step_name)
        hold: tuple[str, str, str | None] | None = None  # (where the run waits, what to approve, gate passed)
        if leaving is not None and leaving.approval and target != leaving.name:
            hold = (leaving.name, leaving.approval, None)
        else:
            at = origin or step_name
            skipped = gate_skipped(wf, at, target, self._positions(inst.instance_id),
                                   self._approved(inst.instance_id))
            if skipped and skipped[0].name == at:  # a resume off the gate the run really is at
                hold = (at, skipped[0].approval, None)
            elif skipped:
                hold = (at, f"Going from '{at}' to '{target}' gets past "
                            + "; and past ".join(f"'{gate.name}', which needs a person's approval: {gate.approval}"
                                                 for gate in skipped), skipped[0].name)
        if hold is not None:
            at, what, past = hold
            awaiting = {"approval_id": uuid.uuid4().hex[:16], "step_name": at, "approval": what,
                        "proposed_next_step": target, "decided_by": decision.decided_by, "requested_at": now,
                        "how_to_approve": self.command("approve", inst.instance_id)}
            if past is not None:
                awaiting["past_gate"] = past  # a rejection then stays at ``at``
            after = working.but(
                current_step_name=at, status=SUSPENDED, awaiting_approval=awaiting,
                context={**working.context, **decision.updated_context}, definition_hash=wf.hash,
                updated_at=now, completed_at=None)
            reasoning += (f" [waiting for a person to approve leaving '{at}' for '{target}']" if past is None else
                          f" [waiting for a person to approve going from '{at}' to '{target}' past '{past}']")
            entry = HistoryEntry(inst.instance_id, now, step_name, report, outcome, at,
                                 decision.decided_by, reasoning, context_updates=updates or None,
                                 report_json=report_json)
        else:
            after = working.but(
                current_step_name=target, status=status,
                context={**working.context, **decision.updated_context}, definition_hash=wf.hash,
                updated_at=now, completed_at=now if status in (COMPLETED, FAILED_STATUS) else None,
                awaiting_approval=None)
            entry = HistoryEntry(inst.instance_id, now, step_name, report, outcome, target,
                                 decision.decided_by, reasoning, context_updates=updates or None,
                                 report_json=report_json)
        try:
            after = self.store.update(inst, after, entry, exact=not recheck)
        except Conflict:
            if not recheck:
                raise
            again = self.store.get(inst.instance_id)
            replay = (self._replay(again, report, updates or {})
                      if isinstance(report, dict) and "step_id" in report else None)
            if replay is not None:
                return replay
            raise
        log.info("%s %s: %s -> %s (%s)", wf.name, inst.instance_id, step_name, after.current_step_name,
                 decision.decided_by)
        return self._progress(wf, after, decision.decided_by, reasoning,
                              bool(inst.definition_hash) and inst.definition_hash != wf.hash)

    def _replay(self, inst: Instance, report: dict[str, Any], updates: dict[str, Any]) -> Progress | None:
        """The same call for the same step again (a retry after a lost reply)?

        Everything the call carries must match, the context updates included: a
        call that differs in any part is a new advance, applied normally.
        """
        if not isinstance(report.get("step_id"), str):
            return None
        last = self.store.last_accepted(inst.instance_id)
        if last is None or not self._same_call(inst, last, report, updates):
            return None
        try:
            wf = self.library.load(inst.workflow_name)
        except OrchestratorError:
            return None
        return self._progress(wf, inst, "replay", last.reasoning, False)

    @staticmethod
    def _same_call(inst: Instance, last: HistoryEntry, report: dict[str, Any], updates: dict[str, Any]) -> bool:
        """Is this report (with its ``step_id``) the call that made ``last``, the entry that moved ``inst``?"""
        return (last.decided_by in ADVANCE_DECIDERS and last.user_report == report
                and (last.context_updates or {}) == updates
                and normalize_name(last.step_name) == normalize_name(report["step_id"])
                and last.determined_next_step == inst.current_step_name)

    def _progress(self, wf: WorkflowDef, inst: Instance, decided_by: str, reasoning: str,
                  changed: bool) -> Progress:
        return Progress(inst.instance_id, inst.workflow_name, inst.status,
                        self._next_step(wf, inst, reasoning),
                        inst.context, decided_by, reasoning, changed, public_approval(inst.awaiting_approval))

    def _question(self, wf: WorkflowDef, inst: Instance, question: RoutingQuestion) -> Progress:
        """The routing question as the call's result; nothing is stored until the agent answers."""
        step = wf.step(question.step_name)
        return Progress(inst.instance_id, inst.workflow_name, inst.status,
                        NextStep(question.step_name, question.render(),
                                 expected_statuses=expected_statuses(step) if step else [],
                                 report_fields=list(step.report_fields) if step else []),
                        inst.context, "question", "no declared transition matched: the agent decides",
                        bool(inst.definition_hash) and inst.definition_hash != wf.hash, None, question)

    def _next_step(self, wf: WorkflowDef, inst: Instance, reasoning: str) -> NextStep:
        step_name, status = inst.current_step_name, inst.status
        if step_name == FINISH or status == COMPLETED:
            return NextStep(FINISH, f"Workflow '{wf.title or wf.name}' is complete. Tell the user what was "
                                    "done, briefly; there are no more steps.")
        if step_name == FAILED or status == FAILED_STATUS:
            return NextStep(FAILED, f"Workflow '{wf.title or wf.name}' ended as FAILED"
                                    f"{': ' + reasoning if reasoning else ''}. Tell the user what went wrong; "
                                    "resume_workflow can retry it later.")
        if status == CANCELLED:
            return NextStep(step_name, "This workflow instance was cancelled; there is nothing more to do.")
        step = wf.step(step_name)
        if step is None:
            return NextStep(step_name, f"Step {step_name!r} is no longer in the workflow definition; "
                                       "call resume_workflow to pick up from the current definition.")
        text = step.instructions
        statuses = expected_statuses(step)
        if statuses:
            other = " (any other status takes the default route)" if "default" in step.transitions else ""
            text += f"\n\nReport status: one of {', '.join(f'`{s}`' for s in statuses)}{other}."
        if step.report_fields:  # the evidence line is the last line of the instructions
            text += "\n\n" + evidence_line(step.report_fields)
        pending = inst.awaiting_approval
        if status == SUSPENDED and pending:
            text = (f"WAITING FOR APPROVAL. A person must approve leaving step '{step.name}' before the run goes "
                    f"on to '{pending.get('proposed_next_step')}'. What they approve:\n\n{pending.get('approval')}"
                    f"\n\nYou cannot approve it yourself. Ask the user to run `{self.command('approve', inst.instance_id)}`"
                    f" (or `--reject --comment '...'`), or to use the run's page in `{self.command('ui')}`; then call "
                    "get_workflow_status, which shows the next step.")
        elif status == SUSPENDED:
            text = ("This workflow is SUSPENDED: it waits for something outside it. When that is done, call "
                    "resume_workflow. The step to do then:\n\n" + text)
        return NextStep(step.name, text, expected_statuses=statuses, report_fields=list(step.report_fields))


# =============================================================================
# 7. MCP surface
#    The engine as MCP tools, resources and prompts on the SDK's MCPServer.
#    ``mcp`` and ``pydantic`` are imported only inside this section's functions,
#    when a server is built or a tool runs.
# =============================================================================

SERVER_INSTRUCTIONS = (
    "This server holds step-by-step workflows: call start_workflow (list_workflows shows them), do exactly what "
    "next_step.instructions say, then call advance_workflow with an honest report, and repeat until the next "
    "step is FINISH. In a new conversation, find the run with list_instances and continue it with "
    "resume_workflow instead of starting over. "
    "When a result carries routing_question, choose one of its candidates and call the same tool again with "
    "the same report plus report.choose_step; when it carries awaiting_approval, stop and ask the user to "
    "approve as it says, since no tool can approve for them."
)

AUTHORING_GUIDE = """\
# Writing an orchestrator-mcp workflow

A workflow is a folder under a workflow root (`WORKFLOW_DEFINITIONS_DIR`, default: the bundled `workflows/`):

```
workflows/
└── MY_WORKFLOW/          # name: letters, digits, '_' and '-'
    ├── index.md          # title, goal, ordered step list
    └── steps/
        ├── first.md
        └── second.md
```

Folders starting with `.` or `_` are not workflows: keep shared snippets in `_shared/`.

Every file a workflow uses must resolve inside the workflow root: a folder, `index.md`, step or include
that is a link pointing elsewhere is an error, and nothing is read from it. A definition file may be at
most 1 MiB (a whole workflow, includes expanded, 4 MiB), UTF-8 (a byte-order mark is ignored), and a
folder holds at most 5,000 files, 16 levels deep.

## index.md

- The first `# Heading` is the title.
- `## Overall Goal` (or the prose under the title) is the goal the decider keeps in mind.
- The step list is the first Markdown list of links; a list under a `## Steps` heading wins.
  The link text is the step's name, and the first step is where every run starts.
- Step names are unique ignoring case, spaces and underscores; `FINISH`, `FAILED` and `SUSPEND` are
  reserved.

## Step files

Each step file has H1 sections (a `#` heading outside code fences; `##` and deeper stay inside):

| section | required | read by |
|---|---|---|
| `# Orchestrator Guidance` | yes | the decider: how to pick the next step from the report |
| `# Client Instructions` | yes | the agent: returned verbatim as `next_step.instructions` |
| `# Goal` | no | the decider, as context |
| `# Transitions` | no | the engine: deterministic routing, no LLM call |
| `# Report` | no | the engine: evidence the report must carry (checked before anything moves) |
| `# Approval` | no | a person: what they approve before the run may leave the step |
| anything else | no | the decider, as context |

Client Instructions should end by saying what to report: which `status` values mean what, and which
details (`result`, `details`, `message`, `error`) to include.

## Transitions

```
# Transitions
- success: Run Tests
- tests_failed: Fix Failures
- failure: FAILED
- default: FINISH
```

Each item maps a report `status` (case-insensitive) to a step name, `FINISH`, `FAILED` or `SUSPEND`.
`default` matches any status. When a transition matches, the engine decides without an LLM; when none
matches (and there is no `default`), the server's decider reads the Orchestrator Guidance (see
Expected statuses for who that is). Use transitions for
every branch that is a plain status, and guidance for judgment calls. In guidance, name steps as
`` `Step Name` `` so `check` can warn when a name is wrong, and say "repeat this step" or "finish" where
you mean them: the decider is shown them as real names.

**Expected statuses.** The agent sees the statuses a step routes on: `next_step.expected_statuses`, and
a generated last line of the instructions (`Report status: one of `success`, `failure`.`). A status
outside them goes to the server's decider:
- **the calling agent** (`AI_PROVIDER=agent`, the default when no LLM key is set): the run does not
  move; the result carries a `routing_question` (this step's guidance, the report, the candidates),
  and the agent calls the same tool again with the same report plus `report.choose_step` set to one
  candidate. A choice outside the candidates is refused with `INVALID_ARGUMENT`;
- **an LLM** (`gemini` or `openai`): it judges the report from the guidance (below);
- **the stub** (`AI_PROVIDER=stub`): it is refused with `INVALID_ARGUMENT` and the run does not move,
  so the agent reports again with one of them.

**SUSPEND.** A run waits for the outside world (an answer from a person, a CI run) only where you say
so: a transition to the reserved target `SUSPEND` (`- posted: SUSPEND`) leaves the run `SUSPENDED` at
this step until `resume_workflow`. An LLM may choose `SUSPEND` only on a step whose transitions or
guidance name it (write `SUSPEND` in capitals); anywhere else it is not offered. `check` accepts
`SUSPEND` as a target and points a misspelled `SUSPENDED` to it.

**What the decider sees** when no transition matches (the agent's `routing_question` holds the same
guidance, report and candidates): a summary of the workflow (each step's first
sentence of `# Goal`, else of its Client Instructions; not the other steps' routes), then this step's
guidance and routes, the last few history entries, the context, the report, and the candidates it may choose:
the step's transition targets, the steps its guidance names, the next step in order when it declares
no routes, the step itself (repeat), `FINISH`, `FAILED` where the step names it (or declares no
routes), and `SUSPEND` where offered. Keep guidance short and concrete: say for each kind of outcome
where to go. A step's first sentence is how the decider sees it among the candidates, so when the
Client Instructions open with a situation ("Nothing is staged.") or a lead-in ("Agree with the user
on:"), give the step a one-line `# Goal` that says what it does.

## Required evidence: `# Report`

```
# Report
- tests_passed: integer, required
- tests_failed: integer, required
- commit_sha: text - the new commit's hash
```

Each item is `- name: type[, required][ - description]`; types are `text`, `integer`, `number`
(an integer is also a number), `boolean` and `list`. Fields are top-level keys of the report, next to
`status`, and `next_step.report_fields` lists them; the instructions end with one generated line naming
them. A report that lacks a required field (`null` counts as missing) or has a field of the wrong type
is refused with `INVALID_ARGUMENT` naming the fields, and the run does not move. `step_id`, `status`
and `choose_step` are reserved names.

A transition may compare one declared field with one literal: `==`, `!=`, `>`, `>=`, `<`, `<=`
(the ordering ones on numbers only), a literal being a number (at most 30 digits), `true`/`false` or
text:

```
# Transitions
- tests_failed > 0: Fix Failures
- success: Review Changes
```

Evidence transitions are tried first, in file order, then the status ones, then `default`: the facts
outrank the status the agent chose. A field the report lacks never matches. There is nothing more:
no `and`/`or`, no arithmetic, no second field.

## Approval gates: `# Approval`

```
# Approval
The commit message, exactly as it will be committed.
```

The section says what a person approves. When a report would take the run away from this step (to
another step, FINISH or FAILED), the run stops instead: it stays at the step as `SUSPENDED` with
`awaiting_approval` (what, the proposed next step, how to approve). Where the client supports
elicitation, the server asks the user directly during that call; otherwise the person runs
`orchestrator-mcp approve ID` (or `--reject --comment "..."`; the hint adds the server's `--db` and
`--workflows`) or uses the form on the run's page in `orchestrator-mcp ui`. No tool argument can
approve. Approval
continues to the proposed step; rejection follows the step's `rejected:` transition if it has one
(`rejected: SUSPEND` suspends the run at the step), else goes back to the step itself. Who answered
and the comment are kept in the history. Repeating the step (a transition to itself) needs no approval.

A gate is never stepped over either. A decision that would get past it without passing it (an LLM's
or the agent's choice of a later step, or of FINISH where your routes reach FINISH only through the
gate; a resume that would put the run beyond it) waits for a person in the same way, at the step the
run was at. Your declared routes never wait: `# Transitions`, evidence routes, and the index order
of a step without transitions; nor does going back to a step the run has been at (a rework loop). Words in
the guidance are not routes ("never deploy before the review" names Deploy too). So to let a step
end the run early (the user declines), declare it: `- declined: FINISH`.

## Includes

`{{file:relative/path.md}}` anywhere in a definition file is replaced by that file's content, resolved
relative to the including file, recursively (depth at most 10). The path must stay inside the workflow
root: absolute paths, `..` that climbs out, and symlinks pointing out are errors, and so is a cycle.

## Checking

`orchestrator-mcp check path/to/workflows` (or the `validate_workflow` tool) prints `file:line: message`
for each problem and exits 1 if any workflow (or, for `check`, any scenario file) is invalid: unknown report
types, conditions on undeclared fields or with a literal of the wrong type, and an empty `# Approval` are
errors too. Warnings flag steps nothing leads to, guidance that names a step that does not exist, and a
`rejected:` transition on a step without `# Approval`. Edits are picked up without a restart.

## Testing routing: scenario files

State how a workflow must route, and check it like code. Scenario files live beside the definition in
`MY_WORKFLOW/tests/*.md` (names starting with `.` or `_` are skipped); they are never read as steps and
do not change the definition's hash. Like definition files they must stay inside the workflow root (a
link pointing out is an error and is not read), be UTF-8 and at most 1 MiB. Each `# Heading` is one scenario, named by the heading; prose is
ignored, so say in it what the scenario proves. The scenario is a list of items:

```markdown
# Nothing staged, the user stages a file

- start: {"repo": "."}
- report: no_staged_files
  details: ?? notes.txt
  expect: Handle No Staged Files
- report: staged
  message: the user ran git add notes.txt
  expect: Check Staged Files
- llm report: nothing_to_commit
  message: git diff --cached is empty again; the user unstaged it by mistake
  expect: Handle No Staged Files

# A new conversation already has an accepted message

- report: success
  result: M notes.txt
  expect: Get Staged Diffs
- llm resume: Suggest Commit Message
  status: accepted
  result: docs: add notes
  expect: Commit Changes | Suggest Commit Message
  state: RUNNING
```

| item | what it does |
|---|---|
| `start: {JSON}` | optional, first: the context the run starts with (default `{}`) |
| `report: STATUS` | an advance whose status a `# Transitions` entry (or `default`) matches |
| `llm report: STATUS` | an advance whose status matches no transition: only an LLM can judge it |
| `resume: STEP` | `resume_workflow` assuming STEP, where the right answer is the stored step |
| `llm resume: STEP` | a resume that needs judgement: which step is to be done now |
| `approve: COMMENT` | a person approves the gate the run waits at; the comment is optional |
| `reject: COMMENT` | a person rejects it: the step's `rejected:` transition, else back to the step |

On a step without transitions, a `report` is decided by the stub (next step in index order). A report
that would leave a step with `# Approval` leaves the run waiting there: expect the step with
`state: SUSPENDED`, then answer with `approve` or `reject` (they take only `expect` and `state`).

Under an item, one `field: value` per line (deeper-indented lines continue the value):

- `expect:` (required) the step that must come next, `FINISH`, `FAILED` or `SUSPEND`; `A | B` accepts either;
- `state:` optional: `RUNNING`, `SUSPENDED`, `COMPLETED` or `FAILED`; by default `FINISH` means
  `COMPLETED`, `FAILED` means `FAILED`, `SUSPEND` means `SUSPENDED`, and a step means `RUNNING`;
- `context_updates:` a JSON object sent with the report;
- anything else (`message`, `result`, `details`, `error`, `status` of a resume, ...) goes into the report. A value
  that starts with `{` or `[` is JSON; otherwise it is text, except a field the step declares in `# Report`
  with another type, which takes that type (`tests_failed: 2` is the integer 2). Reports carry
  `step_id` = the current step.

`orchestrator-mcp test [NAME ...]` runs every scenario through the real engine on a temporary database
and prints each divergence as `file:line`, then a summary: accuracy (right step and right run state),
decisions by kind, LLM calls, decision latency p50/p95, tokens when the provider reports them, and the
`# Transitions` entries no scenario used. A wrong answer ends its scenario (later items assumed it), so
put one judged case at the end of each scenario. Under the stub, `llm` items (and what follows them)
are skipped with a note; with `--provider gemini|openai` they are judged by the model, `--repeat N`
runs everything N times, and `--min-accuracy 0.85` lets LLM cases pass at 85%: any other divergence
fails the run (exit 1). `check` validates scenario files: syntax, step names, and that every `report`
status matches a transition of the step it is sent at (and every `llm report` status matches none).

## A complete small example

`workflows/GREET/index.md`:

```markdown
# Greet the user

## Overall Goal
Say hello, and say goodbye if the user wants to leave.

## Steps
1. [Say Hello](steps/hello.md)
2. [Say Goodbye](steps/goodbye.md)
```

`workflows/GREET/steps/hello.md`:

```markdown
# Orchestrator Guidance
If the user wants to keep talking, repeat `Say Hello`; otherwise go to `Say Goodbye`.

# Client Instructions
Greet the user by name and ask whether they want to continue.
Report status `continue` if they do, `done` if they do not.

# Transitions
- continue: Say Hello
- done: Say Goodbye
```

`workflows/GREET/steps/goodbye.md`:

```markdown
# Orchestrator Guidance
Always finish after this step.

# Client Instructions
Say goodbye. Report status `success`.

# Transitions
- default: FINISH
```
"""


@dataclass(frozen=True)
class Arg:
    """A tool argument's description and length limit, as written in a tool's
    signature (``Annotated[str, Arg(...)]``).  ``build_server`` turns it into
    pydantic's ``Field`` when it registers the tool, so importing this module
    does not import pydantic."""

    description: str
    max_length: int | None = None


InstanceIdArg = Annotated[str, Arg("The instance_id that start_workflow returned.", 200)]
ReportArg = Annotated[dict[str, Any], Arg(
    "What happened, honestly: {step_id: the step you did, status: a word the step's instructions ask "
    "for such as 'success' or 'failure', result/details/message/error: what you found}.")]
UpdatesArg = Annotated[dict[str, Any], Arg("Context keys to set for later steps (any JSON).")]


class ClientCall:
    """Marks a tool parameter that receives the SDK's request ``Context`` (the
    client connection: its capabilities, elicitation).  It is no argument a
    client sends; ``_sdk_tool`` swaps in the SDK's type when registering."""

#: Tool annotations (``ToolAnnotations`` fields) by kind of tool.
READ_ONLY = {"read_only_hint": True, "idempotent_hint": True, "open_world_hint": False}
WRITES = {"read_only_hint": False, "destructive_hint": False, "open_world_hint": False}
DESTRUCTIVE = {"read_only_hint": False, "destructive_hint": True, "open_world_hint": False}


def tool(hints: Mapping[str, bool]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a ``WorkflowTools`` method as an MCP tool with these annotations."""
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.tool_hints = dict(hints)  # type: ignore[attr-defined]
        return fn
    return mark


def tool_failure(exc: BaseException) -> Any:
    """A failed call: a tool result with ``isError`` whose text is exactly the error body."""
    from mcp_types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=json.dumps(error_body(exc), ensure_ascii=False))],
                          is_error=True)


def plain(value: Any) -> Any:
    """A result dataclass as JSON-ready dicts and lists; anything else as it is.

    Unlike ``dataclasses.asdict`` this does not deep-copy: contexts and reports
    are plain JSON already (``check_json`` saw to that), and the result is
    encoded at once, so copying a context of up to 1 MiB would buy nothing.
    It copies each dataclass's ``__dict__`` (its fields, in order) and descends
    only into the fields whose type holds dataclasses: this runs on every call.
    """
    cls = type(value)
    nested = _NESTED.get(cls)
    if nested is None:
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return value
        nested = nested_fields(cls)
    if not nested and not hasattr(cls, "OMIT_WHEN_NONE"):  # a leaf such as a history item
        return dict(value.__dict__)
    out = dict(value.__dict__)
    for key in nested:
        item = out[key]
        if isinstance(item, list):
            out[key] = [plain(element) for element in item]
        elif item is not None:
            out[key] = plain(item)
    for key in getattr(value, "OMIT_WHEN_NONE", ()):
        if out[key] is None:
            del out[key]
    return out


#: Per result dataclass: the fields that hold dataclasses (``plain`` descends into those only).
_NESTED: dict[type, tuple[str, ...]] = {}


def nested_fields(cls: type) -> tuple[str, ...]:
    """The fields of a result dataclass that hold dataclasses, worked out once per class
    (``typing.get_type_hints`` costs about 0.1 ms: the warm-up pays it, not a first call)."""
    found = _NESTED.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _NESTED.setdefault(cls, tuple(f.name for f in dataclasses.fields(cls)
                                              if _holds_dataclass(hints.get(f.name))))
    return found


def _holds_dataclass(hint: Any) -> bool:
    return dataclasses.is_dataclass(hint) or any(_holds_dataclass(arg) for arg in typing.get_args(hint))


#: (result, its plain data, its JSON text) of the last encoded workflow list.
_last_encoded: tuple[Any, Any, str] | None = None


def tool_result(value: Any) -> Any:
    """A successful call: the result as structured content and the same JSON as text.

    Built here from our typed dataclass and encoded once (compact, by
    pydantic's encoder, the SDK's own).  Left to the SDK, a dataclass result
    was encoded as indented text, then validated against the output schema and
    dumped again: work on every call that buys nothing for content we build
    ourselves.  (The envelope is built with validation: pydantic-core checks
    it shallowly in about 1.6 us, faster than ``model_construct``.)
    """
    from mcp_types import CallToolResult, TextContent
    from pydantic_core import to_json

    global _last_encoded
    last = _last_encoded
    if last is not None and last[0] is value:  # the same result object again (the cached workflow list)
        data, text = last[1], last[2]
    else:
        data = plain(value)
        text = to_json(data).decode()
        if isinstance(value, WorkflowList):
            _last_encoded = (value, data, text)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def guarded(fn: Callable[[], Any]) -> Any:
    """Run a tool body; a result dataclass becomes ``tool_result`` (an SDK
    result such as ``InputRequiredResult`` passes as it is) and every failure a
    coded tool error, never a protocol error."""
    try:
        result = fn()
        return tool_result(result) if dataclasses.is_dataclass(result) else result
    except Exception as exc:  # noqa: BLE001 - every failure becomes a coded tool error
        if isinstance(exc, OrchestratorError):
            log.info("tool error %s: %s", exc.code, exc.message)
        return tool_failure(exc)


class WorkflowTools:
    """The MCP tools, one method each, in the order clients list them.

    A method's name is the tool's name, its docstring the description (cleaned
    of indentation), its signature the input schema and its return annotation
    the output schema.  Methods return the ``CallToolResult`` that ``guarded``
    builds, whose structured content is the annotated type, as plain JSON.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @tool(READ_ONLY)
    def list_workflows(
        self,
        detail: Annotated[bool, Arg("Also list each workflow's step names and validation errors.")] = False,
    ) -> WorkflowList:
        """List the workflows this server can run: name, title, one-line description, step count and
        whether it is valid. Pick one and call start_workflow. For steps and errors pass detail=true,
        or call validate_workflow."""
        return guarded(lambda: self.engine.list_workflows(detail))

    @tool(WRITES)
    def start_workflow(
        self,
        workflow_name: Annotated[str, Arg("A name from list_workflows, e.g. COMMIT_SUGGESTER.", 100)],
        context: Annotated[dict[str, Any], Arg("Facts the workflow starts with (any JSON).")] = {},
    ) -> Progress:
        """Start a workflow and get its first step. Do what next_step.instructions say, then call
        advance_workflow with the instance_id and a report. Keep the instance_id: it resumes the run later."""
        return guarded(lambda: self.engine.start(workflow_name, context))

    @tool(WRITES)
    def advance_workflow(self, instance_id: InstanceIdArg, report: ReportArg,
                         context_updates: UpdatesArg = {},
                         call: ClientCall = None) -> Progress:  # type: ignore[assignment]
        """Report on the step you just did and get the next one. Include step_id (the step's name) so a
        retried call is answered once, and every field next_step.report_fields lists. Repeat until
        next_step.step_name is FINISH. If the result has routing_question, call advance_workflow again with
        the same report plus report.choose_step = one of its candidates; if it has awaiting_approval, ask
        the user to approve (it says how) and wait. On STEP_MISMATCH, call get_workflow_status; on
        AI_SERVICE_ERROR with retryable true, send the same call again."""
        return self._with_approval(call, instance_id,
                                   lambda: self.engine.advance(instance_id, report, context_updates))

    @tool(WRITES)
    def resume_workflow(
        self,
        instance_id: InstanceIdArg,
        assumed_current_step_name: Annotated[str, Arg("The step you believe you are at.", 200)],
        report: Annotated[dict[str, Any], Arg("What you know of the work so far.")] = {},
        context_updates: UpdatesArg = {},
        call: ClientCall = None,  # type: ignore[assignment]
    ) -> Progress:
        """Continue a run in a new conversation (or after SUSPENDED/FAILED). The server reconciles your
        assumed step with its stored state and returns the step to do now. If the result has
        routing_question, read its history and call resume_workflow again with report.choose_step."""
        return self._with_approval(call, instance_id, lambda: self.engine.resume(
            instance_id, assumed_current_step_name, report, context_updates))

    @tool(READ_ONLY)
    def get_workflow_status(
        self,
        instance_id: InstanceIdArg,
        history_limit: Annotated[int, Arg("How many recent history entries to include (0-1000).")] = 10,
    ) -> Status:
        """Show a run's status, current step with its instructions, context and recent history."""
        return guarded(lambda: self.engine.status(instance_id, history_limit))

    @tool(READ_ONLY)
    def list_instances(
        self,
        status: Annotated[str | None, Arg("RUNNING, SUSPENDED, COMPLETED, FAILED or CANCELLED.")] = None,
        workflow_name: Annotated[str | None, Arg("Only runs of this workflow.")] = None,
        limit: Annotated[int, Arg("At most this many (1-1000).")] = 20,
    ) -> InstanceList:
        """List workflow runs, newest first: use it to find a run to resume."""
        return guarded(lambda: self.engine.list_instances(status, workflow_name, limit))

    @tool(DESTRUCTIVE)
    def cancel_workflow(self, instance_id: InstanceIdArg,
                        reason: Annotated[str | None, Arg("Why, for the history.")] = None) -> Status:
        """Cancel a run that should not continue. It cannot be resumed afterwards."""
        return guarded(lambda: self.engine.cancel(instance_id, reason))

    @tool(READ_ONLY)
    def validate_workflow(
        self,
        workflow_name: Annotated[str, Arg("The workflow folder name.", 100)],
    ) -> Validation:
        """Check a workflow definition: errors (file, line, message) and warnings. Use it after writing or
        editing a workflow."""
        return guarded(lambda: self.engine.validate(workflow_name))

    @tool(READ_ONLY)
    def get_workflow_authoring_guide(self) -> str:
        """The guide to writing workflows: folder layout, sections, transitions, includes, an example."""
        return AUTHORING_GUIDE

    # -- approval through the client (elicitation) ----------------------------
    # The answer comes from the person through the client's own form, never from a
    # tool argument.  Clients on the request/response protocol of 2026-07-28 get an
    # InputRequiredResult and retry the call with the answer; older sessions get a
    # server-initiated elicitation/create request while the call waits.

    ANSWERED_ELSEWHERE = "the approval request was answered elsewhere meanwhile; this answer was not used"
    APPROVAL_SCHEMA = {
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "reject"], "title": "Decision",
                         "description": "approve lets the workflow go on; reject sends it back"},
            # No maxLength: the SDK would refuse a longer answer whole, and the person's decision
            # with it; a longer comment is cut instead (``_apply_answer``).
            "comment": {"type": "string", "title": "Comment",
                        "description": f"optional, kept in the history (up to {MAX_COMMENT_CHARS:,} characters)"},
        },
        "required": ["decision"],
    }

    @staticmethod
    def _who(call: Any) -> str:
        """Who answered, as far as the connection tells: the client's declared name."""
        try:
            params = call.session.client_params
            name = params.client_info.name if params and params.client_info else ""
        except Exception:  # noqa: BLE001 - the identity is best effort
            name = ""
        return f"the user via {name or 'the MCP client'} (elicitation)"

    def _apply_answer(self, call: Any, iid: str, pending: dict[str, Any], answer: Any,
                      waiting: Callable[[], Any]) -> Any:
        """The client's elicitation result as an approval; a dismissed form leaves the run waiting."""
        action = answer.get("action") if isinstance(answer, dict) else getattr(answer, "action", None)
        content = answer.get("content") if isinstance(answer, dict) else getattr(answer, "content", None)
        content = content if isinstance(content, dict) else {}
        if action == "accept" and content.get("decision") in ("approve", "reject"):
            approved = content["decision"] == "approve"
        elif action == "decline":
            approved = False  # the person explicitly said no
        else:
            return waiting()
        comment = content.get("comment") if isinstance(content.get("comment"), str) else None
        if comment is not None and not is_unicode(comment):
            comment = None  # a lone surrogate cannot be stored: the decision counts without it
        elif comment is not None and len(comment) > MAX_COMMENT_CHARS:  # a form that ignored maxLength
            cut = " [cut: the comment was longer than allowed]"
            comment = comment[:MAX_COMMENT_CHARS - len(cut)] + cut
        try:
            return self.engine.approve(iid, approved, comment or None, self._who(call),
                                       approval_id=pending["approval_id"])
        except (InvalidArgument, Conflict):
            # Answered elsewhere meanwhile (the command line, the ui): the agent made no mistake,
            # so it gets the run as it now stands, not an error about approving.
            return self.engine.waiting(iid, self.ANSWERED_ELSEWHERE)

    def _with_approval(self, call: Any, iid: str, move: Callable[[], Progress]) -> Any:
        """Run an advance or resume; when it stops at a gated step, ask the person through the client."""
        def body() -> Any:
            responses = getattr(call, "input_responses", None) if call is not None else None
            if responses and "approval" in responses:  # the retry that carries the person's answer
                inst = self.engine.store.get(self.engine._instance_id(iid))
                pending = inst.awaiting_approval
                if pending and pending.get("approval_id") == call.request_state:
                    return self._apply_answer(call, inst.instance_id, pending, responses["approval"],
                                              lambda: self.engine.waiting(inst.instance_id))
                # The call already made its move (it is what asked); the request was answered
                # elsewhere since: the run as it stands, never the same report a second time.
                return self.engine.waiting(inst.instance_id, self.ANSWERED_ELSEWHERE)
            progress = move()
            if progress.awaiting_approval is None or call is None or progress.status != SUSPENDED:
                return progress
            try:
                caps = call.client_capabilities
            except ValueError:  # no request context: called outside a session
                caps = None
            pending = self.engine.store.get(progress.instance_id).awaiting_approval
            if caps is None or caps.elicitation is None or not pending:
                return progress
            # Imported here, not at the top of ``body``: this runs for gated steps only.
            import anyio.from_thread
            from mcp_types import ElicitRequest, ElicitRequestFormParams, InputRequiredResult

            params = ElicitRequestFormParams(
                message=(f"Approve leaving step '{pending['step_name']}' for '{pending['proposed_next_step']}'?"
                         f"\n\n{pending['approval']}\n\n(instance {progress.instance_id})"),
                requested_schema=self.APPROVAL_SCHEMA)
            if not call.session.can_send_request:
                return InputRequiredResult(input_requests={"approval": ElicitRequest(params=params)},
                                           request_state=pending["approval_id"])
            try:
                answer = anyio.from_thread.run(lambda: call.session.elicit_form(
                    message=params.message, requested_schema=params.requested_schema,
                    related_request_id=call.request_context.request_id))
            except Exception as exc:  # noqa: BLE001 - no answer: the run keeps waiting, visibly
                log.info("approval elicitation failed (%s); the run waits for orchestrator-mcp approve", exc)
                return progress
            return self._apply_answer(call, progress.instance_id, pending, answer, lambda: progress)
        return guarded(body)


class WorkflowResources:
    """The MCP resources: a workflow's definition and diagram, and a run's status.

    A read that fails is a protocol error carrying our coded error body: not
    found (unknown workflow or instance, bad name) or a resource error.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def workflow_definition(self, name: str) -> str:
        return self._read(lambda: self.engine.library.load(name).text)

    def workflow_diagram(self, name: str) -> str:
        return self._read(lambda: mermaid(self.engine.library.load(name)))

    def instance_status(self, instance_id: str) -> str:
        return self._read(lambda: json.dumps(dataclasses.asdict(self.engine.status(instance_id, 100)),
                                             ensure_ascii=False, indent=2))

    @staticmethod
    def _read(fn: Callable[[], str]) -> str:
        from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

        try:
            return fn()
        except (DefinitionNotFound, InstanceNotFound, InvalidArgument) as exc:
            raise ResourceNotFoundError(json.dumps(exc.to_dict())) from None
        except OrchestratorError as exc:
            raise ResourceError(json.dumps(exc.to_dict())) from None


#: (URI template, MIME type, description, WorkflowResources method).
RESOURCES = (
    ("workflow://{name}", "text/markdown", "A workflow's assembled definition: index.md, then every step.",
     "workflow_definition"),
    ("workflow://{name}/diagram", "text/vnd.mermaid", "A Mermaid flowchart of a workflow's steps and transitions.",
     "workflow_diagram"),
    ("instance://{instance_id}", "application/json", "A workflow run: status, context and history.",
     "instance_status"),
)


def argument_error(tool_name: str, exc: Exception) -> Any | None:
    """Our error shape for the SDK's argument failures (bad arguments, unknown tool); None for others."""
    from pydantic import ValidationError

    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                             for e in cause.errors()[:5])
        return tool_failure(InvalidArgument(f"invalid arguments for {tool_name}: {problems}"))
    if str(exc).startswith("Unknown tool"):
        return tool_failure(InvalidArgument(f"unknown tool {tool_name[:80]!r}; call tools/list"))
    return None


def workflow_resource_list(library: Library) -> list[Any]:
    """Each workflow's definition and diagram as concrete resources: a client's resource
    picker shows ``resources/list``, and the URI templates alone leave it empty."""
    from mcp_types import Resource

    listed = []
    for wf in library.all():
        title = wf.title or wf.name
        listed.append(Resource(uri=f"workflow://{wf.name}", name=wf.name, title=title,
                               description=f"The assembled definition of '{title}'"
                               + ("" if wf.valid else f" ({len(wf.errors)} validation errors)"),
                               mime_type="text/markdown"))
        listed.append(Resource(uri=f"workflow://{wf.name}/diagram", name=f"{wf.name}/diagram",
                               title=f"{title}: diagram", description="A Mermaid flowchart of its steps "
                               "and transitions", mime_type="text/vnd.mermaid"))
    return listed


def workflow_prompts(library: Library) -> list[Any]:
    """One prompt per valid workflow, read from the library as it is on disk now."""
    from mcp_types import Prompt, PromptArgument

    return [Prompt(name=wf.name, title=wf.title, description=f"Start the '{wf.title}' workflow: " + clip(wf.goal, 300),
                   arguments=[PromptArgument(name="context", required=False,
                                             description="optional JSON object or free text to "
                                                         "start the workflow with")])
            for wf in library.all() if wf.valid]


def workflow_prompt(library: Library, name: str, arguments: Mapping[str, Any] | None) -> Any:
    """The prompt that starts workflow ``name``; its context is JSON, else free text kept as ``request``."""
    from mcp_types import GetPromptResult, PromptMessage, TextContent

    wf = library.load_valid(name)
    ctx_text = (arguments or {}).get("context") or ""
    try:
        parsed = json.loads(ctx_text) if ctx_text else {}
    except ValueError:
        parsed = {"request": ctx_text}
    if not isinstance(parsed, dict):
        parsed = {"request": parsed}
    text = (f"Use the orchestrator to run the '{wf.title}' workflow ({wf.name}). Call start_workflow "
            f"with workflow_name=\"{wf.name}\" and context={json.dumps(parsed, ensure_ascii=False)}, "
            "then follow each returned next_step.instructions and report back with advance_workflow "
            "until the next step is FINISH.")
    return GetPromptResult(description=f"Start {wf.title}",
                           messages=[PromptMessage(role="user", content=TextContent(type="text", text=text))])


def tool_description(doc: str | None) -> str:
    """A docstring as clients should read it: no indentation, each paragraph one line."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _sdk_tool(method: Callable[..., Any]) -> Any:
    """The SDK's ``Tool`` for a ``WorkflowTools`` method: ``Arg`` becomes pydantic's ``Field``."""
    import functools

    from mcp.server.mcpserver.tools import Tool
    from mcp_types import ToolAnnotations
    from pydantic import Field

    def sdk_hint(hint: Any) -> Any:
        if hint is ClientCall:
            from mcp.server.mcpserver import Context

            return Context
        metadata = getattr(hint, "__metadata__", ())
        arg = next((m for m in metadata if isinstance(m, Arg)), None)
        if arg is None:
            return hint
        limits = {"max_length": arg.max_length} if arg.max_length is not None else {}
        return Annotated[hint.__origin__, Field(description=arg.description, **limits)]

    signature = inspect.signature(method)
    call = functools.wraps(method)(lambda **kwargs: method(**kwargs))
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=sdk_hint(p.annotation)) for p in signature.parameters.values()])
    context_kwarg = next((p.name for p in signature.parameters.values() if p.annotation is ClientCall), None)
    sdk_tool = Tool.from_function(call, name=method.__name__, description=tool_description(method.__doc__),
                                  context_kwarg=context_kwarg,
                                  annotations=ToolAnnotations(**method.tool_hints))  # type: ignore[attr-defined]
    if signature.return_annotation is not str:
        # The output schema stays published; the SDK's check of every result
        # against it goes, as tool_result builds the content from the typed
        # dataclass itself (the SDK reads this field on each call).
        sdk_tool.fn_metadata.output_model = None
    return sdk_tool


class WarmUp:
    """Server middleware that warms the workflow library once the client is in.

    ``notifications/initialized`` comes after the client has the ``initialize``
    reply, so start-up never waits for parsing; the first request that is not
    ``initialize`` (whichever comes first) starts ``warm`` on a daemon thread,
    so the first ``list_workflows`` or ``start_workflow`` finds the definitions
    loaded (read from the parse cache, or parsed), checked and watched, and the
    reply encoder ready.

    A request that arrives while it runs goes first: the warm-up waits between
    workflows until no request is in flight, and before a parse until requests
    have been quiet for ``QUIET_S``.  Two threads sharing the GIL cost a request
    far more than the parse it overlaps: each time the request's thread lets the
    GIL go (a SQLite call, a file read) the warm-up holds it for up to the
    interpreter's switch interval (5 ms); a fresh server's first ``start_workflow``
    measured 5 ms beside a parse and 1-2 ms alone.  The request loads what it needs
    itself.
    """

    #: The longest the warm-up waits for requests in flight before it parses on anyway
    #: (a request may wait minutes for a person's answer).
    YIELD_MAX_S = 1.0
    #: How long after a request ends the warm-up still waits: its reply is being written
    #: then, and a client often sends its next request at once.
    QUIET_S = 0.02

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.started = False
        #: The server's middleware list, which it leaves once the warm-up is done
        #: (the chain is composed per message: each layer costs every call a coroutine).
        self.chain: list[Any] = []
        self.in_flight = 0
        self.last_done = 0.0
        self.done = threading.Event()

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if self.done.is_set():  # leave on the event loop's thread, never under its feet
            if self in self.chain:
                self.chain.remove(self)
            return await call_next(ctx)
        if ctx.method == "initialize":
            return await call_next(ctx)
        self.in_flight += 1  # before the thread starts, which must find this request in flight
        if not self.started:
            self.started = True
            self.engine.library.defer_watch()  # the warm-up starts it: calls until then check stats
            threading.Thread(target=self.warm, name="warm-up", daemon=True).start()
        try:
            return await call_next(ctx)
        finally:
            self.in_flight -= 1
            self.last_done = time.monotonic()

    def yield_to_requests(self, quiet_s: float = QUIET_S) -> None:
        """Wait while a request is in flight or one ended less than ``quiet_s`` ago (its reply
        is still being written, and a client often sends the next at once)."""
        give_up = time.monotonic() + self.YIELD_MAX_S
        while time.monotonic() < give_up and (self.in_flight or time.monotonic() - self.last_done < quiet_s):
            time.sleep(0.002)

    def step_aside(self) -> None:
        """Wait while a request is in flight (before a short read from the parse cache)."""
        self.yield_to_requests(0.0)

    def warm(self) -> None:
        try:
            for result in (Progress, NextStep, Status, HistoryItem, WorkflowList, WorkflowSummary, InstanceList,
                           InstanceSummary, Validation):
                nested_fields(result)
            self.engine.library.warm(self.yield_to_requests, self.step_aside)
            # A second, read-only pass checks each definition's stat signature
            # once, after which the folder watch is trusted, and builds one reply.
            self.yield_to_requests()
            tool_result(self.engine.list_workflows())
        finally:
            self.done.set()


#: A request id at the start of a line, as clients write it: ``{"jsonrpc":"2.0","id":7,...``.
_LEADING_ID_RE = re.compile(r'^\s*\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*(-?\d{1,18}|"[^"\\]{0,200}")'
                            r'\s*,\s*"method"\s*:')  # a request: a client's reply to us has no method


def _carried_exactly(request_id: Any) -> bool:
    """Can a reply carry this id back exactly?  An integer (one of more than 18 digits was not
    read: JSON-RPC peers read 64-bit ids) or valid Unicode text; not ``true``, not a float."""
    return type(request_id) is int or (type(request_id) is str and is_unicode(request_id))


class _AnswerUnreadableLines:
    """The stdio transport's read stream, with an answer for each request line the SDK
    cannot read.

    The SDK's stdio reader validates every line with pydantic's JSON parser; a line
    it rejects (a lone surrogate escape, which a JavaScript client sends when it cuts a
    string inside an emoji; an integer of more than 4,300 digits; nesting of about 200
    levels) becomes an exception in the stream that nothing answers, so the client
    waits for its timeout.  Here such a request gets a JSON-RPC parse error for its id
    (as the HTTP transport answers), saying what to change; nothing was done.  Lines
    that are not requests (notifications, garbage without an id) stay unanswered, as
    JSON-RPC requires, with one log line.
    """

    def __init__(self, inner: Any, write_stream: Any) -> None:
        self._inner = inner
        self._write = write_stream

    @property
    def last_context(self) -> Any:  # the SDK restores the sender's context from it
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            try:
                reply = self.reply_to(item)
            except Exception as exc:  # noqa: BLE001 - answering a bad line must never end the session
                log.warning("could not answer an unreadable message: %s: %s", type(exc).__name__, clip(str(exc), 200))
                reply = None
            if reply is None:
                return item  # what the SDK did before: it logs the line and goes on
            for message in reply if isinstance(reply, list) else [reply]:
                await self._write.send(message)

    @staticmethod
    def reply_to(exc: Exception) -> Any:
        """The error message(s) for the request(s) an unreadable line held, or None.

        JSON the SDK's parser refuses is a parse error (-32700); JSON that is not a valid
        JSON-RPC request (``"params": 5``, ``"jsonrpc": "1.0"``) is an invalid request
        (-32600), and so is each request of a batch.  Only a request with an id the reply
        can carry back exactly is answered."""
        from mcp.shared.message import SessionMessage
        from mcp_types import ErrorData, JSONRPCError

        try:
            errors = list(exc.errors())  # type: ignore[attr-defined]  # pydantic's ValidationError
        except Exception:  # noqa: BLE001 - any other exception: not ours to answer
            return None
        if not errors:
            return None
        first = errors[0]
        if isinstance(first.get("input"), list) and len(first.get("loc", ())) == 1:  # a batch: none in MCP since 2025-06-18
            ids = [m.get("id") for m in first["input"] if isinstance(m, dict) and "method" in m]
            replies = [SessionMessage(JSONRPCError(jsonrpc="2.0", id=i, error=ErrorData(
                code=-32600, message="Invalid Request: batches are not part of MCP; nothing was done. Send each "
                                     "request on a line of its own"))) for i in ids if _carried_exactly(i)]
            return replies or None
        if first.get("type") == "json_invalid" and isinstance(first.get("input"), str):
            try:  # Python's reader takes what pydantic's refuses: find the request's id
                message = json.loads(first["input"], parse_int=lambda digits: int(digits) if len(digits) < 19 else None)
            except (ValueError, RecursionError):
                # Nested past Python's limit too: the id where clients put it, first after "jsonrpc".
                m = _LEADING_ID_RE.match(first["input"])
                message = {"method": "?", "id": json.loads(m.group(1))} if m else None
            code, why = -32700, (f"Parse error: {clip(str(first.get('msg')), 200)}. Nothing was done; send the request "
                                 "again as JSON with valid Unicode text (no lone surrogate escapes such as \\ud83d), "
                                 "integers of fewer than 4,300 digits and less than 200 levels of nesting")
        else:
            # The whole message is the input of an error for a missing top-level field (loc: model,
            # field); a value inside it (a "jsonrpc" object, a reply's "error" object) is the input
            # of other errors, or of deeper ones.  With a method, the message is a request.
            message = next((e["input"] for e in errors if e.get("type") == "missing" and len(e.get("loc", ())) == 2
                            and isinstance(e.get("input"), dict) and "method" in e["input"]), None)
            shown = next((e for e in errors if e.get("loc", ("",))[0] == "JSONRPCRequest"), first)
            where = ".".join(str(part) for part in shown.get("loc", ())[1:]) or "the message"
            code, why = -32600, (f"Invalid Request: {clip(where, 100)}: {clip(str(shown.get('msg')), 200)}. Nothing "
                                 'was done; send {"jsonrpc": "2.0", "id": ..., "method": ..., "params": {...}}')
        request_id = message.get("id") if isinstance(message, dict) and "method" in message else None
        if not _carried_exactly(request_id):
            log.warning("ignored an unreadable message that is not a request (%s)", clip(str(first.get("msg")), 200))
            return None
        return SessionMessage(JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=why)))

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> "_AnswerUnreadableLines":
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> "_AnswerUnreadableLines":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def build_server(engine: Engine, config: Config) -> Any:
    """The MCPServer: the ``WorkflowTools``, the ``WorkflowResources`` and one prompt per workflow."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    class OrchestratorServer(MCPServer):
        """MCPServer whose argument errors use our error shape and whose prompts
        follow the workflow library as it changes on disk."""

        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:
                failure = argument_error(name, exc)
                if failure is None:
                    raise
                return failure

        async def list_resources(self) -> list[Any]:
            return [*await super().list_resources(), *workflow_resource_list(engine.library)]

        async def list_prompts(self) -> list[Any]:
            return workflow_prompts(engine.library)

        async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
            from mcp.shared.exceptions import MCPError

            try:
                return workflow_prompt(engine.library, name, arguments)
            except OrchestratorError as exc:  # a name not (or no longer) a valid workflow: the coded body
                raise MCPError(-32602, json.dumps(exc.to_dict(), ensure_ascii=False), exc.to_dict()) from None

        async def run_stdio_async(self) -> None:
            """The SDK's stdio loop, with an answer for request lines its reader rejects."""
            from mcp.server.stdio import stdio_server

            async with stdio_server() as (read_stream, write_stream):
                await self._lowlevel_server.run(_AnswerUnreadableLines(read_stream, write_stream), write_stream,
                                                self._lowlevel_server.create_initialization_options())

    tools = WorkflowTools(engine)
    warm_up = WarmUp(engine)
    server = OrchestratorServer(
        "orchestrator-mcp", title="Workflow Orchestrator", version=__version__, instructions=SERVER_INSTRUCTIONS,
        log_level=config.log_level.upper(), middleware=[warm_up],
        tools=[_sdk_tool(getattr(tools, name)) for name, fn in vars(WorkflowTools).items()
               if hasattr(fn, "tool_hints")])
    warm_up.chain = server.middleware
    resources = WorkflowResources(engine)
    for uri, mime_type, description, method in RESOURCES:
        server.resource(uri, mime_type=mime_type, description=description)(getattr(resources, method))
    return server


def create_app(config: Config) -> tuple[Any, Engine]:
    """Wire configuration, library, store, decider and engine into a server."""
    store = open_store(config)
    disk = ParseCache(config.parse_cache) if config.parse_cache else None
    engine = Engine(Library(config.workflow_roots, disk=disk), store, make_decider(config), config.command)
    return build_server(engine, config), engine


# =============================================================================
# 7b. Web view
#    ``orchestrator-mcp ui``: a read-only page per run over the state database,
#    served by the standard library's http.server.  A small router, one escaping
#    helper every stored string goes through, and CSRF and login helpers ready
#    for a state-changing form.  No CDN, no external fonts or scripts.
# =============================================================================

UI_COOKIE = "orchestrator_ui"
UI_REFRESH_MS = 2000
#: The ui serves this many connections at once; each request must arrive whole within
#: UI_REQUEST_S seconds, and a form may be at most UI_FORM_BYTES long.
UI_THREADS = 32
#: On a ui bound to a network (``--host`` with a token) no one client address holds more than
#: this many of them, so one client that opens idle connections cannot take every slot.
UI_THREADS_PER_ADDRESS = 8
UI_REQUEST_S = 5.0
UI_FORM_BYTES = 64 * 1024
#: Where a login may send the browser next: a path of this ui, as a URL writes it (printable
#: ASCII, no second leading slash or backslash, no spaces, tabs or line breaks): never a
#: header of its own or, once a browser drops a tab from "/\t/evil", another site.
_UI_NEXT_RE = re.compile(r"/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")
#: A run page shows the newest this many history entries...
UI_HISTORY_ROWS = 200
#: ...and at most this many characters of each report field (and four times as many of the context).
UI_FIELD_CHARS = 4000
#: Content-Security-Policy: only our own stylesheet and script; inline script,
#: inline handlers and other origins are refused even if escaping ever failed.
UI_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a secret a browser sent with ours.

    Compared as UTF-8 bytes: ``hmac.compare_digest`` raises on non-ASCII text,
    and a hostile header must get a refusal, not an error page.
    """
    import hmac

    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def h(value: Any) -> str:
    """Escape any value for HTML text and attribute values: every stored string
    (reports, messages, reasoning, definitions) is untrusted."""
    return html.escape("" if value is None else str(value), quote=True)


@dataclass
class UIRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    form: dict[str, str] = field(default_factory=dict)

    @property
    def cookies(self) -> dict[str, str]:
        from http.cookies import SimpleCookie

        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is no cookie
            return {}
        return {k: m.value for k, m in jar.items()}

    @property
    def live(self) -> bool:
        """The page's own script polling for fresh content: answer with ``<main>`` only."""
        return self.headers.get("X-Live") == "1"


@dataclass
class UIResponse:
    status: int
    body: str
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


class WebView:
    """Pages over an Engine's library and store: runs, one run, one workflow.

    ``handle`` is the whole request path: Host check, login, CSRF for POSTs,
    routing, and a generic 500 that never shows internals.
    """

    def __init__(self, engine: Engine, *, token: str | None = None,
                 allowed_hosts: Iterable[str] | None = None) -> None:
        import secrets

        self.engine = engine
        self.token = token
        self.allowed_hosts = {a.lower() for a in allowed_hosts} if allowed_hosts is not None else None
        self._secret = secrets.token_bytes(32)
        # (method, path pattern, handler): one place to add a page or a form.
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., UIResponse]]] = [
            ("GET", re.compile(r"/"), self.runs_page),
            ("GET", re.compile(r"/run/(?P<instance_id>[A-Za-z0-9_-]{1,200})"), self.run_page),
            ("GET", re.compile(r"/workflows"), self.workflows_page),
            ("GET", re.compile(r"/workflow/(?P<name>[A-Za-z0-9_-]{1,100})"), self.workflow_page),
            ("GET", re.compile(r"/static/app\.css"), lambda req: UIResponse(200, UI_CSS, "text/css; charset=utf-8")),
            ("GET", re.compile(r"/static/app\.js"),
             lambda req: UIResponse(200, UI_JS, "text/javascript; charset=utf-8")),
            ("GET", re.compile(r"/login"), self.login_page),
            ("POST", re.compile(r"/login"), self.login),
            ("POST", re.compile(r"/run/(?P<instance_id>[A-Za-z0-9_-]{1,200})/approve"), self.approve),
        ]

    # -- security helpers ------------------------------------------------------

    def csrf_token(self) -> str:
        """The hidden ``csrf`` field every form carries; valid for this process only."""
        import hmac

        return hmac.new(self._secret, b"csrf", "sha256").hexdigest()

    def csrf_ok(self, req: UIRequest) -> bool:
        """A POST must carry our CSRF token and, when the browser sends one, our own Origin."""
        origin = req.headers.get("Origin")
        if origin and origin != "null" and origin.split("://", 1)[-1].lower() != req.headers.get("Host", "").lower():
            return False
        return same_secret(req.form.get("csrf", ""), self.csrf_token())

    def session_value(self) -> str:
        """The login cookie's value: derived from the token, never the token itself."""
        import hmac

        return hmac.new((self.token or "").encode(), b"orchestrator-ui-session", "sha256").hexdigest()

    @property
    def cookie_name(self) -> str:
        """The login cookie's name, one per token: browsers keep cookies per host, not per port,
        so two uis on one machine with their own tokens must not overwrite each other's login."""
        import hmac

        return f"{UI_COOKIE}_{hmac.new((self.token or '').encode(), b'orchestrator-ui-cookie', 'sha256').hexdigest()[:8]}"

    def authorized(self, req: UIRequest) -> bool:
        if not self.token:
            return True
        bearer = req.headers.get("Authorization", "")
        if bearer[:7].lower() == "bearer " and same_secret(bearer[7:].strip(), self.token):
            return True
        return same_secret(req.cookies.get(self.cookie_name, ""), self.session_value())

    def handle(self, req: UIRequest) -> UIResponse:
        host = req.headers.get("Host", "").lower()
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return UIResponse(421, "Misdirected request: this Host is not served here.\n", "text/plain; charset=utf-8")
        public = req.path.startswith("/static/") or req.path == "/login"
        if not public and not self.authorized(req):
            # A browser is sent to the login form; a script that sent a bearer token gets a plain 401.
            if req.method == "GET" and not req.live and not req.headers.get("Authorization"):
                return UIResponse(303, "", headers=[("Location", "/login?next=" + _url_quote(req.path))])
            return UIResponse(401, "Log in first.\n", "text/plain; charset=utf-8")
        if req.method == "POST" and not self.csrf_ok(req):
            return UIResponse(403, "Forbidden: the form's CSRF token or origin did not match.\n",
                              "text/plain; charset=utf-8")
        allowed: list[str] = []
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(req.path)
            if match is None:
                continue
            if method != ("GET" if req.method == "HEAD" else req.method):  # HEAD: a GET without its body
                allowed.append(method)
                continue
            try:
                return handler(req, **match.groupdict())
            except (DefinitionNotFound, InstanceNotFound) as exc:
                return self.page("Not found", f"<p class=\"problem\">{h(cli_text(exc.message))}</p>", req, 404)
            except OrchestratorError as exc:
                # A coded refusal (a definition mid-edit, an answer that lost a race, a bad
                # value): its message, as the command line prints it, and the way back.
                back = match.groupdict().get("instance_id")
                link = (f'<p><a href="/run/{h(back)}">Back to the run</a></p>' if back else "")
                return self.page("Not done", f"<p class=\"problem\">{h(exc.code)}: {h(cli_text(exc.message))}</p>"
                                 + link, req, 503 if exc.retryable else 409)
            except Exception as exc:  # noqa: BLE001 - log the detail, show nothing internal
                log.error("ui: %s %s failed", req.method, req.path, exc_info=exc)
                return self.page("Error", "<p class=\"problem\">This page failed; the details are in the "
                                          "ui's log (stderr).</p>", req, 500)
        if allowed:
            return UIResponse(405, "Method not allowed.\n", "text/plain; charset=utf-8",
                              [("Allow", ", ".join(allowed))])
        return self.page("Not found", "<p class=\"problem\">No such page.</p>", req, 404)

    # -- layout ------------------------------------------------------------------

    def page(self, title: str, main: str, req: UIRequest, status: int = 200, *, live: bool = False,
             toolbar: str = "") -> UIResponse:
        if req.live:
            return UIResponse(status, main)
        live_attr = f' data-live="{UI_REFRESH_MS}"' if live else ""
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{h(title)} · orchestrator-mcp</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
                f"<script src=\"/static/app.js\" defer></script></head><body>"
                f"<header class=\"top\"><a class=\"brand\" href=\"/\">orchestrator-mcp</a>"
                f"<nav><a href=\"/\">Runs</a><a href=\"/workflows\">Workflows</a></nav>"
                f"<span id=\"live-status\" class=\"live\">{'live' if live else ''}</span></header>"
                f"{toolbar}<main{live_attr}>{main}</main>"
                f"</body></html>")
        return UIResponse(status, body)

    # -- pages -------------------------------------------------------------------

    def runs_page(self, req: UIRequest) -> UIResponse:
        status = req.query.get("status", "").upper() or None
        workflow = req.query.get("workflow") or None
        if status not in INSTANCE_STATUSES:
            status = None
        runs = self.engine.list_instances(status, workflow, 200).instances
        names = sorted(set(self.engine.library.names()) | {r.workflow_name for r in runs}
                       | ({workflow} if workflow else set()))
        options = lambda values, chosen: "".join(  # noqa: E731
            f"<option value=\"{h(v)}\"{' selected' if v == chosen else ''}>{h(v) or 'all'}</option>"
            for v in ["", *values])
        toolbar = (f"<form class=\"filters\" method=\"get\" action=\"/\"><label>Status <select name=\"status\">"
                   f"{options(INSTANCE_STATUSES, status or '')}</select></label> <label>Workflow "
                   f"<select name=\"workflow\">{options(names, workflow or '')}</select></label> "
                   f"<button type=\"submit\">Filter</button></form>")
        if runs:
            rows = "".join(
                f"<tr class=\"run\" data-instance=\"{h(r.instance_id)}\" data-status=\"{h(r.status)}\">"
                f"<td><a href=\"/run/{h(r.instance_id)}\">{h(r.workflow_name)}</a></td>"
                f"<td><span class=\"badge s-{h(r.status.lower())}\">{h(r.status)}</span>"
                + (" <span class=\"badge s-approval\">approval needed</span>" if r.awaiting_approval else "")
                + "</td>"
                f"<td class=\"step\">{h(r.current_step_name)}</td>"
                f"<td title=\"{h(r.updated_at)}\">{h(age(r.updated_at))}</td>"
                f"<td class=\"id\"><a href=\"/run/{h(r.instance_id)}\">{h(r.instance_id[:12])}</a></td></tr>"
                for r in runs)
            table = (f"<table class=\"runs\"><thead><tr><th>Workflow</th><th>Status</th><th>Current step</th>"
                     f"<th>Updated</th><th>Run</th></tr></thead><tbody>{rows}</tbody></table>")
        else:
            table = ("<p class=\"empty\">No runs" + (" match these filters." if status or workflow else
                     " yet. Start one from your agent, or with <code>orchestrator-mcp run WORKFLOW</code>.")
                     + "</p>")
        main = (f"<h1>Runs</h1><p class=\"sub\">{len(runs)} shown, newest first"
                f"{' (the 200 newest)' if len(runs) == 200 else ''}.</p>{table}")
        return self.page("Runs", main, req, live=True, toolbar=toolbar)

    def run_page(self, req: UIRequest, instance_id: str) -> UIResponse:
        # The page is rebuilt on every refresh, so it reads a bounded history and shows each
        # report field cut (a report may hold 1 MiB): a long run costs no more per refresh.
        st = self.engine.status(instance_id, UI_HISTORY_ROWS)
        try:
            wf: WorkflowDef | None = self.engine.library.load(st.workflow_name)
        except OrchestratorError:
            wf = None
        notes = []
        if st.definition_changed:
            notes.append("The workflow definition changed since this run last moved. The steps below are the "
                         "current definition; the history shows what the run saw.")
        if wf is None:
            notes.append(f"The workflow {st.workflow_name!r} is no longer in the workflow roots.")
        elif not wf.valid:
            notes.append(f"The workflow {st.workflow_name!r} is currently invalid "
                         f"({_plural(len(wf.errors), 'error')}).")
        banner = "".join(f"<p class=\"notice\" data-notice>{h(n)}</p>" for n in notes)
        title = (wf.title if wf else "") or st.workflow_name
        facts = [("Status", f"<span class=\"badge s-{h(st.status.lower())}\">{h(st.status)}</span>"),
                 ("Current step", f"<span id=\"current-step\">{h(st.current_step_name)}</span>"),
                 ("Workflow", f"<a href=\"/workflow/{h(st.workflow_name)}\">{h(st.workflow_name)}</a>"),
                 ("Started", f"<span title=\"{h(st.created_at)}\">{h(age(st.created_at))}</span>"),
                 ("Updated", f"<span title=\"{h(st.updated_at)}\">{h(age(st.updated_at))}</span>"),
                 ("Run", f"<span class=\"id\">{h(st.instance_id)}</span>")]
        if st.definition_changed:
            facts.append(("Definition changed", "<span class=\"changed\">yes</span>"))
        summary = (f"<h1>{h(title)}</h1><dl class=\"facts\">"
                   + "".join(f"<div><dt>{label}</dt><dd>{value}</dd></div>" for label, value in facts) + "</dl>")
        steps = self.step_map(wf, st) if wf else ""
        instructions = ""
        if st.next_step and st.status in (RUNNING, SUSPENDED):
            instructions = (f"<details id=\"instructions\"><summary>Instructions of {h(st.next_step.step_name)}"
                            f"</summary><pre class=\"text\">{h(st.next_step.instructions)}</pre></details>")
        main = (summary + banner + "<section class=\"cols\"><div><h2>Steps</h2>" + steps + instructions
                + "<h2>Context</h2><pre class=\"json\" id=\"context\">"
                + h(clip(json.dumps(st.context, ensure_ascii=False, indent=2), 4 * UI_FIELD_CHARS)) + "</pre></div>"
                + "<div><h2>History</h2>" + self.older_note(st) + self.timeline(st.history) + "</div></section>")
        # The approval form sits outside <main>, so the live refresh never wipes a comment being typed.
        return self.page(f"{title} run", main, req, live=True, toolbar=self.approval_form(st))

    def approval_form(self, st: Status) -> str:
        """Approve / reject for a run waiting at a gated step; carries the pending request's id so a
        form left open after someone answered elsewhere cannot answer the next request."""
        if not st.awaiting_approval:
            return ""
        pending = self.engine.store.get(st.instance_id).awaiting_approval or {}
        return (f"<form class=\"approval\" method=\"post\" action=\"/run/{h(st.instance_id)}/approve\">"
                f"<h2>Approval needed</h2><p>Leaving <b>{h(pending.get('step_name'))}</b> for "
                f"<b>{h(pending.get('proposed_next_step'))}</b> needs a person's approval of:</p>"
                f"<pre class=\"text\">{h(pending.get('approval'))}</pre>"
                f"<label>Comment (kept in the history) <textarea name=\"comment\" rows=\"2\"></textarea></label>"
                f"<input type=\"hidden\" name=\"csrf\" value=\"{h(self.csrf_token())}\">"
                f"<input type=\"hidden\" name=\"approval_id\" value=\"{h(pending.get('approval_id'))}\">"
                f"<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button> "
                f"<button type=\"submit\" name=\"decision\" value=\"reject\">Reject</button></form>")

    def approve(self, req: UIRequest, instance_id: str) -> UIResponse:
        """The form's POST (CSRF and the token already checked by ``handle``): a person's answer."""
        decision = req.form.get("decision")
        if decision not in ("approve", "reject"):
            return self.page("Not approved", "<p class=\"problem\">Choose Approve or Reject.</p>", req, 400)
        by = "a person in the ui (signed in with the token)" if self.token else "a person in the ui (local)"
        try:
            self.engine.approve(instance_id, decision == "approve", req.form.get("comment", "").strip() or None,
                                by, approval_id=req.form.get("approval_id", ""))
        except InvalidArgument as exc:
            return self.page("Not approved", f"<p class=\"problem\">{h(cli_text(exc.message))}</p>"
                                             f"<p><a href=\"/run/{h(instance_id)}\">Back to the run</a></p>", req, 409)
        return UIResponse(303, "", headers=[("Location", f"/run/{instance_id}")])

    @staticmethod
    def _visits(wf: WorkflowDef, history: Sequence[HistoryItem]) -> tuple[dict[str, int], dict[tuple[str, str], int],
                                                                         dict[tuple[str, str, str], int]]:
        """From the history: how often the run arrived at each step, how often each declared
        transition (step, status) fired, and the moves a decider chose (step, target, who)."""
        visits: dict[str, int] = {}
        fired: dict[tuple[str, str], int] = {}
        judged: dict[tuple[str, str, str], int] = {}
        held: dict[str, HistoryItem] = {}  # the report a pending approval holds, by the step it waits at
        for item in history:
            target = item.determined_next_step
            if target is None or item.outcome_status == "CANCELLED":
                continue
            if "[waiting for a person to approve " in item.reasoning:  # an advance's or a resume's
                held[target] = item  # nothing moved yet: the answer's row says where it went
                continue
            if item.outcome_status == "RESUMING" and target == item.step_name:
                continue
            visits[target] = visits.get(target, 0) + 1
            if item.outcome_status == "STARTED":
                continue
            step = wf.step(item.step_name)
            status = item.outcome_status.strip().lower()
            decided_by = item.decided_by
            if decided_by == "approval":  # the move is the held decision's (approved) or the gate's (rejected)
                proposal = held.pop(item.step_name, None)
                if item.outcome_status == "APPROVED" and proposal is not None:
                    status, decided_by = proposal.outcome_status.strip().lower(), proposal.decided_by
                elif step is not None and target == step.transitions.get("rejected"):
                    status, decided_by = "rejected", "transition"
            if decided_by == "transition" and step is not None:
                key = (step.name, status if status in step.transitions else "default")
                fired[key] = fired.get(key, 0) + 1
            else:
                key3 = (step.name if step else item.step_name, target, decided_by)
                judged[key3] = judged.get(key3, 0) + 1
        return visits, fired, judged

    def step_map(self, wf: WorkflowDef, st: Status | None = None) -> str:
        """The steps in index order, each with its declared transitions.

        A list, not a drawn graph: it reads in the order the author wrote, labels
        never overlap however many loops a workflow has, and it needs no script.
        """
        visits, fired, judged = self._visits(wf, st.history) if st else ({}, {}, {})
        current = st.current_step_name if st and st.status in (RUNNING, SUSPENDED) else None
        anchors = {s.name: f"step-{i}" for i, s in enumerate(wf.steps, 1)}

        def link(target: str) -> str:
            return (f"<a href=\"#{anchors[target]}\">{h(target)}</a>" if target in anchors
                    else f"<span class=\"end\">{h(target)}</span>")

        items = []
        for i, step in enumerate(wf.steps, 1):
            count = visits.get(step.name, 0)
            classes = ["step"] + (["current"] if step.name == current else []) + (["visited"] if count else [])
            badges = ""
            if step.name == current:
                badges += "<span class=\"tag now\">current</span>"
            if count:
                badges += f"<span class=\"tag visits\" data-visits=\"{count}\">visited ×{count}</span>"
            edges = []
            for status, target in step.transitions.items():
                taken = fired.get((step.name, status), 0)
                edges.append(f"<li class=\"edge{' taken' if taken else ''}\" data-status=\"{h(status)}\" "
                             f"data-target=\"{h(target)}\"><span class=\"label\">{h(status)}</span> → {link(target)}"
                             + (f" <span class=\"count\">×{taken}</span>" if taken else "") + "</li>")
            for (source, target, who), taken in judged.items():
                if source == step.name:
                    edges.append(f"<li class=\"edge judged taken\" data-decided-by=\"{h(who)}\" "
                                 f"data-target=\"{h(target)}\"><span class=\"label\">{h(who)} decided</span> → "
                                 f"{link(target)} <span class=\"count\">×{taken}</span></li>")
            if not step.transitions:
                edges.append("<li class=\"edge none\">no declared transitions: the decider reads the guidance</li>")
            items.append(f"<li class=\"{' '.join(classes)}\" id=\"{anchors[step.name]}\" data-step=\"{h(step.name)}\">"
                         f"<div class=\"head\"><span class=\"num\">{i}</span><span class=\"name\">{h(step.name)}"
                         f"</span>{badges}</div><ul class=\"edges\">{''.join(edges)}</ul></li>")
        ends = []
        for end in RESERVED_STEPS:
            reached = st is not None and st.current_step_name == end
            mark = ' <span class="tag">reached</span>' if reached else ""
            ends.append(f"<li class=\"terminal{' reached' if reached else ''}\" data-step=\"{end}\">"
                        f"<span class=\"name\">{end}</span>{mark}</li>")
        return f"<ol class=\"map\">{''.join(items)}</ol><ul class=\"ends\">{''.join(ends)}</ul>"

    @staticmethod
    def _report_html(report: Any) -> str:
        if report is None:
            return ""
        shown = lambda text: h(clip(text, UI_FIELD_CHARS))  # noqa: E731 - the full text: `status ID --json`
        if not isinstance(report, dict):
            return f"<pre class=\"json\">{shown(json.dumps(report, ensure_ascii=False, indent=2))}</pre>"
        parts = []
        for key in ("message", "result", "details", "error"):
            if key in report and report[key] not in (None, ""):
                value = report[key] if isinstance(report[key], str) else json.dumps(report[key], ensure_ascii=False,
                                                                                    indent=2)
                parts.append(f"<div class=\"field f-{key}\"><span class=\"key\">{key}</span>"
                             f"<pre class=\"text\">{shown(value)}</pre></div>")
        rest = {k: v for k, v in report.items() if k not in ("message", "result", "details", "error", "status",
                                                             "step_id")}
        if rest:
            parts.append(f"<div class=\"field\"><span class=\"key\">other</span><pre class=\"json\">"
                         f"{shown(json.dumps(rest, ensure_ascii=False, indent=2))}</pre></div>")
        return "".join(parts)

    def older_note(self, st: Status) -> str:
        """Where the rest is, when the page shows only the newest ``UI_HISTORY_ROWS`` entries."""
        if len(st.history) < UI_HISTORY_ROWS:
            return ""
        full = self.engine.command("status", st.instance_id, "--history", "1000", "--json")
        return (f"<p class=\"notice\">The newest {UI_HISTORY_ROWS} entries; the step map counts them only. "
                f"Up to 1,000, in full: <code>{h(full)}</code></p>")

    def timeline(self, history: Sequence[HistoryItem]) -> str:
        if not history:
            return "<p class=\"empty\">No history.</p>"
        rows = []
        for n, item in enumerate(reversed(history)):
            moved = item.determined_next_step
            rows.append(
                f"<li class=\"entry by-{h(item.decided_by)}\" data-decided-by=\"{h(item.decided_by)}\" "
                f"data-step=\"{h(item.step_name)}\" data-outcome=\"{h(item.outcome_status)}\">"
                f"<div class=\"line\"><span class=\"when\" title=\"{h(item.timestamp)}\">{h(item.timestamp[11:19])}"
                f"</span><span class=\"from\">{h(item.step_name)}</span>"
                f"<span class=\"outcome\">{h(item.outcome_status)}</span>"
                f"<span class=\"arrow\">→</span><span class=\"to\">{h(moved) if moved else 'no move'}</span>"
                f"<span class=\"by badge b-{h(item.decided_by)}\" title=\"who decided\">"
                f"{h(item.decided_by)}</span></div>"
                f"{self._report_html(item.report)}"
                f"<p class=\"reasoning\">{h(clip(item.reasoning, UI_FIELD_CHARS))}</p></li>")
        return f"<ol class=\"timeline\" reversed>{''.join(rows)}</ol>"

    def workflows_page(self, req: UIRequest) -> UIResponse:
        rows = "".join(
            f"<tr><td><a href=\"/workflow/{h(w.name)}\">{h(w.name)}</a></td><td>{h(w.title)}</td>"
            f"<td>{w.step_count}</td><td>{_validity(w.valid, len(w.errors or []))}</td></tr>"
            for w in self.engine.list_workflows(detail=True).workflows)
        main = ("<h1>Workflows</h1><table class=\"runs\"><thead><tr><th>Name</th><th>Title</th><th>Steps</th>"
                f"<th>Validation</th></tr></thead><tbody>{rows}</tbody></table>")
        return self.page("Workflows", main, req)

    def workflow_page(self, req: UIRequest, name: str) -> UIResponse:
        wf = self.engine.library.load(name)
        problems = "".join(f"<li class=\"{kind}\"><code>{h(p.file)}:{p.line}</code> {h(p.message)} "
                           f"<span class=\"kind\">{kind}</span></li>"
                           for kind, found in (("error", wf.errors), ("warning", wf.warnings)) for p in found)
        main = (f"<h1>{h(wf.title or wf.name)}</h1><p class=\"sub\">{h(wf.name)} · {len(wf.steps)} steps · "
                + _validity(wf.valid, len(wf.errors)) + "</p>"
                + (f"<h2>Validation</h2><ul class=\"problems\">{problems}</ul>" if problems else "")
                + "<section class=\"cols\"><div><h2>Steps</h2>" + self.step_map(wf)
                + f"<details><summary>Mermaid diagram (text)</summary><pre class=\"text\">{h(mermaid(wf))}</pre>"
                "</details></div><div><h2>Definition</h2><article class=\"md\">" + markdownish(wf.text)
                + "</article></div></section>")
        return self.page(wf.title or wf.name, main, req)

    def login_page(self, req: UIRequest, error: str = "", status: int = 200) -> UIResponse:
        if not self.token:
            return UIResponse(303, "", headers=[("Location", "/")])
        nxt = req.query.get("next") or req.form.get("next") or "/"
        nxt = nxt if _UI_NEXT_RE.fullmatch(nxt) else "/"
        main = ("<h1>Log in</h1><form class=\"login\" method=\"post\" action=\"/login\">"
                + (f"<p class=\"problem\">{h(error)}</p>" if error else "")
                + f"<label>ORCHESTRATOR_AUTH_TOKEN <input type=\"password\" name=\"token\" autofocus "
                f"autocomplete=\"current-password\"></label><input type=\"hidden\" name=\"csrf\" "
                f"value=\"{h(self.csrf_token())}\"><input type=\"hidden\" name=\"next\" value=\"{h(nxt)}\">"
                "<button type=\"submit\">Log in</button></form>")
        return self.page("Log in", main, req, status)

    def login(self, req: UIRequest) -> UIResponse:
        if not self.token:
            return UIResponse(303, "", headers=[("Location", "/")])
        if not same_secret(req.form.get("token", "").strip(), self.token):
            return self.login_page(req, "That is not the token this ui was started with.", 401)
        nxt = req.form.get("next") or "/"
        if not _UI_NEXT_RE.fullmatch(nxt):  # a path of this ui, nothing a header or another site could use
            nxt = "/"
        cookie = f"{self.cookie_name}={self.session_value()}; HttpOnly; SameSite=Strict; Path=/"
        return UIResponse(303, "", headers=[("Location", nxt), ("Set-Cookie", cookie)])


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _validity(valid: bool, errors: int) -> str:
    return "valid" if valid else f'<span class="bad">invalid: {_plural(errors, "error")}</span>'


def _url_quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="/")


_MD_INLINE = (
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), r'\1 <span class="url">(\2)</span>'),
)


def markdownish(text: str) -> str:
    """A definition as readable HTML: headings, fences, lists, paragraphs, code spans.

    Each line is escaped first and only then given markup, so nothing in the
    definition can become a tag; links are shown, never made clickable.
    """
    out: list[str] = []
    para: list[str] = []
    lists: list[str] = []
    fence: str | None = None

    def inline(line: str) -> str:
        line = h(line)
        for pattern, repl in _MD_INLINE:
            line = pattern.sub(repl, line)
        return line

    def flush() -> None:
        if para:
            out.append("<p>" + " ".join(para) + "</p>")
            para.clear()
        while lists:
            out.append(f"</{lists.pop()}>")

    for raw in text.splitlines():
        if fence is not None:
            if raw.strip().startswith(fence):
                out.append("</code></pre>")
                fence = None
            else:
                out.append(h(raw) + "\n")
            continue
        fence_match = _FENCE_RE.match(raw)
        if fence_match:
            flush()
            fence = fence_match.group(1)[:3]
            out.append("<pre class=\"code\"><code>")
            continue
        heading = _HEADING_RE.match(raw)
        if heading and heading.group(2):
            flush()
            # The assembled text joins files under "## Step: NAME": show that as the top level.
            step_title = len(heading.group(1)) == 2 and heading.group(2).startswith("Step: ")
            level = 3 if step_title else min(len(heading.group(1)) + 3, 6)
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            continue
        item = _LIST_ITEM_RE.match(raw)
        if item:
            if para:
                out.append("<p>" + " ".join(para) + "</p>")
                para.clear()
            kind = "ol" if item.group(0).lstrip()[0].isdigit() else "ul"
            if not lists or lists[-1] != kind:
                while lists:
                    out.append(f"</{lists.pop()}>")
                out.append(f"<{kind}>")
                lists.append(kind)
            out.append(f"<li>{inline(item.group(2))}</li>")
            continue
        if raw.strip() == "---":
            flush()
            out.append("<hr>")
            continue
        if not raw.strip():
            flush()
            continue
        if lists:
            while lists:
                out.append(f"</{lists.pop()}>")
        para.append(inline(raw.strip()))
    flush()
    if fence is not None:
        out.append("</code></pre>")
    return "".join(out)


UI_CSS = """\
form.approval { margin: 1rem; padding: .75rem 1rem; border: 2px solid #b45309; border-radius: 6px; }
form.approval textarea { display: block; width: 100%; margin: .5rem 0; }
:root{--fg:#1d2330;--muted:#5f6b7a;--line:#dde2ea;--bg:#f6f7f9;--card:#fff;--accent:#2456d6;--accent-bg:#eaf0ff;
--ok:#1f7a44;--ok-bg:#e6f4ec;--bad:#b42318;--bad-bg:#fdecea;--warn:#8a5a00;--warn-bg:#fff4d6}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header.top{display:flex;align-items:center;gap:20px;padding:10px 24px;background:#141a26;color:#fff}
header.top a{color:#cfd8ea;text-decoration:none}header.top a:hover{color:#fff}
header.top .brand{font-weight:700;color:#fff}header.top nav{display:flex;gap:14px}
.live{margin-left:auto;font-size:12px;color:#9fb0cc}
main{padding:18px 24px 40px;max-width:1400px}
h1{font-size:22px;margin:4px 0 10px}h2{font-size:15px;margin:18px 0 8px;color:var(--muted);text-transform:uppercase;
letter-spacing:.04em}
a{color:var(--accent)}.sub{color:var(--muted);margin:0 0 12px}
form.filters{padding:10px 24px;background:var(--card);border-bottom:1px solid var(--line);display:flex;gap:14px;
align-items:center}
select,input,button{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;background:#fff}
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}
table.runs{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px;
overflow:hidden}
table.runs th,table.runs td{padding:8px 12px;text-align:left;border-bottom:1px solid var(--line)}
table.runs th{font-size:12px;color:var(--muted);background:#fafbfc;text-transform:uppercase;letter-spacing:.03em}
table.runs tr:last-child td{border-bottom:0}table.runs td.id,dd.id{font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:12px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#eef0f4;
color:var(--muted)}
.s-running{background:var(--accent-bg);color:var(--accent)}.s-completed{background:var(--ok-bg);color:var(--ok)}
.s-failed{background:var(--bad-bg);color:var(--bad)}.s-suspended,.s-approval{background:var(--warn-bg);color:var(--warn)}
.b-llm{background:#f1e8ff;color:#6b2fc4}.b-transition{background:var(--ok-bg);color:var(--ok)}
.b-stub{background:#eef0f4;color:#444}.b-error{background:var(--bad-bg);color:var(--bad)}
.b-replay{background:var(--warn-bg);color:var(--warn)}.b-start{background:var(--accent-bg);color:var(--accent)}
dl.facts{display:flex;flex-wrap:wrap;gap:8px 32px;margin:0 0 10px;background:var(--card);
border:1px solid var(--line);border-radius:8px;padding:10px 16px}
dl.facts dt{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.04em}dl.facts dd{margin:0}
#current-step{font-weight:700}.id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.changed{color:var(--warn);font-weight:600}
.notice{background:var(--warn-bg);color:var(--warn);border:1px solid #f0d48a;border-radius:8px;padding:8px 12px}
.cols{display:grid;grid-template-columns:minmax(300px,5fr) 7fr;gap:24px;align-items:start}
@media (max-width:900px){.cols{grid-template-columns:1fr}}
ol.map{list-style:none;margin:0;padding:0;position:relative}
ol.map:before{content:"";position:absolute;left:15px;top:8px;bottom:8px;width:2px;background:var(--line)}
li.step{position:relative;margin:0 0 8px 0;padding:8px 10px 8px 40px;background:var(--card);
border:1px solid var(--line);border-radius:8px}
li.step .num{position:absolute;left:4px;top:8px;width:24px;height:24px;border-radius:12px;background:#e3e7ee;
color:var(--muted);font-size:12px;font-weight:700;display:flex;align-items:center;justify-content:center}
li.step.visited .num{background:var(--ok-bg);color:var(--ok)}
li.step.current{border:2px solid var(--accent);background:var(--accent-bg);box-shadow:0 0 0 3px rgba(36,86,214,.12)}
li.step.current .num{background:var(--accent);color:#fff}
li.step .head{display:flex;gap:8px;align-items:center;flex-wrap:wrap}li.step .name{font-weight:600}
.tag{font-size:11px;padding:0 7px;border-radius:9px;background:#eef0f4;color:var(--muted)}
.tag.now{background:var(--accent);color:#fff}.tag.visits{background:var(--ok-bg);color:var(--ok)}
ul.edges{list-style:none;margin:4px 0 0;padding:0;font-size:13px;color:var(--muted)}
li.edge{padding:1px 0}li.edge .label{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;
background:#f1f3f6;border-radius:4px;padding:0 5px;color:var(--fg)}
li.edge.taken .label{background:var(--ok-bg);color:var(--ok)}li.edge.judged .label{background:#f1e8ff;color:#6b2fc4}
li.edge .count{font-size:11px;color:var(--ok)}li.edge.none{font-style:italic}
ul.ends{list-style:none;display:flex;gap:8px;padding:0 0 0 40px;margin:4px 0 12px}
li.terminal{padding:3px 12px;border-radius:14px;border:1px dashed #b8c0cc;font-size:12px;font-weight:600;
color:var(--muted)}li.terminal.reached{border:2px solid var(--ok);color:var(--ok);background:var(--ok-bg)}
ol.timeline{list-style:none;margin:0;padding:0}
li.entry{background:var(--card);border:1px solid var(--line);border-left:4px solid #c5ccd6;border-radius:6px;
padding:8px 12px;margin-bottom:8px}
li.entry.by-llm{border-left-color:#8b5cf6}li.entry.by-transition{border-left-color:var(--ok)}
li.entry.by-error{border-left-color:var(--bad)}li.entry.by-start{border-left-color:var(--accent)}
li.entry .line{display:flex;gap:8px;align-items:baseline;flex-wrap:wrap}
.when{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:var(--muted)}
.from,.to{font-weight:600}.outcome{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;
background:#f1f3f6;padding:0 5px;border-radius:4px}.arrow{color:var(--muted)}li.entry .by{margin-left:auto}
.field{margin-top:4px}.key{font-size:11px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
pre{margin:2px 0;white-space:pre-wrap;word-break:break-word;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre.text,pre.json,pre.code{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:6px 8px}
p.reasoning{margin:4px 0 0;color:var(--muted);font-style:italic}
details{margin:8px 0}summary{cursor:pointer;color:var(--accent)}
.md{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:4px 16px;max-height:80vh;
overflow:auto}.md h3{font-size:18px;border-top:1px solid var(--line);padding-top:12px}.md h3:first-child{border-top:0}
.md h4{font-size:15px}.md h5{font-size:14px}.md hr{display:none}.md .url{color:var(--muted);font-size:12px}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f1f3f6;padding:0 3px;border-radius:3px}
ul.problems li.error{color:var(--bad)}ul.problems li.warning{color:var(--warn)}
.kind{font-size:11px;text-transform:uppercase}.bad{color:var(--bad);font-weight:600}
.problem{color:var(--bad)}.empty{color:var(--muted)}
form.login{display:flex;flex-direction:column;gap:10px;max-width:360px}
"""

UI_JS = """\
// Live refresh: re-fetch this page's <main> every few seconds (no framework, no other origin).
(function () {
  var main = document.querySelector("main[data-live]");
  var status = document.getElementById("live-status");
  if (!main) { return; }
  var every = parseInt(main.getAttribute("data-live"), 10) || 2000;
  var last = null, busy = false;
  function tick() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(location.href, {headers: {"X-Live": "1"}, credentials: "same-origin", cache: "no-store"})
      .then(function (r) {
        if (r.status === 401) {  // signed out (the ui restarted with another token): log in again
          location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
        }
        if (!r.ok) { throw new Error("HTTP " + r.status); }  // never "updated" while the page is not
        return r.text();
      })
      .then(function (text) {
        if (text !== last) {
          var open = Array.prototype.map.call(main.querySelectorAll("details[open][id]"),
                                              function (d) { return d.id; });
          if (last !== null) { main.innerHTML = text; }
          open.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
          last = text;
        }
        if (status) { status.textContent = "live \\u00b7 updated " + new Date().toLocaleTimeString(); }
      })
      .catch(function (e) {
        var why = e && /^HTTP /.test(e.message) ? " (" + e.message + ")" : "";
        if (status) { status.textContent = "offline: retrying" + why; }
      })
      .then(function () { busy = false; });
  }
  tick();
  setInterval(tick, every);
})();
"""


def make_ui_server(engine: Engine, host: str, port: int, token: str | None,
                   per_address: int | None = None) -> Any:
    """An http.server bound to ``host:port`` (0 = a free port) serving a WebView.

    A thread per connection, at most ``UI_THREADS`` at once (beyond that a connection
    is answered 503 at once, never left waiting in the kernel's queue), and each
    request must arrive whole within ``UI_REQUEST_S``: a client that trickles bytes or
    sends nothing holds one thread for that long, never the others.  The state
    store's pool is shared by the threads.
    """
    import socket
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qsl, urlsplit

    slots = threading.BoundedSemaphore(UI_THREADS)
    # On loopback every client, the person's browser included, is 127.0.0.1: no cap there.
    cap = per_address or (UI_THREADS if is_loopback(host) else UI_THREADS_PER_ADDRESS)
    current = threading.local()  # the deadline of the request this thread reads
    per_address: dict[str, int] = {}  # connections each client address holds now
    counting = threading.Lock()

    class Server(ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 64  # a burst of connections waits in the kernel instead of being reset

        def process_request(self, request: Any, client_address: Any) -> None:
            address = str(client_address[0])
            with counting:
                mine = per_address.get(address, 0)
                if mine < cap:
                    per_address[address] = mine + 1
            if mine >= cap or not slots.acquire(blocking=False):
                if mine < cap:
                    self._done(address)
                # Every slot busy (a flood of idle connections, say): answer at once rather than
                # stop accepting, which would leave everyone else in the kernel's queue.
                with contextlib.suppress(OSError):
                    request.settimeout(0.01)  # take what the client sent, so closing sends no reset
                    request.recv(65536)
                with contextlib.suppress(OSError):
                    request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\n"
                                    b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\n\r\n"
                                    b"Busy: retry shortly\n")
                self.shutdown_request(request)
                return
            try:
                super().process_request(request, client_address)
            except BaseException:
                slots.release()
                self._done(address)
                raise

        @staticmethod
        def _done(address: str) -> None:
            with counting:
                per_address[address] -= 1
                if not per_address[address]:
                    del per_address[address]

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            # The whole request, headers and body, within UI_REQUEST_S of being accepted:
            # a per-read timeout alone lets a client send one byte every few seconds forever.
            deadline = threading.Timer(UI_REQUEST_S, lambda: _shut(request))
            deadline.daemon = True
            deadline.start()
            current.deadline = deadline
            try:
                super().process_request_thread(request, client_address)
            finally:
                deadline.cancel()
                slots.release()
                self._done(str(client_address[0]))

        def handle_error(self, request: Any, client_address: Any) -> None:
            exc = sys.exc_info()[1]
            if isinstance(exc, (ConnectionError, TimeoutError, OSError)):  # a client went away, or took too long
                log.debug("ui: %s: %s", client_address, exc)
                return
            log.error("ui: a request failed", exc_info=exc)

    def _shut(sock: Any) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    class Handler(BaseHTTPRequestHandler):
        server_version = "orchestrator-mcp-ui"
        sys_version = ""
        timeout = UI_REQUEST_S  # each read; the whole request has the same deadline (``Server``)

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("ui: " + fmt, *args)

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            form: dict[str, str] = {}
            if method == "POST":
                text = (self.headers.get("Content-Length") or "").strip()
                if self.headers.get("Transfer-Encoding"):
                    self.send_error(411, "send the form with a Content-Length")
                    return
                if not text.isascii() or not text.isdigit():  # "-1" would read to the end of the stream
                    self.send_error(400 if text else 411, "a form needs a Content-Length of 0 or more bytes")
                    return
                length = int(text)
                if length > UI_FORM_BYTES:
                    self.send_error(413)
                    return
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the client went away mid-body
                form = dict(parse_qsl(body.decode("utf-8", "replace")))
            current.deadline.cancel()  # the request is in: the reply may take its time
            req = UIRequest(method, parts.path, dict(parse_qsl(parts.query)), self.headers, form)
            resp = view.handle(req)
            body = resp.body.encode("utf-8")
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", UI_CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Referrer-Policy", "no-referrer")
            for name, value in resp.headers:
                self.send_header(name, re.sub(r"[\r\n]", "", value))  # a value is never a header of its own
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def do_POST(self) -> None:
            self._serve("POST")

    httpd = Server((host, port), Handler)
    bound = httpd.server_address[1]
    allowed = None
    if is_loopback(host):
        allowed = {f"{name}:{bound}" for name in ("127.0.0.1", "localhost", "[::1]", host)}
    view = WebView(engine, token=token, allowed_hosts=allowed)
    httpd.view = view  # type: ignore[attr-defined]
    return httpd


# =============================================================================
# 8. Command line
#    ``serve`` (the default), ``check``, ``run``, ``demo``, ``diagram``, the
#    tools as commands for people (``list``, ``status``, ``cancel``,
#    ``workflows``, ``validate``), ``ui``, ``test`` (workflow scenarios) and
#    ``approve``.  Global flags work before or after the subcommand.  Bad
#    configuration ends in one stderr line and exit code 2.
# =============================================================================

def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _out(text: str = "") -> None:
    """Terminal output for the interactive commands (never used by ``serve``)."""
    sys.stdout.write(terminal_safe(text) + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    """One message for a person on stderr, terminal-safe like ``_out``."""
    sys.stderr.write(terminal_safe(text) + "\n")


def _record(text: str) -> str:
    """One output record on one line: a line break inside it (a folder or file name may hold
    one) is shown as ``\\n``, so a planted name cannot print lines that pass for ``check``'s own."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def cmd_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Validate every workflow under the roots; 0 all valid, 1 any invalid, 2 bad root.

    A folder with an ``index.md`` is a workflow rather than a root: that one is checked,
    in its parent folder, which is what an author who just wrote it means."""
    roots: list[Path] = []
    whole: set[str] = set()  # roots whose every workflow is checked, and single workflow folders
    if args.dirs:
        for given in map(Path, args.dirs):
            if not given.is_dir():
                raise ConfigError(f"{given} is not a directory")
            whole.add(os.path.abspath(given))
            # abspath, not Path.absolute(): it folds '..', so `check ..` from steps/ means the
            # workflow folder above, whose parent is the root (absolute() would keep '..' and
            # make the "parent" the steps/ folder itself, where no workflow is).
            roots.append(Path(os.path.abspath(given)).parent if (given / "index.md").is_file() else given)
    else:
        roots = list(Config.load(env, workflows=args.workflows).workflow_roots)
        whole = {os.path.abspath(root) for root in roots}
    library = Library(list(dict.fromkeys(roots)))
    workflows = [wf for wf in library.all()
                 if os.path.abspath(wf.directory) in whole or os.path.abspath(wf.directory.parent) in whole]
    invalid = 0

    def say(text: str) -> None:
        _out(_record(text))

    def shown(wf: WorkflowDef, problem: Problem, kind: str) -> str:
        # Problems are root-relative; print a path the user's editor can open from here.
        full = wf.directory.parent / problem.file
        rel = os.path.relpath(full)
        return f"{full if rel.startswith('..') else rel}:{problem.line}: {problem.message}: {kind}"

    for wf in workflows:
        for problem in wf.errors:
            say(shown(wf, problem, "error"))
        for problem in wf.warnings:
            say(shown(wf, problem, "warning"))
        scenarios, scenario_errors = parse_scenarios(wf, wf.directory.parent)
        if wf.valid:
            scenario_errors += lint_scenarios(wf, scenarios, wf.directory.parent)
        for problem in scenario_errors:
            say(shown(wf, problem, "error"))
        tested = f", {_plural(len(scenarios), 'scenario')}" if scenarios else ""
        if wf.valid and not scenario_errors:
            say(f"{wf.name}: ok ({_plural(len(wf.steps), 'step')}, {_plural(len(wf.warnings), 'warning')}{tested})")
        elif wf.valid:  # the definition is fine (validate says ok); its scenario files are not
            invalid += 1
            say(f"{wf.name}: SCENARIOS INVALID ({_plural(len(scenario_errors), 'error')} in its tests; the "
                f"definition itself is valid, {_plural(len(wf.warnings), 'warning')})")
        else:
            invalid += 1
            say(f"{wf.name}: INVALID ({_plural(len(wf.errors) + len(scenario_errors), 'error')}, "
                f"{_plural(len(wf.warnings), 'warning')})")
    where = ', '.join(args.dirs or [str(r) for r in roots])
    if not workflows:  # a mistyped or empty folder must not pass as "all valid"
        say(f"no workflows in {where}: a workflow is a folder holding an index.md (folders starting with '_' or "
            "'.' are shared files, not workflows)")
        return 1
    say(f"checked {_plural(len(workflows), 'workflow')} in {where}: {len(workflows) - invalid} valid, {invalid} invalid")
    return 1 if invalid else 0


#: MCP tool names in engine messages, and the command a person at a terminal uses instead.
CLI_EQUIVALENTS = {
    "list_workflows": "orchestrator-mcp workflows",
    "list_instances": "orchestrator-mcp list",
    "start_workflow": "orchestrator-mcp run WORKFLOW",
    "resume_workflow": "orchestrator-mcp run --resume ID",
    "advance_workflow": "orchestrator-mcp run --resume ID",
    "get_workflow_status": "orchestrator-mcp status ID",
    "cancel_workflow": "orchestrator-mcp cancel ID",
    "validate_workflow": "orchestrator-mcp validate NAME",
}
_TOOL_MENTION_RE = re.compile(r"\b(call )?(" + "|".join(CLI_EQUIVALENTS) + r")\b")


def cli_text(message: str) -> str:
    """Engine messages speak to MCP clients ("call list_workflows"); a person at a
    terminal cannot call tools, so name the command that does the same."""
    return _TOOL_MENTION_RE.sub(lambda m: ("run " if m.group(1) else "") + f"`{CLI_EQUIVALENTS[m.group(2)]}`",
                                message)


def _print_json(value: Any) -> None:
    """``--json`` output: exactly the structured result the MCP tool returns, as JSON."""
    _out_json(plain(value))


def _out_json(value: Any, indent: int | None = 2) -> None:
    sys.stdout.write(terminal_safe_json(value, indent) + "\n")
    sys.stdout.flush()


def _cell(value: Any, width: int) -> str:
    text = " ".join(str("" if value is None else value).split())
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[int]) -> None:
    """A plain aligned table: cells on one line each, long ones cut with an ellipsis."""
    cells = [[_cell(v, w) for v, w in zip(row, widths)] for row in rows]
    sizes = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    for row in [list(headers)] + cells:
        _out("  ".join(c.ljust(sizes[i]) for i, c in enumerate(row)).rstrip())


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """'5s ago', '3m ago', '2h ago', '4d ago' from a stored ISO-8601 UTC timestamp."""
    if not timestamp:
        return ""
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _engine(config: Config, decider: "StubDecider | AgentDecider | LLMDecider | None" = None,
            writes: bool = True) -> Engine:
    """The same engine and database the server uses; SQLite's WAL lets both run at once."""
    return Engine(Library(config.workflow_roots), open_store(config, writes), decider or StubDecider(),
                  config.command)


@contextlib.contextmanager
def _engine_session(config: Config, writes: bool = True) -> Iterator[Engine]:
    """An engine for one command; its store is closed however the command ends."""
    engine = _engine(config, writes=writes)
    try:
        yield engine
    finally:
        engine.store.close()


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    with _engine_session(config, writes=False) as engine:
        found = engine.list_instances(args.status, args.workflow, args.limit)
    if args.json:
        _print_json(found)
        return 0
    if not found.instances:
        _out("no runs" + (" match these filters" if args.status or args.workflow else " yet; start one with "
                          "`orchestrator-mcp run WORKFLOW`"))
        return 0
    _table(("INSTANCE", "WORKFLOW", "STATUS", "STEP", "UPDATED"),
           [(i.instance_id, i.workflow_name, "APPROVAL" if i.awaiting_approval else i.status, i.current_step_name,
             age(i.updated_at)) for i in found.instances], (32, 28, 9, 32, 10))
    return 0


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line.strip() else "" for line in text.splitlines())


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    with _engine_session(config, writes=False) as engine:
        st = engine.status(args.instance_id, args.history)
    if args.json:
        _print_json(st)
        return 0
    _out(f"instance   {st.instance_id}")
    _out(f"workflow   {st.workflow_name}")
    _out(f"status     {st.status}" + ("   (the definition changed since this run's last step)"
                                      if st.definition_changed else ""))
    _out(f"step       {st.current_step_name}")
    _out(f"created    {st.created_at}   updated {st.updated_at} ({age(st.updated_at)})"
         + (f"   completed {st.completed_at}" if st.completed_at else ""))
    _out(f"context    {json.dumps(st.context, ensure_ascii=False)}")
    if st.history:
        _out(f"\nhistory (oldest first, last {len(st.history)}):")
        _table(("TIME", "STEP", "REPORTED", "NEXT", "BY", "REASONING"),
               [(h.timestamp, h.step_name, h.outcome_status, h.determined_next_step or "(no move)", h.decided_by,
                 h.reasoning) for h in st.history], (24, 28, 16, 28, 10, 60))
    if st.next_step and st.status in (RUNNING, SUSPENDED):
        _out(f"\nnext: {st.next_step.step_name}\n")
        _out(_indent(st.next_step.instructions))
        _out(f"\ncontinue it with: {resume_command(config, st.instance_id)}")
    return 0


def cmd_cancel(args: argparse.Namespace, config: Config) -> int:
    with _engine_session(config) as engine:
        st = engine.cancel(args.instance_id, args.reason)
    if args.json:
        _print_json(st)
        return 0
    _out(f"cancelled {st.instance_id} ({st.workflow_name}, at step {st.current_step_name!r})")
    return 0


def cmd_workflows(args: argparse.Namespace, config: Config) -> int:
    found = _engine_without_store(config).list_workflows(detail=not args.json)  # --json: the tool's default
    if args.json:
        _print_json(found)
        return 0
    _table(("NAME", "STEPS", "VALID", "TITLE"),
           [(w.name, w.step_count, "yes" if w.valid else f"NO ({_plural(len(w.errors or []), 'error')})", w.title)
            for w in found.workflows], (40, 5, 16, 60))
    if any(not w.valid for w in found.workflows):
        _out("\n`orchestrator-mcp validate NAME` lists a workflow's errors with file and line")
    return 0


def _engine_without_store(config: Config) -> Engine:
    """An engine for definition-only commands; its store is never opened."""
    return Engine(Library(config.workflow_roots), StateStore(config.db_path), StubDecider(), config.command)


def cmd_validate(args: argparse.Namespace, config: Config) -> int:
    result = _engine_without_store(config).validate(args.workflow)
    if args.json:
        _print_json(result)
        return 0 if result.valid else 1
    for kind, problems in (("error", result.errors), ("warning", result.warnings)):
        for p in problems:
            _out(_record(f"{p['file']}:{p['line']}: {p['message']}: {kind}"))
    _out(f"{result.workflow_name}: " + ("ok" if result.valid else "INVALID")
         + f" ({_plural(len(result.errors), 'error')}, {_plural(len(result.warnings), 'warning')})")
    return 0 if result.valid else 1


def cmd_diagram(args: argparse.Namespace, config: Config) -> int:
    """The Mermaid flowchart; an invalid workflow lists its errors and exits 1, since a
    diagram of it would silently leave out the broken edges."""
    wf = Library(config.workflow_roots).load(args.workflow)
    if not wf.valid:
        _err(f"orchestrator-mcp: workflow {wf.name!r} is invalid; fix these first:")
        for problem in wf.errors:
            _err(f"  {_record(str(problem))}")
        return 1
    sys.stdout.write(terminal_safe(mermaid(wf)))
    return 0


# -- run: a person drives a workflow at the terminal --------------------------


def _read_line(prompt: str) -> str | None:
    """One line from stdin (TTY or pipe), without its newline; None at end of input."""
    sys.stdout.write(terminal_safe(prompt))
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    line = line.rstrip("\r\n")
    if not sys.stdin.isatty():  # echo piped answers so the transcript reads like a session
        _out(line)
    return line


def ask_status(step: StepDef | None, judge: str | None) -> str | None:
    """The step's declared statuses as a numbered menu; None at end of input.

    Enter picks ``success`` only when the step lists it or has no transitions, so
    Enter never accepts something the user did not choose. A word outside the menu
    is taken only where something other than the table decides: a ``default``
    transition, or an LLM; under the stub it would just walk the index order.
    """
    transitions = step.transitions if step else {}
    declared = expected_statuses(step) if step else []  # a gate's 'rejected' is a person's answer, not a report
    fallback = transitions.get("default")
    default = "success" if not transitions or "success" in declared else None
    free = not declared or bool(fallback) or judge is not None
    if declared:
        _out("Report status:")
        width = max(len(s) for s in declared)
        for i, status in enumerate(declared, 1):
            _out(f"  {i}) {status.ljust(width)}  -> {transitions[status]}")
        if fallback:
            _out(f"     any other word -> {fallback}")
        elif judge is not None:
            _out(f"     any other word: {judge}")
    choices = f"1-{len(declared)}" if len(declared) > 1 else "1" if declared else ""
    if free:
        choices += " or a word" if choices else "a word"
    if default:
        choices += ", Enter = success"
    prompt = f"status [{choices}]: "
    while True:
        line = _read_line(prompt)
        if line is None:
            return None
        text = line.strip()
        if not text and default:
            return default
        number = _menu_number(text)
        if number is not None and declared and 1 <= number <= len(declared):
            return declared[number - 1]
        if text.lower() in declared:
            return text.lower()
        # A number is a menu choice, never a status word: one off the menu is asked again.
        if text and free and len(text) <= 200 and not (number is not None and declared):
            return text
        numbers = f"1-{len(declared)}" if len(declared) > 1 else "1"
        _out(f"  choose {numbers} or one of: {', '.join(declared)}" if declared
             else "  type a status word (up to 200 characters)")


def _not_json(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")


def _finite(text: str) -> float:
    """A JSON number that fits a float (``1e999`` would be infinity, which JSON cannot hold)."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is too large for a number")
    return value


def typed_value(text: str, what: str) -> Any:
    """A value typed at the terminal (``--context KEY=VALUE``, a ``context.KEY=VALUE`` result
    line, an evidence field): JSON when it is JSON (``3``, ``true``, ``"x"``, ``{"a": 1}``),
    else the text as typed.  One rule for all three, so a value means the same wherever it is
    typed.  ``NaN``, ``Infinity`` and ``1e999`` are not JSON numbers, so they stay text; JSON
    nested past Python's own limit is refused, as the engine refuses anything past 64 levels."""
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except ValueError:
        return text
    except RecursionError:
        raise InvalidArgument(f"{what}: the value is nested deeper than {MAX_JSON_DEPTH} levels; "
                              "flatten it") from None


def _menu_number(text: str) -> int | None:
    """A menu choice typed as a number: ASCII digits only (``'²'.isdigit()`` is true, and
    ``int`` refuses it), short enough for ``int``; anything else is a word."""
    return int(text) if re.fullmatch(r"[0-9]{1,6}", text) else None


_CONTEXT_LINE_RE = re.compile(r"^context\.([A-Za-z_][A-Za-z0-9_-]{0,99})\s*=\s?(.*)$")
_CONTEXT_UPDATES_RE = re.compile(r"context_updates:\s*\{([^}]*)\}")


def context_lines(text: str) -> tuple[dict[str, Any], str]:
    """A typed result split into ``context.KEY=VALUE`` lines (the context updates a step asks
    an agent to send; each value read by ``typed_value``) and the rest."""
    updates: dict[str, Any] = {}
    rest = []
    for line in text.split("\n") if text else []:
        m = _CONTEXT_LINE_RE.match(line.strip())
        if m is None:
            rest.append(line)
            continue
        updates[m.group(1)] = typed_value(m.group(2), f"context.{m.group(1)}")
    return updates, "\n".join(rest).strip("\n")


def ask_result(instructions: str = "") -> str | None:
    """A multi-line ``result``, ended by an empty line (or end of input); None if
    input ended before anything was typed."""
    keys = sorted({k for body in _CONTEXT_UPDATES_RE.findall(instructions) for k in re.findall(r'"(\w+)"\s*:', body)})
    if keys:  # the step asks an agent for context_updates: say how a person sends them
        _out(f"(this step sets context: add a line like context.{keys[0]}=VALUE for "
             f"{', '.join(keys)}; such lines are not part of the result)")
    _out("result (what the step asks for; several lines allowed, an empty line ends it):")
    lines: list[str] = []
    while True:
        line = _read_line("  | " if sys.stdin.isatty() else "")
        if line is None:
            return "\n".join(lines) if lines else None
        if not line.strip():
            return "\n".join(lines)
        lines.append(line)


#: What ``run``'s approval prompt takes for yes and for no.
_APPROVE_WORDS, _REJECT_WORDS = ("a", "approve", "y", "yes"), ("r", "reject", "n", "no")


def _ask_approval(proposed: str) -> bool | None:
    """The person's answer at a gate: True approves, False rejects, None (Enter or end of
    input) leaves the run waiting.  Anything else asks again: a stray word never decides."""
    while True:
        answer = _read_line(f"approve going on to '{proposed}'? [a]pprove / [r]eject / Enter: decide later: ")
        word = (answer or "").strip().lower()
        if not word:
            return None
        if word in _APPROVE_WORDS or word in _REJECT_WORDS:
            return word in _APPROVE_WORDS
        _out("type a (approve) or r (reject), or press Enter to leave it waiting")


def resume_command(config: Config, instance_id: str) -> str:
    """The exact command that continues this run."""
    return config.command("run", "--resume", instance_id)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (containers): still say where it came from
        return "unknown user"


def _answer_questions(engine: Engine, progress: Progress, report: dict[str, Any],
                      updates: dict[str, Any] | None = None) -> Progress | None:
    """Advance; when the agent decider asks, the person at the terminal is the agent."""
    progress = engine.advance(progress.instance_id, report, updates, replayable=False)  # in-process: no lost reply
    while progress.routing_question is not None:
        question = progress.routing_question
        names = [c.step_name for c in question.candidates]
        _out("\n" + question.render(for_agent=False) + "\n\nWhich step comes next?\n" + "\n".join(
            f"  {i}) {c.step_name}: {c.description}" for i, c in enumerate(question.candidates, 1)))
        while True:
            answer = _read_line(f"choose the next step [1-{len(names)} or a name, Enter = {names[0]}]: ")
            if answer is None:
                return None
            word = answer.strip()
            by_name = {n.lower(): n for n in names}
            number = _menu_number(word)
            choice = (names[0] if not word else names[number - 1] if number is not None and 0 < number <= len(names)
                      else by_name.get(word.lower()))
            if choice is not None:
                break
            _out(f"  {word!r} is not one of the steps above: type 1-{len(names)} or a name")
        progress = engine.advance(progress.instance_id, {**report, "choose_step": choice}, updates, replayable=False)
    return progress


def cmd_approve(args: argparse.Namespace, config: Config) -> int:
    """A person approves (or rejects) leaving a gated step, from outside any MCP client."""
    with _engine_session(config) as engine:  # the configured store: the SQLite file or PostgreSQL
        try:
            progress = engine.approve(args.instance_id, not args.reject, args.comment,
                                      f"{_user()} (orchestrator-mcp approve)")
        except DefinitionNotFound as exc:  # the run's workflow lives in the server's own roots
            raise DefinitionNotFound(f"{exc.message}; if the server has its own workflow roots, give them with "
                                     "--workflows DIR (the hint the server prints has them)") from None
    _out(f"{'rejected' if args.reject else 'approved'}: instance {progress.instance_id} is {progress.status} "
         f"at {progress.next_step.step_name}")
    return 0


def read_result_file(name: str) -> str:
    """``--result-file``'s text for the first report, read no further than a report may be
    (``MAX_JSON_BYTES``): a large log chosen by mistake, or ``/dev/zero``, is one clear
    error instead of the whole file in memory."""
    try:
        with open(name, "rb") as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise InvalidArgument(f"cannot read --result-file {name!r}: {exc}") from None
    if len(data) > MAX_JSON_BYTES:
        raise InvalidArgument(f"--result-file {name!r} is larger than {MAX_JSON_BYTES} bytes (1 MiB), the limit "
                              "for a report; pass a shorter text, or the file's path in it")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"cannot read --result-file {name!r}: {exc}") from None
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")  # as text mode reads it


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """Drive a workflow at the terminal with the same engine and database.

    The terminal belongs to the conversation (log lines below WARNING are hidden: see
    ``TERMINAL_COMMANDS``).
    """
    result_text: str | None = None
    if args.result_file:
        result_text = read_result_file(args.result_file)
    engine = _engine(config, make_decider(config))
    # Who judges a status outside the menu: an LLM, or (agent) the person, asked the routing question.
    judge = ("you choose the next step, from the step's guidance" if config.provider == "agent"
             else "the LLM decides from the step's guidance" if config.provider in ("gemini", "openai") else None)
    instance_id: str | None = None  # set once the run is under way: then it can be resumed
    try:
        if args.resume:
            status = engine.status(args.resume, 0)
            # A run waiting at a gate: the person at the terminal is the one to answer it.
            progress = (engine.waiting(args.resume) if status.awaiting_approval
                        else engine.resume(args.resume, status.current_step_name))
        else:
            if not args.workflow:
                raise InvalidArgument("run needs a WORKFLOW name or --resume ID")
            context: dict[str, Any] = {}
            for item in args.context or []:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise InvalidArgument(f"--context takes key=value, got {item!r}")
                context[key] = typed_value(value, f"--context {key}")
            progress = engine.start(args.workflow, context)
        instance_id = progress.instance_id
        _out(f"instance {progress.instance_id} ({progress.workflow_name}); "
             "Ctrl-C or end of input saves the run and stops")
        while True:
            step = progress.next_step
            if progress.status in (COMPLETED, FAILED_STATUS, CANCELLED):
                _out(f"\n== {step.step_name} ==\n{step.instructions}")
                return 0 if progress.status == COMPLETED else 1
            if progress.awaiting_approval:
                # The person at the terminal is the user, so they may answer the gate here.
                _out(f"\n== Approval needed: {step.step_name} ==\n\n{progress.awaiting_approval['approval']}\n")
                approve = _ask_approval(progress.awaiting_approval["proposed_next_step"])
                # End of input at the comment: the decision stands, without one.
                comment = (_read_line("comment (optional): ") or "") if approve is not None else None
                if approve is None or comment is None:
                    _out(f"\nstill waiting for approval; later: {config.command('approve', progress.instance_id)}")
                    return 130
                progress = engine.approve(progress.instance_id, approve, comment.strip() or None,
                                          f"{_user()} (orchestrator-mcp run)")
                _out(f"-> {progress.next_step.step_name}  [{progress.reasoning}]")
                continue
            _out(f"\n== Step: {step.step_name} ==\n\n{step.instructions}\n")
            step_def = engine.library.load(progress.workflow_name).step(step.step_name)
            status_text = ask_status(step_def, judge)
            if status_text is not None and result_text is None:
                result_text = ask_result(step.instructions)
            report: dict[str, Any] = {"step_id": step.step_name, "status": status_text}
            typed: list[tuple[ReportField, str]] = []
            for f in step.report_fields if status_text is not None else []:
                value = _read_line(f"{f.name} ({f.type}{', required' if f.required else ''}): ")
                if value is None:
                    status_text = None
                    break
                typed.append((f, value))
            if status_text is None:
                _out(f"\nend of input; the run is saved. Resume it with:\n  {resume_command(config, instance_id)}")
                return 130
            typed_result, result_text = result_text or "", None
            try:
                for f, value in typed:  # a wrong type stays text: the engine names it
                    if value.strip():
                        report[f.name] = value.strip() if f.type == "text" else typed_value(value.strip(), f.name)
                updates, typed_result = context_lines(typed_result)
                if typed_result:
                    report["result"] = typed_result
                answered = _answer_questions(engine, progress, report, updates)
            except InvalidArgument as exc:  # an unplanned status, missing evidence, too deep a value: ask again
                _out(f"{exc.message}")
                continue
            if answered is None:
                _out(f"\nend of input; the run is saved. Resume it with:\n  {resume_command(config, instance_id)}")
                return 130
            progress = answered
            _out(f"-> {progress.next_step.step_name}  [decided by {progress.decided_by}] {progress.reasoning}")
    except KeyboardInterrupt:
        if instance_id:
            _out(f"\ninterrupted; the run is saved. Resume it with:\n  {resume_command(config, instance_id)}")
        else:
            _out("\ninterrupted before the run started; nothing was saved")
        return 130
    except OrchestratorError as exc:
        if not instance_id or isinstance(exc, ConfigError):
            raise
        _err(f"orchestrator-mcp: {exc.code}: {cli_text(exc.message)}")
        _out(f"the run is saved. Resume it with:\n  {resume_command(config, instance_id)}")
        return 1
    finally:
        engine.store.close()


async def _demo_session(db_path: Path) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    # The script is written for the bundled JOKE_GENERATOR: the demo uses the bundled library
    # whatever roots are configured (a root of one's own need not hold it).
    env = {"WORKFLOW_DB_PATH": str(db_path), "AI_PROVIDER": "stub", "LOG_LEVEL": "warning",
           "WORKFLOW_DEFINITIONS_DIR": str(bundled_workflows_dir())}
    params = StdioServerParameters(command=sys.executable, args=[str(Path(__file__).resolve()), "serve"], env=env)
    reports = [("Pick a Topic", {"status": "success", "result": "topic: databases"}),
               ("Tell the Joke", {"status": "success", "result": "Why did the DBA leave? Too many relations."}),
               ("Get Feedback", {"status": "another", "message": "the user wants another one"}),
               ("Tell the Joke", {"status": "success", "result": "SELECT * FROM jokes WHERE funny = 1; 0 rows."}),
               ("Get Feedback", {"status": "done", "message": "the user laughed"})]
    async with Client(params, mode="legacy") as client:
        names = [t.name for t in (await client.list_tools()).tools]
        _out(f"connected over stdio to orchestrator-mcp; tools: {', '.join(names)}")
        result = await client.call_tool("start_workflow", {"workflow_name": "JOKE_GENERATOR",
                                                           "context": {"audience": "developers"}})
        progress = result.structured_content or {}
        if result.is_error:
            raise RuntimeError(result.content[0].text)
        _out(f"started JOKE_GENERATOR as {progress['instance_id']}")
        for expected, report in reports:
            step = progress["next_step"]["step_name"]
            first_line = progress["next_step"]["instructions"].strip().splitlines()[0]
            _out(f"\nstep: {step}\n  instructions: {first_line}")
            if step != expected:
                raise RuntimeError(f"demo expected step {expected!r}, server sent {step!r}")
            _out(f"  report: {json.dumps(report)}")
            result = await client.call_tool("advance_workflow", {"instance_id": progress["instance_id"],
                                                                 "report": {"step_id": step, **report}})
            if result.is_error:
                raise RuntimeError(result.content[0].text)
            progress = result.structured_content or {}
            _out(f"  decision: -> {progress['next_step']['step_name']} ({progress['decided_by']}: "
                 f"{progress['reasoning']})")
        _out(f"\nfinished with status {progress['status']}")
        if progress["status"] != COMPLETED:
            raise RuntimeError("the demo did not reach FINISH")


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    """A scripted end-to-end session through a real MCP client over stdio."""
    import tempfile

    import anyio

    with tempfile.TemporaryDirectory(prefix="orchestrator-demo-") as tmp:
        try:
            anyio.run(_demo_session, Path(tmp) / "demo.sqlite")
        except Exception as exc:  # noqa: BLE001 - report and fail the command
            while len(getattr(exc, "exceptions", ())) == 1:  # unwrap task-group errors
                exc = exc.exceptions[0]
            if isinstance(exc, BrokenPipeError):
                raise exc from None  # the reader went away: main ends quietly, as every command does
            _err(f"orchestrator-mcp demo failed: {type(exc).__name__}: {exc}")
            return 1
    return 0


def cmd_migrate_db(args: argparse.Namespace) -> int:
    """Copy every instance and history row from one store to another (SQLite or
    PostgreSQL, either direction), in one target transaction, then compare counts."""
    args.source, args.target = args.source.strip(), args.target.strip()
    for flag, given in (("--from", args.source), ("--to", args.target)):
        if not given:
            raise ConfigError("migrate-db needs --from and --to: a SQLite file path or a postgresql:// URL")
        if not is_postgres_url(given) and (why := not_a_sqlite_path(given)):  # never echoed: may hold a password
            raise ConfigError(f"migrate-db {flag} is neither a SQLite file path nor a postgresql:// URL: it is {why}")
        if is_postgres_url(given) and (why := url_userinfo_problem(given)):
            raise ConfigError(f"migrate-db {flag}: {why}")
    if not is_postgres_url(args.source) and not Path(args.source).expanduser().is_file():
        raise ConfigError(f"migrate-db: the source {args.source!r} is not an existing SQLite file")
    if (is_postgres_url(args.source) == is_postgres_url(args.target)
            and (args.source == args.target if is_postgres_url(args.source)
                 else Path(args.source).expanduser().resolve() == Path(args.target).expanduser().resolve())):
        raise ConfigError("migrate-db: --from and --to are the same database")
    source, target = store_for(args.source).open(), store_for(args.target).open()
    try:
        if source.same_store(target):  # 127.0.0.1 and localhost, a link to the same file
            raise ConfigError("migrate-db: --from and --to are the same database")
        existing = target.counts()
        if any(existing) and not args.force:
            raise ConfigError(f"migrate-db: the target {target.location} already holds {existing[0]} instances "
                              f"and {existing[1]} history rows; pass --force to replace them")
        instances, history = source.dump()
        try:
            target.load(instances, history, replace=any(existing))
        except InvalidArgument as exc:  # PostgreSQL cannot hold a NUL: name the runs that do
            nul = "\\u0000"
            holders = list(dict.fromkeys(
                [i.instance_id for i in instances if nul in json.dumps(dataclasses.asdict(i), default=str)]
                + [h.instance_id for h in history if nul in json.dumps(dataclasses.asdict(h), default=str)]))
            if not holders:
                raise
            raise InvalidArgument(f"{exc.message}: the runs {', '.join(holders[:10])}"
                                  + (f" and {len(holders) - 10} more" if len(holders) > 10 else "")
                                  + " hold one, so nothing was copied: keep this state in SQLite, or remove "
                                  "those runs from the source first") from None
        copied, expected = target.counts(), (len(instances), len(history))
        if copied != expected:
            raise PersistenceError(f"migrate-db: the target has {copied[0]} instances and {copied[1]} history "
                                   f"rows after the copy, expected {expected[0]} and {expected[1]}",
                                   retryable=False)
        _out(f"copied {expected[0]} instances and {expected[1]} history rows from {source.location} "
             f"to {target.location}; counts verified")
        return 0
    finally:
        source.close()
        target.close()
# -- workflow tests: ``check`` lints scenarios, ``test`` runs them -----------


def lint_scenarios(wf: WorkflowDef, scenarios: Sequence[Scenario], root: Path) -> list[Problem]:
    """Walk each scenario along its expectations and flag reports that cannot mean
    what they say: a ``report`` whose status no transition matches (the stub
    refuses it; mark it ``llm report``), an ``llm report`` a transition decides
    (the LLM is never asked), a report after the run ended.  The walk stops
    where an expectation allows several steps."""
    problems: list[Problem] = []
    for scenario in scenarios:
        step: StepDef | None = wf.first_step if wf.steps else None
        state: str | None = RUNNING
        gate_wait = ""  # how the last report at a gated step routed: "leave", "suspend", "repeat" ("": unknown)
        for case in scenario.cases:
            shown = _display(case.file, root)
            if case.kind == "report" and state in (COMPLETED, FAILED_STATUS, SUSPENDED):
                problems.append(Problem(shown, case.line, f"a report after the run is {state}: "
                                        + ("nothing can follow FINISH" if state == COMPLETED
                                           else "only 'resume', 'approve' or 'reject' can follow" if state == SUSPENDED
                                           else "only a 'resume' can follow")))
                break
            if case.kind in SCENARIO_GATE_KINDS and (state != SUSPENDED or (step is not None and (
                    not step.approval or gate_wait in ("suspend", "repeat")))):
                problems.append(Problem(shown, case.line, (
                    f"'{case.kind}' answers a run waiting at a step with '# Approval': the item before must "
                    "expect that step with 'state: SUSPENDED', reporting a status that leaves it"
                    + (f" ({step.name!r} has no '# Approval')" if step is not None and not step.approval else
                       " (that status goes to SUSPEND, which waits for resume_workflow, not for a person)"
                       if gate_wait == "suspend" else
                       " (that status repeats the step, which needs no approval)" if gate_wait == "repeat" else ""))))
                break
            gate_wait = ""
            if case.kind == "resume" and state == COMPLETED:
                problems.append(Problem(shown, case.line, "a COMPLETED run cannot be resumed"))
                break
            if case.kind == "report" and step is not None and state == RUNNING:
                matched = decide_by_transition(step, case.report)
                declared = ", ".join(sorted(step.transitions)) or "(none)"
                if not case.llm and matched is None and step.transitions:
                    problems.append(Problem(shown, case.line, (
                        f"status {case.report['status']!r} matches no transition of {step.name!r} "
                        f"(declared: {declared}); use a declared status, or write 'llm report' for a case "
                        "only an LLM can judge")))
                elif case.llm and matched is not None:
                    problems.append(Problem(shown, case.line, (
                        f"status {case.report['status']!r} of an 'llm report' matches the transition of "
                        f"{step.name!r} to {matched.next_step}, so no LLM is asked; write 'report', or use a "
                        f"status other than {declared}")))
                if step.approval and matched is not None:  # an LLM's choice is unknown here
                    target = wf.resolve_target(matched.next_step)
                    gate_wait = "suspend" if target == SUSPEND else "repeat" if target == step.name else "leave"
            outcomes = case.expected()
            if len({s for _, s in outcomes}) == 1:
                state = outcomes[0][1]
            else:
                state = None
            targets = {t for t, _ in outcomes}
            step = wf.step(outcomes[0][0]) if len(targets) == 1 and outcomes[0][0] not in (SUSPEND,) else None
            if state is None and step is None:
                break
    return problems


@dataclass
class CaseResult:
    """What one case got from the engine, and whether that was right."""
    workflow: str
    scenario: str
    file: str
    line: int
    kind: str
    llm: bool
    at_step: str
    status: str
    expected: list[str]
    right: bool
    got_step: str | None = None
    got_state: str | None = None
    decided_by: str | None = None
    reasoning: str = ""
    error: str | None = None
    latency_s: float | None = None
    llm_requests: int = 0
    prompt_tokens: int | None = None
    answer_tokens: int | None = None


@dataclass
class SkipNote:
    workflow: str
    scenario: str
    file: str
    line: int
    cases: int
    reason: str


class _InteractionsTap:
    """Reads what the LLM decider appended to its interactions log since the last look:
    one line per HTTP attempt, with the provider's usage counts in ``response``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        try:
            self.offset = path.stat().st_size if path else 0
        except OSError:
            self.offset = 0

    def take(self) -> list[dict[str, Any]]:
        if self.path is None:
            return []
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        records = []
        for raw in data[:end].splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    @staticmethod
    def usage(record: Mapping[str, Any]) -> tuple[int, int] | None:
        """(prompt, answer) tokens as the provider reported them, when it did."""
        resp = record.get("response")
        if not isinstance(resp, dict):
            return None
        if isinstance(resp.get("usage"), dict):  # OpenAI-compatible
            u = resp["usage"]
            if isinstance(u.get("prompt_tokens"), int) and isinstance(u.get("completion_tokens"), int):
                return u["prompt_tokens"], u["completion_tokens"]
        if isinstance(resp.get("usageMetadata"), dict):  # Gemini; thinking tokens are answer tokens
            u = resp["usageMetadata"]
            if isinstance(u.get("promptTokenCount"), int):
                answer = sum(v for k in ("candidatesTokenCount", "thoughtsTokenCount")
                             if isinstance(v := u.get(k), int))
                return u["promptTokenCount"], answer
        return None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    import math

    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


@dataclass
class ScenarioReport:
    """Everything ``orchestrator-mcp test`` found; ``summary()`` is its JSON."""
    provider: str
    model: str | None
    repeat: int
    min_accuracy: float
    results: list[CaseResult] = field(default_factory=list)
    skipped: list[SkipNote] = field(default_factory=list)
    problems: list[tuple[str, int, str]] = field(default_factory=list)  # scenario files that do not parse
    coverage: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)  # workflow -> (declared, covered)
    scenario_counts: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # scenarios, offline, llm cases
    llm_answered: bool = False  # the provider has answered at least once

    def accuracy(self, llm: bool | None) -> float | None:
        chosen = [r for r in self.results if llm is None or r.llm == llm]
        return sum(r.right for r in chosen) / len(chosen) if chosen else None

    @property
    def passed(self) -> bool:
        if self.problems or not self.results:
            return False
        if any(not r.right for r in self.results if not r.llm):
            return False
        llm_accuracy = self.accuracy(True)
        return llm_accuracy is None or llm_accuracy >= self.min_accuracy

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for r in self.results:
            kind = r.decided_by or "error"
            kinds[kind] = kinds.get(kind, 0) + 1
        latencies = [r.latency_s for r in self.results if r.llm_requests and r.latency_s is not None]
        usage = [r for r in self.results if r.prompt_tokens is not None]
        llm_cases = [r for r in self.results if r.llm]
        workflows = {}
        for name, (n_scen, n_off, n_llm) in sorted(self.scenario_counts.items()):
            declared, covered = self.coverage.get(name, ([], []))
            workflows[name] = {"scenarios": n_scen, "offline_cases": n_off, "llm_cases": n_llm,
                               "transitions": len(declared), "transitions_covered": len(covered),
                               "uncovered": [t for t in declared if t not in covered]}
        p50, p95 = _percentile(latencies, 0.5), _percentile(latencies, 0.95)
        return {
            "provider": self.provider, "model": self.model, "repeat": self.repeat,
            "passed": self.passed, "min_accuracy": self.min_accuracy,
            "cases_run": len(self.results), "right": sum(r.right for r in self.results),
            "accuracy": self.accuracy(None), "offline_accuracy": self.accuracy(False),
            "llm_accuracy": self.accuracy(True), "llm_cases_run": len(llm_cases),
            "llm_cases_skipped": sum(n.cases for n in self.skipped),
            "decisions": dict(sorted(kinds.items())),
            "llm_requests": sum(r.llm_requests for r in self.results),
            "latency_s": {"p50": p50, "p95": p95} if latencies else None,
            "tokens": ({"prompt": sum(r.prompt_tokens or 0 for r in usage),
                        "answer": sum(r.answer_tokens or 0 for r in usage), "requests_with_usage": len(usage)}
                       if usage else None),
            "workflows": workflows,
            "divergences": [dataclasses.asdict(r) for r in self.results if not r.right],
            "skipped": [dataclasses.asdict(n) for n in self.skipped],
            "problems": [{"file": f, "line": ln, "message": m} for f, ln, m in self.problems],
        }


def _shown_path(directory: Path, relative: str) -> str:
    """A root-relative problem path as the user's editor can open it from here."""
    full = directory / relative
    rel = os.path.relpath(full)
    return str(full) if rel.startswith("..") else rel


def run_scenarios(config: Config, names: Sequence[str] = (), repeat: int = 1,
                  min_accuracy: float = 1.0) -> ScenarioReport:
    """Run workflow scenarios through the real engine on a temporary database.

    The decider is the one ``config`` names (``gemini``/``openai``); any other
    provider runs with the stub, which skips the LLM cases.  LLM requests,
    latency and token usage are read from the decider's interactions log.
    """
    import tempfile

    llm = config.provider in ("gemini", "openai")
    with tempfile.TemporaryDirectory(prefix="orchestrator-test-") as tmp:
        config = dataclasses.replace(config, provider=config.provider if llm else "stub",
                                     interactions_log=config.interactions_log or Path(tmp) / "interactions.jsonl")
        store = StateStore(Path(tmp) / "test.sqlite").open()
        library = Library(config.workflow_roots)
        engine = Engine(library, store, make_decider(config))
        tap = _InteractionsTap(config.interactions_log if llm else None)
        run = ScenarioReport(config.provider, config.model if llm else None, repeat, min_accuracy)
        try:
            # Without names, every folder: one whose name breaks the rules ('GOOD copy') is an
            # invalid workflow, reported as a problem like any other, and the rest are tested.
            chosen = ([(library.load(name), library.locate(name)[0]) for name in names] if names
                      else [(wf, wf.directory.parent) for wf in library.all()])
            for wf, root in chosen:
                scenarios, problems = parse_scenarios(wf, root)
                if wf.valid:
                    problems += lint_scenarios(wf, scenarios, root)
                else:
                    problems += [Problem(p.file, p.line, f"the workflow is invalid: {p.message}") for p in wf.errors]
                run.problems += [(_shown_path(root, p.file), p.line, p.message) for p in problems]
                run.scenario_counts[wf.name] = (len(scenarios), sum(not c.llm for s in scenarios for c in s.cases),
                                                sum(c.llm for s in scenarios for c in s.cases))
                # Evidence routes first, as they are tried first, then the status routes.
                declared = [f"{s.name}: {key}" for s in wf.steps
                            for key in [c.describe() for c in s.conditions] + list(s.transitions)]
                covered: set[str] = set()
                run.coverage[wf.name] = (declared, [])
                if problems or not scenarios:
                    continue
                for _ in range(repeat):
                    for scenario in scenarios:
                        _run_scenario(engine, wf, root, scenario, llm, tap, run, covered)
                run.coverage[wf.name] = (declared, [t for t in declared if t in covered])
        finally:
            store.close()
    return run


def _run_scenario(engine: Engine, wf: WorkflowDef, root: Path, scenario: Scenario, llm: bool,
                  tap: "_InteractionsTap", run: ScenarioReport, covered: set[str]) -> None:
    shown = lambda case: _shown_path(root, _display(case.file, root))  # noqa: E731
    try:
        progress = engine.start(wf.name, scenario.context)
    except OrchestratorError as exc:
        case = scenario.cases[0]
        run.results.append(CaseResult(wf.name, scenario.name, shown(case), scenario.line, "start", case.llm,
                                      "", "", [], False, error=f"{exc.code}: {exc.message}"))
        return
    for index, case in enumerate(scenario.cases):
        if case.llm and not llm:
            rest = scenario.cases[index:]
            run.skipped.append(SkipNote(wf.name, scenario.name, shown(case), case.line, sum(c.llm for c in rest),
                                        "needs an LLM: the stub cannot judge a report no transition matches"))
            return
        at_step = progress.next_step.step_name
        status_text = str(case.report.get("status", ""))
        tap.take()
        started = time.perf_counter()
        result = CaseResult(wf.name, scenario.name, shown(case), case.line, case.kind, case.llm,
                            case.assumed_step or "" if case.kind == "resume" else at_step, status_text,
                            [f"{t} ({s})" for t, s in case.expected()], False)
        try:
            if case.kind == "report":
                report = typed_evidence(wf.step(at_step), {"step_id": at_step, **case.report})
                progress = engine.advance(progress.instance_id, report, case.context_updates)
            elif case.kind in SCENARIO_GATE_KINDS:
                progress = engine.approve(progress.instance_id, case.kind == "approve", case.report.get("comment"),
                                          "a scenario (orchestrator-mcp test)")
            else:
                progress = engine.resume(progress.instance_id, case.assumed_step or "", case.report,
                                         case.context_updates)
        except OrchestratorError as exc:
            result.error = f"{exc.code}: {exc.message}"
        result.latency_s = round(time.perf_counter() - started, 4)
        records = tap.take()
        run.llm_answered = run.llm_answered or any(isinstance(r.get("response"), dict) for r in records)
        if result.error and records and not run.llm_answered and not any(
                isinstance(r.get("response"), dict) for r in records):
            # Not one answer yet, and none now (refused, reset, timed out): every later LLM case
            # would wait out the same retries, and the summary would grade a model that never spoke.
            raise ConfigError(f"{records[-1].get('error') or 'no answer'}; is the LLM server running and answering "
                              f"there? Nothing was judged (stopped at {shown(case)}:{case.line})")
        result.llm_requests = len(records)
        usages = [u for u in map(_InteractionsTap.usage, records) if u]
        if usages:
            result.prompt_tokens = sum(u[0] for u in usages)
            result.answer_tokens = sum(u[1] for u in usages)
        if result.error is None:
            result.got_step, result.got_state = progress.next_step.step_name, progress.status
            result.decided_by, result.reasoning = progress.decided_by, progress.reasoning
            result.right = case.accepts(progress.next_step.step_name, progress.status)
            step = wf.step(at_step)
            if progress.decided_by == "transition" and step is not None and case.kind == "report":
                key = status_text.strip().lower()
                held = next((c.describe() for c in step.conditions if c.holds(report)), None)
                covered.add(f"{step.name}: {held or (key if key in step.transitions else 'default')}")
            if case.kind == "reject" and step is not None and "rejected" in step.transitions:
                covered.add(f"{step.name}: rejected")  # a rejection follows the step's 'rejected' transition
        run.results.append(result)
        if not result.right:
            return  # later cases assumed this routing


def format_test_run(run: ScenarioReport) -> str:
    """The text report: problems and divergences with file:line, then a summary."""
    out: list[str] = []
    for file, line, message in run.problems:
        out.append(f"{file}:{line}: {message}: error")
    for r in run.results:
        if r.right:
            continue
        got = (f"got {r.error}" if r.error else
               f"got {r.got_step} ({r.got_state}) [{r.decided_by}: {clip(r.reasoning, 200)}]")
        what = (f"report {r.status!r} at {r.at_step!r}" if r.kind == "report" else
                f"{r.kind} at {r.at_step!r}" if r.kind in SCENARIO_GATE_KINDS else f"resume assuming {r.at_step!r}")
        out.append(f"{r.file}:{r.line}: {r.workflow} / {r.scenario}: {'llm ' if r.llm else ''}{what}: "
                   f"expected {' or '.join(r.expected)}, {got}")
    s = run.summary()
    by_workflow: dict[str, list[SkipNote]] = {}
    for note in run.skipped:
        by_workflow.setdefault(note.workflow, []).append(note)
    for name, notes in by_workflow.items():
        out.append(f"note: {name}: {sum(n.cases for n in notes)} LLM case(s) in {len(notes)} scenario(s) skipped: "
                   "the stub cannot judge free-form reports (run with --provider gemini or openai)")
    for name, w in s["workflows"].items():
        ran = [r for r in run.results if r.workflow == name]
        line = (f"{name}: {w['scenarios']} scenarios, {w['offline_cases']} offline + {w['llm_cases']} LLM cases; "
                f"{sum(r.right for r in ran)}/{len(ran)} right; "
                f"transitions covered {w['transitions_covered']}/{w['transitions']}")
        if w["uncovered"] and ran:
            line += f" (not: {'; '.join(w['uncovered'])})"
        out.append(line)

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value * 100:.1f}%"

    llm_run = s["llm_cases_run"]
    out.append(f"provider: {s['provider']}{' (' + s['model'] + ')' if s['model'] else ''}"
               f"{', repeat ' + str(s['repeat']) if s['repeat'] > 1 else ''}")
    out.append(f"accuracy: {pct(s['accuracy'])} ({s['right']}/{s['cases_run']} cases right: step and run state); "
               f"offline {pct(s['offline_accuracy'])}; "
               + (f"LLM {pct(s['llm_accuracy'])} of {llm_run}" if llm_run else "LLM none run")
               + (f" ({s['llm_cases_skipped']} skipped)" if s["llm_cases_skipped"] else ""))
    out.append("decisions: " + (", ".join(f"{k} {v}" for k, v in s["decisions"].items()) or "none"))
    latency = s["latency_s"]
    out.append(f"LLM calls: {s['llm_requests']} requests"
               + (f"; decision latency p50 {latency['p50']:.2f}s, p95 {latency['p95']:.2f}s" if latency else ""))
    if s["tokens"]:
        out.append(f"tokens: prompt {s['tokens']['prompt']:,}, answer {s['tokens']['answer']:,} "
                   f"(as the provider reported for {s['tokens']['requests_with_usage']} requests)")
    if not s["cases_run"] and not run.problems:
        out.append("FAILED: no case ran (add scenario files under workflows/NAME/tests/)")
    else:
        out.append("PASSED" if s["passed"] else "FAILED" + (
            f": LLM accuracy below --min-accuracy {pct(run.min_accuracy)}"
            if s["llm_accuracy"] is not None and s["llm_accuracy"] < run.min_accuracy else ""))
    return "\n".join(map(_record, out))  # one record a line, whatever a name or a reasoning holds


def _min_accuracy(text: str) -> float:
    """``0.85`` or ``85%``."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction like 0.85 or a percentage like 85%, got {text!r}")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"--min-accuracy must be between 0 and 1 (or 0% and 100%), got {text!r}")
    return value


def cmd_test(args: argparse.Namespace, config: Config) -> int:
    """Run scenario files; 0 all right, 1 a divergence, a bad file or LLM accuracy below the bar."""
    if args.repeat < 1:
        raise InvalidArgument("--repeat must be at least 1")
    quiet = logging.getLogger("orchestrator_mcp")
    previous = quiet.level
    if not args.log_level:
        quiet.setLevel(logging.WARNING)  # one line per advance would bury the report
    try:
        run = run_scenarios(config, args.names, args.repeat, args.min_accuracy)
    finally:
        quiet.setLevel(previous)
    if args.json:
        _out_json(run.summary())
    else:
        _out(format_test_run(run))
    return 0 if run.passed else 1


def _bearer_guard(app: Any, token: str) -> Any:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>``.

    The scheme name is case-insensitive (RFC 7235); the token is compared in
    constant time.
    """
    import hmac

    expected = token.encode()

    def authorized(header: bytes) -> bool:
        scheme, _, given = header.strip().partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), expected)

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if not authorized(dict(scope.get("headers") or []).get(b"authorization", b"")):
                body = json.dumps({"error": {"code": "UNAUTHORIZED", "message": "send Authorization: Bearer "
                                             "<ORCHESTRATOR_AUTH_TOKEN>", "retryable": False}}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


def _listen(host: str, port: int) -> Any:
    """Bind the HTTP port ourselves, so a port in use is one clear line, not uvicorn's traceback."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, OverflowError) as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}; check --host and --port") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}; choose another --port or stop the "
                          "program using it") from None
    return sock


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    if args.transport == "http" and not is_loopback(args.host) and not config.auth_token:
        raise ConfigError(f"refusing to serve HTTP on non-loopback host {args.host!r} without "
                          "ORCHESTRATOR_AUTH_TOKEN; set it (clients then send Authorization: Bearer <token>)")
    server, engine = create_app(config)
    try:
        listener = _listen(args.host, args.port) if args.transport == "http" else None
        # Only now that start-up cannot fail: a failure is exactly one line on stderr.
        if config.provider_auto:
            log.warning("no LLM configured (AI_PROVIDER=auto and no GEMINI_API_KEY): the calling agent decides "
                        "steps without a # Transitions match (AI_PROVIDER=agent)")
        log.info("orchestrator-mcp %s: provider=%s db=%s workflows=%s", __version__, config.provider,
                 describe_db(config), os.pathsep.join(str(r) for r in config.workflow_roots))
        if listener is None:
            server.run("stdio")
        else:
            import uvicorn
            from mcp.server.transport_security import TransportSecuritySettings

            if is_loopback(args.host):
                security = TransportSecuritySettings(
                    enable_dns_rebinding_protection=True,
                    allowed_hosts=sorted({"127.0.0.1:*", "localhost:*", "[::1]:*", f"{args.host}:*"}),
                    allowed_origins=sorted({"http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*",
                                            f"http://{args.host}:*"}))
            else:
                security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
            # Streamable HTTP sessions live in one process's memory: a request carrying a
            # session id that another replica created would be refused.  With a shared
            # PostgreSQL store (the scale-out set-up) serve stateless HTTP instead, so any
            # replica answers any request and a load balancer needs no session affinity.
            app = server.streamable_http_app(streamable_http_path="/mcp", host=args.host,
                                             transport_security=security, stateless_http=bool(config.db_url))
            if config.auth_token:
                app = _bearer_guard(app, config.auth_token)
            log.info("serving streamable HTTP at http://%s:%d/mcp", args.host, listener.getsockname()[1])
            settings = uvicorn.Config(app, host=args.host, port=listener.getsockname()[1],
                                      log_level=config.log_level, access_log=False)
            uvicorn.Server(settings).run(sockets=[listener])
    finally:
        engine.store.close()
    return 0


def cmd_ui(args: argparse.Namespace, config: Config) -> int:
    """Serve the read-only web view until Ctrl-C; the URL goes to stdout."""
    if not is_loopback(args.host) and not config.auth_token:
        raise ConfigError(f"refusing to serve the ui on non-loopback host {args.host!r} without "
                          "ORCHESTRATOR_AUTH_TOKEN; set it (you then log in once with it in the browser)")
    if getattr(args, "db", None) and not config.db_url and not config.db_path.exists():
        # A view of runs: a mistyped --db would otherwise be a new, empty database showing "no runs".
        raise ConfigError(f"--db {str(config.db_path)!r} does not exist; give the SQLite file the server "
                          "writes (orchestrator-mcp status and list take the same --db)")
    engine = _engine(config, writes=False)  # a view; its approve form gets the coded refusal
    try:
        httpd = make_ui_server(engine, args.host, args.port, config.auth_token)
    except OSError as exc:
        engine.store.close()
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    shown = f"[{args.host}]" if ":" in args.host else args.host
    _out(f"orchestrator-mcp ui: http://{shown}:{httpd.server_address[1]}/  (database {describe_db(config)}; "
         "Ctrl-C stops)")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        engine.store.close()
    return 0


COMMANDS = ("serve", "check", "run", "demo", "diagram", "list", "status", "cancel", "workflows", "validate", "ui",
            "approve", "test", "migrate-db", "guide")

#: Commands a person reads as they run: their own output says what happened, so log lines
#: below WARNING (``LOG_LEVEL=info`` in a shell profile, say) stay off the terminal unless
#: ``--log-level`` is given on the command itself.
TERMINAL_COMMANDS = ("run", "approve", "cancel", "status", "list")
#: Commands that may ask a decider; the others load no LLM settings (see ``main``).
DECIDING_COMMANDS = ("serve", "run", "test")  # demo's own server is always the stub
_LLM_SETTINGS = ("AI_", "GEMINI_", "USE_STUB_AI_CLIENT")

#: Global flags that take a value: ``main`` skips their values when it looks for the subcommand.
GLOBAL_VALUE_FLAGS = ("--workflows", "--db", "--db-url", "--provider", "--model", "--endpoint", "--log-level")


def _port(text: str) -> int:
    """A TCP port for argparse: 0 (any free one) to 65535; the socket layer would otherwise
    wrap 99999 to another port silently, or fail with a traceback."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: use a whole number from 0 to 65535")
    return port


def _global_flags(parser: argparse.ArgumentParser, *, on_subcommand: bool) -> None:
    """The flags every command takes, before or after the subcommand.

    On a subcommand they default to SUPPRESS: argparse copies a subparser's
    values over the top-level ones, so a plain ``None`` default there would wipe
    out ``--db X`` given before the subcommand.
    """
    default = argparse.SUPPRESS if on_subcommand else None
    parser.add_argument("--workflows", action="append", metavar="DIR", default=default,
                        help="workflow root (repeatable; default WORKFLOW_DEFINITIONS_DIR or the bundled library)")
    parser.add_argument("--db", metavar="FILE", default=default,
                        help="SQLite state file (default WORKFLOW_DB_PATH or per-user)")
    parser.add_argument("--db-url", metavar="URL", default=default,
                        help="PostgreSQL state store, postgresql://... (default WORKFLOW_DB_URL); needs the "
                             "[postgres] extra")
    parser.add_argument("--provider", choices=PROVIDERS, default=default, help="decider (default AI_PROVIDER or auto)")
    parser.add_argument("--model", default=default, help="model id (default GEMINI_MODEL_NAME / AI_MODEL_NAME)")
    parser.add_argument("--endpoint", default=default, help="LLM base URL (default AI_SERVICE_ENDPOINT)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default=default,
                        help="logging level (default LOG_LEVEL or info)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator-mcp",
        description="An MCP server that guides coding agents through Markdown workflows.")
    _global_flags(parser, on_subcommand=False)
    parser.add_argument("--version", action="version", version=f"orchestrator-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, json_flag: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _global_flags(p, on_subcommand=True)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print the MCP tool's structured result as JSON")
        return p

    serve = command("serve", "run the MCP server (default)")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8765)
    check = command("check", "validate workflow definitions")
    check.add_argument("dirs", nargs="*", metavar="DIR", help="workflow roots (default: the configured ones)")
    run = command("run", "drive a workflow in the terminal")
    run.add_argument("workflow", nargs="?", metavar="WORKFLOW")
    run.add_argument("--context", action="append", metavar="KEY=VALUE", help="starting context (repeatable)")
    run.add_argument("--resume", metavar="ID", help="continue a saved run")
    run.add_argument("--result-file", metavar="FILE",
                     help="use this file's text as the result of the first report (instead of typing it)")
    command("demo", "scripted end-to-end session through a real MCP client")
    diagram = command("diagram", "print a workflow's Mermaid flowchart")
    diagram.add_argument("workflow", metavar="WORKFLOW")
    listing = command("list", "list runs, newest first (the list_instances tool)", json_flag=True)
    listing.add_argument("--status", type=str.upper, choices=INSTANCE_STATUSES, help="only runs in this status")
    listing.add_argument("--workflow", metavar="NAME", help="only runs of this workflow")
    listing.add_argument("--limit", type=int, default=20, help="at most this many (1-1000, default 20)")
    status = command("status", "show a run with its history (the get_workflow_status tool)", json_flag=True)
    status.add_argument("instance_id", metavar="ID")
    status.add_argument("--history", type=int, default=10, metavar="N",
                        help="how many recent history entries (0-1000, default 10)")
    cancel = command("cancel", "cancel a run for good (the cancel_workflow tool)", json_flag=True)
    cancel.add_argument("instance_id", metavar="ID")
    cancel.add_argument("--reason", help="why, for the history")
    command("workflows", "list the workflows with title and validity (the list_workflows tool)", json_flag=True)
    validate = command("validate", "check one workflow: errors and warnings with file:line", json_flag=True)
    validate.add_argument("workflow", metavar="NAME")
    command("guide", "print the workflow authoring guide (what the get_workflow_authoring_guide tool returns)")
    ui = command("ui", "serve a local web view of the runs, with approval forms (URL printed on start)")
    ui.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; others need "
                    "ORCHESTRATOR_AUTH_TOKEN)")
    ui.add_argument("--port", type=_port, default=0, help="port (default: a free one)")
    approve = command("approve", "approve (or --reject) a run waiting at a step with '# Approval'")
    approve.add_argument("instance_id", metavar="ID")
    approve.add_argument("--reject", action="store_true", help="reject: the step's 'rejected' transition, else "
                                                                "back to the step")
    approve.add_argument("--comment", help="why; kept in the history")
    test = command("test", "run workflow scenario files (tests/*.md) through the engine")
    test.add_argument("names", nargs="*", metavar="NAME", help="workflows to test (default: all)")
    test.add_argument("--repeat", type=int, default=1, metavar="N", help="run every scenario N times")
    test.add_argument("--min-accuracy", type=_min_accuracy, default=1.0, metavar="X",
                      help="pass when LLM cases are at least this right (0.85 or 85%%; default 1)")
    test.add_argument("--json", action="store_true", help="print the results as JSON")
    migrate = command("migrate-db", "copy all instances and history between SQLite files and PostgreSQL")
    migrate.add_argument("--from", dest="source", required=True, metavar="PATH_OR_URL",
                         help="the database to copy from: a SQLite file or postgresql://...")
    migrate.add_argument("--to", dest="target", required=True, metavar="PATH_OR_URL",
                         help="the database to copy into (created and migrated when needed)")
    migrate.add_argument("--force", action="store_true", help="replace the target's rows if it is not empty")
    return parser


def _subcommand_index(argv: Sequence[str]) -> int | None:
    """Where the first positional word stands, skipping global flags and their values."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return i + 1 if i + 1 < len(argv) else None
        if token in GLOBAL_VALUE_FLAGS:
            i += 2
            continue
        if not token.startswith("-"):
            return i
        i += 1
    return None


def _degrade_unencodable_output() -> None:
    """Let stdout show what its encoding cannot hold as escapes (``\\U0001f40d``) instead of
    dying mid-command: a redirected stdout on Windows is cp1252, a bare C locale ASCII, and a
    title or step name from a file may hold any character."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and getattr(sys.stdout, "errors", "strict") == "strict":
        with contextlib.suppress(Exception):  # a stream that cannot be reconfigured stays as it is
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point of the ``orchestrator-mcp`` script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    first = _subcommand_index(argv)
    if (first is None or argv[first] not in COMMANDS) and not any(a in ("-h", "--help", "--version") for a in argv):
        argv.insert(0, "serve")  # `orchestrator-mcp --transport http` means serve
    args = build_parser().parse_args(argv)
    if args.command != "serve":  # serve's stdout is the protocol, written by the SDK in UTF-8
        _degrade_unencodable_output()
    # A command that never asks a decider (approve, status, check, ...) ignores the shell's LLM
    # settings: an approval hint pasted where AI_PROVIDER=gemini is exported without its key
    # (the key lives in the MCP client's config) must still work.  A --provider typed on such
    # a command is still checked, with the environment it reads.
    deciding = args.command in DECIDING_COMMANDS or getattr(args, "provider", None) is not None
    load_env = env if deciding else {k: v for k, v in env.items() if not k.startswith(_LLM_SETTINGS)}
    try:
        early_level = (args.log_level or env.get("LOG_LEVEL") or "info").lower()
        setup_logging(early_level if early_level in LOG_LEVELS else "info")
        if args.command == "check":
            return cmd_check(args, load_env)
        if args.command == "migrate-db":
            return cmd_migrate_db(args)
        if args.command == "guide":  # needs no configuration: readable before anything is set up
            _out(AUTHORING_GUIDE)
            return 0
        def load(settings: Mapping[str, str]) -> Config:
            return Config.load(settings, workflows=args.workflows, db=args.db,
                               provider=args.provider if deciding else "stub", model=args.model,
                               endpoint=args.endpoint, log_level=args.log_level, db_url=args.db_url)
        try:
            config = load(load_env)
        except ConfigError:
            if deciding:
                raise
            # The same for a shell's LOG_LEVEL or WORKFLOW_PARSE_CACHE this command can do without;
            # any other mistake fails again, with its own message.
            config = load({k: v for k, v in load_env.items() if k not in ("LOG_LEVEL", "WORKFLOW_PARSE_CACHE")})
        setup_logging(config.log_level)
        if args.command in TERMINAL_COMMANDS and not args.log_level:
            logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
        handler = {"serve": cmd_serve, "run": cmd_run, "demo": cmd_demo, "diagram": cmd_diagram,
                   "list": cmd_list, "status": cmd_status, "cancel": cmd_cancel, "workflows": cmd_workflows,
                   "validate": cmd_validate, "ui": cmd_ui, "approve": cmd_approve,
                   "test": cmd_test}[args.command]
        return handler(args, config)
    except ConfigError as exc:
        _err(f"orchestrator-mcp: {exc.message}")
        return 2
    except ModuleNotFoundError as exc:
        # Run as a bare file without its dependencies: say how to get them, in one line.
        sys.stderr.write(f"orchestrator-mcp: the Python package {exc.name!r} is missing; install the "
                         "dependencies with: pip install mcp requests (or run: uv run orchestrator_mcp.py)\n")
        return 2
    except OrchestratorError as exc:
        if getattr(args, "json", False):
            _out_json(exc.to_dict(), None)
        else:
            _err(f"orchestrator-mcp: {exc.code}: {cli_text(exc.message)}")
        return 2 if isinstance(exc, PersistenceError) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``status ID | head``): stop quietly, as a shell tool does,
        # with stdout pointed at nothing so the interpreter's last flush fails no more.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
