"""The dedupe layers: canonical URLs, exact fingerprints, MinHash near-duplicates, and their
precision and recall on a labelled set built from the replica (docs/data.md quotes the figures)."""

from __future__ import annotations

import math
import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.site.urls import _canonical_parsed as _canonical_url_parsed
from crawler.site.urls import canonical as canonical_url
from pipelines.dedupe import (
    NEAR_DUPLICATE_JACCARD,
    band_keys,
    fingerprint,
    jaccard,
    minhash,
    minhash_of_array,
    normalise_text,
    shingle_array,
    shingles,
)
from tests.replica.near_duplicates import labelled_pairs, near_duplicate_report


@pytest.mark.parametrize("url, canonical", [
    ("https://heb.hebei.com.cn/system/2018/07/17/018955625.shtml", "http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml"),
    ("http://HEB.Hebei.com.cn:80/system/2018/07/17/018955625.shtml#top", "http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml"),
    ("http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml?utm_source=wx&utm_medium=app&spm=a.b&from=timeline",
     "http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml"),
    ("http://heb.hebei.com.cn/search.shtml?q=许勤&from=home", "http://heb.hebei.com.cn/search.shtml?q=%E8%AE%B8%E5%8B%A4"),
    ("  http://heb.hebei.com.cn:8080/a.shtml ", "http://heb.hebei.com.cn:8080/a.shtml"),
])
def test_canonical_urls(url: str, canonical: str):
    assert canonical_url(url) == canonical


@given(st.sampled_from(["http", "https", "HTTP", " http"]),
       st.lists(st.from_regex(r"[A-Za-z0-9-]{1,8}", fullmatch=True), min_size=1, max_size=4),
       st.sampled_from(["", ":80", ":8080", ".", "@x"]),
       st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]), max_size=30),
       st.sampled_from(["", "?", "?a=1&utm_source=x", "?from=1", "#top", "?q=许勤#x"]))
def test_a_canonical_url_is_one_spelling_however_it_is_found(scheme: str, labels: list[str], port: str, path: str,
                                                             tail: str):
    """Links reach the store as Scrapy makes them: whitespace inside a URL is escaped already."""
    url = f"{scheme}://{'.'.join(labels)}{port}/{path.replace('?', '').replace('#', '')}{tail}"
    try:
        slow = _canonical_url_parsed(url)
    except ValueError:  # not a URL at all (a bad port): the spider never meets one in a link
        return
    assert canonical_url(url) == slow  # the quick path agrees with taking the URL apart
    assert canonical_url(slow) == slow  # and a canonical URL is its own spelling


def test_normalised_text_ignores_width_spacing_and_punctuation():
    assert normalise_text("许勤，在“石家庄市”调研。\u3000 ＡＢＣ１２３（完）") == normalise_text("许勤,在石家庄市 调研 ABC123(完)")
    assert fingerprint(normalise_text("第一段。\n第二段。")) == fingerprint(normalise_text("第一段 第二段"))


def test_minhash_estimates_jaccard_and_lsh_finds_close_pairs():
    rng = random.Random(3)
    chars = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"
    errors = []
    for _ in range(200):
        a = "".join(rng.choice(chars) for _ in range(rng.randint(20, 1500)))
        cut = rng.randint(0, len(a))
        b = a[:cut] + "".join(rng.choice(chars) for _ in range(rng.randint(0, 400))) + a[cut + rng.randint(0, 200):]
        sa, sb = shingles(a), shingles(b)
        ma, mb = minhash(sa), minhash(sb)
        estimate = sum(x == y for x, y in zip(ma, mb)) / len(ma)
        errors.append(abs(estimate - jaccard(sa, sb)))
        if jaccard(sa, sb) >= 0.9:
            assert set(band_keys(ma)) & set(band_keys(mb))
    assert sum(errors) / len(errors) < 0.05
    assert minhash(shingles("短")) == minhash(shingles("短"))  # a text shorter than a shingle


def test_numpy_shingles_and_minhash_equal_the_pure_ones():
    """The arrays path (what Copy uses) gives the very values stored signatures and bands hold."""
    rng = random.Random(5)
    chars = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会abcAZ09\u00e9𠀀𪚥😀"
    for n in [*range(12), *(rng.randint(0, 3000) for _ in range(100))]:
        text = "".join(rng.choice(chars) for _ in range(n))
        grams = shingle_array(text)
        assert set(grams.tolist()) == shingles(text)
        assert minhash_of_array(grams) == minhash(shingles(text))


def test_precision_and_recall_on_the_replica_labelled_set():
    report = near_duplicate_report(labelled_pairs())
    assert report["edited_copy_pairs"] >= 100 and report["different_story_pairs"] >= 500
    assert report["precision"] == 1.0 and report["recall"] == 1.0 and report["edited_recall"] == 1.0
    # the threshold sits in a wide gap, not on an edge
    assert report["lowest_copy_jaccard"] > NEAR_DUPLICATE_JACCARD + 0.1
    assert report["highest_other_jaccard"] < NEAR_DUPLICATE_JACCARD - 0.3


def test_the_candidates_compared_at_once_are_those_one_by_one_would_keep():
    """`Copy.close_candidates` (every candidate of a copy in one comparison) keeps exactly the
    candidates `may_be_near_duplicate_of` keeps, in their order, at the floor's edge too."""
    from pipelines.dedupe import ESTIMATE_FLOOR, PERMUTATIONS, pack_signature
    from tests.test_state import copy

    mine = copy("0001", "2026-11-20T09:00:00+08:00")
    values = struct.unpack(f"<{PERMUTATIONS}I", mine.signature)
    rng = random.Random(11)
    floor = math.ceil(ESTIMATE_FLOOR * PERMUTATIONS)
    candidates = []
    for key in range(400):
        same = rng.choice([0, floor - 1, floor, floor + 1, PERMUTATIONS, rng.randint(0, PERMUTATIONS)])
        kept = set(rng.sample(range(PERMUTATIONS), same))
        theirs = [value if i in kept else value ^ 1 for i, value in enumerate(values)]
        candidates.append((1000 - key, pack_signature(tuple(theirs))))
    expected = [key for key, signature in candidates if mine.may_be_near_duplicate_of(signature)]
    assert mine.close_candidates(candidates) == expected
    assert 0 < len(expected) < len(candidates)
    assert mine.close_candidates([]) == []
