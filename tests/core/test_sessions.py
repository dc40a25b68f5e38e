"""The SQLite session store: written as things happen, rewound and condensed without
losing the record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kilo_tui.core import events as ev
from kilo_tui.core.sessions import SessionStore


def make_store(tmp_path: Path) -> SessionStore:
    store = SessionStore(tmp_path / "sessions.sqlite3")
    store.create_task("t1", workspace="/w", model="openai/m", mode="code")
    return store


def test_messages_round_trip_and_survive_a_new_connection(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "a"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "1 | x"},
    ]
    for message in messages:
        store.append_message("t1", message)
    # A second connection (another process) sees everything at once: WAL, autocommit.
    assert SessionStore(tmp_path / "sessions.sqlite3").load_messages("t1") == messages
    mode = sqlite3.connect(tmp_path / "sessions.sqlite3").execute("PRAGMA journal_mode")
    assert mode.fetchone()[0] == "wal"


def test_rewind_keeps_later_messages_in_the_store(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    for i in range(5):
        store.append_message("t1", {"role": "user", "content": f"m{i}"})
    assert store.rewind_to_message("t1", 2) == 3
    assert [m["content"] for m in store.load_messages("t1")] == ["m0", "m1"]
    assert store.count_all_messages("t1") == 5


def test_condensing_slots_the_summary_between_head_and_tail(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    for i in range(8):
        store.append_message("t1", {"role": "user", "content": f"m{i}"})
    store.replace_active_messages(
        "t1", keep_head=1, summary={"role": "user", "content": "summary"}, keep_tail=2
    )
    assert [m["content"] for m in store.load_messages("t1")] == ["m0", "summary", "m6", "m7"]
    store.append_message("t1", {"role": "user", "content": "m8"})
    assert store.load_messages("t1")[-1]["content"] == "m8"


def test_events_persist_without_deltas_and_update_totals(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.record_event(ev.UserMessage(task_id="t1", text="hello"))
    store.record_event(ev.AssistantDelta(task_id="t1", text="tok"))
    store.record_event(ev.AssistantMessage(task_id="t1", text="hi there"))
    store.record_event(
        ev.UsageUpdated(
            task_id="t1",
            model="openai/m",
            tokens_in=10,
            tokens_out=5,
            task_tokens_in=10,
            task_tokens_out=5,
            task_cost=None,
        )
    )
    store.record_event(ev.TitleGenerated(task_id="t1", title="Greeting"))
    types = [e.type for e in store.load_events("t1")]
    assert types == ["user_message", "assistant_message", "usage_updated", "title_generated"]
    record = store.get_task("t1")
    assert record is not None
    assert (record.title, record.tokens_in, record.tokens_out) == ("Greeting", 10, 5)
    assert record.cost is None  # unknown stays unknown, never 0


def test_list_newest_first_prefix_lookup_export_and_delete(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.create_task("t2-later", workspace="/w", model="openai/m", mode="ask", title="Second")
    store.create_task("sub", workspace="/w", model="openai/m", mode="code", parent_id="t2-later")
    assert [t.id for t in store.list_tasks(workspace="/w")] == ["t2-later", "t1"]
    assert store.get_task("t2-l") is not None
    store.record_event(ev.UserMessage(task_id="t2-later", text="Explain the parser"))
    store.record_event(ev.TaskCompleted(task_id="t2-later", result="It is recursive descent."))
    markdown = store.export_markdown("t2-later")
    assert markdown.startswith("# Second\n")
    assert "## User\n\nExplain the parser" in markdown
    assert "## Result\n\nIt is recursive descent." in markdown
    assert store.delete_task("t2-later")
    assert store.get_task("sub") is None  # subtasks go with their parent
    assert [t.id for t in store.list_tasks()] == ["t1"]


def test_rewind_also_sets_aside_the_chat_events_after_that_point(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.append_message("t1", {"role": "user", "content": "first"})
    store.record_event(ev.UserMessage(task_id="t1", text="first"))
    store.append_message("t1", {"role": "assistant", "content": "reply"})
    store.record_event(ev.AssistantMessage(task_id="t1", text="reply"))
    store.append_message("t1", {"role": "user", "content": "second"})
    store.record_event(ev.UserMessage(task_id="t1", text="second"))
    assert store.rewind_to_message("t1", 1) == 2
    assert [e.type for e in store.load_events("t1")] == ["user_message"]
    assert store.count_all_messages("t1") == 3  # still in the store


def _call(call_id: str) -> dict[str, object]:
    return {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}


def test_repair_answers_every_dangling_call_where_a_strict_provider_expects_it(
    tmp_path: Path,
) -> None:
    from kilo_tui.core.agent.history import INTERRUPTED, plan_repair
    from tests.fakeserver import message_order_error

    store = make_store(tmp_path)
    broken = [
        {"role": "user", "content": "go"},
        # killed after storing the calls and one result: "b" never answered
        {"role": "assistant", "content": None, "tool_calls": [_call("a"), _call("b")]},
        {"role": "tool", "tool_call_id": "a", "content": "ok"},
        {"role": "user", "content": "go on"},  # an old resume appended after it
        {"role": "tool", "tool_call_id": "zzz", "content": "answers nothing"},
        {"role": "assistant", "content": None},  # an empty reply
        {"role": "assistant", "content": "working", "tool_calls": [_call("c")]},
    ]
    for message in broken:
        store.append_message("t1", message)
    assert message_order_error(broken) is not None

    answer = INTERRUPTED.format(reason="it was killed")
    repaired = store.repair_messages("t1", plan_repair, answer)

    assert message_order_error(repaired) is None
    assert repaired == SessionStore(tmp_path / "sessions.sqlite3").load_messages("t1")
    assert [m.get("tool_call_id") for m in repaired if m["role"] == "tool"] == ["a", "b", "c"]
    assert repaired[3]["tool_call_id"] == "b" and "it was killed" in repaired[3]["content"]
    assert repaired[4] == {"role": "user", "content": "go on"}
    assert store.count_all_messages("t1") == len(broken) + 2  # nothing deleted
    assert store.repair_messages("t1", plan_repair, answer) == repaired  # nothing more to do
