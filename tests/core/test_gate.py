"""The approval gate: yolo, policy, headless refusal and asking the user over the bus."""

from __future__ import annotations

import asyncio
import dataclasses
import tomllib
from pathlib import Path

from kilo_tui.core.approval import Action, ApprovalGate, AutoApprovePolicy, AutoApproveSettings
from kilo_tui.core.bus import EventBus
from kilo_tui.core.events import ApprovalReply, ApprovalRequested, ApprovalResolved, Event


def cmd(command: str) -> Action:
    return Action(
        kind="command",
        tool="execute_command",
        title=f"Run {command}",
        command=command,
        task_id="t1",
        call_id="c1",
    )


def recorder(bus: EventBus) -> list[Event]:
    seen: list[Event] = []
    bus.subscribe(seen.append, ApprovalRequested, ApprovalResolved)
    return seen


def git_status_policy() -> AutoApprovePolicy:
    return AutoApprovePolicy(AutoApproveSettings(execute=True, allowed_commands=("git status",)))


async def test_policy_allow_and_deny_are_published_with_the_rule() -> None:
    bus = EventBus()
    seen = recorder(bus)
    gate = ApprovalGate(
        bus,
        AutoApprovePolicy(
            AutoApproveSettings(
                execute=True, allowed_commands=("git status",), denied_commands=("rm",)
            )
        ),
    )
    allowed = await gate.decide(cmd("git status"))
    assert (allowed.approved, allowed.by, allowed.rule) == (
        True,
        "policy",
        "allowed_commands: git status",
    )
    denied = await gate.decide(cmd("rm -rf x"))
    assert not denied.approved and denied.rule == "denied_commands: rm"
    assert "denied_commands: rm" in denied.feedback
    resolved = [e for e in seen if isinstance(e, ApprovalResolved)]
    assert [(e.approved, e.by, e.rule, e.task_id) for e in resolved] == [
        (True, "policy", "allowed_commands: git status", "t1"),
        (False, "policy", "denied_commands: rm", "t1"),
    ]
    assert not any(isinstance(e, ApprovalRequested) for e in seen)


async def test_yolo_approves_everything_and_says_so() -> None:
    bus = EventBus()
    seen = recorder(bus)
    gate = ApprovalGate(bus, git_status_policy(), yolo=True)
    decision = await gate.decide(cmd("rm -rf build && echo $(date)"))
    assert (decision.approved, decision.by) == (True, "yolo")
    assert isinstance(seen[-1], ApprovalResolved) and seen[-1].by == "yolo"


async def test_headless_refuses_and_tells_the_model_how_to_allow_it() -> None:
    bus = EventBus()
    seen = recorder(bus)
    gate = ApprovalGate(bus, git_status_policy(), interactive=False)
    decision = await gate.decide(cmd("git status && rm -rf x"))
    assert not decision.approved and decision.by == "headless"
    assert "headless" in decision.feedback
    assert "allowed_commands" in decision.feedback and "--yolo" in decision.feedback
    assert [type(e) for e in seen] == [ApprovalResolved]
    assert seen[0].feedback == decision.feedback  # type: ignore[attr-defined]


async def test_interactive_asks_over_the_bus_and_remembers_always(tmp_path: Path) -> None:
    bus = EventBus()
    config = tmp_path / ".kilocode" / "kilo-tui.toml"
    requests: list[ApprovalRequested] = []

    def answer(event: ApprovalRequested) -> None:
        requests.append(event)
        bus.reply(event.request_id, ApprovalReply(approved=True, always=True))

    bus.subscribe(answer, ApprovalRequested)
    seen = recorder(bus)
    gate = ApprovalGate(bus, AutoApprovePolicy(AutoApproveSettings()), project_config=config)
    decision = await gate.decide(cmd("npm test"))
    assert decision.approved and decision.by == "user"
    assert decision.rule == 'always_allow += "command:npm test"'
    (request,) = requests
    assert request.kind == "command" and request.detail == "npm test"
    assert request.always_allow_rule == 'always_allow += "command:npm test"'
    assert request.task_id == "t1" and request.call_id == "c1"
    assert tomllib.loads(config.read_text())["auto_approve"]["always_allow"] == ["command:npm test"]
    # the next identical command no longer asks
    again = await gate.decide(cmd("npm test"))
    assert again.by == "policy" and len(requests) == 1
    resolved = [e for e in seen if isinstance(e, ApprovalResolved)]
    assert [e.by for e in resolved] == ["user", "policy"]
    assert resolved[0].request_id == request.request_id


async def test_user_rejection_carries_feedback() -> None:
    bus = EventBus()

    def answer(event: ApprovalRequested) -> None:
        bus.reply(event.request_id, ApprovalReply(approved=False, feedback="use pytest -x"))

    bus.subscribe(answer, ApprovalRequested)
    gate = ApprovalGate(bus, git_status_policy())
    decision = await gate.decide(cmd("pytest"))
    assert (decision.approved, decision.feedback, decision.by) == (False, "use pytest -x", "user")


async def test_waiting_for_the_user_can_be_cancelled() -> None:
    bus = EventBus()
    gate = ApprovalGate(bus, git_status_policy())
    pending = asyncio.create_task(gate.decide(cmd("make")))
    await asyncio.sleep(0.01)
    assert len(bus.pending_requests()) == 1
    pending.cancel()
    await asyncio.gather(pending, return_exceptions=True)
    assert bus.pending_requests() == []


async def test_a_broken_project_config_does_not_lose_the_approval(tmp_path: Path) -> None:
    bus = EventBus()
    config = tmp_path / "kilo-tui.toml"
    config.write_text("this is = = not toml\n")
    bus.subscribe(
        lambda e: bus.reply(e.request_id, ApprovalReply(approved=True, always=True)),
        ApprovalRequested,
    )
    gate = ApprovalGate(bus, AutoApprovePolicy(AutoApproveSettings()), project_config=config)
    decision = await gate.decide(cmd("npm test"))
    assert decision.approved
    assert "could not be saved" in decision.rule and str(config) in decision.rule
    assert config.read_text() == "this is = = not toml\n"


async def test_leaving_the_sandbox_is_asked_in_the_tui_and_follows_the_policy_headless() -> None:
    escalation = dataclasses.replace(cmd("git status"), escalation=True)
    # --yolo keeps the sandbox: headless, only the command policy can approve leaving it.
    headless = ApprovalGate(EventBus(), git_status_policy(), yolo=True, interactive=False)
    assert (await headless.decide(escalation)).by == "policy"
    refused = await headless.decide(dataclasses.replace(escalation, command="make"))
    assert not refused.approved and "--no-sandbox" in refused.feedback
    # In the TUI the user decides, even when the policy allows the command itself.
    bus = EventBus()
    asked: list[ApprovalRequested] = []

    def answer(event: ApprovalRequested) -> None:
        asked.append(event)
        bus.reply(event.request_id, ApprovalReply(approved=False))

    bus.subscribe(answer, ApprovalRequested)
    gate = ApprovalGate(bus, git_status_policy(), yolo=True, project_config=Path("x.toml"))
    decision = await gate.decide(escalation)
    assert not decision.approved and len(asked) == 1
    assert asked[0].always_allow_rule is None  # never remembered
