"""The store: one line per distinct story in `OUTPUT_DIR/articles/date=YYYY-MM-DD/articles.jsonl`,
exactly once, across channels, runs, crashes and concurrent crawl processes.

Each item is one copy. Items are gathered and, every `STORE_FLUSH_SECONDS` (or every
`BATCH_ITEMS` items), `StateStore.record_copies` merges each into its story (or creates the story)
in one transaction and marks the stories' date partitions pending. Every `STORE_WRITE_SECONDS`,
and at the end of the run, the pending partitions are rewritten whole from the state: temp file,
fsync, rename, fsync the directory, under the partitions lock. A story is stored once its
partition is marked written. A copy recorded but not yet written when the process dies is written
by the next run to open (the first thing a run does is finish the partitions a killed run left
pending); a copy gathered but not yet recorded is simply not stored (and so not known: the next run
fetches it again).

Two intervals, because the two steps cost differently: recording is cheap and bounds what a
killed process loses to a second; a rewrite costs a file creation (and, for a new day, a
directory) per partition, and a partition rewritten every second is rewritten again and again as
copies of its stories arrive from other collections (docs/data.md, Performance).

The two partitions of a story that moved to another day are rewritten in the same round (the state
keeps the pair: `StateStore.moved_together`), so that no reader finds it in both files, nor in
neither. At open, a cheap check (docs/data.md, "Verify and repair"): a damaged state stops the run
with one message (finish reason `state_damaged`); a partition file that is gone though the state
holds its stories is written again, with a WARNING; both count `store/verify_problems`.

Stats (the crawl summary reads them): `pipeline/stories_new` (= `pipeline/stories_written`: lines
this run added; `/<channel>`: by the channel of the copy that made the story, which the report
splits a run of several channels by), `pipeline/stories_updated` (stories of earlier runs whose line changed),
`pipeline/copies_merged` (and `/fingerprint`, `/near_duplicate`: what matched), `copies_changed`
(pages seen again with new content), `copies_unchanged`, `copies_failed` (logged with the reason),
`partitions_written`, `partitions_recovered` (pending at open).

A failing state store (a Redis that went away, a database on a full disk) or a file that cannot
be written (ENOSPC) never crashes the run: each is logged and counted, `store/backend_errors`
(`/<exception>`) and `store/write_errors` (`/<errno>`), the copies it lost in `copies_failed`, and
the monitor fails the run. What was not written stays pending for the next run.

At the end of a run that finished, the ids of the stories it touched are settled
(`StateStore.finalise_ids`, docs/data.md "Story identity"): final when no other run is alive
(`store/ids_finalised`), else kept ready for the last run to end (`store/ids_left_ready`).

One writer of partition files per OUTPUT_DIR at a time: every write holds `partitions_writer`, a
`flock` on `OUTPUT_DIR/.state/writer.lock`, and no other lock. Why a flock and not the state's
partitions lock: the Redis state's lock expires (60 s, so that a killed holder does not block
everyone), and a writer that stalls past that expiry after reading its snapshot (a pause, a
swapped-out process, a slow disk, or simply a final write of thousands of partitions) would then
rename its older snapshot over the newer file that another writer wrote meanwhile, and the state
would call the partition written. A flock has no expiry: a stalled holder keeps it, the kernel
drops it when the holder dies. So every process that writes an OUTPUT_DIR's partitions runs where
that flock holds: on the machine of OUTPUT_DIR, or on a shared file system that keeps flock
across its clients (NFSv4).

Under a job of several workers (`FRONTIER = "redis"`, docs/distributed.md) a worker only
records: its partitions stay pending and it writes no partition file during the job. Exactly one
process writes them: `scrapy store write --follow` on the host of OUTPUT_DIR (every
`STORE_WRITE_SECONDS`), and, when the job is done (`crawler.signals.job_done`, sent by the job's
last worker only), that last worker's final write, under the same flock. The job's steps at its
end are the last worker's, once for the job: the final write, the ids of everything any worker
touched made final (`JobLedger` collects them as copies are recorded), and the job's manifest
(`pipelines.runs.job_manifest`); the monitor then judges the job's totals once.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.statscollectors import StatsCollector

from crawler import signals as project_signals
from crawler.compact import IntSet
from crawler.distributed import frontier_job
from crawler.distributed.job import Job
from crawler.output import FinishReason, Mode, OutputDir
from pipelines.dedupe import Copy
from pipelines.files import (
    REPLACE_CHARS,
    Content,
    file_lock,
    remove_stale_temps,
    replace_files,
    rounds,
)
from pipelines.runs import (
    JobLedger,
    JobRecord,
    RunManifest,
    job_manifest,
    not_for_tools,
    write_manifest,
)
from pipelines.state import CHANGED, FAILED, MERGED, NEW, UNCHANGED, Outcome, StateStore, open_state
from pipelines.state.protocol import Snapshot, StateError, damaged
from pipelines.validate import record_of

BATCH_ITEMS = 1000  # copies recorded in one transaction at most: bounds memory and lock time
# The reason of a copy lost because the state failed as a whole (logged once per batch, not per copy).
STATE_FAILED = "not recorded: the state store failed"
# The finish reason of a run whose state is damaged or unreachable: it stops before it crawls.
STATE_DAMAGED = "state_damaged"

logger = logging.getLogger(__name__)


def write_partitions(output: OutputDir, partitions: dict[str, list[str]], recovering: bool = False,
                     moves: Iterable[tuple[str, str]] = ()) -> None:
    """Replace partition files with their lines (the caller holds the partitions lock); a partition
    without lines (its last story moved to another day) loses its file; the two partitions of each
    of `moves` change in the same round. When `recovering`, first remove the temp files a killed
    process may have left."""
    files: dict[Path, Content] = {}
    for partition, lines in partitions.items():
        path = output.partition(partition)
        if recovering:
            remove_stale_temps(path.parent, path.name)
        files[path] = lines or None  # written line by line: never a second copy of the round
    replace_files(output.root, files, [(output.partition(a), output.partition(b)) for a, b in moves])


@contextmanager
def partitions_writer(output: OutputDir) -> Iterator[None]:
    """Be the one writer of `output`'s partition files: the flock `OutputDir.writer_lock` (no expiry)."""
    with file_lock(output.writer_lock()):
        yield


