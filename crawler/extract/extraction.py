"""From a decoded page to an `Extraction`: pick the layout version, read every field, never raise."""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lxml import etree

from crawler.extract.base import ArticleParser
from crawler.extract.page import Page
from crawler.extract.parsers import VERSIONS, FallbackParser
from crawler.extract.text import strip_invisible
from crawler.items import PAGE_FIELDS, Merge, empty_page_fields
from crawler.site.listing import parser_gave_up


class PageKind(StrEnum):
    """What a page is; a str, so `kind == "article"` holds for callers that compare strings."""

    ARTICLE = "article"
    ROLLING = "rolling"  # a live "正在更新" page: skip it
    EMPTY = "empty"  # nothing readable


FIELD_NAMES: tuple[str, ...] = tuple(PAGE_FIELDS)
# A page where more than this share of characters is undecodable is not text at all (random
# bytes read as GB18030 give about 12%).
_MAX_UNDECODABLE_SHARE = 0.02
# lxml's plain HTML parser: lxml.html's element classes cost a Python call per element touched.
# XML_PARSE_HUGE (`huge_tree`): without it libxml2 stops 256 elements deep (400 unclosed <font>
# tags are enough) or at a 10 MB text node and keeps what came before, silently; with it the
# limits are 2048 deep and 1 GB, and a page past them is unreadable for that reason.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_PARSER = etree.HTMLParser(encoding="utf-8", collect_ids=False, huge_tree=True)
_ROLLING_MARK = "正在更新"


@dataclass
class Extraction:
    """What one page gives: its kind, the parser version that read it, the item fields, the URLs
    of all pages of the article, and why any field could not be read."""

    kind: PageKind
    parser: str
    fields: dict[str, Any]
    page_urls: list[str]
    problems: list[str] = field(default_factory=list)


empty_fields = empty_page_fields


def _unreadable(url: str, reason: str, problems: list[str]) -> Extraction:
    return Extraction(
        PageKind.EMPTY, FallbackParser.name, empty_fields(), [url], problems + [f"page: {reason}"]
    )


def _is_rolling(page: Page) -> bool:
    """A live page that keeps updating (`【滚动】... 正在更新`): many items, no single article."""
    heading = " ".join(page.title_lines) or page.head_title
    return _ROLLING_MARK in heading


def choose_parser(page: Page) -> ArticleParser:
    """The version whose layout the page shows (at most one matches), else the fallback."""
    for version in VERSIONS:
        if version.matches(page):
            return version(page)
    return FallbackParser(page)


def parse_page(html: str, url: str) -> Page | None:
    """The page's tree, or None when there is no HTML in it."""
    # C0 controls print nothing, and lxml keeps some of them (a vertical tab) in text it then
    # refuses to take back (`.tail = ...` raises ValueError); a form feed is HTML whitespace
    html = _CONTROLS.sub("", html.replace("\f", " "))
    # as UTF-8 bytes, so that the page's own charset declaration is not applied a second time
    root = etree.fromstring(html.encode("utf-8", "replace"), _PARSER)
    return Page(root, url) if root is not None else None


def _extract(html: str, url: str) -> Extraction:
    problems: list[str] = []
    if not html or html.isspace():
        return _unreadable(url, "empty document", problems)
    undecodable = html.count("\ufffd")
    if undecodable > _MAX_UNDECODABLE_SHARE * len(html):
        return _unreadable(
            url, f"not text: {undecodable} of {len(html)} characters undecodable", problems
        )
    if undecodable:
        problems.append(f"text: {undecodable} undecodable characters (U+FFFD)")
    page = parse_page(strip_invisible(html), url)
    if page is None:
        return _unreadable(url, "no HTML in document", problems)
    stopped = parser_gave_up(_PARSER)
    if stopped is not None:
        return _unreadable(url, stopped, problems)
    if _is_rolling(page):
        fields = empty_fields()
        fields["title"] = FallbackParser(page).title()
        return Extraction(
            PageKind.ROLLING,
            FallbackParser.name,
            fields,
            [url],
            problems + ["page: live rolling page (正在更新), not an article"],
        )
    parser = choose_parser(page)
    fields = parser.fields()
    problems.extend(parser.problems)
    readable = fields["title"] or fields["body"] or fields["captions"]
    return Extraction(
        PageKind.ARTICLE if readable else PageKind.EMPTY,
        parser.name,
        fields,
        page.page_list[0],
        problems,
    )


def extract(html: str, url: str) -> Extraction:
    """Read one article page. Never raises: a page that cannot be read comes back as kind
    "empty" with the reason in `problems`."""
    try:
        return _extract(html, url)
    except Exception as exc:  # noqa: BLE001 - a parser bug must become an explained rejection, not a stopped crawl
        return _unreadable(url, f"parser error {type(exc).__name__}: {exc}", [])


def merge_pages(pages: list[Extraction]) -> dict[str, Any]:
    """The fields of a multi-page article, its pages in order, each by its merge rule
    (`crawler.items.Merge`); plus `pages` (count) and `parser`."""
    merged = empty_fields()
    for name, rule in PAGE_FIELDS.items():
        values = [page.fields[name] for page in pages]
        if rule is Merge.CONCAT:
            merged[name] = [element for value in values for element in value]
        elif rule is Merge.LINES:
            merged[name] = "\n".join(value for value in values if value)
        else:
            merged[name] = next((value for value in values if value), merged[name])
    merged["pages"] = len(pages)
    merged["parser"] = pages[0].parser if pages else FallbackParser.name
    return merged
