"""The SDK's floor: a bare MCPServer with one no-op tool, run over stdio.

The latency and start-up benchmarks call it beside orchestrator-mcp, in the
same run and through the same client, so the difference is ours.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("bare")


@server.tool()
def noop() -> dict[str, bool]:
    """Does nothing."""
    return {"ok": True}


if __name__ == "__main__":
    server.run("stdio")
