"""The portal's 2026 template on *.hebccw.cn (site notes, 1-2): `h1` + `div.detailMessage`.

Only the title (`h1`) and the body (`div.detailMessage`) are known for sure. The rest is read
from what the page shows, in the forms it plausibly takes, and left empty, with a problem, where
the page does not say: the info line between the title and the body (time, source and authors in
any order, in spans or not), the editor line in or after the body (`（编辑：X）`, `【责任编辑：X】`),
`关键词：`/`标签：`, a trail before the title (a label or none), captions the markup marks, and
pager links (`Page.pager_pages`).
"""

from __future__ import annotations

import re

from crawler.extract.base import ArticleParser
from crawler.extract.body import (
    CAPTION,
    Body,
    has_photo_credit,
    is_pager_line,
    is_placeholder,
    segment_body,
)
from crawler.extract.breadcrumbs import has_trail_label, parse_trail
from crawler.extract.bylines import (
    Byline,
    InfoLine,
    credit_segments,
    parse_editor_line,
    parse_info_line,
    parse_keywords_line,
)
from crawler.extract.page import Page, elements_after, elements_between, lazy_property
from crawler.extract.text import (
    IMAGE,
    TEXT,
    Element,
    Unit,
    clean_text,
    element_lines,
    element_units,
    text_content,
)

_INFO_MAX_CHARS = 200  # an info line is short: a longer block under the title is looked into
_TRAIL_MAX_CHARS = 200
_TRAILER_DEPTH = 3  # the editor line may follow the body, its column, or the column's wrapper
_CAPTION_CLASS = re.compile(
    r"desc|caption|pic_?-?te?xt|img_?-?te?xt|photo_?-?te?xt|tuzhu", re.IGNORECASE
)
_CENTRED = re.compile(r"text-align\s*:\s*center", re.IGNORECASE)
_CENTRED_CAPTION_MAX_LINES = 3  # a centred block holding a whole article is no caption
_CAPTION_MAX_CHARS = 150
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "select", "button", "textarea"})


def spaced_text(element: Element) -> str:
    """The element's text with a space between the texts of its elements: spans printed without
    one (`<span>来源：河北日报</span><span>张三</span>`) read `来源：河北日报 张三`."""
    pieces: list[str] = []

    def walk(parent: Element) -> None:
        if parent.text:
            pieces.append(parent.text)
        for child in parent:
            if type(child.tag) is str and child.tag not in _SKIPPED_TAGS:
                walk(child)
            if child.tail:
                pieces.append(child.tail)

    if type(element.tag) is str and element.tag not in _SKIPPED_TAGS:
        walk(element)
    return clean_text(" ".join(pieces))


def says_something(info: InfoLine) -> bool:
    return bool(info.has_source_label or info.authors or info.timestamp or info.day)


def holds_image(element: Element | None) -> bool:
    return element is not None and (
        element.tag == "img" or next(element.iter("img"), None) is not None
    )


def previous_element(element: Element) -> Element | None:
    return next((e for e in element.itersiblings(preceding=True) if type(e.tag) is str), None)


def marked_caption_lines(body: Element | None) -> frozenset[str]:
    """The lines of `body` that the markup marks as captions (`marks_caption`)."""
    if body is None:
        return frozenset()
    return frozenset(
        line
        for element in body.iter()
        if type(element.tag) is str and element is not body and marks_caption(element)
        for line in element_lines(element)
        if len(line) <= _CAPTION_MAX_CHARS
    )


def marks_caption(element: Element) -> bool:
    """`<figcaption>`, a caption class (`pic-desc`, `pictext`), or a short centred block that
    holds an image or follows one."""
    if element.tag == "figcaption" or _CAPTION_CLASS.search(element.get("class") or ""):
        return True
    centred = element.tag == "center" or (
        element.tag in ("p", "div")
        and (
            _CENTRED.search(element.get("style") or "") is not None
            or element.get("align") == "center"
        )
    )
    return (
        centred
        and len(element_lines(element)) <= _CENTRED_CAPTION_MAX_LINES
        and (holds_image(element) or holds_image(previous_element(element)))
    )


def trail_of(element: Element) -> list[str]:
    """The crumbs if the element is a trail: after a `当前位置：` label, or links split by
    separators (every crumb but the last a link), else []."""
    text = spaced_text(element)
    if not text or len(text) > _TRAIL_MAX_CHARS:
        return []
    crumbs = parse_trail(text)
    if has_trail_label(text):
        return crumbs
    links = {clean_text(text_content(a)) for a in element.iter("a")}
    return crumbs if len(crumbs) >= 2 and all(c in links for c in crumbs[:-1]) else []


