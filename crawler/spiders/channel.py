"""Channel spiders: walk listing pages and their pagers, parse every article they list.

One generic spider (`channel`, `-a start_url=URL`) and one spider per declared channel
(crawler/site/channels.py), plus `hebei`, which crawls every declared channel in one run.

Modes (docs/crawling.md):
- incremental (default): each listing is walked from its newest page towards older ones and the
  walk stops at the first page whose stories are all stored already; only unknown articles are
  fetched. What is stored comes from the state store, not from a file of the spider's.
- `-a since=YYYY-MM-DD`: every listed article dated on or after the day, stored or not; the walk
  stops at the first page older than the day.
- `-a full=1`: everything, every page (a backfill).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.extract import Extraction, extract, merge_pages
from crawler.items import Article
from crawler.output import FailureLog, run_id
from crawler.site import urls
from crawler.site.channels import CHANNELS, Channel
from crawler.site.charset import charset_from_content_type, decode_html
from crawler.site.listing import ListedLink, ListingPage, parse_listing, read_maxpage
from pipelines.runs import read_json
from pipelines.state import StateStore, open_state

FULL, SINCE, INCREMENTAL = "full", "since", "incremental"


class ChannelSpider(scrapy.Spider):
    name = "channel"
    channels: tuple[Channel, ...] = ()

    def __init__(self, start_url: str | None = None, since: str | None = None, full: str | None = None,
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if start_url:
            if not urls.on_site(start_url):
                raise ValueError(f"start_url must be a listing page on {urls.SITE_DOMAIN}: {start_url!r}")
            self.channels = (Channel(self.name, start_url, (start_url,)),)
        if not self.channels:
            raise ValueError("the channel spider needs -a start_url=URL (a listing page)")
        self.since: date | None = date.fromisoformat(since) if since else None
        self.mode = FULL if full not in (None, "", "0", "false") else SINCE if self.since else INCREMENTAL
        # Highest overflow page number accepted per catalog: guards against pager traps.
        self.overflow_ceiling: dict[str, int] = {}
        self.state: StateStore | None = None
        self.requested: set[str] = set()  # article URLs this run asked for
        self.walk_all = self.mode == FULL

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ChannelSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.failures = FailureLog(crawler)
        crawler.signals.connect(spider.failures.close, signal=scrapy.signals.spider_closed)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("crawl/mode", self.mode)
        if self.mode == INCREMENTAL:
            self.state = open_state(self.settings)
            self.crawler.signals.connect(self.state.close, signal=scrapy.signals.spider_closed)
            unfinished = unfinished_run(Path(self.settings.get("OUTPUT_DIR")), run_id(self.crawler))
            if unfinished:
                # A run that ended early may have stored the newest pages of a listing and never
                # reached its older ones: this run walks every page (fetching only what is unknown).
                self.walk_all = True
                self.crawler.stats.set_value("crawl/walk_all_after", unfinished)
                self.logger.info("run %s did not finish: walking every listing page", unfinished)
        for channel in self.channels:
            for url in channel.start_urls:
                url = urls.canonical(url)
                yield self.listing_request(url, channel, urls.directory_of(url))

    # listings ---------------------------------------------------------------
    def listing_request(self, url: str, channel: Channel, root: str, **extra: Any) -> Request:
        return Request(url, callback=self.parse_listing, errback=self.request_failed,
                       cb_kwargs={"channel": channel, "root": root, **extra}, meta={"kind": "listing"})

    def parse_listing(self, response: Response, channel: Channel, root: str) -> Iterator[Request]:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("listing/pages")
        html = decode_html(response.body, charset_from_content_type(response.headers.get(b"Content-Type", b"").decode("latin-1")))
        page = parse_listing(html, response.url, channel.main_list_xpath)
        for _url, reason in page.skipped:
            stats.inc_value(f"listing/skipped_links/{reason}")
        wanted = self.wanted(page.articles)
        self.requested.update(link.url for link in wanted)
        for link in wanted:
            yield Request(link.url, callback=self.parse_article, errback=self.request_failed,
                          cb_kwargs={"channel": channel}, meta={"kind": "article"})
        for target in page.sublistings:
            if urls.directory_of(target).startswith(root):
                yield self.listing_request(target, channel, root)
        if self.mode == FULL or self.walk_all:
            yield from self.every_page(page, response.url, channel, root)
        elif self.descend(page.articles, wanted):
            yield from self.older_page(page, response.url, channel, root)
        elif page.articles:
            stats.inc_value("listing/walks_stopped")

    def wanted(self, listed: list[ListedLink]) -> list[ListedLink]:
        """The listed articles this mode fetches."""
        if self.mode == FULL:
            return listed
        if self.mode == SINCE:
            assert self.since is not None
            day = self.since.isoformat()
            return [lk for lk in listed if lk.day is None or lk.day >= day]
        assert self.state is not None
        # Stored during this run counts as new: a listing reached after another listing led to
        # the same articles must still be walked to its older pages.
        known = self.state.known_urls(lk.url for lk in listed) - self.requested
        self.crawler.stats.inc_value("listing/known_links", len(known))  # type: ignore[union-attr]
        return [lk for lk in listed if lk.url not in known]

    def descend(self, listed: list[ListedLink], wanted: list[ListedLink]) -> bool:
        """Whether older pages of this listing may hold what this mode wants."""
        if self.mode == SINCE:
            days = [lk.day for lk in listed if lk.day]
            return bool(listed) and (not days or min(days) >= self.since.isoformat())  # type: ignore[union-attr]
        return bool(wanted)

    def every_page(self, page: ListingPage, url: str, channel: Channel, root: str) -> Iterator[Request]:
        self.note_ceilings(page.pager_links)
        for target in page.pager_links:
            if self.accept_overflow(target):
                yield self.listing_request(target, channel, root)
        if page.count_script and urls.overflow_page_number(url) is None:
            yield self.script_request(page, url, channel, root)

    def older_page(self, page: ListingPage, url: str, channel: Channel, root: str) -> Iterator[Request]:
        """The next older page only: a static 下一页 link, overflow page k-1, or the count script."""
        here = urls.overflow_page_number(url)
        self.note_ceilings(page.pager_links)
        if page.older_link and self.accept_overflow(page.older_link):
            yield self.listing_request(page.older_link, channel, root)
        elif here is not None and here[1] > 1:
            older = urls.overflow_url(url, here[0], here[1] - 1)
            if self.accept_overflow(older):
                yield self.listing_request(older, channel, root)
        elif here is None and page.count_script:
            yield self.script_request(page, url, channel, root)

    def script_request(self, page: ListingPage, url: str, channel: Channel, root: str) -> Request:
        return Request(page.count_script or "", callback=self.parse_count_script, errback=self.request_failed,
                       cb_kwargs={"channel": channel, "root": root, "listing_url": url, "catalog": page.catalog},
                       meta={"kind": "script"})

    def note_ceilings(self, links: list[str]) -> None:
        """The first page that shows a catalog's pager (its index) fixes the highest overflow
        page number: overflow pages run backwards from the newest, so a pager that later points
        past it (an ever growing number) is a trap."""
        for catalog_number in filter(None, map(urls.overflow_page_number, links)):
            catalog = catalog_number[0]
            if catalog not in self.overflow_ceiling:
                numbers = [n for c, n in filter(None, map(urls.overflow_page_number, links)) if c == catalog]
                self.overflow_ceiling[catalog] = max(numbers)

    def accept_overflow(self, url: str) -> bool:
        found = urls.overflow_page_number(url)
        if found is None:
            return True
        catalog, number = found
        ceiling = self.overflow_ceiling.setdefault(catalog, number)
        if number > ceiling or number < 1:
            self.crawler.stats.inc_value("listing/pager_trap_links")  # type: ignore[union-attr]
            return False
        return True

    def parse_count_script(self, response: Response, channel: Channel, root: str, listing_url: str,
                           catalog: str | None) -> Iterator[Request]:
        maxpage = read_maxpage(response.text)
        found = urls.COUNT_SCRIPT_PATH.search(response.url)
        catalog = catalog or (found.group(1) if found else None)
        if maxpage is None or catalog is None:
            self.failures.record(response.url, "script", "count script without maxpage or catalog", listing_url)
            return
        limit = self.settings.getint("LISTING_MAX_PAGES")
        if maxpage > limit:
            self.logger.warning("maxpage %d of %s capped at LISTING_MAX_PAGES=%d", maxpage, response.url, limit)
            maxpage = limit
        self.overflow_ceiling.setdefault(catalog, maxpage)
        numbers = range(maxpage, 0, -1) if self.walk_all else range(maxpage, maxpage - 1, -1)
        for number in numbers:
            target = urls.overflow_url(listing_url, catalog, number)
            if self.accept_overflow(target):
                yield self.listing_request(target, channel, root)

    # articles ---------------------------------------------------------------
    def parse_article(self, response: Response, channel: Channel,
                      done: tuple[Extraction, ...] = ()) -> Iterator[Article | Request]:
        stats = self.crawler.stats
        assert stats is not None
        html = decode_html(response.body, charset_from_content_type(response.headers.get(b"Content-Type", b"").decode("latin-1")))
        page = extract(html, response.url)
        if page.kind == "rolling":
            stats.inc_value("article/skipped/rolling")
            self.logger.info("skipped a rolling live page: %s", response.url)
            return
        if page.kind != "article":
            self.failures.record(response.url, "article", "unreadable page: " + "; ".join(page.problems),
                                 _referer(response))
            return
        pages = done + (page,)
        first = pages[0]
        if len(pages) < len(first.page_urls):
            yield Request(urls.canonical(first.page_urls[len(pages)]), callback=self.parse_article,
                          errback=self.request_failed, cb_kwargs={"channel": channel, "done": pages},
                          meta={"kind": "article"}, dont_filter=True)
            return
        yield self.build_item(first.page_urls[0] if first.page_urls else response.url, pages, channel)

    def build_item(self, url: str, pages: tuple[Extraction, ...], channel: Channel) -> Article:
        url = urls.canonical(url)
        merged = merge_pages(list(pages))
        stats = self.crawler.stats
        assert stats is not None
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
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            pages=merged["pages"],
            parser=merged["parser"],
            **fields,
        )

    def request_failed(self, failure: Failure) -> Iterator[Request]:
        request: Request = failure.request  # type: ignore[attr-defined]
        self.record_failure(request, failure)
        # A walk that goes one page at a time must not end at a page that failed: go on with the
        # next older overflow page (a full crawl requests every page anyway).
        here = urls.overflow_page_number(request.url)
        if self.mode != FULL and request.meta.get("kind") == "listing" and here and here[1] > 1:
            older = urls.overflow_url(request.url, here[0], here[1] - 1)
            kwargs = request.cb_kwargs
            yield self.listing_request(older, kwargs["channel"], kwargs["root"])

    def record_failure(self, request: Request, failure: Failure) -> None:
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason = f"HTTP {response.status}"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}".strip()
        retries = request.meta.get("retry_times", 0)
        if retries:
            reason += f" (after {retries} retries)"
        # A redirected request is recorded under the URL that was asked for.
        asked = request.meta.get("redirect_urls", [request.url])[0]
        self.failures.record(asked, request.meta.get("kind", "page"), reason,
                             request.headers.get("Referer", b"").decode("latin-1") or None)


def unfinished_run(output_dir: Path, current: str) -> str | None:
    """The id of an earlier run that did not finish (killed, shut down, closed early) and that no
    finished run has followed, from the run manifests (pipelines/runs.py); None when all is well.
    Runs skipped because another held the channel lock did not walk anything: they are ignored."""
    manifests = []
    for path in (output_dir / "runs").glob("*.json"):
        if path.stem == current or path.name.endswith(".checks.json"):
            continue
        manifest = read_json(path)
        if manifest is None:
            continue
        reason = str(manifest.get("finish_reason") or "")
        if manifest.get("start") and not reason.startswith("skipped"):
            manifests.append((manifest["start"], reason, path.stem))
    last_finished = max((start for start, reason, _ in manifests if reason == "finished"), default="")
    unfinished = sorted((start, stem) for start, reason, stem in manifests
                        if reason != "finished" and start >= last_finished)
    return unfinished[-1][1] if unfinished else None


def _referer(response: Response) -> str | None:
    return response.request.headers.get("Referer", b"").decode("latin-1") or None if response.request else None


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


def declared_spiders(channels: Iterable[Channel]) -> dict[str, type[ChannelSpider]]:
    return {spider.__name__: spider for spider in map(_declared, channels)}


globals().update(declared_spiders(CHANNELS))
