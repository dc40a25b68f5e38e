"""The diff review screen, driven with Pilot, plus snapshots of both views in two themes."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import Button, Footer

from kilo_tui.core.bus import EventBus
from kilo_tui.core.edits import Proposal, read_text, review_edit
from kilo_tui.core.events import ApprovalReply, DiffProposed
from kilo_tui.core.hunks import classify_change, compute_hunks
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.screens.diff_review import DiffReviewScreen
from kilo_tui.tui.widgets.diff_view import DiffView
from tests.tui.helpers import StandInRuntime
from tests.tui.pilot import screen_lines, until

OLD = "".join(f"def f{i}(x):\n    return x + {i}  # line {i}\n\n" for i in range(1, 30))
NEW = OLD.replace("return x + 5 ", "return x * 5 ").replace(
    "# line 20\n", "# line 20\n    print('twenty')\n"
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))


def proposal(
    path: str = "app.py", old: str | None = OLD, new: str | None = NEW, rid: str = "r1"
) -> DiffProposed:
    hunks = compute_hunks(old or "", new or "")
    built = Proposal(path, old, new, hunks, classify_change(old, new))
    return built.event(request_id=rid, task_id="t", call_id="c", tool="apply_diff", auto=False)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "app.py").write_text(OLD)
    return workspace


class ReviewApp(App[None]):
    """Pushes the review screen at start and keeps what it dismisses with."""

    def __init__(self, workspace: Path, proposals: list[DiffProposed], theme: str = "") -> None:
        super().__init__()
        self.workspace = workspace
        self.proposals = proposals
        self.result: dict[str, ApprovalReply] | None = None
        self._theme_name = theme

    def on_mount(self) -> None:
        if self._theme_name:
            self.theme = self._theme_name
        screen = DiffReviewScreen(self.proposals, workspace=self.workspace)
        self.push_screen(screen, self._done)

    def _done(self, result: dict[str, ApprovalReply] | None) -> None:
        self.result = result

    @property
    def review(self) -> DiffReviewScreen:
        assert isinstance(self.screen, DiffReviewScreen)
        return self.screen


async def test_accept_one_hunk_reject_the_other_with_feedback(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a", "r")
        await pilot.press(*"keep the old name", "enter")
        await pilot.pause()
        status = str(app.review.query_one("#status").render())
        assert "✓ 1 · ✗ 1 · 0 undecided" in status
        await pilot.press("enter")
        await pilot.pause()
    assert app.result == {
        "r1": ApprovalReply(
            approved=True, hunks=(True, False), hunk_feedback=("", "keep the old name")
        )
    }


async def test_feedback_shows_on_its_hunk_until_the_hunk_is_accepted(ws: Path) -> None:
    """Feedback sits under the rejected hunk's header, wrapped to fit 80 columns;
    accepting the hunk after all takes it away."""
    why = "keep the old name, " * 6 + "please"
    app = ReviewApp(ws, [proposal()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r", *why, "enter")
        await pilot.pause()
        await pilot.press("k")
        await pilot.pause()
        lines = screen_lines(app)
        header = next(i for i, line in enumerate(lines) if "hunk 1 of 2" in line)
        assert "✗ rejected" in lines[header]
        shown = " ".join(line.strip(" ▌│") for line in lines[header + 1 : header + 4])
        assert f'feedback: "{why}"' in " ".join(shown.split())
        await pilot.press("a")
        await pilot.pause()
        assert not any("keep the old name" in line for line in screen_lines(app))


async def test_unmarked_hunks_count_as_accepted_and_the_status_says_so(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        status = str(app.review.query_one("#status").render())
        assert "2 undecided (count as accepted)" in status
        await pilot.press("j", "a", "enter")
        await pilot.pause()
    assert app.result == {"r1": ApprovalReply(approved=True, hunks=(True, True))}


async def test_y_accepts_and_n_rejects_with_feedback(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()])
    async with app.run_test() as pilot:
        await pilot.press("y")
        await pilot.pause()
    assert app.result == {"r1": ApprovalReply(approved=True)}

    app = ReviewApp(ws, [proposal()])
    async with app.run_test() as pilot:
        await pilot.press("n", *"wrong file", "enter")
        await pilot.pause()
    assert app.result == {"r1": ApprovalReply(approved=False, feedback="wrong file")}


async def test_escape_in_the_feedback_box_cancels_the_rejection(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()])
    async with app.run_test() as pilot:
        await pilot.press("n", "x", "escape")
        await pilot.pause()
        assert app.result is None and isinstance(app.screen, DiffReviewScreen)


async def test_t_toggles_side_by_side_and_wide_terminals_start_split(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        view = app.review.query_one(DiffView)
        assert not view.side_by_side
        await pilot.press("t")
        assert view.side_by_side
        await pilot.press("t")
        assert not view.side_by_side

    app = ReviewApp(ws, [proposal()])
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        assert app.review.query_one(DiffView).side_by_side


def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """Make ``$VISUAL`` a Python script that runs ``body`` with ``p``, the file's path."""
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n" + body + "\n")
    monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")


