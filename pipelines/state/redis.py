"""The Redis backend (`STATE_BACKEND = "redis"`): one database per OUTPUT_DIR, shared by crawl
processes on several machines."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from crawler.site.urls import PORTAL_DOMAINS, page_key
from pipelines.dedupe import Copy, dumps, partition_of, sort_key
from pipelines.state.decision import IndexedStore, StoryRow, Transaction, _spellings
from pipelines.state.protocol import UNKNOWN_DIGEST, Snapshot, StateError


class RedisStateStore(IndexedStore):
    """The same state in Redis (keys under `hebei:state:`; one Redis database per OUTPUT_DIR).

    Writers serialise on a Redis lock and apply each transaction as one MULTI/EXEC, so every
    process sees a copy either wholly stored or not at all. Durability is the server's: run it
    with `appendonly yes` and `appendfsync always` for the exactly-once promise to outlive a
    crash of Redis itself. All processes sharing the state must share one OUTPUT_DIR.
    """

    PREFIX = "hebei:state:"
    LOCK_SECONDS = 60  # a lock left by a killed process expires after this

    def __init__(self, url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> None:
        import redis

        self.url = url
        self.domains = domains  # the portal's host families: copies are keyed by `page_key`
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        try:
            self.redis.ping()
        except redis.RedisError as error:
            raise StateError(f"{self.location} does not answer ({type(error).__name__}: {error}): start it, "
                             "or point STATE_REDIS_URL at the server that holds the state") from None

    @property
    def location(self) -> str:
        """The URL without its password."""
        url = urlsplit(self.url)
        host = url.netloc.rpartition("@")[2]
        return f"the Redis state at {url.scheme}://{host}{url.path} ({self.PREFIX}*)"

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
        spellings = _spellings(urls, self.domains)
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

    def partitions(self) -> dict[str, int]:
        names = sorted(self.redis.hkeys(self.key("versions")))
        reads = self.redis.pipeline(transaction=False)
        for name in names:
            reads.scard(self.key("partition", name))
        return dict(zip(names, reads.execute())) if names else {}

    def moved_together(self, partitions: Collection[str]) -> list[tuple[str, str]]:
        names = set(partitions)
        pairs = [tuple(member.split(" ")) for member in self.redis.smembers(self.key("moves"))]
        return sorted((source, target) for source, target in pairs if source in names or target in names)

    def mark_pending(self, partitions: Iterable[str]) -> None:
        with self._lock("writer"):
            writes = self.redis.pipeline()
            for name in partitions:
                writes.hsetnx(self.key("versions"), name, 1)
                writes.hset(self.key("written"), name, 0)
            writes.execute()

    def integrity(self, quick: bool = False) -> list[str]:
        """It answered when it was opened; beyond that, what reading every story's partition costs
        (nothing of it at a run's open), under the writer lock so that no change shows half done:
        the partitions, their sets of stories, the stories' hashes, the key counter, the copies."""
        if quick:
            return []
        with self._lock("writer"):
            versions = self.redis.hgetall(self.key("versions"))
            written = self.redis.hgetall(self.key("written"))
            reads = self.redis.pipeline(transaction=False)
            for name in sorted(versions):
                reads.smembers(self.key("partition", name))
            members = [(name, key) for name, keys in zip(sorted(versions), reads.execute()) for key in keys]
            for _, key in members:
                reads.hmget(self.key("story", key), ["partition", "record"])
            rows = reads.execute() if members else []
            last = int(self.redis.get(self.key("next")) or 0)
            entries = self.redis.hvals(self.key("copies"))
        counts = {
            "partitions marked written ahead of their version, or unknown":
                sum(int(v) > int(versions.get(name, 0)) for name, v in written.items()),
            "stories listed in a partition without a line": sum(record is None for _, record in rows),
            "stories listed in another partition than their own": sum(
                record is not None and partition != name for (name, _), (partition, record) in zip(members, rows)),
            "stories whose line is not JSON": sum(not _is_json(record) for _, record in rows if record),
            "story keys beyond the key counter": sum(int(key) > last for _, key in members),
            "copies whose entry does not parse": sum(not _CopyEntry.parses(entry) for entry in entries),
        }
        return [f"{count} {what}" for what, count in counts.items() if count]

    def restore_stories(self, records: Iterable[dict[str, Any]], run: str) -> int:
        with self._lock("writer"):
            if self.redis.exists(self.key("versions"), self.key("next")):
                raise ValueError(f"{self.location} is not empty: a rebuild starts from an empty state")
            writes = self.redis.pipeline(transaction=False)
            count = 0
            for count, record in enumerate(records, 1):
                primary, partition = Copy(record, self.domains), partition_of(record["timestamp"])
                writes.hset(self.key("story", count), mapping={
                    "record": dumps(record), "partition": partition, "sort": sort_key(record), "final": 1,
                    "created_run": run, "signature": primary.signature.hex()})
                writes.sadd(self.key("partition", partition), count)
                for appearance in record["appearances"]:
                    url = page_key(appearance["url"], self.domains)
                    digest = primary.digest if url == primary.key else UNKNOWN_DIGEST
                    writes.hsetnx(self.key("copies"), url, str(_CopyEntry(count, digest, partition, 1)))
                writes.hsetnx(self.key("fingerprints"), primary.fingerprint, count)
                for band in primary.bands:
                    writes.sadd(self.key("band", band), count)
                writes.hset(self.key("versions"), partition, 1)
                if count % 500 == 0:
                    writes.execute()
            writes.set(self.key("next"), count)
            writes.execute()
        return count

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
            self._forget_moves()

    def _forget_moves(self) -> None:
        """The moves whose two partitions are both written (called under the writer lock)."""
        moves = sorted(self.redis.smembers(self.key("moves")))
        if not moves:
            return
        names = sorted({name for move in moves for name in move.split(" ")})
        versions = dict(zip(names, self.redis.hmget(self.key("versions"), names)))
        written = dict(zip(names, self.redis.hmget(self.key("written"), names)))
        done = [move for move in moves
                if all(int(written[name] or 0) >= int(versions[name] or 0) for name in move.split(" "))]
        if done:
            self.redis.srem(self.key("moves"), *done)

    def finalise_ids(self, touched: Collection[int], channels: Collection[str], alone: Callable[[], bool]) -> int:
        with self._lock("writer"):
            provisional = {str(key) for key in self.redis.smembers(self.key("provisional"))}
            settled = {str(key) for key in touched} & provisional
            others = sorted(provisional - settled)
            if channels and others:  # the line's JSON is read only for the provisional stories not touched
                reads = self.redis.pipeline(transaction=False)
                for key in others:
                    reads.hget(self.key("story", key), "record")
                settled |= {key for key, record in zip(others, reads.execute())
                            if record and json.loads(record).get("channel") in channels}
            if not alone():
                if settled:
                    self.redis.sadd(self.key("ready"), *settled)
                return 0
            settled |= {str(key) for key in self.redis.smembers(self.key("ready"))} & provisional
            writes = self.redis.pipeline()
            for key in settled:
                writes.hset(self.key("story", key), "final", 1)
            if settled:
                writes.srem(self.key("provisional"), *settled)
            writes.delete(self.key("ready"))
            writes.execute()
        return len(settled)

    def close(self) -> None:
        self.redis.close()


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def set_aside(url: str) -> str | None:
    """Rename the state's keys under a dated prefix (kept for a look, or a DEL later), so that
    the next open starts an empty state. Returns the new prefix (None: there were no keys)."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    aside = f"hebei:state-set-aside-{datetime.now(UTC):%Y%m%dT%H%M%SZ}:"
    prefix = RedisStateStore.PREFIX
    keys = [key for key in client.scan_iter(match=prefix + "*", count=1000) if not key.startswith(prefix + "lock:")]
    renames = client.pipeline(transaction=False)
    for key in keys:
        renames.rename(key, aside + key.removeprefix(prefix))
    if keys:
        renames.execute()
    client.close()
    return aside if keys else None


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

    @classmethod
    def parses(cls, text: str) -> bool:
        try:
            cls.parse(text)
        except ValueError:
            return False
        return True


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
        self.writes.sadd(self.key("moves"), f"{row.partition} {partition}")
        urls = [a["url"] for a in record["appearances"]]
        for url, entry in zip(urls, self.redis.hmget(self.key("copies"), urls)):
            if entry:
                moved = _CopyEntry.parse(entry)
                self.writes.hset(self.key("copies"), url, str(_CopyEntry(key, moved.digest, partition, version)))
        return key, (row.partition, partition)

    def index_copy(self, key: int, copy: Copy, with_bands: bool, with_fingerprint: bool = True) -> None:
        entry = _CopyEntry(key, copy.digest, *self.saved[key])
        self.writes.hset(self.key("copies"), copy.key, str(entry))
        if with_fingerprint:
            self.writes.hsetnx(self.key("fingerprints"), copy.fingerprint, key)
        if with_bands:
            for band in copy.bands:
                self.writes.sadd(self.key("band", band), key)

