"""The system prompt: the mode's role, how to work with tools, the rules, the user's
custom instructions and connected MCP servers.

Within a task the prompt is the same, byte for byte, from request to request (for one
mode and tool protocol): providers' prompt caches — OpenAI's and llama.cpp's automatic
prefix cache, Anthropic's breakpoints — reuse the whole prefix only if nothing in it
moves. What does change (time, cost, mode, todos, the file listing) goes into the
newest user message as ``<environment_details>`` instead, as Kilo Code does. The stored
history never contains the system prompt, so resuming a task rebuilds it.
"""

from __future__ import annotations

import platform
from pathlib import Path

TOOL_USE = """\
====

TOOL USE

You act through the tools provided with this request, using the provider's native
tool-calling mechanism (never XML or text imitations of a tool call). Work step by step:
call a tool, read its result, then decide the next step. Every response must either call
a tool or, when the work is done, call attempt_completion. When you need something only
the user knows, call ask_followup_question with suggested answers.

Tool results are the ground truth: if a tool reports an error, a denial or the user's
feedback, adapt your plan to it instead of repeating the same call."""

EDITING = """\
====

EDITING FILES

- Read a file before you change it; the SEARCH text of apply_diff must match the file
  exactly, including indentation.
- Prefer apply_diff for changes to existing files; use write_to_file for new files or
  complete rewrites, always with the COMPLETE content.
- The user reviews every change, possibly hunk by hunk, and may accept part of it, edit
  it, or reject it with feedback. The tool result says exactly what was applied: trust it
  and re-read the file when in doubt.
- Never write line numbers into file content."""

RULES = """\
====

RULES

- The workspace directory is: {workspace}. Paths you give tools are relative to it. You
  cannot leave it (no `cd` that persists: give execute_command a cwd instead).
- Commands run without a terminal and without stdin: use non-interactive flags.
- Do not ask for information you can find with the tools.
- Be direct and technical. Do not start replies with filler such as "Great" or
  "Certainly".
- When the task is done and verified, call attempt_completion with a final result; do not
  end the result with a question or an offer of more help."""

SYSTEM_INFO = """\
====

SYSTEM INFORMATION

Operating system: {os}
Default shell: {shell}
Workspace: {workspace}"""


def build_system_prompt(
    *,
    role_definition: str,
    mode_instructions: str,
    workspace: Path,
    shell: str,
    custom_instructions: str = "",
    mcp_section: str = "",
    can_edit: bool = True,
    tool_use: str = TOOL_USE,
) -> str:
    """Assemble the system prompt in Kilo's section order. ``tool_use`` is the TOOL
    USE section: native tool calling by default, or the XML protocol's tool list."""
    parts = [role_definition.strip(), tool_use]
    if can_edit:
        parts.append(EDITING)
    if mcp_section.strip():
        parts.append("====\n\nMCP SERVERS\n\n" + mcp_section.strip())
    parts.append(RULES.format(workspace=workspace))
    parts.append(
        SYSTEM_INFO.format(
            os=f"{platform.system()} {platform.release()}", shell=shell, workspace=workspace
        )
    )
    if mode_instructions.strip():
        parts.append("====\n\nMODE INSTRUCTIONS\n\n" + mode_instructions.strip())
    if custom_instructions.strip():
        parts.append(custom_instructions.strip())
    return "\n\n".join(parts)


NO_TOOL_NUDGE = """\
[ERROR] You did not call a tool in your previous response. Every response must call a
tool. If the task is done, call attempt_completion with the result. If you need the
user's input, call ask_followup_question. Otherwise call the tool for the next step."""
