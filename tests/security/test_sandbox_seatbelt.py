"""macOS: the Seatbelt profile generated from the sandbox policy, and the choice of
``sandbox-exec`` on darwin. This CI runs Linux, so the profile is checked as text and
the platform selection with ``sys.platform`` set to ``darwin``; nothing here proves
the profile on a real Mac (docs/SECURITY.md says so).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kilo_tui.core.trust import sandbox as sandbox_module
from kilo_tui.core.trust import seatbelt
from kilo_tui.core.trust.sandbox import Sandbox, SandboxSettings

CRAFTED = 'ws") (allow default) (deny file-write* (subpath "\n;x\\'


@pytest.fixture
def darwin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``sys.platform`` is darwin and ``sandbox-exec`` exists (a stand-in file)."""
    tool = tmp_path / "sandbox-exec"
    tool.write_text("")
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(seatbelt, "SANDBOX_EXEC", str(tool))
    return tool


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "user"
    for secret in (".ssh", "Library/Keychains"):
        (home / secret).mkdir(parents=True)
    (home / ".netrc").write_text("machine x password y\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "kilo-home"))
    (tmp_path / "kilo-home").mkdir()
    return home


def _params(args: list[str]) -> dict[str, str]:
    return dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-D")


def test_on_darwin_sandbox_exec_is_chosen_and_runs_the_command(
    darwin: Path, user_home: Path, tmp_path: Path
) -> None:
    ws = tmp_path / CRAFTED
    (ws / ".git" / "hooks").mkdir(parents=True)
    box = Sandbox(SandboxSettings(), ws)

    status = box.status()
    conf = box.confinement(ws)

    assert status.active and status.mechanism == "seatbelt", status
    assert status.message.startswith("sandbox workspace-write (seatbelt):")
    assert conf.sandboxed and not conf.network and conf.offline_sandbox
    args = list(conf.prefix)
    assert args[:2] == [str(darwin), "-p"]
    text, params = args[2], _params(args)
    # The crafted name is a parameter, never profile text: no rule can be forged.
    assert CRAFTED not in text and "allow default) (deny" not in text
    assert text.count("(allow default)") == 1
    writable = {v for k, v in params.items() if k.startswith("WRITABLE_")}
    assert str(ws.resolve()) in writable
    assert str(ws.resolve() / ".git" / "hooks") in {
        v for k, v in params.items() if k.startswith("READ_ONLY_")
    }
    hidden = {v for k, v in params.items() if k.startswith("HIDDEN_")}
    expected = {user_home / ".ssh", user_home / "Library/Keychains", user_home / ".netrc"}
    assert {str(p.resolve()) for p in expected} <= hidden
    assert str((tmp_path / "kilo-home").resolve()) in hidden  # kilo-tui's own files
    assert "(deny network*)" in text and "remote ip" not in text
    assert args[-2] == "-D"  # the command follows the parameters


def test_the_profile_states_each_rule_in_an_order_where_the_last_match_wins() -> None:
    text = seatbelt.profile(writable=2, read_only=1, hidden=2, network=False, proxy_port=None)

    rules = [
        "(version 1)",
        "(allow default)",
        "(deny file-write*)",
        '(allow file-write*\n  (subpath (param "WRITABLE_0"))\n  (subpath (param "WRITABLE_1"))',
        '(deny file-write*\n  (subpath (param "READ_ONLY_0")))',
        "(deny file-read* file-write*\n"
        '  (subpath (param "HIDDEN_0"))\n  (subpath (param "HIDDEN_1")))',
        "(deny network*)",
    ]
    positions = [text.index(rule) for rule in rules]
    assert positions == sorted(positions), text
    assert '(literal "/dev/null")' in text and "ttys" in text
    assert text.count("(") == text.count(")")
    online = seatbelt.profile(writable=1, read_only=0, hidden=0, network=True, proxy_port=None)
    assert "network" not in online and "READ_ONLY" not in online


def test_allowed_domains_on_darwin_go_through_the_proxy_on_a_localhost_port(
    darwin: Path, user_home: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    box = Sandbox(SandboxSettings(allowed_domains=("pypi.org",)), ws)

    conf = box.confinement(ws)

    assert conf.proxy is not None and conf.proxy.tcp_port
    port = conf.proxy.tcp_port
    args = list(conf.prefix)
    text = args[2]
    assert text.index("(deny network*)") < text.index(
        f'(allow network-outbound (remote ip "localhost:{port}"))'
    )
    env_at = args.index("/usr/bin/env")
    assert args[env_at + 1 : env_at + 5] == ["-u", "NO_PROXY", "-u", "no_proxy"]
    url = f"http://127.0.0.1:{port}"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        assert f"{var}={url}" in args
    assert "network only to [sandbox] allowed_domains (pypi.org)" in conf.network_text()
    # With the network on, no proxy and no network rule.
    on = box.confinement(ws, network=True)
    assert on.proxy is None and "network" not in on.prefix[2]


def test_without_sandbox_exec_darwin_says_so(darwin: Path, user_home: Path, tmp_path: Path) -> None:
    darwin.unlink()
    box = Sandbox(SandboxSettings(), tmp_path)
    status = box.status()
    assert not status.active and f"{darwin} is missing" in status.message
    assert not box.confinement(tmp_path).sandboxed
    assert sandbox_module.find_mechanism() == (None, f"{darwin} is missing")
