"""The crawler against a hostile web (docs/crawling.md, "Hostile input").

Crawls go through the hostile proxy (tests/hostile/): the replica with pages rewritten to attack
the crawler, a victim server behind every host that is not the portal's. Each test checks what a
user would: the stories stored are the truth minus exactly the attacked ones, nothing stored is
off the portal or has an id that is no article id, every refused or broken page is a line of
`failures/<run>.jsonl` with its reason, nothing reached the victim, and the run's exit status.
The tests without a server read pages as pure functions (mutated listings, libxml2's limits).
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
import unicodedata
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract import extract
from crawler.extract.text import strip_invisible
from crawler.middlewares import looks_complete
from crawler.output import OutputDir
from crawler.site import urls
from crawler.site.charset import decode_page
from crawler.site.listing import parse_listing
from tests.hostile import HostileProxy, VictimServer
from tests.hostile.plan import (
    ATTACKER_PAGE_HOST,
    ATTACKER_SCRIPT_HOST,
    BAD_HREFS,
    ENDLESS_PAGES,
    TOO_DEEP,
    UNCLOSED_COMMENTS,
    Plan,
)
from tests.hostile.server import VICTIM_MARK, host_of, on_portal
from tests.replica import render
from tests.replica.harness import ReplicaServer, crawl_stats, read_stories, run_crawl
from tests.replica.server import Router
from tests.replica.site import Site, build_site
from tests.test_crawl import compare_with_truth

SCALE = 300
ARTICLE_MAX_PAGES = 50  # the default, which the crawls keep
TRAP_MAX_PAGES = 30  # LISTING_MAX_PAGES in the trap crawls
TRAP_MAX_DIRECTORIES = 80  # LISTING_MAX_DIRECTORIES in the trap crawls: the 省领导 tree has 49
# A crawl of the replica at SCALE asks for some 750 pages: a crawler that falls into a trap
# stops here, and fails its test in seconds rather than hanging.
RUNAWAY = {"CLOSESPIDER_PAGECOUNT": "3000"}
ARTICLE_ID = re.compile(r"\d{6,12}")
# What a stored URL must be, judged without the crawler's own code: an article's first page on a
# host of the portal, over http, its id the story's.
ARTICLE_URL = re.compile(r"http://[a-z0-9]+\.hebei\.com\.cn/system/\d{4}/\d{2}/\d{2}/(\d{6,12})\.shtml")


@pytest.fixture(scope="module")
def site() -> Site:
    return build_site(SCALE)


@pytest.fixture(scope="module")
def router(site: Site) -> Router:
    return Router(site)


# ---------------------------------------------------------------- crawls and what they left


@dataclass
class Run:
    """One `scrapy crawl` through the hostile proxy and what a user finds after it."""

    result: CompletedProcess[str]
    stats: dict[str, Any]
    stored: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    requests: list[str]  # what the crawl asked the proxy for, in order

    def failure(self, url: str) -> dict[str, Any]:
        found = [f for f in self.failures if f["url"] == url]
        assert found, f"no failure recorded for {url}: {[f['url'] for f in self.failures]}"
        return found[0]

    def story(self, url: str) -> dict[str, Any]:
        return next(s for s in self.stored if s["url"] == url)


def crawl(address: str, output: Path, *args: str, settings: dict[str, str] | None = None) -> Run:
    """`scrapy crawl hebei` through the proxy at `address` (the replica, or the hostile proxy)."""
    result = run_crawl(address, output, "hebei", *args, settings={**RUNAWAY, **(settings or {})})
    failures = [line for path in sorted((output / "failures").glob("*.jsonl"))
                for line in map(json.loads, path.read_text(encoding="utf-8").splitlines())]
    return Run(result, crawl_stats(result.stderr), read_stories(output), failures, [])


def crawl_through(proxy: HostileProxy, output: Path, *args: str, settings: dict[str, str] | None = None) -> Run:
    """A crawl through the hostile proxy, with the requests the proxy saw during it."""
    before = len(proxy.requests())
    run = crawl(proxy.address, output, *args, settings=settings)
    run.requests = proxy.requests()[before:]
    return run


def fetch_through(proxy: str, url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
    with opener.open(url, timeout=10) as response:
        return int(response.status)


def table_row(vector: str, run: Run, expected: list[dict[str, Any]], victim: list[dict[str, Any]]) -> str:
    """One row of the measured table: stories lost, duplicated, wrong; the victim's count; the exit status."""
    got = {s["id"]: s for s in run.stored}
    want = {t["id"]: t for t in expected}
    wrong = sum(1 for key in got.keys() & want.keys() if compare_with_truth([got[key]], [want[key]]))
    row = (f"hostile | {vector} | lost {len(want.keys() - got.keys())} | duplicated {len(run.stored) - len(got)} | "
           f"wrong {wrong} | unexpected {len(got.keys() - want.keys())} | victim {len(victim)} | "
           f"exit {run.result.returncode}")
    print(row)
    return row


