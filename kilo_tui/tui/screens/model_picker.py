"""The model picker: fuzzy search over the whole catalog, free and local models flagged.

One ``OptionList`` holds the rows, no widget per model. An ``OptionList`` measures every
option it holds, so with thousands of models the list is filled a page-sized chunk at
a time as the user scrolls towards its end. Favourites, recents and the current model
sit on top. The screen returns the chosen litellm model string, or ``None``; applying
and persisting the choice (recents, the mode's sticky model) is the caller's job.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar, Literal, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content, Span
from textual.message import Message
from textual.reactive import var
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from kilo_tui.core.llm.catalog import (
    Catalog,
    ModelInfo,
    SortKey,
    filter_models,
    load_model_state,
    toggle_favorite,
)
from kilo_tui.core.llm.pricing import format_price, format_tokens
from kilo_tui.tui.widgets.status_bar import middle_ellipsis

Filter = Literal["free", "local", "tools"]
SORTS: tuple[SortKey, ...] = ("name", "price", "context")
PROVIDER_WIDTH = 14
FIXED_WIDTH = 32
"""Cells of a row besides the id and provider: marks, flag, price, context, spaces."""
MIN_ID_BESIDE_PROVIDER = 40
"""The provider column is shown only when the id keeps this many cells beside it (the
id names its provider anyway)."""
CHUNK = 60
"""Rows added to the list at a time."""
REFRESH_MAX_AGE = 300.0
"""Seconds a provider's cached model list is trusted before the picker asks again."""


@dataclass(frozen=True)
class Columns:
    """How many cells the id and the provider get in a row of a given width."""

    id: int
    provider: int
    """0: the provider column is left out."""

    @classmethod
    def fit(cls, width: int) -> Columns:
        """The flag, price and context columns always whole; the id takes the rest,
        shortened in the middle, and shares it with the provider when there is room."""
        room = width - FIXED_WIDTH
        if room - PROVIDER_WIDTH - 1 >= MIN_ID_BESIDE_PROVIDER:
            return cls(room - PROVIDER_WIDTH - 1, PROVIDER_WIDTH)
        return cls(max(room, 12), 0)


WIDE = Columns.fit(FIXED_WIDTH + 46 + PROVIDER_WIDTH + 1)
"""Until the list has a size."""


@functools.lru_cache(maxsize=8192)
def model_row(
    model: ModelInfo, *, favourite: bool, current: bool, columns: Columns = WIDE
) -> Content:
    """One picker row: marks, id, provider, badge, price in/out per million, context.

    Cached: a ``Content`` remembers its measured height, so a row the list has shown
    once (in this picker or an earlier one) costs nothing to show again.
    """
    model_id = middle_ellipsis(model.id, columns.id)
    provider = model.provider[: columns.provider].ljust(columns.provider + 1)
    badge, badge_style = _badge(model)
    if model.price_known:
        price = f"{format_price(model.input_price)}/{format_price(model.output_price)}"
    else:
        price = "price unknown"
    return _join(
        ("★" if favourite else " ", "$warning"),
        ("●" if current else " ", "$success"),
        (" ", ""),
        (model_id.ljust(columns.id), "bold" if current else ""),
        (" ", ""),
        (provider if columns.provider else "", "$text-muted"),
        (badge.ljust(7), badge_style),
        (price.rjust(14), "" if model.price_known else "$text-muted"),
        (format_tokens(model.context_window).rjust(7), "$text-muted"),
    )


def _join(*parts: tuple[str, str]) -> Content:
    # Content.assemble does the same, five times slower; this runs for every model.
    spans = []
    start = 0
    for text, style in parts:
        if style:
            spans.append(Span(start, start + len(text), style))
        start += len(text)
    return Content("".join(text for text, _ in parts), spans)


def _badge(model: ModelInfo) -> tuple[str, str]:
    if model.local:
        return ("local", "bold $success")
    if model.free:
        return ("(free)", "bold $success")
    return ("", "")


def _header(title: str) -> Option:
    return Option(Content.styled(title, "bold $text-accent"), disabled=True)


class ModelList(OptionList):
    """An ``OptionList`` that says when it is scrolled near its end, to be fed more rows."""

    @dataclass
    class NearEnd(Message):
        """The list is within a page of its last row."""

        model_list: ModelList
        option_count: int
        """How many rows the list held: a message about an older, shorter list is stale."""

        @property
        def control(self) -> ModelList:
            return self.model_list

    @dataclass
    class Resized(Message):
        """The list's width changed: its rows are laid out again."""

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value >= self.max_scroll_y - self.size.height:
            self.post_message(self.NearEnd(self, self.option_count))

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        if highlighted is not None and highlighted >= self.option_count - self.size.height:
            self.post_message(self.NearEnd(self, self.option_count))


