"""The base class of all layout parsers, and the helpers parser versions share.

A parser version is a subclass that names its selectors as class attributes and overrides only
the field methods its layout draws differently. It is identified by `family` and `version`, from
which its `name` derives; `matches(page)` says whether a page shows its layout, and no two
versions match the same page (see `crawler.extract.parsers`).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from crawler.extract.body import Body, segment_body
from crawler.extract.breadcrumbs import parse_breadcrumbs
from crawler.extract.bylines import (
    Byline,
    has_editor_label,
    has_keywords_label,
    has_source_label,
    parse_author_line,
    parse_editor,
    parse_keywords,
    parse_source_line,
)
from crawler.extract.page import (
    ElementSelector,
    Page,
    densest_element,
    labelled_elements,
    lazy_property,
)
from crawler.extract.text import Element, element_lines, element_text, element_units, text_content
from crawler.items import PAGE_FIELDS

_TRAILER_DEPTH = 3
# `<title>` is `T_<channel>_长城网`: the suffix goes when the title must come from there.
_SITE_SUFFIX = re.compile(r"(?:\s*[_|-]\s*[^_|-]{1,20})?\s*[_|-]\s*长城网.*$")


def has_trailer_label(text: str) -> bool:
    return has_keywords_label(text) or has_editor_label(text)


def labelled_lines(elements: list[Element]) -> list[str]:
    return [
        line for element in elements for line in element_lines(element) if has_trailer_label(line)
    ]


class ArticleParser:
    """Base of every layout version: generic field methods driven by named selectors.

    A subclass declares `family` (the layout family, `enorth-b`) and `version` (1, 2, ...); its
    `name`, the `parser` of every item it reads, is derived from them: `enorth-b/v1`, or the
    family alone for the unversioned fallback. Its fixture cases are filed under that name:
    `tests/sample_data/extract/enorth-b/v1/<case>/`.
    """

    family: ClassVar[str] = ""
    version: ClassVar[int | None] = None
    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.family if cls.version is None else f"{cls.family}/v{cls.version}"

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
