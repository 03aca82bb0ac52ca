"""The crawl's state behind one interface: which copies are stored, in which story, and what is
still to be written to the date partitions.

`open_state(settings)` returns a `StateStore`: SQLite under `OUTPUT_DIR/.state/` by default
(`STATE_BACKEND = "sqlite"`, nothing to install or start), or Redis (`STATE_BACKEND = "redis"`,
`STATE_REDIS_URL`) for scrapy-redis style deployments where crawl processes on several machines
share one state and one `OUTPUT_DIR`.

The state holds every story's output line. The partition files are derived from it, never the
other way round: a partition is rewritten whole from the state, so a crash at any moment can
leave a partition behind the state (finished at the next open) but never a duplicate or half a line.

Protocol, as the store pipeline (pipelines/store.py) runs it:
1. `record_copies(copies, run)` decides, in one transaction, for each copy in turn, whether it
   is new, a copy of a stored story (URL, exact fingerprint, near-duplicate) or a page seen again,
   updates the story's line and marks its partition pending (its version grows).
2. Later, under `partitions_lock()`: for each of `pending_partitions()`, take `snapshot(name)`
   (its version and sorted lines), write the files atomically, then
   `mark_written({name: version, ...})`. `make_durable()` first, so that no file gets ahead of a
   state that a power loss could take back.
3. A copy is *stored* once a partition file holding it is durable: only then does
   `known_urls` report it. At the end of a clean run, `finalise_ids()`.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scrapy.settings import BaseSettings

from pipelines.dedupe import (
    Copy,
    canonical_url,
    dumps,
    merge_copy,
    new_story,
    partition_of,
    sort_key,
)

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


def open_state(settings: BaseSettings) -> StateStore:
    """The state store that the settings choose: `STATE_BACKEND` sqlite (default) or redis."""
    backend = settings.get("STATE_BACKEND", "sqlite")
    if backend == "sqlite":
        return SqliteStateStore(Path(settings.get("OUTPUT_DIR", "output")) / ".state")
    if backend == "redis":
        return RedisStateStore(settings.get("STATE_REDIS_URL"))
    raise ValueError(f"STATE_BACKEND must be 'sqlite' or 'redis', not {backend!r}")


# ------------------------------------------------------------------ shared logic

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
        seen = tx.copy_of(copy.url)
        if seen is not None:
            key, digest = seen
            if digest == copy.digest:
                row = tx.load(key)
                return Outcome(UNCHANGED, key, row.record["id"], "url", row.created_run, ())
            return self._merge(tx, tx.load(key), copy, CHANGED, "url", run, with_bands=True)
        key = tx.story_of_fingerprint(copy.fingerprint)
        if key is not None:
            return self._merge(tx, tx.load(key), copy, MERGED, "fingerprint", run, with_bands=False,
                               with_fingerprint=False)
        for candidate, signature in tx.stories_of_bands(copy.bands):
            if not copy.may_be_near_duplicate_of(signature):
                continue
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


def _spellings(urls: Iterable[str]) -> dict[str, list[str]]:
    """Each canonical URL, with the spellings of it asked about."""
    spellings: dict[str, list[str]] = {}
    for url in urls:
        spellings.setdefault(canonical_url(url), []).append(url)
    return spellings


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock, and so does the kernel if the process dies


# ------------------------------------------------------------------ SQLite

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS stories (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,         -- the story id written in its line
    partition TEXT NOT NULL,
    sort TEXT NOT NULL,              -- line order in the partition
    final INTEGER NOT NULL DEFAULT 0,
    created_run TEXT NOT NULL,
    signature BLOB NOT NULL,         -- MinHash of its first copy (pipelines/dedupe.py)
    record TEXT NOT NULL             -- the line, JSON
);
CREATE INDEX IF NOT EXISTS stories_by_partition ON stories (partition, sort);
CREATE INDEX IF NOT EXISTS provisional_stories ON stories (final) WHERE final = 0;
CREATE TABLE IF NOT EXISTS copies (  -- every copy's canonical URL
    url TEXT PRIMARY KEY,
    story INTEGER NOT NULL,
    digest TEXT NOT NULL,            -- what a re-crawl must match to change nothing
    partition TEXT NOT NULL,         -- the story's partition and its version when this copy
    version INTEGER NOT NULL         --   last changed: stored once that version is written
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS copies_by_story ON copies (story);
CREATE TABLE IF NOT EXISTS fingerprints (fingerprint TEXT PRIMARY KEY, story INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bands (band INTEGER NOT NULL, story INTEGER NOT NULL, PRIMARY KEY (band, story))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partitions (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,        -- grows with every change to the partition's lines
    written INTEGER NOT NULL         -- the version its file holds
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_partitions ON partitions (name) WHERE written < version;
CREATE TABLE IF NOT EXISTS syncs (n INTEGER PRIMARY KEY, at TEXT);
"""