def rewrite_behind(state: StateStore, output: OutputDir, partitions: Iterable[str],
                   moves: Sequence[tuple[str, str]] = (), recovering: bool = False,
                   max_chars: int | None = None) -> int:
    """Rewrite, whole from the state, those of `partitions` whose file is behind it, under the
    partitions lock, a round at a time (the two partitions of each of `moves` in one round: a
    reader never sees a moved story twice; at most REPLACE_CHUNK partitions and `max_chars` of
    lines, else the lines of 64 busy days would be in memory at once); each round is marked
    written. Returns how many."""
    written, max_chars = 0, REPLACE_CHARS if max_chars is None else max_chars

    def write(behind: dict[str, Snapshot]) -> int:
        if behind:
            write_partitions(output, {name: s.lines for name, s in behind.items()}, recovering, moves)
            state.mark_written({name: s.version for name, s in behind.items()})
        return len(behind)

    with partitions_writer(output):
        for names in rounds(sorted(partitions), moves):  # a round's lines in memory at a time
            behind: dict[str, Snapshot] = {}
            chars = 0
            for group in rounds(names, moves, size=1):  # one partition, or the two of a move
                snapshots = {name: state.snapshot(name) for name in group}
                size = sum(len(line) for s in snapshots.values() for line in s.lines)
                if behind and chars + size > max_chars:  # the round so far, before it grows past the bound
                    written += write(behind)
                    behind, chars = {}, 0
                fresh = {name: s for name, s in snapshots.items() if s.written < s.version}  # others: written since
                behind.update(fresh)
                chars += size if fresh else 0
            written += write(behind)
    return written


def missing_partitions(state: StateStore, output: OutputDir) -> list[str]:
    """The partitions whose file is gone though the state holds stories of them and wrote them
    (call under the partitions lock: no file comes or goes meanwhile)."""
    pending = set(state.pending_partitions())
    return [name for name, stories in state.partitions().items()
            if stories and name not in pending and not output.partition(name).exists()]


def is_backend_error(error: Exception) -> bool:
    """The state store itself failed (unreachable, full, broken), rather than refused one copy
    (a constraint of its own, such as one id for two stories: sqlite3.IntegrityError)."""
    return (isinstance(error, (OSError, sqlite3.OperationalError, sqlite3.InterfaceError, redis.RedisError))
            or type(error) is sqlite3.DatabaseError)


