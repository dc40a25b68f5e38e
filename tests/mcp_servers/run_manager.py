"""Run an McpManager on a workspace until killed (for the orphan-process tests).

Prints one JSON line with the pid of every server process once the ``toy`` server
has connected (others may still be starting), then waits forever.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from kilo_tui.core.mcp import McpManager


async def main(workspace: Path) -> None:
    manager = McpManager(workspace)
    await manager.start()
    while (state := manager.server("toy")) is None or state.status == "starting":
        await asyncio.sleep(0.05)
    pids = [s.pid for s in manager.servers() if s.pid is not None]
    stderr = {s.name: s.stderr_tail for s in manager.servers()}
    print(json.dumps({"pids": pids, "stderr": stderr}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