class SqliteStateStore(IndexedStore):
    """SQLite in WAL mode, `OUTPUT_DIR/.state/state.sqlite3`. Writers serialise on
    `BEGIN IMMEDIATE`; partition rewrites on a file lock, `.state/partitions.lock`. Safe for several
    crawl processes on one machine (not on a network filesystem: use Redis there)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.db = sqlite3.connect(directory / "state.sqlite3", timeout=120, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # Commits survive a killed process as they are; make_durable() syncs before files are written.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript("BEGIN IMMEDIATE;" + _SQLITE_SCHEMA + "COMMIT;")

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._immediate() as db:
            tx = _SqliteTransaction(db)
            yield tx
            tx.apply()

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        spellings = _spellings(urls)
        if not spellings:
            return set()
        marks = ",".join("?" * len(spellings))
        rows = self.db.execute(
            f"SELECT c.url FROM copies c JOIN partitions p ON p.name = c.partition "
            f"WHERE c.url IN ({marks}) AND p.written >= c.version", list(spellings)).fetchall()
        return {spelling for (url,) in rows for spelling in spellings[url]}

    def pending_partitions(self) -> list[str]:
        return [name for (name,) in self.db.execute(
            "SELECT name FROM partitions WHERE written < version ORDER BY name")]

    def partitions_lock(self) -> AbstractContextManager[None]:
        return _file_lock(self.directory / "partitions.lock")

    def snapshot(self, partition: str) -> Snapshot:
        rows = self.db.execute(  # one statement, one consistent view: the version and the lines agree
            "SELECT p.version, p.written, s.record FROM partitions p LEFT JOIN stories s ON s.partition = p.name "
            "WHERE p.name = ? ORDER BY s.sort", (partition,)).fetchall()
        if not rows:
            return Snapshot(0, 0, [])
        return Snapshot(rows[0][0], rows[0][1], [record for _, _, record in rows if record is not None])

    def make_durable(self) -> None:
        # A commit with synchronous=FULL fsyncs the write-ahead log, and with it every commit before.
        self.db.execute("PRAGMA synchronous=FULL")
        try:
            with self._immediate() as db:
                db.execute("INSERT OR REPLACE INTO syncs (n, at) VALUES (1, datetime('now'))")
        finally:
            self.db.execute("PRAGMA synchronous=NORMAL")

    def mark_written(self, versions: dict[str, int]) -> None:
        with self._immediate() as db:
            db.executemany("UPDATE partitions SET written = max(written, ?) WHERE name = ?",
                           [(version, name) for name, version in versions.items()])

    def finalise_ids(self) -> int:
        with self._immediate() as db:
            return db.execute("UPDATE stories SET final = 1 WHERE final = 0").rowcount

    def close(self) -> None:
        self.db.close()


class _SqliteTransaction:
    """One batch of copies in one `BEGIN IMMEDIATE` transaction, in few statements: what the batch
    needs is read at once (`prefetch`), every read after that goes to what this transaction holds
    first, and the writes are gathered and applied together before the commit (`apply`). A copy
    changes nothing until everything about it that can fail has been computed (`IndexedStore`);
    if it fails after all, the whole transaction is rolled back."""

    CHUNK = 500  # parameters per IN (...) list

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.saved: dict[int, tuple[str, int]] = {}  # story key -> its partition and version now
        self.versions: dict[str, int] = {}  # partitions this transaction bumped: their version now
        self.copies: dict[str, tuple[int, str] | None] = {}  # url -> (story, digest), None: no such copy
        self.fingerprints: dict[str, int | None] = {}  # fingerprint -> story, None: none has it
        self.band_stories: dict[int, list[int]] = {}  # band -> stories in it
        self.rows: dict[int, StoryRow] = {}  # stories read or written by this transaction
        self.signatures: dict[int, bytes] = {}
        self.next_key = 0  # the key of the next new story, once known
        # the writes, applied in this order: stories (new ones after the changed), copies,
        # fingerprints, bands, then the copies of stories that moved to another day
        self.changed_stories: dict[int, tuple[Any, ...]] = {}
        self.new_stories: dict[int, tuple[Any, ...]] = {}
        self.new_copies: dict[str, tuple[str, int, str, str, int]] = {}
        self.new_fingerprints: dict[str, int] = {}
        self.new_bands: list[tuple[int, int]] = []
        self.moves: list[tuple[str, int, int]] = []
        self.mutated = False

    def _select_in(self, sql: str, values: Sequence[Any]) -> list[Any]:
        rows: list[Any] = []
        for start in range(0, len(values), self.CHUNK):
            chunk = values[start:start + self.CHUNK]
            rows += self.db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall()
        return rows

    def prefetch(self, copies: Sequence[Copy]) -> None:
        urls = list(dict.fromkeys(copy.url for copy in copies))
        self.copies.update(dict.fromkeys(urls))
        for url, story, digest in self._select_in("SELECT url, story, digest FROM copies WHERE url IN ({marks})", urls):
            self.copies[url] = (story, digest)
        first_of: dict[str, Copy] = {}  # each fingerprint not stored under a known URL, its first copy
        for copy in copies:
            if self.copies[copy.url] is None:
                with suppress(KeyError, TypeError, ValueError):  # a malformed copy fails later, alone
                    first_of.setdefault(copy.fingerprint, copy)
        self.fingerprints.update(dict.fromkeys(first_of))
        for fingerprint, story in self._select_in(
                "SELECT fingerprint, story FROM fingerprints WHERE fingerprint IN ({marks})", list(first_of)):
            self.fingerprints[fingerprint] = story
        bands = list({band for fingerprint, copy in first_of.items() if self.fingerprints[fingerprint] is None
                      for band in copy.bands})
        self.band_stories.update((band, []) for band in bands)
        for band, story in self._select_in("SELECT band, story FROM bands WHERE band IN ({marks})", bands):
            self.band_stories[band].append(story)
        keys = list({found[0] for found in self.copies.values() if found}
                    | {story for story in self.fingerprints.values() if story is not None})
        self._load_rows(keys)

    def _load_rows(self, keys: Sequence[int]) -> None:
        for key, record, partition, final, created_run in self._select_in(
                "SELECT key, record, partition, final, created_run FROM stories WHERE key IN ({marks})", keys):
            self.rows[key] = StoryRow(key, json.loads(record), partition, bool(final), created_run)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        self.mutated = False
        try:
            yield
        except (KeyError, TypeError, ValueError) as error:
            if self.mutated:  # never meant to happen: the transaction must not keep half a copy
                raise RuntimeError(f"a copy failed after its first change: {error!r}") from error
            raise

    def copy_of(self, url: str) -> tuple[int, str] | None:
        if url not in self.copies:
            self.copies[url] = self.db.execute("SELECT story, digest FROM copies WHERE url = ?", (url,)).fetchone()
        return self.copies[url]

    def story_of_fingerprint(self, fingerprint: str) -> int | None:
        if fingerprint not in self.fingerprints:
            found = self.db.execute("SELECT story FROM fingerprints WHERE fingerprint = ?", (fingerprint,)).fetchone()
            self.fingerprints[fingerprint] = found[0] if found else None
        return self.fingerprints[fingerprint]

    def stories_of_bands(self, bands: list[int]) -> list[tuple[int, bytes]]:
        missing = [band for band in bands if band not in self.band_stories]
        self.band_stories.update((band, []) for band in missing)
        for band, story in self._select_in("SELECT band, story FROM bands WHERE band IN ({marks})", missing):
            self.band_stories[band].append(story)
        shared: dict[int, int] = {}
        for band in bands:
            for story in self.band_stories[band]:
                shared[story] = shared.get(story, 0) + 1
        if not shared:
            return []
        keys = sorted(shared, key=lambda key: (-shared[key], key))
        unknown = [key for key in keys if key not in self.signatures]
        self.signatures.update(self._select_in("SELECT key, signature FROM stories WHERE key IN ({marks})", unknown))
        return [(key, self.signatures[key]) for key in keys]

    def load(self, key: int) -> StoryRow:
        if key not in self.rows:
            self._load_rows([key])
        return self.rows[key]

    def _bump(self, partition: str) -> int:
        """A partition's version grows once per transaction: every change in it is written by the
        same rewrite."""
        version = self.versions.get(partition)
        if version is None:
            version = self.versions[partition] = self.db.execute(
                "INSERT INTO partitions (name, version, written) VALUES (?, 1, 0) "
                "ON CONFLICT (name) DO UPDATE SET version = version + 1 RETURNING version", (partition,)).fetchone()[0]
        return version

    def save(self, row: StoryRow | None, record: dict[str, Any], run: str,
             signature: bytes = b"") -> tuple[int, tuple[str, ...]]:
        partition, sort, line = partition_of(record["timestamp"]), sort_key(record), dumps(record)
        self.mutated = True
        version = self._bump(partition)
        if row is None:
            if not self.next_key:
                self.next_key = self.db.execute("SELECT coalesce(max(key), 0) + 1 FROM stories").fetchone()[0]
            key, self.next_key = self.next_key, self.next_key + 1
            self.new_stories[key] = (key, record["id"], partition, sort, line, run, signature)
            self.rows[key] = StoryRow(key, record, partition, False, run)
            self.signatures[key] = signature
            self.saved[key] = (partition, version)
            return key, (partition,)
        key = row.key
        if key in self.new_stories:
            self.new_stories[key] = (key, record["id"], partition, sort, line, row.created_run, self.signatures[key])
        else:
            self.changed_stories[key] = (record["id"], partition, sort, line, key)
        self.rows[key] = StoryRow(key, record, partition, row.final, row.created_run)
        self.saved[key] = (partition, version)
        if partition == row.partition:
            return key, (partition,)
        self._bump(row.partition)  # the line leaves the old file: the old file is pending too
        self.moves.append((partition, version, key))
        return key, (row.partition, partition)

    def index_copy(self, key: int, copy: Copy, with_bands: bool, with_fingerprint: bool = True) -> None:
        self.mutated = True
        partition, version = self.saved[key]
        self.copies[copy.url] = (key, copy.digest)
        self.new_copies[copy.url] = (copy.url, key, copy.digest, partition, version)
        if with_fingerprint and self.story_of_fingerprint(copy.fingerprint) is None:
            self.fingerprints[copy.fingerprint] = self.new_fingerprints[copy.fingerprint] = key
        if with_bands:
            for band in copy.bands:
                stories = self.band_stories.get(band)
                if stories is None:
                    self.stories_of_bands([band])
                    stories = self.band_stories[band]
                if key not in stories:
                    stories.append(key)
                    self.new_bands.append((band, key))

    def apply(self) -> None:
        """Write what the batch changed (before the commit)."""
        db = self.db
        db.executemany("UPDATE stories SET id = ?, partition = ?, sort = ?, record = ? WHERE key = ?",
                       self.changed_stories.values())
        db.executemany("INSERT INTO stories (key, id, partition, sort, record, created_run, signature) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", self.new_stories.values())
        db.executemany("INSERT OR REPLACE INTO copies (url, story, digest, partition, version) VALUES (?, ?, ?, ?, ?)",
                       self.new_copies.values())
        db.executemany("INSERT OR IGNORE INTO fingerprints (fingerprint, story) VALUES (?, ?)",
                       self.new_fingerprints.items())
        db.executemany("INSERT OR IGNORE INTO bands (band, story) VALUES (?, ?)", self.new_bands)
        db.executemany("UPDATE copies SET partition = ?, version = ? WHERE story = ?", self.moves)


# ------------------------------------------------------------------ Redis

class RedisStateStore(IndexedStore):
    """The same state in Redis (keys under `hebei:state:`; one Redis database per OUTPUT_DIR).

    Writers serialise on a Redis lock and apply each transaction as one MULTI/EXEC, so every
    process sees a copy either wholly stored or not at all. Durability is the server's: run it
    with `appendonly yes` and `appendfsync always` for the exactly-once promise to outlive a
    crash of Redis itself. All processes sharing the state must share one OUTPUT_DIR.
    """

    PREFIX = "hebei:state:"
    LOCK_SECONDS = 60  # a lock left by a killed process expires after this

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.redis.ping()

    def key(self, *parts: object) -> str:
        return self.PREFIX + ":".join(map(str, parts))

    def _lock(self, name: str) -> Any:
        return self.redis.lock(self.key("lock", name), timeout=self.LOCK_SECONDS, sleep=0.002,
                               blocking_timeout=10 * self.LOCK_SECONDS)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock("writer"):
            yield _RedisTransaction(self)

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        spellings = _spellings(urls)
        if not spellings:
            return set()
        entries = dict(zip(spellings, self.redis.hmget(self.key("copies"), list(spellings))))
        found = {url: _CopyEntry.parse(entry) for url, entry in entries.items() if entry}
        partitions = sorted({entry.partition for entry in found.values()})
        written = dict(zip(partitions, self.redis.hmget(self.key("written"), partitions))) if partitions else {}
        return {spelling for url, entry in found.items() if int(written[entry.partition] or 0) >= entry.version
                for spelling in spellings[url]}

    def pending_partitions(self) -> list[str]:
        versions = self.redis.hgetall(self.key("versions"))
        written = self.redis.hgetall(self.key("written"))
        return sorted(name for name, v in versions.items() if int(written.get(name, 0)) < int(v))

    def partitions_lock(self) -> AbstractContextManager[None]:
        return self._lock("partitions")  # type: ignore[no-any-return]

    def snapshot(self, partition: str) -> Snapshot:
        with self._lock("writer"):  # no writer between the version and the lines
            version = int(self.redis.hget(self.key("versions"), partition) or 0)
            written = int(self.redis.hget(self.key("written"), partition) or 0)
            keys = sorted(self.redis.smembers(self.key("partition", partition)))
            reads = self.redis.pipeline(transaction=False)
            for key in keys:
                reads.hmget(self.key("story", key), ["sort", "record"])
            rows = reads.execute()
        return Snapshot(version, written, [record for _, record in sorted(rows)])

    def make_durable(self) -> None:
        """Each MULTI/EXEC is as durable as the server's appendfsync makes it: nothing to add."""

    def mark_written(self, versions: dict[str, int]) -> None:
        with self._lock("writer"):
            names = list(versions)
            current = self.redis.hmget(self.key("written"), names) if names else []
            newer = {name: versions[name] for name, was in zip(names, current) if versions[name] > int(was or 0)}
            if newer:
                self.redis.hset(self.key("written"), mapping=newer)

    def finalise_ids(self) -> int:
        with self._lock("writer"):
            keys = self.redis.smembers(self.key("provisional"))
            writes = self.redis.pipeline()
            for key in keys:
                writes.hset(self.key("story", key), "final", 1)
            writes.delete(self.key("provisional"))
            writes.execute()
        return len(keys)

    def close(self) -> None:
        self.redis.close()


