"""The item pipelines' cost: throughput, peak memory, share of a crawl's CPU, dedupe quality.

    python bench/pipelines.py [--stories 100000] [--copies 0.2] [--skip-crawl]

1. Throughput: `--stories` synthetic items (Chinese text made from the replica's sentence
   templates, three years of days, in crawl order: newest first, a few days interleaved) of which
   a share `--copies` are copies of an earlier item (four in five exact, one in five with a
   sentence appended and another editor), pushed through ValidatePipeline and StorePipeline with
   the project's settings into a fresh OUTPUT_DIR. Prints items per second, CPU per item and the
   peak RSS of this process above its baseline (the items are made on the fly).
2. Share of CPU in a crawl: a full crawl (`-a full=1`) of the default replica in a child process
   whose pipeline methods are timed (process CPU time), against the child's whole CPU time
   (the replica server is a process of its own and not counted). Target: under 10%.
3. Near-duplicate precision and recall on the labelled set of tests/test_dedupe.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.validate import FIELDS
from tests.replica import content as C

CHINA = timezone(timedelta(hours=8))

CHILD_CRAWL = """
import json, resource, sys, time
from pipelines.store import StorePipeline
from pipelines.validate import ValidatePipeline
spent = [0.0]
def timed(method):
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start
    return wrapper
for cls in (ValidatePipeline, StorePipeline):
    for name in ("open_spider", "process_item", "close_spider", "spider_closed"):
        if hasattr(cls, name):
            setattr(cls, name, timed(getattr(cls, name)))
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings
settings = get_project_settings()
settings.setdict({"OUTPUT_DIR": sys.argv[1], "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
                  "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32, "LOG_LEVEL": "WARNING",
                  **json.loads(sys.argv[2])}, priority="cmdline")
process = CrawlerProcess(settings)
crawler = process.create_crawler("hebei")
process.crawl(crawler, full="1")
process.start()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"pipelines_cpu": spent[0], "process_cpu": usage.ru_utime + usage.ru_stime,
                  "items": crawler.stats.get_value("item_scraped_count", 0)}))
"""


def synthetic_items(stories: int, copies: float, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`stories` items; a share `copies` of them copies of an earlier one."""
    rng = random.Random(seed)
    sentences = C.corpus_sentences([json.loads(line) for line in
                                    (REPO / "tests/replica/data/articles.jsonl").read_text("utf-8").splitlines()])
    start = datetime(2022, 1, 1, 8)
    recent: list[dict[str, Any]] = []
    next_id = 101_000_000
    for n in range(stories):
        next_id += rng.randint(1, 9)
        url = f"http://heb.hebei.com.cn/system/{{:%Y/%m/%d}}/{next_id}.shtml"
        if recent and rng.random() < copies:
            original = rng.choice(recent)
            moment = datetime.fromisoformat(original["timestamp"]) + timedelta(seconds=rng.randint(20, 600))
            item = {**original, "id": str(next_id), "url": url.format(moment),
                    "timestamp": moment.isoformat(timespec="seconds"),
                    "breadcrumbs": ["河北频道", "省领导活动报道集", C.pick(rng, C.LEADERS)[0], "其他活动"]}
            if rng.random() < 0.2:
                item["body"] += "（完）"
                item["editor"] = C.pick(rng, C.EDITORS)
        else:
            leader = C.pick(rng, C.LEADERS)[0]
            # crawl order: listings are walked from the newest page back, a few days apart at once
            day = 3 * 365 * (stories - n) // stories + rng.randint(-2, 2)
            moment = (start + timedelta(days=day, seconds=rng.randint(0, 50_000))).replace(tzinfo=CHINA)
            item = {
                "id": str(next_id), "url": url.format(moment), "title": f"{leader}调研{C.pick(rng, C.TOPICS)}（{n}）",
                "subtitles": [], "source": C.pick(rng, C.SOURCES), "authors": C.authors(rng),
                "timestamp": moment.isoformat(timespec="seconds"),
                "body": "\n".join(C.paragraph(rng, leader, sentences) for _ in range(rng.randint(3, 8))),
                "captions": [], "images": [], "editor": C.pick(rng, C.EDITORS), "keywords": [leader],
                "breadcrumbs": ["河北频道", "全景河北"], "channel": "bench", "fetched_at": "2026-11-26T00:00:00+00:00",
                "pages": 1, "parser": "enorth-b/v1",
            }
            recent = (recent + [item])[-2000:]
        item["appearances"] = [{"url": item["url"], "breadcrumbs": item["breadcrumbs"], "timestamp": item["timestamp"]}]
        yield {name: item[name] for name in FIELDS}


