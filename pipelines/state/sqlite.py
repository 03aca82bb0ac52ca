"""The SQLite backend (`STATE_BACKEND = "sqlite"`): one database under `OUTPUT_DIR/.state/`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.site.urls import PORTAL_DOMAINS, page_key
from pipelines.dedupe import Copy, dumps, partition_of, sort_key
from pipelines.state.decision import IndexedStore, StoryRow, Transaction, _file_lock, _spellings
from pipelines.state.protocol import UNKNOWN_DIGEST, Snapshot, damaged

DATABASE = "state.sqlite3"
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
CREATE TABLE IF NOT EXISTS ready_stories (story INTEGER PRIMARY KEY);  -- settled, final once no run is alive
CREATE TABLE IF NOT EXISTS copies (  -- every copy's page key (crawler.site.urls.page_key)
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
CREATE TABLE IF NOT EXISTS moves (   -- a story moved from one partition to the other: rewritten in
    source TEXT NOT NULL,            --   one round, until both are written
    target TEXT NOT NULL,
    PRIMARY KEY (source, target)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS syncs (n INTEGER PRIMARY KEY, at TEXT);
"""


class SqliteStateStore(IndexedStore):
    """SQLite in WAL mode, `OUTPUT_DIR/.state/state.sqlite3`. Writers serialise on
    `BEGIN IMMEDIATE`; partition rewrites on a file lock, `.state/partitions.lock`. Safe for several
    crawl processes on one machine (not on a network filesystem: use Redis there)."""

    def __init__(self, directory: Path, domains: tuple[str, ...] = PORTAL_DOMAINS) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.domains = domains  # the portal's host families: copies are keyed by `page_key`
        self.db = sqlite3.connect(directory / DATABASE, timeout=120, isolation_level=None)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            # Commits survive a killed process as they are; make_durable() syncs before files are written.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript("BEGIN IMMEDIATE;" + _SQLITE_SCHEMA + "COMMIT;")
        except sqlite3.DatabaseError as error:
            self.db.close()
            if not _is_damage(error):
                raise
            raise damaged(self.location, [_damage(directory / DATABASE, error)]) from None

    @property
    def location(self) -> str:
        return str(self.directory / DATABASE)

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
        spellings = _spellings(urls, self.domains)
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

    def partitions(self) -> dict[str, int]:
        return dict(self.db.execute(
            "SELECT p.name, count(s.key) FROM partitions p LEFT JOIN stories s ON s.partition = p.name "
            "GROUP BY p.name ORDER BY p.name"))

    def moved_together(self, partitions: Collection[str]) -> list[tuple[str, str]]:
        names = set(partitions)
        return [(source, target) for source, target in self.db.execute("SELECT source, target FROM moves")
                if source in names or target in names]

    def mark_pending(self, partitions: Iterable[str]) -> None:
        with self._immediate() as db:
            db.executemany("INSERT INTO partitions (name, version, written) VALUES (?, 1, 0) "
                           "ON CONFLICT (name) DO UPDATE SET written = 0", [(name,) for name in partitions])

    def integrity(self, quick: bool = False) -> list[str]:
        try:
            rows = self.db.execute("PRAGMA quick_check(20)" if quick else "PRAGMA integrity_check(20)").fetchall()
            problems = [line for (text,) in rows for line in text.splitlines()
                        if line != "ok" and not line.startswith("*** in database")]
            if problems or quick:
                return problems
            return [f"{count} {what}" for what, sql in _CONSISTENCY.items()
                    if (count := self.db.execute(sql).fetchone()[0])]
        except sqlite3.DatabaseError as error:
            return [_damage(self.directory / DATABASE, error) if _is_damage(error) else str(error)]

    def restore_stories(self, records: Iterable[dict[str, Any]], run: str) -> int:
        stories: list[tuple[Any, ...]] = []
        copies: dict[str, tuple[str, int, str, str, int]] = {}
        fingerprints: dict[str, int] = {}
        bands: set[tuple[int, int]] = set()
        partitions: set[str] = set()
        for key, record in enumerate(records, 1):
            primary = Copy(record, self.domains)
            partition = partition_of(record["timestamp"])
            stories.append((key, record["id"], partition, sort_key(record), run, primary.signature, dumps(record)))
            for appearance in record["appearances"]:
                url = page_key(appearance["url"], self.domains)
                copies.setdefault(url, (url, key, primary.digest if url == primary.key else UNKNOWN_DIGEST,
                                        partition, 1))
            fingerprints.setdefault(primary.fingerprint, key)
            bands.update((band, key) for band in primary.bands)
            partitions.add(partition)
        with self._immediate() as db:
            if db.execute("SELECT 1 FROM stories UNION ALL SELECT 1 FROM partitions LIMIT 1").fetchone():
                raise ValueError(f"{self.location} is not empty: a rebuild starts from an empty state")
            db.executemany("INSERT INTO stories (key, id, partition, sort, final, created_run, signature, record) "
                           "VALUES (?, ?, ?, ?, 1, ?, ?, ?)", stories)
            db.executemany("INSERT INTO copies (url, story, digest, partition, version) VALUES (?, ?, ?, ?, ?)",
                           copies.values())
            db.executemany("INSERT INTO fingerprints (fingerprint, story) VALUES (?, ?)", fingerprints.items())
            db.executemany("INSERT INTO bands (band, story) VALUES (?, ?)", sorted(bands))
            db.executemany("INSERT INTO partitions (name, version, written) VALUES (?, 1, 0)", [(p,) for p in sorted(partitions)])
        return len(stories)

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
            db.execute("DELETE FROM moves WHERE NOT EXISTS (SELECT 1 FROM partitions p "
                       "WHERE p.name IN (moves.source, moves.target) AND p.written < p.version)")

    def finalise_ids(self, touched: Collection[int], channels: Collection[str], alone: Callable[[], bool]) -> int:
        with self._immediate() as db:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS settled (story INTEGER PRIMARY KEY)")
            db.execute("DELETE FROM settled")
            db.executemany("INSERT OR IGNORE INTO settled (story) VALUES (?)", ((key,) for key in touched))
            if channels:  # the line's JSON is read only for the provisional stories not touched
                db.execute("INSERT INTO settled (story) SELECT key FROM stories WHERE final = 0 "
                           "AND key NOT IN (SELECT story FROM settled) "
                           f"AND json_extract(record, '$.channel') IN ({','.join('?' * len(channels))})",
                           list(channels))
            if not alone():
                db.execute("INSERT OR IGNORE INTO ready_stories (story) SELECT key FROM stories "
                           "WHERE final = 0 AND key IN (SELECT story FROM settled)")
                return 0
            final = db.execute("UPDATE stories SET final = 1 WHERE final = 0 AND (key IN (SELECT story FROM settled) "
                               "OR key IN (SELECT story FROM ready_stories))").rowcount
            db.execute("DELETE FROM ready_stories")
            return final

    def close(self) -> None:
        self.db.close()


