"""The state store's interface: what the store pipeline asks of a backend, and what it gets back."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from pipelines.dedupe import Copy

NEW, MERGED, CHANGED, UNCHANGED, FAILED = "new", "merged", "changed", "unchanged", "failed"
# The digest of a copy that a rebuild cannot know (a line holds the primary copy's fields only): it
# matches no crawl, so the next visit of that page merges it again, which leaves the line as it is.
UNKNOWN_DIGEST = "-"


class StateError(Exception):
    """The state cannot be used as it is (damaged, or its server does not answer). The message
    says what is wrong and what to do: a run logs it, a command prints it, without a traceback."""


class StateDamaged(StateError):
    """The state is damaged: a rebuild from the partition files can replace it."""

    def __init__(self, message: str, problems: Sequence[str]) -> None:
        super().__init__(message)
        self.problems = list(problems)


def damaged(where: str, problems: Sequence[str]) -> StateDamaged:
    """The one message for a damaged state: where, the first problem, and the commands that help."""
    more = f" and {len(problems) - 1} more problems" if len(problems) > 1 else ""
    return StateDamaged(f"{where} is damaged ({problems[0]}{more}): run `scrapy store verify` to see what is "
                        "wrong, then `scrapy store repair`, which sets the damaged state aside and rebuilds it "
                        "from the partition files (docs/data.md, \"Verify and repair\")", problems)


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

    def finalise_ids(self, touched: Collection[int], channels: Collection[str], alone: Callable[[], bool]) -> int:
        """At the end of a run that finished: settle the ids it leaves (docs/data.md, "Story
        identity"). Settled are the stories it `touched` (recorded a copy of) and the provisional
        stories of `channels` (those whose every listing page it walked: what killed and shut-down
        runs left open there). Under the writer lock, `alone()` says whether no other run is alive:
        then the settled and the ready stories become final; else the settled ones become ready,
        for the last run to end alone. Returns how many ids became final."""

    @property
    def location(self) -> str:
        """Where the state lives, as messages name it (its database file, its Redis server)."""

    def partitions(self) -> dict[str, int]:
        """Every partition the state knows, with how many stories it holds (0: it has no file)."""

    def moved_together(self, partitions: Collection[str]) -> list[tuple[str, str]]:
        """The pairs (from, to) of partitions a story moved between, one of them in `partitions`,
        whose files are not both written since: each pair is rewritten in one round, so that a
        reader never sees the story in both files, nor in neither."""

    def mark_pending(self, partitions: Iterable[str]) -> None:
        """These partition files are not what the state holds (gone, damaged, unknown to it): the
        next rewrite writes them whole from the state (or removes them, when it holds no story)."""

    def integrity(self, quick: bool = False) -> list[str]:
        """What is wrong with the state itself, [] when nothing is; `quick`: only what is cheap
        enough for every run's open."""

    def restore_stories(self, records: Iterable[dict[str, Any]], run: str) -> int:
        """Into an empty state (a rebuild): every story as its line stands, its id final, its
        copies' URLs, its fingerprint and LSH bands indexed (the line's text is its primary copy's),
        every partition pending. Returns how many stories."""

    def close(self) -> None: ...

