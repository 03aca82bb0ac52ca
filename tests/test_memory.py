"""Memory is bounded: a page of 50 MB and a gzip bomb are recorded failures, not items, and the
crawl's peak memory stays far below its limit; past MEMUSAGE_LIMIT_MB the crawl stops cleanly and
the monitor names memory; an item too large for a stored line is rejected by validation; a
backfill's walk holds a few bytes per article it asked for, not its URL (docs/backfill.md)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from scrapy.utils.misc import load_object
from scrapy.utils.project import get_project_settings
from scrapy.utils.request import RequestFingerprinter
from scrapy.utils.test import get_crawler

from crawler.compact import Digests
from crawler.ops.monitor import ALERT_EXIT_STATUS
from crawler.output import Mode
from crawler.site.listing import ListedLink
from crawler.spiders.walk import Walk
from pipelines.validate import ValidatePipeline
from tests.canned_site import Answer, CannedSite, endless, gzip_bomb, listing_page
from tests.replica.harness import REPLICA_CRAWL_SETTINGS, REPO, crawl_env, crawl_stats, read_stories
from tests.test_pipeline_validate import GOOD

LISTING = "http://heb.hebei.com.cn/qjhb/"  # heb_qjhb's start page
SAMPLE = REPO / "tests" / "sample_data" / "extract" / "enorth-b" / "v1" / "seed-018955625"
GOOD_URL = json.loads((SAMPLE / "meta.json").read_text(encoding="utf-8"))["url"]
STREAMED = "http://heb.hebei.com.cn/system/2018/07/17/018955630.shtml"  # 50 MB, no Content-Length
ANNOUNCED = "http://heb.hebei.com.cn/system/2018/07/17/018955631.shtml"  # 50 MB, Content-Length says so
BOMB = "http://heb.hebei.com.cn/system/2018/07/17/018955632.shtml"  # 1 MB of gzip, 512 MiB of spaces
PAGE_MB = 50


@dataclasses.dataclass(frozen=True)
class Finished:
    returncode: int
    stderr: str
    peak_rss_mib: float  # the crawl process's own high-water mark (getrusage of that child)


def crawl_measured(address: str, output: Path, *args: str, **settings: str) -> Finished:
    """`scrapy crawl heb_qjhb` through `address`; its peak resident memory from wait4(2)."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", "heb_qjhb", *args, "-s", f"OUTPUT_DIR={output}"]
    for key, value in {**REPLICA_CRAWL_SETTINGS, **settings}.items():
        cmd += ["-s", f"{key}={value}"]
    process = subprocess.Popen(cmd, cwd=REPO, env=crawl_env(address), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=60)
    process.stderr.close()
    return Finished(process.returncode, "".join(stderr), usage.ru_maxrss / 1024)


def huge_article() -> bytes:
    """The start of a real article page, then Chinese text without end."""
    return gzip.decompress((SAMPLE / "page.html.gz").read_bytes()).split(b"</body>")[0]


@pytest.mark.integration
def test_a_huge_page_and_a_gzip_bomb_are_failures_and_memory_stays_low(tmp_path: Path):
    chunk = "河北省委书记调研乡村振兴工作。".encode("gb18030") * 2000  # 56 KB
    answers = {
        LISTING: Answer(listing_page([("正常", GOOD_URL), ("无尽", STREAMED), ("宣称", ANNOUNCED), ("炸弹", BOMB)])),
        GOOD_URL: Answer(gzip.decompress((SAMPLE / "page.html.gz").read_bytes())),
        STREAMED: Answer(lambda: iter([huge_article(), *endless(PAGE_MB * 2**20, chunk)(), b"</body></html>"]),
                         with_length=False),
        ANNOUNCED: Answer(endless(PAGE_MB * 2**20, chunk), headers={"Content-Length": str(PAGE_MB * 2**20)}),
        BOMB: Answer(gzip_bomb(512 * 2**20), headers={"Content-Encoding": "gzip"}),
    }
    with CannedSite(answers) as site:
        done = crawl_measured(site.address, tmp_path, "-a", "full=1", MEMUSAGE_CHECK_INTERVAL_SECONDS="0.2")
    stats = crawl_stats(done.stderr)
    assert stats["finish_reason"] == "finished", done.stderr[-3000:]

    assert [story["url"] for story in read_stories(tmp_path)] == [GOOD_URL]  # the real page, and only it
    failures = {line["url"]: line for line in map(json.loads, (tmp_path / "failures" / f"{stats['run/id']}.jsonl")
                                                  .read_text(encoding="utf-8").splitlines())}
    assert set(failures) == {STREAMED, ANNOUNCED, BOMB}
    assert "DOWNLOAD_MAXSIZE" in failures[BOMB]["reason"]  # the size once decompressed counts
    # Never one of those bodies in memory: the peak (measured: 109 MiB) stays within 50 MiB of the
    # start (95 MiB), and far under the limit; the bomb alone is 512 MiB, the other two 50 MB each.
    startup_mib = stats["memusage/startup"] / 2**20
    assert done.peak_rss_mib < startup_mib + PAGE_MB < get_project_settings().getint("MEMUSAGE_LIMIT_MB"), (
        done.peak_rss_mib, startup_mib)
    assert stats["memusage/max"] <= done.peak_rss_mib * 2**20


