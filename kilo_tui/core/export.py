"""Render a stored task as Markdown (``kilo-tui sessions export``, the history screen)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from kilo_tui.core import events as ev
from kilo_tui.core.llm.pricing import format_cost

if TYPE_CHECKING:
    from kilo_tui.core.sessions import TaskRecord


def task_to_markdown(record: TaskRecord, events: list[ev.Event]) -> str:
    created = datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"# {record.title or 'Untitled task'}",
        "",
        f"- Task: `{record.id}`",
        f"- Workspace: `{record.workspace}`",
        f"- Created: {created}",
        f"- Model: `{record.model}` · mode `{record.mode}`",
        f"- Tokens: {record.tokens_in:,} in / {record.tokens_out:,} out · cost "
        f"{format_cost(record.cost, free=False)}",
        "",
    ]
    for event in events:
        lines.extend(_event_lines(event))
    return "\n".join(lines).rstrip() + "\n"


def _event_lines(event: ev.Event) -> list[str]:
    if isinstance(event, ev.UserMessage):
        return ["## User", "", event.text, ""]
    if isinstance(event, ev.AssistantMessage) and event.text.strip():
        return ["## Assistant", "", event.text, ""]
    if isinstance(event, ev.ToolCallStarted):
        args = json.dumps(event.arguments, indent=2, ensure_ascii=False)
        return [f"**Tool call** `{event.name}`", "", "```json", args, "```", ""]
    if isinstance(event, ev.ToolCallFinished):
        label = "Tool error" if event.is_error else "Tool result"
        body = event.result if len(event.result) < 4000 else event.result[:4000] + "\n…"
        return [
            f"<details><summary>{label}: {event.name}</summary>",
            "",
            "```",
            body,
            "```",
            "",
            "</details>",
            "",
        ]
    if isinstance(event, ev.TaskCompleted):
        return ["## Result", "", event.result, ""]
    if isinstance(event, ev.TaskFailed):
        return [f"> **Task failed:** {event.error}", ""]
    if isinstance(event, ev.ErrorRaised):
        return [f"> **Error:** {event.message}", ""]
    return []
