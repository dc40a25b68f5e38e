"""kilo-tui: Kilo Code as a full-screen terminal application."""

__version__ = "0.1.0"
