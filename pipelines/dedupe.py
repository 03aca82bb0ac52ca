"""How copies of one story are recognised, in three layers, and how they are merged.

1. The canonical URL: one spelling per page (`crawler.site.urls.canonical`). A page seen again is the same copy.
2. The exact fingerprint of the story's normalised text (`fingerprint`): copies filed under
   another collection with the same title and text.
3. Near-duplicates (`Signature`): copies with small edits (a sentence appended, another editor).
   MinHash over character 5-grams (Chinese has no spaces to split words on), one-permutation
   hashing with rotation densification, indexed by LSH bands; a candidate found through a band
   is accepted only if the exact Jaccard similarity of the two texts' 5-gram sets reaches
   `NEAR_DUPLICATE_JACCARD`. Figures measured on the replica are in docs/data.md.

Everything here is pure: the state store (pipelines/state/) calls it inside its transaction.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import struct
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property
from typing import Any

import numpy as np

from crawler.items import FIELDS
from crawler.site.urls import PORTAL_DOMAINS, article_id, canonical, family_rank, page_key

SHINGLE = 5  # characters per shingle
PERMUTATIONS = 64  # MinHash values per signature (one-permutation hashing: 64 bins)
BANDS, ROWS = 16, 4  # LSH: 16 bands of 4 values; a pair at Jaccard 0.8 shares a band with p > 0.999
# Copies with small edits measure >= 0.95 on the replica, different stories <= 0.33 (docs/data.md).
NEAR_DUPLICATE_JACCARD = 0.8
# Candidates whose signatures estimate less than this are not compared exactly (the estimate's
# standard error is about 0.05 at 0.8 with 64 values, so a copy at 0.8 is not lost).
ESTIMATE_FLOOR = 0.6
CHINA = timezone(timedelta(hours=8))

_NOT_A_WORD = re.compile(r"[\W_]+")
_VOLATILE = frozenset({"id", "appearances", "fetched_at", "channel"})
_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_BIN_SHIFT = 64 - (PERMUTATIONS.bit_length() - 1)  # the top 6 bits choose the bin


def normalise_text(text: str) -> str:
    """What stays the same between copies: NFKC (full- and half-width forms fold), no whitespace,
    no punctuation or symbols."""
    text = _NOT_A_WORD.sub("", text)  # punctuation first: most of what NFKC would change
    if unicodedata.is_normalized("NFKC", text):
        return text
    return _NOT_A_WORD.sub("", unicodedata.normalize("NFKC", text))


def story_text(record: dict[str, Any]) -> str:
    """The text that identifies a story: title, body and captions (photo stories have no body)."""
    return normalise_text("\n".join([record.get("title") or "", record.get("body") or "",
                                     *(record.get("captions") or [])]))


def fingerprint(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def shingles(text: str) -> set[int]:
    """32-bit hashes of the character 5-grams of `text` (one gram if it is shorter)."""
    data = text.encode("utf-32-le")
    width = 4 * SHINGLE
    crc = zlib.crc32
    return {crc(data[i:i + width]) for i in range(0, max(4, len(data) - width + 4), 4)}


def _crc_tables() -> tuple[int, np.ndarray, np.ndarray]:
    """zlib.crc32 of a 5-character UTF-32 window, as XORs of table lookups (CRC is affine in the
    message bits for a fixed length): crc(w) = base ^ XOR_k low[k][w_k & 0xFFFF] ^ high[k][w_k >> 16]."""
    width = 4 * SHINGLE
    base = zlib.crc32(bytes(width))
    byte = np.array([[zlib.crc32(bytes(j) + bytes([b]) + bytes(width - j - 1)) ^ base for b in range(256)]
                     for j in range(width)], dtype=np.uint32)
    low16 = np.arange(1 << 16)
    low = np.stack([byte[4 * k][low16 & 0xFF] ^ byte[4 * k + 1][low16 >> 8] for k in range(SHINGLE)])
    high = np.stack([byte[4 * k + 2][:0x11] for k in range(SHINGLE)])  # code points end at 0x10FFFF
    return base, low, high


_CRC_BASE, _CRC_LOW, _CRC_HIGH = _crc_tables()


def shingle_array(text: str) -> np.ndarray:
    """`shingles(text)` as an array (unsorted, possibly repeated values), computed in numpy."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    count = len(codes) - SHINGLE + 1
    if count < 1:
        return np.array(sorted(shingles(text)), dtype=np.uint32)
    low, high = codes & 0xFFFF, codes >> 16
    hashes = np.full(count, _CRC_BASE, dtype=np.uint32)
    for k in range(SHINGLE):
        hashes ^= _CRC_LOW[k][low[k:k + count]]
    if high.any():
        for k in range(SHINGLE):
            hashes ^= _CRC_HIGH[k][high[k:k + count]]
    return hashes


