"""One job by N workers (the shared frontier, FRONTIER = "redis") against one worker and one
process at N times the concurrency, on a replica whose every response waits (a distant site).

    .venv/bin/python bench/distributed.py [--workers 3] [--concurrency 8] [--latency 0.25] [--scale 1000]

Each run is a full crawl (`-a full=1`) into a fresh OUTPUT_DIR with the Redis state of a fresh
redis-server on loopback. The N workers' output is compared with the replica's truth (ids
included) and their DEBUG logs give the pages fetched more than once across workers. Last line:
`workers N, exact yes|no, pages fetched twice K, speedup vs 1 worker at C: X, vs 1 process at N*C: Y`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.replica.harness import (
    REPLICA_CRAWL_SETTINGS,
    RedisServer,
    ReplicaServer,
    crawl_env,
    crawl_stats,
    read_stories,
)
from tests.replica.site import build_site
from tests.test_crawl import compare_with_truth


def crawl_command(output: Path, redis_url: str, concurrency: int, job: str | None) -> list[str]:
    settings = {**REPLICA_CRAWL_SETTINGS, "OUTPUT_DIR": str(output), "STATE_BACKEND": "redis",
                "STATE_REDIS_URL": redis_url, "CONCURRENT_REQUESTS": str(concurrency),
                "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency), "LOG_LEVEL": "DEBUG"}
    if job:
        settings |= {"FRONTIER": "redis", "FRONTIER_JOB": job}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "hebei", "-a", "full=1"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run(address: str, work: Path, name: str, processes: int, concurrency: int) -> tuple[float, list[str], Path]:
    """`processes` crawls of one job (or one plain crawl); seconds, their logs, the OUTPUT_DIR."""
    output = work / name
    with RedisServer(Path(tempfile.mkdtemp(dir=work))) as redis_server:
        job = name if processes > 1 else None
        logs = [work / f"{name}-{n}.log" for n in range(processes)]
        started = time.monotonic()
        crawls = []
        for log in logs:
            with log.open("wb") as sink:
                crawls.append(subprocess.Popen(crawl_command(output, redis_server.url, concurrency, job), cwd=REPO,
                                               env=crawl_env(address), stdout=subprocess.DEVNULL, stderr=sink))
        for crawl in crawls:
            crawl.wait(timeout=3600)
        seconds = time.monotonic() - started
    texts = [log.read_text(encoding="utf-8") for log in logs]
    reasons = [crawl_stats(text)["finish_reason"] for text in texts]
    print(f"{name}: {processes} process(es) at concurrency {concurrency}: {seconds:.1f} s, {reasons}", flush=True)
    return seconds, texts, output


def fetched_twice(logs: list[str]) -> int:
    pages = Counter(url for log in logs for url in re.findall(r"Crawled \(\d+\) <GET ([^>]+)>", log)
                    if not url.endswith("/robots.txt"))
    return sum(1 for times in pages.values() if times > 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.25, help="seconds each response waits")
    parser.add_argument("--scale", type=int, default=1000, help="stories of the replica")
    args = parser.parse_args()
    n, c = args.workers, args.concurrency
    truth = build_site(args.scale).truth()
    with tempfile.TemporaryDirectory() as tmp, \
            ReplicaServer("--scale", str(args.scale), "--latency", str(args.latency)) as replica:
        work = Path(tmp)
        job_seconds, job_logs, job_output = run(replica.address, work, "job", n, c)
        exact = compare_with_truth(read_stories(job_output), truth) == []
        twice = fetched_twice(job_logs)
        one_seconds, _, _ = run(replica.address, work, "one-worker", 1, c)
        wide_seconds, _, _ = run(replica.address, work, "one-process", 1, n * c)
    print(f"workers {n}, exact {'yes' if exact else 'no'}, pages fetched twice {twice}, "
          f"speedup vs 1 worker at C: {one_seconds / job_seconds:.2f}, vs 1 process at N*C: "
          f"{wide_seconds / job_seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
