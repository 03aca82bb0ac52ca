"""Channel spiders: walk listing pages and their pagers, parse every article they list.

One generic spider (`channel`, `-a start_url=URL`) and one spider per declared channel
(crawler/site/channels.py), plus `hebei`, which crawls every declared channel in one run.

Modes (docs/crawling.md):
- incremental (default): each listing is walked from its newest page towards older ones and the
  walk stops at the first page whose stories are all stored already; only unknown articles are
  fetched. What is stored comes from the state store, not from a file of the spider's.
- `-a since=YYYY-MM-DD` (or `since=7d`, the last 7 days: crawler/spiders/arguments.py): every
  listed article dated on or after the day, stored or not; the walk stops at the first page older
  than the day.
- `-a full=1`: everything, every page (a backfill).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.distributed import frontier_job
from crawler.distributed.job import Job
from crawler.extract import Extraction, extract, merge_pages
from crawler.extract.parsers import FallbackParser
from crawler.items import PAGE_FIELDS, Article
from crawler.output import FailureKind, FailureLog, FinishReason, Mode, OutputDir, run_id
from crawler.site import urls
from crawler.site.channels import CHANNELS, Channel
from crawler.site.charset import charset_from_content_type, decode_page
from crawler.site.listing import NOT_A_URL, SCRIPT_OFF_SITE, parse_listing, read_maxpage
from crawler.spiders.arguments import crawl_mode
from crawler.spiders.walk import Walk
from pipelines.state import StateStore, open_state

# The order in which queued requests are fetched (`Request.priority`, higher first): the next page
# of an article (its earlier pages wait in its request), then articles, then listing pages. A
# listing page queues its articles and the listing pages after it; were those fetched first, as
# Scrapy's LIFO queue does for whatever was yielded last, the walk would run down each catalog
# ahead of its articles and the queue would hold a share of the archive (2,762 requests at 30,000
# stories against 1,289 at 10,000). Articles first, the queue holds at most what the listing pages
# in flight listed, at any archive size (`scheduler/queued_max`; docs/backfill.md).
LISTING_PRIORITY = 0
ARTICLE_PRIORITY = 1
CONTINUATION_PRIORITY = 2


class ChannelSpider(scrapy.Spider):
    name = "channel"
    channels: tuple[Channel, ...] = ()
    failures: FailureLog  # made by from_crawler
    domains: tuple[str, ...] = urls.PORTAL_DOMAINS  # the setting PORTAL_DOMAINS, read by from_crawler

    def __init__(self, start_url: str | None = None, since: str | None = None, full: str | None = None,
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if start_url:
            # whether it is the portal's is for from_crawler, which reads the setting PORTAL_DOMAINS
            if (reason := urls.refusal(start_url, ())) and not reason.startswith(urls.OFF_SITE):
                raise ValueError(f"start_url must be a listing page of the portal ({reason}): {start_url!r}")
            self.channels = (Channel(self.name, start_url, (start_url,)),)
        if not self.channels:
            raise ValueError("the channel spider needs -a start_url=URL (a listing page)")
        mode, day = crawl_mode(since, full, date.today())
        # Nothing is known stored until start() opens the state; Scrapy's tools (parse, check) never run it.
        self.walk = Walk(mode, since=day, known_urls=lambda links: set())
        self.state: StateStore | None = None
        self.job: Job | None = None

    @property
    def mode(self) -> Mode:
        return self.walk.mode

    def on_the_portal(self, channels: tuple[Channel, ...], quiet: bool = False) -> tuple[Channel, ...]:
        """The channels with their start URLs on the portal's domains (the setting PORTAL_DOMAINS):
        a start URL of another family is left out and logged (PORTAL_DOMAINS=hebei.com.cn crawls
        the portal as it was before the move); none left is an error."""
        kept = []
        for channel in channels:
            on_portal = tuple(url for url in channel.start_urls if urls.on_site(url, self.domains))
            if on_portal != channel.start_urls and not quiet:
                left_out = ", ".join(url for url in channel.start_urls if url not in on_portal)
                self.logger.info("%s: start URLs not on PORTAL_DOMAINS (%s), not crawled: %s", channel.name,
                                 ", ".join(self.domains), left_out)
            if on_portal:
                kept.append(replace(channel, start_urls=on_portal))
        if not kept:
            raise ValueError(f"no start URL of {self.name} is on the portal's domains (PORTAL_DOMAINS: "
                             f"{', '.join(self.domains)}): {', '.join(u for c in channels for u in c.start_urls)}")
        return tuple(kept)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ChannelSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.domains = tuple(crawler.settings.getlist("PORTAL_DOMAINS"))
        skipped = set(crawler.settings.getlist("CRAWL_SKIP_CHANNELS"))
        if skipped & {c.name for c in spider.channels}:
            spider.logger.info("left out by CRAWL_SKIP_CHANNELS: %s", ", ".join(sorted(skipped & {c.name for c in spider.channels})))
        spider.channels = spider.on_the_portal(tuple(c for c in spider.channels if c.name not in skipped))
        spider.failures = FailureLog(crawler)
        crawler.signals.connect(spider.failures.close, signal=scrapy.signals.spider_closed)
        spider.walk.max_pages = crawler.settings.getint("LISTING_MAX_PAGES")
        spider.walk.max_directories = crawler.settings.getint("LISTING_MAX_DIRECTORIES")
        spider.walk.window = max(1, crawler.settings.getint("LISTING_OVERFLOW_WINDOW"))
        spider.job = frontier_job(crawler.settings)  # None unless FRONTIER = "redis"
        if spider.job is not None:
            spider.job.share(spider.walk)
            crawler.signals.connect(spider.job.close, signal=scrapy.signals.spider_closed)
        return spider

    def our_runs(self) -> set[str]:
        """This run, and under a shared frontier every run of the job: none of them is "earlier"."""
        return {run_id(self.crawler)} | (self.job.runs() if self.job is not None else set())

    def unfinished(self) -> str | None:
        """`unfinished_run`, decided once per job by its first worker under a shared frontier."""
        output = OutputDir.of(self.settings)
        if self.job is None:
            return unfinished_run(output, run_id(self.crawler))
        return self.job.once("walk_all_after", lambda: unfinished_run(output, run_id(self.crawler),
                                                                       self.our_runs()) or "") or None

    async def start(self) -> AsyncIterator[Request]:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("crawl/mode", self.mode.value)
        self.walk.count = self.crawler.stats.inc_value
        if self.mode is Mode.INCREMENTAL:
            self.state = open_state(self.settings)
            self.crawler.signals.connect(self.state.close, signal=scrapy.signals.spider_closed)
            self.walk.known_urls = self.state.known_urls
            unfinished = self.unfinished()
            if unfinished:
                # A run that ended early may have stored the newest pages of a listing and never
                # reached its older ones: this run walks every page (fetching only what is unknown).
                self.walk.walk_all = True
                self.crawler.stats.set_value("crawl/walk_all_after", unfinished)
                self.logger.info("run %s did not finish: walking every listing page", unfinished)
        for channel in self.channels:
            for url in channel.start_urls:
                url = urls.canonical(url)
                yield self.listing_request(url, channel, urls.directory_of(url))
        if self.mode is Mode.INCREMENTAL:
            for request in self.earlier_failures():
                yield request

    def earlier_failures(self) -> list[Request]:
        """The articles the latest earlier run of this spider gave up on (on any of their pages)
        and nobody has stored since. The walk alone would not get back to one listed on an older
        page: it stops at the first page whose articles are all stored."""
        assert self.state is not None and self.crawler.stats is not None
        output = OutputDir.of(self.settings)
        earlier = latest_run(output, self.name, run_id(self.crawler), self.our_runs())
        if earlier is None:
            return []
        channels = {channel.name: channel for channel in self.channels}
        failed: dict[str, Channel] = {}
        for line in FailureLog.read(output.failures(earlier)):
            url, channel = urls.first_page(str(line.get("url") or ""), self.domains), channels.get(str(line.get("channel")))
            if line.get("kind") == FailureKind.ARTICLE and channel is not None and url is not None:
                failed.setdefault(urls.canonical(url), channel)
        retried = sorted(failed.keys() - self.state.known_urls(failed))
        self.crawler.stats.set_value("crawl/retried_failures", len(retried))
        return [self.article_request(url, failed[url]) for url in retried]

    # listings ---------------------------------------------------------------
    def listing_request(self, url: str, channel: Channel, root: str) -> Request:
        return Request(url, callback=self.parse_listing, errback=self.request_failed, priority=LISTING_PRIORITY,
                       cb_kwargs={"channel": channel, "root": root}, meta={"kind": FailureKind.LISTING.value})

    def article_request(self, url: str, channel: Channel) -> Request:
        return Request(url, callback=self.parse_article, errback=self.request_failed, priority=ARTICLE_PRIORITY,
                       cb_kwargs={"channel": channel}, meta={"kind": FailureKind.ARTICLE.value})

    def parse_listing(self, response: Response, channel: Channel | None = None,
                      root: str | None = None) -> Iterator[Request]:
        """A listing page of `channel` (by default the one its URL belongs to: `channel_of`), whose
        sub-listings under `root` (by default the page's directory) are walked too."""
        channel = channel or channel_of(response.url, self.channels, self.name)
        root = root or urls.directory_of(urls.canonical(response.url))
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("listing/pages")
        page = parse_listing(self.decoded(response), response.url, channel.main_list_xpath, domains=self.domains)
        main_links = len(page.articles)
        for url, reason in page.skipped:
            stats.inc_value(f"listing/skipped_links/{reason}")
            if reason not in (NOT_A_URL, SCRIPT_OFF_SITE):
                main_links += 1
            if reason == urls.OFF_SITE:
                # the monitor's host-drift check names these hosts (crawler/ops/monitor.py)
                stats.inc_value(f"listing/offsite_hosts/{urls.host_of(url) or 'unknown'}")
            if reason == SCRIPT_OFF_SITE:
                # without its pager script, the listing's older pages cannot be found
                self.failures.record(url, FailureKind.SCRIPT, "the listing's pager script is not the portal's: "
                                     + (urls.refusal(url) or "not a count_page_list script"), response.url, channel.name)
        stats.inc_value("listing/main_links", main_links)
        if page.problem is not None:
            # what was read before the parser stopped is walked; the failure makes the next run walk all
            stats.inc_value("listing/unreadable_pages")
            self.failures.record(_asked(response), FailureKind.LISTING, page.problem, _referer(response), channel.name)
        if not (page.articles or page.skipped or page.sublistings or page.pager_links or page.count_script):
            yield from self.empty_listing(response, channel, root, recorded=page.problem is not None)
            return
        wanted = self.walk.wanted(page.articles)
        for link in wanted:
            yield self.article_request(link.url, channel)
        for target in page.sublistings:
            if urls.directory_of(target).startswith(root) and self.walk.admit_sublisting(root, target):
                yield self.listing_request(target, channel, root)
        targets, script = self.walk.next_pages(page, response.url, wanted)
        for target in targets:
            yield self.listing_request(target, channel, root)
        if script:
            yield Request(page.count_script or "", callback=self.parse_count_script, errback=self.request_failed,
                          cb_kwargs={"channel": channel, "root": root, "listing_url": response.url,
                                     "catalog": page.catalog},
                          meta={"kind": FailureKind.SCRIPT.value})

    def empty_listing(self, response: Response, channel: Channel, root: str, recorded: bool = False) -> Iterator[Request]:
        """A listing page with no link to read (a "系统繁忙" page served with 200): a failure (unless
        `recorded` already), so that the next run walks every page again (see `unfinished_run`);
        this walk goes on past it as past any failed page."""
        assert self.crawler.stats is not None and response.request is not None
        self.crawler.stats.inc_value("listing/empty_pages")
        request = response.request
        if not recorded:
            self.failures.record(_asked(response), FailureKind.LISTING,
                                 "a listing page without a single link (an error page?)", _referer(response), channel.name)
        for older in self.walk.after_failure(request.url, FailureKind.LISTING):
            yield self.listing_request(older, channel, root)

    def parse_count_script(self, response: Response, channel: Channel, root: str, listing_url: str,
                           catalog: str | None) -> Iterator[Request]:
        maxpage = read_maxpage(response.text)
        found = urls.COUNT_SCRIPT_PATH.search(response.url)
        catalog = catalog or (found.group(1) if found else None)
        if maxpage is None or catalog is None:
            self.failures.record(response.url, FailureKind.SCRIPT, "count script without maxpage or catalog",
                                 listing_url, channel.name)
            return
        for target in self.walk.script_pages(maxpage, catalog, listing_url):
            yield self.listing_request(target, channel, root)

    # articles ---------------------------------------------------------------
    def parse_article(self, response: Response, channel: Channel | None = None,
                      done: tuple[Extraction, ...] = ()) -> Iterator[Article | Request]:
        """An article page of `channel` (by default the one its URL belongs to: `channel_of`), after
        the pages `done` of the same article."""
        channel = channel or channel_of(response.url, self.channels, self.name)
        stats = self.crawler.stats
        assert stats is not None
        page = extract(self.decoded(response), response.url)
        if page.kind == "rolling":
            stats.inc_value("article/skipped/rolling")
            self.logger.info("skipped a rolling live page: %s", response.url)
            return
        if page.kind != "article":
            self.failures.record(_asked(response), FailureKind.ARTICLE, "unreadable page: " + "; ".join(page.problems),
                                 _referer(response), channel.name)
            return
        pages = done + (page,)
        first = pages[0]
        page_urls = self.article_pages(first, response, channel)
        if page_urls is None:
            return
        asked = response.meta.get("article_asked") or _asked(response)
        if len(pages) < len(page_urls):
            yield Request(page_urls[len(pages)], callback=self.parse_article, priority=CONTINUATION_PRIORITY,
                          errback=self.request_failed, cb_kwargs={"channel": channel, "done": pages},
                          meta={"kind": FailureKind.ARTICLE.value, "article_asked": asked}, dont_filter=True)
            return
        yield self.build_item(self.recorded_url(asked, page_urls[0]), pages, channel)

    def recorded_url(self, asked: str, served: str) -> str:
        """The URL a copy is recorded under: the one asked for (the listing's link), also when it
        redirected to the same article on another host of the portal (an old hebei.com.cn URL now
        served by hebccw.cn); the URL that served it when the redirect led to another page."""
        asked = urls.canonical(asked)
        if asked != served and urls.on_site(asked, self.domains) and urls.first_page(asked, self.domains) == asked \
                and urls.article_id(asked) == urls.article_id(served):
            return asked
        return served

    def article_pages(self, first: Extraction, response: Response, channel: Channel) -> list[str] | None:
        """The canonical URLs of the article's pages: its first page, then continuation pages of
        the same article id (`<id>_NN.shtml`) on the portal, at most ARTICLE_MAX_PAGES. None, and
        a failure recorded under the URL asked for, when a page of its `v5.pages` block is none of
        these: stored without one of its pages, the story would be wrong, and unnoticed."""
        listed = [urls.canonical(u) for u in first.page_urls] or [urls.canonical(response.url)]
        article = urls.article_id(listed[0])
        limit = self.settings.getint("ARTICLE_MAX_PAGES")
        if article is None or not urls.on_site(listed[0], self.domains):
            reason = f"its page 1 is not an article URL of the portal: {listed[0]}"
        elif foreign := [u for u in listed[1:] if urls.article_id(u) != article or not urls.on_site(u, self.domains)]:
            reason = f"its pages link pages of another article or site: {', '.join(foreign[:3])}"
        elif len(listed) > limit:
            reason = f"the article claims {len(listed)} pages, more than ARTICLE_MAX_PAGES={limit}"
        else:
            return listed
        self.failures.record(_asked(response), FailureKind.ARTICLE, reason, _referer(response), channel.name)
        return None

    def build_item(self, url: str, pages: tuple[Extraction, ...], channel: Channel) -> Article:
        url = urls.canonical(url)
        merged = merge_pages(list(pages))
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(f"article/parser/{merged['parser']}")
        if merged["parser"] == FallbackParser.name:
            stats.inc_value("article/fallback")
        fields = {name: merged[name] for name in PAGE_FIELDS}
        article = urls.article_id(url)
        assert article is not None  # article_pages() let only article URLs through
        return Article(
            id=article,
            url=url,
            appearances=[{"url": url, "breadcrumbs": fields["breadcrumbs"], "timestamp": fields["timestamp"]}],
            channel=channel.name,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            pages=merged["pages"],
            parser=merged["parser"],
            **fields,
        )

    def decoded(self, response: Response) -> str:
        """The page's text, its charset decided by crawler.site.charset; a page in two charsets
        is counted (`charset/mixed_pages`) and logged."""
        assert self.crawler.stats is not None
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        text, problem = decode_page(response.body, charset_from_content_type(content_type))
        if problem is not None:
            self.crawler.stats.inc_value("charset/mixed_pages")
            self.logger.warning("%s: %s", response.url, problem)
        return text

    def request_failed(self, failure: Failure) -> Iterator[Request]:
        request: Request = failure.request  # type: ignore[attr-defined]
        moved = self.on_newest_family(request, failure)
        if moved is not None:
            yield moved
            return
        self.record_failure(request, failure)
        for older in self.walk.after_failure(request.url, request.meta.get("kind", "")):
            yield self.listing_request(older, request.cb_kwargs["channel"], request.cb_kwargs["root"])

    def on_newest_family(self, request: Request, failure: Failure) -> Request | None:
        """An article page gone (404, 410) from an older host family, asked once more on the newest
        family under the same path: the portal moved (site notes, section 1) and an old listing, or
        an earlier run's failure, still names the old URL. Its failure is recorded only if the new
        URL fails too; a copy it finds is recorded under the new URL, the old one being gone."""
        response = getattr(failure.value, "response", None)
        if (request.meta.get("kind") != FailureKind.ARTICLE or response is None or response.status not in (404, 410)
                or "gone_from" in request.meta):
            return None
        newest = urls.in_newest_family(request.url, self.domains)
        if newest is None:
            return None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("article/asked_on_newest_family")
        meta = {"kind": FailureKind.ARTICLE.value, "gone_from": request.meta.get("redirect_urls", [request.url])[0]}
        if "article_asked" in request.meta:
            meta["article_asked"] = newest if request.meta["article_asked"] == meta["gone_from"] else request.meta["article_asked"]
        return request.replace(url=newest, meta=meta)

    def callback_failed(self, response: Response, error: Exception) -> None:
        """A callback that raised (CallbackFailures, a spider middleware): that page's failure."""
        request = response.request
        kind = request.meta.get("kind", FailureKind.PAGE) if request else FailureKind.PAGE
        channel = request.cb_kwargs.get("channel") if request else None
        self.failures.record(_asked(response), kind, f"callback raised {type(error).__name__}: {error}",
                             _referer(response), channel.name if isinstance(channel, Channel) else None)

    def record_failure(self, request: Request, failure: Failure) -> None:
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason = f"HTTP {response.status}"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}".strip()
        retries = request.meta.get("retry_times", 0)
        if retries:
            reason += f" (after {retries} retries)"
        # A redirected request is recorded under the URL that was asked for; one asked again on the
        # newest host family (`on_newest_family`), under the old URL.
        asked = request.meta.get("redirect_urls", [request.url])[0]
        if "gone_from" in request.meta:
            reason = f"HTTP 404 or 410, and {reason} at {request.url}"
            asked = request.meta["gone_from"]
        channel = request.cb_kwargs.get("channel")
        self.failures.record(asked, request.meta.get("kind", FailureKind.PAGE), reason,
                             request.headers.get("Referer", b"").decode("latin-1") or None,
                             channel.name if isinstance(channel, Channel) else None)


