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

Stats (the crawl summary reads them): `pipeline/stories_new` (= `pipeline/stories_written`: lines
this run added), `pipeline/stories_updated` (stories of earlier runs whose line changed),
`pipeline/copies_merged` (and `/fingerprint`, `/near_duplicate`: what matched), `copies_changed`
(pages seen again with new content), `copies_unchanged`, `copies_failed` (logged with the reason),
`partitions_written`, `partitions_recovered` (pending at open).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.output import OutputDir
from pipelines.dedupe import Copy
from pipelines.files import REPLACE_CHUNK, remove_stale_temps, replace_files
from pipelines.runs import RunManifest
from pipelines.state import CHANGED, FAILED, MERGED, NEW, UNCHANGED, Outcome, StateStore, open_state
from pipelines.validate import record_of

BATCH_ITEMS = 1000  # copies recorded in one transaction at most: bounds memory and lock time

logger = logging.getLogger(__name__)


def write_partitions(output: OutputDir, partitions: dict[str, list[str]], recovering: bool = False) -> None:
    """Replace partition files with their lines (the caller holds the partitions lock); a partition
    without lines (its last story moved to another day) loses its file. When `recovering`, first
    remove the temp files a killed process may have left."""
    files: dict[Path, str | None] = {}
    for partition, lines in partitions.items():
        path = output.partition(partition)
        if recovering:
            remove_stale_temps(path.parent, path.name)
        files[path] = "".join(line + "\n" for line in lines) if lines else None
    replace_files(output.root, files)


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.settings = crawler.settings
        self.output = OutputDir.of(crawler.settings)
        self.flush_seconds = crawler.settings.getfloat("STORE_FLUSH_SECONDS")
        self.write_seconds = crawler.settings.getfloat("STORE_WRITE_SECONDS")
        self.manifest = RunManifest(crawler)
        self.run = self.manifest.run_id
        self.state: StateStore | None = None
        self.batch: list[Copy] = []
        self.dirty: set[str] = set()
        self.updated: set[int] = set()  # earlier runs' stories changed by this run
        self.last_flush = self.last_write = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.state = open_state(self.settings)
        self.manifest.open()
        recovered = self.flush(everything=True)
        if recovered:
            self.stats.set_value("pipeline/partitions_recovered", recovered)

    def process_item(self, item: Any) -> Any:
        self.batch.append(Copy(record_of(item)))
        now = time.monotonic()
        if now - self.last_write >= self.write_seconds:
            self.flush()
        elif len(self.batch) >= BATCH_ITEMS or now - self.last_flush >= self.flush_seconds:
            self.record()
        return item

    def count(self, copy: Copy, outcome: Outcome) -> None:
        inc = self.stats.inc_value
        if outcome.kind == FAILED:
            inc("pipeline/copies_failed")
            logger.error("could not store %s: %s", copy.url, outcome.reason)
        if outcome.kind == NEW:
            inc("pipeline/stories_new")
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
        for copy, outcome in zip(batch, self._record_copies(batch) if batch else []):
            self.count(copy, outcome)
            self.dirty.update(outcome.partitions)

    def _record_copies(self, batch: list[Copy]) -> list[Outcome]:
        """The batch in one transaction; if the store refuses it as a whole (a constraint of its
        own, such as one id for two stories), each copy alone, so that only the copy at fault
        fails, counted and logged with the reason."""
        assert self.state is not None
        try:
            return self.state.record_copies(batch, self.run)
        except Exception as error:
            if len(batch) == 1:
                return [Outcome(FAILED, 0, "", None, self.run, (), f"{type(error).__name__}: {error}")]
            logger.warning("the state refused a batch of %d copies (%s: %s): recording them one by one",
                           len(batch), type(error).__name__, error)
            return [outcome for copy in batch for outcome in self._record_copies([copy])]

    def flush(self, everything: bool = False) -> int:
        """Record the gathered copies, then rewrite this run's dirty partitions (`everything`:
        every pending one, whoever left it). Returns how many partition files were written."""
        assert self.state is not None
        self.record()
        self.last_write = self.last_flush
        partitions = self.dirty | (set(self.state.pending_partitions()) if everything else set())
        if not partitions:
            return 0
        self.manifest.announce(partitions)
        self.state.make_durable()
        written = 0
        names = sorted(partitions)
        with self.state.partitions_lock():
            for start in range(0, len(names), REPLACE_CHUNK):  # a round's lines in memory at a time
                snapshots = {name: self.state.snapshot(name) for name in names[start:start + REPLACE_CHUNK]}
                behind = {name: s for name, s in snapshots.items() if s.written < s.version}  # others: written since
                if behind:
                    write_partitions(self.output, {name: s.lines for name, s in behind.items()}, recovering=everything)
                    self.state.mark_written({name: s.version for name, s in behind.items()})
                    written += len(behind)
        self.dirty -= partitions
        self.stats.inc_value("pipeline/partitions_written", written)
        return written

    def close_spider(self) -> None:
        self.flush(everything=True)

    def spider_closed(self, reason: str) -> None:
        """After every pipeline closed: a clean end fixes the ids and closes the manifest."""
        assert self.state is not None
        self.state.finalise_ids()
        self.manifest.close(reason)
        self.state.close()