def assert_nothing_off_the_portal(run: Run) -> None:
    """What a user checks first: every stored id is an article id and every URL the portal's,
    nothing came from the victim, and the crawl asked for nothing but the portal."""
    for story in run.stored:
        assert ARTICLE_ID.fullmatch(story["id"]), story["id"]
        found = ARTICLE_URL.fullmatch(story["url"])
        assert found and found.group(1) == story["id"], story["url"]
        assert all(ARTICLE_URL.fullmatch(a["url"]) for a in story["appearances"]), story["appearances"]
    assert VICTIM_MARK not in json.dumps(run.stored, ensure_ascii=False)
    hosts = {host_of(uri) for uri in run.requests}
    assert all(on_portal(host) for host in hosts), sorted(hosts)


def strings(value: Any) -> list[str]:
    """Every string inside a stored story (or a list of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def assert_failures_have_reasons(run: Run) -> None:
    assert all(f["reason"] and f["kind"] and f["url"] for f in run.failures), run.failures


# ---------------------------------------------------------------- links, ids, pages, text: one crawl


@dataclass
class Attacked:
    plan: Plan
    run: Run
    victim: list[dict[str, Any]]  # what the victim saw during the crawl
    probe_reached_victim: bool  # the proxy does route an off-portal host to the victim


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory, site: Site) -> Attacked:
    """A full crawl of every channel through the vectors of the `links` group."""
    work = tmp_path_factory.mktemp("hostile-links")
    with VictimServer(work / "victim.jsonl") as victim, \
            HostileProxy(victim.address, work / "proxy.jsonl", ("links",), SCALE) as proxy:
        run = crawl_through(proxy, work / "out", "-a", "full=1")
        seen = victim.events()
        fetch_through(proxy.address, "http://evil.com/probe")
        probed = len(victim.events()) > len(seen)
        plan = Plan(site, victim.address)
    table_row("links (all of group 1, 2, 5b, 6, 7)", run, plan.expected(plan.lost(("links",))), seen)
    return Attacked(plan, run, seen, probed)


@pytest.mark.integration
def test_nothing_off_the_portal_is_requested_nor_stored(links: Attacked) -> None:
    assert links.probe_reached_victim  # else a victim count of 0 would prove nothing
    assert links.victim == []
    assert_nothing_off_the_portal(links.run)
    assert links.run.result.returncode == 0 and links.run.stats["finish_reason"] == "finished"


@pytest.mark.integration
def test_the_stories_stored_are_the_truth_minus_exactly_the_attacked_ones(links: Attacked) -> None:
    plan = links.plan
    assert compare_with_truth(links.run.stored, plan.expected(plan.lost(("links",)))) == []
    assert_failures_have_reasons(links.run)
    for vector in plan.of(("links",)):
        for url in vector.lost if vector.name != "count-script-off-portal" else ():
            assert links.run.failure(url)["kind"] == "article", vector.name


@pytest.mark.integration
@pytest.mark.parametrize("vector, refused", [("redirect-loopback", "IP address: 127.0.0.1"),
                                             ("redirect-decimal-ip", "IP address: 2130706433")])
def test_a_redirect_off_the_portal_is_refused_and_recorded(links: Attacked, vector: str, refused: str) -> None:
    failure = links.run.failure(links.plan.articles[vector].url)
    assert "refused by the portal gate" in failure["reason"] and refused in failure["reason"], failure
    assert links.run.stats["gate/refused/IP address"] == 2


@pytest.mark.integration
@pytest.mark.parametrize("vector, link", [("page-2-attacker-host", ATTACKER_PAGE_HOST), ("page-2-etc-passwd", "etc/passwd")])
def test_a_page_link_off_the_article_is_never_followed(links: Attacked, vector: str, link: str) -> None:
    """A `v5.pages` link to another host or out of /system/: the story is not stored without its
    page 2 (it would be wrong, unnoticed), the link is never requested, the failure names it."""
    copy = links.plan.articles[vector]
    assert link in links.run.failure(copy.url)["reason"]
    assert not any(link in uri for uri in links.run.requests)
    assert copy.url not in {s["url"] for s in links.run.stored}


@pytest.mark.integration
def test_an_id_is_always_an_article_id(links: Attacked) -> None:
    """A `v5.pages` block naming `/system/../../etc/passwd` as page 1: that URL never becomes an
    id nor a request; the failure is recorded under the URL that was fetched."""
    copy = links.plan.articles["first-page-etc-passwd"]
    assert "etc/passwd" in links.run.failure(copy.url)["reason"]
    assert not any("passwd" in uri for uri in links.run.requests)
    assert all(ARTICLE_ID.fullmatch(s["id"]) for s in links.run.stored)


@pytest.mark.integration
def test_a_count_script_off_the_portal_is_a_failure_not_a_request(links: Attacked) -> None:
    script = [f for f in links.run.failures if f["kind"] == "script"]
    assert len(script) == 1 and ATTACKER_SCRIPT_HOST in script[0]["url"] and "off-site" in script[0]["reason"]
    assert links.run.stats["listing/skipped_links/count script off-site"] == 1
    assert not any(ATTACKER_SCRIPT_HOST in uri for uri in links.run.requests)


@pytest.mark.integration
def test_listing_links_spelled_to_leave_the_portal_are_skipped_and_counted(links: Attacked) -> None:
    """`http://evil.com\\.hebei.com.cn/...` is `http://evil.com/.hebei.com.cn/...` to the
    downloader; `ftp:` is no scheme of ours, even on a portal host. Neither path is ever asked for."""
    stats = links.run.stats
    assert stats["listing/skipped_links/scheme"] == 1
    assert stats["listing/skipped_links/off-site"] >= 2  # the backslash link, and hebnews.cn as always
    assert not any("101700001" in uri or "101700002" in uri for uri in links.run.requests)


@pytest.mark.integration
def test_links_that_are_no_urls_cost_only_themselves(links: Attacked, site: Site) -> None:
    """Four links that no URL parser accepts on the 省领导活动报道集 index: counted, and the whole
    tree below the index is crawled."""
    assert links.run.stats["listing/skipped_links/not a URL"] == len(BAD_HREFS)
    tree = {c.url for s in site.stories for c in s.copies if c.listing.key.startswith("heb/sldhdbdj/")}
    stored = {a["url"] for s in links.run.stored for a in s["appearances"]}
    assert tree - links.plan.lost(("links",)) <= stored


@pytest.mark.integration
def test_an_article_claiming_999_pages_costs_one_request(links: Attacked) -> None:
    copy = links.plan.articles["endless-pages"]
    asked = [uri for uri in links.run.requests if copy.article_id in uri]
    assert 1 <= len(asked) <= ARTICLE_MAX_PAGES
    assert f"claims {ENDLESS_PAGES} pages" in links.run.failure(copy.url)["reason"]


@pytest.mark.integration
def test_a_page_in_two_charsets_is_stored_as_written_and_counted(links: Attacked) -> None:
    copy = links.plan.articles["mixed-charset"]
    truth = next(t for t in links.plan.expected() if t["url"] == copy.url)
    assert compare_with_truth([links.run.story(copy.url)], [truth]) == []
    assert links.run.stats["charset/mixed_pages"] == 1


@pytest.mark.integration
def test_invisible_characters_are_removed_from_every_field(links: Attacked) -> None:
    copy = links.plan.articles["invisible-characters"]
    truth = next(t for t in links.plan.expected() if t["url"] == copy.url)
    assert compare_with_truth([links.run.story(copy.url)], [truth]) == []
    assert [text for text in strings(links.run.stored) if strip_invisible(text) != text] == []


@pytest.mark.integration
def test_a_deep_tree_is_read_whole_and_a_too_deep_one_fails_for_that_reason(links: Attacked, site: Site) -> None:
    """400 unclosed `<font>` tags (past libxml2's default depth of 256) on an article and on a
    listing: both read whole. 3000 (past XML_PARSE_HUGE's 2048): a failure that says so."""
    copy = links.plan.articles["deep-tree"]
    truth = next(t for t in links.plan.expected() if t["url"] == copy.url)
    assert compare_with_truth([links.run.story(copy.url)], [truth]) == []
    listed = {c.url for s in site.stories for c in s.copies if c.listing.key == "sjz/sjzfw"}
    assert listed <= {a["url"] for s in links.run.stored for a in s["appearances"]}
    assert "depth" in links.run.failure(links.plan.articles["too-deep-tree"].url)["reason"]
    assert "listing/unreadable_pages" not in links.run.stats


@pytest.mark.integration
def test_unclosed_block_comments_cost_nothing(links: Attacked, site: Site) -> None:
    """4,000 unclosed `v5.latest` start comments before the main list of 专题库: every story of
    its main list stored, and nothing of its side boxes taken for the channel's (专题库 and its
    sub-listing 专题新闻)."""
    listed = {c.url for s in site.stories for c in s.copies if c.listing.key.startswith("heb/ztk")}
    assert listed - links.plan.lost(("links",)) <= {a["url"] for s in links.run.stored for a in s["appearances"]}
    assert [s["url"] for s in links.run.stored if s["channel"] == "heb_ztk" and s["url"] not in listed] == []


# ---------------------------------------------------------------- soft errors: two runs each


@pytest.fixture(scope="module")
def plain_replica() -> Any:
    with ReplicaServer("--scale", str(SCALE)) as server:
        yield server.address


def soft_error_runs(work: Path, site: Site, group: str, plain: str) -> tuple[Plan, Run, Run, list[dict[str, Any]]]:
    """An incremental run through the vectors of `group`, then one against the plain replica."""
    with VictimServer(work / "victim.jsonl") as victim, \
            HostileProxy(victim.address, work / "proxy.jsonl", (group,), SCALE) as proxy:
        first = crawl_through(proxy, work / "out")
        seen = victim.events()
        plan = Plan(site, victim.address)
    second = crawl(plain, work / "out")
    table_row(f"{group}: run 1", first, plan.expected(plan.lost((group,))), seen)
    table_row(f"{group}: run 2 (plain replica)", second, plan.expected(), [])
    return plan, first, second, seen


@pytest.mark.integration
def test_a_busy_page_is_a_failure_and_the_next_run_recovers_every_story(tmp_path: Path, site: Site,
                                                                        plain_replica: str) -> None:
    """A listing page answering 200 with 系统繁忙 and no link (an overflow page in the middle of a
    walk, and a channel's index): recorded; the walk goes on past the overflow page; the next run,
    seeing a run with listing failures, walks every page and stores every story."""
    plan, first, second, victim = soft_error_runs(tmp_path, site, "busy", plain_replica)
    assert compare_with_truth(first.stored, plan.expected(plan.lost(("busy",)))) == []
    for vector in plan.of(("busy",)):
        assert "without a single link" in first.failure(vector.target)["reason"]
    assert victim == [] and first.result.returncode == 0
    assert second.stats.get("crawl/walk_all_after")
    assert compare_with_truth(second.stored, site.truth()) == []
    assert second.result.returncode == 0


@pytest.mark.integration
def test_a_body_cut_short_is_never_stored_and_the_next_run_fetches_it(tmp_path: Path, site: Site,
                                                                      plain_replica: str) -> None:
    """Article pages answered without Content-Length and cut mid-body (an article on an index,
    one on an older overflow page, one cut just after `&nbsp;` so that it ends in `;`, page 2 of
    a two-page article): retried, then failures; never stored truncated. The next run, an
    ordinary incremental one (it does not walk every page), asks for exactly those articles again."""
    plan, first, second, victim = soft_error_runs(tmp_path, site, "cut-short", plain_replica)
    assert compare_with_truth(first.stored, plan.expected(plan.lost(("cut-short",)))) == []
    for vector in plan.of(("cut-short",)):
        assert "partial response" in first.failure(vector.target)["reason"]
        assert first.requests.count(vector.target) == 1 + 3  # RETRY_TIMES = 3
    assert victim == [] and first.result.returncode == 0
    assert "crawl/walk_all_after" not in second.stats
    assert second.stats["crawl/retried_failures"] == len(plan.of(("cut-short",)))
    assert compare_with_truth(second.stored, site.truth()) == []
    assert second.result.returncode == 0


# ---------------------------------------------------------------- traps


@pytest.fixture(scope="module")
def trap_proxy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("hostile-traps")
    with VictimServer(work / "victim.jsonl") as victim, \
            HostileProxy(victim.address, work / "proxy.jsonl", ("traps",), SCALE) as proxy:
        yield proxy, victim


def killed_run(output: Path) -> None:
    """The manifest a run leaves when it is killed: started, never ended."""
    path = OutputDir(output).manifest("20000101T000000Z-hebei-1")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"run_id": path.stem, "spider": "hebei", "start": "2000-01-01T00:00:00+00:00",
                                "end": None, "finish_reason": None, "counts": {}, "partitions": []}))


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["full", "incremental after a killed run", "first incremental run"])
def test_an_endless_next_page_chain_is_walked_at_most_listing_max_pages(trap_proxy: Any, tmp_path: Path,
                                                                       site: Site, mode: str) -> None:
    """全景河北's 下一页 leads to page 99,999,999, whose 下一页 leads to 99,999,998, and so on: a
    run asks for at most LISTING_MAX_PAGES of them, and still stores every story."""
    proxy, victim = trap_proxy
    if mode == "incremental after a killed run":
        killed_run(tmp_path)
    run = crawl_through(proxy, tmp_path, *(("-a", "full=1") if mode == "full" else ()),
                        settings={"LISTING_MAX_PAGES": str(TRAP_MAX_PAGES)})
    catalog = Plan(site, victim.address).listing("heb/qjhb").catalog
    chain = {uri for uri in run.requests if f"/system/more/{catalog}/" in uri}
    table_row(f"traps: next-page chain, {mode} ({len(chain)} pages asked for)", run, site.truth(), victim.events())
    assert 2 <= len(chain) <= TRAP_MAX_PAGES
    assert run.stats["listing/pages_capped"] >= 1
    assert compare_with_truth(run.stored, site.truth()) == []
    assert victim.events() == [] and run.result.returncode == 0
    if mode == "incremental after a killed run":
        assert run.stats["crawl/walk_all_after"]


