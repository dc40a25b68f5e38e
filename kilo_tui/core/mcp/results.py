"""Turning MCP results into the text the model reads, and checking arguments first."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

MAX_SCHEMA_ERRORS = 5


@dataclass(frozen=True)
class McpResult:
    """The outcome of a tool call or resource read, as the model will see it."""

    text: str
    is_error: bool = False
    structured: Any = None
    """The call's structured content (JSON), when the server sent some."""

    @classmethod
    def error(cls, text: str) -> McpResult:
        return cls(text, is_error=True)


def argument_errors(schema: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    """Where ``arguments`` break the tool's ``inputSchema`` (empty when they fit)."""
    from jsonschema import validators

    try:
        validator_cls = validators.validator_for(schema)
        validator_cls.check_schema(schema)
    except Exception:  # a server's broken schema must not block its tool
        return []
    errors = sorted(validator_cls(schema).iter_errors(arguments), key=lambda e: list(e.path))
    return [_schema_error(e) for e in errors[:MAX_SCHEMA_ERRORS]]


def _schema_error(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def format_call_result(result: Any) -> McpResult:
    """A ``CallToolResult`` as text: its content blocks, with notes for media.

    Structured content is added only when there is no text: the spec asks servers to
    repeat it as text, and sending it twice would only cost the model tokens.
    """
    parts = [format_content(block) for block in result.content]
    structured = result.structured_content
    if structured is not None and not any(b.type == "text" for b in result.content):
        parts.append(json.dumps(structured, indent=2, ensure_ascii=False))
    text = "\n\n".join(p for p in parts if p) or "(the tool returned no output)"
    return McpResult(text, is_error=bool(result.is_error), structured=structured)


def format_content(block: Any) -> str:
    """One content block: text as is, images and audio as a note, resources inline."""
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_decoded_size(block.data)} bytes]"
    if kind == "resource":
        return format_resource_contents(block.resource)
    if kind == "resource_link":
        return f"[resource link: {block.uri}" + (
            f" ({block.mime_type})]" if block.mime_type else "]"
        )
    return f"[{kind or 'unknown'} content]"


def format_resource_contents(contents: Any) -> str:
    """A resource's text, or a note for binary contents."""
    text = getattr(contents, "text", None)
    if text is not None:
        return str(text)
    mime = contents.mime_type or "application/octet-stream"
    return f"[blob: {contents.uri}, {mime}, {_decoded_size(contents.blob)} bytes]"


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return len(data)
