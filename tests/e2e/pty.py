"""The real ``kilo-tui`` TUI in a pseudo-terminal, read through a terminal emulator."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pexpect
import pyte

from tests.e2e.cli import BIN, MODEL

ROWS, COLUMNS = 40, 140


class Terminal:
    """The app in a pty, with a terminal emulator (pyte) holding what is on screen."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Read output until ``text`` is on the screen."""
        deadline = time.monotonic() + timeout
        while text not in self.text:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen:\n{self.text}")
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                continue

    def type_line(self, text: str) -> None:
        self.child.send(text)
        self.child.send("\r")

    def quit(self) -> None:
        self.child.sendcontrol("q")
        self.child.expect(pexpect.EOF, timeout=30)
        self.child.close()
        assert self.child.exitstatus == 0, self.child.before


def launch(
    workspace: Path,
    home: Path,
    base_url: str,
    *args: str,
    env: dict[str, str] | None = None,
    model: str | None = MODEL,
) -> Terminal:
    """Start the TUI on ``model`` (``None``: the config's) served at ``base_url``
    (``env``: more variables, e.g. a test hook)."""
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "KILO_TUI"))}
    variables.update(
        OPENAI_API_KEY="sk-test",
        OPENAI_API_BASE=base_url,
        KILO_TUI_HOME=str(home),
        TERM="xterm-256color",
        **(env or {}),
    )
    child = pexpect.spawn(
        str(BIN),
        [*(["--model", model] if model else []), *args],
        cwd=str(workspace),
        env=variables,
        dimensions=(ROWS, COLUMNS),
        encoding="utf-8",
        timeout=60,
    )
    return Terminal(child)
