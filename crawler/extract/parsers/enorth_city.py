"""The enorth city-site layout (sjz, bd, ...): the main template's header under a site navigation
and a `当前位置：` breadcrumb."""

from __future__ import annotations

from crawler.extract.breadcrumbs import has_position_label
from crawler.extract.page import Page, SourceLineForm
from crawler.extract.parsers.enorth_b import EnorthBV1
from crawler.extract.parsers.hebccw import HebccwV1


class EnorthCityV1(EnorthBV1):
    """Header and body as `enorth-b/v1`; the breadcrumb follows a `当前位置：` label."""

    family = "enorth-city"
    version = 1

    @classmethod
    def matches(cls, page: Page) -> bool:
        return (
            page.enorth_cms
            and page.source_line_form is SourceLineForm.TIME_BELOW
            and has_position_label(page.position_text)
            and not HebccwV1.matches(page)
        )
