"""A backfill walks a catalog's overflow pages through a window (docs/backfill.md): every page down
to 1 is asked for exactly once, whatever order the queue pops them in and whichever pages fail,
while the pages of a catalog waiting in the queue stay about LISTING_OVERFLOW_WINDOW however long
the catalog. Driven page by page, as the spider drives the walk, without Scrapy."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from crawler.compact import Fingerprints, FirstValues, IntSet
from crawler.output import Mode
from crawler.site import urls
from crawler.site.listing import ListedLink, ListingPage
from crawler.spiders.walk import Walk

LISTING = "http://heb.hebei.com.cn/qjhb/"
CATALOG = "13000000000000000001"


def page_url(number: int) -> str:
    return urls.overflow_url(LISTING, CATALOG, number)


def no_pager(number: int, maxpage: int) -> list[str]:
    return []


def replica_pager(number: int, maxpage: int) -> list[str]:
    """The old template's pager on an overflow page: 首页, 上一页 (newer), 下一页 (older), 尾页."""
    return [LISTING] + [page_url(n) for n in (number + 1, number - 1, 1) if 1 <= n <= maxpage]


def drive(walk: Walk, maxpage: int, order: str, failing: set[int], pager: Callable[[int, int], list[str]],
          start: list[str] | None = None) -> tuple[Counter[int], int]:
    """The catalog walked from its count script's `maxpage`: (how often each overflow page was
    fetched, the most overflow pages waiting in the queue at once). A duplicate filter drops a
    page asked for twice; a page in `failing` fails (its errback asks the walk what next)."""
    rng = random.Random(f"{order}/{maxpage}")
    seen: set[str] = set()
    queue: list[str] = []

    def ask(targets: list[str]) -> None:
        for target in targets:
            if target not in seen and urls.overflow_page_number(target):
                seen.add(target)
                queue.append(target)

    ask(walk.script_pages(maxpage, CATALOG, LISTING) if start is None else start)
    fetched: Counter[int] = Counter()
    peak = 0
    while queue:
        peak = max(peak, len(queue))
        at = {"lifo": -1, "fifo": 0, "random": rng.randrange(len(queue))}[order]
        url = queue.pop(at)
        found = urls.overflow_page_number(url)
        assert found is not None
        number = found[1]
        fetched[number] += 1
        if number in failing:
            ask(walk.after_failure(url, "listing"))
            continue
        page = ListingPage(url, articles=[ListedLink(f"http://heb.hebei.com.cn/system/2018/07/17/{number:09d}.shtml",
                                                     "标题", "2018-07-17")], pager_links=pager(number, maxpage))
        targets, script = walk.next_pages(page, url, walk.wanted(page.articles))
        assert not script
        ask(targets)
    return fetched, peak


@pytest.mark.parametrize("order", ["lifo", "fifo", "random"])
@pytest.mark.parametrize("pager", [no_pager, replica_pager], ids=["chain only", "replica pager"])
@pytest.mark.parametrize("failure_rate", [0.0, 0.3])
def test_a_full_walk_asks_every_overflow_page_once_through_a_window(order: str, pager: Callable[[int, int], list[str]],
                                                                     failure_rate: float) -> None:
    maxpage = 500
    rng = random.Random(f"failing/{order}/{failure_rate}")
    failing = {n for n in range(1, maxpage + 1) if rng.random() < failure_rate} | ({maxpage} if failure_rate else set())
    walk = Walk(Mode.FULL, window=8)
    fetched, peak = drive(walk, maxpage, order, failing, pager)
    assert sorted(fetched) == list(range(1, maxpage + 1))  # none missed, failed pages or not
    assert set(fetched.values()) == {1}
    # asked all at once, the queue held all 500
    assert peak <= 2 * walk.window + 4, peak


@pytest.mark.parametrize("order", ["lifo", "fifo", "random"])
def test_a_catalog_without_a_count_script_is_walked_from_its_pager(order: str) -> None:
    """No count script: the index's static pager links the newest overflow page (下一页) and the
    oldest (尾页): the pager is walked as a pager, a failed page's 下一页 asked for all the same."""
    maxpage, walk = 200, Walk(Mode.FULL, window=8)
    index = ListingPage(LISTING, articles=[ListedLink("http://heb.hebei.com.cn/system/2018/07/17/000000001.shtml",
                                                      "标题", "2018-07-17")], pager_links=[page_url(maxpage), page_url(1)])
    targets, _ = walk.next_pages(index, LISTING, walk.wanted(index.articles))
    assert targets == [page_url(maxpage), page_url(1)]
    fetched, peak = drive(walk, maxpage, order, {maxpage - 1, 150}, replica_pager, start=targets)
    assert sorted(fetched) == list(range(1, maxpage + 1)) and set(fetched.values()) == {1}
    assert peak <= 2 * walk.window + 4


