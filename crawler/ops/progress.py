"""Progress of a running crawl: a live line on a terminal, plain periodic log lines otherwise.

On a terminal (stderr is a tty) one line at the bottom is redrawn twice a second: pages fetched,
items, stories stored, rejected, failed, the rate, and, in a full crawl once the pagers have told
how many listing pages there are, an estimate of the share of the known work done and of the
time left (a lower bound: listings found later add to it). Log records clear the line before
they print; the next redraw brings it back. Elsewhere (cron, systemd, scrapyd, a pipe) the same
figures go to the log every `PROGRESS_INTERVAL` seconds.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, TextIO

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call
from scrapy.utils.log import get_scrapy_root_handler
from twisted.internet.task import LoopingCall

from crawler.spiders import ChannelCrawl
from pipelines.runs import not_for_tools

LIVE_INTERVAL = 0.5
RATE_WINDOW = 10.0  # seconds the rate is measured over
CLEAR_LINE = "\r\x1b[K"
DEFAULT_WIDTH = 120  # a terminal that does not say its width

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Estimate:
    listings_done: int
    listings_total: int
    share: float  # of the articles expected
    seconds_left: float | None


def estimate(stats: dict[str, Any], ceilings: dict[str, int], articles_asked: int, elapsed: float) -> Estimate | None:
    """Only a full crawl walks every listing page, and only a pager tells how many a catalog has
    (its highest overflow page, plus its index): the articles still to come are about as many per
    listing page as so far. Catalogs found later (sub-listings) are not counted yet, so the share
    is of the work known so far and the time left a lower bound."""
    listings_done = stats.get("listing/pages", 0)
    if stats.get("crawl/mode") != "full" or not ceilings or not listings_done:
        return None
    listings_total = max(sum(n + 1 for n in ceilings.values()), listings_done)
    articles_expected = articles_asked / listings_done * listings_total
    if not articles_expected:
        return None
    articles_done = (stats.get("item_scraped_count", 0) + stats.get("item_dropped_count", 0)
                     + stats.get("failures/article", 0) + stats.get("article/skipped/rolling", 0))
    share = min(1.0, articles_done / articles_expected)
    seconds_left = elapsed * (1 - share) / share if share > 0 else None
    return Estimate(listings_done, listings_total, share, seconds_left)


def describe(stats: dict[str, Any], rate: float | None, guess: Estimate | None) -> str:
    """The progress line; the rate only once there is one (pages over some time)."""
    get = stats.get
    parts = [
        f"{get('downloader/response_count', 0)} pages",
        f"{get('item_scraped_count', 0)} items",
        f"{get('pipeline/stories_new', 0)} new stories",
        f"{get('pipeline/copies_merged', 0)} copies merged",
        f"{get('pipeline/rejected', 0)} rejected",
        f"{get('failures/total', 0)} failed",
    ]
    if rate is not None:
        parts.append(f"{rate:.1f} pages/s")
    if guess is not None:
        left = f", >= {_duration(guess.seconds_left)} left" if guess.seconds_left is not None else ""
        parts.append(f"listings {guess.listings_done}/{guess.listings_total} known, "
                     f"~{guess.share:.0%} of the known work done{left}")
    return " | ".join(parts)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ClearLine(logging.Filter):
    """Clears the live line before a log record is printed over it."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream

    def filter(self, record: logging.LogRecord) -> bool:
        self.stream.write(CLEAR_LINE)
        return True


class Progress:
    def __init__(self, crawler: Crawler, stream: TextIO, interval: float) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.stream = stream
        self.live = stream.isatty()
        self.interval = LIVE_INTERVAL if self.live else interval
        self.started = time.monotonic()
        self.pages: deque[tuple[float, int]] = deque()
        self.task: AsyncioLoopingCall | LoopingCall | None = None
        self.clear_line: ClearLine | None = None
        self.spider: Spider | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        not_for_tools(crawler)
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        progress = cls(crawler, sys.stderr, interval)
        crawler.signals.connect(progress.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(progress.spider_closed, signal=signals.spider_closed)
        return progress

    def spider_opened(self, spider: Spider) -> None:
        self.spider = spider
        self.started = time.monotonic()
        # the first rate is measured from here, not from the first line alone
        self.pages.append((self.started, self.stats.get_value("downloader/response_count", 0)))
        if self.live:
            self.clear_line = ClearLine(self.stream)
            handler = get_scrapy_root_handler()
            if handler is not None:
                handler.addFilter(self.clear_line)
        self.task = create_looping_call(self.show)
        self.task.start(self.interval, now=False)

    def line(self, with_estimate: bool = True) -> str:
        stats = self.stats.get_stats()
        now = time.monotonic()
        self.pages.append((now, stats.get("downloader/response_count", 0)))
        while len(self.pages) > 2 and now - self.pages[0][0] > RATE_WINDOW:
            self.pages.popleft()
        (t0, p0), (t1, p1) = self.pages[0], self.pages[-1]
        rate = (p1 - p0) / (t1 - t0) if t1 > t0 else None
        walk = self.spider.walk if isinstance(self.spider, ChannelCrawl) else None
        ceilings: dict[str, int] = dict(walk.overflow_ceiling) if walk else {}
        asked = len(walk.requested) if walk else 0
        guess = estimate(stats, ceilings, asked, now - self.started) if with_estimate else None
        return describe(stats, rate, guess)

    def show(self) -> None:
        text = self.line()
        if self.live:
            self.stream.write(CLEAR_LINE + text[: self.width() - 1])
            self.stream.flush()
        else:
            logger.info("progress: %s", text)

    def width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError):
            columns = 0
        return columns or DEFAULT_WIDTH

    def spider_closed(self) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        if self.live:
            # the last figures stay on screen; an estimate is no use any more
            self.stream.write(CLEAR_LINE + self.line(with_estimate=False)[: self.width() - 1] + "\n")
            self.stream.flush()
            handler = get_scrapy_root_handler()
            if handler is not None and self.clear_line is not None:
                handler.removeFilter(self.clear_line)


class QueuePeak:
    """`scheduler/queued_max`: the most requests the scheduler held at once in this run (the
    queue's share of a crawl's memory: each queued request holds its URL, `cb_kwargs` and `meta`),
    from the scheduler's `scheduler/enqueued` and `scheduler/dequeued` as each request is scheduled,
    so that a peak between two progress lines is not missed."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.highest = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> QueuePeak:
        peak = cls(crawler)
        crawler.signals.connect(peak.request_scheduled, signal=signals.request_scheduled)
        return peak

    def request_scheduled(self, request: Any, spider: Spider) -> None:
        get = self.stats.get_value  # before this request is counted in (or filtered out)
        queued = get("scheduler/enqueued", 0) - get("scheduler/dequeued", 0)
        if queued > self.highest:
            self.highest = queued
            self.stats.set_value("scheduler/queued_max", queued)
