"""The edit-proposal flow: a proposed file change is reviewed before it touches the disk.

An edit tool computes the full proposed content and calls :func:`review_edit`. The
change goes out on the bus as a :class:`~kilo_tui.core.events.DiffProposed` request;
whoever answers (the diff viewer, a headless policy, a test script) sends back an
:class:`~kilo_tui.core.events.ApprovalReply` with a decision per hunk or a
user-edited version. Then exactly what was accepted is written, atomically, unless the
file changed on disk meanwhile in a way the accepted hunks no longer fit: the user's
own edit is never overwritten with stale content.

The returned :class:`~kilo_tui.core.tools.base.EditOutcome` carries the report the
model reads next, written so it cannot be misread: what was applied, what was
rejected and why, or what the user changed.

The file is read and written with :mod:`kilo_tui.core.trust.paths`: from the workspace
down, no symlink is followed, so what is written lands exactly at the path the user
reviewed (a link swapped in meanwhile makes the write fail, not go elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kilo_tui.core.bus import EventBus
from kilo_tui.core.events import ApprovalReply, DiffProposed, FileChangedExternally
from kilo_tui.core.hunks import (
    Hunk,
    apply_hunks,
    bom_encoding,
    classify_change,
    compute_hunks,
    is_binary,
    match_newlines,
    rebase_hunks,
    split_lines,
    unified_diff,
)
from kilo_tui.core.testhooks import fault_point
from kilo_tui.core.tools.base import EditOutcome
from kilo_tui.core.trust.paths import MAX_READ_BYTES, PathRefused, read_regular, write_regular
from kilo_tui.core.watch import watching

STALE_REPORT = (
    "Your change to {path} was NOT applied: the file changed on disk during review and "
    "your proposal no longer applies to its current content. Nothing was written. "
    "Re-read the file and propose the change again against its current content."
)


class NotTextError(Exception):
    """The file on disk is binary; it cannot be reviewed or edited as text."""


@dataclass(frozen=True)
class Proposal:
    """One proposed change, ready to publish: the hunks and the event built from them."""

    path: str
    old: str | None
    new: str | None
    hunks: list[Hunk]
    change: str

    def event(
        self, *, request_id: str, task_id: str, call_id: str, tool: str, auto: bool
    ) -> DiffProposed:
        return DiffProposed(
            task_id=task_id,
            request_id=request_id,
            call_id=call_id,
            tool=tool,
            path=self.path,
            diff=unified_diff(self.path, self.old, self.new),
            hunks=tuple(h.text for h in self.hunks),
            change=self.change,
            additions=sum(h.additions for h in self.hunks),
            deletions=sum(h.deletions for h in self.hunks),
            auto_approved=auto,
        )


async def review_edit(
    *,
    bus: EventBus,
    workspace: Path,
    path: str,
    old: str | None,
    new: str | None,
    tool: str,
    task_id: str,
    call_id: str,
    auto_approved: bool,
    write: bool = True,
) -> EditOutcome:
    """Propose replacing ``old`` by ``new`` at ``path`` and write what the user accepts.

    ``old`` is the content the proposal was based on (``None``: the file did not
    exist); ``new`` the proposed content (``None``: delete the file). With
    ``auto_approved`` the change is written at once and announced for the chat. With
    ``write=False`` nothing is written; the outcome says what would have been.
    """
    target = workspace / path
    root = workspace if target.is_relative_to(workspace) else Path("/")
    try:
        disk = read_text(target, root=root)
    except NotTextError:
        return _refused(f"{path} is a binary file; kilo-tui does not edit binary files.")
    except PathRefused as exc:
        return _refused(str(exc))
    if new is not None and "\x00" in new:
        return _refused(f"the proposed content for {path} is binary (it contains NUL bytes).")
    if new is not None:
        new = match_newlines(old if old is not None else disk, new)
    if old == new:
        return EditOutcome(
            applied=False,
            content=None,
            report=f"No change: the proposed content is identical to {path}. Nothing was written.",
        )
    proposal = Proposal(
        path, old, new, compute_hunks(old or "", new or ""), classify_change(old, new)
    )
    meta = {"task_id": task_id, "call_id": call_id, "tool": tool}
    if auto_approved:
        try:
            outcome = _carry_out(
                target, root, proposal, [True] * len(proposal.hunks), [], write=write
            )
        except (PathRefused, NotTextError) as exc:
            return _not_written(path, exc)
        if outcome.applied:
            bus.publish(proposal.event(request_id=bus.new_request_id(), auto=True, **meta))
        return outcome

    seen = [disk]

    def changed(_: Path) -> None:
        try:
            now = read_text(target, root=root)
        except (NotTextError, PathRefused):
            now = None
        if now != seen[-1]:
            seen.append(now)
            bus.publish(FileChangedExternally(task_id=task_id, path=path))

    event = proposal.event(request_id=bus.new_request_id(), auto=False, **meta)
    async with watching([target], changed):
        answer = await bus.request(event)
    try:
        return _conclude(target, root, proposal, _as_reply(answer), write=write)
    except (PathRefused, NotTextError) as exc:
        return _not_written(path, exc)


def _conclude(
    target: Path, root: Path, proposal: Proposal, reply: ApprovalReply, *, write: bool = True
) -> EditOutcome:
    """Carry out ``reply`` for ``proposal``: write what was accepted, report the rest."""
    if reply.content is not None:
        outcome = _apply_user_version(target, root, proposal, reply.content, write=write)
        return _with_feedback(outcome, reply.feedback)
    n = len(proposal.hunks)
    decisions = list(reply.hunks or ())[:n]
    decisions += [reply.approved] * (n - len(decisions))
    notes = list(reply.hunk_feedback or ())[:n]
    notes += [""] * (n - len(notes))
    if not any(decisions):
        return _with_feedback(_rejected(proposal, reply.feedback, notes), reply.feedback)
    outcome = _carry_out(target, root, proposal, decisions, notes, write=write)
    return _with_feedback(outcome, reply.feedback)


# ---------------------------------------------------------------- settling


_REBASED = (
    "The file had been changed on disk during review; the accepted changes were applied "
    "on top of that newer content. Re-read the file before editing it again."
)


@dataclass(frozen=True)
class _Written:
    content: str | None
    rebased: bool


def _carry_out(
    target: Path,
    root: Path,
    proposal: Proposal,
    decisions: Sequence[bool],
    notes: Sequence[str],
    *,
    write: bool,
) -> EditOutcome:
    written = _settle(target, root, proposal, decisions, write=write)
    if written is None:
        return _stale(proposal.path)
    if all(decisions):
        report = _applied_report(proposal)
    else:
        report = _partial_report(proposal, decisions, notes)
    if written.rebased:
        report += "\n" + _REBASED
    return EditOutcome(applied=True, content=written.content, report=report)


def _settle(
    target: Path, root: Path, proposal: Proposal, accepted: Sequence[bool], *, write: bool
) -> _Written | None:
    """Write the ``accepted`` hunks, re-applied onto newer disk content if need be.

    Returns ``None`` (and writes nothing) when they do not fit the disk content.
    """
    disk = read_text(target, root=root)
    old, new = proposal.old, proposal.new
    rebased = disk != old
    content: str | None
    if not rebased:
        content = None if new is None else apply_hunks(old or "", proposal.hunks, accepted)
    elif old is None or disk is None or new is None:
        # Created, deleted or replaced meanwhile: there is nothing to re-apply onto.
        if disk != new:
            return None
        content = new
    else:
        content = rebase_hunks(disk, proposal.hunks, accepted)
        if content is None:
            return None
    if write and content != disk:
        data = None if content is None else encode_like(content, _raw(target, root))
        fault_point("write")
        write_regular(target, data, root=root)
    return _Written(content, rebased)


def _apply_user_version(
    target: Path, root: Path, proposal: Proposal, content: str, *, write: bool
) -> EditOutcome:
    content = match_newlines(proposal.old, content)
    edited = Proposal(
        proposal.path,
        proposal.old,
        content,
        compute_hunks(proposal.old or "", content),
        classify_change(proposal.old, content),
    )
    written = _settle(target, root, edited, [True] * len(edited.hunks), write=write)
    if written is None:
        return _stale(proposal.path)
    if content == proposal.new:
        report = (
            f"The user opened your proposal for {proposal.path} in an editor and applied it "
            "unchanged. The file now matches your proposal."
        )
    else:
        delta = unified_diff(proposal.path, proposal.new, content).split("\n", 2)[-1]
        report = (
            f"The user edited your proposal before applying it: {proposal.path} now contains "
            "the user's version, not yours. Differences from your proposal to what was "
            f"written ('-' yours, '+' the user's):\n```diff\n{delta}```"
        )
    if written.rebased:
        report += "\n" + _REBASED
    return EditOutcome(applied=True, content=written.content, report=report)


# ---------------------------------------------------------------- reports


def _applied_report(proposal: Proposal) -> str:
    path, hunks = proposal.path, proposal.hunks
    plus = sum(h.additions for h in hunks)
    minus = sum(h.deletions for h in hunks)
    if proposal.change == "create":
        lines = len(split_lines(proposal.new or ""))
        return f"Created {path} ({lines} line{'s' if lines != 1 else ''})."
    if proposal.change == "delete":
        return f"Deleted {path}."
    count = f"{len(hunks)} hunk{'s' if len(hunks) != 1 else ''}"
    return f"Applied your change to {path} as proposed ({count}, +{plus} −{minus})."


def _partial_report(proposal: Proposal, decisions: Sequence[bool], notes: Sequence[str]) -> str:
    n = len(proposal.hunks)
    lines = [
        f"The user reviewed your change to {proposal.path} hunk by hunk and accepted "
        f"{sum(decisions)} of {n} hunks. Only the accepted hunks were written; the lines "
        "of rejected hunks keep their previous content. Line numbers refer to the file "
        "before this change."
    ]
    lines += _hunk_lines(proposal.hunks, decisions, notes)
    lines.append(_rejected_diff(proposal.hunks, decisions))
    return "\n".join(lines)


def _rejected(proposal: Proposal, feedback: str, notes: Sequence[str]) -> EditOutcome:
    report = (
        f"The user rejected your change to {proposal.path}; nothing was written and the "
        "file is unchanged."
    )
    if any(notes):
        hunk_lines = _hunk_lines(proposal.hunks, [False] * len(notes), notes)
        report += "\n" + "\n".join(hunk_lines)
    if not feedback and not any(notes):
        report += " The user gave no reason."
    return EditOutcome(applied=False, content=None, report=report)


def _hunk_lines(
    hunks: Sequence[Hunk], decisions: Sequence[bool], notes: Sequence[str]
) -> list[str]:
    out = []
    for index, (hunk, keep, note) in enumerate(zip(hunks, decisions, notes, strict=True), 1):
        verdict = "applied" if keep else "rejected"
        reason = f' — user feedback: "{note}"' if note else ""
        out.append(f"- hunk {index} (lines {hunk.old_range}): {verdict}{reason}")
    return out


def _rejected_diff(hunks: Sequence[Hunk], decisions: Sequence[bool]) -> str:
    texts = "".join(h.text for h, keep in zip(hunks, decisions, strict=True) if not keep)
    return f"The rejected hunks, as you proposed them:\n```diff\n{texts}```"


def _with_feedback(outcome: EditOutcome, feedback: str) -> EditOutcome:
    if not feedback:
        return outcome
    return EditOutcome(
        applied=outcome.applied,
        content=outcome.content,
        report=f'{outcome.report}\nUser feedback: "{feedback}"',
        feedback=feedback,
        stale=outcome.stale,
    )


def _stale(path: str) -> EditOutcome:
    return EditOutcome(
        applied=False, content=None, report=STALE_REPORT.format(path=path), stale=True
    )


def _refused(reason: str) -> EditOutcome:
    return EditOutcome(applied=False, content=None, report=f"Not applied: {reason}")


def _not_written(path: str, exc: Exception) -> EditOutcome:
    """The file could not be written safely when the approved change was carried out."""
    return _refused(f"{exc}. Your change to {path} was NOT written; the file is unchanged.")


def _as_reply(answer: Any) -> ApprovalReply:
    """Accept what headless clients send: an ApprovalReply, a bool, or its dict form."""
    if isinstance(answer, ApprovalReply):
        return answer
    if isinstance(answer, bool):
        return ApprovalReply(approved=answer)
    if isinstance(answer, dict):
        fields = dict(answer)
        for key in ("hunks", "hunk_feedback"):
            if fields.get(key) is not None:
                fields[key] = tuple(fields[key])
        return ApprovalReply(**fields)
    raise TypeError(f"not an answer to a DiffProposed: {answer!r}")


# ---------------------------------------------------------------- disk


LEGACY_ENCODINGS = ("cp1252", "latin-1")
"""Tried in order for text that is not UTF-8. Latin-1 decodes any bytes, and both map
each byte to one character and back, so unchanged text is written back byte for byte."""


def text_encoding(data: bytes) -> str:
    """The encoding to read and write this file's text with: the UTF-16/32 its
    byte-order mark names; UTF-8 when it is valid UTF-8 (or only cut short
    mid-character); else the first legacy encoding that decodes it (Windows-1252,
    then Latin-1)."""
    if bom := bom_encoding(data):
        return bom
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":
            return next(e for e in LEGACY_ENCODINGS if _decodes(data, e))
    return "utf-8"


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _raw(path: Path, root: Path) -> bytes | None:
    """The file's bytes as they are on disk (``None`` if it does not exist)."""
    content = read_regular(path, root=root, limit=MAX_READ_BYTES)
    return None if content is None else content.data


def decode_text(data: bytes) -> str:
    """The text of a file's bytes, in the encoding :func:`text_encoding` finds."""
    return data.decode(text_encoding(data), errors="replace")


def encode_like(text: str, original: bytes | None) -> bytes:
    """``text`` in the encoding of the ``original`` bytes it replaces (UTF-8 for a new
    file). Raises PathRefused if that encoding cannot hold ``text``."""
    encoding = "utf-8" if original is None else text_encoding(original)
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise PathRefused(
            f"the file is {encoding} text, which cannot hold {exc.object[exc.start]!r}; "
            "nothing was written. Use only characters that encoding has."
        ) from exc


def read_text(path: Path, *, root: Path | None = None) -> str | None:
    """The file's text (``None`` if it does not exist); raises NotTextError for binary,
    PathRefused for anything that is not a regular file of a sane size.

    Nothing below ``root`` (default: the file's directory) is followed if it is a link.
    """
    content = read_regular(path, root=root or path.parent, limit=MAX_READ_BYTES)
    if content is None:
        return None
    if content.truncated:
        raise PathRefused(
            f"{path} is {content.size:,} bytes; kilo-tui does not edit files that large"
        )
    if is_binary(content.data):
        raise NotTextError(str(path))
    return decode_text(content.data)