_NP_GOLDEN, _NP_29, _NP_BIN_SHIFT = np.uint64(_GOLDEN), np.uint64(29), np.uint64(_BIN_SHIFT)
_BIN_NUMBERS = np.arange(PERMUTATIONS, dtype=np.uint64)
_BIN_STARTS = _BIN_NUMBERS << _NP_BIN_SHIFT


def minhash_of_array(grams: np.ndarray) -> tuple[int, ...]:
    """`minhash` of the grams in an array (repeats allowed), the same values, computed in numpy."""
    x = grams.astype(np.uint64) * _NP_GOLDEN
    x ^= x >> _NP_29
    x.sort()  # the bin is the top bits: sorted values run bin by bin, each bin's smallest first
    starts = np.searchsorted(x, _BIN_STARTS)
    found = starts < len(x)
    firsts = x[np.minimum(starts, len(x) - 1)]
    full = found & ((firsts >> _NP_BIN_SHIFT) == _BIN_NUMBERS)
    bins = firsts.tolist()
    if full.all():
        return tuple(bins)
    return _densify([value if ok else None for value, ok in zip(bins, full.tolist())])


def jaccard(a: set[int], b: set[int]) -> float:
    if not a and not b:
        return 1.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def minhash(grams: set[int]) -> tuple[int, ...]:
    """One-permutation MinHash: each gram is hashed once, its top bits choose one of 64 bins and
    each bin keeps its smallest value. An empty bin (short texts) borrows the value of the next
    full bin, mixed with the distance (rotation densification, Shrivastava and Li 2014)."""
    bins: list[int | None] = [None] * PERMUTATIONS
    for gram in grams:
        x = (gram * _GOLDEN) & _MASK64
        x ^= x >> 29
        b = x >> _BIN_SHIFT
        current = bins[b]
        if current is None or x < current:
            bins[b] = x
    return _densify(bins)


def _densify(bins: list[int | None]) -> tuple[int, ...]:
    if None not in bins:
        return tuple(bins)  # type: ignore[arg-type]
    dense = []
    for i in range(PERMUTATIONS):
        distance = 0
        while (donor := bins[(i + distance) % PERMUTATIONS]) is None:
            distance += 1
        dense.append((donor ^ (distance * _GOLDEN)) & _MASK64)
    return tuple(dense)


def pack_signature(signature: tuple[int, ...]) -> bytes:
    """The low 32 bits of each value: 256 bytes per story, enough to estimate similarity."""
    return struct.pack(f"<{PERMUTATIONS}I", *(value & 0xFFFFFFFF for value in signature))


def estimated_jaccard(a: bytes, b: bytes) -> float:
    left, right = struct.unpack(f"<{PERMUTATIONS}I", a), struct.unpack(f"<{PERMUTATIONS}I", b)
    return sum(map(operator.eq, left, right)) / PERMUTATIONS


