"""The hunk engine: compute, apply any subset, rebase, parse, classify."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from kilo_tui.core.hunks import (
    apply_hunks,
    classify_change,
    compute_hunks,
    is_binary,
    locate_hunks,
    match_newlines,
    parse_hunk,
    rebase_hunks,
    unified_diff,
)

OLD = "".join(f"line {i}\n" for i in range(1, 41))
NEW = OLD.replace("line 5\n", "line five\n").replace("line 30\n", "line 30\nextra\n")


def test_two_separate_changes_make_two_hunks_with_context() -> None:
    hunks = compute_hunks(OLD, NEW)
    assert [h.header for h in hunks] == ["@@ -2,7 +2,7 @@", "@@ -28,6 +28,7 @@"]
    assert hunks[0].lines[3:5] == (("-", "line 5\n"), ("+", "line five\n"))
    assert (hunks[1].additions, hunks[1].deletions) == (1, 0)
    assert hunks[0].old_range == "2–8"


@pytest.mark.parametrize("accepted", list(itertools.product([True, False], repeat=2)))
def test_apply_exactly_the_accepted_hunks(accepted: tuple[bool, bool]) -> None:
    hunks = compute_hunks(OLD, NEW)
    result = apply_hunks(OLD, hunks, accepted)
    assert ("line five\n" in result) is accepted[0]
    assert ("extra\n" in result) is accepted[1]
    assert ("line 5\n" in result) is not accepted[0]
    if all(accepted):
        assert result == NEW
    if not any(accepted):
        assert result == OLD


def test_random_round_trips_and_hunk_text_parses_back() -> None:
    rng = random.Random(7)
    for _ in range(300):
        a = [rng.choice("abcde") + "\n" for _ in range(rng.randint(0, 30))]
        b = list(a)
        for _ in range(rng.randint(0, 6)):
            if rng.random() < 0.3 and b:
                del b[rng.randrange(len(b))]
            else:
                b.insert(rng.randint(0, len(b)), rng.choice("abcdefg") + "\n")
        old, new = "".join(a), "".join(b)
        if rng.random() < 0.3:
            new = new.rstrip("\n")
        hunks = compute_hunks(old, new)
        assert apply_hunks(old, hunks, [True] * len(hunks)) == new
        assert apply_hunks(old, hunks, [False] * len(hunks)) == old
        assert [parse_hunk(h.text) for h in hunks] == hunks
        accepted = [rng.random() < 0.5 for _ in hunks]
        assert rebase_hunks(old, hunks, accepted) == apply_hunks(old, hunks, accepted)


def test_crlf_is_preserved_and_plain_newlines_adopt_it() -> None:
    old = "a\r\nb\r\nc\r\n"
    new = match_newlines(old, "a\nB\nc\n")
    assert new == "a\r\nB\r\nc\r\n"
    hunks = compute_hunks(old, new)
    assert len(hunks) == 1 and hunks[0].deletions == 1
    assert apply_hunks(old, hunks, [True]) == "a\r\nB\r\nc\r\n"
    assert parse_hunk(hunks[0].text) == hunks[0]
    assert match_newlines("x\ny\n", "a\nb\n") == "a\nb\n"


def test_missing_final_newline_is_marked_and_round_trips() -> None:
    hunks = compute_hunks("a\nb", "a\nc")
    assert "\\ No newline at end of file" in hunks[0].text
    assert apply_hunks("a\nb", hunks, [True]) == "a\nc"
    assert parse_hunk(hunks[0].text) == hunks[0]


def test_unified_diff_matches_git_headers() -> None:
    assert unified_diff("x.py", "a\n", "b\n") == "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    created = unified_diff("n.py", None, "1\n2\n")
    assert created.startswith("--- /dev/null\n+++ b/n.py\n@@ -0,0 +1,2 @@\n+1\n+2\n")
    assert unified_diff("d.py", "1\n", None).startswith("--- a/d.py\n+++ /dev/null\n@@ -1 +0,0 @@")
    assert unified_diff("same", "x\n", "x\n") == ""


def test_classify_change() -> None:
    assert classify_change(None, "x\n") == "create"
    assert classify_change("x\n", None) == "delete"
    assert classify_change(OLD, NEW) == "modify"
    rewritten = "".join(f"other {i}\n" for i in range(40))
    assert classify_change(OLD, rewritten) == "rewrite"


def test_binary_detection() -> None:
    assert is_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not is_binary("héllo\n".encode())
    assert not is_binary(b"")


def test_rebase_onto_content_that_moved_and_refuse_on_conflict() -> None:
    hunks = compute_hunks(OLD, NEW)
    moved = "header 1\nheader 2\n" + OLD
    assert locate_hunks(moved, hunks) == [hunks[0].old_offset + 2, hunks[1].old_offset + 2]
    assert rebase_hunks(moved, hunks, [True, True]) == "header 1\nheader 2\n" + NEW
    conflicting = OLD.replace("line 29\n", "line 29 (edited)\n")
    assert locate_hunks(conflicting, hunks)[1] is None
    assert rebase_hunks(conflicting, hunks, [True, True]) is None
    # The conflicting hunk was rejected anyway: the accepted one still applies.
    assert rebase_hunks(conflicting, hunks, [True, False]) == conflicting.replace(
        "line 5\n", "line five\n"
    )


def big_pair(lines: int = 10_000, changes: int = 200) -> tuple[str, str]:
    old = [f"    value_{i} = compute({i})\n" for i in range(lines)]
    new = list(old)
    step = lines // changes
    for k in range(changes):
        new[k * step + step // 2] = f"    value_{k} = changed({k})\n"
    return "".join(old), "".join(new)


def test_ten_thousand_lines_two_hundred_hunks_is_fast() -> None:
    old, new = big_pair()
    # CPU time of this process: a busy machine (another test worker) delays the wall
    # clock, not the work done (about 25 ms).
    start = time.process_time()
    hunks = compute_hunks(old, new)
    elapsed = time.process_time() - start
    assert len(hunks) == 200
    assert elapsed < 0.15, f"compute_hunks took {elapsed * 1000:.0f} ms of CPU"
    assert apply_hunks(old, hunks, [True] * 200) == new
