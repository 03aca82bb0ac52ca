"""`parsers`: the parsers' smoke test, a spider only `scrapy check` gives requests to.

One known article and one listing page of each layout the parsers read (crawler/extract/parsers/),
each checked by a callback of its own whose docstring holds its contracts (Scrapy's `@url`,
`@returns`, `@scrapes`, and the project's, crawler/spiders/contracts.py). The callbacks are the
channel spiders' own (`parse_article`, `parse_listing`), so what is checked is what a crawl does.
Against the live site `scrapy check` is the daily smoke test of the parsers (docs/operations.md);
against the replica it passes in the tests. A crawl of this spider fetches nothing: its `start` is
Scrapy's, of an empty `start_urls`, and it keeps no run either (`pipelines.runs.is_tool_run`).

The URLs are the site's own: the articles of the site notes' corpus (the 2018两会 banner page and
the hebccw.cn copy are the replica's, in the site's URL scheme), the listings of the declared
channels, whose paths are assumptions until confirmed (`scrapy channels`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy.http import Response

from crawler.extract.base import ArticleParser
from crawler.extract.parsers import (
    EnorthAV1,
    EnorthBannerV1,
    EnorthBTimeFirstV1,
    EnorthBV1,
    EnorthCityV1,
    HebccwV1,
)
from crawler.items import FIELDS
from crawler.spiders.channel import HebeiSpider

# What a story shows whatever its layout (a photo story has captions instead of a body); and
# breadcrumbs, where the layout draws them.
STORY = ("title", "timestamp", "body", "source")
PHOTO_STORY = ("title", "timestamp", "captions", "source")


@dataclass(frozen=True)
class Sample:
    layout: str  # names its checks: article_<layout>, listing_<layout>
    parser: type[ArticleParser]
    article: str  # a known article of the layout, one page
    listing: str  # a listing page of the layout
    articles: int  # articles the listing page links at the least
    filled: tuple[str, ...] = STORY  # fields the article shows

    def article_contracts(self) -> str:
        filled = self.filled + (("breadcrumbs",) if self.parser._has_breadcrumbs else ())
        return (f"@url {self.article}\n@returns items 1 1\n@returns requests 0 0\n@scrapes {' '.join(FIELDS)}\n"
                f"@parser {self.parser.name}\n@fills {' '.join(filled)}")

    def listing_contracts(self) -> str:
        return f"@url {self.listing}\n@returns items 0 0\n@articles {self.articles}"


SAMPLES = (
    Sample("main", EnorthBV1, "http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml",
           "http://heb.hebei.com.cn/ztk/", 5),
    Sample("old", EnorthAV1, "http://news.hebei.com.cn/system/2017/04/27/018109452.shtml",
           "http://news.hebei.com.cn/ztk/index.shtml", 5),
    Sample("time_first", EnorthBTimeFirstV1, "http://report.hebei.com.cn/system/2017/10/21/018523117.shtml",
           "http://report.hebei.com.cn/ycxw/index.shtml", 5),
    Sample("banner", EnorthBannerV1, "http://heb.hebei.com.cn/system/2018/02/10/018703106.shtml",
           "http://heb.hebei.com.cn/2018lh/index.shtml", 5),
    Sample("city", EnorthCityV1, "http://sjz.hebei.com.cn/system/2022/04/11/100922359.shtml",
           "http://sjz.hebei.com.cn/sjzfw/", 5, PHOTO_STORY),
    Sample("hebccw", HebccwV1, "http://heb.hebccw.cn/system/2019/05/19/019646445.shtml",
           "http://news.hebccw.cn/jdxw/", 5),
)


class ParserSamples(HebeiSpider):
    """The known pages of every layout, for `scrapy check` (`scrapy check parsers`)."""

    name = "parsers"
    start = scrapy.Spider.start


def _checked(name: str, callback: str, summary: str, contracts: str) -> Callable[[ParserSamples, Response], Iterator[Any]]:
    """A check of one sample: `callback` on its page, `contracts` in its docstring."""
    def check(self: ParserSamples, response: Response) -> Iterator[Any]:
        return getattr(self, callback)(response)  # type: ignore[no-any-return]

    check.__name__ = check.__qualname__ = name  # as `scrapy check` reports it
    check.__doc__ = f"{summary}\n\n{contracts}"
    return check


for _sample in SAMPLES:
    for _name, _callback, _summary, _contracts in (
            (f"article_{_sample.layout}", "parse_article", "A known article", _sample.article_contracts()),
            (f"listing_{_sample.layout}", "parse_listing", "A listing page", _sample.listing_contracts())):
        setattr(ParserSamples, _name, _checked(_name, _callback, f"{_summary} of the {_sample.layout} layout.", _contracts))
