"""Crawling the replica through a real server: completeness, incremental runs, faults, modes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.output import Mode
from crawler.site.channels import CHANNELS
from crawler.spiders.channel import ChannelSpider
from crawler.spiders.walk import Walk
from tests.replica.harness import REPO, Replica, ReplicaServer, crawl_stats, read_stories, run_crawl
from tests.replica.server import FAULT_PROFILES, _share, permanent_faults
from tests.replica.site import build_site

STORY_FIELDS = ("id", "url", "title", "subtitles", "source", "authors", "timestamp", "body", "captions",
                "images", "editor", "keywords", "breadcrumbs", "pages", "parser")


def compare_with_truth(stories: list[dict], truth: list[dict]) -> list[str]:
    """What differs between a crawl's output and the truth, as readable lines."""
    problems = []
    got = {s["id"]: s for s in stories}
    want = {t["id"]: t for t in truth}
    if len(got) != len(stories):
        problems.append(f"{len(stories) - len(got)} duplicate ids")
    for missing in sorted(want.keys() - got.keys())[:10]:
        problems.append(f"missing story {missing} {want[missing]['url']}")
    for extra in sorted(got.keys() - want.keys())[:10]:
        problems.append(f"unexpected story {extra} {got[extra]['url']}")
    wrong: dict[str, int] = {}
    for key in want.keys() & got.keys():
        for name in STORY_FIELDS:
            if got[key][name] != want[key][name]:
                wrong[name] = wrong.get(name, 0) + 1
        if sorted(a["url"] for a in got[key]["appearances"]) != sorted(a["url"] for a in want[key]["appearances"]):
            wrong["appearances"] = wrong.get("appearances", 0) + 1
    problems += [f"{name} differs on {count} stories" for name, count in sorted(wrong.items())]
    return problems


@pytest.mark.integration
def test_scrapy_list_shows_every_channel():
    out = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.split()
    assert set(out) == {c.name for c in CHANNELS} | {"hebei", "channel", "parsers"}


@pytest.mark.integration
def test_a_full_crawl_yields_exactly_the_truth(replica: Replica, tmp_path: Path):
    result = run_crawl(replica.address, tmp_path, "hebei", "-a", "full=1")
    stats = crawl_stats(result.stderr)
    assert stats["finish_reason"] == "finished"
    assert compare_with_truth(read_stories(tmp_path), replica.site.truth()) == []
    assert stats["listing/pages"] == len(replica.site.listing_pages)
    assert stats["article/skipped/rolling"] == len(replica.site.rolling)
    assert "article/fallback" not in stats and "failures/total" not in stats
    assert not (tmp_path / "failures").exists() or not any((tmp_path / "failures").iterdir())


@pytest.mark.integration
def test_incremental_reruns_fetch_little_and_then_exactly_the_new_stories(replica: Replica, tmp_path: Path):
    first = crawl_stats(run_crawl(replica.address, tmp_path, "hebei").stderr)
    again = crawl_stats(run_crawl(replica.address, tmp_path, "hebei").stderr)
    assert first["crawl/mode"] == "incremental"
    assert compare_with_truth(read_stories(tmp_path), replica.site.truth()) == []
    assert again["downloader/request_count"] <= 0.05 * first["downloader/request_count"], (
        again["downloader/request_count"], first["downloader/request_count"])
    assert again.get("item_scraped_count", 0) == 0

    with ReplicaServer("--grow", "40") as server:
        grown = crawl_stats(run_crawl(server.address, tmp_path, "hebei").stderr)
    truth = build_site(grow=40).truth()
    assert compare_with_truth(read_stories(tmp_path), truth) == []
    new_copies = sum(len(t["appearances"]) for t in truth) - sum(len(t["appearances"]) for t in replica.site.truth())
    assert grown["item_scraped_count"] == new_copies
    assert grown["downloader/request_count"] < 0.15 * first["downloader/request_count"]
    print(f"incremental: first {first['downloader/request_count']} requests, unchanged re-run "
          f"{again['downloader/request_count']}, after 40 new stories {grown['downloader/request_count']} "
          f"({grown['item_scraped_count']} new copies)")


