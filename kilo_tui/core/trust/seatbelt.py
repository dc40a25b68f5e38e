"""macOS: the sandbox as a Seatbelt profile for ``/usr/bin/sandbox-exec``.

The same policy as bubblewrap's (see :mod:`kilo_tui.core.trust.sandbox`), in Seatbelt's
profile language: everything is allowed, then writes are denied except below the
writable roots, the read-only paths inside them are denied again, the hidden paths are
neither readable nor writable, and the network is denied (unix sockets too), except
when allowed: all of it, or only kilo-tui's filtering proxy on a 127.0.0.1 port (Seatbelt
can filter by address but only allow ``localhost``, not a host name). In Seatbelt the
last matching rule wins, so the order below is the policy.

Paths never enter the profile's text: each one is a parameter (``-D NAME=path``) that
the profile names with ``(param "NAME")``, so a workspace called ``a") (allow default``
or containing a newline cannot change a rule. Only numbers (the proxy port) are
written into it.

Untested on real macOS in CI (this project's CI runs Linux): the profile's text and the
platform selection are unit-tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kilo_tui.core.trust.netproxy import PROXY_VARIABLES

SANDBOX_EXEC = "/usr/bin/sandbox-exec"

DEVICE_WRITES = (
    '(literal "/dev/null")',
    '(literal "/dev/zero")',
    '(literal "/dev/dtracehelper")',
    '(literal "/dev/ptmx")',
    '(regex #"^/dev/ttys[0-9]+$")',
    '(literal "/dev/tty")',
    '(regex #"^/dev/fd/[0-9]+$")',
)
"""Devices a command writes to in ordinary use (its terminal, /dev/null)."""


def profile(
    *, writable: int, read_only: int, hidden: int, network: bool, proxy_port: int | None
) -> str:
    """The profile for that many parameters of each kind (``WRITABLE_0``…,
    ``READ_ONLY_0``…, ``HIDDEN_0``…); see the module docstring for the rules."""
    lines = ["(version 1)", "(allow default)", "(deny file-write*)"]
    allowed = [f'(subpath (param "WRITABLE_{i}"))' for i in range(writable)]
    lines.append("(allow file-write*\n  " + "\n  ".join([*allowed, *DEVICE_WRITES]) + ")")
    if read_only:
        kept = [f'(subpath (param "READ_ONLY_{i}"))' for i in range(read_only)]
        lines.append("(deny file-write*\n  " + "\n  ".join(kept) + ")")
    if hidden:
        secret = [f'(subpath (param "HIDDEN_{i}"))' for i in range(hidden)]
        lines.append("(deny file-read* file-write*\n  " + "\n  ".join(secret) + ")")
    if not network:
        lines.append("(deny network*)")
        if proxy_port is not None:
            lines.append(f'(allow network-outbound (remote ip "localhost:{int(proxy_port)}"))')
    return "\n".join(lines) + "\n"


def arguments(
    *,
    writable: Sequence[Path],
    read_only: Sequence[Path],
    hidden: Sequence[Path],
    network: bool,
    proxy_port: int | None,
) -> list[str]:
    """``sandbox-exec -p PROFILE -D …`` for these paths; the command follows."""
    text = profile(
        writable=len(writable),
        read_only=len(read_only),
        hidden=len(hidden),
        network=network,
        proxy_port=proxy_port,
    )
    args = [SANDBOX_EXEC, "-p", text]
    for name, paths in (("WRITABLE", writable), ("READ_ONLY", read_only), ("HIDDEN", hidden)):
        for i, path in enumerate(paths):
            args += ["-D", f"{name}_{i}={path}"]
    if proxy_port is not None and not network:
        url = f"http://127.0.0.1:{int(proxy_port)}"
        args += ["/usr/bin/env", "-u", "NO_PROXY", "-u", "no_proxy"]
        for var in PROXY_VARIABLES:
            args += [f"{var}={url}", f"{var.lower()}={url}"]
    return args