@pytest.mark.integration
def test_an_endless_tree_of_sub_listings_is_walked_at_most_listing_max_directories(trap_proxy: Any, tmp_path: Path,
                                                                                  site: Site) -> None:
    """The 省领导活动报道集 index links `trap00001/`, whose page links a directory below it and
    one beside it, for ever: a run walks at most LISTING_MAX_DIRECTORIES directories below the
    start URL's, and still stores every story."""
    proxy, victim = trap_proxy
    run = crawl_through(proxy, tmp_path, "-a", "full=1", settings={"LISTING_MAX_DIRECTORIES": str(TRAP_MAX_DIRECTORIES),
                                                                   "LISTING_MAX_PAGES": str(TRAP_MAX_PAGES)})
    tree = {uri for uri in run.requests if "/trap0" in uri}
    table_row(f"traps: directory chain ({len(tree)} pages asked for)", run, site.truth(), victim.events())
    assert 2 <= len(tree) <= TRAP_MAX_DIRECTORIES
    assert run.stats["listing/directories_capped"] >= 1
    assert compare_with_truth(run.stored, site.truth()) == []
    assert victim.events() == [] and run.result.returncode == 0


# ---------------------------------------------------------------- pages as pure functions


def test_every_vector_rewrites_its_page(site: Site, router: Router) -> None:
    """A vector whose anchor in the page has gone would attack nothing and prove nothing."""
    plan = Plan(site, "http://127.0.0.1:9")
    for group in ("links", "busy", "traps"):
        for url, rewrite in plan.rewriters((group,)).items():
            original = router.route(url)
            assert rewrite(original).body != original.body or rewrite(original).status != original.status, url
    for url in plan.cut_short(("cut-short",)):
        body = router.route(url).body
        assert 0 < plan.cut_point(url, body) < len(body), url


