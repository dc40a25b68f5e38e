"""Kilo Code's XML tool protocol, for models and servers without native tool calling.

The tools are described in the system prompt (:func:`tools_prompt`); the model writes
one call per reply as ``<tool_name><param>value</param></tool_name>``;
:class:`XmlCallParser` picks it out of the reply while it streams, so the prose before
it reaches the user as it arrives and the tag soup never does. The call is then stored
like a native one (an assistant ``tool_calls`` entry and a ``tool`` result), so the
approval gate, the events and the session store see no difference; :func:`to_xml_history`
renders that history back into the plain user/assistant text these models expect.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

ToolSchemas = Mapping[str, Mapping[str, Any]]
"""Tool name → JSON schema of its parameters (``{"properties": …, "required": …}``)."""

FORMAT_SECTION = """\
====

TOOL USE

You have access to a set of tools that are executed upon the user's approval. You use
one tool per message, and the result of that tool comes back in the user's next message.
Work step by step: each tool use is informed by the result of the previous one.

# Tool Use Formatting

Tool uses are written as XML-style tags in your reply. The tool's name is the tag
name, and each parameter is enclosed in its own tag inside it:

<actual_tool_name>
<parameter1_name>value1</parameter1_name>
<parameter2_name>value2</parameter2_name>
</actual_tool_name>

For example, to finish the task:

<attempt_completion>
<result>
I fixed the off-by-one error in utils.py; the tests pass.
</result>
</attempt_completion>

Always use the actual tool name as the tag name. Write nothing after the closing tag:
stop and wait for the result. Every response must use a tool; when the work is done,
use attempt_completion. Values that are lists or objects are written as JSON.

# Tools"""

XML_NUDGE = """\
[ERROR] You did not use a tool in your previous response. Every response must use
exactly one tool, written as XML, for example:

<attempt_completion>
<result>What was done.</result>
</attempt_completion>

If the task is done, use attempt_completion. If you need the user's input, use
ask_followup_question. Otherwise use the tool for the next step."""


def tools_prompt(schemas: ToolSchemas, descriptions: Mapping[str, str]) -> str:
    """The TOOL USE section of the system prompt: the format, then every tool."""
    parts = [FORMAT_SECTION]
    for name, schema in schemas.items():
        parts.append(_describe(name, descriptions.get(name, ""), schema))
    return "\n\n".join(parts)


def _describe(name: str, description: str, schema: Mapping[str, Any]) -> str:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    lines = [f"## {name}", f"Description: {description.strip()}", "Parameters:"]
    if not properties:
        lines.append("(none)")
    for param, spec in properties.items():
        kind = spec.get("type", "string")
        need = "required" if param in required else "optional"
        text = str(spec.get("description", "")).strip()
        lines.append(f"- {param}: ({need}, {kind}) {text}".rstrip())
    usage = "\n".join(f"<{p}>{p} here</{p}>" for p in properties)
    lines += ["Usage:", f"<{name}>", *([usage] if usage else []), f"</{name}>"]
    return "\n".join(lines)


# ------------------------------------------------------------------- parsing


class XmlCallParser:
    """Finds the first complete tool call in a streamed reply.

    :meth:`feed` takes each text delta and returns the part that is safe to show (prose
    outside any tool tag); a ``<`` that could still open a tool tag is held back until
    the next delta decides. Once a call's closing tag arrives, :attr:`call` is set and
    everything after it is ignored (models that go on tend to invent the result).
    """

    def __init__(self, schemas: ToolSchemas) -> None:
        self.schemas = schemas
        self._opens = {f"<{name}>": name for name in schemas}
        self._buffer = ""
        self._prose: list[str] = []
        self._tool: str | None = None
        self.call: tuple[str, dict[str, Any]] | None = None

    @property
    def done(self) -> bool:
        return self.call is not None

    @property
    def in_call(self) -> bool:
        """Inside a tool call's tags (its parameters may be any file content)."""
        return self._tool is not None

    @property
    def prose(self) -> str:
        """The text outside the tool call, as shown."""
        return "".join(self._prose).strip()

    def feed(self, text: str) -> str:
        if self.done:
            return ""
        self._buffer += text
        shown = ""
        if self._tool is None:
            shown = self._scan_prose()
        if self._tool is not None:
            self._scan_call()
        self._prose.append(shown)
        return shown

    def finish(self) -> str:
        """End of the reply: release held-back text (an unfinished call stays prose)."""
        if self.done:
            return ""
        rest = self._buffer if self._tool is None else f"<{self._tool}>{self._buffer}"
        self._buffer = ""
        self._prose.append(rest)
        return rest

    def _scan_prose(self) -> str:
        found = [(self._buffer.find(tag), tag) for tag in self._opens]
        hits = [(i, tag) for i, tag in found if i >= 0]
        if hits:
            index, tag = min(hits)
            shown = self._buffer[:index]
            self._buffer = self._buffer[index + len(tag) :]
            self._tool = self._opens[tag]
            return shown
        hold = self._possible_tag_start()
        shown, self._buffer = self._buffer[:hold], self._buffer[hold:]
        return shown

    def _possible_tag_start(self) -> int:
        """Where a still-incomplete opening tag may start at the end of the buffer."""
        start = self._buffer.rfind("<")
        if start < 0:
            return len(self._buffer)
        tail = self._buffer[start:]
        if any(tag.startswith(tail) for tag in self._opens):
            return start
        return len(self._buffer)

    def _scan_call(self) -> None:
        assert self._tool is not None
        end = _closing_index(self._buffer, self._tool, self.schemas[self._tool])
        if end is None:
            return
        body = self._buffer[:end]
        self.call = (self._tool, parse_parameters(body, self.schemas[self._tool]))
        self._buffer = ""


