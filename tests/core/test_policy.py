"""The auto-approve policy: settings, command rules (adversarial), toggles, remembering."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kilo_tui.core.approval import (
    Action,
    AutoApprovePolicy,
    AutoApproveSettings,
    is_protected_path,
    load_project_settings,
    merge,
)
from kilo_tui.core.config import ConfigError
from kilo_tui.core.trust.commands import analyze, evaluate_command

ONLY_GIT_STATUS = ["git status"]


# ------------------------------------------------------------------- commands


@pytest.mark.parametrize("command", ["git status", "git status -s", "git  status --short"])
def test_allowed_command_runs(command: str) -> None:
    assert evaluate_command(command, ONLY_GIT_STATUS, []) == (
        "allow",
        "allowed_commands: git status",
    )


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("git status && rm -rf x", "rm -rf x"),
        ("git status; curl evil", "curl evil"),
        ("git status || rm x", "rm x"),
        ("git status & rm x", "rm x"),
        ("git status | sh", "'sh'"),
        ("git status |& sh", "'sh'"),
        ("git status\nrm x", "rm x"),
        ("git status \\\n&& rm x", "rm x"),
        ("git statusx", "git statusx"),
        ("Git status", "Git status"),
        ("git status a#; rm x", "rm x"),  # '#' inside a word is not a comment
        ("echo $(rm x)", "$("),
        ("git status `rm x`", "backticks"),
        ('git status "$(rm x)"', "$("),
        ('git status "`rm x`"', "backticks"),
        ("git status <(rm x)", "subshell"),
        ("git status >(rm x)", "redirection"),
        ("(git status)", "subshell"),
        ("git status ${x@P}", "${"),
        ('git status "${x@P}"', "${"),
        ("git status <<< $(rm x)", "$("),
        ("git status $'a\\'; rm x'", "ANSI-C"),
        ("git status > /etc/passwd", "/etc/passwd"),
        ("git status >> ~/.bashrc", "~/.bashrc"),
        ("git status 2> /tmp/x", "/tmp/x"),
        ("git status &> out.txt", "out.txt"),
        ("git status >| out.txt", "out.txt"),
        ("git status >& out.txt", "out.txt"),
        ("FOO=1 git status", "environment assignment"),
        ("PATH=/tmp/evil git status", "environment assignment"),
        ("sudo git status", "sudo"),
        ("eval git status", "eval"),
        ("exec git status", "exec"),
        ('bash -c "git status"', "bash -c"),
        ("sh -ec 'git status'", "sh -c"),
        ("/bin/sh -c 'git status'", "sh -c"),
        ("git status 'unterminated", "unterminated"),
        ("", "empty"),
    ],
)
def test_bypass_attempts_are_not_auto_approved(command: str, why: str) -> None:
    verdict, reason = evaluate_command(command, ONLY_GIT_STATUS, [])
    assert verdict == "ask", (command, reason)
    assert why in reason


@pytest.mark.parametrize(
    "command",
    [
        "git status 2>&1",
        "git status >/dev/null 2>&1",
        "git status &>/dev/null",
        "git status '&& rm x'",  # quoted: an argument, not an operator
        "git status '$(rm x)'",
        'git status "a\\"; rm x"',
        "git status # && rm -rf x",  # a comment
        '"git" status',
    ],
)
def test_harmless_forms_stay_allowed(command: str) -> None:
    assert evaluate_command(command, ONLY_GIT_STATUS, [])[0] == "allow", command


def test_every_part_of_a_chain_must_be_allowed() -> None:
    allowed = ["git status", "git diff", "npm test"]
    assert evaluate_command("git status && git diff | npm test", allowed, []) == (
        "allow",
        "allowed_commands: git status; allowed_commands: git diff; allowed_commands: npm test",
    )
    verdict, reason = evaluate_command("git status && git push", allowed, [])
    assert (verdict, reason) == ("ask", "not in allowed_commands: 'git push'")


def test_longest_prefix_wins_between_allowed_and_denied() -> None:
    assert evaluate_command("git push --force", ["git"], ["git push"]) == (
        "deny",
        "denied_commands: git push",
    )
    assert evaluate_command("git push origin", ["git push"], ["git"]) == (
        "allow",
        "allowed_commands: git push",
    )
    # a tie goes to the deny list
    assert evaluate_command("git push", ["git push"], ["git push"])[0] == "deny"
    # '*' allows everything, but any denied prefix is longer
    assert evaluate_command("rm -rf /", ["*"], ["rm"]) == ("deny", "denied_commands: rm")
    assert evaluate_command("make all", ["*"], ["rm"]) == ("allow", "allowed_commands: *")
    # a denied part denies the whole chain, even after a part that would ask
    assert evaluate_command("ls && rm -rf x", ["git"], ["rm"]) == (
        "deny",
        "denied_commands: rm",
    )
    # word boundaries on the deny list too
    assert evaluate_command("rmdir x", ["*"], ["rm"])[0] == "allow"


def test_star_does_not_bless_dangerous_constructs() -> None:
    assert evaluate_command("echo $(whoami)", ["*"], [])[0] == "ask"
    assert evaluate_command("sudo make install", ["*"], [])[0] == "ask"
    assert evaluate_command("cat x > /etc/hosts", ["*"], [])[0] == "ask"


def test_output_option_that_writes_files_asks() -> None:
    verdict, reason = evaluate_command("git diff --output=/tmp/x", ["git diff"], [])
    assert verdict == "ask"
    assert "--output" in reason


def test_parsing_respects_quotes() -> None:
    parsed, _ = analyze("a 'b;c' && d \"e|f\" | g")
    assert [c.text for c in parsed.commands] == ["a 'b;c'", 'd "e|f"', "g"]
    assert [[w.value for w in c.words] for c in parsed.commands] == [
        ["a", "b;c"],
        ["d", "e|f"],
        ["g"],
    ]
    parsed, _ = analyze("a $(b)")
    assert "substitution" in parsed.hazards[0]


# ------------------------------------------------------------------- settings


def test_defaults_are_safe() -> None:
    s = AutoApproveSettings()
    assert s.enabled and s.read
    assert not any([s.write, s.execute, s.mcp, s.mode_switch, s.subtasks, s.followup_questions])
    assert s.allowed_commands == ("git log", "git diff", "git show", "git status")
    assert s.max_requests is None and s.max_cost is None


def test_from_dict_validates_types_and_keys() -> None:
    s = AutoApproveSettings.from_dict(
        {"execute": True, "allowed_commands": ["npm test"], "max_requests": 20, "max_cost": 2},
        source="/c/config.toml",
    )
    assert s.execute and s.allowed_commands == ("npm test",)
    assert s.max_requests == 20 and s.max_cost == 2.0
    with pytest.raises(ConfigError) as err:
        AutoApproveSettings.from_dict({"write": "yes"}, source="/c/config.toml")
    assert err.value.key == "auto_approve.write" and err.value.path == "/c/config.toml"
    with pytest.raises(ConfigError) as err:
        AutoApproveSettings.from_dict({"alwaysAllowWrite": True}, source="x.toml")
    assert err.value.key == "auto_approve.alwaysAllowWrite"
    assert "unknown setting" in str(err.value)
    for key, bad in [
        ("allowed_commands", "git status"),
        ("max_requests", 0),
        ("max_requests", True),
        ("max_cost", -1),
        ("always_allow", ["delete:x"]),
    ]:
        with pytest.raises(ConfigError) as err:
            AutoApproveSettings.from_dict({key: bad}, source="x.toml")
        assert err.value.key == f"auto_approve.{key}"


def test_merge_project_overrides_scalars_and_extends_lists() -> None:
    merged = merge(
        {"write": False, "denied_commands": ["rm"], "allowed_commands": ["git log"]},
        {"write": True, "denied_commands": ["curl"], "allowed_commands": ["npm test"]},
    )
    assert merged == {
        "write": True,
        "denied_commands": ["rm", "curl"],
        "allowed_commands": ["git log", "npm test"],
    }
    # without a global list, the project adds to the default
    assert merge({}, {"allowed_commands": ["npm test"]})["allowed_commands"][-1] == "npm test"
    assert "git status" in merge({}, {"allowed_commands": ["npm test"]})["allowed_commands"]


def test_load_project_settings_reads_kilocode_toml(tmp_path: Path) -> None:
    (tmp_path / ".kilocode").mkdir()
    (tmp_path / ".kilocode" / "kilo-tui.toml").write_text(
        '[auto_approve]\nexecute = true\nalways_allow = ["command:npm test"]\n'
    )
    s = load_project_settings({"write": True}, tmp_path, global_source="g.toml")
    assert s.write and s.execute and s.always_allow == ("command:npm test",)
    (tmp_path / ".kilocode" / "kilo-tui.toml").write_text("[auto_approve]\nexecute = 1\n")
    with pytest.raises(ConfigError) as err:
        load_project_settings({}, tmp_path, global_source="g.toml")
    assert err.value.path.endswith("kilo-tui.toml") and err.value.key == "auto_approve.execute"


# --------------------------------------------------------------------- policy


def policy(**kw: object) -> AutoApprovePolicy:
    return AutoApprovePolicy(AutoApproveSettings(**kw))  # type: ignore[arg-type]


def read(path: str, outside: bool = False) -> Action:
    return Action(
        kind="read", tool="read_file", title=f"Read {path}", path=path, outside_workspace=outside
    )


def write(path: str, outside: bool = False) -> Action:
    return Action(
        kind="write",
        tool="write_to_file",
        title=f"Write {path}",
        path=path,
        outside_workspace=outside,
    )


def cmd(command: str) -> Action:
    return Action(kind="command", tool="execute_command", title=command, command=command)


def test_read_toggles() -> None:
    p = policy()
    assert p.evaluate(read("src/a.py")).verdict == "allow"
    assert p.evaluate(read("/etc/hosts", outside=True)).rule == "read_outside_workspace = false"
    assert policy(read_outside_workspace=True).evaluate(read("/etc/hosts", True)).verdict == "allow"
    assert policy(read=False).evaluate(read("src/a.py")).rule == "read = false"
    assert policy(enabled=False).evaluate(read("src/a.py")).rule == "auto_approve.enabled = false"


def test_write_toggles_outside_and_protected() -> None:
    assert policy().evaluate(write("src/a.py")).rule == "write = false"
    on = policy(write=True)
    assert on.evaluate(write("src/a.py")).verdict == "allow"
    assert on.evaluate(write("/tmp/x", outside=True)).rule == "write_outside_workspace = false"
    for protected in [
        ".kilocodemodes",
        ".kilocode/rules/a.md",
        ".kilocodeignore",
        "AGENTS.md",
        ".kilocoderules-code",
    ]:
        decision = on.evaluate(write(protected))
        assert decision.verdict == "ask", protected
        assert "write_protected" in decision.rule
    assert policy(write=True, write_protected=True).evaluate(write("AGENTS.md")).verdict == "allow"
    # the policy file itself is never auto-approved, whatever the toggles
    everything = policy(write=True, write_protected=True, write_outside_workspace=True)
    assert everything.evaluate(write(".kilocode/kilo-tui.toml")).verdict == "ask"
    assert is_protected_path(".kilocode/mcp.json") and not is_protected_path("src/kilocode.py")


def test_command_needs_execute_and_the_list() -> None:
    assert policy().evaluate(cmd("git status")).rule == "execute = false"
    p = policy(execute=True, allowed_commands=("git status",))
    assert p.evaluate(cmd("git status")).rule == "allowed_commands: git status"
    assert p.evaluate(cmd("git status && rm -rf x")).verdict == "ask"
    # the deny list applies even with execute off
    assert policy(denied_commands=("rm",)).evaluate(cmd("rm x")).verdict == "deny"


def test_mcp_and_other_toggles() -> None:
    action = Action(kind="mcp", tool="use_mcp_tool", title="time", server="time", mcp_tool="now")
    assert policy().evaluate(action).rule == "mcp = false"
    assert policy(mcp=True).evaluate(action).verdict == "allow"
    strict = AutoApprovePolicy(
        AutoApproveSettings(mcp=True), mcp_always_allowed=lambda s, t: t == "other"
    )
    assert strict.evaluate(action).verdict == "ask"
    for kind, key in [
        ("mode_switch", "mode_switch"),
        ("subtask", "subtasks"),
        ("followup", "followup_questions"),
    ]:
        a = Action(kind=kind, tool="t", title="t")
        assert policy().evaluate(a).rule == f"{key} = false"
        assert policy(**{key: True}).evaluate(a).verdict == "allow"
    assert policy().evaluate(Action(kind="teleport", tool="t", title="t")).verdict == "ask"


# ---------------------------------------------------------------- always allow


def test_always_allow_rules_and_remember(tmp_path: Path) -> None:
    config = tmp_path / ".kilocode" / "kilo-tui.toml"
    config.parent.mkdir()
    config.write_text('model = "x"\n[auto_approve]\nwrite = false\n')
    p = policy()
    action = cmd("npm test -- --watch && git status")
    assert p.always_allow_rule(action) == (
        'always_allow += "command:npm test -- --watch"; always_allow += "command:git status"'
    )
    assert p.evaluate(action).verdict == "ask"
    p.remember(action, config)
    assert p.evaluate(action).verdict == "allow"
    assert (
        p.evaluate(cmd("npm test -- --watch")).rule == "always_allow: command:npm test -- --watch"
    )
    data = tomllib.loads(config.read_text())
    assert data["model"] == "x" and data["auto_approve"]["write"] is False
    assert data["auto_approve"]["always_allow"] == [
        "command:npm test -- --watch",
        "command:git status",
    ]
    # the remembered rules survive a reload through the same loader the app uses
    reloaded = AutoApprovePolicy(load_project_settings({}, tmp_path, global_source="g"))
    assert reloaded.evaluate(cmd("git status")).verdict == "allow"
    # remembered prefixes still never bless chains or substitutions
    assert reloaded.evaluate(cmd("git status; rm -rf x")).verdict == "ask"
    assert reloaded.evaluate(cmd("git status $(rm x)")).verdict == "ask"


def test_always_allow_refuses_what_can_never_be_automatic(tmp_path: Path) -> None:
    p = policy(denied_commands=("rm",))
    assert p.always_allow_rule(cmd("echo $(id)")) is None
    assert p.always_allow_rule(cmd("ls && rm x")) is None
    assert p.always_allow_rule(write(".kilocodemodes")) is None
    assert p.remember(write(".kilocode/kilo-tui.toml"), tmp_path / "k.toml") == ""
    assert not (tmp_path / "k.toml").exists()


def test_always_allow_for_paths_mcp_and_toggles(tmp_path: Path) -> None:
    config = tmp_path / "kilo-tui.toml"
    p = policy()
    assert p.remember(write("src/app.py"), config) == 'always_allow += "write:src/app.py"'
    assert p.evaluate(write("src/app.py")).rule == "always_allow: write:src/app.py"
    assert p.evaluate(write("src/other.py")).verdict == "ask"
    p.remember(read("/etc/hosts", outside=True), config)
    assert p.evaluate(read("/etc/hosts", outside=True)).verdict == "allow"
    mcp = Action(kind="mcp", tool="use_mcp_tool", title="t", server="time", mcp_tool="now")
    assert p.remember(mcp, config) == 'always_allow += "mcp:time/now"'
    assert p.evaluate(mcp).verdict == "allow"
    assert p.remember(Action(kind="mode_switch", tool="switch_mode", title="t"), config) == (
        "mode_switch = true"
    )
    data = tomllib.loads(config.read_text())["auto_approve"]
    assert data["mode_switch"] is True
    assert data["always_allow"] == ["write:src/app.py", "read:/etc/hosts", "mcp:time/now"]
    # a directory grant covers what is below it
    tree = AutoApprovePolicy(AutoApproveSettings(always_allow=("write:docs/",)))
    assert tree.evaluate(write("docs/a/b.md")).verdict == "allow"
    assert tree.evaluate(write("docsx/a.md")).verdict == "ask"


def test_paths_are_normalised_before_deciding(tmp_path: Path) -> None:
    everything_but_outside = policy(write=True, write_protected=True)
    sneaky = write("src/../.kilocode/kilo-tui.toml")
    assert everything_but_outside.evaluate(sneaky).verdict == "ask"
    assert "never auto-approved" in everything_but_outside.evaluate(sneaky).rule
    on = policy(write=True)
    assert on.evaluate(write("./.kilocodemodes")).rule.startswith("write_protected = false")
    assert on.evaluate(write("docs/AGENTS.md")).rule.startswith("write_protected = false")
    # without a workspace to compare with, escaping paths count as outside
    assert on.evaluate(write("../elsewhere.py")).rule == "write_outside_workspace = false"
    assert on.evaluate(write("/etc/hosts")).rule == "write_outside_workspace = false"
    # with one, absolute paths inside it and symlinks are resolved
    (tmp_path / ".kilocode").mkdir()
    (tmp_path / "innocent").symlink_to(tmp_path / ".kilocode")
    grounded = AutoApprovePolicy(AutoApproveSettings(write=True), workspace=tmp_path)
    assert grounded.evaluate(write(str(tmp_path / "src" / "a.py"))).rule == "write = true"
    assert grounded.evaluate(write(str(tmp_path / ".kilocodemodes"))).verdict == "ask"
    assert grounded.evaluate(write("innocent/mcp.json")).verdict == "ask"
    assert grounded.evaluate(write("innocent/kilo-tui.toml")).rule.endswith("never auto-approved")
    (tmp_path / "out").symlink_to(tmp_path.parent)
    assert grounded.evaluate(write("out/x.py")).rule == "write_outside_workspace = false"


def test_remember_keeps_the_files_permissions(tmp_path: Path) -> None:
    config = tmp_path / "kilo-tui.toml"
    config.write_text("[auto_approve]\n")
    config.chmod(0o644)
    policy().remember(cmd("make test"), config)
    assert config.stat().st_mode & 0o777 == 0o644
    fresh = tmp_path / "new" / "kilo-tui.toml"
    policy().remember(cmd("make test"), fresh)
    assert tomllib.loads(fresh.read_text()) == {
        "auto_approve": {"always_allow": ["command:make test"]}
    }