@cache
def listing_pages() -> list[str]:
    """Every listing page of a small replica: index pages, overflow pages, tree pages."""
    small = build_site(100)
    return [render.render_listing(small, listing, page) for listing, page in small.listing_pages.values()]


_COMMENT = re.compile(r"<!--enorth cms block (?:start|end) \[[^\]]*\]-->")


@st.composite
def mutated_listing(draw: st.DrawFn) -> str:
    """A listing page of the replica, truncated, with its enorth comments duplicated (up to
    thousands of times) or dropped, attributes and links garbled, deep nesting inserted."""
    page = draw(st.sampled_from(listing_pages()))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "duplicate comment", "drop comment", "attribute", "href", "nest",
                                     "text"]))
        at = draw(st.integers(0, len(page)))
        comments = list(_COMMENT.finditer(page))
        if kind == "truncate":
            page = page[:at]
        elif kind in ("duplicate comment", "drop comment") and comments:
            c = draw(st.sampled_from(comments))
            times = draw(st.integers(2, 4000)) if kind == "duplicate comment" else 0
            page = page[: c.start()] + c.group() * times + page[c.end():]
        elif kind == "attribute":
            tag = page.find("<a ", at)
            garbage = draw(st.text(alphabet='"\'=<> /\\abc:\u3000\x00', max_size=30))
            page = page if tag < 0 else page[: tag + 3] + garbage + " " + page[tag + 3:]
        elif kind == "href":
            start = page.find('href="', at)
            end = page.find('"', start + 6)
            value = draw(st.sampled_from(["http://", "https://", "//", "/", ""])) + draw(
                st.text(alphabet="[]:：／．@\\%.0123456789abc-/?#", max_size=24))
            page = page if start < 0 or end < 0 else page[: start + 6] + value + page[end:]
        elif kind == "nest":
            depth = draw(st.integers(100, 3000))
            page = page[:at] + draw(st.sampled_from(["<div>", "<font>", "<ul><li>", "<a href='x'>"])) * depth + page[at:]
        else:
            page = page[:at] + draw(st.text(max_size=40)) + page[at:]
    return page


