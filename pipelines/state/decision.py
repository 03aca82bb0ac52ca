"""The dedupe decision, written once for every backend: a backend offers a `Transaction`, and
`IndexedStore.record_copies` decides for each copy whether it is new, a copy of a stored story or
a page seen again."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from crawler.site.urls import page_key
from pipelines.dedupe import Copy, merge_copy, new_story, recorded_on_newer_family
from pipelines.state.protocol import CHANGED, FAILED, MERGED, NEW, UNCHANGED, Outcome


@dataclass
class StoryRow:
    key: int
    record: dict[str, Any]
    partition: str
    final: bool
    created_run: str


class Transaction(Protocol):
    """What a backend offers inside one exclusive write transaction."""

    def prefetch(self, copies: Sequence[Copy]) -> None:
        """Read at once what recording these copies will look up (or nothing: reads then go one by one)."""

    def atomic(self) -> AbstractContextManager[None]:
        """One copy's changes: all applied, or none if the block raises."""

    def copy_of(self, url: str) -> tuple[int, str] | None:
        """(story key, digest) of a stored copy."""

    def story_of_fingerprint(self, fingerprint: str) -> int | None: ...

    def stories_of_bands(self, bands: list[int]) -> list[tuple[int, bytes]]:
        """Stories sharing an LSH band with these, with their MinHash signatures, most shared first."""

    def load(self, key: int) -> StoryRow: ...

    def save(self, row: StoryRow | None, record: dict[str, Any], run: str,
             signature: bytes = b"") -> tuple[int, tuple[str, ...]]:
        """Write a story's line (a new story, with its signature, when `row` is None); bump the
        versions of the partitions it leaves and enters. Returns its key and those partitions."""

    def index_copy(self, key: int, copy: Copy, with_bands: bool, with_fingerprint: bool = True) -> None:
        """Point the copy's URL (and fingerprint, and LSH bands) at the story."""


class IndexedStore:
    """The dedupe decision, written once for every backend."""

    def transaction(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def record_copies(self, copies: Sequence[Copy], run: str) -> list[Outcome]:
        outcomes = []
        with self.transaction() as tx:
            tx.prefetch(copies)
            for copy in copies:
                try:
                    with tx.atomic():
                        outcomes.append(self._record(tx, copy, run))
                except (KeyError, TypeError, ValueError) as error:  # a malformed copy, not a broken store
                    outcomes.append(Outcome(FAILED, 0, "", None, run, (), f"{type(error).__name__}: {error}"))
        return outcomes

    def record_copy(self, copy: Copy, run: str) -> Outcome:
        (outcome,) = self.record_copies([copy], run)
        return outcome

    def _record(self, tx: Transaction, copy: Copy, run: str) -> Outcome:
        seen = tx.copy_of(copy.key)
        if seen is not None:
            key, digest = seen
            row = tx.load(key)
            if digest == copy.digest or recorded_on_newer_family(row.record, copy):
                return Outcome(UNCHANGED, key, row.record["id"], "url", row.created_run, ())
            return self._merge(tx, row, copy, CHANGED, "url", run, with_bands=True)
        key = tx.story_of_fingerprint(copy.fingerprint)
        if key is not None:
            return self._merge(tx, tx.load(key), copy, MERGED, "fingerprint", run, with_bands=False,
                               with_fingerprint=False)
        for candidate in copy.close_candidates(tx.stories_of_bands(copy.bands)):
            row = tx.load(candidate)
            if copy.is_near_duplicate_of(row.record):
                return self._merge(tx, row, copy, MERGED, "near_duplicate", run, with_bands=True)
        record = new_story(copy)
        self._ready(copy, with_bands=True)
        key, partitions = tx.save(None, record, run, copy.signature)
        tx.index_copy(key, copy, with_bands=True)
        return Outcome(NEW, key, record["id"], None, run, partitions)

    @staticmethod
    def _ready(copy: Copy, with_bands: bool) -> None:
        """Compute what `index_copy` will write, so that a malformed copy fails before its first change."""
        _ = copy.digest, copy.fingerprint, copy.bands if with_bands else None

    @classmethod
    def _merge(cls, tx: Transaction, row: StoryRow, copy: Copy, kind: str, layer: str, run: str,
               with_bands: bool, with_fingerprint: bool = True) -> Outcome:
        record = merge_copy(row.record, copy, id_is_final=row.final)
        cls._ready(copy, with_bands)
        _, partitions = tx.save(row, record, run)
        tx.index_copy(row.key, copy, with_bands, with_fingerprint)
        return Outcome(kind, row.key, record["id"], layer, row.created_run, partitions)


def _spellings(urls: Iterable[str], domains: tuple[str, ...]) -> dict[str, list[str]]:
    """Each page key (`page_key`: any family, any spelling), with the URLs of it asked about."""
    spellings: dict[str, list[str]] = {}
    for url in urls:
        spellings.setdefault(page_key(url, domains), []).append(url)
    return spellings


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock, and so does the kernel if the process dies

