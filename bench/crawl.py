"""Crawl throughput: a full crawl of a large replica set against `scrapy bench`, in one run.

    .venv/bin/python bench/crawl.py [--scale 10000] [--bench-seconds 30]

Both run on this machine, each with its own local server process: `scrapy bench` (Scrapy's own
link-following spider against its own server: the ceiling of Scrapy on this machine) and a full
crawl (`-a full=1`) of the replica through the production spider, parsers and pipelines.
Prints pages per minute for each, their ratio (target: at least 0.7), and the crawl's peak
memory (max RSS of the crawl process).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.replica.harness import REPLICA_CRAWL_SETTINGS, ReplicaServer, crawl_env, crawl_stats

# `scrapy ...` that reports its own peak RSS when it exits (the replica's is not counted).
_PEAK_REPORTING_SCRAPY = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'PEAK_RSS_KIB=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "from scrapy.cmdline import execute\n"
    "sys.argv = ['scrapy'] + sys.argv[1:]\n"
    "execute()\n"
)
_STARTED = time.monotonic()


def progress(message: str) -> None:
    """A progress line on stderr (stdout keeps the results), so that a long step is never silent."""
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


def scrapy_bench(seconds: int) -> float:
    """Pages per minute of `scrapy bench`, from its own final stats."""
    out = subprocess.run(
        [sys.executable, "-m", "scrapy", "bench", "-s", f"CLOSESPIDER_TIMEOUT={seconds}", "-s", "LOG_LEVEL=INFO"],
        cwd=tempfile.gettempdir(), capture_output=True, text=True, check=True,
    ).stderr
    stats = crawl_stats(out)
    elapsed = float(stats["elapsed_time_seconds"])
    return stats["response_received_count"] / elapsed * 60


def replica_crawl(scale: int) -> tuple[float, int, float, int]:
    """(pages per minute, pages, seconds, peak RSS in KiB) of a full crawl of the replica."""
    with ReplicaServer("--scale", str(scale)) as replica, tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-c", _PEAK_REPORTING_SCRAPY, "crawl", "hebei", "-a", "full=1", "-s", f"OUTPUT_DIR={out}"]
        for key, value in REPLICA_CRAWL_SETTINGS.items():
            cmd += ["-s", f"{key}={value}"]
        started = time.monotonic()
        log = []
        with subprocess.Popen(cmd, cwd=REPO, env=crawl_env(replica.address), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) as crawl:
            assert crawl.stderr is not None
            for line in crawl.stderr:  # the crawl's own progress lines (every PROGRESS_INTERVAL) pass through
                log.append(line)
                if "progress: " in line:
                    progress("crawl: " + line.split("progress: ", 1)[1].rstrip())
        wall = time.monotonic() - started
        stderr = "".join(log)
        if crawl.returncode != 0:
            raise subprocess.CalledProcessError(crawl.returncode, cmd, stderr=stderr)
        stats = crawl_stats(stderr)
    pages = stats["response_received_count"]
    elapsed = float(stats["elapsed_time_seconds"])
    peak = int(re.search(r"PEAK_RSS_KIB=(\d+)", stderr).group(1))  # type: ignore[union-attr]
    return pages / elapsed * 60, pages, wall, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--bench-seconds", type=int, default=30)
    args = parser.parse_args()

    progress(f"scrapy bench against its own server for {args.bench_seconds} s")
    baseline = scrapy_bench(args.bench_seconds)
    progress(f"scrapy bench: {baseline:.0f} pages/min; now a full crawl of a {args.scale:,}-story replica "
             "(minutes at the default scale; its progress lines follow)")
    rate, pages, wall, peak_kib = replica_crawl(args.scale)
    progress(f"full crawl: {pages:,} pages in {wall:.0f} s")
    print(f"{'run':<34} {'pages/min':>10} {'ratio':>6}")
    print(f"{'scrapy bench (' + str(args.bench_seconds) + ' s)':<34} {baseline:>10.0f} {1.0:>6.2f}")
    print(f"{f'full crawl, replica scale {args.scale}':<34} {rate:>10.0f} {rate / baseline:>6.2f}")
    print(f"crawl: {pages} pages in {wall:.0f} s wall; peak memory of the crawl process {peak_kib / 1024:.0f} MiB")
    print(f"target ratio >= 0.7: {'met' if rate / baseline >= 0.7 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
