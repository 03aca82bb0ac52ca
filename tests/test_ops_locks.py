"""Two runs of one channel never overlap (crawler/ops/locks.py): real crawl processes on one OUTPUT_DIR.
`scrapy crawl channel -a start_url=URL` is locked by its URL: two URLs side by side, one URL once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.ops.locks import url_lock_name
from crawler.ops.monitor import ALERT_EXIT_STATUS
from crawler.output import FinishReason
from tests.replica.harness import REPLICA_CRAWL_SETTINGS, REPO, crawl_env, crawl_stats, run_crawl

pytestmark = pytest.mark.integration


def start_slow_crawl(address: str, output: Path, spider: str, *args: str) -> subprocess.Popen[str]:
    """A crawl that takes minutes: one request per second per host."""
    settings = {**REPLICA_CRAWL_SETTINGS, "DOWNLOAD_DELAY": "1", "CONCURRENT_REQUESTS_PER_DOMAIN": "1",
                "OUTPUT_DIR": str(output)}
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, *args,
           *(a for k, v in settings.items() for a in ("-s", f"{k}={v}"))]
    return subprocess.Popen(cmd, cwd=REPO, env=crawl_env(address), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


def wait_until_locked(lock: Path, pid: int, timeout: float = 30) -> None:
    """The holder writes its pid into the lock file once it holds the lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.exists() and f"(pid {pid})" in lock.read_text(encoding="utf-8"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{lock} was not taken by pid {pid}")


def manifest_of(output: Path, stderr: str) -> dict:
    run = crawl_stats(stderr)["run/id"]
    return json.loads((output / "runs" / f"{run}.json").read_text(encoding="utf-8"))


def test_a_second_run_of_a_channel_is_skipped_while_the_first_runs_and_not_after_it_was_killed(
        replica_300: str, tmp_path: Path):
    first = start_slow_crawl(replica_300, tmp_path, "heb_sldhdbdj")
    try:
        wait_until_locked(tmp_path / ".state" / "locks" / "heb_sldhdbdj.lock", first.pid)

        second = run_crawl(replica_300, tmp_path, "heb_sldhdbdj")
        assert second.returncode == ALERT_EXIT_STATUS
        assert crawl_stats(second.stderr)["finish_reason"] == FinishReason.SKIPPED_OVERLAP
        assert crawl_stats(second.stderr).get("downloader/request_count", 0) == 0  # it fetched nothing
        assert f"(pid {first.pid})" in second.stderr  # the log says who holds the channel
        assert manifest_of(tmp_path, second.stderr)["finish_reason"] == FinishReason.SKIPPED_OVERLAP  # reported in the feed
        alert_file = tmp_path / "alerts" / f"{crawl_stats(second.stderr)['run/id']}.json"
        alert = json.loads(alert_file.read_text())
        assert [c["name"] for c in alert["failed"]] == ["finish_reason"] and alert["finish_reason"] == FinishReason.SKIPPED_OVERLAP
        # the log's last line, which scrapyd's job list does not show, says where the verdict is
        last = second.stderr.strip().splitlines()[-1]
        assert f"ended {FinishReason.SKIPPED_OVERLAP}, nothing crawled" in last and str(alert_file) in last, last

        everything = run_crawl(replica_300, tmp_path, "hebei")  # `hebei` walks that channel too
        assert crawl_stats(everything.stderr)["finish_reason"] == FinishReason.SKIPPED_OVERLAP
        # and so does the channel spider given that channel's start URL
        by_url = run_crawl(replica_300, tmp_path, "channel", "-a", "start_url=http://heb.hebei.com.cn/sldhdbdj/")
        assert crawl_stats(by_url.stderr)["finish_reason"] == FinishReason.SKIPPED_OVERLAP

        other = run_crawl(replica_300, tmp_path, "heb_qjhb")  # another channel is not held up
        assert other.returncode == 0, other.stderr[-3000:]
        assert crawl_stats(other.stderr)["finish_reason"] == "finished"

        assert first.poll() is None  # the first run went on undisturbed all along
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    after = run_crawl(replica_300, tmp_path, "heb_sldhdbdj")  # the kernel dropped the dead run's lock
    assert crawl_stats(after.stderr)["finish_reason"] == "finished"
    assert after.returncode == 0, after.stderr[-3000:]


XUQIN = "http://heb.hebei.com.cn/sldhdbdj/xuqin/"  # a leader's collection, declared as no channel
WANGHAO = "http://heb.hebei.com.cn/sldhdbdj/wanghao/"


def test_the_channel_spider_is_locked_by_its_start_url(replica_300: str, tmp_path: Path):
    first = start_slow_crawl(replica_300, tmp_path, "channel", "-a", f"start_url={XUQIN}")
    try:
        wait_until_locked(tmp_path / ".state" / "locks" / f"{url_lock_name(XUQIN)}.lock", first.pid)

        other = run_crawl(replica_300, tmp_path, "channel", "-a", f"start_url={WANGHAO}")  # another URL runs
        assert other.returncode == 0, other.stderr[-3000:]
        assert crawl_stats(other.stderr)["finish_reason"] == "finished"

        # the same listing, however spelled, does not
        again = run_crawl(replica_300, tmp_path, "channel", "-a", "start_url=https://heb.hebei.com.cn/sldhdbdj/xuqin/index.shtml")
        assert again.returncode == ALERT_EXIT_STATUS
        assert crawl_stats(again.stderr)["finish_reason"] == FinishReason.SKIPPED_OVERLAP
        assert f"(pid {first.pid})" in again.stderr
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

