"""Confinement of the commands that do run: a wrongly approved command cannot escape.

The approval gate decides *what* runs; this module limits what a running command can
do. On Linux it wraps the command in bubblewrap (``bwrap``): a mount namespace where
the filesystem is read-only except the workspace and the temp directory, the user's
secret stores and kilo-tui's own files are hidden, and (unless allowed) a network
namespace with no interface but loopback.

Why bubblewrap and not Landlock: Landlock rules only *grant* access below a directory,
so "read everything except ``~/.ssh``" cannot be expressed without enumerating the
whole filesystem; its network rules (ABI 4+) cover TCP only, not UDP or DNS. A mount
plus network namespace hides exactly the paths we name and cuts every kind of
network, and its PID namespace with ``--die-with-parent`` ends every process of a
command when kilo-tui dies, even by SIGKILL. ``allowed_domains`` keeps the network
namespace and lets commands reach the named hosts through kilo-tui's filtering proxy
(:mod:`kilo_tui.core.trust.netproxy`), whose unix socket is bind-mounted in.

On macOS the same policy becomes a Seatbelt profile for ``sandbox-exec``
(:mod:`kilo_tui.core.trust.seatbelt`; untested on real macOS in CI).

Where no mechanism works (no ``bwrap``, user namespaces disabled, Windows), commands run
unconfined and :meth:`Sandbox.status` says so plainly; nothing pretends.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kilo_tui.core import paths
from kilo_tui.core.trust import seatbelt
from kilo_tui.core.trust.netproxy import BRIDGE, BRIDGE_WRAPPER, DomainProxy, shared_proxy

MODES = ("workspace-write", "read-only", "off")

SECRET_PATHS = (
    ".ssh", ".aws", ".azure", ".config/gcloud", ".netrc", ".gnupg", ".docker/config.json",
    ".kube", ".npmrc", ".pypirc", ".git-credentials", ".config/gh", ".config/hub",
    ".password-store", ".local/share/keyrings", ".cargo/credentials.toml",
    ".terraform.d/credentials.tfrc.json", ".kilocode", ".mozilla", ".config/google-chrome",
    ".config/chromium", ".config/BraveSoftware", ".config/microsoft-edge", ".thunderbird",
    "Library/Keychains", "Library/Cookies", "Library/Safari", "Library/Mail",
    "Library/Application Support/Google/Chrome", "Library/Application Support/Firefox",
    "Library/Application Support/BraveSoftware", "Library/Application Support/Microsoft Edge",
)  # fmt: skip
"""Home-relative secret stores hidden from sandboxed commands (where they exist)."""

HOST_SOCKETS = (
    "/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock",
    "/run/containerd/containerd.sock", "/run/dbus/system_bus_socket",
)  # fmt: skip
"""Unix sockets that would hand a confined command more power than the user's shell
(a network namespace does not cover filesystem sockets)."""

PROTECTED_IN_WORKSPACE = (".git/hooks", ".git/config", ".kilocode")
"""Workspace paths that stay read-only: writing them would run code or loosen the
policy later, outside the sandbox (git hooks, git config, kilo-tui's project files)."""

PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class SandboxSettings:
    """The ``[sandbox]`` table. Field names are the config keys."""

    mode: str = "workspace-write"
    """``workspace-write``, ``read-only`` or ``off``."""
    network: bool = False
    """Let sandboxed commands use the network."""
    allowed_domains: tuple[str, ...] = ()
    """Hosts sandboxed commands may reach with the network off, through kilo-tui's proxy
    (``example.com``, ``*.example.com`` for its subdomains, or an IP address)."""


@dataclass(frozen=True)
class SandboxStatus:
    """What the sandbox does in this run, in words for the status bar and ``doctor``."""

    mode: str
    active: bool
    mechanism: str
    network: bool
    message: str
    unsupported: str = ""
    """A setting that has no effect with this mechanism (said once, never pretended)."""


@dataclass(frozen=True)
class Confinement:
    """How one command runs: wrapped (``prefix``) or not, with or without network."""

    sandboxed: bool
    network: bool
    prefix: tuple[str, ...] = ()
    proxy: DomainProxy | None = field(default=None, compare=False)
    """The proxy that lets it reach ``allowed_domains`` (network otherwise off)."""
    mark: int = 0
    """Where the proxy's refusal log stood when the command was set up."""

    @property
    def offline_sandbox(self) -> bool:
        """Confined with the network off (but for ``allowed_domains``): what
        ``sandboxed_commands`` auto-approves."""
        return self.sandboxed and not self.network

    def network_text(self) -> str:
        """The command's network, in words for the tool result."""
        if self.network:
            return "network on"
        if self.proxy is not None:
            hosts = ", ".join(self.proxy.allowed)
            return f"network only to [sandbox] allowed_domains ({hosts}) through kilo-tui's proxy"
        return "network off"

    def blocked_hosts(self) -> list[str]:
        """``host:port`` the proxy refused since this command was set up."""
        return self.proxy.blocked_since(self.mark) if self.proxy is not None else []


@dataclass(frozen=True)
class SandboxFailure:
    """Why a command's failure looks like the sandbox's doing, and the way out."""

    kind: str
    """``filesystem`` or ``network``."""
    evidence: str
    """The line of output that shows it."""
    blocked: tuple[str, ...] = ()
    """Hosts the proxy refused (``host:port``): not in ``allowed_domains``."""

    def explanation(self) -> str:
        """What the model is told."""
        if self.blocked:
            hosts = ", ".join(self.blocked)
            return (
                "The sandbox blocked it: commands may reach only the hosts in [sandbox] "
                f"allowed_domains, and kilo-tui's proxy refused {hosts}. Do not work around "
                "the sandbox; the user can add the host to [sandbox] allowed_domains in "
                "config.toml, or allow network access for this command."
            )
        if self.kind == "network":
            return (
                "The sandbox blocked it: commands run with the network off, so this "
                f"connection failed ({self.evidence.strip()}). Do not work around the "
                "sandbox; the user can allow network access for this command."
            )
        return (
            "The sandbox blocked it: commands may only write inside the workspace and the "
            "temp directory, and cannot read the user's secret stores or kilo-tui's files "
            f"({self.evidence.strip()}). Do not work around the sandbox; the user can run "
            "it outside the sandbox."
        )


# The unconfined command runs in the background of a small /bin/sh that leads its
# process group; when kilo-tui dies (the parent-death signal, TERM) the trap kills the
# whole group, so processes the command left in the background die with it too.
GROUP_GUARD = 'trap "kill -KILL 0" TERM HUP; "$@" & wait "$!"'


def unconfined() -> Confinement:
    """A command run with the user's rights; on Linux it still dies with kilo-tui, with
    every process of its group, even when kilo-tui is killed by SIGKILL."""
    prefix = parent_death_prefix("TERM")
    if prefix:
        prefix += ["/bin/sh", "-c", GROUP_GUARD, "kilo-tui-command"]
    return Confinement(False, True, tuple(prefix))


def parent_death_prefix(signal_name: str) -> list[str]:
    """On Linux, ``setpriv --pdeathsig SIG --``: the child gets ``SIG`` when kilo-tui dies,
    even by SIGKILL of its process alone (no clean stop, no group signal)."""
    if sys.platform != "linux":
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", signal_name, "--"] if setpriv else []


@functools.cache
def _bwrap_problem(bwrap: str) -> str:
    """Empty when ``bwrap`` can build a sandbox here, else why not (run once)."""
    probe = [bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid"]
    probe += ["--die-with-parent", "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return f"bwrap cannot create a sandbox here ({detail[0]})"
    return ""


def find_mechanism() -> tuple[str | None, str]:
    """(path to a working ``bwrap``, or to ``sandbox-exec`` on macOS, or None; why none
    works)."""
    if sys.platform == "darwin":
        if Path(seatbelt.SANDBOX_EXEC).exists():
            return seatbelt.SANDBOX_EXEC, ""
        return None, f"{seatbelt.SANDBOX_EXEC} is missing"
    if sys.platform != "linux":
        return None, f"no sandbox mechanism is supported on {sys.platform} yet"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None, "bubblewrap (bwrap) is not installed"
    problem = _bwrap_problem(bwrap)
    return (None, problem) if problem else (bwrap, "")


class Sandbox:
    """The sandbox of one workspace: settings plus the mechanism found on this machine."""

    def __init__(self, settings: SandboxSettings, workspace: Path) -> None:
        self.settings = settings
        self.workspace = workspace.resolve()
        self._found: tuple[str | None, str] | None = None

    def _mechanism(self) -> tuple[str | None, str]:
        if self._found is None:
            self._found = find_mechanism() if self.settings.mode != "off" else (None, "")
        return self._found

    def status(self) -> SandboxStatus:
        """The sandbox in this run; probing the mechanism the first time (~20 ms)."""
        s = self.settings
        tool, problem = self._mechanism()
        unsupported = ""
        if s.allowed_domains and s.network:
            unsupported = (
                "[sandbox] allowed_domains has no effect with network = true: sandboxed "
                "commands may reach every host"
            )
        if s.mode == "off":
            return SandboxStatus(
                "off", False, "none", True, "sandbox off: commands run with your full rights"
            )
        if tool is None:
            message = f"no sandbox: {problem}; commands run with your full rights"
            return SandboxStatus(s.mode, False, "none", True, message)
        where = "the workspace and temp dir" if s.mode == "workspace-write" else "only temp dir"
        net = "network on" if s.network else "network off"
        if s.allowed_domains and not s.network:
            net = f"network only to {', '.join(s.allowed_domains)} (through a proxy)"
        name = _mechanism_name(tool)
        message = f"sandbox {s.mode} ({name}): {where} writable, {net}"
        return SandboxStatus(s.mode, True, name, s.network, message, unsupported)

    def confinement(self, cwd: Path, *, network: bool = False, escape: bool = False) -> Confinement:
        """How a command started in ``cwd`` runs. ``network``: the user allowed network
        for it; ``escape``: the user approved running it outside the sandbox."""
        tool, _ = self._mechanism()
        if escape or tool is None:
            return unconfined()
        allow_net = network or self.settings.network
        darwin = _mechanism_name(tool) == "seatbelt"
        proxy = self._proxy(tcp=darwin) if not allow_net else None
        if darwin:
            prefix = self._seatbelt_args(allow_net, proxy)
        else:
            prefix = self._bwrap_args(tool, cwd, allow_net, proxy)
        return Confinement(True, allow_net, tuple(prefix), proxy, proxy.mark() if proxy else 0)

    def _proxy(self, *, tcp: bool) -> DomainProxy | None:
        """The proxy for ``allowed_domains`` (None when there are none, or it cannot
        start: the network then simply stays off). ``tcp``: also on a 127.0.0.1 port."""
        if not self.settings.allowed_domains:
            return None
        try:
            return shared_proxy(self.settings.allowed_domains, tcp=tcp)
        except OSError:
            return None

    def _seatbelt_args(self, network: bool, proxy: DomainProxy | None) -> list[str]:
        return seatbelt.arguments(
            writable=self.writable_roots(),
            read_only=self.read_only_paths(),
            hidden=self.hidden_paths(),
            network=network,
            proxy_port=proxy.tcp_port if proxy is not None else None,
        )

    # ---------------------------------------------------------------- bwrap

    def writable_roots(self) -> list[Path]:
        roots = temp_dirs()
        if self.settings.mode == "workspace-write":
            roots.append(self.workspace)
        return roots

    def read_only_paths(self) -> list[Path]:
        """Existing paths kept read-only inside the writable ones: the whole workspace in
        ``read-only`` mode (it may lie in the temp dir), else its protected paths."""
        if self.settings.mode != "workspace-write":
            return [self.workspace]
        return [p for p in (self.workspace / r for r in PROTECTED_IN_WORKSPACE) if p.exists()]

    def hidden_paths(self) -> list[Path]:
        """Existing paths a sandboxed command must not read."""
        home = Path.home()
        ours = [paths.config_dir(), paths.data_dir(), paths.cache_dir()]
        candidates = [*ours, *(home / p for p in SECRET_PATHS), *map(Path, HOST_SOCKETS)]
        candidates.append(Path(f"/run/user/{os.getuid()}"))
        if agent := os.environ.get("SSH_AUTH_SOCK"):
            candidates.append(Path(agent))
        return _existing_unique(candidates)

    def _bwrap_args(
        self, bwrap: str, cwd: Path, network: bool, proxy: DomainProxy | None = None
    ) -> list[str]:
        args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        binds = [("--bind", p) for p in self.writable_roots()]
        binds += [("--ro-bind", p) for p in self.read_only_paths()]
        if proxy is not None and proxy.socket_path is not None:
            binds.append(("--ro-bind", proxy.socket_path.parent))
        hidden = self.hidden_paths()
        args += _mounts(binds, hidden)
        # A bind inside a hidden directory (a workspace under KILO_TUI_HOME) is made again
        # on top of the empty directory; what is hidden inside it is hidden again.
        nested = [(kind, p) for kind, p in binds if any(p != h and _inside(p, [h]) for h in hidden)]
        if nested:
            inner = [h for h in hidden if any(_inside(h, [p]) for _, p in nested)]
            args += _mounts(nested, inner)
        for path in hidden:
            if path.is_dir():
                args += ["--remount-ro", str(path)]
        if not network:
            args.append("--unshare-net")
        args += ["--unshare-pid", "--die-with-parent", "--chdir", str(cwd), "--"]
        if proxy is not None:
            args += ["/bin/sh", "-c", BRIDGE_WRAPPER, "kilo-tui-proxy", self._python(hidden)]
            args += [str(proxy.socket_path), BRIDGE]
        return args

    @staticmethod
    def _python(hidden: list[Path]) -> str:
        """The Python that runs the proxy bridge inside the sandbox: kilo-tui's own,
        unless it lives in a hidden directory."""
        own = Path(sys.executable)
        return "python3" if not sys.executable or _inside(own, hidden) else str(own)

    # ------------------------------------------------------------- diagnosis

    def diagnose(self, output: str, cwd: Path, conf: Confinement) -> SandboxFailure | None:
        """Whether a failed command's output shows the sandbox stopped it."""
        if not conf.sandboxed:
            return None
        if blocked := conf.blocked_hosts():
            return SandboxFailure(
                "network", f"kilo-tui's proxy refused {', '.join(blocked)}", tuple(blocked)
            )
        hidden = self.hidden_paths()
        for line in output.splitlines()[-200:]:
            if not conf.network and _NETWORK_ERROR.search(line):
                return SandboxFailure("network", line)
            if _READ_ONLY.search(line):
                return SandboxFailure("filesystem", line)
            denied, missing = _DENIED.search(line), _MISSING.search(line)
            if denied or missing:
                for text in _paths_in(line):
                    path = Path(os.path.normpath(cwd / Path(text).expanduser()))
                    if _inside(path, hidden) or (denied and self._write_blocked(path)):
                        return SandboxFailure("filesystem", line)
        return None

    def _write_blocked(self, path: Path) -> bool:
        """True when the sandbox, not the file's permissions, refuses writing ``path``."""
        if _inside(path, self.read_only_paths()):
            return True
        if _inside(path, self.writable_roots()):
            return False
        existing = path if path.exists() else path.parent
        return os.access(existing, os.W_OK)


_NETWORK_ERROR = re.compile(
    r"Network is unreachable|Could not resolve host|Temporary failure in name resolution|"
    r"Name or service not known|getaddrinfo|ENETUNREACH|EAI_AGAIN|ECONNREFUSED|"
    r"Connection refused|Failed to establish a new connection|No route to host",
    re.IGNORECASE,
)
_READ_ONLY = re.compile(r"Read-only file system|EROFS", re.IGNORECASE)
_DENIED = re.compile(r"Permission denied|Operation not permitted|EACCES|EPERM", re.IGNORECASE)
_MISSING = re.compile(r"No such file or directory|ENOENT", re.IGNORECASE)
_PATH = re.compile(r"(?:(?<=[\s'\"`:(=])|^)((?:~|\.{1,2})?/[^\s'\"`:,)]+|[\w.-]+/[^\s'\"`:,)]+)")


def _mechanism_name(tool: str) -> str:
    return "seatbelt" if tool == seatbelt.SANDBOX_EXEC else "bubblewrap"


def _paths_in(line: str) -> list[str]:
    return _PATH.findall(line)


def _mounts(binds: list[tuple[str, Path]], hidden: list[Path]) -> list[str]:
    """bwrap options: ``binds`` in order, then ``hidden`` covered (an empty directory, or
    an unreadable file)."""
    args: list[str] = []
    for kind, path in binds:
        args += [kind, str(path), str(path)]
    for path in hidden:
        args += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
    return args


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def temp_dirs() -> list[Path]:
    """The system temp directory (``$TMPDIR``) and ``/tmp``: writable in the sandbox."""
    return _existing_unique([Path(tempfile.gettempdir()), Path("/tmp")])


def _existing_unique(candidates: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in candidates:
        if os.path.lexists(path):
            resolved = path.resolve()
            if resolved.exists() and resolved not in out:
                out.append(resolved)
    return out
