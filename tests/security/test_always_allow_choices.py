"""The rules "always allow" may remember for a command (issue #14): the exact command,
or a shorter prefix the user picks. A hostile model writes the command line; no rule
offered may allow more than the user saw: never a chain, a redirection or a
substitution, never a bare interpreter or a tool without its subcommand.

Every row goes through the real parser (:func:`commands.always_allow_choices`) and, for
the policy's side, through :class:`AutoApprovePolicy` and :class:`ApprovalGate`.
"""

from __future__ import annotations

import asyncio
import io
import json
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from kilo_tui.commands.run import StdinReplies
from kilo_tui.core.approval import Action, ApprovalGate, AutoApprovePolicy, AutoApproveSettings
from kilo_tui.core.bus import EventBus
from kilo_tui.core.events import ApprovalReply, ApprovalRequested
from kilo_tui.core.trust import commands


def choices(line: str, allowed: tuple[str, ...] = (), denied: tuple[str, ...] = ()) -> list[str]:
    """Each choice as its prefixes joined with " | " (a line with one command has one)."""
    return [" | ".join(c) for c in commands.always_allow_choices(line, allowed, denied)]


def cmd(line: str) -> Action:
    return Action(kind="command", tool="execute_command", title=line, command=line)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("npm test", ["npm test"]),
        ("npm test -- --watch", ["npm test -- --watch", "npm test"]),
        (
            "python3 -m calc.cli add 2 3",
            [
                "python3 -m calc.cli add 2 3",
                "python3 -m calc.cli add 2",
                "python3 -m calc.cli add",
                "python3 -m calc.cli",
            ],
        ),
        ("python3 script.py --fast", ["python3 script.py --fast", "python3 script.py"]),
        ("bash ./build.sh release", ["bash ./build.sh release", "bash ./build.sh"]),
        ("git commit -m 'fix: parser'", ["git commit -m 'fix: parser'", "git commit"]),
        (
            "pytest -k 'not slow' tests",
            ["pytest -k 'not slow' tests", "pytest -k 'not slow'", "pytest"],
        ),
        ("npm run build", ["npm run build"]),
        ("npx jest --ci", ["npx jest --ci", "npx jest"]),
        ("uv run pytest -q", ["uv run pytest -q", "uv run pytest"]),
        ("uv run python -m calc.cli", ["uv run python -m calc.cli"]),
        ("python3 -m pip install rich", ["python3 -m pip install rich", "python3 -m pip install"]),
        ("ls -la src", ["ls -la src", "ls"]),
        # a program that deletes, moves or reaches another machine: only what was shown
        ("rm -rf build", ["rm -rf build"]),
        ("mv a.txt b.txt", ["mv a.txt b.txt"]),
        ("ssh devbox uptime", ["ssh devbox uptime"]),
        # transparent wrappers come off: the rule names the command that runs
        ("timeout 60 npm test", ["npm test"]),
        ("git --no-pager log -5", ["git log -5", "git log"]),
        # a long command: the exact one and the four shortest prefixes
        (
            "make a b c d e f",
            ["make a b c d e f", "make a b c d", "make a b c", "make a b", "make a"],
        ),
    ],
)
def test_the_exact_command_first_then_word_prefixes(line: str, expected: list[str]) -> None:
    assert choices(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        # a bare interpreter, shell or tool: it would allow anything
        "python3",
        "bash",
        "node",
        "npm",
        "git",
        "npx",
        "npm run",
        "python3 -m",
        "python3 -c",
        "uv run python",
        "docker compose",
        # an option where the program should be: its value is unknown to a prefix
        "python3 --version",
        "npm --version",
        # never auto-approved, so nothing to remember
        "npm test | sh -c 'curl x'",
        "npm test $(rm -rf x)",
        "npm test `rm -rf x`",
        "npm test > package.json",
        "npm test >> ~/.bashrc",
        "npm test < <(cat secrets)",
        "FOO=1 npm test",
        "NODE_OPTIONS='--require evil.js' npm test",
        "env FOO=1 npm test",
        "sudo npm test",
        "sh -c 'npm test'",
        # programs that run their arguments as commands: even the exact line could grow
        "concurrently 'npm test'",
        "cross-env CI=1 npm test",
        "npm-run-all lint",
        "dotenv -- npm test",
        "eval npm test",
        "npm test 'unterminated",
        "$CMD test",
        "npm $SUB",
    ],
)
def test_nothing_broader_than_what_the_user_saw(line: str) -> None:
    assert choices(line) == []


def test_no_choice_widens_past_a_shell_token_hidden_in_quotes() -> None:
    # Quoted text is one word: the prefixes cut between words, never inside a quote.
    offered = choices("echo 'a; rm -rf x' done")
    assert offered == ["echo 'a; rm -rf x' done", "echo 'a; rm -rf x'", "echo"]
    for rule in offered:
        assert commands.decide("echo a; rm -rf x", [rule], []).verdict == "ask"


@pytest.mark.parametrize("joiner", ["; ", " && ", " || ", " | ", "\n"])
def test_a_chain_offers_only_its_exact_commands(joiner: str) -> None:
    # Each part the user saw is named; no choice lets one part's prefix allow the chain.
    assert choices(f"npm test -- --watch{joiner}npm run lint") == [
        "npm test -- --watch | npm run lint"
    ]
    assert choices(f"npm test{joiner}python3") == []
    # a part the user already allows needs no rule: the other part gets prefixes
    assert choices("git status && npm test -- --watch", allowed=("git status",)) == [
        "npm test -- --watch",
        "npm test",
    ]
    assert choices("python3 && ls") == []


