"""The state store under concurrent writers: W processes recording copies at once, Redis against
SQLite, in the same run.

    .venv/bin/python bench/state.py [--workers 3] [--stories 1500] [--recrawl 0.1] [--repeat 3]
                                    [--appendfsync always|everysec]

The copies are the replica's (2018 and 2026 eras: one story published under several collections
and URLs, on both host families), dealt round-robin to the workers, so that one story's copies
reach different workers as under a shared frontier, plus a share `--recrawl` of each worker's
copies seen again by the next worker (a page fetched twice: "unchanged"). Each worker records its
copies through `record_copies` in batches as the store pipeline does: `BATCH_ITEMS` (a fast crawl)
and `--small-batch` (STORE_FLUSH_SECONDS = 1 on a slow one). Redis is a redis-server on loopback
started as the tests start it (AOF, `appendfsync always`, as `RedisStateStore` asks; `everysec`
shows what the fsyncs cost: the writer lock's and each batch's writes).

Prints, per batch size and backend, copies per second (all copies over the wall time from the
workers' common start to the last one's end; the best of `--repeat` runs, for a busy machine),
the ratio Redis / SQLite, and for Redis the commands per copy (INFO commandstats, before and
after; a script's commands count one by one). Each final state is compared with the state one
process gives recording every copy serially (same partitions, same lines: the same stories with
the same appearances). Last line: `redis/sqlite at batch B: X (R copies/s); ...; exact yes|no`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis
from scrapy.settings import Settings

from pipelines.dedupe import Copy
from pipelines.state import StateStore, open_state
from pipelines.store import BATCH_ITEMS
from tests.replica.harness import RedisServer
from tests.replica.site import ERA_2026, build_site, copy_truth

Record = dict[str, Any]


def replica_records(stories: int) -> list[Record]:
    """Every copy of the replica's stories as the spider yields it (tests/test_state.py)."""
    site = build_site(stories, era=ERA_2026, grow=stories // 5)
    records = []
    for story in site.stories:
        for c in story.copies:
            truth = copy_truth(c)
            records.append({**{k: v for k, v in truth.items() if k not in ("article_id", "page_urls")},
                            "id": c.article_id, "appearances": [], "channel": c.listing.key,
                            "fetched_at": "2026-12-01T00:00:00+00:00"})
    return records


def deal(records: list[Record], workers: int, recrawl: float, seed: int) -> list[list[Record]]:
    """Round-robin in a shuffled order, then each worker also sees again a share of the next one's."""
    order = records[:]
    random.Random(seed).shuffle(order)
    shares = [order[n::workers] for n in range(workers)]
    again = [shares[(n + 1) % workers][: int(len(shares[n]) * recrawl)] for n in range(workers)]
    return [share + extra for share, extra in zip(shares, again)]


def in_batches(items: Sequence[Copy], size: int) -> list[Sequence[Copy]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def record(settings: dict[str, Any], records: list[Record], batch: int, start: Any, run: str) -> None:
    """One worker: its copies made before the common start (the spider's share), then recorded."""
    store = open_state(Settings(settings))
    copies = [Copy(r) for r in records]
    start.wait()
    for copies_batch in in_batches(copies, batch):
        store.record_copies(copies_batch, run)
    store.close()


def concurrently(settings: dict[str, Any], shares: list[list[Record]], batch: int) -> float:
    """Seconds from the workers' common start to the end of the last one."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(shares) + 1)
    workers = [context.Process(target=record, args=(settings, share, batch, start, f"r{n}"))
               for n, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    start.wait()  # every worker has imported and built its copies
    began = time.perf_counter()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise SystemExit(f"a worker failed (exit code {worker.exitcode})")
    return time.perf_counter() - began


def contents(store: StateStore) -> dict[str, list[str]]:
    """Every partition's lines, as a rewrite would write them."""
    return {name: store.snapshot(name).lines for name in store.partitions()}


def commands(client: redis.Redis) -> int:
    return sum(int(stats["calls"]) for name, stats in client.info("commandstats").items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--stories", type=int, default=1500)
    parser.add_argument("--recrawl", type=float, default=0.1)
    parser.add_argument("--small-batch", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--appendfsync", choices=["always", "everysec"], default="always")
    args = parser.parse_args()
    records = replica_records(args.stories)
    shares = deal(records, args.workers, args.recrawl, args.seed)
    total = sum(map(len, shares))
    print(f"{len(records)} copies, {args.workers} workers recording {total} in all "
          f"({args.recrawl:.0%} of each worker's seen again by another)")
    work = Path(tempfile.mkdtemp(prefix="bench-state-"))
    serial = Settings({"STATE_BACKEND": "sqlite", "OUTPUT_DIR": str(work / "serial")})
    store = open_state(serial)
    for copies_batch in in_batches([Copy(r) for share in shares for r in share], BATCH_ITEMS):
        store.record_copies(copies_batch, "serial")
    truth = contents(store)
    store.close()
    exact, ratios = True, []
    (work / "redis").mkdir()
    with RedisServer(work / "redis") as server:
        client = redis.Redis.from_url(server.url)
        client.config_set("appendfsync", args.appendfsync)
        for batch in (BATCH_ITEMS, args.small_batch):
            rates = {}
            for backend in ("sqlite", "redis"):
                seconds, same, spent = float("inf"), True, 0
                for attempt in range(args.repeat):
                    client.flushdb()
                    settings = {"STATE_BACKEND": backend, "OUTPUT_DIR": str(work / f"{backend}-{batch}-{attempt}"),
                                "STATE_REDIS_URL": server.url}
                    before = commands(client)
                    seconds = min(seconds, concurrently(settings, shares, batch))
                    spent = commands(client) - before
                    store = open_state(Settings(settings))
                    same &= contents(store) == truth
                    store.close()
                rates[backend] = total / seconds
                exact &= same
                per_copy = f", {spent / total:.1f} Redis commands per copy" if backend == "redis" else ""
                print(f"batch {batch:5d}  {backend:6s}  {rates[backend]:7.0f} copies/s ({seconds:.2f} s){per_copy}, "
                      f"equal to one serial writer: {'yes' if same else 'NO'}")
            ratios.append(f"redis/sqlite at batch {batch}: {rates['redis'] / rates['sqlite']:.2f} "
                          f"({rates['redis']:.0f} copies/s)")
        client.close()
    print(f"{'; '.join(ratios)}; exact {'yes' if exact else 'no'}")


if __name__ == "__main__":
    main()
