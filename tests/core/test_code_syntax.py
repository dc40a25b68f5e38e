"""The syntax layer: definitions per language on a fixture repository, and chunks."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kilo_tui.core.code.syntax import LANGUAGES, Chunk, chunks, definitions, language_for

SAMPLES = Path(__file__).parent / "code_samples"

# (kind, qualified name, start line, end line) for each file of the fixture repository.
EXPECTED: dict[str, list[tuple[str, str, int, int]]] = {
    "shapes.py": [
        ("class", "Shape", 6, 14),
        ("method", "Shape.area", 9, 10),
        ("method", "Shape.name", 13, 14),
        ("function", "circle_area", 17, 18),
        ("function", "fetch_shape", 21, 22),
    ],
    "shapes.js": [
        ("class", "Shape", 3, 11),
        ("method", "Shape.constructor", 4, 6),
        ("method", "Shape.area", 8, 10),
        ("function", "circleArea", 13, 15),
        ("function", "square", 17, 19),
    ],
    "shapes.ts": [
        ("interface", "Shape", 1, 4),
        ("method", "Shape.area", 3, 3),
        ("type", "Point", 6, 6),
        ("enum", "Color", 8, 11),
        ("class", "Circle", 13, 20),
        ("method", "Circle.constructor", 15, 15),
        ("method", "Circle.area", 17, 19),
        ("function", "makeCircle", 22, 24),
        ("namespace", "Geometry", 26, 28),
    ],
    "Button.tsx": [
        ("interface", "ButtonProps", 3, 5),
        ("function", "Button", 7, 13),
        ("function", "IconButton", 15, 17),
    ],
    "shapes.go": [
        ("interface", "Shape", 5, 7),
        ("struct", "Circle", 9, 11),
        ("type", "Meters", 13, 13),
        ("method", "Circle.Area", 15, 17),
        ("function", "NewCircle", 19, 21),
    ],
    "shapes.rs": [
        ("struct", "Circle", 3, 5),
        ("enum", "Color", 7, 10),
        ("trait", "Shape", 12, 14),
        ("method", "Shape.area", 13, 13),
        ("impl", "Shape for Circle", 16, 20),
        ("method", "Shape for Circle.area", 17, 19),
        ("impl", "fmt::Display for Circle", 22, 26),
        ("method", "fmt::Display for Circle.fmt", 23, 25),
        ("module", "util", 28, 32),
        ("function", "util.double", 29, 31),
        ("type", "Meters", 34, 34),
        ("macro", "square", 36, 40),
    ],
    "Shapes.java": [
        ("class", "Shapes", 5, 26),
        ("interface", "Shapes.Shape", 6, 8),
        ("method", "Shapes.Shape.area", 7, 7),
        ("enum", "Shapes.Color", 10, 13),
        ("record", "Shapes.Point", 15, 15),
        ("constructor", "Shapes.Shapes", 19, 21),
        ("method", "Shapes.totalArea", 23, 25),
    ],
    "shapes.c": [
        ("macro", "SQUARE", 3, 3),
        ("struct", "circle", 5, 7),
        ("type", "square_t", 9, 11),
        ("enum", "color", 13, 16),
        ("function", "circle_area", 18, 21),
        ("function", "make_circle", 23, 28),
    ],
    "shapes.cpp": [
        ("namespace", "shapes", 3, 36),
        ("class", "shapes.Shape", 5, 9),
        ("method", "shapes.Shape.~Shape", 7, 7),
        ("method", "shapes.Shape.area", 8, 8),
        ("class", "shapes.Circle", 11, 20),
        ("method", "shapes.Circle.Circle", 13, 13),
        ("method", "shapes.Circle.area", 14, 16),
        ("struct", "shapes.Point", 22, 25),
        ("enum", "shapes.Color", 27, 27),
        ("type", "shapes.Meters", 29, 29),
        ("function", "shapes.total", 31, 34),
    ],
    "Shapes.cs": [
        ("namespace", "Shapes", 3, 36),
        ("interface", "Shapes.IShape", 5, 8),
        ("method", "Shapes.IShape.Area", 7, 7),
        ("struct", "Shapes.Point", 10, 14),
        ("enum", "Shapes.Color", 16, 20),
        ("class", "Shapes.Circle", 22, 35),
        ("property", "Shapes.Circle.Radius", 24, 24),
        ("constructor", "Shapes.Circle.Circle", 26, 29),
        ("method", "Shapes.Circle.Area", 31, 34),
    ],
    "shapes.rb": [
        ("module", "Shapes", 3, 17),
        ("class", "Shapes.Circle", 4, 16),
        ("method", "Shapes.Circle.initialize", 5, 7),
        ("method", "Shapes.Circle.area", 9, 11),
        ("method", "Shapes.Circle.unit", 13, 15),
        ("method", "describe", 19, 21),
    ],
    "shapes.php": [
        ("namespace", "App\\Shapes", 3, 3),
        ("interface", "Shape", 5, 8),
        ("method", "Shape.area", 7, 7),
        ("trait", "Named", 10, 16),
        ("method", "Named.name", 12, 15),
        ("enum", "Color", 18, 22),
        ("class", "Circle", 24, 36),
        ("method", "Circle.__construct", 28, 30),
        ("method", "Circle.area", 32, 35),
        ("function", "make_circle", 38, 41),
    ],
}


def test_the_fixture_covers_every_language() -> None:
    assert {language_for(name) for name in EXPECTED} == LANGUAGES
    assert sorted(EXPECTED) == sorted(p.name for p in SAMPLES.iterdir())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_definitions_with_kinds_names_and_line_ranges(name: str) -> None:
    lang = language_for(name)
    assert lang is not None
    found = definitions((SAMPLES / name).read_bytes(), lang)
    got = [(d.kind, d.qualified_name, d.start_line, d.end_line) for d in found]
    assert got == EXPECTED[name]


def test_language_by_file_name() -> None:
    assert language_for("src/App.TSX") == "tsx"
    assert language_for("lib/x.hpp") == "cpp"
    assert language_for("include/x.h") == "c"
    assert language_for("Rakefile") == "ruby"
    assert language_for("README.md") is None
    assert language_for("Makefile") is None


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no grammar"):
        definitions("x", "cobol")


def test_broken_source_still_yields_what_parses() -> None:
    text = "def ok():\n    return 1\n\ndef broken(:\n    pass\n\nclass Later:\n    pass\n"
    names = [d.name for d in definitions(text, "python")]
    assert "ok" in names and "Later" in names


def test_parsers_are_safe_across_threads() -> None:
    """The tools parse in worker threads: concurrent parses give the same answer."""
    text = (SAMPLES / "shapes.rs").read_text()
    results: list[int] = []

    def work() -> None:
        for _ in range(20):
            results.append(len(definitions(text, "rust")))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [len(EXPECTED["shapes.rs"])] * 80


# --------------------------------------------------------------------- chunks


def _python_module(functions: int, body_lines: int) -> str:
    parts = ['"""A module."""\n\nimport os\n']
    for i in range(functions):
        body = "".join(f"    x{j} = os.getcwd() + {j!r}\n" for j in range(body_lines))
        parts.append(f"\n\ndef func_{i}(a, b):\n{body}    return a + b\n")
    parts.append("\n\nclass Holder:\n")
    for i in range(functions):
        parts.append(f"    def meth_{i}(self):\n        return {i}\n\n")
    return "".join(parts)


def _covered(text: str, found: list[Chunk]) -> None:
    """Every non-blank line is in exactly one chunk, in order, with its own text."""
    lines = text.split("\n")
    seen: list[int] = []
    for chunk in found:
        seen.extend(range(chunk.start_line, chunk.end_line + 1))
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
    assert seen == sorted(set(seen))
    assert {i + 1 for i, line in enumerate(lines) if line.strip()} <= set(seen)


def test_small_file_is_one_chunk() -> None:
    text = (SAMPLES / "shapes.py").read_text()
    [only] = chunks(text, "python", 4000)
    assert (only.start_line, only.end_line) == (1, 22)


def test_chunks_follow_functions_and_fit() -> None:
    text = _python_module(functions=12, body_lines=6)
    found = chunks(text, "python", max_chars=400)
    _covered(text, found)
    assert all(len(c.text) <= 400 for c in found)
    for i in range(12):
        line = text.split("\n").index(f"def func_{i}(a, b):") + 1
        # Each function is whole in one chunk, which is named after it (the module's
        # tiny header may ride along with the first).
        [holder] = [c for c in found if c.start_line <= line <= c.end_line]
        assert holder.symbol == f"func_{i}"
        assert holder.text.endswith("    return a + b")
        assert holder.start_line == line or i == 0


def test_oversized_function_is_split_along_its_statements() -> None:
    text = _python_module(functions=1, body_lines=80)
    found = chunks(text, "python", max_chars=500)
    _covered(text, found)
    inside = [c for c in found if c.symbol == "func_0"]
    assert len(inside) > 3
    assert all(len(c.text) <= 500 for c in found)


def test_tiny_neighbours_are_merged() -> None:
    text = _python_module(functions=10, body_lines=0)
    found = chunks(text, "python", max_chars=300, min_chars=100)
    _covered(text, found)
    # Ten 3-line functions and ten 2-line methods do not make twenty chunks.
    assert len(found) < 10
    assert all(len(c.text) <= 300 for c in found)


def test_methods_of_a_big_class_are_chunks_named_after_them() -> None:
    methods = "".join(
        f"    def m{i}(self):\n" + "".join(f"        v = {j}\n" for j in range(8)) + "\n"
        for i in range(6)
    )
    text = "class Big:\n    '''Docs.'''\n\n" + methods
    found = chunks(text, "python", max_chars=200, min_chars=10)
    _covered(text, found)
    assert {c.symbol for c in found} >= {f"Big.m{i}" for i in range(6)}


def test_unknown_language_falls_back_to_line_windows() -> None:
    text = "".join(f"line {i} of some prose\n" for i in range(300))
    found = chunks(text, None, max_chars=500)
    _covered(text, found)
    assert len(found) > 5
    assert all(len(c.text) <= 500 and c.symbol is None for c in found)


def test_a_line_longer_than_the_limit_is_cut() -> None:
    text = "x = 1\nblob = '" + "z" * 5000 + "'\ny = 2\n"
    found = chunks(text, "python", max_chars=1000)
    assert all(len(c.text) <= 1000 for c in found)
    assert "".join(c.text for c in found if c.start_line == 2) == text.split("\n")[1]


def test_deep_nesting_does_not_recurse_forever() -> None:
    depth = 3000
    text = "x = " + "[\n" * depth + "1" + "\n]" * depth + "\n"
    found = chunks(text, "javascript", max_chars=200)
    assert sum(len(c.text) for c in found) >= depth * 2
    assert all(len(c.text) <= 200 for c in found)


def test_empty_and_blank_text() -> None:
    assert chunks("", "python") == []
    assert chunks("\n\n   \n", None) == []