@pytest.mark.integration
def test_a_crawl_past_its_memory_limit_stops_cleanly_and_the_alert_names_memory(tmp_path: Path):
    answers = {LISTING: Answer(listing_page([("正常", GOOD_URL)])),
               GOOD_URL: Answer(gzip.decompress((SAMPLE / "page.html.gz").read_bytes()))}
    with CannedSite(answers) as site:  # a crawl starts at about 95 MiB: 40 is passed at once
        done = crawl_measured(site.address, tmp_path, MEMUSAGE_LIMIT_MB="40", MEMUSAGE_CHECK_INTERVAL_SECONDS="0.1")
    assert done.returncode == ALERT_EXIT_STATUS, done.stderr[-3000:]
    stats = crawl_stats(done.stderr)
    assert stats["finish_reason"] == "memusage_exceeded"
    alert = json.loads((tmp_path / "alerts" / f"{stats['run/id']}.json").read_text(encoding="utf-8"))
    failed = {check["name"]: check for check in alert["failed"]}
    assert set(failed) == {"finish_reason", "memory"}
    assert "MEMUSAGE_LIMIT_MB=40" in failed["memory"]["message"] and failed["memory"]["limit"] == 40
    manifest = json.loads((tmp_path / "runs" / f"{stats['run/id']}.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "memusage_exceeded" and manifest["end"]  # closed, not killed


def validate_pipeline(output: Path) -> tuple[ValidatePipeline, StatsCollector]:
    crawler = get_crawler(settings_dict={"OUTPUT_DIR": str(output), "RUN_ID": "r1",
                                         "ITEM_MAX_BYTES": get_project_settings().getint("ITEM_MAX_BYTES")})
    assert crawler.stats is not None
    return ValidatePipeline.from_crawler(crawler), crawler.stats


def test_an_item_too_large_for_a_stored_line_is_rejected_with_its_size_and_largest_field(tmp_path: Path):
    limit = get_project_settings().getint("ITEM_MAX_BYTES")
    corpus = (REPO / "tests" / "replica" / "data" / "articles.jsonl").read_bytes().splitlines()
    assert 50 * max(map(len, corpus)) < limit < 16 * 2**20 // 8  # room for real pages, and for copies' appearances
    pipeline, stats = validate_pipeline(tmp_path)
    assert pipeline.process_item(GOOD) is GOOD
    huge = dataclasses.replace(GOOD, body="长" * (limit // 3 + 1))  # 3 bytes each in UTF-8
    with pytest.raises(DropItem):
        pipeline.process_item(huge)
    just_under = dataclasses.replace(GOOD, body="长" * ((limit - 2000) // 3))
    assert pipeline.process_item(just_under) is just_under
    pipeline.close_spider()
    assert stats.get_value("pipeline/rejected") == 1 and stats.get_value("pipeline/rejected/item") == 1
    (reject,) = [json.loads(line) for line in (tmp_path / "rejects" / "r1.jsonl").read_text(encoding="utf-8").splitlines()]
    assert reject["url"] == GOOD.url and reject["fields"] == {}  # the huge field is not copied into the log
    assert "ITEM_MAX_BYTES" in reject["reason"] and "largest field is body" in reject["reason"]


def listed(count: int, first: int = 0) -> list[ListedLink]:
    return [ListedLink(f"http://heb.hebei.com.cn/system/2018/07/17/{18_000_000 + n:09d}.shtml", "标题", "2018-07-17")
            for n in range(first, first + count)]


def test_a_backfill_walk_holds_a_few_bytes_per_article_it_asked_for():
    links = listed(4 * Digests.MERGE_AT)
    walk = Walk(Mode.FULL)
    tracemalloc.start()
    try:
        for start in range(0, len(links), 16):  # a listing page at a time
            walk.wanted(links[start:start + 16])
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A set of their URLs holds ~32 bytes each in its table alone, and ~110 more for the URLs once
    # their requests are gone: as much as Scrapy's duplicate filter holds per request.
    assert held / len(links) < 16, held / len(links)
    assert len(walk.requested) == len(links) and links[0].url in walk.requested
    assert walk.wanted(links[:16]) == links[:16] and len(walk.requested) == len(links)  # listed twice, counted once


def test_the_duplicate_filter_holds_a_few_bytes_per_request():
    dupefilter = load_object(get_project_settings()["DUPEFILTER_CLASS"])(fingerprinter=RequestFingerprinter())
    dupefilter._fingerprints.MERGE_AT = 256  # runs merged as in a backfill, at a few thousand requests
    count = 8192
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for link in listed(count):
            assert not dupefilter.request_seen(Request(link.url))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Scrapy's set of 20-byte digests holds ~95 bytes per request (bench/scale.py measures it)
    assert (held - before) / count < 30, (held - before) / count
    assert all(dupefilter.request_seen(Request(link.url)) for link in listed(count)[::97])  # every one remembered
    assert not dupefilter.request_seen(Request(listed(1, first=count)[0].url))
    moved = Request(GOOD_URL, meta={"kind": "article", "redirect_urls": ["http://heb.hebei.com.cn/x"]})
    assert not dupefilter.request_seen(moved) and not dupefilter.request_seen(moved)  # a redirect's article


def test_an_incremental_walk_still_fetches_what_it_stored_during_this_run():
    stored: set[str] = set()
    walk = Walk(Mode.INCREMENTAL, known_urls=lambda found: set(found) & stored)
    first = listed(Digests.MERGE_AT + 100)  # past the walk's first merge of its recent hashes
    for start in range(0, len(first), 20):
        walk.wanted(first[start:start + 20])
    stored.update(link.url for link in first)
    older = listed(5, first=90_000)
    stored.update(link.url for link in older[:2])
    # a listing reached later that shows articles stored by this run and two of an earlier run
    assert walk.wanted(first[-3:] + first[:2] + older) == first[-3:] + first[:2] + older[2:]