def _closing_index(body: str, tool: str, schema: Mapping[str, Any]) -> int | None:
    """Index of the tool's closing tag, skipping any that sits inside a parameter."""
    close = f"</{tool}>"
    position = 0
    params = list((schema.get("properties") or {}).keys())
    while True:
        end = body.find(close, position)
        if end < 0:
            return None
        opened = _open_parameter(body[:end], params)
        if opened is None:
            return end
        # Inside a parameter: the tool cannot close before the parameter does.
        param_close = body.find(f"</{opened}>", end)
        if param_close < 0:
            return None
        position = param_close


def _parameters(text: str, names: Iterable[str]) -> Iterator[tuple[str, int, int | None]]:
    """Each ``<name>…</name>`` in ``text``, in order: the name and where its value
    starts and ends (``None``: not closed yet, and nothing follows)."""
    names = list(names)
    position = 0
    while True:
        starts = [(text.find(f"<{name}>", position), name) for name in names]
        hits = [(i, name) for i, name in starts if i >= 0]
        if not hits:
            return
        index, name = min(hits)
        value_start = index + len(name) + 2
        close = text.find(f"</{name}>", value_start)
        yield name, value_start, (close if close >= 0 else None)
        if close < 0:
            return
        position = close + len(name) + 3


def _open_parameter(text: str, params: list[str]) -> str | None:
    """The parameter whose tag is open at the end of ``text``, if any."""
    return next((name for name, _start, end in _parameters(text, params) if end is None), None)


def parse_parameters(body: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters in a tool call's body, converted to the schema's types."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    return {
        name: _convert(body[start : len(body) if end is None else end], properties[name])
        for name, start, end in _parameters(body, properties)
    }


def _convert(raw: str, spec: Mapping[str, Any]) -> Any:
    """A parameter's text as the schema's type; what does not convert stays text (the
    tool then reports the bad value to the model)."""
    kind = spec.get("type", "string")
    if kind == "string":
        # The newline after the opening tag is layout. One before the closing tag is
        # layout in a one-line value (a path), but a file's last newline in a longer one.
        value = raw.removeprefix("\n")
        return value if "\n" in value.rstrip("\n") else value.rstrip("\n")
    text = raw.strip()
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            return text
    try:
        return json.loads(text)
    except ValueError:
        items = re.findall(r"<(\w+)>(.*?)</\1>", text, re.DOTALL)
        if kind == "array" and items:  # Kilo's <suggest>…</suggest> lists
            return [value.strip() for _tag, value in items]
        return text


def new_call_id() -> str:
    return f"xml_{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------- rendering


def call_to_xml(name: str, arguments: str) -> str:
    """A stored tool call written back as the XML the model would have sent."""
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        args = {}
    if not isinstance(args, dict):
        args = {}
    lines = [f"<{name}>"]
    for key, value in args.items():
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"<{key}>{text}</{key}>")
    lines.append(f"</{name}>")
    return "\n".join(lines)


def to_xml_history(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history as plain user/assistant text: calls as XML in the assistant's reply,
    results as user messages; consecutive user messages are merged, because many local
    chat templates insist that user and assistant alternate."""
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            parts = [message.get("content") or ""]
            for call in message["tool_calls"]:
                function = call["function"]
                names[call["id"]] = function["name"]
                parts.append(call_to_xml(function["name"], function.get("arguments", "")))
            out.append({"role": "assistant", "content": "\n\n".join(p for p in parts if p)})
            continue
        if role == "tool":
            name = names.get(message.get("tool_call_id", ""), "tool")
            message = {"role": "user", "content": f"[{name}] Result:\n{message.get('content')}"}
        if message.get("role") == "user" and out and out[-1]["role"] == "user":
            out[-1] = {"role": "user", "content": _joined(out[-1]["content"], message["content"])}
            continue
        out.append(dict(message))
    return out


def _joined(first: Any, second: Any) -> Any:
    """Two user messages' contents as one: text stays text; with images (content
    parts), the parts of both."""
    if isinstance(first, str) and isinstance(second, str):
        return f"{first}\n\n{second}"
    return [*_parts(first), *_parts(second)]


def _parts(content: Any) -> list[Any]:
    return content if isinstance(content, list) else [{"type": "text", "text": str(content)}]
