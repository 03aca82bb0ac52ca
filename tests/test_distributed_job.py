"""A job of several workers ends once: one writer of the partition files, one manifest for the
job in runs/, one set of checks, ids made final once (pipelines/store.py, pipelines/runs.py,
crawler/ops/monitor.py), against a real redis-server and the 300-story replica."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import redis

from crawler.distributed.job import Job
from crawler.ops.report import load_runs
from crawler.output import OutputDir
from crawler.site.urls import PORTAL_DOMAINS
from pipelines.dedupe import Copy, partition_of
from pipelines.runs import JobLedger, job_run_id
from pipelines.state.protocol import Snapshot
from pipelines.state.redis import RedisStateStore
from pipelines.store import rewrite_behind
from pipelines.validate import record_of
from tests.replica.harness import REPO, crawl_stats, read_stories
from tests.replica.site import Site, build_site
from tests.test_crawl import compare_with_truth
from tests.test_distributed import Worker, start_worker
from tests.test_pipeline_store import replica_items


@pytest.fixture(scope="module")
def site_300() -> Site:
    """What replica_300 serves."""
    return build_site(300)


class StallingStore(RedisStateStore):
    """A writer that stalls right after it read its snapshot (a pause, a swapped-out process),
    for longer than the Redis state's locks live."""

    LOCK_SECONDS = 1

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.stalled, self.resume = threading.Event(), threading.Event()

    def snapshot(self, partition: str) -> Snapshot:
        taken = super().snapshot(partition)
        self.stalled.set()
        self.resume.wait(10)
        return taken


def two_stories_of_one_day(site: Site) -> tuple[Copy, Copy]:
    """The first copies of two stories of the same date partition."""
    stories = {story["id"] for story in site.truth()}
    by_day: dict[str, list[Copy]] = {}
    for item in replica_items(site):
        copy = Copy(record_of(item), PORTAL_DOMAINS)
        if copy.record["id"] in stories:
            day = by_day.setdefault(partition_of(copy.record["timestamp"]), [])
            day.append(copy)
            if len(day) == 2:
                return day[0], day[1]
    raise AssertionError("no day with two stories")


def test_a_writer_that_stalls_never_puts_its_older_snapshot_over_a_newer_file(site_300: Site, redis_url: str,
                                                                                 tmp_path: Path):
    output = OutputDir(tmp_path)
    first, second = two_stories_of_one_day(site_300)
    partition = partition_of(first.record["timestamp"])
    stalling, other = StallingStore(redis_url), RedisStateStore(redis_url)
    stalling.record_copies([first], "run-a")
    behind = threading.Thread(target=rewrite_behind, args=(stalling, output, [partition]))
    behind.start()
    assert stalling.stalled.wait(10)  # it holds its snapshot: one story
    other.record_copies([second], "run-b")
    ahead = threading.Thread(target=rewrite_behind, args=(other, output, [partition]))
    ahead.start()
    ahead.join(timeout=2.5)  # past the Redis lock's expiry: a writer that waits here waits for the stalled one
    stalling.resume.set()
    behind.join(timeout=10)
    ahead.join(timeout=10)

    lines = output.partition(partition).read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted([first.record["id"], second.record["id"]])
    assert other.pending_partitions() == []


def start_writer(output: Path, redis_url: str) -> subprocess.Popen[str]:
    """`scrapy store write --follow`: the one writer of OUTPUT_DIR, every half second."""
    cmd = [sys.executable, "-m", "scrapy.cmdline", "store", "write", "--follow", "-s", f"OUTPUT_DIR={output}",
           "-s", "STATE_BACKEND=redis", "-s", f"STATE_REDIS_URL={redis_url}", "-s", "STORE_WRITE_SECONDS=0.5"]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_workers(address: str, output: Path, redis_url: str, job: str, *args: str) -> list[tuple[int, dict[str, Any],
                                                                                                   str]]:
    """Three workers of `job`: (exit status, final stats, log) of each."""
    workers: list[Worker] = [start_worker(address, output, redis_url, job, "-a", "full=1",
                                          "-s", "STORE_WRITE_SECONDS=0.2", *args) for _ in range(3)]
    logs = [worker.log(timeout=120) for worker in workers]
    return [(worker.process.returncode, crawl_stats(log), log) for worker, log in zip(workers, logs)]


def feed(output: Path) -> list[dict[str, Any]]:
    """The entries data teams read in runs/: a job's workers' own manifests are its parts."""
    return [m for _, m in OutputDir(output).manifests() if not m.get("part_of")]