def throughput(stories: int, copies: float) -> dict[str, float]:
    from scrapy import Spider
    from scrapy.exceptions import DropItem
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.test import get_crawler

    from pipelines.store import StorePipeline
    from pipelines.validate import ValidatePipeline

    class BenchSpider(Spider):
        name = "bench"

    items = synthetic_items(stories, copies)
    next(synthetic_items(1, 0))  # warm the generator's imports before the baseline
    with tempfile.TemporaryDirectory() as output:
        project = get_project_settings()
        settings = {name: project[name] for name in ("STATE_BACKEND", "STORE_FLUSH_SECONDS")}
        settings |= {"OUTPUT_DIR": output, "RUN_ID": "bench"}
        crawler = get_crawler(BenchSpider, settings)
        validate, store = ValidatePipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started, cpu = time.perf_counter(), time.process_time()
        store.open_spider()
        for item in items:
            try:
                store.process_item(validate.process_item(item))
            except DropItem:
                pass
        validate.close_spider()
        store.close_spider()
        store.spider_closed("finished")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stats = crawler.stats.get_stats()  # type: ignore[union-attr]
        state_mb = sum(p.stat().st_size for p in (Path(output) / ".state").glob("state.sqlite3*")) / 2**20
    return {"items": stories, "seconds": elapsed, "items_per_s": stories / elapsed, "cpu_per_item_ms": cpu / stories * 1e3,
            "peak_rss_mb_above_baseline": (peak - baseline) / 1024, "state_mb": state_mb,
            "stories": stats.get("pipeline/stories_new", 0), "copies_merged": stats.get("pipeline/copies_merged", 0),
            "near_duplicates": stats.get("pipeline/copies_merged/near_duplicate", 0)}


def crawl_share(settings: dict[str, Any]) -> dict[str, float]:
    from tests.conftest import start_replica

    replica, address = start_replica()
    try:
        env = {**os.environ, "http_proxy": address}
        env.pop("no_proxy", None)
        env.pop("NO_PROXY", None)
        with tempfile.TemporaryDirectory() as output:
            out = subprocess.run([sys.executable, "-c", CHILD_CRAWL, output, json.dumps(settings)], cwd=REPO, env=env,
                                 capture_output=True, text=True, check=True)
    finally:
        replica.terminate()
        replica.wait()
    found = json.loads(out.stdout.strip().splitlines()[-1])
    found["share"] = found["pipelines_cpu"] / found["process_cpu"]
    found["pipelines_ms_per_item"] = found["pipelines_cpu"] / max(1, found["items"]) * 1e3
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--copies", type=float, default=0.2)
    parser.add_argument("--skip-crawl", action="store_true")
    args = parser.parse_args(argv)

    t = throughput(args.stories, args.copies)
    print(f"throughput: {t['items']} items ({args.copies:.0%} copies) in {t['seconds']:.1f} s = "
          f"{t['items_per_s']:.0f} items/s, {t['cpu_per_item_ms']:.2f} ms CPU per item; "
          f"peak RSS +{t['peak_rss_mb_above_baseline']:.0f} MB; state {t['state_mb']:.0f} MB; "
          f"{t['stories']} stories, {t['copies_merged']} copies merged ({t['near_duplicates']} near-duplicates)")
    if not args.skip_crawl:
        c = crawl_share({})
        print(f"crawl share: pipelines {c['pipelines_cpu']:.2f} s of {c['process_cpu']:.2f} s CPU = {c['share']:.1%} "
              f"(target < 10%), {c['pipelines_ms_per_item']:.2f} ms per item over {c['items']} items")
    from tests.test_dedupe import labelled_pairs, near_duplicate_report

    r = near_duplicate_report(labelled_pairs())
    print(f"near-duplicates: precision {r['precision']:.3f}, recall {r['recall']:.3f} "
          f"(edited copies {r['edited_recall']:.3f}) on {r['copy_pairs']} copy pairs "
          f"({r['edited_copy_pairs']} edited) and {r['different_story_pairs']} closest different-story pairs; "
          f"Jaccard of copies >= {r['lowest_copy_jaccard']:.3f}, of different stories <= {r['highest_other_jaccard']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
