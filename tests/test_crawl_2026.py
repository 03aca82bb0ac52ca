"""Crawling the portal as it is in 2026 (`--era 2026`, docs/replica.md) through a real server: both
host families, https and protocol-relative links, old URLs that still serve, 301 or are gone, one
story per page whichever family serves it, within a run and across runs."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.site import urls
from tests.replica.harness import (
    ERA_2026_SETTINGS,
    Replica,
    ReplicaServer,
    crawl_stats,
    read_stories,
    run_crawl,
)
from tests.replica.site import (
    ERA_2026,
    FAMILIES,
    MOVED,
    PARSER_OF_LAYOUT,
    PORTAL_2026,
    Site,
    build_site,
)
from tests.test_crawl import compare_with_truth

pytestmark = pytest.mark.integration

# Every request the crawl makes, from Scrapy's DEBUG lines ("Crawled (200) <GET url>", redirects).
ASKED = re.compile(r"(?:Crawled \(\d+\) <GET |Redirecting \(\d+\) to <GET \S+> from <GET )(\S+)>")


@pytest.fixture(scope="module")
def replica_2026() -> Iterator[Replica]:
    with ReplicaServer("--era", ERA_2026) as server:
        yield Replica(server.address, build_site(era=ERA_2026))


def crawl(replica: Replica, output: Path, spider: str, *args: str, passes: bool = True, **settings: str) -> dict:
    done = run_crawl(replica.address, output, spider, *args, settings={**ERA_2026_SETTINGS, **settings})
    assert (done.returncode == 0) is passes, done.stderr[-3000:]
    stats = crawl_stats(done.stderr)
    stats["_asked"] = ASKED.findall(done.stderr)
    stats["_stderr"] = done.stderr
    return stats


def test_a_full_crawl_of_both_eras_stores_the_truth_asks_only_the_portal_and_a_rerun_fetches_no_article(
        replica_2026: Replica, tmp_path: Path):
    site = replica_2026.site
    full = crawl(replica_2026, tmp_path, "hebei", "-a", "full=1", LOG_LEVEL="DEBUG")
    assert full["finish_reason"] == "finished"
    assert compare_with_truth(read_stories(tmp_path), site.truth()) == []
    asked_hosts = {urlsplit(url).hostname or "" for url in full["_asked"]}
    assert asked_hosts and all(urls.family_of(host, FAMILIES) for host in asked_hosts), asked_hosts
    assert {host for host in asked_hosts if host.endswith(".hebccw.cn")}  # the new family was crawled
    assert "gate/refused" not in full  # nothing off the portal was even tried
    assert full.get("listing/skipped_links/off-site", 0) == full.get("listing/offsite_hosts/hebei.hebnews.cn", 0)
    # every page once; an old URL that 301s is asked as listed, its target once more where listed too
    fetched = Counter(url.replace("https://", "http://", 1) for url in full["_asked"])
    twice = {url for url, n in fetched.items() if n > 1}
    assert twice <= {target.replace("https://", "http://", 1) for target in site.redirects.values()}
    # an old URL that is gone (404) is asked again on the new family: no failure, the story is stored
    gone = {u for u in site.gone if u in listed_urls(site)}
    assert gone and full["article/asked_on_newest_family"] == len(gone) and "failures/total" not in full
    # the new template is read by its own version, never by the fallback
    new_pages = sum(1 for s in site.truth() if s["parser"] == PARSER_OF_LAYOUT[PORTAL_2026])
    assert new_pages and "article/fallback" not in full

    again = crawl(replica_2026, tmp_path, "hebei", LOG_LEVEL="DEBUG")
    assert again.get("item_scraped_count", 0) == 0
    assert not [url for url in again["_asked"] if "/system/20" in url], "a re-run fetched an article again"
    assert compare_with_truth(read_stories(tmp_path), site.truth()) == []


def listed_urls(site: Site) -> set[str]:
    return {c.url for lst in site.listings for c in lst.entries}


def test_a_state_from_before_the_move_knows_the_old_stories_under_their_new_urls(replica_2026: Replica, tmp_path: Path):
    """Yesterday's crawler knew hebei.com.cn alone; today's knows both families: no story twice,
    the stories known under the old URL are not fetched again, and a backfill ends at the truth."""
    site = replica_2026.site
    # the moved URLs' 301s were refused then, and the checks failed the run, naming the new hosts
    before = crawl(replica_2026, tmp_path, "hebei", passes=False, PORTAL_DOMAINS="hebei.com.cn")
    assert before.get("gate/refused_redirects/heb.hebccw.cn", 0) > 0
    old = {s["id"]: s for s in read_stories(tmp_path)}
    assert all(".hebei.com.cn/" in a["url"] for s in old.values() for a in s["appearances"])

    today = crawl(replica_2026, tmp_path, "hebei", LOG_LEVEL="DEBUG")
    stories = read_stories(tmp_path)
    assert len(stories) == len({s["id"] for s in stories}) == len(site.truth())  # every story, once
    known_before = {urls.page_key(a["url"]) for s in old.values() for a in s["appearances"]}
    refetched = {urls.page_key(url) for url in today["_asked"] if "/system/20" in url} & known_before
    assert refetched == set()  # known under the old family: known

    crawl(replica_2026, tmp_path, "hebei", "-a", "full=1")
    assert compare_with_truth(read_stories(tmp_path), site.truth()) == []


def test_from_a_hebccw_channel_and_from_the_home_page(replica_2026: Replica, tmp_path: Path):
    site = replica_2026.site
    channel = next(lst for lst in site.listings if lst.key == "hebccw/heb/hbyw")
    start = f"https://{channel.host}{channel.path}"
    stats = crawl(replica_2026, tmp_path / "channel", "channel", "-a", f"start_url={start}", "-a", "full=1")
    stored = read_stories(tmp_path / "channel")
    assert {a["url"] for s in stored for a in s["appearances"]} == {c.url for c in channel.entries}
    assert all(".hebccw.cn/" in s["url"] and s["parser"] == "hebccw/v1" for s in stored)
    assert stats["listing/pages"] == channel.overflow_count + 1
    # the stories this channel alone carries: every field as the truth says
    alone = [t for t in site.truth() if {a["url"] for a in t["appearances"]} <= {c.url for c in channel.entries}]
    assert len(alone) > 50
    assert compare_with_truth([s for s in stored if s["id"] in {t["id"] for t in alone}], alone) == []

    home = next(lst for lst in site.listings if lst.key == "www")
    crawl(replica_2026, tmp_path / "home", "home")
    stored = read_stories(tmp_path / "home")
    listed = {urls.canonical(url) for _, url, _ in home.main_entries}
    assert {a["url"] for s in stored for a in s["appearances"]} == listed and len(stored) == len(listed)
    alone = [t for t in site.truth() if {a["url"] for a in t["appearances"]} <= listed]
    assert alone and compare_with_truth([s for s in stored if s["id"] in {t["id"] for t in alone}], alone) == []


def test_an_old_url_that_moved_is_followed_and_recorded_as_asked(replica_2026: Replica, tmp_path: Path):
    """Only the old listing of a moved channel is crawled: its 301s to hebccw.cn are followed, and
    each copy is recorded under the URL the listing links, read from the page that answered."""
    site = replica_2026.site
    old = next(lst for lst in site.listings if lst.key == "heb/hbyw")
    moved = [c for c in old.entries if c.fate == MOVED]
    assert moved
    crawl(replica_2026, tmp_path, "channel", "-a", f"start_url={old.index_url}", "-a", "full=1")
    recorded = {a["url"]: s for s in read_stories(tmp_path) for a in s["appearances"]}
    primaries = [recorded[c.url] for c in moved if c.url in recorded and recorded[c.url]["url"] == c.url]
    assert {c.url for c in moved} <= recorded.keys() and primaries
    assert {story["parser"] for story in primaries} == {"hebccw/v1"}  # read from the page that answered
    assert not {site.redirects[c.url].replace("https://", "http://", 1) for c in moved} & recorded.keys()

