"""The enorth city-site layout (sjz, bd, ...): the main template's header under a site navigation
and a `当前位置：` breadcrumb."""

from __future__ import annotations

from crawler.extract.base import Page
from crawler.extract.parsers.enorth_b import EnorthBV1
from crawler.extract.utils import has_position_label


class EnorthCityV1(EnorthBV1):
    """Header and body as `enorth-b/v1`; the breadcrumb follows a `当前位置：` label."""

    name = "enorth-city/v1"

    @classmethod
    def matches(cls, page: Page) -> bool:
        return page.time_below_source and has_position_label(page.position_text)