def unfinished_run(output: OutputDir, current: str, ours: Collection[str] = ()) -> str | None:
    """The id of the latest earlier run that did not get everywhere (killed, shut down, closed
    early, or finished with listing pages it could not read) and that no complete run has
    followed, from the run manifests (pipelines/runs.py); None when all is well. Runs skipped
    because another held the channel lock walked nothing: they are ignored, and so are `ours`
    (the other runs of this job)."""
    runs = []
    for path, manifest in output.manifests():
        reason = str(manifest.get("finish_reason") or "")
        if path.stem != current and path.stem not in ours and manifest.get("start") and not FinishReason.is_skipped(reason):
            complete = reason == FinishReason.FINISHED and not (manifest.get("counts") or {}).get("listing_failed")
            runs.append((str(manifest["start"]), complete, path.stem))
    last_complete = max((start for start, complete, _ in runs if complete), default="")
    unfinished = sorted((start, stem) for start, complete, stem in runs if not complete and start >= last_complete)
    return unfinished[-1][1] if unfinished else None


def latest_run(output: OutputDir, spider: str, current: str, ours: Collection[str] = ()) -> str | None:
    """The id of the latest earlier run of `spider` that walked anything (not one of `ours`)."""
    runs = [(str(manifest["start"]), path.stem) for path, manifest in output.manifests()
            if manifest.get("spider") == spider and path.stem != current and path.stem not in ours
            and manifest.get("start")
            and not FinishReason.is_skipped(str(manifest.get("finish_reason") or ""))]
    return max(runs)[1] if runs else None


def channel_of(url: str, channels: Iterable[Channel], spider: str) -> Channel:
    """The channel a page belongs to when no request says (`scrapy parse`, `scrapy check`): of
    `channels`, the one whose start URL's directory holds the page, the deepest; else the only one;
    else a channel named after the spider, starting at the page."""
    channels = tuple(channels)
    page = urls.canonical(url)
    folders = [(folder, channel) for channel in channels for start in channel.start_urls
               if page.startswith(folder := urls.canonical(start).rsplit("/", 1)[0] + "/")]
    if folders:
        return max(folders, key=lambda found: len(found[0]))[1]
    return channels[0] if len(channels) == 1 else Channel(spider, spider, (page,))


def _asked(response: Response) -> str:
    """The URL that was asked for: a redirected request's first URL."""
    request = response.request
    return request.meta.get("redirect_urls", [request.url])[0] if request is not None else response.url


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
