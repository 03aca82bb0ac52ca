"""Layout parsers of 长城网 article pages, one module per layout family.

`VERSIONS` are the layout versions a page is offered to; a page none of them recognises goes to
`FallbackParser`. Their `matches()` are mutually exclusive (a page shows one layout), so the
order of `VERSIONS` does not matter and no version can shadow another: the fixture test checks
this on every stored page and every replica page. A new layout is a new version class added
here, never an edit of an old one: old pages keep parsing.
"""

from __future__ import annotations

from crawler.extract.base import ArticleParser
from crawler.extract.parsers.enorth_a import EnorthAV1
from crawler.extract.parsers.enorth_b import EnorthBTimeFirstV1, EnorthBV1
from crawler.extract.parsers.enorth_banner import EnorthBannerV1
from crawler.extract.parsers.enorth_city import EnorthCityV1
from crawler.extract.parsers.fallback import FallbackParser
from crawler.extract.parsers.hebccw import HebccwV1

VERSIONS: list[type[ArticleParser]] = [
    EnorthCityV1,
    EnorthBV1,
    EnorthBTimeFirstV1,
    EnorthBannerV1,
    EnorthAV1,
    HebccwV1,
]

__all__ = [
    "VERSIONS",
    "EnorthAV1",
    "EnorthBTimeFirstV1",
    "EnorthBV1",
    "EnorthBannerV1",
    "EnorthCityV1",
    "FallbackParser",
    "HebccwV1",
]
