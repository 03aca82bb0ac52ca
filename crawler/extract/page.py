"""The parsed article page every parser version reads, and the tree lookups it is built from.

Lookups start from the anchors the enorth CMS leaves in every page (`<!--enorth cms block start
[ name="v5.source" ]-->` and friends) and from the body, and fall back to searching the whole
page by label: each walk of the tree costs about as much as a fifth of the parse.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Generic, TypeVar, overload

from lxml import etree

from crawler.extract.breadcrumbs import has_position_label
from crawler.extract.bylines import has_source_label
from crawler.extract.dates import parse_timestamp, starts_with_timestamp, strip_timestamps
from crawler.extract.text import Element, absolute_url, clean_text, element_lines, text_content

_CMS_BLOCK = re.compile(r'enorth cms block (start|end) \[ name="([^"]+)"')
_PAGE_NUMBER = re.compile(r"^\[?\s*(\d{1,3})\s*\]?$")
_PAGER_WORDS = frozenset({"上一页", "下一页", "首页", "尾页", "末页"})
# An article page's file name: `<id>.shtml`, further pages `<id>_<n>.shtml`.
_ARTICLE_FILE = re.compile(r"^(\d{6,})(?:_(\d{1,3}))?\.s?html?$")
_TEXT_CONTAINERS = frozenset({"div", "td", "article", "section", "main", "body"})
T = TypeVar("T")


class SourceLineForm(Enum):
    """How the header prints the time against the `来源：` line: the first thing that tells the
    layout families apart. A page has one form, or none (no source line, no time on it)."""

    TIME_BELOW = "time below"  # `来源：X  authors`, the time alone on the next line
    TIME_FIRST = "time first"  # `2017-10-22 11:56:46 来源：X` on one line
    ONE_LINE = "one line"  # `来源：X ... 2018-01-24 16:32:00` on one line


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


_DETAIL_MESSAGE = ElementSelector("div", classes=frozenset({"detailMessage"}))
_MENTIONS_DETAIL_MESSAGE = "boolean(//div/@class[contains(., 'detailMessage')])"


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


def _article_file(url: str) -> tuple[str, str, int] | None:
    """(directory path without scheme and host, article id, page key) of an article page URL;
    the key orders the pages: -1 for `<id>.shtml`, n for `<id>_<n>.shtml`."""
    path = _without_scheme(url.split("?", 1)[0].split("#", 1)[0])
    directory, _, name = path.partition("/")[2].rpartition("/")
    match = _ARTICLE_FILE.match(name)
    if match is None:
        return None
    return directory, match.group(1), int(match.group(2)) if match.group(2) else -1


def text_owner(text: Any) -> Element | None:
    """The element a text node found by XPath belongs to (a tail belongs to the parent's parent)."""
    owner = text.getparent()
    if owner is not None and text.is_tail:
        owner = owner.getparent()
    return owner


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
    def source_line_form(self) -> SourceLineForm | None:
        if self.time_below_source:
            return SourceLineForm.TIME_BELOW
        lines = self.source_lines
        if not lines or not has_source_label(lines[0]):
            return None
        if starts_with_timestamp(lines[0]):
            return SourceLineForm.TIME_FIRST
        if self.source_line_timestamps[0] is not None:
            return SourceLineForm.ONE_LINE
        return None

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
        never generated (page 2 may be `_01` or `_02`). A page without that block reads its pager
        links wherever they are (`pager_pages`).
        """
        block = self._block_siblings("v5.pages")
        if block is None:
            return self.pager_pages()
        linked: dict[int, str] = {}
        for node in block:
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

    def pager_pages(self) -> tuple[list[str], int]:
        """(URLs of all pages of the article in order, index of this page) from the pager links
        of a page without a `v5.pages` block: links to this article's pages (`<id>.shtml`,
        `<id>_<n>.shtml`, same path) whose text is a page number or `上一页`/`下一页`, in the
        order of their file names (`_<n>` counts up), this page included. A pager that shows only
        `下一页` gives this page and the next."""
        here = _article_file(self.url)
        if here is None:
            return [self.url], 0
        pages = {here[2]: self.url}
        for anchor in self.root.iter("a"):
            href = (anchor.get("href") or "").strip()
            if not href or href.startswith("#") or href.lower().startswith("javascript"):
                continue
            label = clean_text(text_content(anchor))
            if label not in _PAGER_WORDS and _PAGE_NUMBER.match(label) is None:
                continue
            url = absolute_url(self.url, href)
            linked = _article_file(url)
            if linked is not None and linked[:2] == here[:2]:
                pages.setdefault(linked[2], url)
        keys = sorted(pages)
        return [pages[key] for key in keys], keys.index(here[2])

    @lazy_property
    def detail_message(self) -> Element | None:
        """`div.detailMessage`, the body of the 2026 template (site notes, section 1). Every
        version asks (they are exclusive): an XPath that builds no element answers first for the
        pages without one, at half the cost of walking the divs."""
        if not xpath(_MENTIONS_DETAIL_MESSAGE)(self.root):
            return None
        return _DETAIL_MESSAGE.first(self.root)

    @lazy_property
    def title_lines(self) -> list[str]:
        """The lines of the first non-empty h1 (a title may be broken with `<br>`); [] if none."""
        for h1 in self.root.iter("h1"):
            lines = element_lines(h1)
            if lines:
                return lines
        return []

    @lazy_property
    def enorth_cms(self) -> bool:
        """The page comes out of the enorth CMS, as this portal's pages do: it carries the CMS's
        block or page comments (`<!--enorth cms block start [ name="v5.source" ]-->`)."""
        if self.cms_blocks:
            return True
        return any(
            (comment.text or "").lstrip().startswith("enorth cms")
            for comment in self.root.iter(etree.Comment)
        )

    @lazy_property
    def og_title(self) -> str:
        for meta in self.root.iterfind("head/meta"):
            if meta.get("property") == "og:title":
                return clean_text(meta.get("content") or "")
        return ""

    @lazy_property
    def head_title(self) -> str:
        title = self.root.find("head/title")
        return clean_text(text_content(title)) if title is not None else ""


def elements_between(first: Element, last: Element) -> list[Element]:
    """The elements after `first` and before `last` in page order, as whole subtrees (none when
    one holds the other): what a page prints between its title and its body."""
    if last in first.iterancestors() or first in last.iterancestors():
        return []
    holds_last = {last, *last.iterancestors()}
    found: list[Element] = []
    node: Element | None = first
    while node is not None and node not in holds_last:
        for sibling in node.itersiblings():
            if sibling in holds_last:
                return found
            if type(sibling.tag) is str:
                found.append(sibling)
        node = node.getparent()
    return found


def elements_after(element: Element, depth: int) -> list[Element]:
    """The elements following `element`, its parent, ... up to `depth` levels: nearest first."""
    found: list[Element] = []
    node: Element | None = element
    for _ in range(depth):
        if node is None:
            break
        found.extend(s for s in node.itersiblings() if type(s.tag) is str)
        node = node.getparent()
    return found
