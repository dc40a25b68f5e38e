"""The edit-proposal flow, answered by a scripted client over a real bus and real files."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.bus import EventBus
from kilo_tui.core.edits import review_edit
from kilo_tui.core.events import ApprovalReply, DiffProposed, Event, FileChangedExternally
from kilo_tui.core.tools.base import EditOutcome

OLD = "".join(f"line {i}\n" for i in range(1, 41))
NEW = OLD.replace("line 5\n", "line five\n").replace("line 30\n", "line 30\nextra\n")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))


class Client:
    """A headless client: records every event as JSON and answers proposals by script."""

    def __init__(self, bus: EventBus, answer: Callable[[DiffProposed], Any] | None) -> None:
        self.bus = bus
        self.answer = answer
        self.events: list[Event] = []
        self.lines: list[str] = []
        bus.subscribe(self.on_event)

    def on_event(self, event: Event) -> None:
        self.events.append(event)
        self.lines.append(json.dumps(event.to_dict()))
        if isinstance(event, DiffProposed) and not event.auto_approved and self.answer:
            # Round-trip through JSON, exactly as `run --json` would carry it.
            wire = Event.from_dict(json.loads(self.lines[-1]))
            assert isinstance(wire, DiffProposed)
            reply = self.answer(wire)
            if reply is not None:
                asyncio.get_running_loop().call_soon(self.bus.reply, wire.request_id, reply)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


async def propose(
    ws: Path,
    bus: EventBus,
    *,
    path: str = "src/app.py",
    old: str | None = OLD,
    new: str | None = NEW,
    auto: bool = False,
) -> EditOutcome:
    return await review_edit(
        bus=bus,
        workspace=ws,
        path=path,
        old=old,
        new=new,
        tool="apply_diff",
        task_id="t1",
        call_id="c1",
        auto_approved=auto,
    )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "app.py").write_text(OLD)
    return workspace


async def test_accept_first_hunk_reject_second_with_feedback(ws: Path) -> None:
    bus = EventBus()
    client = Client(
        bus,
        lambda e: ApprovalReply(
            approved=True, hunks=(True, False), hunk_feedback=("", "keep the old layout")
        ),
    )
    outcome = await propose(ws, bus)

    text = (ws / "src/app.py").read_text()
    assert "line five\n" in text and "extra\n" not in text
    assert outcome.applied and outcome.content == text
    assert "accepted 1 of 2 hunks" in outcome.report
    assert "- hunk 1 (lines 2–8): applied" in outcome.report
    assert '- hunk 2 (lines 28–33): rejected — user feedback: "keep the old layout"' in (
        outcome.report
    )
    assert "+extra" in outcome.report  # the rejected hunk is quoted back to the model
    [event] = client.of(DiffProposed)
    assert (event.path, event.change, event.additions, event.deletions) == (
        "src/app.py",
        "modify",
        2,
        1,
    )
    assert len(event.hunks) == 2 and event.hunks[0].startswith("@@ -2,7 +2,7 @@")
    assert event.diff.startswith("--- a/src/app.py\n+++ b/src/app.py\n")


async def test_yes_applies_everything_and_keeps_file_mode(ws: Path) -> None:
    target = ws / "src/app.py"
    target.chmod(0o754)
    bus = EventBus()
    Client(bus, lambda e: ApprovalReply(approved=True))
    outcome = await propose(ws, bus)
    assert target.read_text() == NEW
    assert target.stat().st_mode & 0o777 == 0o754
    assert outcome.report == "Applied your change to src/app.py as proposed (2 hunks, +2 −1)."
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".kilo-tmp")]


async def test_no_rejects_everything_with_feedback(ws: Path) -> None:
    bus = EventBus()
    Client(bus, lambda e: ApprovalReply(approved=False, feedback="use a constant instead"))
    outcome = await propose(ws, bus)
    assert (ws / "src/app.py").read_text() == OLD
    assert not outcome.applied and outcome.content is None
    assert outcome.feedback == "use a constant instead"
    assert outcome.report == (
        "The user rejected your change to src/app.py; nothing was written and the file is "
        'unchanged.\nUser feedback: "use a constant instead"'
    )


async def test_a_plain_bool_or_json_dict_answer_works(ws: Path) -> None:
    bus = EventBus()
    Client(bus, lambda e: {"approved": True, "hunks": [False, True]})
    await propose(ws, bus)
    text = (ws / "src/app.py").read_text()
    assert "extra\n" in text and "line five" not in text


async def test_user_edited_content_becomes_the_change(ws: Path) -> None:
    mine = NEW.replace("line five", "line FIVE")
    bus = EventBus()
    Client(bus, lambda e: ApprovalReply(approved=True, content=mine))
    outcome = await propose(ws, bus)
    assert (ws / "src/app.py").read_text() == mine
    assert outcome.content == mine
    assert "the user's version, not yours" in outcome.report
    assert "-line five\n+line FIVE\n" in outcome.report


async def test_external_edit_that_still_fits_is_kept_under_the_change(ws: Path) -> None:
    target = ws / "src/app.py"
    bus = EventBus()

    def answer(event: DiffProposed) -> None:
        async def later() -> None:
            await asyncio.sleep(0.3)  # let the watcher start
            target.write_text("# user's header\n" + OLD)
            for _ in range(100):
                if client.of(FileChangedExternally):
                    break
                await asyncio.sleep(0.02)
            bus.reply(event.request_id, ApprovalReply(approved=True))

        asyncio.get_running_loop().create_task(later())

    client = Client(bus, answer)
    outcome = await propose(ws, bus)
    assert [e.path for e in client.of(FileChangedExternally)] == ["src/app.py"]
    assert target.read_text() == "# user's header\n" + NEW
    assert outcome.applied and not outcome.stale
    assert "changed on disk during review" in outcome.report


async def test_external_edit_that_conflicts_is_never_overwritten(ws: Path) -> None:
    target = ws / "src/app.py"
    users = OLD.replace("line 5\n", "line 5 (the user's fix)\n")
    bus = EventBus()

    def answer(event: DiffProposed) -> ApprovalReply:
        target.write_text(users)
        return ApprovalReply(approved=True)

    Client(bus, answer)
    outcome = await propose(ws, bus)
    assert target.read_text() == users
    assert outcome.stale and not outcome.applied and outcome.content is None
    assert "NOT applied" in outcome.report and "Re-read the file" in outcome.report


async def test_conflict_only_in_a_rejected_hunk_still_applies(ws: Path) -> None:
    target = ws / "src/app.py"
    users = OLD.replace("line 29\n", "line 29 # note\n")
    bus = EventBus()

    def answer(event: DiffProposed) -> ApprovalReply:
        target.write_text(users)
        return ApprovalReply(approved=True, hunks=(True, False))

    Client(bus, answer)
    outcome = await propose(ws, bus)
    assert target.read_text() == users.replace("line 5\n", "line five\n")
    assert outcome.applied


async def test_auto_approved_writes_at_once_and_announces_it(ws: Path) -> None:
    bus = EventBus()
    client = Client(bus, None)
    outcome = await propose(ws, bus, auto=True)
    assert (ws / "src/app.py").read_text() == NEW
    assert outcome.applied
    [event] = client.of(DiffProposed)
    assert event.auto_approved and not bus.pending_requests()


async def test_create_in_new_directory_and_delete(ws: Path) -> None:
    bus = EventBus()
    client = Client(bus, lambda e: ApprovalReply(approved=True))
    created = await propose(ws, bus, path="pkg/sub/new.py", old=None, new="x = 1\n")
    assert (ws / "pkg/sub/new.py").read_text() == "x = 1\n"
    assert created.report == "Created pkg/sub/new.py (1 line)."
    assert client.of(DiffProposed)[-1].change == "create"
    deleted = await propose(ws, bus, new=None)
    assert not (ws / "src/app.py").exists()
    assert deleted.report == "Deleted src/app.py."


async def test_crlf_file_stays_crlf(ws: Path) -> None:
    target = ws / "src/app.py"
    target.write_bytes(OLD.replace("\n", "\r\n").encode())
    bus = EventBus()
    client = Client(bus, lambda e: ApprovalReply(approved=True))
    await propose(ws, bus, old=OLD.replace("\n", "\r\n"), new=NEW)
    assert target.read_bytes() == NEW.replace("\n", "\r\n").encode()
    assert len(client.of(DiffProposed)[0].hunks) == 2


async def test_binary_file_is_refused_without_asking(ws: Path) -> None:
    (ws / "logo.png").write_bytes(b"\x89PNG\x00\x00data")
    bus = EventBus()
    client = Client(bus, lambda e: ApprovalReply(approved=True))
    outcome = await propose(ws, bus, path="logo.png", old="x", new="y")
    assert not outcome.applied and "binary file" in outcome.report
    assert not client.of(DiffProposed)
    assert (ws / "logo.png").read_bytes() == b"\x89PNG\x00\x00data"


async def test_identical_content_asks_nothing(ws: Path) -> None:
    bus = EventBus()
    client = Client(bus, lambda e: ApprovalReply(approved=True))
    outcome = await propose(ws, bus, new=OLD)
    assert not outcome.applied and outcome.report.startswith("No change")
    assert not client.of(DiffProposed)


async def test_new_files_get_the_umask_mode(ws: Path) -> None:
    bus = EventBus()
    Client(bus, lambda e: ApprovalReply(approved=True))
    old_mask = os.umask(0o022)
    try:
        await propose(ws, bus, path="n.txt", old=None, new="hi\n")
    finally:
        os.umask(old_mask)
    assert (ws / "n.txt").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
async def test_the_model_reads_and_edits_a_utf16_file_which_keeps_its_mark_and_crlf(
    make_runtime: Callable[..., Any], llm_env: Any, workspace: Path, encoding: str
) -> None:
    from tests.fakeserver import Turn

    text = "\ufeff# Prix du café\r\nprix = 10\r\n"
    (workspace / "prix.txt").write_bytes(text.encode(encoding))
    diff = "<<<<<<< SEARCH\n:start_line:2\n-------\nprix = 10\n=======\nprix = 12\n>>>>>>> REPLACE"
    llm_env.script(
        Turn.tool("read_file", path="prix.txt"),
        Turn.tool("apply_diff", path="prix.txt", diff=diff),
        Turn.tool("attempt_completion", result="Done."),
    )
    runtime = make_runtime(yolo=True)

    assert (await runtime.submit("lower the price")).status == "completed"

    assert (workspace / "prix.txt").read_bytes() == text.replace("10", "12").encode(encoding)
    requests = [b for b in llm_env.chat_requests if b.get("model") == "fake-model"]
    read = next(m["content"] for m in requests[1]["messages"] if m["role"] == "tool")
    assert "Prix du café" in read
    await runtime.aclose()
