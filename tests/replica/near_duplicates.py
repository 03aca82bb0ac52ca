"""The labelled set of near-duplicates built from the replica, and the store's precision and recall
on it: tests/test_dedupe.py holds the figures to a bar, bench/pipelines.py prints them and
docs/data.md quotes them."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.dedupe import (
    NEAR_DUPLICATE_JACCARD,
    band_keys,
    fingerprint,
    jaccard,
    minhash,
    shingles,
    story_text,
)
from tests.replica.site import build_site, copy_truth


@dataclass(frozen=True)
class Pair:
    a: dict[str, Any]
    b: dict[str, Any]
    same_story: bool
    edited: bool  # copies whose texts differ (a small edit)


def labelled_pairs(scale: int = 1000, seed: int = 1) -> list[Pair]:
    """Positives: every pair of copies of one story (the edited ones are the hard part).
    Negatives: for every story, the other story whose text overlaps it most (character 5-gram
    Jaccard): same templates, shared sentences, near-identical titles."""
    site = build_site(scale, seed)
    pairs = []
    for story in site.stories:
        copies = [copy_truth(c) for c in story.copies]
        for a, b in itertools.combinations(copies, 2):
            pairs.append(Pair(a, b, True, a["body"] != b["body"]))
    primaries = [copy_truth(s.primary) for s in site.stories]
    nearest = nearest_others([shingles(story_text(p)) for p in primaries])
    pairs += [Pair(primaries[i], primaries[j], False, True) for i, j in sorted(nearest)]
    return pairs


def nearest_others(grams: list[set[int]]) -> set[tuple[int, int]]:
    """(i, j), i < j, for every text and the other text of highest Jaccard (the first on a tie), of
    those that share a gram with it. Shared grams are counted by one product of 0/1 matrices over
    the grams two texts or more hold: every pair of texts at once, exact in float32."""
    held = Counter(g for gs in grams for g in gs)
    column = {g: c for c, g in enumerate(g for g, n in held.items() if n > 1)}
    holds = np.zeros((len(grams), len(column)), dtype=np.float32)
    for i, gs in enumerate(grams):
        holds[i, [column[g] for g in gs if g in column]] = 1
    shared = (holds @ holds.T).astype(np.int64)
    np.fill_diagonal(shared, 0)
    sizes = np.array([len(gs) for gs in grams], dtype=np.int64)
    similarity = shared / (sizes[:, None] + sizes[None, :] - shared)
    nearest = set()
    for i in range(len(grams)):
        if shared[i].any():
            j = int(similarity[i].argmax())  # the first maximum: the lowest index on a tie
            nearest.add((min(i, j), max(i, j)))
    return nearest


def judged_duplicate(pair: Pair) -> tuple[bool, float]:
    """The store's decision for two copies, and their Jaccard similarity."""
    ta, tb = story_text(pair.a), story_text(pair.b)
    sa, sb = shingles(ta), shingles(tb)
    similarity = jaccard(sa, sb)
    if fingerprint(ta) == fingerprint(tb):
        return True, similarity
    candidates = bool(set(band_keys(minhash(sa))) & set(band_keys(minhash(sb))))
    return candidates and similarity >= NEAR_DUPLICATE_JACCARD, similarity


def near_duplicate_report(pairs: list[Pair]) -> dict[str, Any]:
    tp = fp = fn = tn = 0
    lowest_copy, highest_other = 1.0, 0.0
    for pair in pairs:
        said, similarity = judged_duplicate(pair)
        if pair.same_story:
            tp, fn = tp + said, fn + (not said)
            lowest_copy = min(lowest_copy, similarity)
        else:
            fp, tn = fp + said, tn + (not said)
            highest_other = max(highest_other, similarity)
    edited = [p for p in pairs if p.same_story and p.edited]
    return {
        "copy_pairs": tp + fn, "edited_copy_pairs": len(edited), "different_story_pairs": fp + tn,
        "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
        "edited_recall": sum(judged_duplicate(p)[0] for p in edited) / len(edited) if edited else 1.0,
        "lowest_copy_jaccard": lowest_copy, "highest_other_jaccard": highest_other,
    }
