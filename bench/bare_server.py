"""The SDK's floor: a bare MCPServer with one no-op tool, run over stdio.

The latency and start-up benchmarks call it beside orchestrator-mcp, in the
same run and through the same client, so the difference is ours.

With ``BARE_REPLIES`` naming a JSON file of ``{name: tool result}`` (results as
orchestrator-mcp sent them: ``content`` text and ``structuredContent``), it has
a second tool, ``canned(name)``, that returns that very result as a prebuilt
``CallToolResult``: the SDK's whole cost of a reply of that size and shape, with
no work of ours behind it.
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


if __name__ == "__main__":
    server.run("stdio")
