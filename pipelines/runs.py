"""Run manifests: `OUTPUT_DIR/runs/<run_id>.json`, the data teams' incremental feed.

A manifest is written when a run starts, rewritten before every batch of partition writes (so it
names a partition before the partition changes: a run killed after a write still lists it) and at
the end. A manifest whose `end` is null belongs to a run that is still going; the next run to
start marks a dead one `"finish_reason": "killed"` (a run holds a lock on
`OUTPUT_DIR/.state/runs/<run_id>.lock` while it lives; the kernel drops it when the process dies).
A run is alive while its manifest has not ended and its lock is held (`lock_held`): the store asks
this (`RunManifest.others_alive`) before it makes ids final (docs/data.md, "Story identity").

Scrapy's tools (`shell`, `fetch`, `parse`, `check`) run spiders too, and keep no run: no manifest
here, no lock, no checks, no progress line (`is_tool_run`).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.spider import DefaultSpider

from crawler.output import FinishReason, OutputDir, read_json, run_id
from pipelines.files import make_dirs, write_atomically


def is_tool_run(crawler: Crawler) -> bool:
    """Whether this crawler is one of Scrapy's tools rather than a crawl: then no run is kept, by
    any of the components that keep one (the channel locks, this manifest and the store, the
    checks, the progress line), each of which asks this in `from_crawler` (`not_for_tools`).

    A tool runs Scrapy's own `default` spider (`shell`, `fetch`, `view`), or a spider of the
    project whose `start` it replaced by its own requests (`parse`, `check`, `fetch --spider`,
    `bench`), or a channel spider whose `start` is Scrapy's empty one, which walks nothing
    (`shell --spider`, crawler/commands/shell.py; `parsers`, the samples of `scrapy check`). A
    channel spider is read by its `channels`, as `crawler.spiders.ChannelCrawl` declares them
    (that layer is above this one); a spider without them is some other caller's, which keeps
    its run (the pipelines driven by tests and benchmarks)."""
    spidercls = crawler.spidercls
    if spidercls is None or issubclass(spidercls, DefaultSpider):
        return True
    if spidercls.start.__module__.startswith("scrapy.commands."):
        return True
    return isinstance(getattr(spidercls, "channels", None), tuple) and spidercls.start is Spider.start


def not_for_tools(crawler: Crawler) -> None:
    """For a component's `from_crawler`: not configured in a tool's run (`is_tool_run`)."""
    if is_tool_run(crawler):
        raise NotConfigured(f"a tool's run (spider {crawler.spidercls.name if crawler.spidercls else None!r}), "
                            "not a crawl: nothing to keep")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def lock_held(path: Path) -> bool:
    """Whether a run's liveness lock is held by a live process (a missing file is held by none)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the probe's lock, if it got it
    return False


class RunManifest:
    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.output = OutputDir.of(crawler.settings)
        self.run_id = run_id(crawler)
        self.spider = crawler.spidercls.name if crawler.spidercls else None
        self.path = self.output.manifest(self.run_id)
        self.lock_fd: int | None = None
        self.start = now()
        self.partitions: set[str] = set()

    def open(self) -> None:
        """Take this run's liveness lock, write the first manifest, mark dead runs killed."""
        lock = self.output.run_lock(self.run_id)
        make_dirs(lock.parent)
        self.lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        self.write(end=None, finish_reason=None)
        self.mark_dead_runs()

    def counts(self) -> dict[str, int]:
        get = self.stats.get_value
        return {
            "pages_fetched": get("downloader/response_count", 0),
            "stories_new": get("pipeline/stories_new", 0),
            "stories_updated": get("pipeline/stories_updated", 0),
            "copies_merged": get("pipeline/copies_merged", 0),
            "rejected": get("pipeline/rejected", 0),
            "failed": get("failures/total", 0),
            "listing_failed": get("failures/listing", 0),
        }

    def announce(self, partitions: set[str]) -> None:
        """Name partitions in the manifest before they are written."""
        if not partitions <= self.partitions:
            self.partitions |= partitions
            self.write(end=None, finish_reason=None)

    def write(self, end: str | None, finish_reason: str | None) -> None:
        manifest = {
            "run_id": self.run_id,
            "spider": self.spider,
            "start": self.start,
            "end": end,
            "finish_reason": finish_reason,
            "counts": self.counts(),
            "partitions": [self.output.partition(p).relative_to(self.output.root).as_posix()
                           for p in sorted(self.partitions)],
        }
        write_atomically(self.path, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")

    def close(self, reason: str) -> None:
        """The last manifest, then the run is no longer alive: even when the manifest cannot be
        written (a full disk), the lock goes (the next run then marks this one killed)."""
        try:
            self.write(end=now(), finish_reason=reason)
        finally:
            if self.lock_fd is not None:
                os.close(self.lock_fd)
                self.output.run_lock(self.run_id).unlink(missing_ok=True)
                self.lock_fd = None

    def open_runs(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """The manifests of other runs that have not ended: alive, or dead without a word."""
        for path, manifest in self.output.manifests():
            if path != self.path and manifest.get("end") is None and not manifest.get("finish_reason"):
                yield path, manifest

    def others_alive(self) -> list[str]:
        """The ids of the other runs alive now (not ended, their liveness lock held)."""
        return [path.stem for path, _ in self.open_runs() if lock_held(self.output.run_lock(path.stem))]

    def mark_dead_runs(self) -> None:
        for path, _ in self.open_runs():
            lock = self.output.run_lock(path.stem)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # alive
                continue
            try:
                manifest = read_json(path)
                if manifest is not None and manifest.get("finish_reason") is None:
                    manifest["finish_reason"] = FinishReason.KILLED.value
                    manifest["marked_killed_by"] = self.run_id
                    write_atomically(path, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
                lock.unlink(missing_ok=True)
            finally:
                os.close(fd)