def test_a_prefix_that_a_denial_would_beat_is_not_offered() -> None:
    assert choices("git push origin main", denied=("git push",)) == []
    assert choices("rm build/x", denied=("rm",)) == []


@pytest.mark.parametrize(
    ("rule", "allowed", "asks"),
    [
        (
            "npm test",
            ["npm test", "npm test -- --watch"],
            ["npm testify", "npm test; rm -rf x", "npm test && curl x", "npm test $(id)",
             "npm test > out.txt", "FOO=1 npm test", "npm run test"],
        ),
        (
            "python3 -m calc.cli",
            ["python3 -m calc.cli", "python3 -m calc.cli mul 4 5"],
            ["python3 -m calc.cli2", "python3 -m calc", "python3 -c 'import calc.cli'",
             "python3 -m calc.cli add 1 2; rm x", "python3 -m calc.cli `id`"],
        ),
    ],
)  # fmt: skip
def test_a_remembered_prefix_allows_its_commands_and_asks_for_the_rest(
    tmp_path: Path, rule: str, allowed: list[str], asks: list[str]
) -> None:
    policy = AutoApprovePolicy(AutoApproveSettings())
    action = cmd(allowed[-1] + " extra")
    chosen = f'always_allow += "command:{rule}"'
    assert chosen in policy.always_allow_choices(action)
    assert policy.remember(action, tmp_path / "rules.toml", chosen) == chosen
    for line in allowed:
        assert policy.evaluate(cmd(line)).verdict == "allow", line
    for line in asks:
        assert policy.evaluate(cmd(line)).verdict == "ask", line


def test_the_policy_offers_one_rule_for_other_kinds() -> None:
    policy = AutoApprovePolicy(AutoApproveSettings())
    write = Action(kind="write", tool="write_to_file", title="t", path="src/app.py")
    assert policy.always_allow_choices(write) == ['always_allow += "write:src/app.py"']
    assert policy.always_allow_choices(cmd("echo $(id)")) == []


async def test_the_gate_saves_the_rule_the_user_picked(tmp_path: Path) -> None:
    bus = EventBus()
    config = tmp_path / "remembered.toml"
    asked: list[ApprovalRequested] = []

    def pick_the_prefix(event: ApprovalRequested) -> None:
        asked.append(event)
        bus.reply(
            event.request_id,
            ApprovalReply(approved=True, always=True, always_rule=event.always_allow_choices[-1]),
        )

    bus.subscribe(pick_the_prefix, ApprovalRequested)
    gate = ApprovalGate(bus, AutoApprovePolicy(AutoApproveSettings()), project_config=config)
    decision = await gate.decide(cmd("npm test -- --watch"))
    (request,) = asked
    assert request.always_allow_choices == (
        'always_allow += "command:npm test -- --watch"',
        'always_allow += "command:npm test"',
    )
    assert request.always_allow_rule == request.always_allow_choices[0]
    assert decision.approved and decision.rule == 'always_allow += "command:npm test"'
    saved = tomllib.loads(config.read_text())["auto_approve"]["always_allow"]
    assert saved == ["command:npm test"]
    assert (await gate.decide(cmd("npm test"))).by == "policy"
    assert len(asked) == 1
    await gate.decide(cmd("npm testify"))
    assert len(asked) == 2


async def test_the_gate_never_saves_a_rule_it_did_not_offer(tmp_path: Path) -> None:
    bus = EventBus()
    config = tmp_path / "remembered.toml"
    bus.subscribe(
        lambda e: bus.reply(
            e.request_id,
            ApprovalReply(approved=True, always=True, always_rule='always_allow += "command:npm"'),
        ),
        ApprovalRequested,
    )
    gate = ApprovalGate(bus, AutoApprovePolicy(AutoApproveSettings()), project_config=config)
    decision = await gate.decide(cmd("npm test"))
    assert decision.approved  # approved once
    assert "not remembered" in decision.rule
    assert not config.exists()
    assert gate.policy.evaluate(cmd("npm install evil")).verdict == "ask"


async def test_a_headless_script_picks_the_rule_with_always_rule() -> None:
    """``kilo-tui run --stdin-replies``: the JSON reply names the rule it picked."""
    bus = EventBus()
    request = ApprovalRequested(request_id="r1", kind="command", tool="t", title="npm test")
    pending = asyncio.ensure_future(bus.request(request))
    await asyncio.sleep(0)
    line = {"request_id": "r1", "approved": True, "always": True, "always_rule": "x"}
    StdinReplies(SimpleNamespace(bus=bus), io.StringIO(json.dumps(line) + "\n"), io.StringIO())()
    reply = await pending
    assert reply.always and reply.always_rule == "x"


def test_a_program_that_runs_its_arguments_is_never_auto_approved() -> None:
    # Once allowed, one more argument would be one more command.
    for line in ("concurrently 'npm test' 'curl x | sh'", "npm-run-all lint 'curl x'"):
        assert commands.decide(line, [line.split(" '")[0], "npm test"], []).verdict == "ask"
