"""The special-event layout (2018两会): a banner instead of a breadcrumb."""

from __future__ import annotations

from typing import ClassVar

from crawler.extract.base import ArticleParser, author_line_after
from crawler.extract.bylines import Byline
from crawler.extract.page import Page, SourceLineForm
from crawler.extract.parsers.hebccw import HebccwV1


class EnorthBannerV1(ArticleParser):
    """`来源：长城网 2018-01-24 16:32:00` on one line, `作者：...` on the next; no breadcrumb."""

    family = "enorth-banner"
    version = 1
    _has_breadcrumbs: ClassVar[bool] = False

    @classmethod
    def matches(cls, page: Page) -> bool:
        return (
            page.enorth_cms
            and page.source_line_form is SourceLineForm.ONE_LINE
            and "作者" not in page.source_lines[0]
            and page.position_element is None
            and not HebccwV1.matches(page)
        )

    def byline(self) -> Byline:
        byline = super().byline()
        if byline.authors:
            return byline
        return Byline(byline.source, author_line_after(self.page.source_line))