class HebccwV1(ArticleParser):
    """The 2026 template: `h1`, the info line under it, `div.detailMessage`, credit lines in or
    after the body."""

    family = "hebccw"
    version = 1

    @classmethod
    def matches(cls, page: Page) -> bool:
        return bool(page.title_lines) and page.detail_message is not None

    @lazy_property
    def body_element(self) -> Element | None:
        return self.page.detail_message  # what `matches` found

    @lazy_property
    def title_element(self) -> Element | None:
        return next((h1 for h1 in self.page.root.iter("h1") if element_lines(h1)), None)

    # ------------------------------------------------------------ header

    @lazy_property
    def header_elements(self) -> list[Element]:
        """The elements between the title and the body, in page order (none when the title is
        inside the body: the body's lines are not the info line)."""
        title, body = self.title_element, self.body_element
        if title is None or body is None:
            return []
        return elements_between(title, body)

    @lazy_property
    def info(self) -> InfoLine | None:
        """The info line: the short blocks between the title and the body that print a `来源：`
        label, a date or authors, read as one line."""
        texts = [text for element in self.header_elements for text in self._info_texts(element)]
        return parse_info_line(" ".join(texts)) if texts else None

    def _info_texts(self, element: Element) -> list[str]:
        text = spaced_text(element)
        if len(text) > _INFO_MAX_CHARS:
            return [
                t for child in element if type(child.tag) is str for t in self._info_texts(child)
            ]
        return [text] if text and says_something(parse_info_line(text)) else []

    def byline(self) -> Byline:
        info = self.info
        if info is None or not info.has_source_label:
            where = (
                "the info line" if info else "the page: no info line between the title and the body"
            )
            self.problem("source", f"no 来源 on {where}")
            return Byline(None, info.authors if info else [])
        if info.source is None:
            self.problem("source", "来源 with nothing after it")
        if info.unread:
            self.problem("authors", f"text after the source that is not names: {info.unread}")
        return Byline(info.source, info.authors)

    def timestamp(self) -> str | None:
        info = self.info
        if info is not None and info.timestamp:
            return info.timestamp
        if info is not None and info.day:
            self.problem("timestamp", f"only a date ({info.day}) on the info line, no time")
        else:
            self.problem("timestamp", "no date on the info line")
        return None

    # ------------------------------------------------------------ body

    @lazy_property
    def units_and_trailer(self) -> tuple[list[Unit], list[str]]:
        """The body's units, captions marked, without its closing credit lines (editor,
        keywords) and pager, which come back as the trailer."""
        body = self.body_element
        if body is None:
            return [], []
        units = [u for u in element_units(body) if u.kind != TEXT or not is_placeholder(u.text)]
        several_pages = len(self.page.page_list[0]) > 1
        trailer: list[str] = []
        while units and units[-1].kind == TEXT:
            text = units[-1].text
            segments = credit_segments(text)
            closing = segments is not None and ("editor" in segments or "keywords" in segments)
            if not (closing or several_pages and is_pager_line(text)):
                break
            trailer.insert(0, units.pop().text)
        return self.marked_captions(units), trailer

    @lazy_property
    def caption_lines(self) -> frozenset[str]:
        return marked_caption_lines(self.body_element)

    def marked_captions(self, units: list[Unit]) -> list[Unit]:
        """Lines right after images that the markup marks as captions become CAPTION units."""
        marked = self.caption_lines
        if not marked:
            return units
        out: list[Unit] = []
        after_image = False
        for unit in units:
            if unit.kind == IMAGE:
                after_image = True
            elif after_image and unit.kind == TEXT and unit.text in marked:
                unit = Unit(CAPTION, unit.text, "")
            else:
                after_image = after_image and unit.kind == TEXT and has_photo_credit(unit.text)
            out.append(unit)
        return out

    def body(self, title: str) -> Body:
        units = self.units_and_trailer[0]
        first_page = self.page.page_list[1] == 0
        body = segment_body(units, title, self.page.url, first_page)
        if not (body.paragraphs or body.captions or body.images):
            self.problem("body", "the article body is empty")
        return body

    # ------------------------------------------------------------ after the body

    @lazy_property
    def after_body(self) -> list[Element]:
        """Elements following the body, its parent and grandparent: nearest first."""
        body = self.body_element
        return elements_after(body, _TRAILER_DEPTH) if body is not None else []

    def editor(self) -> str | None:
        trailer = self.units_and_trailer[1]
        lines = trailer + [line for e in self.after_body for line in element_lines(e)]
        editor = next((e for e in map(parse_editor_line, lines) if e), None)
        if editor is None and self.info is not None:
            editor = self.info.editor
        if editor is None:
            self.problem("editor", "no 编辑 line in or after the body")
        return editor

    def keywords(self) -> list[str]:
        for line in self.units_and_trailer[1]:
            keywords = parse_keywords_line(line)
            if keywords is not None:
                return keywords
        found: list[str] | None = None
        for element in self.after_body:
            for candidate in element.iter():  # the innermost block that holds the whole line
                if type(candidate.tag) is not str:
                    continue
                keywords = parse_keywords_line(spaced_text(candidate))
                if keywords or (keywords is not None and found is None):
                    found = keywords
            if found:
                return found
        return found or []

    def breadcrumbs(self) -> list[str]:
        """The nearest trail before the title."""
        node = self.title_element
        while node is not None:
            for sibling in node.itersiblings(preceding=True):
                if type(sibling.tag) is not str:
                    continue
                for candidate in reversed(list(sibling.iter())):
                    if type(candidate.tag) is str and candidate.tag not in _SKIPPED_TAGS:
                        crumbs = trail_of(candidate)
                        if crumbs:
                            return crumbs
            node = node.getparent()
        self.problem("breadcrumbs", "no breadcrumb on page")
        return []
