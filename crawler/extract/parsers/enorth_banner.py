"""The special-event layout (2018两会): a banner instead of a breadcrumb."""

from __future__ import annotations

from typing import ClassVar

from crawler.extract.base import ArticleParser, Page, author_line_after
from crawler.extract.utils import Byline, has_source_label, parse_timestamp


class EnorthBannerV1(ArticleParser):
    """`来源：长城网 2018-01-24 16:32:00` on one line, `作者：...` on the next; no breadcrumb."""

    name = "enorth-banner/v1"
    _has_breadcrumbs: ClassVar[bool] = False

    @classmethod
    def matches(cls, page: Page) -> bool:
        lines = page.source_lines
        return (
            bool(lines)
            and has_source_label(lines[0])
            and parse_timestamp(lines[0]) is not None
            and "作者" not in lines[0]
            and page.position_element is None
        )

    def byline(self) -> Byline:
        byline = super().byline()
        if byline.authors:
            return byline
        return Byline(byline.source, author_line_after(self.page.source_line))
