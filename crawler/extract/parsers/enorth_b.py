"""The enorth "B" family: the main template of heb.hebei.com.cn (late 2017 to 2024) and its
2017 `report` variant that prints the time before the source."""

from __future__ import annotations

from crawler.extract.base import ArticleParser
from crawler.extract.breadcrumbs import has_position_label
from crawler.extract.page import Page, SourceLineForm
from crawler.extract.parsers.hebccw import HebccwV1


class EnorthBV1(ArticleParser):
    """`来源：X  authors` then the time on the next line (`div.post_source`), a share widget,
    `div.text`, `关键词：` and `责任编辑：`; breadcrumb ` > ` without a label."""

    family = "enorth-b"
    version = 1

    @classmethod
    def matches(cls, page: Page) -> bool:
        return (
            page.enorth_cms
            and page.source_line_form is SourceLineForm.TIME_BELOW
            and not has_position_label(page.position_text)
            and not HebccwV1.matches(page)
        )


class EnorthBTimeFirstV1(ArticleParser):
    """`report` 2017: `2017-10-22 11:56:46 来源：长城新媒体` on one line, time first."""

    family = "enorth-b-timefirst"
    version = 1

    @classmethod
    def matches(cls, page: Page) -> bool:
        return (
            page.enorth_cms
            and page.source_line_form is SourceLineForm.TIME_FIRST
            and not HebccwV1.matches(page)
        )
