"""Text of the parsed tree: cleaning, flattening an element to lines, images and players, and
resolving links. The bottom of the helpers: every other helper module may import it.
"""

from __future__ import annotations

import re
from typing import NamedTuple, TypeAlias
from urllib.parse import urljoin

from lxml import etree

Element: TypeAlias = etree._Element

# Characters that print nothing: C0 and C1 controls other than whitespace, format characters
# (bidi embeddings, overrides and isolates, zero-width spaces and joiners, the BOM, the soft
# hyphen, invisible operators, tags) and noncharacters. A page holds them from garbage or to
# mislead (U+202E turns a title around, U+200B splits a word a search would find); they are
# removed from every text field, and from the page before it is parsed, so that no label
# (`来源：`, `责任编辑`) is hidden by one. tests/test_hostile.py checks the class against Unicode's.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\U000110bd"
    "\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def strip_invisible(text: str) -> str:
    """`text` without the characters that print nothing (a scan, and no copy, when it has none)."""
    return _INVISIBLE.sub("", text) if _INVISIBLE.search(text) else text


def clean_text(text: str) -> str:
    """Trim, collapse every run of whitespace (U+3000 and nbsp included) to one space, and remove
    the characters that print nothing."""
    text = " ".join(text.split())  # str.split() knows Unicode whitespace, and is fast
    if not text.isprintable():
        text = " ".join(_INVISIBLE.sub("", text).split())
    return text


# Tags after which a browser starts a new line: they end one text line of a paragraph walk.
_BLOCK_TAGS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tbody", "thead", "tr", "td", "th", "section", "article", "blockquote", "center", "figure",
    "figcaption", "pre", "hr", "header", "footer", "form",
})  # fmt: skip
_MEDIA_TAGS = frozenset({"video", "audio", "iframe", "embed", "object"})
_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "select", "button", "textarea", "head", "title"}
)
TEXT, IMAGE, MEDIA = "text", "image", "media"
_BARE_FILE_NAME = re.compile(r"^\w[\w.-]*$")


class Unit(NamedTuple):
    """One piece of a flattened element: a line of text, an image or a media player."""

    kind: str  # text | image | media
    text: str
    src: str


_unit = tuple.__new__  # builds a Unit without the Python-level __new__: a body has dozens


def element_units(element: Element) -> list[Unit]:
    """The element flattened to lines of text (split at block tags and <br>), images and media.

    Tag names are lower case: the tree comes from lxml's HTML parser.
    """
    units: list[Unit] = []
    buffer: list[str] = []

    def end_line() -> None:
        text = clean_text("".join(buffer))
        buffer.clear()
        if text:
            units.append(_unit(Unit, (TEXT, text, "")))

    def walk(parent: Element) -> None:
        for child in parent:
            tag = child.tag
            if type(tag) is str:
                if tag in _BLOCK_TAGS:
                    if buffer:
                        end_line()
                    if len(child):
                        if child.text:
                            buffer.append(child.text)
                        walk(child)
                        if buffer:
                            end_line()
                    elif child.text:  # a leaf paragraph, the common case
                        text = clean_text(child.text)
                        if text:
                            units.append(_unit(Unit, (TEXT, text, "")))
                elif tag == "br":
                    if buffer:
                        end_line()
                elif tag == "img":
                    src = (child.get("src") or child.get("data-src") or "").strip()
                    if src:
                        if buffer:
                            end_line()
                        units.append(_unit(Unit, (IMAGE, "", src)))
                elif tag in _MEDIA_TAGS:
                    if buffer:
                        end_line()
                    units.append(_unit(Unit, (MEDIA, "", (child.get("src") or "").strip())))
                elif tag not in _SKIPPED_TAGS:
                    if child.text:
                        buffer.append(child.text)
                    if len(child):
                        walk(child)
            tail = child.tail  # comments and processing instructions only contribute their tail
            if tail and (buffer or not tail.isspace()):
                buffer.append(tail)

    if type(element.tag) is not str or element.tag in _SKIPPED_TAGS:
        return units
    if element.text:
        buffer.append(element.text)
    walk(element)
    if buffer:
        end_line()
    return units


def absolute_url(page_url: str, href: str) -> str:
    """`href` resolved against the page URL. The forms these pages use (absolute, root-relative,
    a bare file name) are joined directly: urljoin costs more than the rest of a link's handling."""
    if href.startswith(("http://", "https://")):
        return href
    if "?" not in page_url and "#" not in page_url and not href.startswith("//"):
        scheme_end = page_url.find("://")
        if href.startswith("/") and scheme_end > 0:
            host_end = page_url.find("/", scheme_end + 3)
            return (page_url if host_end < 0 else page_url[:host_end]) + href
        if _BARE_FILE_NAME.match(href) and page_url.count("/") > 2:
            return page_url[: page_url.rfind("/") + 1] + href
    try:
        return urljoin(page_url, href)
    except ValueError:  # a malformed link (`http://[broken/x.jpg`) is kept as written
        return href


def text_content(element: Element) -> str:
    """All text inside the element, as one string (no line structure)."""
    return "".join(element.itertext())


def element_lines(element: Element) -> list[str]:
    return [u.text for u in element_units(element) if u.kind == TEXT]


def element_text(element: Element) -> str:
    """The element's visible text, lines separated by one space."""
    return " ".join(element_lines(element))