class ProviderFilterModal(ModalScreen[str | None]):
    """Choose the provider to list: returns its name, ``""`` for all, ``None`` to keep."""

    CSS_PATH = "model_picker.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="provider-filter-cancel"),
    ]

    def __init__(self, counts: dict[str, int], current: str | None) -> None:
        super().__init__()
        self.counts = counts
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(f"All providers ({sum(self.counts.values())})")]
        options.extend(Option(f"{name} ({n})", id=name) for name, n in self.counts.items())
        yield OptionList(*options, id="provider-filter-list")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        if self.current in self.counts:
            option_list.highlighted = option_list.get_option_index(self.current)
        else:
            option_list.highlighted = 0

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")

    def action_dismiss_none(self) -> None:
        """Close, keeping the current provider filter."""
        self.dismiss(None)


class ModelPickerScreen(ModalScreen[str | None]):
    """Pick a model: type to filter, ``enter`` to choose, ``escape`` to cancel.

    Args:
        catalog: the model catalog to list (and refresh in the background).
        current: the model in use, marked with ``●``, listed on top and highlighted.
        mode: the mode the choice is for, shown in the title.
    """

    CSS_PATH = "model_picker.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker-cancel"),
        # `f` reaches this binding only when the list has focus: the search box types it.
        Binding("ctrl+f,f", "favourite", "Favourite", id="picker-favourite"),
        Binding("ctrl+g", "toggle_filter('free')", "Free only", id="picker-free"),
        Binding("ctrl+l", "toggle_filter('local')", "Local only", id="picker-local"),
        Binding("ctrl+t", "toggle_filter('tools')", "Tools", id="picker-tools"),
        Binding("ctrl+s", "cycle_sort", "Sort", id="picker-sort"),
        Binding("ctrl+o", "choose_provider", "Provider", id="picker-provider"),
        Binding("down", "move('cursor_down')", show=False, id="picker-down"),
        Binding("up", "move('cursor_up')", show=False, id="picker-up"),
        Binding("pagedown", "move('page_down')", show=False, id="picker-page-down"),
        Binding("pageup", "move('page_up')", show=False, id="picker-page-up"),
    ]

    free = var(False)
    """Only free models."""
    local = var(False)
    """Only models running on this machine."""
    tools = var(False)
    """Only models that support tool calling."""
    provider: var[str | None] = var(None)
    """Only this provider's models (``None``: all)."""
    sort: var[SortKey] = var("name")

    def __init__(self, catalog: Catalog, current: str | None = None, mode: str | None = None):
        super().__init__()
        self.catalog = catalog
        self.current = current
        self.mode = mode
        self._models: list[ModelInfo] = []
        self._usable: frozenset[str] = frozenset()
        """Providers the user can call: their models are listed first."""
        self._matches: list[ModelInfo] = []
        self._pending: list[ModelInfo] = []
        self._starred: frozenset[str] = frozenset()
        self._criteria_shown: tuple[object, ...] | None = None
        self._columns = WIDE

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog"):
            title = "Choose a model" + (f" for {self.mode} mode" if self.mode else "")
            yield Label(title, id="picker-title")
            yield Input(placeholder="Search models (fuzzy)…", id="picker-search")
            yield Static(self._filter_bar(), id="picker-filters")
            yield ModelList(id="picker-list")
            yield Label("", id="picker-status")

    def on_mount(self) -> None:
        self._load_models()
        self.refilter(keep=self.current)
        self.query_one("#picker-search", Input).focus()
        for name in ("free", "local", "tools", "provider", "sort"):
            self.watch(self, name, self._filters_changed, init=False)
        self.call_after_refresh(self._refresh_catalog)

    def _refresh_catalog(self) -> None:
        self.run_worker(self.catalog.refresh(max_age=REFRESH_MAX_AGE), name="refresh-models")

    def _filter_bar(self) -> Content:
        def toggle(name: Filter, label: str) -> str:
            mark = "■" if getattr(self, name) else "□"
            style = "bold $text-success" if getattr(self, name) else "$text-muted"
            return f"[{style} @click=screen.toggle_filter('{name}')]{mark} {label}[/]"

        provider = Content(self.provider or "all").markup
        return Content.from_markup(
            "  ".join((toggle("free", "Free"), toggle("local", "Local"), toggle("tools", "Tools")))
            + f"   [@click=screen.choose_provider]Provider: [b]{provider}[/b] ▾[/]"
            + f"   [@click=screen.cycle_sort]Sort: [b]{self.sort}[/b] ▾[/]"
        )

    # ------------------------------------------------------------ filtering

    @property
    def highlighted_model(self) -> str | None:
        """The id of the highlighted model, if any."""
        option = self.query_one("#picker-list", ModelList).highlighted_option
        return option.id if option else None

    @property
    def shown_models(self) -> list[ModelInfo]:
        """Every model the list shows, top to bottom, including rows not yet added."""
        return list(self._matches)

    def refilter(self, keep: str | None = None, *, force: bool = False) -> None:
        """Rebuild the list from the search text and filters, keeping ``keep`` highlighted.

        Does nothing when neither the models nor the filters changed, unless ``force``.
        """
        query = self.query_one("#picker-search", Input).value
        criteria = (
            id(self._models),
            query,
            self.free,
            self.local,
            self.tools,
            self.provider,
            self.sort,
        )
        if criteria == self._criteria_shown and not force:
            return
        self._criteria_shown = criteria
        matches = filter_models(
            self._models,
            query=query,
            free=self.free,
            local=self.local,
            tools=self.tools,
            provider=self.provider,
            sort=self.sort,
            first=self._usable,
        )
        options = self._sections(matches)
        model_list = self.query_one("#picker-list", ModelList)
        model_list.set_options(options)
        self._highlight(model_list, options, keep)
        self.query_one("#picker-status", Label).update(
            f"{len(matches)} of {len(self._models)} models"
            " · USD per million tokens, in/out · context window"
        )

    def _sections(self, matches: list[ModelInfo]) -> list[Option]:
        """Favourites, then recents (the current model first), then the first chunk."""
        state = load_model_state()
        self._starred = frozenset(state.favorites)
        by_id = {m.id: m for m in matches}
        favourites = [by_id[i] for i in state.favorites if i in by_id]
        recent_ids = dict.fromkeys([self.current or "", *state.recent])
        recent = [by_id[i] for i in recent_ids if i in by_id and i not in self._starred]
        pinned = {m.id for m in (*favourites, *recent)}
        rest = [m for m in matches if m.id not in pinned]
        self._matches = [*favourites, *recent, *rest]
        self._pending = rest[CHUNK:]
        options: list[Option] = []
        for title, models in (("Favourites", favourites), ("Recent", recent)):
            if models:
                options.append(_header(title))
                options.extend(self._option(m) for m in models)
        if pinned and rest:
            options.append(_header("All models"))
        options.extend(self._option(m) for m in rest[:CHUNK])
        return options

    def _option(self, model: ModelInfo) -> Option:
        row = model_row(
            model,
            favourite=model.id in self._starred,
            current=model.id == self.current,
            columns=self._columns,
        )
        return Option(row, id=model.id)

    @on(ModelList.Resized)
    def _fit_rows(self) -> None:
        columns = Columns.fit(self.query_one(ModelList).scrollable_content_region.width)
        if columns != self._columns:
            self._columns = columns
            self.refilter(keep=self.highlighted_model, force=True)

    @on(ModelList.NearEnd)
    def _add_chunk(self, event: ModelList.NearEnd) -> None:
        if self._pending and event.option_count == event.model_list.option_count:
            chunk, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
            event.model_list.add_options(self._option(m) for m in chunk)

    def _highlight(self, model_list: OptionList, options: list[Option], keep: str | None) -> None:
        index = next((i for i, o in enumerate(options) if keep and o.id == keep), None)
        if index is None:
            index = next((i for i, o in enumerate(options) if not o.disabled), None)
        model_list.highlighted = index

    @on(Input.Changed, "#picker-search")
    def _filters_changed(self) -> None:
        self.query_one("#picker-filters", Static).update(self._filter_bar())
        self.refilter(keep=self.highlighted_model)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "refresh-models" or event.state != WorkerState.SUCCESS:
            return
        errors = cast(list[str], event.worker.result or [])
        self.query_one("#picker-status", Label).tooltip = "\n".join(errors) or None
        if self._load_models():
            self.refilter(keep=self.highlighted_model)

    def _load_models(self) -> bool:
        """Read the catalog; True when its models changed since the last read."""
        models = self.catalog.models()
        if models == self._models:
            return False
        self._models = models
        self._usable = self.catalog.usable_providers()
        return True

    # ------------------------------------------------------------ actions

    @on(Input.Submitted, "#picker-search")
    def _search_submitted(self) -> None:
        if model_id := self.highlighted_model:
            self.dismiss(model_id)

    @on(OptionList.OptionSelected, "#picker-list")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)

    def action_favourite(self) -> None:
        """Star or unstar the highlighted model (persisted; favourites list first)."""
        if model_id := self.highlighted_model:
            starred = toggle_favorite(model_id)
            self.notify(f"{'★ Favourite' if starred else 'Unstarred'}: {model_id}", timeout=2)
            self.refilter(keep=model_id, force=True)

    def action_toggle_filter(self, name: Filter) -> None:
        """Flip the free / local / tools filter."""
        setattr(self, name, not getattr(self, name))

    def action_cycle_sort(self) -> None:
        """Name → price → context → name."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]

    def action_choose_provider(self) -> None:
        """Pick the provider to list, from those in the catalog."""
        counts: dict[str, int] = {}
        for model in sorted(self._models, key=lambda m: m.provider):
            counts[model.provider] = counts.get(model.provider, 0) + 1

        def chosen(provider: str | None) -> None:
            if provider is not None:
                self.provider = provider or None

        self.app.push_screen(ProviderFilterModal(counts, self.provider), chosen)

    def action_move(self, action: str) -> None:
        """Move the list's highlight while typing in the search box."""
        getattr(self.query_one("#picker-list", ModelList), f"action_{action}")()
