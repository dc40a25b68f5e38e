"""The ``browser`` tool group: the ``[auto_approve] browser`` toggle, per-domain grants,
the group in modes, and the ``[web]`` settings."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kilo_tui.core.agent.modes import BUILTIN_MODES, allowed_tools, check_tool_use, get_mode
from kilo_tui.core.approval import Action, AutoApprovePolicy, AutoApproveSettings
from kilo_tui.core.config import ConfigError, load_settings
from kilo_tui.core.trust.project import restrictive_part


def browse(host: str) -> Action:
    return Action(kind="browser", tool="fetch_url", title=f"Fetch https://{host}/", host=host)


def test_browser_actions_ask_unless_the_toggle_is_on() -> None:
    assert AutoApprovePolicy(AutoApproveSettings()).evaluate(browse("example.com")).rule == (
        "browser = false"
    )
    on = AutoApprovePolicy(AutoApproveSettings(browser=True)).evaluate(browse("example.com"))
    assert (on.verdict, on.rule) == ("allow", "browser = true")
    master_off = AutoApproveSettings(enabled=False, browser=True)
    assert AutoApprovePolicy(master_off).evaluate(browse("example.com")).verdict == "ask"


def test_domain_grants_cover_the_domain_and_its_subdomains_only() -> None:
    p = AutoApprovePolicy(AutoApproveSettings(always_allow=("browser:python.org",)))
    assert p.evaluate(browse("python.org")).rule == "always_allow: browser:python.org"
    assert p.evaluate(browse("docs.python.org")).verdict == "allow"
    assert p.evaluate(browse("DOCS.Python.org.")).verdict == "allow"
    for other in ("notpython.org", "python.org.evil.com", "org", ""):
        assert p.evaluate(browse(other)).verdict == "ask", other


def test_always_allow_remembers_the_host(tmp_path: Path) -> None:
    remembered = tmp_path / "remembered.toml"
    p = AutoApprovePolicy(AutoApproveSettings())
    action = browse("docs.python.org")
    assert p.always_allow_rule(action) == 'always_allow += "browser:docs.python.org"'
    assert p.remember(action, remembered) == 'always_allow += "browser:docs.python.org"'
    assert p.evaluate(action).verdict == "allow"
    assert p.evaluate(browse("python.org")).verdict == "ask"
    data = tomllib.loads(remembered.read_text())["auto_approve"]
    assert data["always_allow"] == ["browser:docs.python.org"]
    assert p.always_allow_rule(Action(kind="browser", tool="fetch_url", title="t")) is None


def test_settings_accept_browser_rules_and_reject_bad_ones() -> None:
    settings = AutoApproveSettings.from_dict(
        {"browser": True, "always_allow": ["browser:example.com"]}, source="c.toml"
    )
    assert settings.browser and settings.always_allow == ("browser:example.com",)
    with pytest.raises(ConfigError, match=r"auto_approve\.browser"):
        AutoApproveSettings.from_dict({"browser": "yes"}, source="c.toml")


def test_an_untrusted_project_cannot_turn_browsing_on() -> None:
    kept, dropped = restrictive_part(
        {"browser": True, "always_allow": ["browser:evil.example"]}, {}
    )
    assert kept == {} and set(dropped) == {"browser", "always_allow"}
    assert restrictive_part({"browser": False}, {})[0] == {"browser": False}


def test_fetch_url_belongs_to_the_browser_group() -> None:
    code = get_mode(BUILTIN_MODES, "code")
    orchestrator = get_mode(BUILTIN_MODES, "orchestrator")
    assert code is not None and orchestrator is not None
    assert allowed_tools(code, ["fetch_url", "browser_action"]) == ["fetch_url", "browser_action"]
    assert allowed_tools(orchestrator, ["fetch_url", "browser_action"]) == []
    refusal = check_tool_use(orchestrator, "fetch_url")
    assert refusal is not None and "not available in orchestrator mode" in refusal


def test_web_settings(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert load_settings(config_path=config).web.allow_private_addresses is False
    config.write_text("[web]\nallow_private_addresses = true\ntimeout = 5\n")
    web = load_settings(config_path=config).web
    assert web.allow_private_addresses is True and web.timeout == 5.0
    config.write_text('[web]\nallow_private_addresses = "yes"\n')
    with pytest.raises(ConfigError, match=r"line 2, key 'web.allow_private_addresses'"):
        load_settings(config_path=config)
    config.write_text("[web]\nmax_size = 0\n")
    with pytest.raises(ConfigError, match="above 0"):
        load_settings(config_path=config)
