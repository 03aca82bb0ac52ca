"""The Redis backend (`STATE_BACKEND = "redis"`): one database per OUTPUT_DIR, shared by crawl
processes on several machines."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from crawler.site.urls import PORTAL_DOMAINS, page_key
from pipelines.dedupe import Copy, dumps, partition_of, sort_key
from pipelines.state.decision import IndexedStore, StoryRow, Transaction, _spellings
from pipelines.state.protocol import UNKNOWN_DIGEST, Outcome, Snapshot, StateError


class RedisStateStore(IndexedStore):
    """The same state in Redis (keys under `hebei:state:`; one Redis database per OUTPUT_DIR).

    Writers serialise on a Redis lock, held once per batch: a batch's reads are pipelined in a
    few round trips and its writes applied as one MULTI/EXEC, so every process sees a batch
    either wholly stored or not at all. Durability is the server's: run it
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

    def record_copies(self, copies: Sequence[Copy], run: str) -> list[Outcome]:
        """What each copy is looked up by is computed before the writer lock is taken: the other
        processes wait only for the lookups and the writes."""
        for copy in copies:
            _computes(copy)
        return super().record_copies(copies, run)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """The batch under the writer lock, released in the MULTI/EXEC of its writes (one round
        trip less per batch), or on its own when the batch writes nothing or fails."""
        from redis.exceptions import LockError, LockNotOwnedError

        lock, token = self._lock("writer"), uuid.uuid4().hex
        if not lock.acquire(token=token):
            raise LockError(f"{self.location}: the writer lock was not free within {lock.blocking_timeout} s")
        released: bool | None = None  # None: not by the writes
        try:
            tx = _RedisTransaction(self)
            yield tx
            released = tx.apply(lock.name, token)
        finally:
            if released is None:
                lock.release()
        if released is False:  # what redis-py's release says when the lock expired meanwhile
            raise LockNotOwnedError(f"{self.location}: the writer lock expired while a batch was recorded")

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


# Points the copies of a story that moved to another day at its new partition and version
# (ARGV: story, partition, version, count, then `count` page keys; repeated), as the state holds
# no index of copies by story: run in the batch's MULTI/EXEC, it costs no round trip of its own.
_MOVE_COPIES = """
local i = 1
while i <= #ARGV do
  local story, partition, version, count = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  for j = i + 4, i + 3 + count do
    local entry = redis.call('HGET', KEYS[1], ARGV[j])
    local owner, digest = string.match(entry or '', '^(%S+) (%S+) ')
    if owner == story then
      redis.call('HSET', KEYS[1], ARGV[j], owner .. ' ' .. digest .. ' ' .. partition .. ' ' .. version)
    end
  end
  i = i + 4 + count
end
"""

# The writer lock's release, as redis-py's (the key is deleted only if it still holds our token),
# queued at the end of a batch's MULTI/EXEC.
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
# A batch touches thousands of keys of the same kind (LSH bands, stories): one script call each way
# instead of a command per key, with the names and members joined in one argument and one answer,
# because every argument and every element of an answer costs the client far more than the server.
# The scripts name keys under the prefix they are given: the state lives on one server (its
# MULTI/EXEC over many keys needs that already), never a cluster.
# ARGV: the bands' prefix, the stories' prefix, band names separated by spaces. Returns each band's
# stories joined by "," and the bands by " "; then "story:signature" of each of those stories, by " ".
_BANDS_WITH_SIGNATURES = """
local bands, signatures, seen = {}, {}, {}
for name in string.gmatch(ARGV[3], '%S+') do
  local stories = redis.call('SMEMBERS', ARGV[1] .. name)
  bands[#bands + 1] = table.concat(stories, ',')
  for _, story in ipairs(stories) do
    if not seen[story] then
      seen[story] = true
      signatures[#signatures + 1] = story .. ':' .. (redis.call('HGET', ARGV[2] .. story, 'signature') or '')
    end
  end
end
return {table.concat(bands, ' '), table.concat(signatures, ' ')}
"""
# ARGV: prefix, "name|member,member name|member ...". Members go 1000 at a time (unpack's limit is 8000).
_SADD_MANY = """
for name, members in string.gmatch(ARGV[2], '(%S+)|(%S+)') do
  local values = {}
  for member in string.gmatch(members, '[^,]+') do
    values[#values + 1] = member
    if #values == 1000 then
      redis.call('SADD', ARGV[1] .. name, unpack(values))
      values = {}
    end
  end
  if #values > 0 then redis.call('SADD', ARGV[1] .. name, unpack(values)) end
end
"""
# ARGV: prefix, names separated by spaces, then the fields. Returns the values, hash after hash.
_HMGET_MANY = """
local out = {}
for name in string.gmatch(ARGV[2], '%S+') do
  local values = redis.call('HMGET', ARGV[1] .. name, unpack(ARGV, 3))
  for i = 1, #ARGV - 2 do out[#out + 1] = values[i] end
end
return out
"""
_STORY_FIELDS = ["record", "partition", "final", "created_run"]


