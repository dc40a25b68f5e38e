"""A web page as readable Markdown: its main content, without menus, scripts or forms.

A model reading documentation needs the article, not the site's navigation, cookie
banner and footer links repeated on every page. Dedicated extractors (trafilatura)
pull in about 70 MB of dependencies (lxml, dateparser, babel); the page structure gets
most of the way for a fraction of that: the ``<main>`` / ``<article>`` element (or
``role="main"``) when there is one, and without the elements that are never content
(``<nav>``, ``<aside>``, ``<script>``, ``<form>``, hidden elements, and the page-level
``<header>`` / ``<footer>``). html2text turns what is left into Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

_NEVER_CONTENT = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "canvas", "nav", "aside",
        "form", "button", "select", "iframe", "object", "embed", "dialog", "head",
    }
)  # fmt: skip
_PAGE_CHROME = frozenset({"header", "footer"})
"""Dropped outside the main content; inside an article they hold its title and byline."""
_NEVER_CONTENT_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "dialog"}
)
_MAIN = frozenset({"main", "article"})
_VOID = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "param", "source", "track", "wbr",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Readable:
    title: str
    markdown: str


def html_to_markdown(html: str, base_url: str = "") -> Readable:
    """The page's title and main content as Markdown (links made absolute against
    ``base_url``). Falls back to the whole page when nothing is left after cleaning."""
    parser = _MainContent()
    parser.feed(html)
    parser.close()
    for candidate in (parser.main_html(), parser.kept_html(), html):
        markdown = _convert(candidate, base_url)
        if markdown:
            return Readable(unescape(parser.title), markdown)
    return Readable(unescape(parser.title), "")


def _convert(html: str, base_url: str) -> str:
    import html2text

    converter = html2text.HTML2Text(baseurl=base_url)
    converter.body_width = 0
    converter.ignore_images = True
    converter.unicode_snob = True
    return converter.handle(html).strip()


class _MainContent(HTMLParser):
    """Re-emits the page without what is never content, and keeps the main elements'
    part apart. Dropping an element means skipping until its matching end tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.title = ""
        self._kept: list[str] = []
        self._main: list[str] = []
        self._skip: tuple[str, int] | None = None  # (tag, nesting depth)
        self._inside_main: tuple[str, int] | None = None
        self._in_title = False

    def main_html(self) -> str:
        return "".join(self._main)

    def kept_html(self) -> str:
        return "".join(self._kept)

    # ---------------------------------------------------------------- tokens

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self.title and self._skip in (None, ("head", 1)):
            self._in_title = True  # the page's title, not an icon's <svg><title>
        if tag == "body" and self._skip is not None and self._skip[0] == "head":
            self._skip = None  # </head> is optional: <body> ends it
        if self._skip is not None:
            if tag == self._skip[0]:
                self._skip = (tag, self._skip[1] + 1)
            return
        if tag not in _VOID and self._drops(tag, dict(attrs)):
            self._skip = (tag, 1)
            return
        if self._inside_main is None and (tag in _MAIN or dict(attrs).get("role") == "main"):
            self._inside_main = (tag, 0)
        if self._inside_main is not None and tag == self._inside_main[0]:
            self._inside_main = (tag, self._inside_main[1] + 1)
        self._emit(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip is None:
            self._emit(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if self._skip is not None:
            name, depth = self._skip
            if tag == name:
                self._skip = None if depth == 1 else (name, depth - 1)
            return
        self._emit(f"</{tag}>")
        if self._inside_main is not None and tag == self._inside_main[0]:
            name, depth = self._inside_main
            self._inside_main = None if depth == 1 else (name, depth - 1)
            if self._inside_main is None:
                self._main.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = " ".join((self.title + " " + data).split())
        elif self._skip is None:
            self._emit(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")

    # ---------------------------------------------------------------- helpers

    def _drops(self, tag: str, attrs: dict[str, str | None]) -> bool:
        if tag in _NEVER_CONTENT or "hidden" in attrs or attrs.get("aria-hidden") == "true":
            return True
        if (attrs.get("role") or "").strip() in _NEVER_CONTENT_ROLES:
            return True
        style = (attrs.get("style") or "").replace(" ", "").lower()
        if "display:none" in style:
            return True
        return tag in _PAGE_CHROME and self._inside_main is None

    def _emit(self, text: str) -> None:
        self._kept.append(text)
        if self._inside_main is not None:
            self._main.append(text)
