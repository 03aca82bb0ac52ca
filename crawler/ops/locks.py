"""Two runs of one channel never overlap: `OUTPUT_DIR/.state/locks/<channel>.lock`.

A crawl takes a lock per listing it starts from when its spider opens: the declared channel's
(`hebei` takes them all), or, for a start URL no channel declares (`scrapy crawl channel -a
start_url=URL`), one named after the URL (`url-<host>-<path>-<hash>.lock`), so that runs of two
URLs go on side by side and two of one URL do not. It is taken with `flock`, which the kernel
drops when the process dies however it dies: a killed run never leaves a stale lock. A run that
finds one of them held does not crawl: it logs who holds it and closes at once with the finish
reason `skipped: overlap`, which its run manifest, its checks and the scheduler's history report;
its log ends with a line naming the file of its verdict (a scrapyd job list shows it finished).
Being an extension, the lock holds for every way a crawl is started: `scrapy crawl`, the
scheduler, cron, systemd, scrapyd; Scrapy's tools (`shell`, `fetch`, `parse`, `check`) crawl no
channel and take none (`pipelines.runs.is_tool_run`).

The lock is per machine (per `OUTPUT_DIR`): crawls on several machines sharing a Redis state are
not kept apart by it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Iterable
from typing import Any, cast

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from crawler.output import FinishReason, OutputDir, run_id
from crawler.site import urls
from crawler.site.channels import CHANNELS, Channel
from crawler.spiders import ChannelCrawl
from pipelines.runs import not_for_tools

logger = logging.getLogger(__name__)

INDEX_PAGE = "index.shtml"


def listing_key(url: str) -> str:
    """One spelling per listing: canonical, and a directory's index page is the directory."""
    key = urls.canonical(url)
    return key.removesuffix(INDEX_PAGE) if key.endswith("/" + INDEX_PAGE) else key


def url_lock_name(url: str) -> str:
    """A file name for a listing URL: readable, and distinct for distinct listings."""
    key = listing_key(url)
    readable = re.sub(r"[^A-Za-z0-9.]+", "-", key.removeprefix("http://")).strip("-")[:80]
    return f"url-{readable}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:10]}"


_DECLARED = {listing_key(url): channel.name for channel in CHANNELS for url in channel.start_urls}


def lock_names(channels: Iterable[Channel], spider_name: str) -> list[str]:
    """The locks a run of these channels takes: per start URL, the declared channel starting
    there, else the URL's own; a spider without channels locks its name."""
    names = {_DECLARED.get(listing_key(url)) or url_lock_name(url) for channel in channels for url in channel.start_urls}
    return sorted(names or {spider_name})


def channel_names(spider: Spider) -> list[str]:
    """The channels a spider walks: its declared channels, else its own name."""
    channels = spider.channels if isinstance(spider, ChannelCrawl) else ()
    return sorted({channel.name for channel in channels} or {spider.name})


def spider_lock_names(spider: Spider) -> list[str]:
    return lock_names(spider.channels if isinstance(spider, ChannelCrawl) else (), spider.name)


class ChannelLock:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.output = OutputDir.of(crawler.settings)
        self.held: list[int] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChannelLock:
        not_for_tools(crawler)
        if crawler.settings.get("FRONTIER") and cls is ChannelLock:
            # the locks of a job (FRONTIER = "redis")
            from crawler.ops.job_locks import JobChannelLock

            return JobChannelLock.from_crawler(crawler)
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.release, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        names = spider_lock_names(spider)
        holder = self.acquire(names)
        if holder is not None:
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("lock/held_by", holder)
            logger.warning("not crawling: another run holds the lock of %s (%s)", ", ".join(names), holder)
            # A spider closed while it opens stops no engine, so no signal comes after Scrapy's
            # "Spider closed": the process's shutdown does. (The reactor is the one Scrapy installed.)
            from twisted.internet import reactor

            # (cast: the reactor is typed as its zope interface, whose methods mypy reads with a self)
            cast(Any, reactor).addSystemEventTrigger("before", "shutdown", self.say_verdict, holder)
            raise CloseSpider(FinishReason.SKIPPED_OVERLAP.value)

    def say_verdict(self, holder: str) -> None:
        """The last line of a skipped run's log says so, and where its verdict is: a scrapyd
        job list shows every job that ended as finished."""
        alert = self.output.alert(run_id(self.crawler))
        verdict = f"the verdict is in {alert.resolve()}" if alert.exists() else "no alert was written"
        logger.warning("run %s ended %s, nothing crawled (held: %s); %s", run_id(self.crawler),
                       FinishReason.SKIPPED_OVERLAP.value, holder, verdict)

    def acquire(self, names: list[str]) -> str | None:
        """Take every lock, or none: returns None, or who holds the first one that is taken."""
        me = f"run {run_id(self.crawler)} (pid {os.getpid()})"
        for name in names:
            path = self.output.channel_lock(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown"
                os.close(fd)
                self.release()
                return f"{name}: {holder}"
            os.ftruncate(fd, 0)
            os.pwrite(fd, me.encode("utf-8"), 0)
            self.held.append(fd)
        return None

    def release(self) -> None:
        # Closing the descriptor drops the lock; the file stays: unlinking it could let two runs
        # lock two different files of one name.
        for fd in self.held:
            os.close(fd)
        self.held = []
