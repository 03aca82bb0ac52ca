"""Layout parsers of 长城网 article pages, one module per layout family.

`VERSIONS` is the order in which versions are asked whether a page shows their layout; a page
none of them recognises goes to `FallbackParser`. A new layout is a new version class added here
(before the versions it resembles), never an edit of an old one: old pages keep parsing.
"""

from __future__ import annotations

from crawler.extract.base import ArticleParser
from crawler.extract.parsers.enorth_a import EnorthAV1
from crawler.extract.parsers.enorth_b import EnorthBTimeFirstV1, EnorthBV1
from crawler.extract.parsers.enorth_banner import EnorthBannerV1
from crawler.extract.parsers.enorth_city import EnorthCityV1
from crawler.extract.parsers.fallback import FallbackParser

VERSIONS: list[type[ArticleParser]] = [
    EnorthCityV1,
    EnorthBV1,
    EnorthBTimeFirstV1,
    EnorthBannerV1,
    EnorthAV1,
]

__all__ = ["VERSIONS", "FallbackParser"]
