"""Sets that a backfill holds for the whole crawl, one member per request, article or listing page,
in a few bytes each instead of a Python object each (docs/backfill.md, "What grows, and why"): as plain
sets of strings or ints they grew with the archive as fast as Scrapy's duplicate filter.

Each keeps most members in one sorted `array` of 8-byte integers and the latest in a small set
until there are MERGE_AT of them, then merges them in (a merge copies the array: 0.1 s in all at
200,000 members). Pure: no Scrapy, no I/O.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from heapq import merge
from typing import Self

MERGE_AT = 1 << 14  # the recent set stays under 1.2 MB


class IntSet:
    """A set of 64-bit signed integers (a store's story keys), exact: 8 bytes a member once merged,
    where a set of ints holds some 60 (the int object and its slot in the table)."""

    MERGE_AT = MERGE_AT

    def __init__(self, members: Iterable[int] = ()) -> None:
        self.merged = array("q")
        self.recent: set[int] = set()
        self.update(members)

    def _has(self, number: int) -> bool:
        at = bisect_left(self.merged, number)
        return number in self.recent or (at < len(self.merged) and self.merged[at] == number)

    def __contains__(self, member: object) -> bool:
        return isinstance(member, int) and self._has(member)

    def __len__(self) -> int:
        return len(self.merged) + len(self.recent)

    def __iter__(self) -> Iterator[int]:
        return merge(self.merged, sorted(self.recent))

    def add(self, number: int) -> None:
        if not self._has(number):
            self.recent.add(number)
            if len(self.recent) >= self.MERGE_AT:
                self.merged = array("q", merge(self.merged, sorted(self.recent)))
                self.recent = set()

    def update(self, members: Iterable[int]) -> None:
        for member in members:
            self.add(member)

    def __ior__(self, other: Iterable[int]) -> Self:
        self.update(other)
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (AbstractSet, IntSet)):
            return NotImplemented
        return len(other) == len(self) and all(member in self for member in other)

    __hash__ = None  # type: ignore[assignment]


class Digests:
    """A set of strings held as their 64-bit hashes (an `IntSet` of them): a backfill lists every
    article of the archive, and as strings in a set (about 150 bytes each) they would be the largest
    thing the walk holds, as large as Scrapy's duplicate filter. Two strings of one hash count as
    one (odds of about 1 in 10^9 at 200,000 strings): an article then counts as asked for already in
    incremental mode and is fetched once more, never missed. The hashes are this process's: a job
    shares the walk's memory by URL, in Redis (crawler/distributed/job.py)."""

    MERGE_AT = MERGE_AT

    def __init__(self, members: Iterable[str] = ()) -> None:
        self.hashes = IntSet()
        self.update(members)

    def __contains__(self, member: object) -> bool:
        return hash(member) in self.hashes

    def __len__(self) -> int:
        return len(self.hashes)

    def add(self, member: str) -> None:
        self.hashes.add(hash(member))

    def update(self, members: Iterable[str]) -> None:
        for member in members:
            self.add(member)

    def __rsub__(self, other: Iterable[str]) -> set[str]:
        return {member for member in other if member not in self}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AbstractSet):
            return NotImplemented
        return len(other) == len(self) and all(member in self for member in other)

    __hash__ = None  # type: ignore[assignment]


class FirstValues:
    """For each key, whether a value is the first one it was given: `setdefault(key, value)` returns
    `value` when it is the key's first value (or the key is new), else a value equal to no string.
    The walk's listing pages and the first URL each was asked by (`dir/` and `dir/index.shtml`
    are one page), as two `Digests` (of the keys, of the key and value pairs): 16 bytes a page,
    where a dict of the strings held some 250. Same odds of a collision as `Digests`."""

    OTHER = object()  # what setdefault returns for a value that is not the key's first

    def __init__(self) -> None:
        self.keys, self.pairs = Digests(), Digests()

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def setdefault(self, key: str, value: str) -> object:
        pair = f"{key}\x00{value}"
        if key not in self.keys:
            self.keys.add(key)
            self.pairs.add(pair)
            return value
        return value if pair in self.pairs else self.OTHER


class Fingerprints:
    """Scrapy's request fingerprints (20-byte SHA1 digests), the duplicate filter's set, kept by
    their first 16 bytes in sorted runs of two `array`s of 64-bit halves, 16 bytes a request
    where a set of the digests holds some 95 (measured: bench/scale.py). Two fingerprints that
    share their first 16 bytes count as one: at odds of about 1 in 10^26 at 2 million requests,
    a request then filtered as a duplicate. The newest MERGE_AT are a small set; the runs merge as
    a binary counter does (a run at most half the size of the one before it), so that a lookup
    searches a few runs and a request is copied a few times (log2 of requests / MERGE_AT) in all.
    Membership, `add` and `update` only: what RFPDupeFilter asks of its set."""

    MERGE_AT = MERGE_AT

    def __init__(self, members: Iterable[bytes] = ()) -> None:
        self.runs: list[tuple[array[int], array[int]]] = []  # (first halves, second halves), largest first
        self.recent: set[bytes] = set()
        self.update(members)

    def __contains__(self, member: object) -> bool:
        if not isinstance(member, bytes):
            return False
        key = member[:16]
        if key in self.recent:
            return True
        high, low = int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big")
        for highs, lows in self.runs:
            at = bisect_left(highs, high)
            while at < len(highs) and highs[at] == high:
                if lows[at] == low:
                    return True
                at += 1
        return False

    def __len__(self) -> int:
        return len(self.recent) + sum(len(highs) for highs, _ in self.runs)

    def add(self, member: bytes) -> None:
        if member not in self:
            self.recent.add(member[:16])
            if len(self.recent) >= self.MERGE_AT:
                self._flush()

    def update(self, members: Iterable[bytes]) -> None:
        for member in members:
            self.add(member)

    def _flush(self) -> None:
        keys = sorted(self.recent)  # bytes order is the order of their big-endian halves
        self.recent = set()
        self.runs.append((array("Q", (int.from_bytes(key[:8], "big") for key in keys)),
                          array("Q", (int.from_bytes(key[8:], "big") for key in keys))))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            newer, older = self.runs.pop(), self.runs.pop()
            highs, lows = array("Q"), array("Q")
            for high, low in merge(zip(*older), zip(*newer)):
                highs.append(high)
                lows.append(low)
            self.runs.append((highs, lows))