# What `integrity()` counts beyond SQLite's own check: rows that no change of this module leaves.
_CONSISTENCY = {
    "stories in a partition the state does not list":
        "SELECT count(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM partitions p WHERE p.name = s.partition)",
    "stories whose line is not JSON, or holds another id":
        "SELECT count(*) FROM stories WHERE CASE WHEN json_valid(record) THEN json_extract(record, '$.id') IS NOT id "
        "ELSE 1 END",
    "copies of a story that does not exist":
        "SELECT count(*) FROM copies c WHERE NOT EXISTS (SELECT 1 FROM stories s WHERE s.key = c.story)",
    "partitions marked written ahead of their version": "SELECT count(*) FROM partitions WHERE written > version",
}


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    """The file is not a database, or a damaged one (rather than busy, unreadable, full)."""
    return str(getattr(error, "sqlite_errorname", "")).startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def _damage(database: Path, error: sqlite3.DatabaseError) -> str:
    """SQLite's words for the damage, and whether the file is shorter than its header says."""
    with database.open("rb") as handle:
        header = handle.read(100)
    size = database.stat().st_size
    if len(header) < 100 or not header.startswith(b"SQLite format 3\0"):
        return f"{error}: it does not start as an SQLite database does"
    page_size = int.from_bytes(header[16:18], "big")
    expected = (65536 if page_size == 1 else page_size) * int.from_bytes(header[28:32], "big")
    if size < expected:
        return f"{error}: the file is {size:,} bytes, its header says {expected:,}, it was cut short"
    return str(error)


def set_aside(directory: Path) -> Path | None:
    """Move the database (and its write-ahead log) out of the way, kept beside it under a dated
    name, so that the next open starts an empty one. Returns where it went (None: there was none)."""
    database = directory / DATABASE
    if not database.exists():
        return None
    stamp = f"{DATABASE}.set-aside-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    aside, number = database.with_name(stamp), 1
    while aside.exists():  # a rename would replace the one set aside before
        number += 1
        aside = database.with_name(f"{stamp}-{number}")
    for suffix in ("-wal", "-shm", ""):  # the log first: a log beside the wrong database is harmful
        source = database.with_name(DATABASE + suffix)
        if source.exists():
            source.rename(aside.with_name(aside.name + suffix))
    return aside


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
        self.moved_between: set[tuple[str, str]] = set()  # (from, to) partitions of the moved stories
        self.mutated = False

    def _select_in(self, sql: str, values: Sequence[Any]) -> list[Any]:
        rows: list[Any] = []
        for start in range(0, len(values), self.CHUNK):
            chunk = values[start:start + self.CHUNK]
            rows += self.db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall()
        return rows

    def prefetch(self, copies: Sequence[Copy]) -> None:
        urls = list(dict.fromkeys(copy.key for copy in copies))
        self.copies.update(dict.fromkeys(urls))
        for url, story, digest in self._select_in("SELECT url, story, digest FROM copies WHERE url IN ({marks})", urls):
            self.copies[url] = (story, digest)
        first_of: dict[str, Copy] = {}  # each fingerprint not stored under a known URL, its first copy
        for copy in copies:
            if self.copies[copy.key] is None:
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
        self.moved_between.add((row.partition, partition))
        return key, (row.partition, partition)

    def index_copy(self, key: int, copy: Copy, with_bands: bool, with_fingerprint: bool = True) -> None:
        self.mutated = True
        partition, version = self.saved[key]
        self.copies[copy.key] = (key, copy.digest)
        self.new_copies[copy.key] = (copy.key, key, copy.digest, partition, version)
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
        db.executemany("INSERT OR IGNORE INTO moves (source, target) VALUES (?, ?)", self.moved_between)

