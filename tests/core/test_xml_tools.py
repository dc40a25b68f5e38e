"""Kilo's XML tool protocol: reading a call out of a reply as it streams, and writing the
history back as the plain text such models expect."""

from __future__ import annotations

import json

import pytest

from kilo_tui.core.llm.client import LLMError, repeating_unit
from kilo_tui.core.llm.xml_tools import XmlCallParser, to_xml_history, tools_prompt

SCHEMAS = {
    "read_file": {
        "properties": {"path": {"type": "string"}, "start_line": {"type": "integer"}},
        "required": ["path"],
    },
    "write_to_file": {
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
    "ask_followup_question": {
        "properties": {"question": {"type": "string"}, "follow_up": {"type": "array"}},
        "required": ["question"],
    },
    "list_files": {"properties": {"path": {"type": "string"}, "recursive": {"type": "boolean"}}},
}


def stream(text: str, size: int) -> tuple[str, XmlCallParser]:
    parser = XmlCallParser(SCHEMAS)
    shown = "".join(parser.feed(text[i : i + size]) for i in range(0, len(text), size))
    return shown + parser.finish(), parser


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_a_call_is_found_however_the_reply_is_split(size: int) -> None:
    reply = "I'll read it.\n\n<read_file>\n<path>src/a.py</path>\n<start_line>10</start_line>\n</read_file>\nThe file says: (made up)"
    shown, parser = stream(reply, size)
    assert parser.call == ("read_file", {"path": "src/a.py", "start_line": 10})
    assert shown == "I'll read it.\n\n"  # no tags, nothing invented after the call
    assert parser.prose == "I'll read it."


def test_text_that_only_looks_like_a_tag_is_shown() -> None:
    shown, parser = stream("if a <b and <read the docs> or <read_fil", 2)
    assert parser.call is None
    assert shown == "if a <b and <read the docs> or <read_fil"


def test_a_parameter_may_contain_the_tools_own_closing_tag() -> None:
    content = "<xml>\n</write_to_file> is how a call ends\n</xml>"
    reply = (
        f"<write_to_file>\n<path>doc.md</path>\n<content>\n{content}\n</content>\n</write_to_file>"
    )
    _shown, parser = stream(reply, 5)
    assert parser.call == ("write_to_file", {"path": "doc.md", "content": content + "\n"})


def test_layout_newlines_are_dropped_and_a_files_last_newline_kept() -> None:
    reply = "<write_to_file>\n<path>\na.py\n</path>\n<content>\nx = 1\ny = 2\n</content>\n</write_to_file>"
    _shown, parser = stream(reply, 8)
    assert parser.call == ("write_to_file", {"path": "a.py", "content": "x = 1\ny = 2\n"})


def test_values_take_the_schemas_types() -> None:
    _shown, parser = stream("<list_files><path>.</path><recursive>true</recursive></list_files>", 4)
    assert parser.call == ("list_files", {"path": ".", "recursive": True})
    reply = (
        "<ask_followup_question><question>Which?</question><follow_up>"
        "<suggest>postgres</suggest><suggest>sqlite</suggest></follow_up></ask_followup_question>"
    )
    _shown, parser = stream(reply, 6)
    assert parser.call == (
        "ask_followup_question",
        {"question": "Which?", "follow_up": ["postgres", "sqlite"]},
    )


def test_history_is_rendered_as_alternating_plain_text() -> None:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "read_file", "arguments": json.dumps({"path": "a.py"})},
    }
    history = [
        {"role": "user", "content": "look"},
        {"role": "assistant", "content": "Reading.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "1 | x = 1"},
        {"role": "user", "content": "[ERROR] use a tool"},
    ]
    rendered = to_xml_history(history)
    assert [m["role"] for m in rendered] == ["user", "assistant", "user"]
    assert rendered[1]["content"] == "Reading.\n\n<read_file>\n<path>a.py</path>\n</read_file>"
    assert rendered[2]["content"] == "[read_file] Result:\n1 | x = 1\n\n[ERROR] use a tool"
    assert all("tool_calls" not in m for m in rendered)


def test_a_screenshot_after_a_tool_result_stays_an_image() -> None:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "browser_action", "arguments": "{}"},
    }
    image = {"type": "image_url", "image_url": {"url": "data:image/webp;base64,AAAA"}}
    history = [
        {"role": "user", "content": "look"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "launched"},
        {"role": "user", "content": [{"type": "text", "text": "[Images]"}, image]},
    ]
    merged = to_xml_history(history)[-1]["content"]
    assert merged == [
        {"type": "text", "text": "[browser_action] Result:\nlaunched"},
        {"type": "text", "text": "[Images]"},
        image,
    ]


def test_the_prompt_describes_every_tool_and_its_parameters() -> None:
    prompt = tools_prompt(SCHEMAS, {"read_file": "Read a file."})
    assert "## read_file\nDescription: Read a file." in prompt
    assert "- path: (required, string)" in prompt and "- start_line: (optional, integer)" in prompt
    assert "<read_file>\n<path>path here</path>" in prompt


def test_a_looping_reply_is_recognised_and_prose_is_not() -> None:
    assert repeating_unit("Intro. " + "I will check the file. " * 200) == "I will check the file. "
    prose = " ".join(f"Sentence number {i} says something else." for i in range(200))
    assert repeating_unit(prose) is None


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "This model's maximum context length is 8192 tokens. However, you requested 9000"),
        (400, "prompt is too long: 210000 tokens > 200000 maximum"),
        (500, "the request exceeds the available context size, try increasing it"),
        (413, "Request Entity Too Large"),
        (None, "input length exceeds the context length"),
    ],
)
def test_context_overflows_are_recognised_from_any_server(status: int | None, message: str) -> None:
    assert LLMError(message, status=status).context_overflow


def test_other_errors_are_not_overflows() -> None:
    assert not LLMError("Rate limited: slow down", status=429).context_overflow
    assert not LLMError("Invalid API key", status=401).context_overflow


@pytest.mark.parametrize(
    "message",
    [
        "registry.ollama.ai/library/gemma:2b does not support tools",
        "Tools are not supported by this model",
        "tool_choice is not supported for this server",
        "Cannot use tools with stream=True",
    ],
)
def test_servers_refusing_tools_are_recognised(message: str) -> None:
    error = LLMError(message, status=400)
    assert error.tools_refused or error.streaming_with_tools_refused


def test_a_malformed_tool_message_is_not_a_refusal_of_tools() -> None:
    error = LLMError(
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        status=400,
    )
    assert not error.tools_refused and not error.streaming_with_tools_refused
