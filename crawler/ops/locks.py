"""Two runs of one channel never overlap: `OUTPUT_DIR/.state/locks/<channel>.lock`.

A crawl takes the lock of every channel it walks (`hebei` takes them all) when its spider opens,
with `flock`, which the kernel drops when the process dies however it dies: a killed run never
leaves a stale lock. A run that finds one of them held does not crawl: it logs who holds it and
closes at once with the finish reason `skipped: overlap`, which its run manifest, its checks and
the scheduler's history report. Being an extension, the lock holds for every way a crawl is
started: `scrapy crawl`, the scheduler, cron, systemd, scrapyd.

The lock is per machine (per `OUTPUT_DIR`): crawls on several machines sharing a Redis state are
not kept apart by it.
"""

from __future__ import annotations

import fcntl
import logging
import os

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from crawler.output import FinishReason, OutputDir, run_id
from crawler.spiders import ChannelCrawl

logger = logging.getLogger(__name__)


def channel_names(spider: Spider) -> list[str]:
    """The channels a spider walks: its declared channels, else its own name."""
    channels = spider.channels if isinstance(spider, ChannelCrawl) else ()
    return sorted({channel.name for channel in channels} or {spider.name})


class ChannelLock:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.output = OutputDir.of(crawler.settings)
        self.held: list[int] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChannelLock:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.release, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        names = channel_names(spider)
        holder = self.acquire(names)
        if holder is not None:
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("lock/held_by", holder)
            logger.warning("not crawling: another run holds the lock of %s (%s)", ", ".join(names), holder)
            raise CloseSpider(FinishReason.SKIPPED_OVERLAP.value)

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
