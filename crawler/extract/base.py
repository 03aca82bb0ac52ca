"""The parsed page every parser version reads, and the base class of all layout parsers.

A parser version is a subclass that names its selectors as class attributes and overrides only
the field methods its layout draws differently. `matches(page)` says whether a page shows the
layout; versions are tried in the order of `crawler.extract.parsers.VERSIONS`.

Lookups start from the anchors the enorth CMS leaves in every page (`<!--enorth cms block start
[ name="v5.source" ]-->` and friends) and from the body, and fall back to searching the whole
page by label: each walk of the tree costs about as much as a fifth of the parse.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Generic, TypeVar, overload

from lxml import etree

from crawler.extract.utils import (
    Body,
    Byline,
    Element,
    absolute_url,
    clean_text,
    element_lines,
    element_text,
    element_units,
    has_editor_label,
    has_keywords_label,
    has_position_label,
    has_source_label,
    parse_author_line,
    parse_breadcrumbs,
    parse_editor,
    parse_keywords,
    parse_source_line,
    parse_timestamp,
    segment_body,
    strip_timestamps,
    text_content,
)
from crawler.items import PAGE_FIELDS

_CMS_BLOCK = re.compile(r'enorth cms block (start|end) \[ name="([^"]+)"')
_PAGE_NUMBER = re.compile(r"^\[?\s*(\d{1,3})\s*\]?$")
_TRAILER_DEPTH = 3
_TEXT_CONTAINERS = frozenset({"div", "td", "article", "section", "main", "body"})
# `<title>` is `T_<channel>_长城网`: the suffix goes when the title must come from there.
_SITE_SUFFIX = re.compile(r"(?:\s*[_|-]\s*[^_|-]{1,20})?\s*[_|-]\s*长城网.*$")
T = TypeVar("T")


class lazy_property(Generic[T]):
    """`functools.cached_property` without its lock: Python 3.11 takes a lock on every first
    access, a measurable share of a page's time here. Pages are read by one thread."""

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name = function.__name__
        self.__doc__ = function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> lazy_property[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | lazy_property[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value


@cache
def xpath(expression: str) -> etree.XPath:
    """A compiled XPath, compiled once per expression."""
    return etree.XPath(expression)


@dataclass(frozen=True)
class ElementSelector:
    """Selects the first `tag` element with one of `ids` or one of `classes` (a class token).

    A walk over one tag name: on these pages about three times cheaper than the same XPath.
    """

    tag: str
    classes: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()

    def first(self, root: Element) -> Element | None:
        for element in root.iter(self.tag):
            if element.get("id") in self.ids:
                return element
            classes = element.get("class")
            if classes and not self.classes.isdisjoint(classes.split()):
                return element
        return None


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


def _without_scheme(url: str) -> str:
    return url.split("://", 1)[-1]


def text_owner(text: Any) -> Element | None:
    """The element a text node found by XPath belongs to (a tail belongs to the parent's parent)."""
    owner = text.getparent()
    if owner is not None and text.is_tail:
        owner = owner.getparent()
    return owner


def has_trailer_label(text: str) -> bool:
    return has_keywords_label(text) or has_editor_label(text)


def labelled_lines(elements: list[Element]) -> list[str]:
    return [
        line for element in elements for line in element_lines(element) if has_trailer_label(line)
    ]


def labelled_elements(
    context: Element, axis: str, needles: tuple[str, ...], test: Callable[[str], bool]
) -> list[Element]:
    """Elements owning a text node on `axis` of `context` (e.g. `//body//`) that contains one
    of the needles and passes `test`, in page order."""
    expression = axis + "text()[" + " or ".join(f"contains(., '{n}')" for n in needles) + "]"
    owners: list[Element] = []
    for text in xpath(expression)(context):
        if test(text):
            owner = text_owner(text)
            if owner is not None and owner not in owners:
                owners.append(owner)
    return owners


class Page:
    """A parsed article page: the lxml tree, its URL, and lookups the parser versions share."""

    def __init__(self, root: Element, url: str) -> None:
        self.root = root
        self.url = url

    @lazy_property
    def cms_blocks(self) -> dict[str, etree._Comment]:
        """Start comment of each enorth CMS block (`v5.position`, `v5.source`, `v5.pages`, ...)."""
        blocks: dict[str, etree._Comment] = {}
        for comment in self.root.iter(etree.Comment):
            text = comment.text
            if text and "block start" in text:
                match = _CMS_BLOCK.search(text)
                if match:
                    blocks.setdefault(match.group(2), comment)
        return blocks

    def _block_siblings(self, name: str) -> list[Any] | None:
        start = self.cms_blocks.get(name)
        if start is None:
            return None
        nodes: list[Any] = []
        for sibling in start.itersiblings():
            if isinstance(sibling, etree._Comment):
                match = _CMS_BLOCK.search(sibling.text or "")
                if match and match.group(2) == name:
                    break
            nodes.append(sibling)
        return nodes

    def block_text(self, name: str) -> str | None:
        """The visible text inside a CMS block (None when the page has no such block)."""
        nodes = self._block_siblings(name)
        if nodes is None:
            return None
        parts = [self.cms_blocks[name].tail or ""]
        for node in nodes:
            if type(node.tag) is str:
                parts.append(text_content(node))
            parts.append(node.tail or "")
        return clean_text("".join(parts))

    @lazy_property
    def _source_line_and_lines(self) -> tuple[Element | None, list[str]]:
        start = self.cms_blocks.get("v5.source")
        if start is not None:
            line = start.getparent()
            if line is not None:
                lines = element_lines(line)
                if lines and has_source_label(lines[0]):
                    return line, lines
        found = labelled_elements(self.root, "//body//", ("源",), has_source_label)
        return (found[0], element_lines(found[0])) if found else (None, [])

    @property
    def source_line(self) -> Element | None:
        """The element carrying the `来源：` label: where the `v5.source` block sits, else the
        first element with that label."""
        return self._source_line_and_lines[0]

    @property
    def source_lines(self) -> list[str]:
        """The source line's text, split where the page breaks it (`<br>` before the time)."""
        return self._source_line_and_lines[1]

    @lazy_property
    def source_line_timestamps(self) -> list[str | None]:
        return [parse_timestamp(line) for line in self.source_lines]

    @lazy_property
    def time_below_source(self) -> bool:
        """`来源：X  authors` on one line and the time alone on the next (the main template)."""
        lines, times = self.source_lines, self.source_line_timestamps
        return (
            len(lines) >= 2
            and has_source_label(lines[0])
            and times[0] is None
            and times[1] is not None
            and not strip_timestamps(lines[1])
        )

    @lazy_property
    def position_element(self) -> Element | None:
        """The element holding the breadcrumb: the parent of the `v5.position` block, else a
        `当前位置` label's owner."""
        start = self.cms_blocks.get("v5.position")
        if start is not None:
            return start.getparent()
        found = labelled_elements(self.root, "//body//", ("位置",), has_position_label)
        return found[0] if found else None

    @lazy_property
    def position_text(self) -> str:
        """The breadcrumb container's text, with the label printed just before a bare CMS span."""
        element = self.position_element
        if element is None:
            return ""
        text = text_content(element)
        parent = element.getparent()
        if element.tag == "span" and parent is not None:
            previous = element.getprevious()
            before = (previous.tail if previous is not None else parent.text) or ""
            if has_position_label(before):
                return before + text
        return text

    @lazy_property
    def page_list(self) -> tuple[list[str], int]:
        """(URLs of all pages of the article in order, index of this page) from `v5.pages`.

        The current page is the number that is not a link; the others are read from the links,
        never generated (page 2 may be `_01` or `_02`).
        """
        linked: dict[int, str] = {}
        for node in self._block_siblings("v5.pages") or []:
            if not isinstance(node.tag, str):
                continue
            for anchor in node.iter("a"):
                match = _PAGE_NUMBER.match(clean_text(text_content(anchor)))
                href = (anchor.get("href") or "").strip()
                if match and href and not href.lower().startswith("javascript"):
                    linked.setdefault(int(match.group(1)), absolute_url(self.url, href))
        if not linked:
            return [self.url], 0
        here = _without_scheme(self.url)  # an https page may link its pages as http, or back
        current = next((n for n, u in linked.items() if _without_scheme(u) == here), None)
        if current is None:
            current = min(set(range(1, max(linked) + 2)) - set(linked))
        linked[current] = self.url
        return [linked[n] for n in sorted(linked)], sorted(linked).index(current)

    @lazy_property
    def title_lines(self) -> list[str]:
        """The lines of the first non-empty h1 (a title may be broken with `<br>`); [] if none."""
        for h1 in self.root.iter("h1"):
            lines = element_lines(h1)
            if lines:
                return lines
        return []

    @lazy_property
    def head_title(self) -> str:
        title = self.root.find("head/title")
        return clean_text(text_content(title)) if title is not None else ""


class ArticleParser:
    """Base of every layout version: generic field methods driven by named selectors."""

    name: ClassVar[str] = ""
    _body_selector: ClassVar[ElementSelector] = ElementSelector(
        "div", classes=frozenset({"text"}), ids=frozenset({"zoom"})
    )
    _source_block: ClassVar[str] = "v5.source"
    _has_breadcrumbs: ClassVar[bool] = True

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []

    @classmethod
    def matches(cls, page: Page) -> bool:
        raise NotImplementedError

    def problem(self, field: str, reason: str) -> None:
        self.problems.append(f"{field}: {reason}")

    # ------------------------------------------------------------ header

    def title(self) -> str:
        if self.page.title_lines:
            return "".join(self.page.title_lines)  # <br> between title lines: no space
        title = _SITE_SUFFIX.sub("", self.page.head_title).strip()
        self.problem(
            "title", "no h1 on page, read from <title>" if title else "no h1 and no <title> on page"
        )
        return title

    @lazy_property
    def source_line_text(self) -> str:
        return " ".join(self.page.source_lines)

    def byline(self) -> Byline:
        if not has_source_label(self.source_line_text):
            self.problem("source", "no 来源 line on page")
            return Byline(None, [])
        return parse_source_line(self.source_line_text, self.page.block_text(self._source_block))

    def timestamp(self) -> str | None:
        timestamp = next((t for t in self.page.source_line_timestamps if t), None)
        if timestamp is None:
            self.problem("timestamp", "no date on page")
        return timestamp

    @lazy_property
    def trailer_lines(self) -> list[str]:
        """Lines carrying the labels printed after the body (`关键词：`, `责任编辑：`): from the
        elements following the body (or following its ancestors, up to `_TRAILER_DEPTH` levels),
        else from anywhere on the page."""
        element = self.body_element
        for _ in range(_TRAILER_DEPTH):
            if element is None:
                break
            found = [
                sibling
                for sibling in element.itersiblings()
                if type(sibling.tag) is str and has_trailer_label(text_content(sibling))
            ]
            if found:
                return labelled_lines(found)
            element = element.getparent()
        return labelled_lines(
            labelled_elements(self.page.root, "//body//", ("键", "编辑"), has_trailer_label)
        )

    def editor(self) -> str | None:
        line = next((line for line in self.trailer_lines if has_editor_label(line)), None)
        return parse_editor(line) if line else None

    def keywords(self) -> list[str]:
        line = next((line for line in self.trailer_lines if has_keywords_label(line)), None)
        return parse_keywords(line) if line else []

    def breadcrumbs(self) -> list[str]:
        if not self._has_breadcrumbs:
            return []
        crumbs = parse_breadcrumbs(self.page.position_text)
        if not crumbs:
            self.problem("breadcrumbs", "no breadcrumb on page")
        return crumbs

    # ------------------------------------------------------------ body

    @lazy_property
    def body_element(self) -> Element | None:
        """The body as the layout marks it; else the densest text block (and a problem noted)."""
        element = self._body_selector.first(self.page.root)
        if element is None:
            element = densest_element(self.page.root)
            if element is not None:
                self.problem(
                    "body", "no body element where the layout has it, read the densest text block"
                )
        return element

    def body(self, title: str) -> Body:
        if self.body_element is None:
            self.problem("body", "no article body element on page")
            return Body()
        first_page = self.page.page_list[1] == 0
        body = segment_body(element_units(self.body_element), title, self.page.url, first_page)
        if not (body.paragraphs or body.captions or body.images):
            self.problem("body", "the article body is empty")
        return body

    # ------------------------------------------------------------ all fields

    def fields(self) -> dict[str, Any]:
        """Every page field (`crawler.items.PAGE_FIELDS`), in that order."""
        title = self.title()
        byline = self.byline()
        body = self.body(title)
        read = {
            "title": title,
            "subtitles": body.subtitles,
            "source": byline.source,
            "authors": byline.authors,
            "timestamp": self.timestamp(),
            "body": body.text,
            "captions": body.captions,
            "images": body.images,
            "editor": self.editor(),
            "keywords": self.keywords(),
            "breadcrumbs": self.breadcrumbs(),
        }
        return {name: read[name] for name in PAGE_FIELDS}


def author_line_after(element: Element | None) -> list[str]:
    """Authors from an `作者：` line following the source line (the banner layout)."""
    if element is None:
        return []
    for sibling in element.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        text = element_text(sibling)
        if text:
            return parse_author_line(text) if text.startswith("作者") else []
    return []