@pytest.mark.parametrize("maxpage", [1, 3, 8, 9, 17])
def test_short_catalogs_and_a_window_of_one(maxpage: int) -> None:
    for window in (1, 8):
        fetched, _ = drive(Walk(Mode.FULL, window=window), maxpage, "lifo", {maxpage}, no_pager)
        assert sorted(fetched) == list(range(1, maxpage + 1)) and set(fetched.values()) == {1}


def test_an_incremental_walk_still_asks_only_the_newest_page() -> None:
    walk = Walk(Mode.INCREMENTAL, known_urls=lambda links: set())
    assert walk.script_pages(40, CATALOG, LISTING) == [page_url(40)]
    assert walk.after_failure(page_url(40), "listing") == [page_url(39)]  # one page at a time


def test_an_incremental_walk_of_every_page_after_a_killed_run_uses_the_window() -> None:
    walk = Walk(Mode.INCREMENTAL, known_urls=lambda links: set(), walk_all=True, window=4)
    fetched, peak = drive(walk, 60, "random", {60, 30, 31}, replica_pager)
    assert sorted(fetched) == list(range(1, 61)) and peak <= 2 * 4 + 4


def test_the_pager_cap_holds_along_the_chains() -> None:
    walk = Walk(Mode.FULL, window=8, max_pages=50)
    fetched, _ = drive(walk, 50, "lifo", {45}, no_pager)
    assert len(fetched) == 50
    capped = Walk(Mode.FULL, window=8, max_pages=20)
    fetched, _ = drive(capped, 20_000_000, "lifo", set(), no_pager)  # a script claiming 20 million pages
    assert len(fetched) == 20


def test_compact_sets_hold_what_plain_ones_would() -> None:
    rng = random.Random(7)
    numbers = [rng.randrange(-2**63, 2**63) for _ in range(3 * IntSet.MERGE_AT)] + [5, 5, 0]
    held = IntSet(numbers)
    assert held == set(numbers) and len(held) == len(set(numbers)) and list(held) == sorted(set(numbers))
    assert 6 not in held and "5" not in held and 5 in held
    held |= [6]
    assert 6 in held
    first = FirstValues()
    assert first.setdefault("heb/qjhb/", "http://heb/qjhb/") == "http://heb/qjhb/"
    assert first.setdefault("heb/qjhb/", "http://heb/qjhb/") == "http://heb/qjhb/"  # the same spelling again
    assert first.setdefault("heb/qjhb/", "http://heb/qjhb/index.shtml") != "http://heb/qjhb/index.shtml"
    assert len(first) == 1 and "heb/qjhb/" in first


def test_the_fingerprint_set_holds_what_a_set_would_across_its_merges() -> None:
    rng = random.Random(11)
    held, plain = Fingerprints(), set()
    held.MERGE_AT = 64
    for _ in range(5000):
        fingerprint = rng.randbytes(20)
        held.add(fingerprint)
        plain.add(fingerprint)
        if rng.random() < 0.2:  # a duplicate, as most of a crawl's requests are
            held.add(rng.choice(sorted(plain)[:50]))
    assert len(held) == len(plain) and len(held.runs) <= 8
    assert all(fingerprint in held for fingerprint in plain)
    assert not any(rng.randbytes(20) in held for _ in range(5000)) and "x" not in held
    twins = bytes(20), bytes(19) + b"\x01"  # equal in their first 16 bytes: one member
    held.update(twins)
    assert len(held) == len(plain) + 1


def test_a_pager_above_the_count_scripts_pages_is_followed_as_a_pager_up_to_the_cap() -> None:
    """A rewritten 下一页 on the index leads to page 99,999,999 (whose 下一页 leads one below, and
    so on): the window is the count script's newest pages, the trap is walked as a pager, and
    LISTING_MAX_PAGES (counted for the catalog, trap and real pages together) ends it."""
    walk = Walk(Mode.FULL, window=8, max_pages=60)
    def trap(number: int) -> str:  # the trap's own URLs, in one bucket
        return f"http://heb.hebei.com.cn/system/more/{CATALOG}/9999/{CATALOG}_{number:08d}.shtml"

    walk.note_ceilings([trap(99_999_999)])  # the index's pager, read before the count script
    maxpage = 30
    start = walk.script_pages(maxpage, CATALOG, LISTING) + [trap(99_999_999)]
    assert walk.admit(trap(99_999_999))  # as the index's link was

    def trap_pager(number: int, top: int) -> list[str]:
        return [trap(number - 1)] if number > maxpage else replica_pager(number, maxpage)

    fetched, _ = drive(walk, maxpage, "lifo", set(), trap_pager, start=start)
    assert set(range(maxpage - 7, maxpage + 1)) <= set(fetched) and set(fetched.values()) == {1}
    assert len(fetched) == 60 and max(fetched) == 99_999_999  # the cap, reached along the trap
