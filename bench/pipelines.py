"""The item pipelines' cost: share of a crawl's CPU, throughput, peak memory, dedupe quality.

    python bench/pipelines.py [--crawls 3] [--stories 100000] [--copies 0.2] [--skip-crawl]

1. Share of CPU in a crawl (first, on a quiet machine): `--crawls` full crawls (`-a full=1`) of
   the default replica, each in a child process whose pipeline methods are timed (CPU time of
   the thread, user and system), against the child's whole CPU time (the replica server is a
   process of its own and not counted). The result is the median. Target: under 10%.
2. Throughput: `--stories` synthetic items (Chinese text made from the replica's sentence
   templates, three years of days, in crawl order: newest first, a few days interleaved) of which
   a share `--copies` are copies of an earlier item (four in five exact, one in five with a
   sentence appended and another editor), pushed through ValidatePipeline and StorePipeline with
   the project's settings into a fresh OUTPUT_DIR. Prints items per second, CPU per item and the
   peak RSS of this process above its baseline (the items are made on the fly).
3. Near-duplicate precision and recall on the labelled set of tests/replica/near_duplicates.py.
"""

from __future__ import annotations

import argparse
import json
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
from tests.replica.harness import REPLICA_SETTINGS, ReplicaServer, crawl_env
from tests.replica.near_duplicates import labelled_pairs, near_duplicate_report

CHINA = timezone(timedelta(hours=8))
_STARTED = time.monotonic()


def progress(message: str) -> None:
    """A progress line on stderr (stdout keeps the results), so that a long step is never silent."""
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)

CHILD_CRAWL = """
import json, resource, sys
from pipelines.store import StorePipeline
from pipelines.validate import ValidatePipeline
spent = {"user": 0.0, "sys": 0.0}
def timed(method):
    def wrapper(*args, **kwargs):
        start = resource.getrusage(resource.RUSAGE_THREAD)
        try:
            return method(*args, **kwargs)
        finally:
            end = resource.getrusage(resource.RUSAGE_THREAD)
            spent["user"] += end.ru_utime - start.ru_utime
            spent["sys"] += end.ru_stime - start.ru_stime
    return wrapper
for cls in (ValidatePipeline, StorePipeline):
    for name in ("open_spider", "process_item", "close_spider", "spider_closed"):
        if hasattr(cls, name):
            setattr(cls, name, timed(getattr(cls, name)))
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings
settings = get_project_settings()
settings.setdict({"OUTPUT_DIR": sys.argv[1], **json.loads(sys.argv[2])}, priority="cmdline")
process = CrawlerProcess(settings)
crawler = process.create_crawler("hebei")
process.crawl(crawler, full="1")
process.start()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"pipelines_user": spent["user"], "pipelines_sys": spent["sys"],
                  "pipelines_cpu": spent["user"] + spent["sys"], "process_cpu": usage.ru_utime + usage.ru_stime,
                  "items": crawler.stats.get_value("item_scraped_count", 0),
                  "partitions_written": crawler.stats.get_value("pipeline/partitions_written", 0)}))
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


def throughput(stories: int, copies: float, output: Path) -> dict[str, float]:
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
    output.mkdir(parents=True)
    project = get_project_settings()
    settings = {name: project[name] for name in ("STATE_BACKEND", "STORE_FLUSH_SECONDS", "STORE_WRITE_SECONDS")}
    settings |= {"OUTPUT_DIR": str(output), "RUN_ID": "bench"}
    crawler = get_crawler(BenchSpider, settings)
    validate, store = ValidatePipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    store.open_spider()
    for n, item in enumerate(items, 1):
        if n % (stories // 10 or 1) == 0:
            progress(f"throughput: {n:,} of {stories:,} stories' items fed")
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
    state_mb = sum(p.stat().st_size for p in (output / ".state").glob("state.sqlite3*")) / 2**20
    return {"items": stories, "seconds": elapsed, "items_per_s": stories / elapsed, "cpu_per_item_ms": cpu / stories * 1e3,
            "peak_rss_mb_above_baseline": (peak - baseline) / 1024, "state_mb": state_mb,
            "stories": stats.get("pipeline/stories_new", 0), "copies_merged": stats.get("pipeline/copies_merged", 0),
            "near_duplicates": stats.get("pipeline/copies_merged/near_duplicate", 0)}


def crawl_share(settings: dict[str, Any], output: Path) -> dict[str, float]:
    """One full crawl of the default replica into `output` (a new folder), its pipelines' CPU."""
    with ReplicaServer() as replica:
        out = subprocess.run([sys.executable, "-c", CHILD_CRAWL, str(output), json.dumps({**REPLICA_SETTINGS, **settings})],
                             cwd=REPO, env=crawl_env(replica.address), capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    found["share"] = found["pipelines_cpu"] / found["process_cpu"]
    found["pipelines_ms_per_item"] = found["pipelines_cpu"] / max(1, found["items"]) * 1e3
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--copies", type=float, default=0.2)
    parser.add_argument("--crawls", type=int, default=3, help="full crawls for the share (the median is the result)")
    parser.add_argument("--skip-crawl", action="store_true")
    args = parser.parse_args(argv)

    # Every output is kept until the end: deleting thousands of files just before a measurement
    # makes the next file creations dearer on some filesystems (docs/data.md, Performance).
    with tempfile.TemporaryDirectory(prefix="bench-pipelines-") as scratch:
        if not args.skip_crawl:  # first: the share is the target, measured before anything else ran
            runs = []
            for n in range(args.crawls):
                progress(f"crawl share: full crawl {n + 1} of {args.crawls} of the replica")
                runs.append(crawl_share({}, Path(scratch) / f"crawl-{n}"))
            for n, c in enumerate(runs, 1):
                print(f"crawl {n}: pipelines {c['pipelines_cpu']:.2f} s (user {c['pipelines_user']:.2f}, "
                      f"system {c['pipelines_sys']:.2f}) of {c['process_cpu']:.2f} s CPU = {c['share']:.1%}; "
                      f"{c['items']} items, {c['partitions_written']} partition files written")
            c = sorted(runs, key=lambda r: r["share"])[len(runs) // 2]
            print(f"crawl share: median of {len(runs)}: {c['share']:.1%} (target < 10%), "
                  f"{c['pipelines_ms_per_item']:.2f} ms per item; range "
                  f"{min(r['share'] for r in runs):.1%} to {max(r['share'] for r in runs):.1%}")
        progress(f"throughput: {args.stories:,} synthetic stories through the pipelines (a minute or two)")
        t = throughput(args.stories, args.copies, Path(scratch) / "throughput")
        print(f"throughput: {t['items']} items ({args.copies:.0%} copies) in {t['seconds']:.1f} s = "
              f"{t['items_per_s']:.0f} items/s, {t['cpu_per_item_ms']:.2f} ms CPU per item; "
              f"peak RSS +{t['peak_rss_mb_above_baseline']:.0f} MB; state {t['state_mb']:.0f} MB; "
              f"{t['stories']} stories, {t['copies_merged']} copies merged ({t['near_duplicates']} near-duplicates)")
    progress("near-duplicates: the labelled pairs of the replica")
    r = near_duplicate_report(labelled_pairs())
    print(f"near-duplicates: precision {r['precision']:.3f}, recall {r['recall']:.3f} "
          f"(edited copies {r['edited_recall']:.3f}) on {r['copy_pairs']} copy pairs "
          f"({r['edited_copy_pairs']} edited) and {r['different_story_pairs']} closest different-story pairs; "
          f"Jaccard of copies >= {r['lowest_copy_jaccard']:.3f}, of different stories <= {r['highest_other_jaccard']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
