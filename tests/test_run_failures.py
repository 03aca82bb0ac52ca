"""A run that failed says so (crawler/ops/monitor.py, pipelines/store.py): real crawls whose disk
fills, whose Redis is killed, whose callback raises exit with ALERT_EXIT_STATUS, and the alert
names the failed checks; when even the alert file cannot be written, stderr says why. A crawl of
banner pages, which have no breadcrumb, passes."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from crawler.ops.monitor import ALERT_EXIT_STATUS
from tests.canned_site import Answer, CannedSite, listing_page
from tests.replica.harness import (
    REPLICA_CRAWL_SETTINGS,
    REPO,
    RedisServer,
    Replica,
    crawl_env,
    crawl_stats,
    run_crawl,
)
from tests.test_ops_monitor import Webhook

pytestmark = pytest.mark.integration


@dataclass
class Crawl:
    """A `scrapy crawl` subprocess whose stderr the test reads as it comes (through a pipe: a file
    limit or a full disk of the crawl's must not cut its log short)."""

    process: subprocess.Popen[bytes]
    reader: threading.Thread
    chunks: list[bytes]

    def wait(self, timeout: float = 300) -> tuple[int, str]:
        self.process.wait(timeout=timeout)
        self.reader.join(timeout=60)
        return self.process.returncode, b"".join(self.chunks).decode("utf-8", "replace")


def start_crawl(address: str, output: Path, spider: str, *args: str, **settings: str) -> Crawl:
    """`scrapy crawl` through the replica at `address`."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, *args, "-s", f"OUTPUT_DIR={output}"]
    for key, value in {**REPLICA_CRAWL_SETTINGS, **settings}.items():
        cmd += ["-s", f"{key}={value}"]
    process = subprocess.Popen(cmd, cwd=REPO, env=crawl_env(address), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    chunks: list[bytes] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: process.stderr.read(65536), b"")))  # type: ignore[union-attr]
    reader.start()
    return Crawl(process, reader, chunks)


def wait_for(condition: Callable[[], bool], crawl: Crawl, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert crawl.process.poll() is None, f"the crawl ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.05)


def alert_of(output: Path, log: str) -> dict[str, Any]:
    return json.loads((output / "alerts" / f"{crawl_stats(log)['run/id']}.json").read_text(encoding="utf-8"))


def wrote_partitions(output: Path) -> bool:
    """The run has written partition files once (its manifest names them)."""
    for path in (output / "runs").glob("*.json"):
        try:
            if json.loads(path.read_text(encoding="utf-8"))["partitions"]:
                return True
        except ValueError:
            pass
    return False


# ---------------------------------------------------------------- a full disk

@dataclass
class SmallDisk:
    """A directory whose filesystem the test fills up while a crawl writes to it."""

    path: Path
    fill: Callable[[Crawl], None]
    errno_name: str  # what the crawl's writes then fail with


def fill_tmpfs(path: Path) -> None:
    fd = os.open(path / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (2**20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def limit_file_size(crawl: Crawl) -> None:
    """RLIMIT_FSIZE 0 for the running crawl: every write to a file fails with EFBIG (Python ignores
    SIGXFSZ), the same for the crawl as a disk without a byte left."""
    resource.prlimit(crawl.process.pid, resource.RLIMIT_FSIZE, (0, 0))


@pytest.fixture(params=["tmpfs", "file size limit"])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmallDisk]:
    path = tmp_path / "disk"
    path.mkdir()
    if request.param == "file size limit":
        yield SmallDisk(path, limit_file_size, "EFBIG")
        return
    mounted = shutil.which("mount") and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)],
                                                       capture_output=True, check=False).returncode == 0
    if not mounted:
        pytest.skip("cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN): the file size limit case stands in")
    try:
        yield SmallDisk(path, lambda crawl: fill_tmpfs(path), "ENOSPC")
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_disk_that_fills_mid_run_fails_the_run_and_the_alert_still_goes_out(
        replica_300: str, small_disk: SmallDisk):
    output = small_disk.path / "out"
    webhook = Webhook()
    try:
        crawl = start_crawl(replica_300, output, "hebei", "-a", "full=1", STORE_WRITE_SECONDS="0.5",
                            ALERT_WEBHOOK=webhook.url)
        wait_for(lambda: wrote_partitions(output), crawl, "partition written")
        small_disk.fill(crawl)
        status, log = crawl.wait()
    finally:
        webhook.close()
    assert status == ALERT_EXIT_STATUS, log[-3000:]
    assert crawl_stats(log)["finish_reason"] == "finished"  # the crawl itself went on: its writes failed
    (alert,) = webhook.received
    failed = {check["name"]: check for check in alert["failed"]}
    assert "writes" in failed and small_disk.errno_name in failed["writes"]["message"], failed
    assert set(failed) <= {"writes", "copies_failed", "state_backend", "callbacks"}, failed
    alert_file = output / "alerts" / f"{alert['run_id']}.json"
    if small_disk.errno_name == "EFBIG":  # no byte can be written any more: not even the alert
        assert not alert_file.exists()
    if not alert_file.exists():  # on the tmpfs the state closing may have freed a few pages
        assert f"its alert file {alert_file} could not be written" in log
        assert "could not write the alert file" in log


def test_a_redis_killed_mid_run_fails_the_run(replica_300: str, tmp_path: Path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    output = tmp_path / "out"
    output.mkdir()
    with RedisServer(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        crawl = start_crawl(replica_300, output, "hebei", "-a", "full=1", STATE_BACKEND="redis",
                            STATE_REDIS_URL=server.url)
        wait_for(lambda: bool(client.exists("hebei:state:next")), crawl, "story recorded in Redis")
        client.close()
        server.process.kill()
        server.process.wait()
        status, log = crawl.wait()
    assert status == ALERT_EXIT_STATUS, log[-3000:]
    stats = crawl_stats(log)
    assert stats["finish_reason"] == "finished" and stats["store/backend_errors"] > 0
    alert = alert_of(output, log)
    failed = {check["name"]: check for check in alert["failed"]}
    assert {"copies_failed", "state_backend"} <= set(failed) <= {"copies_failed", "state_backend", "coverage/body",
                                                                 "coverage/editor", "coverage/source", "fallback"}
    assert "ConnectionError" in failed["state_backend"]["message"]
    manifest = json.loads((output / "runs" / f"{alert['run_id']}.json").read_text(encoding="utf-8"))
    assert manifest["finish_reason"] == "finished" and manifest["end"]  # closed: the store did not crash


def test_a_callback_that_raises_fails_the_run(tmp_path: Path):
    """A page that defeats the parser: its header names as charset a codec that is no text
    encoding, spelled so that Scrapy (w3lib) overlooks it and reads the page's <meta> instead,
    while the spider's charset reader (crawler/site/charset.py) takes it, and raises LookupError
    on bytes that are neither UTF-8 nor GB18030, in parse_listing. The page becomes a failure,
    and the run fails."""
    listing = "http://heb.hebei.com.cn/qjhb/"
    body = listing_page([("标题", "http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml")]) + b"\xff\xfe"
    with CannedSite({listing: Answer(body, content_type="text/html; charset =rot13")}) as site:
        done = run_crawl(site.address, tmp_path, "heb_qjhb")
    assert done.returncode == ALERT_EXIT_STATUS, done.stderr[-3000:]
    stats = crawl_stats(done.stderr)
    assert stats["spider_exceptions/LookupError"] == 1 and stats["failures/listing"] == 1
    alert = alert_of(tmp_path, done.stderr)
    assert [check["name"] for check in alert["failed"]] == ["callbacks"]
    assert "LookupError: 1" in alert["failed"][0]["message"]
    (failure,) = [json.loads(line) for line in (tmp_path / "failures" / f"{alert['run_id']}.jsonl").read_text().splitlines()]
    assert failure["url"] == listing and failure["reason"].startswith("callback raised LookupError")


def test_banner_pages_without_a_breadcrumb_pass_the_coverage_check(replica: Replica, tmp_path: Path):
    done = run_crawl(replica.address, tmp_path, "heb_2018lh")
    assert done.returncode == 0, done.stderr[-3000:]
    (checks_file,) = (tmp_path / "checks").glob("*.json")
    checks = {check["name"]: check for check in json.loads(checks_file.read_text(encoding="utf-8"))["checks"]}
    assert crawl_stats(done.stderr)["item_scraped_count"] >= 20  # enough to judge coverage
    assert checks["coverage/breadcrumbs"]["ok"] is None  # no item of a layout with a breadcrumb
    assert checks["coverage/editor"]["ok"] is True and checks["coverage/title"]["ok"] is True
    assert not (tmp_path / "alerts").exists()
    assert os.listdir(tmp_path / "articles")