@contextmanager
def memory_bound(mib: int) -> Iterator[None]:
    """At most `mib` more MiB of address space for this process meanwhile: a page that makes the
    parser allocate without end fails its test with a MemoryError (and Hypothesis names the page)
    instead of making the machine kill the test run."""
    status = Path("/proc/self/status").read_text()
    size_kib = int(re.search(r"VmSize:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (size_kib * 1024 + mib * 2**20, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# Derandomized: the suite runs the same examples each time (a CI run was once killed for memory
# here, 23 GB, by an example nobody has found again: `memory_bound` now makes that a failure that
# names the page). Searching further: --hypothesis-seed=N, or `derandomize=False`.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(mutated_listing())
def test_a_mutated_listing_page_never_raises_and_is_read_in_bounded_time(page: str) -> None:
    url = "http://heb.hebei.com.cn/sldhdbdj/xuqin/kcdy/"
    started = time.perf_counter()
    with memory_bound(1024):
        listing = parse_listing(page, url)
    assert time.perf_counter() - started < 1.0
    for found in [a.url for a in listing.articles] + listing.pager_links + listing.sublistings + [listing.count_script or url]:
        assert found.startswith("http://") and on_portal(host_of(found)) and found == urls.canonical(found), found


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.from_regex(r"(https?|ftp)://[^/]{0,20}(/[^\s]{0,20})?", fullmatch=True))
def test_link_resolution_is_total(href: str) -> None:
    """Any string a page may hold as an href: resolved or None, never an exception; what the gate
    lets through has a named portal host and a canonical spelling."""
    found = urls.resolve_link("http://heb.hebei.com.cn/qjhb/", href)
    if found is not None and urls.refusal(found) is None:
        host = urls.host_of(found)
        assert host and urls.in_family(host) and not urls.is_ip_literal(host)
        assert urls.canonical(found).startswith("http://")


def test_4000_unclosed_block_comments_parse_in_well_under_a_second(site: Site, router: Router) -> None:
    ztk = Plan(site, "http://127.0.0.1:9").listing("heb/ztk")
    page = router.route(ztk.index_url).body.decode(render.ENCODING)
    comments = '<!--enorth cms block start [ name="v5.latest" ]-->' * UNCLOSED_COMMENTS
    for hostile in (page.replace('<div class="list_left main_list">', comments + '<div class="list_left main_list">'),
                    page.replace("<ul>\n", "<ul>\n" + comments), comments + page):
        started = time.perf_counter()
        listing = parse_listing(hostile, ztk.index_url)
        assert time.perf_counter() - started < 0.5
        assert [a.url for a in listing.articles] == [a.url for a in parse_listing(page, ztk.index_url).articles]


def test_a_page_past_libxml2s_limits_is_unreadable_for_that_reason(site: Site, router: Router) -> None:
    plan = Plan(site, "http://127.0.0.1:9")
    copy = plan.articles["deep-tree"]
    page = router.route(copy.url).body.decode(render.ENCODING)
    deep = page.replace('<div class="text">', '<div class="text">' + "<font>" * TOO_DEEP, 1)
    assert "Excessive depth" in extract(deep, copy.url).problems[-1]
    listing = router.route(plan.listing("heb/qjhb").index_url).body.decode(render.ENCODING)
    assert "Excessive depth" in (parse_listing(listing.replace("<body>", "<body>" + "<div>" * TOO_DEEP), copy.url).problem or "")


def test_a_huge_text_node_is_read_whole(site: Site, router: Router) -> None:
    """A 12 MB paragraph: past libxml2's default limit of 10 MB for one text node, which would
    drop it and everything after it without a word."""
    copy = Plan(site, "http://127.0.0.1:9").articles["deep-tree"]
    page = router.route(copy.url).body.decode(render.ENCODING)
    huge = "河北" * 2_000_000
    extraction = extract(page.replace('<div class="text">', f'<div class="text"><p>{huge}</p>', 1), copy.url)
    assert extraction.kind == "article" and extraction.fields["body"].startswith(huge)
    assert extraction.fields["editor"] == extract(page, copy.url).fields["editor"]


def test_a_page_in_two_charsets_decodes_each_part_in_its_own(site: Site, router: Router) -> None:
    plan = Plan(site, "http://127.0.0.1:9")
    original = router.route(plan.articles["mixed-charset"].url)
    mixed = plan.rewrite_mixed_charset(original)
    decoded = decode_page(mixed.body, "gb2312")
    assert decoded.text == original.body.decode(render.ENCODING) and decoded.problem
    assert all(decode_page(router.route(url).body).problem is None for url in list(site.article_pages)[:300])


def test_every_invisible_character_of_unicode_is_removed() -> None:
    """Every format character (Cf) and every control (Cc) that is not whitespace."""
    missing = [f"U+{c:04X}" for c in range(sys.maxunicode + 1)
               if (unicodedata.category(chr(c)) == "Cf" or unicodedata.category(chr(c)) == "Cc" and not chr(c).isspace())
               and strip_invisible(f"a{chr(c)}b") != "ab"]
    assert missing == []


@pytest.mark.parametrize("body, complete", [
    (b"<html><body><p>&nbsp;", False),
    (b"<!DOCTYPE html>\n<html><body><p>x</p>", False),
    (b"<html><body><p>x</p></body></html>\n", True),
    (b"<html><body></body></html>\n<!-- enorth cms page -->\n", True),
    (b"maxpage = 3;\nfunction f() { return 1; }\n", True),
    (b"maxpage = 3;\nfunction f() { ret", False),
])
def test_a_body_without_a_length_is_complete_only_where_a_page_or_script_ends(body: bytes, complete: bool) -> None:
    assert looks_complete(body) is complete
