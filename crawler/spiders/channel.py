"""Channel spiders: walk listing pages and their pagers, parse every article they list.

One generic spider (`channel`, `-a start_url=URL`) and one spider per declared channel
(crawler/channels.py), plus `hebei`, which crawls every declared channel in one run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any

import scrapy
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler import urls
from crawler.channels import CHANNELS, Channel
from crawler.extract import Extraction, decode_html, extract, merge_pages
from crawler.items import Article
from crawler.listing import parse_listing, read_maxpage


class ChannelSpider(scrapy.Spider):
    name = "channel"
    channels: tuple[Channel, ...] = ()

    def __init__(self, start_url: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if start_url:
            self.channels = (Channel(self.name, start_url, (start_url,)),)
        if not self.channels:
            raise ValueError("the channel spider needs -a start_url=URL (a listing page)")
        # Highest overflow page number accepted per catalog: guards against pager traps.
        self.overflow_ceiling: dict[str, int] = {}

    async def start(self) -> AsyncIterator[Request]:
        for channel in self.channels:
            for url in channel.start_urls:
                url = urls.canonical(url)
                yield Request(url, callback=self.parse_listing, errback=self.request_failed,
                              cb_kwargs={"channel": channel, "root": urls.directory_of(url)})

    # listings ---------------------------------------------------------------
    def parse_listing(self, response: Response, channel: Channel, root: str) -> Iterator[Request]:
        stats = self.crawler.stats
        stats.inc_value("listing/pages")
        html = decode_html(response.body, _header_charset(response))
        page = parse_listing(html, response.url, channel.main_list_xpath)
        kwargs = {"channel": channel, "root": root}
        for link in page.articles:
            yield Request(link.url, callback=self.parse_article, errback=self.request_failed,
                          cb_kwargs={"channel": channel})
        for _url, reason in page.skipped:
            stats.inc_value(f"listing/skipped_links/{reason}")
        for target in page.pager_links:
            if self.accept_overflow(target):
                yield Request(target, callback=self.parse_listing, errback=self.request_failed, cb_kwargs=kwargs)
        if page.count_script:
            yield Request(page.count_script, callback=self.parse_count_script, errback=self.request_failed,
                          cb_kwargs={**kwargs, "listing_url": response.url, "catalog": page.catalog})
        for target in page.sublistings:
            if urls.directory_of(target).startswith(root):
                yield Request(target, callback=self.parse_listing, errback=self.request_failed, cb_kwargs=kwargs)

    def accept_overflow(self, url: str) -> bool:
        """Overflow pages run backwards from the newest; the first number seen for a catalog is
        its ceiling, so a pager that keeps growing or points past it is not followed."""
        found = urls.overflow_page_number(url)
        if found is None:
            return True
        catalog, number = found
        ceiling = self.overflow_ceiling.setdefault(catalog, number)
        if number > ceiling or number < 1:
            self.crawler.stats.inc_value("listing/pager_trap_links")
            return False
        return True

    def parse_count_script(self, response: Response, channel: Channel, root: str, listing_url: str,
                           catalog: str | None) -> Iterator[Request]:
        maxpage = read_maxpage(response.text)
        found = urls.COUNT_SCRIPT_PATH.search(response.url)
        catalog = catalog or (found.group(1) if found else None)
        if maxpage is None or catalog is None:
            self.crawler.stats.inc_value("listing/count_script_unreadable")
            self.logger.warning("count script without maxpage or catalog: %s", response.url)
            return
        limit = self.settings.getint("LISTING_MAX_PAGES")
        if maxpage > limit:
            self.logger.warning("maxpage %d of %s capped at LISTING_MAX_PAGES=%d", maxpage, response.url, limit)
            maxpage = limit
        self.overflow_ceiling.setdefault(catalog, maxpage)
        for number in range(maxpage, 0, -1):
            target = urls.overflow_url(listing_url, catalog, number)
            if self.accept_overflow(target):
                yield Request(target, callback=self.parse_listing, errback=self.request_failed,
                              cb_kwargs={"channel": channel, "root": root})

    # articles ---------------------------------------------------------------
    def parse_article(self, response: Response, channel: Channel,
                      done: tuple[Extraction, ...] = ()) -> Iterator[Article | Request]:
        stats = self.crawler.stats
        html = decode_html(response.body, _header_charset(response))
        page = extract(html, response.url)
        if page.kind == "rolling":
            stats.inc_value("article/skipped/rolling")
            self.logger.info("skipped a rolling live page: %s", response.url)
            return
        if page.kind != "article":
            stats.inc_value("article/unreadable")
            self.logger.warning("unreadable article page %s: %s", response.url, "; ".join(page.problems))
            return
        pages = done + (page,)
        first = pages[0]
        if len(pages) < len(first.page_urls):
            yield Request(urls.canonical(first.page_urls[len(pages)]), callback=self.parse_article,
                          errback=self.request_failed, cb_kwargs={"channel": channel, "done": pages},
                          dont_filter=True)
            return
        yield self.build_item(first.page_urls[0] if first.page_urls else response.url, pages, channel)

    def build_item(self, url: str, pages: tuple[Extraction, ...], channel: Channel) -> Article:
        url = urls.canonical(url)
        merged = merge_pages(list(pages))
        stats = self.crawler.stats
        stats.inc_value(f"article/parser/{merged['parser']}")
        if merged["parser"] == "fallback":
            stats.inc_value("article/fallback")
        fields = {k: merged[k] for k in ("title", "subtitles", "source", "authors", "timestamp", "body",
                                          "captions", "images", "editor", "keywords", "breadcrumbs")}
        return Article(
            id=urls.article_id(url) or url,
            url=url,
            appearances=[{"url": url, "breadcrumbs": fields["breadcrumbs"], "timestamp": fields["timestamp"]}],
            channel=channel.name,
            fetched_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            pages=merged["pages"],
            parser=merged["parser"],
            **fields,
        )

    def request_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        reason = failure.getErrorMessage() or failure.type.__name__
        self.crawler.stats.inc_value(f"failures/{failure.type.__name__}")
        self.logger.warning("gave up on %s: %s", request.url, reason)


def _header_charset(response: Response) -> str | None:
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    _, _, charset = ctype.partition("charset=")
    return charset.strip() or None


class HebeiSpider(ChannelSpider):
    """Every declared channel and collection in one crawl."""

    name = "hebei"
    channels = CHANNELS


def _declared(channel: Channel) -> type[ChannelSpider]:
    return type(
        f"{channel.name.title().replace('_', '')}Spider",
        (ChannelSpider,),
        {"name": channel.name, "channels": (channel,), "__module__": __name__, "__doc__": channel.title},
    )


for _channel in CHANNELS:
    _spider = _declared(_channel)
    globals()[_spider.__name__] = _spider
del _channel, _spider
