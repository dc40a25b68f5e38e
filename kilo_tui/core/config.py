"""Settings: config TOML → environment → CLI flags, into one validated object."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem, with where it is: file, line and key when known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "configuration"
        if self.line is not None:
            where += f", line {self.line}"
        if self.key:
            where += f", key '{self.key}'"
        return f"{where}: {self.message}"
