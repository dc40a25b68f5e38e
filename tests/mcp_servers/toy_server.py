"""A tiny MCP server for tests, built on the official SDK's ``MCPServer``.

Run it over stdio (the default), or over HTTP with
``--transport streamable-http|sse --port N`` (always on 127.0.0.1).
Its tools cover every result shape the client must handle: text, structured
content, an image, a server-side error, a slow call and a crash mid-call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image

# The smallest valid PNG (1x1, transparent).
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

server = MCPServer("toy", instructions="A toy server for kilo-tui tests.")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> dict[str, int]:
    """Add two integers."""
    return {"sum": a + b}


@server.tool()
def pixel() -> Image:
    """Return a 1x1 PNG."""
    return Image(data=PIXEL, format="png")


@server.tool()
def fail(reason: str) -> str:
    """Always fail with the given reason."""
    raise ToolError(reason)


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return "done"


@server.tool()
def crash() -> str:
    """Die mid-call, as a buggy server would."""
    print("toy server: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.resource("toy://readme", name="readme", mime_type="text/plain")
def readme() -> str:
    """The toy server's readme."""
    return "Toy server readme."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", default="stdio", choices=["stdio", "streamable-http", "sse"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    print(f"toy server starting ({args.transport})", file=sys.stderr, flush=True)
    if args.transport == "stdio":
        server.run()
    else:
        server.run(args.transport, host="127.0.0.1", port=args.port)  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
