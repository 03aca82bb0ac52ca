"""The generic parser for pages no layout version recognises.

It reads what any news page shows: the densest text block as the body, the `h1` (else `<title>`)
as the title, the first date on the page, and the 长城网 labels wherever they are. Its output is
marked `parser: "fallback"`, so a layout change shows up as a rising fallback count.
"""

from __future__ import annotations

from collections import defaultdict

from crawler.extract.base import ArticleParser, Page, lazy_property
from crawler.extract.utils import (
    Element,
    element_text,
    parse_timestamp,
    text_content,
)

_TEXT_CONTAINERS = frozenset({"div", "td", "article", "section", "main", "body"})
_INLINE_TAGS = frozenset({"span", "a", "em", "strong", "b", "i", "font", "label", "small"})


def densest_element(root: Element) -> Element | None:
    """The container with the most paragraph text that is not link text."""
    scores: dict[Element, int] = defaultdict(int)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        parent = element.getparent()
        if element.tag == "p" and parent is not None:
            text = len(text_content(element).strip())
            links = sum(len(text_content(a).strip()) for a in element.iter("a"))
            scores[parent] += max(0, text - links)
        elif element.tag in _TEXT_CONTAINERS:
            own = len((element.text or "").strip()) + sum(
                len((child.tail or "").strip()) for child in element
            )
            scores[element] += own
    if not scores:
        return None
    best = max(scores.items(), key=lambda item: item[1])
    return best[0] if best[1] > 0 else None


class FallbackParser(ArticleParser):
    """Text-density body, `h1`/`<title>` title, dates found anywhere in the page."""

    name = "fallback"

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
