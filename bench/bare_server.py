"""The SDK's floor: a bare MCPServer with one no-op tool, run over stdio.

The latency and start-up benchmarks call it beside orchestrator-mcp, in the
same run and through the same client, so the difference is ours.

With ``BARE_REPLIES`` naming a JSON file of ``{name: tool result}`` (results as
orchestrator-mcp sent them: ``content`` text and ``structuredContent``), it has
a second tool, ``canned(name)``, that returns that very result as a prebuilt
``CallToolResult``: the SDK's whole cost of a reply of that size and shape, with
no work of ours behind it.

With ``BARE_DB`` naming a SQLite file, it has a third tool, ``commit()``, that
makes one durable write as ours do (WAL, ``synchronous=FULL``, one row inserted
in one transaction): the least any server that acknowledges only what is on
disk pays per write, whatever else it does.
"""

import json
import os
from typing import Any

from mcp.server.mcpserver import MCPServer

server = MCPServer("bare")


@server.tool()
def noop() -> dict[str, bool]:
    """Does nothing."""
    return {"ok": True}


if os.environ.get("BARE_REPLIES"):
    from mcp_types import CallToolResult, TextContent

    with open(os.environ["BARE_REPLIES"], encoding="utf-8") as f:
        REPLIES: dict[str, Any] = json.load(f)

    @server.tool(structured_output=False)
    def canned(name: str) -> Any:
        """Returns a recorded orchestrator-mcp result as it is."""
        reply = REPLIES[name]
        return CallToolResult(content=[TextContent(type="text", text=reply["content"][0]["text"])],
                              structured_content=reply["structuredContent"])


if os.environ.get("BARE_DB"):
    import sqlite3

    db = sqlite3.connect(os.environ["BARE_DB"], isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")

    @server.tool()
    def commit() -> dict[str, bool]:
        """Writes one row durably and does nothing else."""
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO rows (body) VALUES (?)", ("x" * 200,))
        db.execute("COMMIT")
        return {"ok": True}


if __name__ == "__main__":
    server.run("stdio")