def walked_channels(spider: Spider | None, stats: StatsCollector) -> list[str]:
    """The channels whose every listing page this run walked (a full crawl, or an incremental
    one after a run that did not finish): none of their copies escaped it."""
    walked_all = stats.get_value("crawl/mode") == Mode.FULL or stats.get_value("crawl/walk_all_after")
    return sorted(channel.name for channel in getattr(spider, "channels", ())) if walked_all else []


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.settings = crawler.settings
        self.output = OutputDir.of(crawler.settings)
        self.domains = tuple(crawler.settings.getlist("PORTAL_DOMAINS"))
        self.flush_seconds = crawler.settings.getfloat("STORE_FLUSH_SECONDS")
        self.write_seconds = crawler.settings.getfloat("STORE_WRITE_SECONDS")
        self.write_share = crawler.settings.getfloat("STORE_WRITE_MAX_SHARE")
        self.write_interval = self.write_seconds  # longer after a round of rewrites that took long
        self.manifest = RunManifest(crawler)
        self.run = self.manifest.run_id
        self.crawler = crawler
        job = frontier_job(crawler.settings)  # None: a run of its own, which writes its partitions
        self.ledger = JobLedger(job) if job is not None else None
        self.job_record: JobRecord | None = None  # what the job did, once this worker saw it end
        self.state: StateStore | None = None
        self.batch: list[Copy] = []
        self.dirty: set[str] = set()
        self.updated = IntSet()  # earlier runs' stories changed by this run (a re-crawl may change them all)
        # every story a copy of this run was recorded in: 8 bytes each, a backfill's whole archive
        self.touched = IntSet()
        self.last_flush = self.last_write = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        not_for_tools(crawler)  # Scrapy's tools store nothing and write no manifest
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.record_now, signal=project_signals.record_copies)
        if pipeline.ledger is not None:
            crawler.signals.connect(pipeline.job_done, signal=project_signals.job_done)
        return pipeline

    def open_spider(self) -> None:
        """Open the state and check it cheaply; a damaged one stops the run before it crawls, with
        one message that says what to do (no traceback)."""
        try:
            self.state = open_state(self.settings)
            self.check_state()
        except StateError as error:
            self.stats.inc_value("store/verify_problems")
            logger.error("%s", error)
            if self.state is not None:
                self.state.close()
                self.state = None
            raise CloseSpider(STATE_DAMAGED) from None
        if self.ledger is not None:
            self.join_ledger(self.ledger)
        self.manifest.open()
        if self.ledger is None:  # a worker of a job writes no partition: the job's writer does
            recovered = self.flush(everything=True)
            if recovered:
                self.stats.set_value("pipeline/partitions_recovered", recovered)

    def join_ledger(self, ledger: JobLedger) -> None:
        """This worker's manifest is a part of the job's entry; its part begins in the ledger."""
        self.manifest.part_of = ledger.run_id(self.manifest.spider, self.manifest.start)
        ledger.begin(self.run, self.manifest.start)

    def check_state(self) -> None:
        """The cheap part of `scrapy store verify`, at every open: the state's quick check (damage
        raises StateError), then the partition files the state holds stories of that are gone:
        marked pending, so that this open writes them again, and counted (`store/verify_problems`)."""
        assert self.state is not None
        problems = self.state.integrity(quick=True)
        if problems:
            raise damaged(self.state.location, problems)
        with partitions_writer(self.output):
            missing = missing_partitions(self.state, self.output)
            if missing:
                self.state.mark_pending(missing)
        if missing:
            self.stats.inc_value("store/verify_problems", len(missing))
            named = ", ".join(str(self.output.partition(name).relative_to(self.output.root)) for name in missing[:3])
            logger.warning("%d partition files are gone though the state holds their stories (%s%s): this run "
                           "writes them again from the state. Something deleted them: run `scrapy store verify` "
                           "to look for more damage, and `scrapy store repair` to fix what it finds",
                           len(missing), named, ", ..." if len(missing) > 3 else "")

    def process_item(self, item: Any) -> Any:
        self.batch.append(Copy(record_of(item), self.domains))
        now = time.monotonic()
        if self.ledger is None and now - self.last_write >= self.write_interval:
            self.flush()
        elif len(self.batch) >= BATCH_ITEMS or now - self.last_flush >= self.flush_seconds:
            self.record()
        return item

    def count(self, copy: Copy, outcome: Outcome) -> None:
        inc = self.stats.inc_value
        if outcome.kind == FAILED:
            inc("pipeline/copies_failed")
            if not outcome.reason.startswith(STATE_FAILED):
                logger.error("could not store %s: %s", copy.url, outcome.reason)
        else:
            self.touched.add(outcome.story_key)
        if outcome.kind == NEW:
            inc("pipeline/stories_new")
            inc(f"pipeline/stories_new/{copy.record['channel']}")  # the channel that found it
            inc("pipeline/stories_written")
        elif outcome.kind == MERGED:
            inc("pipeline/copies_merged")
            inc(f"pipeline/copies_merged/{outcome.layer}")
        elif outcome.kind == CHANGED:
            inc("pipeline/copies_changed")
        elif outcome.kind == UNCHANGED:
            inc("pipeline/copies_unchanged")
        if outcome.kind in (MERGED, CHANGED) and outcome.created_run != self.run:
            self.updated.add(outcome.story_key)
            self.stats.set_value("pipeline/stories_updated", len(self.updated))

    def record(self) -> None:
        """Record the gathered copies in the state; their partitions become dirty."""
        assert self.state is not None
        self.last_flush = time.monotonic()
        batch, self.batch = self.batch, []
        outcomes = self._record_copies(batch) if batch else []
        for copy, outcome in zip(batch, outcomes):
            self.count(copy, outcome)
            self.dirty.update(outcome.partitions)
        if self.ledger is not None and outcomes:
            self.tell_ledger(self.ledger, outcomes)
        self.crawler.signals.send_catch_log(project_signals.copies_recorded)

    def tell_ledger(self, ledger: JobLedger, outcomes: list[Outcome]) -> None:
        """The job's ledger learns the partitions and stories of this batch (its last worker
        writes and settles them all); this worker's manifest names the partitions before any
        writer changes them."""
        recorded = [outcome for outcome in outcomes if outcome.kind != FAILED]
        partitions = {name for outcome in recorded for name in outcome.partitions}
        try:
            ledger.record(partitions, {outcome.story_key for outcome in recorded},
                          updated={outcome.story_key for outcome in recorded
                                   if outcome.kind in (MERGED, CHANGED) and outcome.created_run != self.run},
                          created={outcome.story_key for outcome in recorded if outcome.kind == NEW})
            self.manifest.announce(partitions)
        except OSError as error:
            self.write_failed(error, "the run manifest")
        except Exception as error:
            if not is_backend_error(error):
                raise
            self.backend_failed(error, "telling the job what it recorded")

    def record_now(self) -> None:
        """`crawler.signals.record_copies`: the gathered copies into the state at once."""
        if self.state is not None:
            self.record()

    def _record_copies(self, batch: list[Copy]) -> list[Outcome]:
        """The batch in one transaction; if the store refuses it as a whole (a constraint of its
        own, such as one id for two stories), each copy alone, so that only the copy at fault
        fails, counted and logged with the reason. If the state itself fails, every copy of the
        batch is lost to this run (the next one fetches them again)."""
        assert self.state is not None
        try:
            return self.state.record_copies(batch, self.run)
        except Exception as error:
            if is_backend_error(error):
                self.backend_failed(error, f"recording {len(batch)} copies")
                return [Outcome(FAILED, 0, "", None, self.run, (), f"{STATE_FAILED}: {error}")] * len(batch)
            if len(batch) == 1:
                return [Outcome(FAILED, 0, "", None, self.run, (), f"{type(error).__name__}: {error}")]
            logger.warning("the state refused a batch of %d copies (%s: %s): recording them one by one",
                           len(batch), type(error).__name__, error)
            return [outcome for copy in batch for outcome in self._record_copies([copy])]

    def flush(self, everything: bool = False) -> int:
        """Record the gathered copies, then rewrite this run's dirty partitions (`everything`:
        every pending one, whoever left it). Returns how many partition files were written; a
        failed write is counted and leaves its partitions pending (retried at the next flush)."""
        self.record()
        self.last_write = self.last_flush
        try:
            return self.write_pending(everything)
        except OSError as error:  # a partition file or the manifest: the disk is full, read-only...
            self.write_failed(error, "partition files")
        except Exception as error:
            if not is_backend_error(error):
                raise
            self.backend_failed(error, "writing partitions")
        finally:
            self.budget_writes(time.monotonic() - self.last_write)
        return 0

    def budget_writes(self, took: float) -> None:
        """The next round of rewrites no sooner than `took / STORE_WRITE_MAX_SHARE` after this one
        began: rewrites take at most that share of the crawl, however large the partitions grow
        (their stories only wait longer for their file; they are recorded already)."""
        spent = self.stats.get_value("pipeline/partition_write_seconds", 0.0) + took
        self.stats.set_value("pipeline/partition_write_seconds", round(spent, 3))
        self.write_interval = max(self.write_seconds, took / self.write_share) if self.write_share > 0 else self.write_seconds

    def write_pending(self, everything: bool) -> int:
        assert self.state is not None
        partitions = self.dirty | (set(self.state.pending_partitions()) if everything else set())
        if not partitions:
            return 0
        moves = self.state.moved_together(partitions)
        if moves:  # a story left or entered one of them (in any process): its other partition too
            partitions |= {name for move in moves for name in move} & set(self.state.pending_partitions())
        self.manifest.announce(partitions)
        self.state.make_durable()
        written = rewrite_behind(self.state, self.output, partitions, moves, recovering=everything)
        self.dirty -= partitions
        self.stats.inc_value("pipeline/partitions_written", written)
        return written

    def close_spider(self) -> None:
        if self.state is None:  # the state could not be opened, the run stopped at once
            return
        if self.ledger is None:
            self.flush(everything=True)
            return
        self.record()
        try:  # before the scheduler leaves the job: the last worker then finds every part closed
            self.ledger.end(self.run, self.manifest.start, self.stats.get_stats())
        except Exception as error:
            if not is_backend_error(error):
                raise
            self.backend_failed(error, "closing this worker's part of the job")

    def job_done(self, job: Job) -> None:
        """`crawler.signals.job_done`: this worker is the last of a job that is done. Once for
        the job, while its keys exist: the final write (every pending partition, under the
        writer's flock), then what every worker recorded in the job's ledger is read, for the
        job's manifest and ids at `spider_closed`."""
        assert self.ledger is not None and self.state is not None
        self.flush(everything=True)
        try:
            self.job_record = self.ledger.read(self.manifest.spider, self.manifest.start)
        except Exception as error:
            if not is_backend_error(error):
                raise
            self.backend_failed(error, f"reading what job {job.name} did")

    def backend_failed(self, error: Exception, doing: str) -> None:
        self.stats.inc_value("store/backend_errors")
        self.stats.inc_value(f"store/backend_errors/{type(error).__name__}")
        logger.error("the state store failed %s: %s: %s", doing, type(error).__name__, error)

    def write_failed(self, error: OSError, what: str) -> None:
        self.stats.inc_value("store/write_errors")
        if name := errno.errorcode.get(error.errno or 0):
            self.stats.inc_value(f"store/write_errors/{name}")
        logger.error("could not write %s: %s", what, error)

    def spider_closed(self, reason: str) -> None:
        """After every pipeline closed: close the manifest (the run is no longer alive), then,
        if the run finished, settle the ids of what it touched. A worker of a job settles none;
        the job's last worker settles what the whole job touched, then writes the job's entry."""
        if self.state is None:  # the state could not be opened: the run never started
            return
        try:
            self.manifest.close(reason)
        except OSError as error:
            self.write_failed(error, "the run manifest")
        if self.job_record is not None:
            if reason == FinishReason.FINISHED:  # after this worker's manifest closed, as a run's
                self.touched |= self.job_record.touched
                self.settle_ids(ours=set(self.job_record.parts))
            self.close_job(self.job_record, reason)
        elif reason == FinishReason.FINISHED and self.ledger is None:  # a worker's ids: the job's last worker
            self.settle_ids()
        self.state.close()
        if self.ledger is not None:
            self.ledger.job.close()

    def close_job(self, record: JobRecord, reason: str) -> None:
        """The job's entry in `runs/`, written by its last worker; the parts of workers that
        never closed are marked killed now, not at the next run's start."""
        assert self.ledger is not None
        totals = record.totals(self.run, self.stats.get_stats())
        manifest = job_manifest(self.output, record, self.manifest.spider, self.ledger.job.name, reason, totals,
                                self.manifest.partitions)
        try:
            self.manifest.mark_dead_runs()
            write_manifest(self.output, manifest)
        except OSError as error:
            self.write_failed(error, "the job's manifest")

    def settle_ids(self, ours: set[str] | frozenset[str] = frozenset()) -> None:
        """Final ids for what this run touched, and for the provisional stories of the channels it
        walked every page of, if no other run is alive (asked under the state's writer lock, so
        that of runs ending together the last one sees the others ended); else they stay ready.
        `ours`: the other workers of this run's job, which have left it (their processes may
        still be closing: they record nothing more)."""
        assert self.state is not None
        alive: list[str] = []

        def alone() -> bool:
            alive[:] = [run for run in self.manifest.others_alive() if run not in ours]
            return not alive

        channels = walked_channels(self.crawler.spider, self.stats)
        try:
            final = self.state.finalise_ids(self.touched, channels, alone)
        except Exception as error:
            if not is_backend_error(error):
                raise
            self.backend_failed(error, "settling ids")
            return
        if alive:
            self.stats.set_value("store/ids_left_ready", len(self.touched))
            logger.info("ids of %d stories left ready: runs %s are alive, the last to end makes them final",
                        len(self.touched), ", ".join(alive))
        else:
            self.stats.set_value("store/ids_finalised", final)