class _RedisTransaction:
    """One batch under the writer lock, in a few round trips whatever its size: what the batch will
    look up is read in pipelined rounds (`prefetch`), every read after that goes to what this
    transaction holds first, and the writes are gathered and applied in one MULTI/EXEC before the
    lock is released (`apply`): other processes see a batch wholly or not at all. A copy changes
    nothing until everything about it that can fail has been computed (`IndexedStore`); if it fails
    after all, the whole batch is abandoned."""

    def __init__(self, store: RedisStateStore) -> None:
        self.redis = store.redis
        self.key = store.key
        self.domains = store.domains
        self.copies: dict[str, _CopyEntry | None] = {}  # page key -> its entry, None: no such copy
        self.fingerprints: dict[str, int | None] = {}  # fingerprint -> story, None: none has it
        self.band_stories: dict[int, set[int]] = {}  # band -> stories in it
        self.rows: dict[int, StoryRow] = {}  # stories read or written by this transaction
        self.signatures: dict[int, bytes] = {}
        self.stored_versions: dict[str, int] = {}  # partition versions as the batch found them
        self.versions: dict[str, int] = {}  # partitions this transaction bumped: their version now
        self.saved: dict[int, tuple[str, int]] = {}  # story key -> its partition and version now
        self.next_key = 0  # the key of the next new story, once known
        # the writes, applied in this order: stories, copies, fingerprints, bands, moves
        self.story_fields: dict[int, dict[str, Any]] = {}
        self.created: set[int] = set()  # stories this batch created
        self.left: dict[int, str] = {}  # stories stored before this batch that changed: their partition then
        self.new_copies: dict[str, _CopyEntry] = {}
        self.new_fingerprints: dict[str, int] = {}
        self.new_bands: dict[int, set[int]] = {}
        self.moved: set[int] = set()  # stories that changed day: their copies' entries follow
        self.moved_between: set[tuple[str, str]] = set()
        self.mutated = False

    # ------------------------------------------------------------ reads, a round at a time

    def prefetch(self, copies: Sequence[Copy]) -> None:
        """Three pipelined rounds at most: the copies' entries, fingerprints and partitions; the
        stories found, and the LSH bands of the copies that matched neither with the signatures
        of the stories in them; the candidates close enough to be compared exactly."""
        if not copies:
            return
        usable = [copy for copy in copies if _computes(copy)]  # a malformed copy fails later, alone
        urls = list(dict.fromkeys(copy.key for copy in copies))
        fingerprints = list(dict.fromkeys(copy.fingerprint for copy in usable))
        partitions = list(dict.fromkeys(partition_of(copy.record["timestamp"]) for copy in usable))
        reads = self.redis.pipeline(transaction=False)
        reads.hmget(self.key("copies"), urls)
        reads.hmget(self.key("fingerprints"), fingerprints or [""])
        reads.hmget(self.key("versions"), partitions or [""])
        reads.get(self.key("next"))
        entries, stories, versions, last = reads.execute()
        self.copies.update((url, _CopyEntry.parse(entry) if entry else None) for url, entry in zip(urls, entries))
        self.fingerprints.update((fp, int(key) if key else None) for fp, key in zip(fingerprints, stories))
        self.stored_versions.update((name, int(version or 0)) for name, version in zip(partitions, versions))
        self.next_key = int(last or 0) + 1
        unmatched = [copy for copy in usable if self.copies[copy.key] is None
                     and self.fingerprints[copy.fingerprint] is None]
        found = {entry.story for entry in self.copies.values() if entry} | {
            key for key in self.fingerprints.values() if key is not None}
        self._read_bands(list({band for copy in unmatched for band in copy.bands}), rows=sorted(found))
        close = {key for copy in unmatched for key in copy.close_candidates(
            [(key, self.signatures[key]) for band in copy.bands for key in self.band_stories[band] if key in self.signatures])}
        self._read_rows(sorted(close - set(self.rows)))

    def _read_bands(self, bands: list[int], rows: list[int] | None = None) -> None:
        """The stories of these bands with their signatures, and these stories' rows, in one round trip."""
        reads = self.redis.pipeline(transaction=False)
        if bands:
            reads.eval(_BANDS_WITH_SIGNATURES, 0, self.key("band", ""), self.key("story", ""), " ".join(map(str, bands)))
        if rows:
            self._queue_stories(reads, rows, _STORY_FIELDS)
        answers = reads.execute() if bands or rows else []
        if bands:
            members, signatures = answers.pop(0)
            for band, stories in zip(bands, members.split(" ")):
                stored = {int(story) for story in stories.split(",") if story}
                self.band_stories[band] = stored | self.new_bands.get(band, set())
            for story, _, signature in (pair.partition(":") for pair in signatures.split()):
                if signature:  # a story without one (a damaged state) fails the copies that meet it, alone
                    self.signatures.setdefault(int(story), bytes.fromhex(signature))
        if rows:
            self._keep_rows(rows, answers.pop(0))

    def _read_rows(self, keys: list[int]) -> None:
        if keys:
            reads = self.redis.pipeline(transaction=False)
            self._queue_stories(reads, keys, _STORY_FIELDS)
            self._keep_rows(keys, reads.execute()[0])

    def _queue_stories(self, reads: Any, keys: list[int], fields: list[str]) -> None:
        reads.eval(_HMGET_MANY, 0, self.key("story", ""), " ".join(map(str, keys)), *fields)

    def _keep_rows(self, keys: list[int], answer: list[str]) -> None:
        rows = [answer[start:start + len(_STORY_FIELDS)] for start in range(0, len(answer), len(_STORY_FIELDS))]
        for key, (record, partition, final, created_run) in zip(keys, rows):
            if record is not None:  # a story without a line (a damaged state) fails the copies that meet it, alone
                self.rows[key] = StoryRow(key, json.loads(record), partition, final == "1", created_run)

    # ------------------------------------------------------------ the Transaction protocol

    @contextmanager
    def atomic(self) -> Iterator[None]:
        self.mutated = False
        try:
            yield
        except (KeyError, TypeError, ValueError) as error:
            if self.mutated:  # never meant to happen: the batch must not keep half a copy
                raise RuntimeError(f"a copy failed after its first change: {error!r}") from error
            raise

    def copy_of(self, url: str) -> tuple[int, str] | None:
        if url not in self.copies:
            entry = self.redis.hget(self.key("copies"), url)
            self.copies[url] = _CopyEntry.parse(entry) if entry else None
        found = self.copies[url]
        return (found.story, found.digest) if found else None

    def story_of_fingerprint(self, fingerprint: str) -> int | None:
        if fingerprint not in self.fingerprints:
            found = self.redis.hget(self.key("fingerprints"), fingerprint)
            self.fingerprints[fingerprint] = int(found) if found is not None else None
        return self.fingerprints[fingerprint]

    def stories_of_bands(self, bands: list[int]) -> list[tuple[int, bytes]]:
        missing = [band for band in bands if band not in self.band_stories]
        if missing:
            self._read_bands(missing)
        shared: dict[int, int] = {}
        for band in bands:
            for story in self.band_stories[band]:
                shared[story] = shared.get(story, 0) + 1
        keys = sorted(shared, key=lambda key: (-shared[key], key))  # every one's signature came with its band
        return [(key, self.signatures[key]) for key in keys]

    def load(self, key: int) -> StoryRow:
        if key not in self.rows:
            self._read_rows([key])
        return self.rows[key]

    def _bump(self, partition: str) -> int:
        """A partition's version grows once per batch: every change in it is written by the same rewrite."""
        if partition not in self.versions:
            if partition not in self.stored_versions:
                self.stored_versions[partition] = int(self.redis.hget(self.key("versions"), partition) or 0)
            self.versions[partition] = self.stored_versions[partition] + 1
        return self.versions[partition]

    def save(self, row: StoryRow | None, record: dict[str, Any], run: str,
             signature: bytes = b"") -> tuple[int, tuple[str, ...]]:
        partition, sort, line = partition_of(record["timestamp"]), sort_key(record), dumps(record)
        self.mutated = True
        version = self._bump(partition)
        fields: dict[str, Any] = {"record": line, "partition": partition, "sort": sort}
        if row is None:
            key, self.next_key = self.next_key, self.next_key + 1
            fields |= {"final": 0, "created_run": run, "signature": signature.hex()}
            self.created.add(key)
            self.rows[key] = StoryRow(key, record, partition, False, run)
            self.signatures[key] = signature
        else:
            key = row.key
            if key not in self.created:
                self.left.setdefault(key, row.partition)
            self.rows[key] = StoryRow(key, record, partition, row.final, row.created_run)
        self.story_fields[key] = self.story_fields.get(key, {}) | fields
        self.saved[key] = (partition, version)
        if row is None or partition == row.partition:
            return key, (partition,)
        self._bump(row.partition)  # the line leaves the old file: the old file is pending too
        self.moved.add(key)
        self.moved_between.add((row.partition, partition))
        return key, (row.partition, partition)

    def index_copy(self, key: int, copy: Copy, with_bands: bool, with_fingerprint: bool = True) -> None:
        self.mutated = True
        entry = _CopyEntry(key, copy.digest, *self.saved[key])
        self.copies[copy.key] = self.new_copies[copy.key] = entry
        if with_fingerprint and self.story_of_fingerprint(copy.fingerprint) is None:
            self.fingerprints[copy.fingerprint] = self.new_fingerprints[copy.fingerprint] = key
        if with_bands:  # SADD adds a member once: no need to read a band to add to it
            for band in copy.bands:
                self.new_bands.setdefault(band, set()).add(key)
                if band in self.band_stories:
                    self.band_stories[band].add(key)

    # ------------------------------------------------------------ the writes, in one MULTI/EXEC

    def apply(self, lock: str, token: str) -> bool | None:
        """Write what the batch changed and release the writer lock (`lock`, held with `token`), in
        one round trip. Returns whether the lock was still held; None, having done nothing, when
        the batch changed nothing."""
        if not self.story_fields:
            return None
        writes = self.redis.pipeline(transaction=True)
        writes.hset(self.key("versions"), mapping=self.versions)
        members: dict[str, set[int]] = {f"band:{band}": keys for band, keys in self.new_bands.items()}
        for key, fields in self.story_fields.items():
            writes.hset(self.key("story", key), mapping=fields)
            members.setdefault(f"partition:{self.saved[key][0]}", set()).add(key)
        for key, partition in self.left.items():
            if partition != self.saved[key][0]:
                writes.srem(self.key("partition", partition), key)
        if self.created:
            members["provisional"] = self.created
            writes.set(self.key("next"), max(self.created))
        writes.eval(_SADD_MANY, 0, self.key(""), " ".join(f"{name}|{','.join(map(str, keys))}"
                                                          for name, keys in members.items()))
        if self.new_copies:
            writes.hset(self.key("copies"), mapping={url: str(entry) for url, entry in self.new_copies.items()})
        if self.new_fingerprints:  # none of them is stored (`story_of_fingerprint`), and the lock keeps it so
            writes.hset(self.key("fingerprints"), mapping=self.new_fingerprints)
        if self.moved:
            writes.eval(_MOVE_COPIES, 1, self.key("copies"), *self._moved_copies())
            writes.sadd(self.key("moves"), *(f"{source} {target}" for source, target in self.moved_between))
        writes.eval(_RELEASE, 1, lock, token)
        return bool(writes.execute()[-1])

    def _moved_copies(self) -> list[str | int]:
        """The script's arguments: each moved story with its partition, version and copies' page keys."""
        arguments: list[str | int] = []
        for key in sorted(self.moved):
            urls = list(dict.fromkeys(page_key(a["url"], self.domains) for a in self.rows[key].record["appearances"]))
            arguments += [key, *self.saved[key], len(urls), *urls]
        return arguments


def _computes(copy: Copy) -> bool:
    """Whether what the batch looks up for this copy can be computed (a malformed copy fails
    later, alone, with its reason)."""
    try:
        _ = copy.digest, copy.fingerprint, copy.bands, copy.signature, partition_of(copy.record["timestamp"])
    except (KeyError, TypeError, ValueError):
        return False
    return True
