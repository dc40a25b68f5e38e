"""Main-content extraction (kilo_tui/core/readable.py) on the page shapes the web has."""

from __future__ import annotations

from kilo_tui.core.readable import html_to_markdown


def test_a_page_whose_head_is_never_closed_still_has_content_and_title() -> None:
    page = (
        "<html><head><title>Release notes</title><meta charset=utf-8>"
        "<body><nav><a href=/>Home menu</a></nav><p>Version 2 is out.</p></body></html>"
    )
    readable = html_to_markdown(page)
    assert readable.title == "Release notes"
    assert readable.markdown == "Version 2 is out."


def test_icon_titles_do_not_become_the_page_title() -> None:
    page = (
        "<title>Docs</title><body><button><svg><title>Close menu</title></svg></button>"
        "<main><p>Body text.</p><svg><title>Chart</title></svg></main></body>"
    )
    readable = html_to_markdown(page)
    assert readable.title == "Docs"
    assert readable.markdown == "Body text."


def test_every_article_of_a_listing_is_kept_and_hidden_parts_are_not() -> None:
    page = (
        "<body><div class=sidebar role=complementary>Tags cloud</div>"
        "<article><h2>First post</h2><p>One.</p></article>"
        "<div style='display: none'>Tracking pixel text</div>"
        "<article><h2>Second post</h2><p hidden>Spoiler</p><p>Two.</p></article></body>"
    )
    markdown = html_to_markdown(page).markdown
    assert markdown == "## First post\n\nOne.\n\n## Second post\n\nTwo."


def test_a_page_without_main_keeps_its_body_without_chrome() -> None:
    page = (
        "<body><header><h1>Site name</h1></header><div><h1>Plain page</h1>"
        "<p>Text &amp; more</p></div><footer>Imprint</footer></body>"
    )
    assert html_to_markdown(page).markdown == "# Plain page\n\nText & more"