POWER = "p.write_text(p.read_text().replace('x * 5', 'x ** 5'))"


async def test_an_edited_proposal_is_shown_for_a_final_look_hunk_by_hunk(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After e, the viewer shows the user's version (labelled) against the file; nothing
    is written until it is submitted, and then only its accepted hunks, with the
    feedback on the rejected one reaching the model."""
    editor(tmp_path, monkeypatch, POWER)
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        task = reviewing(app, ws, "app.py", OLD, NEW)
        await until(pilot, lambda: isinstance(app.screen, DiffReviewScreen))
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiffReviewScreen) and not task.done()
        assert "edited by you" in str(screen.query_one("#title").render())
        lines = screen_lines(app)
        assert any("x ** 5" in line for line in lines)
        assert not any("x * 5" in line for line in lines)
        assert screen.query_one(DiffView).diff.hunks == compute_hunks(
            OLD, NEW.replace("x * 5", "x ** 5")
        )
        assert (ws / "app.py").read_text() == OLD
        await pilot.press("r", *"no powers", "enter")  # hunk 1: x ** 5
        await pilot.pause()
        await pilot.press("enter")  # hunk 2 (the print) undecided: accepted
        outcome = await asyncio.wait_for(task, 10)
    assert (ws / "app.py").read_text() == OLD.replace(
        "# line 20\n", "# line 20\n    print('twenty')\n"
    )
    assert "the user's version" in outcome.report
    assert "lines 11–17" in outcome.report and "no powers" in outcome.report


async def test_y_on_an_edited_proposal_writes_the_users_version(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor(tmp_path, monkeypatch, POWER)
    app = ReviewApp(ws, [proposal()])
    async with app.run_test() as pilot:
        await pilot.press("e")
        await pilot.pause()
        assert app.result is None
        await pilot.press("y")
        await pilot.pause()
    assert app.result is not None
    reply = app.result["r1"]
    assert reply.approved and reply.content == NEW.replace("x * 5", "x ** 5")


@pytest.mark.parametrize(
    ("body", "told"),
    [
        ("pass", "No changes made in the editor"),
        ("p.write_text('')", "empty"),
        ("p.write_text('  \\n'); sys.exit(0)", "empty"),
        ("p.write_text('half'); sys.exit(3)", "exited with status 3"),
    ],
    ids=["unchanged", "emptied", "blank", "failed"],
)
async def test_an_editor_that_changes_nothing_empties_the_file_or_fails_writes_nothing(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, told: str
) -> None:
    """The proposal under review stays as it was, the user is told why, and the file
    is untouched until they decide."""
    editor(tmp_path, monkeypatch, body)
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        task = reviewing(app, ws, "app.py", OLD, NEW)
        await until(pilot, lambda: isinstance(app.screen, DiffReviewScreen))
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DiffReviewScreen) and not task.done()
        assert any(told in n.message for n in app._notifications)
        assert "proposed by apply_diff" in str(screen.query_one("#title").render())
        assert screen.query_one(DiffView).diff.hunks == compute_hunks(OLD, NEW)
        assert (ws / "app.py").read_text() == OLD
        await pilot.press("n", "enter")
        outcome = await asyncio.wait_for(task, 10)
    assert not outcome.applied and (ws / "app.py").read_text() == OLD


async def test_external_change_recomputes_and_rejects_what_no_longer_fits(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        (ws / "app.py").write_text("# header\n" + OLD.replace("# line 20", "# line 20!"))
        app.review.file_changed("app.py")
        await pilot.pause()
        notice = app.review.query_one("#notice")
        assert notice.display and "changed on disk" in str(notice.render())
        diff = app.review.query_one(DiffView).diff
        assert diff.positions[0] == 11 and diff.positions[1] is None
        await pilot.press("y")  # refused: hunk 2 no longer applies
        await pilot.pause()
        assert app.result is None
        await pilot.press("enter")
        await pilot.pause()
    assert app.result is not None
    assert app.result["r1"].hunks == (True, False)


async def test_several_files_get_a_file_list_and_one_reply_each(ws: Path) -> None:
    (ws / "b.py").write_text("a = 1\n")
    first, second = proposal(), proposal("b.py", "a = 1\n", "a = 2\n", rid="r2")
    app = ReviewApp(ws, [first, second])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.review.query_one("#files").display
        await pilot.press("y")
        await pilot.pause()
        assert app.review.current == 1 and app.result is None
        await pilot.press("n", "enter")
        await pilot.pause()
    assert app.result == {
        "r1": ApprovalReply(approved=True),
        "r2": ApprovalReply(approved=False),
    }


async def test_a_path_with_brackets_is_shown_as_it_is(ws: Path) -> None:
    """``pages/[id].py`` (a Next.js route) is not markup: the title, the file list,
    the reject question and a changed-on-disk notice all name the real file."""
    path = "pages/[id].py"
    (ws / "pages").mkdir()
    (ws / path).write_text(OLD)
    (ws / "b.py").write_text("a = 1\n")
    app = ReviewApp(ws, [proposal(path), proposal("b.py", "a = 1\n", "a = 2\n", rid="r2")])
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        assert path in lines[0]
        assert sum(path in line for line in lines) == 2  # the title and the file list
        app.review.file_changed(path)
        await until(pilot, lambda: bool(app.screen.query("Toast")))
        toast = str(app.screen.query_one("Toast").render())
        assert toast.startswith(f"{path} changed on disk")
        await pilot.press("n")
        await pilot.pause()
        assert any(f"change to {path} — why?" in line for line in screen_lines(app))


async def test_keys_are_remappable_by_binding_id(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()])
    async with app.run_test() as pilot:
        app.set_keymap({"diff-accept-hunk": "x", "diff-submit": "ctrl+s"})
        await pilot.pause()
        # The buttons name the keys as remapped.
        assert str(app.review.query_one("#accept_hunk", Button).label) == "x Accept hunk"
        assert str(app.review.query_one("#submit", Button).label) == "^s Submit"
        await pilot.press("x", "ctrl+s")
        await pilot.pause()
    assert app.result == {"r1": ApprovalReply(approved=True, hunks=(True, True))}


async def test_colours_follow_the_theme(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()], theme="textual-dark")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        view = app.review.query_one(DiffView)
        row = 6  # the removed line of hunk 1

        def colours() -> set[str]:
            return {str(seg.style.bgcolor) for seg in view.render_line(row) if seg.style}

        dark = colours()
        app.theme = "textual-light"
        await pilot.pause()
        assert colours() != dark


async def test_folds_expand_on_click_and_with_space(ws: Path) -> None:
    app = ReviewApp(ws, [proposal()])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        view = app.review.query_one(DiffView)
        rows_before = view.virtual_size.height
        await pilot.click(DiffView, offset=(5, 0))  # the first row folds lines 1–10
        await pilot.pause()
        assert view.virtual_size.height == rows_before + 10 - 1
        await pilot.press("space")  # unfolds the 39 lines after hunk 1
        await pilot.pause()
        assert view.virtual_size.height == rows_before + 9 + 38


async def test_new_file_and_binary_file_are_labelled(ws: Path) -> None:
    (ws / "logo.png").write_bytes(b"\x89PNG\x00\x00")
    app = ReviewApp(ws, [proposal("new.py", None, "x = 1\n"), proposal("logo.png", rid="r2")])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "NEW FILE" in str(app.review.query_one("#title").render())
        await pilot.press("]")
        await pilot.pause()
        assert "binary file" in str(app.review.query_one("#notice").render())
        await pilot.press("y")  # disabled for a binary file
        await pilot.pause()
        assert app.review.review.reply is None


async def test_a_big_diff_opens_fast(tmp_path: Path) -> None:
    old = "".join(f"    value_{i} = compute({i})\n" for i in range(10_000))
    new = "".join(
        f"    value_{i} = changed({i})\n" if i % 50 == 25 else f"    value_{i} = compute({i})\n"
        for i in range(10_000)
    )
    (tmp_path / "big.py").write_text(old)
    event = proposal("big.py", old, new)
    assert len(event.hunks) == 200
    app = ReviewApp(tmp_path, [event])
    async with app.run_test(size=(120, 40)) as pilot:
        # CPU time: what the screen costs, however busy the test machine is.
        start = time.process_time()
        screen = DiffReviewScreen([event], workspace=tmp_path)
        await app.push_screen(screen)
        await pilot.pause()
        elapsed = time.process_time() - start
        view = screen.query_one(DiffView)
        for _ in range(20):
            await pilot.press("j")
        assert view.cursor == 20
    # The budget is 300 ms; leave room for slow machines (benchmarks/ has the numbers).
    assert elapsed < 1.0, f"opening took {elapsed * 1000:.0f} ms"


def reviewing(app: App[None], ws: Path, path: str, old: str, new: str) -> asyncio.Task[Any]:
    """Propose ``old`` → ``new`` at ``path`` as the agent does, with the review screen
    pushed on ``app`` answering on the bus; the task ends with the edit's outcome."""
    bus = EventBus()

    def on_proposal(event: DiffProposed) -> None:
        def reply(result: dict[str, ApprovalReply] | None) -> None:
            for request_id, answer in (result or {}).items():
                bus.reply(request_id, answer)

        app.push_screen(DiffReviewScreen([event], workspace=ws), reply)

    bus.subscribe(on_proposal, DiffProposed)
    edit = review_edit(
        bus=bus,
        workspace=ws,
        path=path,
        old=old,
        new=new,
        tool="apply_diff",
        task_id="t",
        call_id="c",
        auto_approved=False,
    )
    return asyncio.create_task(edit)


async def test_review_edit_end_to_end_through_the_screen(ws: Path) -> None:
    """The agent proposes, the screen answers on the bus, the file gets hunk 1 only."""
    app: App[None] = App()
    outcome: list[Any] = []
    async with app.run_test(size=(100, 30)) as pilot:
        task = reviewing(app, ws, "app.py", OLD, NEW)
        await pilot.pause(0.1)
        await pilot.press("a", "r", *"not this one", "enter")
        await pilot.pause()
        await pilot.press("enter")
        outcome.append(await asyncio.wait_for(task, 5))
    text = (ws / "app.py").read_text()
    assert "x * 5" in text and "print('twenty')" not in text
    assert 'hunk 2 (lines 57–62): rejected — user feedback: "not this one"' in outcome[0].report


# ------------------------------------------------------------------ snapshots


def snapshot_app(tmp_path: Path, theme: str) -> ReviewApp:
    workspace = tmp_path / "snap"
    workspace.mkdir(exist_ok=True)
    (workspace / "app.py").write_text(OLD)
    return ReviewApp(workspace, [proposal()], theme=theme)


async def _decide(pilot: Pilot[Any]) -> None:
    await pilot.press("a")
    await pilot.pause()


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
def test_snapshot_unified(snap_compare: Any, tmp_path: Path, theme: str) -> None:
    """Unified view at 100 columns: hunk 1 accepted (✓), cursor on hunk 2, folds between."""
    app = snapshot_app(tmp_path, theme)
    assert snap_compare(app, terminal_size=(100, 32), run_before=_decide)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
def test_snapshot_side_by_side(snap_compare: Any, tmp_path: Path, theme: str) -> None:
    """Side by side at 140 columns (automatic): old on the left, new on the right."""
    app = snapshot_app(tmp_path, theme)
    assert snap_compare(app, terminal_size=(140, 32), run_before=_decide)


def test_snapshot_at_80_columns(snap_compare: Any, tmp_path: Path) -> None:
    """80×24: hunk 1 rejected with its feedback under the header, the long line ending
    in →, buttons that name their keys, the whole status line and footer."""
    workspace = tmp_path / "snap"
    workspace.mkdir()
    (workspace / "app.py").write_text(OLD)
    app = ReviewApp(workspace, [proposal(new=LONG)], theme="textual-dark")

    async def reject_first(pilot: Pilot[Any]) -> None:
        await pilot.press("r", *"keep the comment short", "enter")
        await pilot.pause()
        await pilot.press("k")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=reject_first)


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("cp1252", "\r\n"), ("latin-1", "\n"), ("utf-8", "\r\n"), ("utf-16", "\r\n")],
)
async def test_a_proposal_edited_in_the_editor_keeps_the_files_encoding_and_line_endings(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, newline: str
) -> None:
    """The user's version of a legacy-encoded, UTF-16 (with its byte-order mark) or CRLF
    file is written back as the file was: the same encoding, the same line endings,
    the untouched lines byte for byte."""
    text = newline.join(["# café menu", "price = 5  # €" if encoding != "latin-1" else "x = 5", ""])
    (ws / "menu.py").write_bytes(text.encode(encoding))
    old = read_text(ws / "menu.py")  # what an edit tool bases its proposal on
    assert old is not None and old.lstrip("\ufeff") == text
    new = old.replace("5", "6")
    editor = tmp_path / "editor.py"
    editor.write_text(  # an editor that adds a line with non-ASCII text, keeping endings
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "data = p.read_bytes().decode('utf-8')\n"
        "nl = '\\r\\n' if '\\r\\n' in data else '\\n'\n"
        "p.write_bytes((data + '# naïve' + nl).encode('utf-8'))\n"
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {editor}")
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        task = reviewing(app, ws, "menu.py", old, new)
        await pilot.pause(0.1)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")  # after a final look at the user's version
        outcome = await asyncio.wait_for(task, 10)
    assert outcome.applied, outcome.report
    expected = text.replace("5", "6") + "# naïve" + newline
    assert (ws / "menu.py").read_bytes() == expected.encode(encoding)


# ------------------------------------------------------------------ layouts that fit

LONG_TAIL = "END-OF-THE-LONG-LINE"
LONG = NEW.replace("# line 3\n", "# line 3 " + "and a very long comment " * 9 + LONG_TAIL + "\n")


async def test_at_80_columns_every_button_key_and_the_status_line_are_visible(ws: Path) -> None:
    """At 80×24, with two files (the longest status, the most keys), each button, each
    key hint and the whole status line can be read: nothing is cut off or wrapped; a
    title too long for one row (a deep path) wraps instead of losing its end, and the
    file list leaves the diff most of the width."""
    deep = "src/kilo_tui/tui/screens/diff_review_helpers.py"
    (ws / deep).parent.mkdir(parents=True)
    (ws / deep).write_text(OLD)
    (ws / "b.py").write_text("a = 1\n")
    runtime = StandInRuntime(ws)  # the real app, so its own keys are in the footer too
    app = KiloApp(ws, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        proposals = [proposal(deep), proposal("b.py", "a = 1\n", "a = 2\n", rid="r2")]
        screen = DiffReviewScreen(proposals, workspace=ws)
        await app.push_screen(screen)

        def footer_drawn() -> bool:  # the footer composes its keys after a refresh
            keys = screen.query_one(Footer).query("FooterKey")
            return bool(keys) and all(key.region.y == 23 for key in keys)

        await until(pilot, footer_drawn)
        await pilot.pause()
        lines = screen_lines(app)
        title = screen.query_one("#title")
        shown = " ".join(lines[title.region.y : title.region.bottom])
        assert " ".join(str(title.render()).split()) == " ".join(shown.split())
        assert screen.query_one(DiffView).region.width >= 54
        status = str(screen.query_one("#status").render()).strip()
        assert "hunk 1/2" in status and "undecided" in status and "file 1" in status
        assert any(status in line for line in lines), status
        buttons = list(screen.query(Button))
        assert len(buttons) == 6
        for button in buttons:
            assert button.region.right <= 80 and str(button.label) in lines[button.region.y]
        hints = list(screen.query_one(Footer).query("FooterKey, FooterLabel"))
        footer = lines[hints[0].region.y]
        assert all(word in footer for word in ("hunk", "Split", "file", "palette")), footer
        for hint in hints:
            text = str(hint.render()).strip()
            assert hint.region.right <= 80 and text in footer, f"{text!r} is cut off"
        # Each action on a button shows its key there (the footer does not repeat it).
        assert "a" in str(screen.query_one("#accept_hunk", Button).label)
        assert "e" in str(screen.query_one("#edit", Button).label).split()[0]


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_a_long_line_shows_it_continues_and_scrolls_into_view(
    ws: Path, size: tuple[int, int]
) -> None:
    """A line wider than the view ends in a dim → ; → (the key) scrolls the rest in."""
    app = ReviewApp(ws, [proposal(new=LONG)])
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        view = app.review.query_one(DiffView)
        assert view.side_by_side == (size[0] > 120)

        def long_row() -> Strip:
            rows = [view.render_line(y) for y in range(view.scrollable_content_region.height)]
            return next(row for row in rows if "long comment" in row.text)

        row = long_row()
        last = list(row)[-1]
        assert last.text.endswith("→") and last.style is not None and last.style.dim
        assert LONG_TAIL not in row.text
        for _ in range(20):
            if LONG_TAIL in long_row().text:
                break
            await pilot.press("right")
        row = long_row()
        assert LONG_TAIL in row.text and not row.text.rstrip().endswith("→")
