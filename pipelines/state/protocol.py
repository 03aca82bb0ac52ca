"""The state store's interface: what the store pipeline asks of a backend, and what it gets back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from pipelines.dedupe import Copy

NEW, MERGED, CHANGED, UNCHANGED, FAILED = "new", "merged", "changed", "unchanged", "failed"

@dataclass(frozen=True)
class Outcome:
    """What `record_copy` did with one copy."""

    # new | merged (a copy joined a stored story) | changed (a page seen again, edited) | unchanged
    # | failed (the copy could not be stored: `reason`)
    kind: str
    story_key: int  # the store's own key of the story (its id can still change: docs/data.md)
    story_id: str  # the story's id afterwards
    layer: str | None  # what matched it to the story: url | fingerprint | near_duplicate; None when new
    created_run: str  # the run that created the story
    partitions: tuple[str, ...]  # partitions made pending: one, or two when the story moved day
    reason: str = ""


@dataclass(frozen=True)
class Snapshot:
    version: int  # the partition's version in the state
    written: int  # the version its file holds
    lines: list[str]  # the partition's stories, one JSON line each (no newline), in order


class StateStore(Protocol):
    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Those of `urls` (any spelling: canonicalised here) that are copies of a story whose
        line is durably written. One indexed query: cheap enough for every listing page."""

    def record_copies(self, copies: Sequence[Copy], run: str) -> list[Outcome]:
        """Store copies in order, each atomically: find its story (by URL, exact fingerprint,
        near-duplicate) and merge it in, or create a story; mark the partitions whose lines
        changed pending. One transaction for the batch: a copy sees the ones before it."""

    def record_copy(self, copy: Copy, run: str) -> Outcome:
        """`record_copies` for one copy."""

    def pending_partitions(self) -> list[str]:
        """Partitions whose file is behind the state (`date=YYYY-MM-DD`)."""

    def partitions_lock(self) -> AbstractContextManager[None]:
        """Held while partition files are rewritten: one writer of partition files at a time,
        across processes."""

    def snapshot(self, partition: str) -> Snapshot:
        """A consistent view of one partition: its version and its lines, sorted."""

    def make_durable(self) -> None:
        """Make every change recorded so far survive a power loss, before files are written."""

    def mark_written(self, versions: dict[str, int]) -> None:
        """Each partition file holds its partition as of the version given (and durably so)."""

    def finalise_ids(self) -> int:
        """Fix the id of every story stored so far (docs/data.md: story identity); returns how
        many ids became final."""

    def close(self) -> None: ...