def band_keys(signature: tuple[int, ...]) -> list[int]:
    """One signed 64-bit key per LSH band (band number included, so bands never collide)."""
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS:(band + 1) * ROWS]
        digest = hashlib.blake2b(repr((band, chunk)).encode("ascii"), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass
class Copy:
    """One published copy of a story, validated, as it arrives from the spider. `url` is the URL
    it is recorded under; `key` names its page whichever host family serves it
    (`crawler.site.urls.page_key`): the state finds copies by key."""

    record: dict[str, Any]
    domains: tuple[str, ...] = PORTAL_DOMAINS
    url: str = field(init=False)
    key: str = field(init=False)
    article_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = canonical(self.record["url"])
        self.key = page_key(self.url, self.domains)
        # the schema's field order, so that every line reads the same way
        self.record = {name: self.record[name] for name in FIELDS if name in self.record} | {"url": self.url}
        self.article_id = str(self.record.get("id") or article_id(self.url) or self.url)

    @cached_property
    def text(self) -> str:
        return story_text(self.record)

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.text)

    @cached_property
    def digest(self) -> str:
        """What a re-crawl of this copy must match to change nothing: every field but those that
        differ between visits (fetch time, the spider that found it) or are the store's."""
        content = {k: v for k, v in self.record.items() if k not in _VOLATILE}
        return hashlib.blake2b(json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                               digest_size=16).hexdigest()

    @cached_property
    def shingle_array(self) -> np.ndarray:
        return shingle_array(self.text)

    @cached_property
    def shingles(self) -> set[int]:
        return set(self.shingle_array.tolist())

    @cached_property
    def minhash(self) -> tuple[int, ...]:
        return minhash_of_array(self.shingle_array)

    @cached_property
    def signature(self) -> bytes:
        return pack_signature(self.minhash)

    @cached_property
    def bands(self) -> list[int]:
        return band_keys(self.minhash)

    @property
    def appearance(self) -> dict[str, Any]:
        return {"url": self.url, "breadcrumbs": list(self.record.get("breadcrumbs") or []),
                "timestamp": self.record["timestamp"]}

    def same_page(self, url: str) -> bool:
        return page_key(url, self.domains) == self.key

    def older_family_than(self, url: str) -> bool:
        """Whether `url`, a URL of this copy's page, is on a newer host family than this copy's."""
        return family_rank(url, self.domains) > family_rank(self.url, self.domains)

    @property
    def order(self) -> tuple[datetime, str]:
        return copy_order(self.record["timestamp"], self.article_id)

    def may_be_near_duplicate_of(self, signature: bytes) -> bool:
        """The cheap test first: the Jaccard similarity the two signatures estimate."""
        return estimated_jaccard(self.signature, signature) >= ESTIMATE_FLOOR

    def close_candidates(self, candidates: Sequence[tuple[int, bytes]]) -> list[int]:
        """The keys of `candidates` (key, signature) that pass `may_be_near_duplicate_of`, in
        their order, compared all at once: a crowded LSH band (short texts alike, such as photo
        stories' captions) gives a copy as many candidates as it holds stories, a number that
        grows with the archive (docs/backfill.md), and one comparison each in Python cost 3 µs."""
        if not candidates:
            return []
        theirs = np.frombuffer(b"".join(signature for _, signature in candidates), dtype="<u4")
        equal = (theirs.reshape(len(candidates), PERMUTATIONS) == np.frombuffer(self.signature, dtype="<u4")).sum(axis=1)
        close = equal / PERMUTATIONS >= ESTIMATE_FLOOR
        return [key for (key, _), ok in zip(candidates, close.tolist(), strict=True) if ok]

    def is_near_duplicate_of(self, record: dict[str, Any]) -> bool:
        """The exact test: Jaccard similarity of the two texts' 5-gram sets."""
        return jaccard(self.shingles, set(shingle_array(story_text(record)).tolist())) >= NEAR_DUPLICATE_JACCARD


def copy_order(timestamp: str, article_id: str) -> tuple[datetime, str]:
    """Copies are ordered by time, then article id: the first is the story's primary copy."""
    return datetime.fromisoformat(timestamp), article_id


def partition_of(timestamp: str) -> str:
    """The date partition of a story: its publication day in China time."""
    moment = datetime.fromisoformat(timestamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return f"date={moment.astimezone(CHINA):%Y-%m-%d}"


def sort_key(record: dict[str, Any]) -> str:
    """Line order inside a partition: time (UTC, so that offsets compare), then id."""
    moment = datetime.fromisoformat(record["timestamp"]).astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}|{record['id']}"


def merge_copy(story: dict[str, Any], copy: Copy, id_is_final: bool) -> dict[str, Any]:
    """The story line once `copy` is one of its copies.

    Appearances are keyed by page (`Copy.key`: a copy seen again, under either host family,
    replaces its old appearance) and sorted by time then article id. If `copy` is now the earliest,
    its fields become the story's (the primary copy's fields win) and so does its id, unless the id
    is final (docs/data.md: story identity).
    """
    appearances = [a for a in story["appearances"] if not copy.same_page(a["url"])] + [copy.appearance]
    appearances.sort(key=lambda a: copy_order(a["timestamp"], article_id(a["url"]) or a["url"]))
    primary_url = appearances[0]["url"]
    if primary_url == copy.url:
        merged = {**copy.record, "id": story["id"] if id_is_final else copy.article_id}
    else:
        merged = dict(story)
    merged["appearances"] = appearances
    return merged


def recorded_on_newer_family(story: dict[str, Any], copy: Copy) -> bool:
    """Whether the story holds `copy`'s page under a newer host family already: then the copy,
    an old URL of the page, changes nothing (the newest family's copy is the one kept)."""
    return any(copy.same_page(a["url"]) and copy.older_family_than(a["url"]) for a in story["appearances"])


def new_story(copy: Copy) -> dict[str, Any]:
    return {**copy.record, "id": copy.article_id, "appearances": [copy.appearance]}


def dumps(record: dict[str, Any]) -> str:
    """One output line (without its newline): UTF-8 text, no \\u escapes."""
    return json.dumps(record, ensure_ascii=False)
