"""The generic parser for pages no layout version recognises.

It reads what any news page shows: the densest text block as the body, the `h1` (else `<title>`)
as the title, the first date on the page, and the 长城网 labels wherever they are. Its output is
marked `parser: "fallback"`, so a layout change shows up as a rising fallback count.
"""

from __future__ import annotations

from crawler.extract.base import ArticleParser
from crawler.extract.dates import parse_timestamp
from crawler.extract.page import Page, densest_element, lazy_property
from crawler.extract.text import Element, element_text

_INLINE_TAGS = frozenset({"span", "a", "em", "strong", "b", "i", "font", "label", "small"})


class FallbackParser(ArticleParser):
    """Text-density body, `h1`/`<title>` title, dates found anywhere in the page."""

    family = "fallback"  # unversioned: it reads no one layout, so no layout change replaces it

    @classmethod
    def matches(cls, page: Page) -> bool:
        return True

    @lazy_property
    def source_line_text(self) -> str:
        """The whole header line around the `来源：` label: on an unknown layout the source,
        authors and time may sit in sibling spans of one block."""
        element = self.page.source_line
        while element is not None and element.tag in _INLINE_TAGS:
            parent = element.getparent()
            if parent is None:
                break
            element = parent
        return element_text(element) if element is not None else ""

    def timestamp(self) -> str | None:
        timestamp = parse_timestamp(self.source_line_text)
        if timestamp is None:
            body = self.page.root.find("body")
            timestamp = parse_timestamp(element_text(body if body is not None else self.page.root))
        if timestamp is None:
            self.problem("timestamp", "no date on page")
        return timestamp

    @lazy_property
    def body_element(self) -> Element | None:
        return densest_element(self.page.root)
