"""list_code_definition_names: a file, a folder, the ignore rules and the trust boundary,
run directly and in a headless task against the fake provider."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kilo_tui.core.agent.modes import BUILTIN_MODES, allowed_tools
from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.tools.base import ToolError
from kilo_tui.core.tools.code import LIST_CODE_DEFINITION_NAMES, MAX_FOLDER_FILES
from tests.core.test_agent import answer_approvals, last_tool_result, main_requests, offered
from tests.core.test_tools import Harness
from tests.fakeserver import FakeLLMServer, Turn

SAMPLES = Path(__file__).parent / "code_samples"
TOOL = LIST_CODE_DEFINITION_NAMES


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A workspace holding the fixture repository (a file per language) under src/."""
    ws = tmp_path / "ws"
    shutil.copytree(SAMPLES, ws / "src")
    (ws / "src" / "notes.txt").write_text("class NotCode:\n    pass\n")
    (ws / "src" / "nested").mkdir()
    (ws / "src" / "nested" / "deep.py").write_text("def deep_function():\n    pass\n")
    return ws


async def run(ws: Path, path: str, **harness: bool) -> str:
    result = await TOOL.run({"path": path}, Harness(ws, **harness).context())
    return result.content


async def test_a_file_lists_its_definitions_with_line_ranges(repo: Path) -> None:
    h = Harness(repo)
    result = await TOOL.run({"path": "src/shapes.py"}, h.context())
    assert result.content == (
        "# src/shapes.py\n"
        "6--14 | class Shape:\n"
        "9--10 |     def area(self) -> float:\n"
        "13--14 |     def name(self) -> str:\n"
        "17--18 | def circle_area(radius: float) -> float:\n"
        "21--22 | async def fetch_shape(key: str) -> Shape:"
    )
    assert h.approvals[0]["kind"] == "read" and h.approvals[0]["path"] == "src/shapes.py"


async def test_a_folder_lists_its_top_level_source_files(repo: Path) -> None:
    text = await run(repo, "src")
    headers = [line for line in text.splitlines() if line.startswith("# ")]
    assert headers == [f"# src/{name}" for name in sorted(p.name for p in SAMPLES.iterdir())]
    assert "15--17 | func (c Circle) Area() float64 {" in text
    assert "16--20 | impl Shape for Circle {" in text
    assert "deep_function" not in text  # top level only, as Kilo does
    assert "NotCode" not in text  # no grammar, not parsed


async def test_ignored_files_are_never_read(repo: Path) -> None:
    (repo / ".kilocodeignore").write_text("src/shapes.go\nsrc/secret/\n")
    (repo / ".gitignore").write_text("src/generated.py\n")
    (repo / "src" / "generated.py").write_text("def generated():\n    pass\n")
    text = await run(repo, "src")
    assert "shapes.go" not in text and "NewCircle" not in text
    assert "generated" not in text
    assert "# src/shapes.rs" in text
    with pytest.raises(ToolError, match=r"\.kilocodeignore"):
        await run(repo, "src/shapes.go")
    # A link inside the workspace does not lead around the rule.
    os.symlink(repo / "src" / "shapes.go", repo / "src" / "alias.go")
    assert "NewCircle" not in await run(repo, "src")
    with pytest.raises(ToolError, match=r"\.kilocodeignore"):
        await run(repo, "src/alias.go")


async def test_a_link_out_of_the_workspace(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "private.py").write_text("def private_key_loader():\n    pass\n")
    os.symlink(outside / "private.py", repo / "src" / "leak.py")
    # A folder listing never follows it.
    assert "private_key_loader" not in await run(repo, "src")
    # Asked for directly it is a read outside the workspace: refused unless approved.
    h = Harness(repo, approve=False)
    with pytest.raises(ToolError, match="denied") as refused:
        await TOOL.run({"path": "src/leak.py"}, h.context())
    assert "private_key_loader" not in str(refused.value)
    assert h.approvals[0]["outside_workspace"] is True


async def test_unsupported_missing_and_binary_files_are_clear_errors(repo: Path) -> None:
    with pytest.raises(ToolError, match=r"notes\.txt.*no grammar.*\.py"):
        await run(repo, "src/notes.txt")
    with pytest.raises(ToolError, match="not found"):
        await run(repo, "src/missing.py")
    (repo / "src" / "blob.py").write_bytes(b"def x():\n\x00\x01\x02")
    with pytest.raises(ToolError, match="binary"):
        await run(repo, "src/blob.py")


async def test_a_file_without_definitions_and_an_empty_folder(repo: Path) -> None:
    (repo / "src" / "flat.py").write_text("x = 1\nprint(x)\n")
    assert await run(repo, "src/flat.py") == "No source code definitions found in src/flat.py."
    (repo / "empty").mkdir()
    assert await run(repo, "empty") == "No source code definitions found in empty."


async def test_results_are_capped(repo: Path) -> None:
    many = repo / "many"
    many.mkdir()
    for i in range(MAX_FOLDER_FILES + 5):
        (many / f"m{i:03}.py").write_text(f"def f{i}():\n    pass\n")
    text = await run(repo, "many")
    assert text.count("\n# ") + 1 == MAX_FOLDER_FILES
    assert f"only the first {MAX_FOLDER_FILES}" in text
    (repo / "huge.py").write_text("".join(f"def f{i}():\n    pass\n" for i in range(3000)))
    text = await run(repo, "huge.py")
    assert "more definitions not shown" in text
    assert len(text) < 40_000


async def test_offered_in_the_modes_whose_groups_include_read() -> None:
    for mode in BUILTIN_MODES:
        offered_here = TOOL.name in allowed_tools(mode, [TOOL.name])
        assert offered_here == (mode.group("read") is not None), mode.slug


async def test_a_headless_task_gets_the_definitions(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    """Headless (the policy answers): read = true auto-approves it like read_file, and
    the next request to the model carries the definitions."""
    shutil.copy(SAMPLES / "shapes.ts", workspace / "shapes.ts")
    runtime = make_runtime(interactive=False)
    asked = answer_approvals(runtime, lambda event: False)
    llm_env.script(
        Turn.tool("list_code_definition_names", path="shapes.ts"),
        Turn.tool("attempt_completion", result="It defines a Circle."),
    )
    outcome = await runtime.submit("What does shapes.ts define?")
    assert outcome.status == "completed"
    assert asked == []
    first, second = main_requests(llm_env)
    assert "list_code_definition_names" in offered(first)
    result = last_tool_result(second)
    assert result.startswith("# shapes.ts\n1--4 | export interface Shape {\n")
    assert "13--20 | export class Circle implements Shape {" in result
    assert "17--19 |   area(): number {" in result
    await runtime.aclose()
