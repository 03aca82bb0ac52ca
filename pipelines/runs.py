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

A job of several workers (`FRONTIER = "redis"`, docs/distributed.md) is one entry of the feed:
its last worker writes `runs/<job run id>.json` (`JobLedger`, `job_manifest`) when the job ends,
listing every partition the job changed, the start of its first worker, the end of its last, the
last worker's finish reason, the job's totals and its `parts`. Each worker still keeps its own
manifest in `runs/`, marked `"part_of": <job run id>`: it is a live process (the liveness lock and
"killed" work as for any run) and it names the partitions it recorded before the writer changes
them, but it is a part, not an entry: readers of the feed (`feed_manifests`) skip it. Why keep the
parts in `runs/` rather than elsewhere: every run sharing the OUTPUT_DIR asks them whether a
process is alive before it makes ids final, and a killed worker's part is what makes the next run
walk every page (crawler/spiders/channel.py, `unfinished_run`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.spider import DefaultSpider

from crawler.output import FinishReason, OutputDir, read_json, run_id
from pipelines.files import make_dirs, write_atomically

if TYPE_CHECKING:
    from crawler.distributed.job import Job

# The stats of a job's totals that are the largest of its workers' values, not their sum.
LARGEST = ("memusage/",)


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


def counts_of(stats: Mapping[str, Any]) -> dict[str, int]:
    """A manifest's `counts`, from a run's stats (or a job's totals)."""
    get = stats.get
    return {
        "pages_fetched": int(get("downloader/response_count", 0)),
        "stories_new": int(get("pipeline/stories_new", 0)),
        "stories_updated": int(get("pipeline/stories_updated", 0)),
        "copies_merged": int(get("pipeline/copies_merged", 0)),
        "rejected": int(get("pipeline/rejected", 0)),
        "failed": int(get("failures/total", 0)),
        "listing_failed": int(get("failures/listing", 0)),
    }


def partition_paths(output: OutputDir, partitions: Iterable[str]) -> list[str]:
    """Partitions as a manifest names them: their files, relative to OUTPUT_DIR."""
    return [output.partition(p).relative_to(output.root).as_posix() for p in sorted(partitions)]


def is_part(manifest: Mapping[str, Any]) -> bool:
    """A worker's own manifest, part of a job's entry (`part_of`)."""
    return bool(manifest.get("part_of"))


def feed_manifests(output: OutputDir) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The entries of the feed: every manifest but the parts of jobs (one job, one entry)."""
    return ((path, manifest) for path, manifest in output.manifests() if not is_part(manifest))


def numeric_stats(stats: Mapping[str, Any]) -> dict[str, float]:
    """The stats a job adds up across its workers: the numbers."""
    return {key: value for key, value in stats.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


def job_totals(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """A job's stats: its workers' numbers added up (`LARGEST`: the largest)."""
    totals: dict[str, float] = {}
    for stats in parts:
        for key, value in stats.items():
            if key.startswith(LARGEST):
                totals[key] = max(totals.get(key, value), value)
            else:
                totals[key] = totals.get(key, 0) + value
    return totals


def job_run_id(start: str, spider: str | None, job: str) -> str:
    """The run id of a job's entry: its first worker's start, the spider and the job's name (file-safe)."""
    stamp = datetime.fromisoformat(start).astimezone(UTC)
    return f"{stamp:%Y%m%dT%H%M%SZ}-{spider}-job-{re.sub(r'[^A-Za-z0-9_.-]', '_', job)}"


@dataclass(frozen=True)
class JobRecord:
    """What a job's workers recorded in its keys, read by its last worker while they exist."""

    run_id: str
    start: str
    parts: dict[str, dict[str, Any]]  # run id -> {"start", "end" (None: it never closed), "stats"}
    partitions: frozenset[str]
    touched: frozenset[int]
    updated: int = 0  # stories of earlier runs than the job's that a worker changed

    def totals(self, own_run: str, own_stats: Mapping[str, Any]) -> dict[str, float]:
        """The job's stats, with this worker's own as they are now (its part holds them as of
        its pipelines' close: the final write and the checks came after). Its stories updated
        are counted once, from the ledger: a story two workers changed is one, and one that a
        worker created and another changed is the job's own, not an earlier run's."""
        others = [part.get("stats") or {} for run, part in self.parts.items() if run != own_run]
        return {**job_totals([*others, numeric_stats(own_stats)]), "pipeline/stories_updated": self.updated}

    def killed(self) -> list[str]:
        """The workers that joined and never closed (SIGKILL, a lost machine)."""
        return sorted(run for run, part in self.parts.items() if part.get("end") is None)


class JobLedger:
    """A job's record in its Redis keys (`hebei:job:<name>:ledger:*`, removed with the job's
    other keys): its run id (fixed by the first worker), every worker's part (start, end, numeric
    stats at its close), the partitions and stories its copies were recorded in."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def key(self, name: str) -> str:
        return self.job.key("ledger", name)

    def run_id(self, spider: str | None, start: str) -> str:
        """The job's entry's run id: the first worker to ask fixes it, with its own start."""
        return self.job.once("ledger_run_id", lambda: job_run_id(start, spider, self.job.name))

    def begin(self, run: str, start: str) -> None:
        self.job.redis.hset(self.key("parts"), run, json.dumps({"start": start, "end": None, "stats": {}}))

    def record(self, partitions: Iterable[str], stories: Iterable[int], updated: Iterable[int] = (),
               created: Iterable[int] = ()) -> None:
        """Copies of this job were recorded in `stories`, of `partitions`; of those stories,
        `updated` changed though an earlier run created them (as far as this worker knows: it may
        be another worker of the job), `created` are new (one round trip)."""
        sets = {"partitions": sorted(partitions), "touched": sorted(stories), "updated": sorted(updated),
                "created": sorted(created)}
        if not any(sets.values()):
            return
        writes = self.job.redis.pipeline(transaction=False)
        for name, members in sets.items():
            if members:
                writes.sadd(self.key(name), *members)
        writes.execute()

    def end(self, run: str, start: str, stats: Mapping[str, Any]) -> None:
        """This worker's part, closed: its numbers join the job's totals."""
        part = {"start": start, "end": now(), "stats": numeric_stats(stats)}
        self.job.redis.hset(self.key("parts"), run, json.dumps(part))

    def read(self, spider: str | None, start: str) -> JobRecord:
        reads = self.job.redis.pipeline(transaction=False)
        reads.hgetall(self.key("parts"))
        reads.smembers(self.key("partitions"))
        reads.smembers(self.key("touched"))
        reads.sdiff([self.key("updated"), self.key("created")])
        parts, partitions, touched, updated = reads.execute()
        parts = {run: json.loads(part) for run, part in parts.items()}
        first = min((part["start"] for part in parts.values() if part.get("start")), default=start)
        return JobRecord(self.run_id(spider, first), first, parts, frozenset(partitions),
                         frozenset(int(key) for key in touched), len(updated))


def job_manifest(output: OutputDir, record: JobRecord, spider: str | None, job: str, reason: str,
                 totals: Mapping[str, Any], written: Iterable[str]) -> dict[str, Any]:
    """The job's entry of the feed: one manifest for every worker's work."""
    return {
        "run_id": record.run_id,
        "spider": spider,
        "job": job,
        "start": record.start,
        "end": now(),
        "finish_reason": reason,
        "counts": counts_of(totals),
        "partitions": partition_paths(output, record.partitions | set(written)),
        "parts": sorted(record.parts),
        "parts_killed": record.killed(),
    }


def write_manifest(output: OutputDir, manifest: Mapping[str, Any]) -> None:
    write_atomically(output.manifest(str(manifest["run_id"])), json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")


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
        self.part_of: str | None = None  # the run id of its job's entry, for a worker of a job

    def open(self) -> None:
        """Take this run's liveness lock, write the first manifest, mark dead runs killed."""
        lock = self.output.run_lock(self.run_id)
        make_dirs(lock.parent)
        self.lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
        self.write(end=None, finish_reason=None)
        self.mark_dead_runs()

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
            "counts": counts_of(self.stats.get_stats()),
            "partitions": partition_paths(self.output, self.partitions),
        }
        if self.part_of:
            manifest["part_of"] = self.part_of
        write_manifest(self.output, manifest)

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