@pytest.mark.integration
def test_since_bounds_a_run_by_date(tmp_path: Path):
    site = build_site(300)
    days = sorted(c.published.date().isoformat() for s in site.stories for c in s.copies)
    since = days[int(len(days) * 0.9)]
    with ReplicaServer("--scale", "300") as server:
        stats = crawl_stats(run_crawl(server.address, tmp_path, "hebei", "-a", f"since={since}").stderr)
    stored = read_stories(tmp_path)
    recent = [t for t in site.truth() if any(a["timestamp"][:10] >= since for a in t["appearances"])]
    assert {t["id"] for t in recent} <= {s["id"] for s in stored} | {
        t["id"] for t in recent if min(a["timestamp"] for a in t["appearances"])[:10] < since}
    assert len(stored) < 0.3 * len(site.stories)
    assert stats["listing/pages"] < len(site.listing_pages)


@pytest.mark.integration
def test_faults_are_retried_or_listed_and_never_stop_the_crawl(tmp_path: Path):
    site = build_site(300)
    permanent = permanent_faults(site)
    with ReplicaServer("--scale", "300", "--faults", "standard") as server:
        result = run_crawl(server.address, tmp_path, "hebei", settings={"DOWNLOAD_TIMEOUT": "3", "RETRY_TIMES": "3"})
    stats = crawl_stats(result.stderr)
    assert stats["finish_reason"] == "finished"
    profile = FAULT_PROFILES["standard"]
    assert stats.get("retry/count", 0) >= sum(
        1 for u in list(site.article_pages) + list(site.listing_pages) if _share(u) < profile.http_500 + profile.timeout
    ) * 0.8

    failures = [json.loads(line) for f in (tmp_path / "failures").glob("*.jsonl") for line in f.read_text().splitlines()]
    failed = {f["url"]: f for f in failures}
    gone = {url for url, kind in permanent.items() if kind in ("500", "404", "loop") and "_loop" not in url}
    assert gone <= set(failed), failures
    assert all(f["reason"] for f in failures)
    hbyw = next(lst for lst in site.listings if lst.key == "heb/hbyw")
    unreachable = {u.replace("https://", "http://") for _, u, _ in hbyw.page_rows(2)} | gone
    expected = [t for t in site.truth() if not {a["url"] for a in t["appearances"]} <= unreachable]
    stored = read_stories(tmp_path)
    assert {s["id"] for s in stored} >= {t["id"] for t in expected if not set(t["urls"]) & gone}
    charset_page = next(url for url, kind in permanent.items() if kind == "charset")
    story = next(s for s in stored if any(a["url"] == charset_page for a in s["appearances"]))
    assert "\ufffd" not in json.dumps(story, ensure_ascii=False)


def test_a_pager_that_keeps_growing_is_not_followed():
    walk = Walk(Mode.INCREMENTAL)
    more = "http://heb.hebei.com.cn/system/more/11000000000002027/0000/11000000000002027_{:08d}.shtml"
    walk.note_ceilings([more.format(7), more.format(1)])
    assert walk.accept_overflow(more.format(6))
    assert not walk.accept_overflow(more.format(8))
    assert not walk.accept_overflow(more.format(0))


@pytest.mark.parametrize("bad", ["", "not a url"])
def test_the_generic_spider_needs_a_start_url(bad):
    with pytest.raises(ValueError):
        ChannelSpider(start_url=bad or None)


@pytest.mark.integration
def test_a_backfills_queue_does_not_grow_with_the_depth_of_a_catalog(tmp_path: Path):
    """What a backfill holds in Scrapy's queue (each request its URL, cb_kwargs and meta) must not
    grow with the archive: the same channel (河北要闻, one catalog) at 3 times the stories, 3 times
    as many listing pages, queues at most a few more requests at once. One request at a time, so
    that the order of the queue alone decides (listing pages fetched ahead of the articles they
    list would queue a share of the catalog: 62 requests at 1,000 stories, 139 at 3,000)."""
    peaks, listing_pages = [], []
    for scale in ("1000", "3000"):
        with ReplicaServer("--scale", scale) as server:
            result = run_crawl(server.address, tmp_path / scale, "heb_hbyw", "-a", "full=1",
                               settings={"CONCURRENT_REQUESTS": "1"})
        stats = crawl_stats(result.stderr)
        assert stats["finish_reason"] == "finished" and "failures/total" not in stats
        peaks.append(stats["scheduler/queued_max"])
        listing_pages.append(stats["listing/pages"])
    assert listing_pages[1] >= 2.5 * listing_pages[0]  # the catalog is deeper
    assert peaks[1] <= peaks[0] + 10, peaks
