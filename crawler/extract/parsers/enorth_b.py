"""The enorth "B" family: the main template of heb.hebei.com.cn (late 2017 to 2024) and its
2017 `report` variant that prints the time before the source."""

from __future__ import annotations

from typing import ClassVar

from crawler.extract.base import ArticleParser, Page
from crawler.extract.utils import has_position_label, has_source_label, starts_with_timestamp


class EnorthBV1(ArticleParser):
    """`来源：X  authors` then the time on the next line (`div.post_source`), a share widget,
    `div.text`, `关键词：` and `责任编辑：`; breadcrumb ` > ` without a label."""

    name = "enorth-b/v1"
    _source_line_selector: ClassVar[str | None] = (
        "//div[contains(concat(' ', normalize-space(@class), ' '), ' post_source ')]"
    )

    @classmethod
    def matches(cls, page: Page) -> bool:
        return page.time_below_source and not has_position_label(page.position_text)


class EnorthBTimeFirstV1(ArticleParser):
    """`report` 2017: `2017-10-22 11:56:46 来源：长城新媒体` on one line, time first."""

    name = "enorth-b-timefirst/v1"

    @classmethod
    def matches(cls, page: Page) -> bool:
        lines = page.source_lines
        return bool(lines) and starts_with_timestamp(lines[0]) and has_source_label(lines[0])
