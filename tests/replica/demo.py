"""`make demo`: the main job end to end on the replica.

Starts the replica on a free loopback port (by default the portal of both eras: hebei.com.cn as
it was until 2024 and the 2026 portal on *.hebccw.cn, `--era 2026`), crawls every declared channel
and collection through it (as an HTTP and HTTPS proxy, so the spiders request the real URLs
unchanged), writes JSON Lines under `output/`, prints a summary and stops the replica.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from tests.replica.harness import ERA_2026_SETTINGS, REPLICA_SETTINGS, ReplicaServer, crawl_env
from tests.replica.site import ERA_2026, ERAS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default="output")
    parser.add_argument("--era", default=ERA_2026, choices=ERAS,
                        help="2026 (default): both host families; 2018: the portal before the move")
    args = parser.parse_args(argv)

    era_settings = ERA_2026_SETTINGS if args.era == ERA_2026 else {}
    with ReplicaServer("--scale", str(args.scale), "--seed", str(args.seed), "--era", args.era) as replica:
        environment = crawl_env(replica.address)  # the crawl runs in this process
        os.environ.clear()
        os.environ.update(environment)
        settings = get_project_settings()
        settings.setdict({**REPLICA_SETTINGS, **era_settings, "OUTPUT_DIR": args.output}, priority="cmdline")
        process = CrawlerProcess(settings)
        crawler = process.create_crawler("hebei")
        started = time.monotonic()
        process.crawl(crawler)
        process.start()
        elapsed = time.monotonic() - started
    stats = crawler.stats.get_stats() if crawler.stats else {}
    failed = sum(v for k, v in stats.items() if k.startswith("failures/"))
    print(f"replica: {replica.address} (scale {args.scale}, seed {args.seed}, era {args.era})")
    stored = sum(1 for path in (Path(args.output) / "articles").glob("date=*/articles.jsonl")
                 for line in path.open(encoding="utf-8") if line.strip())
    print(f"mode:            {stats.get('crawl/mode')} (a second run fetches only what is new)")
    print(f"stories written: {stats.get('pipeline/stories_new', 0)} new, "
          f"{stats.get('pipeline/stories_updated', 0)} updated, "
          f"{stats.get('pipeline/copies_merged', 0)} copies merged into them; {stored} stories in the output")
    print(f"pages fetched:   {stats.get('downloader/response_count', 0)}  "
          f"(listing pages: {stats.get('listing/pages', 0)}, articles parsed: {stats.get('item_scraped_count', 0)})")
    parsers = sorted(((k.removeprefix("article/parser/"), v) for k, v in stats.items() if k.startswith("article/parser/")),
                     key=lambda kv: -kv[1])
    read = sum(v for _, v in parsers) or 1
    print("read by:         " + ", ".join(f"{name} {v} ({v / read:.0%})" for name, v in parsers))
    print(f"rejected:        {stats.get('pipeline/rejected', 0)}")
    print(f"failed:          {failed}")
    print(f"skipped:         {stats.get('article/skipped/rolling', 0)} rolling live pages")
    print(f"time:            {elapsed:.1f} s")
    print(f"output:          {Path(args.output) / 'articles'}")
    return 0 if stats.get("finish_reason") == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
