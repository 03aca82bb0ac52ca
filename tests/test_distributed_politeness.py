"""Politeness for a job (crawler/distributed/politeness.py): three workers of one job send each
download slot at most one request per DOWNLOAD_DELAY between them, measured where the site sees
the requests arrive; against a real redis-server and the replica on loopback."""

from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from scrapy.addons import AddonManager
from scrapy.crawler import Crawler
from scrapy.utils.project import get_project_settings

from crawler.distributed.politeness import PREFIX
from crawler.site.urls import download_slot
from crawler.spiders.channel import HebeiSpider
from tests.replica.harness import (
    REPLICA_CRAWL_SETTINGS,
    REPO,
    ReplicaServer,
    crawl_env,
    crawl_stats,
    read_stories,
)
from tests.replica.site import build_site
from tests.test_crawl import compare_with_truth
from tests.test_distributed import STRICT_SCRAPY, Worker

INTERVAL = 0.2  # the job's DOWNLOAD_DELAY: five requests a second per slot, for the whole job
# The site sees a request some milliseconds after its turn (its trip, through this proxy), and
# up to a tenth of a second after while its worker starts up (the event loop busy opening
# connections, on a 2-core box shared with the other workers): two requests of a slot may arrive
# that much closer together than their turns were.
LATE = 0.1
SCALE = 20  # stories: some 100 pages, 85 of them on heb.hebei.com.cn


def download_handlers(**settings: str) -> dict[str, str]:
    values = get_project_settings()
    values.setdict(settings, priority="cmdline")
    AddonManager(Crawler(HebeiSpider, values)).load_settings(values)  # as the crawl's start does
    handlers = values.getwithbase("DOWNLOAD_HANDLERS")
    return {scheme: handlers[scheme] for scheme in ("http", "https")}


def test_a_job_sends_through_the_shared_rate_limit_and_a_lone_crawl_does_not():
    scrapy_own = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
    assert download_handlers() == {"http": scrapy_own, "https": scrapy_own}
    ours = "crawler.distributed.politeness.SharedRateLimit"
    assert download_handlers(FRONTIER="redis", FRONTIER_JOB="backfill") == {"http": ours, "https": ours}


class RequestLog(ThreadingHTTPServer):
    """A forward proxy in front of the replica that notes when each request arrives: what the site
    sees, whichever worker sent it."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), Relay)
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.arrivals: list[tuple[float, str]] = []  # (time.monotonic(), URL), in arrival order
        self.lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class Relay(BaseHTTPRequestHandler):
    """One connection from a worker: each GET noted, then passed to the replica as it came."""

    server: RequestLog
    protocol_version = "HTTP/1.1"  # keep-alive, as a real server offers

    def do_GET(self) -> None:
        arrived = time.monotonic()
        with self.server.lock:
            self.server.arrivals.append((arrived, self.path))
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        try:
            upstream.request("GET", self.path, headers={name: value for name, value in self.headers.items()
                                                        if name.lower() not in ("connection", "proxy-connection")})
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "content-length", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def request_log() -> Iterator[RequestLog]:
    with ReplicaServer("--scale", str(SCALE)) as replica:
        proxy = RequestLog(replica.address)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            yield proxy
        finally:
            proxy.shutdown()
            proxy.server_close()


def start_polite_worker(proxy: str, output: Path, redis_url: str, job: str) -> Worker:
    """`scrapy crawl hebei -a full=1` as one worker of `job`, polite as for the live site but
    faster: AutoThrottle on, one request at a time per slot, DOWNLOAD_DELAY = INTERVAL."""
    settings = {**REPLICA_CRAWL_SETTINGS, "OUTPUT_DIR": str(output), "STATE_BACKEND": "redis",
                "STATE_REDIS_URL": redis_url, "FRONTIER": "redis", "FRONTIER_JOB": job,
                "DOWNLOAD_DELAY": str(INTERVAL), "AUTOTHROTTLE_ENABLED": "True",
                "AUTOTHROTTLE_START_DELAY": str(INTERVAL), "AUTOTHROTTLE_MAX_DELAY": "1",
                "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}
    cmd = [sys.executable, "-c", STRICT_SCRAPY, "crawl", "hebei", "-a", "full=1"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    logs = output.parent / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"worker-{len(list(logs.iterdir()))}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, cwd=REPO, env=crawl_env(proxy), stdout=subprocess.DEVNULL, stderr=log)
    return Worker(process, log_path)


def gaps_per_slot(arrivals: list[tuple[float, str]]) -> dict[str, list[float]]:
    """Seconds between consecutive arrivals of each download slot's requests, robots.txt included."""
    times: defaultdict[str, list[float]] = defaultdict(list)
    for arrived, url in arrivals:
        times[download_slot(url) or "off the portal"].append(arrived)
    return {slot: [b - a for a, b in zip(sorted(seen), sorted(seen)[1:])] for slot, seen in times.items()}


def too_soon(gaps: dict[str, list[float]], least: float) -> dict[str, list[float]]:
    """The gaps shorter than `least`, by slot: what a failed assertion shows."""
    return {slot: [round(gap, 3) for gap in slot_gaps if gap < least] for slot, slot_gaps in gaps.items()
            if min(slot_gaps, default=least) < least}


@pytest.mark.integration
def test_three_workers_of_a_job_send_each_slot_one_request_per_interval_between_them(
        request_log: RequestLog, tmp_path: Path, redis_url: str):
    output = tmp_path / "output"
    workers = [start_polite_worker(request_log.address, output, redis_url, "polite") for _ in range(3)]
    logs = [worker.log(timeout=120) for worker in workers]

    assert [crawl_stats(log)["finish_reason"] for log in logs] == ["finished"] * 3
    assert compare_with_truth(read_stories(output), build_site(SCALE).truth()) == []  # the output is still exact
    pages = Counter(url for _, url in request_log.arrivals if not url.endswith("/robots.txt"))
    assert [url for url, times in pages.items() if times > 1] == []  # every page once, across the workers
    gaps = gaps_per_slot(request_log.arrivals)
    every = sorted(gap for slot_gaps in gaps.values() for gap in slot_gaps)
    assert every[0] >= INTERVAL - LATE, too_soon(gaps, INTERVAL - LATE)  # never two of a slot at once
    on_time = [gap for gap in every if gap >= INTERVAL - LATE / 5]
    assert len(on_time) >= 0.95 * len(every), too_soon(gaps, INTERVAL - LATE / 5)
    # Without the shared limit each worker keeps its own delay: some 3 requests per interval.
    busiest = max(gaps.values(), key=len)
    assert len(busiest) > 50 and sum(busiest) / len(busiest) >= 0.97 * INTERVAL
    waited = [crawl_stats(log).get("frontier/politeness_waits", 0) for log in logs]
    fetched = [crawl_stats(log).get("downloader/response_count", 0) for log in logs]
    # Every worker that fetched waited its turn for another's requests. A worker may fetch nothing:
    # the others' downloaders, waiting their turns, can hold all that is queued (the walk queues a
    # catalog's overflow pages eight at a time); at least two share the slots.
    assert sum(1 for count in fetched if count) >= 2, (waited, fetched)
    assert all(wait > 0 for wait, count in zip(waited, fetched) if count), (waited, fetched)

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    deadline = time.monotonic() + 3  # AUTOTHROTTLE_MAX_DELAY and a second after the last request
    while client.keys(PREFIX + "*") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.keys(PREFIX + "*") == []  # the job over, its limit leaves nothing behind
