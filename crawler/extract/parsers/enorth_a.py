"""The enorth "A" family: the old template (to mid-2017) with the font-size widget."""

from __future__ import annotations

import re

from crawler.extract.base import ArticleParser
from crawler.extract.page import Page, SourceLineForm
from crawler.extract.parsers.enorth_banner import EnorthBannerV1
from crawler.extract.parsers.hebccw import HebccwV1

_AUTHOR_LABEL = re.compile(r"作\s*者\s*[:：]")


class EnorthAV1(ArticleParser):
    """`来源：X 作者：[names] YYYY-MM-DD HH:MM:SS` on ONE line; breadcrumb `您当前的位置 : a >> b`
    (the label may be doubled); body in `div#zoom`."""

    family = "enorth-a"
    version = 1

    @classmethod
    def matches(cls, page: Page) -> bool:
        # a banner page whose line holds a spaced `作 者：` is the banner's: it has no breadcrumb
        return (
            page.enorth_cms
            and page.source_line_form is SourceLineForm.ONE_LINE
            and _AUTHOR_LABEL.search(page.source_lines[0]) is not None
            and not EnorthBannerV1.matches(page)
            and not HebccwV1.matches(page)
        )
