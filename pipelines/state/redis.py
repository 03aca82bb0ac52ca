"""The Redis backend (`STATE_BACKEND = "redis"`): one database per OUTPUT_DIR, shared by crawl
processes on several machines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from pipelines.dedupe import Copy, dumps, partition_of, sort_key
from pipelines.state.decision import IndexedStore, StoryRow, Transaction, _spellings
from pipelines.state.protocol import Snapshot


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

