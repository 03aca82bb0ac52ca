"""The enorth "A" family: the old template (to mid-2017) with the font-size widget."""

from __future__ import annotations

import re

from crawler.extract.base import ArticleParser, Page
from crawler.extract.utils import has_source_label, parse_timestamp

_AUTHOR_LABEL = re.compile(r"作\s*者\s*[:：]")


class EnorthAV1(ArticleParser):
    """`来源：X 作者：[names] YYYY-MM-DD HH:MM:SS` on ONE line; breadcrumb `您当前的位置 : a >> b`
    (the label may be doubled); body in `div#zoom`."""

    name = "enorth-a/v1"

    @classmethod
    def matches(cls, page: Page) -> bool:
        lines = page.source_lines
        return (
            bool(lines)
            and has_source_label(lines[0])
            and _AUTHOR_LABEL.search(lines[0]) is not None
            and parse_timestamp(lines[0]) is not None
        )