@pytest.mark.integration
def test_a_job_of_three_workers_ends_once_written_by_one_writer(replica_300: str, site_300: Site, tmp_path: Path,
                                                                  redis_url: str):
    truth_300 = site_300.truth()
    output = tmp_path / "out"
    writer = start_writer(output, redis_url)
    try:
        workers = run_workers(replica_300, output, redis_url, "backfill")
    finally:
        writer.terminate()
    writer_said = writer.communicate(timeout=30)[0]
    assert writer.returncode == 0, writer_said
    stats = [s for _, s, _ in workers]
    last = [i for i, (_, _, log) in enumerate(workers) if "is done and" in log]
    assert len(last) == 1

    # The output is the truth, ids included and final: no story is left provisional.
    assert compare_with_truth(read_stories(output), truth_300) == []
    state = redis.Redis.from_url(redis_url, decode_responses=True)
    assert state.scard("hebei:state:provisional") == 0
    assert [s.get("store/ids_finalised", 0) for s in stats] == [len(truth_300) if i in last else 0 for i in range(3)]

    # Partitions: none written by a worker during the job; the writer wrote them (the last worker
    # only what was still pending at the end).
    assert [s.get("pipeline/partitions_written", 0) for i, s in enumerate(stats) if i not in last] == [0, 0]
    assert "wrote" in writer_said

    # One entry in runs/ for the job, listing every partition it changed, with the job's totals.
    (entry,) = feed(output)
    parts = {m["run_id"]: m for _, m in OutputDir(output).manifests() if m.get("part_of")}
    assert set(entry["parts"]) == set(parts) == {s["run/id"] for s in stats}
    assert {m["part_of"] for m in parts.values()} == {entry["run_id"]}
    on_disk = {p.relative_to(output).as_posix() for p in OutputDir(output).partition_files()}
    assert set(entry["partitions"]) == on_disk
    assert (entry["job"], entry["finish_reason"], entry["parts_killed"]) == ("backfill", "finished", [])
    assert entry["start"] == min(m["start"] for m in parts.values())
    assert entry["end"] >= max(m["end"] for m in parts.values())
    assert entry["counts"]["stories_new"] == len(truth_300)
    assert entry["counts"]["pages_fetched"] == sum(s["downloader/response_count"] for s in stats)
    assert [run.run_id for run in load_runs(output)] == [entry["run_id"]]  # `scrapy report`: one run

    # One set of checks, for the job, judged on its totals; every worker exits 0.
    assert [p.stem for p in (output / "checks").iterdir()] == [entry["run_id"]]
    checks = json.loads((output / "checks" / f"{entry['run_id']}.json").read_text(encoding="utf-8"))
    assert (checks["stories_new"], checks["items"]) == (len(truth_300), sum(s["item_scraped_count"] for s in stats))
    assert sorted(checks["parts"]) == sorted(parts)
    assert [status for status, _, _ in workers] == [0, 0, 0]
    assert sum("none of this worker's own" in log for _, _, log in workers) == 2

    # A second full job finds nothing new: judged against the first job as one run (300 new
    # stories, not a worker's share), it fails its checks, and only its last worker says so.
    again = run_workers(replica_300, output, redis_url, "again", "-s", "MONITOR_MIN_HISTORY=1",
                        "-s", "MONITOR_STORIES_TOLERANCE=0")
    statuses = sorted(status for status, _, _ in again)
    assert statuses == [0, 0, 3]
    (_, second) = sorted(feed(output), key=lambda m: m["start"])
    assert [p.stem for p in (output / "alerts").iterdir()] == [second["run_id"]]
    alert = json.loads((output / "alerts" / f"{second['run_id']}.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in alert["failed"]] == ["stories_new"]
    assert compare_with_truth(read_stories(output), truth_300) == []


def test_a_jobs_entry_is_named_after_its_first_workers_start():
    assert job_run_id("2026-12-02T05:00:07+00:00", "hebei", "backfill 12/2") == "20261202T050007Z-hebei-job-backfill_12_2"


def test_a_jobs_stories_updated_counts_each_story_once_and_none_of_the_jobs_own(redis_url: str) -> None:
    """Each worker counts as updated the stories it changed that another run created: a story two
    workers changed, and one that a worker of the same job created, are not two updates."""
    ledger = JobLedger(Job(redis_url, "backfill"))
    for run in ("w1", "w2"):
        ledger.begin(run, "2026-12-02T05:00:00+00:00")
    ledger.record({"2026/12/02"}, {1, 2, 3}, updated={1}, created={2, 3})  # worker 1
    ledger.record({"2026/12/02"}, {1, 2, 4}, updated={1, 2, 4})  # worker 2: 2 is worker 1's, new to the job
    ledger.end("w1", "2026-12-02T05:00:00+00:00", {"pipeline/stories_updated": 1, "pipeline/stories_new": 2})
    record = ledger.read("hebei", "2026-12-02T05:00:00+00:00")
    totals = record.totals("w2", {"pipeline/stories_updated": 3, "pipeline/stories_new": 0})
    assert totals["pipeline/stories_updated"] == 2  # stories 1 and 4 (summed: 4)
    assert totals["pipeline/stories_new"] == 2 and record.touched == {1, 2, 3, 4}
