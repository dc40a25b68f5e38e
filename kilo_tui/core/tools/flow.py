"""Tools that steer the task rather than touch files: ask_followup_question,
attempt_completion, update_todo_list, switch_mode, new_task."""

from __future__ import annotations

import re
from typing import Any

from kilo_tui.core.events import FollowupAnswered, FollowupAsked, TodoListUpdated
from kilo_tui.core.tools.base import (
    FunctionTool,
    ToolContext,
    ToolError,
    ToolResult,
    denial_text,
    schema,
)

# ------------------------------------------------------- ask_followup_question


def _suggestions(raw: Any) -> list[str]:
    out: list[str] = []
    for item in raw or []:
        if isinstance(item, dict):
            text = str(item.get("text", "")).strip()
        else:
            text = str(item).strip()
        if text:
            out.append(text)
    return out


async def _ask_followup(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    question = str(args.get("question", "")).strip()
    if not question:
        raise ToolError("ask_followup_question needs a question")
    suggestions = _suggestions(args.get("follow_up"))
    if ctx.extra.get("auto_answer_followups") and suggestions:
        # Kilo's auto-approved follow-up (auto_approve.followup_questions): the first
        # suggestion answers. Otherwise the user is asked the question itself.
        answer = suggestions[0]
        ctx.publish(FollowupAnswered(task_id=ctx.task_id, request_id="", answer=answer))
    elif ctx.extra.get("interactive", True):
        request_id = ctx.bus.new_request_id()
        answer = str(
            await ctx.bus.request(
                FollowupAsked(
                    task_id=ctx.task_id,
                    request_id=request_id,
                    question=question,
                    suggestions=tuple(suggestions),
                )
            )
        )
        ctx.publish(FollowupAnswered(task_id=ctx.task_id, request_id=request_id, answer=answer))
    else:
        return ToolResult(
            "The user cannot answer questions in this headless run. Proceed with your best "
            "judgement, state your assumptions, and finish with attempt_completion.",
            summary="no user to ask (headless)",
        )
    return ToolResult(f"<answer>\n{answer}\n</answer>", summary=f"answered: {answer[:60]}")


ASK_FOLLOWUP_QUESTION = FunctionTool(
    name="ask_followup_question",
    group="always",
    description=(
        "Ask the user a question when you need information to continue. Offer 2–4 "
        "suggested answers in follow_up, each a complete answer the user can pick."
    ),
    parameters=schema(
        {
            "question": {"type": "string", "description": "A clear, specific question."},
            "follow_up": {
                "type": "array",
                "description": "Suggested answers.",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "mode": {"type": "string", "description": "Mode to switch to."},
                    },
                    "required": ["text"],
                },
            },
        },
        ["question"],
    ),
    fn=_ask_followup,
)


# --------------------------------------------------------- attempt_completion


