"""The task's todo list, pinned above the prompt while it has items."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

MARKS = {"completed": ("☑", "dim strike"), "in_progress": ("◐", "bold"), "pending": ("☐", "")}


class TodoList(Static):
    """Renders ``TodoListUpdated.todos``; hidden when there is nothing to do."""

    DEFAULT_CSS = """
    TodoList {
        display: none;
        height: auto;
        max-height: 8;
        padding: 0 1;
        border-top: hkey $secondary;
        &.-visible { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.todos: tuple[dict[str, str], ...] = ()

    def set_todos(self, todos: tuple[dict[str, str], ...]) -> None:
        """Show ``todos`` (``{"text", "status"}`` dicts)."""
        self.todos = todos
        self.set_class(bool(todos), "-visible")
        done = sum(1 for t in todos if t.get("status") == "completed")
        text = Text(f"Todo {done}/{len(todos)}\n", style="bold")
        for todo in todos:
            mark, style = MARKS.get(todo.get("status", "pending"), MARKS["pending"])
            text.append(f"{mark} {todo.get('text', '')}\n", style=style)
        text.rstrip()
        self.update(text)
