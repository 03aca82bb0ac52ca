"""Pages a crawl gave up on, one JSON line each: `OUTPUT_DIR/failures/<run_id>.jsonl`.

An operator reads this file the morning after: every URL that could not be fetched or read,
after retries, with the reason. Nothing is dropped silently.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler


def run_id(crawler: Crawler) -> str:
    """This run's id: the RUN_ID setting, or one made from the start time, spider and pid.

    Kept in the stats (`run/id`) so that every component of the run names the same run.
    """
    assert crawler.stats is not None
    current = crawler.stats.get_value("run/id")
    if current is None:
        spider = crawler.spidercls.name if crawler.spidercls else "crawl"
        current = crawler.settings.get("RUN_ID") or (
            f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{spider}-{os.getpid()}"
        )
        crawler.stats.set_value("run/id", current)
    return str(current)


class RunLog:
    """`OUTPUT_DIR/<FOLDER>/<run_id>.jsonl`, one JSON line per entry, opened at its first line;
    each line flushed, and fsynced too when `DURABLE`."""

    FOLDER = ""
    DURABLE = False

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.handle: IO[str] | None = None

    @property
    def path(self) -> Path:
        return Path(self.crawler.settings.get("OUTPUT_DIR")) / self.FOLDER / f"{run_id(self.crawler)}.jsonl"

    def append(self, line: dict[str, Any]) -> None:
        if self.handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.path.open("a", encoding="utf-8")
        self.handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        self.handle.flush()
        if self.DURABLE:
            os.fsync(self.handle.fileno())

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class FailureLog(RunLog):
    FOLDER = "failures"

    def record(self, url: str, kind: str, reason: str, referer: str | None = None) -> None:
        """One page given up on: `kind` is listing, article, script; `reason` says why."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("failures/total")
        self.crawler.stats.inc_value(f"failures/{kind}")
        self.append({"url": url, "kind": kind, "reason": reason, "referer": referer,
                     "at": datetime.now(UTC).isoformat(timespec="seconds")})