async def _attempt_completion(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    result = str(args.get("result", "")).strip()
    if not result:
        raise ToolError("attempt_completion needs a result describing what was done")
    return ToolResult("The task is complete.", completion=result, summary="completed")


ATTEMPT_COMPLETION = FunctionTool(
    name="attempt_completion",
    group="always",
    description=(
        "Present the final result of the task to the user once the work is done and "
        "verified. The result must be final: do not end it with a question."
    ),
    parameters=schema(
        {"result": {"type": "string", "description": "What was accomplished."}}, ["result"]
    ),
    fn=_attempt_completion,
)


# ---------------------------------------------------------- update_todo_list

_TODO_RE = re.compile(r"^\s*(?:[-*]\s*)?\[( |x|X|-|~)\]\s*(.+?)\s*$")
_STATUS = {
    " ": "pending",
    "x": "completed",
    "X": "completed",
    "-": "in_progress",
    "~": "in_progress",
}


def parse_todos(text: str) -> list[dict[str, str]]:
    """Kilo's checklist: ``[ ]`` pending, ``[-]`` in progress, ``[x]`` completed."""
    todos = []
    for line in text.splitlines():
        match = _TODO_RE.match(line)
        if match:
            todos.append({"text": match.group(2), "status": _STATUS[match.group(1)]})
    return todos


async def _update_todo_list(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    raw = args.get("todos", "")
    if isinstance(raw, list):
        raw = "\n".join(str(item) for item in raw)
    todos = parse_todos(str(raw))
    if not todos and str(raw).strip():
        raise ToolError(
            "Could not read the todo list. Use one item per line: '[ ] pending', "
            "'[-] in progress', '[x] completed'."
        )
    ctx.state.todos = todos
    ctx.publish(TodoListUpdated(task_id=ctx.task_id, todos=tuple(todos)))
    done = sum(1 for t in todos if t["status"] == "completed")
    return ToolResult("Todo list updated.", summary=f"todos {done}/{len(todos)} done")


UPDATE_TODO_LIST = FunctionTool(
    name="update_todo_list",
    group="always",
    description=(
        "Replace the task's todo list (the whole list each time). One item per line: "
        "'[ ] pending', '[-] in progress', '[x] completed'."
    ),
    parameters=schema(
        {"todos": {"type": "string", "description": "The full checklist in Markdown."}},
        ["todos"],
    ),
    fn=_update_todo_list,
)


# ---------------------------------------------------------------- switch_mode


async def _switch_mode(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    slug = str(args.get("mode_slug", "")).strip()
    reason = str(args.get("reason", "")).strip()
    modes = ctx.extra.get("mode_slugs", ())
    if slug not in modes:
        raise ToolError(f"Unknown mode {slug!r}. Available modes: {', '.join(modes)}")
    current = getattr(ctx.mode, "slug", "")
    if slug == current:
        return ToolResult(f"Already in {slug} mode.", summary=f"already in {slug}")
    decision = await ctx.approve(
        kind="mode_switch", tool="switch_mode", title=f"Switch to {slug} mode", detail=reason
    )
    if not decision.approved:
        text = denial_text(f"switching to {slug} mode", decision.feedback)
        return ToolResult(text, is_error=True, summary="denied")
    return ToolResult(
        f"Switched to {slug} mode." + (f" Reason: {reason}" if reason else ""),
        switch_mode=slug,
        summary=f"→ {slug}",
    )


SWITCH_MODE = FunctionTool(
    name="switch_mode",
    group="always",
    description="Ask to switch to another mode (e.g. to 'code' to edit non-Markdown files).",
    parameters=schema(
        {
            "mode_slug": {"type": "string", "description": "The mode to switch to."},
            "reason": {"type": "string", "description": "Why the switch is needed."},
        },
        ["mode_slug"],
    ),
    fn=_switch_mode,
)


# ------------------------------------------------------------------ new_task


async def _new_task(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    mode = str(args.get("mode", "")).strip()
    message = str(args.get("message", "")).strip()
    if mode not in ctx.extra.get("mode_slugs", ()):
        raise ToolError(f"Unknown mode {mode!r} for new_task")
    if not message:
        raise ToolError("new_task needs a message with the full instructions for the subtask")
    decision = await ctx.approve(
        kind="subtask", tool="new_task", title=f"Start a subtask in {mode} mode", detail=message
    )
    if not decision.approved:
        text = denial_text("starting this subtask", decision.feedback)
        return ToolResult(text, is_error=True, summary="denied")
    run_subtask = ctx.extra.get("run_subtask")
    if run_subtask is None:
        raise ToolError("Subtasks are not available here")
    ok, result = await run_subtask(mode, message)
    if not ok:
        return ToolResult(
            f"The subtask did not complete: {result}", is_error=True, summary="subtask failed"
        )
    return ToolResult(f"Subtask completed. Its result:\n{result}", summary="subtask done")


NEW_TASK = FunctionTool(
    name="new_task",
    group="always",
    description=(
        "Delegate a self-contained piece of work to a subtask in another mode. Give the "
        "subtask all the context it needs in message; its attempt_completion result is "
        "returned to you."
    ),
    parameters=schema(
        {
            "mode": {"type": "string", "description": "Mode slug for the subtask."},
            "message": {"type": "string", "description": "Full instructions for it."},
        },
        ["mode", "message"],
    ),
    fn=_new_task,
)

FLOW_TOOLS = [ASK_FOLLOWUP_QUESTION, ATTEMPT_COMPLETION, UPDATE_TODO_LIST, SWITCH_MODE, NEW_TASK]
