"""`OUTPUT_DIR` and the runs recorded in it: one home for every path under it (`OutputDir`), the
one reader of run manifests, a run's id, its JSON-lines logs (failures, rejects) and the words
runs are described with (modes, finish reasons). docs/data.md's table of OUTPUT_DIR is checked
against `OutputDir.PATHS` by a test.

This module is the bottom of the crawl's layers next to `crawler.items`: the spiders, the
pipelines and the operations tools all import it, and it imports none of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, ClassVar

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings


class Mode(StrEnum):
    """How a run walks its listings (docs/crawling.md)."""

    INCREMENTAL = "incremental"  # newest first, stopping at the first page with nothing new
    SINCE = "since"  # every listed article dated on or after a day
    FULL = "full"  # everything, every page


class FinishReason(StrEnum):
    """A run's `finish_reason` in its manifest. Scrapy's own reasons (`shutdown`,
    `closespider_*`, `cancelled`) pass through as they are; these are the ones this project
    writes or reads."""

    FINISHED = "finished"  # Scrapy's reason for a run that did all its work
    SHUTDOWN = "shutdown"  # Scrapy's reason after SIGTERM/SIGINT
    KILLED = "killed"  # written by the next run for a process that died without closing
    SKIPPED_OVERLAP = "skipped: overlap"  # another run held one of the channels' locks

    @staticmethod
    def is_skipped(reason: str | None) -> bool:
        """A run that did no work at all (it walked nothing)."""
        return str(reason or "").startswith("skipped")


class FailureKind(StrEnum):
    """What a failure line (`failures/<run_id>.jsonl`) was fetching."""

    LISTING = "listing"
    ARTICLE = "article"
    SCRIPT = "script"  # a pager's count_page_list_*.js
    PAGE = "page"  # anything else


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when it is missing, unreadable or not an object."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


@dataclass(frozen=True)
class OutputDir:
    """Every path under OUTPUT_DIR, one method each; `PATHS` is the layout they follow."""

    root: Path

    PATHS: ClassVar[Mapping[str, str]] = MappingProxyType({
        "partition": "articles/{partition}/articles.jsonl",
        "manifest": "runs/{run}.json",
        "failures": "failures/{run}.jsonl",
        "rejects": "rejects/{run}.jsonl",
        "checks": "checks/{run}.json",
        "alert": "alerts/{run}.json",
        "report": "report.html",
        "schedule_history": "schedule/history.jsonl",
        "schedule_log": "schedule/logs/{run}.log",
        "state": ".state/",
        "run_lock": ".state/runs/{run}.lock",
        "channel_lock": ".state/locks/{channel}.lock",
        "scheduler_lock": ".state/locks/scheduler.lock",
        "writer_lock": ".state/writer.lock",
    })

    @classmethod
    def of(cls, settings: BaseSettings) -> OutputDir:
        return cls(Path(settings["OUTPUT_DIR"]))

    def _path(self, name: str, **parts: str) -> Path:
        return self.root / self.PATHS[name].format(**parts)

    def partition(self, partition: str) -> Path:
        """A date partition's file (`partition` is `date=YYYY-MM-DD`)."""
        return self._path("partition", partition=partition)

    def partition_files(self) -> list[Path]:
        """Every partition file there is, in date order."""
        return sorted(self.root.glob(self.PATHS["partition"].format(partition="date=*")))

    def manifest(self, run: str) -> Path:
        return self._path("manifest", run=run)

    def failures(self, run: str) -> Path:
        return self._path("failures", run=run)

    def rejects(self, run: str) -> Path:
        return self._path("rejects", run=run)

    def checks(self, run: str) -> Path:
        return self._path("checks", run=run)

    def alert(self, run: str) -> Path:
        return self._path("alert", run=run)

    def report(self) -> Path:
        return self._path("report")

    def schedule_history(self) -> Path:
        return self._path("schedule_history")

    def schedule_log(self, run: str) -> Path:
        return self._path("schedule_log", run=run)

    def state(self) -> Path:
        """The SQLite state's directory (and the locks under it)."""
        return self._path("state")

    def run_lock(self, run: str) -> Path:
        return self._path("run_lock", run=run)

    def channel_lock(self, channel: str) -> Path:
        return self._path("channel_lock", channel=channel)

    def scheduler_lock(self) -> Path:
        return self._path("scheduler_lock")

    def writer_lock(self) -> Path:
        """Held by the one process writing partition files (pipelines/store.py, `partitions_writer`)."""
        return self._path("writer_lock")

    def manifests(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Every readable run manifest, with its path, in run id order: the one reader of them."""
        for path in sorted(self.root.glob(self.PATHS["manifest"].format(run="*"))):
            manifest = read_json(path)
            if manifest is not None and "run_id" in manifest:
                yield path, manifest


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
    """A run's log under OUTPUT_DIR (`FOLDER`, an `OutputDir` path), one JSON line per entry, opened at its first line;
    each line flushed, and fsynced too when `DURABLE`."""

    FOLDER = ""
    DURABLE = False

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.handle: IO[str] | None = None

    @property
    def path(self) -> Path:
        output = OutputDir.of(self.crawler.settings)
        return getattr(output, self.FOLDER)(run_id(self.crawler))  # type: ignore[no-any-return]

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
    """Pages a crawl gave up on, one JSON line each (`OUTPUT_DIR/failures/<run_id>.jsonl`). An
    operator reads it the morning after: every URL that could not be fetched or read, after
    retries, with the reason. Nothing is dropped silently."""

    FOLDER = "failures"

    def record(self, url: str, kind: str, reason: str, referer: str | None = None, channel: str | None = None) -> None:
        """One page given up on: `kind` is listing, article, script; `reason` says why; `channel`
        is the channel whose walk asked for it (the next run retries a failed article under it)."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("failures/total")
        self.crawler.stats.inc_value(f"failures/{kind}")
        self.append({"url": url, "kind": kind, "reason": reason, "referer": referer, "channel": channel,
                     "at": datetime.now(UTC).isoformat(timespec="seconds")})

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        """The lines of one run's failure file ([] when it has none); a line cut short by a killed
        process is left out."""
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict):
                lines.append(found)
        return lines