@dataclass(frozen=True)
class _CopyEntry:
    story: int
    digest: str
    partition: str
    version: int

    def __str__(self) -> str:
        return f"{self.story} {self.digest} {self.partition} {self.version}"

    @classmethod
    def parse(cls, text: str) -> _CopyEntry:
        story, digest, partition, version = text.split(" ")
        return cls(int(story), digest, partition, int(version))


class _RedisTransaction:
    """Reads go to the server at once (the writer lock keeps them current); each copy's writes are
    queued and applied in one MULTI/EXEC when the copy is done, so the next copy reads them."""

    def __init__(self, store: RedisStateStore) -> None:
        self.store = store
        self.redis = store.redis
        self.key = store.key
        self.writes = store.redis.pipeline(transaction=True)
        self.versions: dict[str, int] = {}  # partition versions as this transaction leaves them
        self.saved: dict[int, tuple[str, int]] = {}  # story key -> its partition and version now

    def prefetch(self, copies: Sequence[Copy]) -> None:
        """Nothing: reads go to the server one by one, each a round trip on a local socket."""

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Queue one copy's writes and apply them in one MULTI/EXEC."""
        versions = dict(self.versions)
        try:
            yield
        except BaseException:
            self.writes.reset()
            self.versions = versions
            raise
        self.writes.execute()

    def copy_of(self, url: str) -> tuple[int, str] | None:
        entry = self.redis.hget(self.key("copies"), url)
        if entry is None:
            return None
        parsed = _CopyEntry.parse(entry)
        return parsed.story, parsed.digest

    def story_of_fingerprint(self, fingerprint: str) -> int | None:
        found = self.redis.hget(self.key("fingerprints"), fingerprint)
        return int(found) if found is not None else None

    def stories_of_bands(self, bands: list[int]) -> list[tuple[int, bytes]]:
        reads = self.redis.pipeline(transaction=False)
        for band in bands:
            reads.smembers(self.key("band", band))
        counts: dict[int, int] = {}
        for members in reads.execute():
            for member in members:
                counts[int(member)] = counts.get(int(member), 0) + 1
        keys = sorted(counts, key=lambda k: (-counts[k], k))
        for key in keys:
            reads.hget(self.key("story", key), "signature")
        return [(key, bytes.fromhex(signature)) for key, signature in zip(keys, reads.execute())]

    def load(self, key: int) -> StoryRow:
        record, partition, final, created_run = self.redis.hmget(
            self.key("story", key), ["record", "partition", "final", "created_run"])
        return StoryRow(key, json.loads(record), partition, final == "1", created_run)

    def _bump(self, partition: str) -> int:
        if partition not in self.versions:
            self.versions[partition] = int(self.redis.hget(self.key("versions"), partition) or 0)
        self.versions[partition] += 1
        self.writes.hset(self.key("versions"), partition, self.versions[partition])
        return self.versions[partition]

    def save(self, row: StoryRow | None, record: dict[str, Any], run: str,
             signature: bytes = b"") -> tuple[int, tuple[str, ...]]:
        partition = partition_of(record["timestamp"])
        version = self._bump(partition)
        key = row.key if row is not None else int(self.redis.incr(self.key("next")))
        self.saved[key] = (partition, version)
        fields = {"record": dumps(record), "partition": partition, "sort": sort_key(record)}
        if row is None:
            fields |= {"final": 0, "created_run": run, "signature": signature.hex()}
            self.writes.sadd(self.key("provisional"), key)
        self.writes.hset(self.key("story", key), mapping=fields)
        self.writes.sadd(self.key("partition", partition), key)
        if row is None or partition == row.partition:
            return key, (partition,)
        self._bump(row.partition)
        self.writes.srem(self.key("partition", row.partition), key)
        urls = [a["url"] for a in record["appearances"]]
        for url, entry in zip(urls, self.redis.hmget(self.key("copies"), urls)):
            if entry:
                moved = _CopyEntry.parse(entry)
                self.writes.hset(self.key("copies"), url, str(_CopyEntry(key, moved.digest, partition, version)))
        return key, (row.partition, partition)

    def index_copy(self, key: int, copy: Copy, with_bands: bool, with_fingerprint: bool = True) -> None:
        entry = _CopyEntry(key, copy.digest, *self.saved[key])
        self.writes.hset(self.key("copies"), copy.url, str(entry))
        if with_fingerprint:
            self.writes.hsetnx(self.key("fingerprints"), copy.fingerprint, key)
        if with_bands:
            for band in copy.bands:
                self.writes.sadd(self.key("band", band), key)
