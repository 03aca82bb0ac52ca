"""One job, several workers: scrapy-redis as the shared frontier (crawler/distributed/), against a
real redis-server on loopback and the replica."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from scrapy.addons import AddonManager
from scrapy.crawler import Crawler
from scrapy.http import Request
from scrapy.utils.project import get_project_settings
from scrapy.utils.request import request_from_dict

from crawler.distributed import codec
from crawler.extract import Extraction
from crawler.extract.extraction import PageKind
from crawler.spiders.channel import HebeiSpider
from tests.replica.harness import (
    REPLICA_CRAWL_SETTINGS,
    REPO,
    Replica,
    crawl_env,
    crawl_stats,
    read_stories,
)
from tests.replica.site import build_site
from tests.test_crawl import compare_with_truth

ARTICLE = re.compile(r"/system/\d{4}/\d\d/\d\d/")


def test_a_request_goes_through_the_queue_as_json_and_comes_back_the_same():
    spider = HebeiSpider()
    channel = spider.channels[1]
    done = (Extraction(PageKind.ARTICLE, "enorth-b/v1", {"title": "省领导调研", "breadcrumbs": ["河北频道", "要闻"],
                                                          "pages": 1}, ["http://heb.hebei.com.cn/a.shtml"]),)
    request = Request("http://heb.hebei.com.cn/system/2018/03/01/1_01.shtml", callback=spider.parse_article,
                      errback=spider.request_failed, cb_kwargs={"channel": channel, "done": done},
                      meta={"kind": "article", "article_asked": "http://heb.hebei.com.cn/a.shtml",
                            "redirect_urls": ["http://x.hebei.com.cn/a.shtml"]},
                      headers={"Referer": "http://heb.hebei.com.cn/"}, dont_filter=True)
    sent = codec.dumps(request.to_dict(spider=spider))
    assert json.loads(sent)  # JSON: no pickle goes through Redis
    back = request_from_dict(codec.loads(sent, {c.name: c for c in spider.channels}.__getitem__), spider=spider)
    assert (back.url, back.callback, back.errback, back.dont_filter) == (request.url, spider.parse_article,
                                                                         spider.request_failed, True)
    assert back.cb_kwargs == {"channel": channel, "done": done}
    assert isinstance(back.cb_kwargs["done"], tuple)  # parse_article adds a page to it: `done + (page,)`
    assert back.meta == request.meta and back.headers == request.headers


def test_a_request_that_cannot_travel_is_refused_when_pushed():
    with pytest.raises(TypeError, match="cannot go through the job's queue"):
        codec.dumps({"meta": {"when": object()}})


def scheduler_of(**settings: str) -> str:
    values = get_project_settings()
    values.setdict(settings, priority="cmdline")
    AddonManager(Crawler(HebeiSpider, values)).load_settings(values)  # as the crawl's start does
    return str(values["SCHEDULER"])


def test_the_frontier_is_off_by_default_and_one_setting_and_a_job_name_switch_it_on():
    assert scheduler_of() == "scrapy.core.scheduler.Scheduler"
    assert scheduler_of(FRONTIER="redis", FRONTIER_JOB="backfill") == "crawler.distributed.scheduler.JobScheduler"
    with pytest.raises(ValueError, match="FRONTIER_JOB"):
        scheduler_of(FRONTIER="redis")
    with pytest.raises(ValueError, match="FRONTIER_QUEUE"):
        scheduler_of(FRONTIER="redis", FRONTIER_JOB="backfill", FRONTIER_QUEUE="lifo")


# Crawls ------------------------------------------------------------------------------------------

# The workers run under `-W error::scrapy.exceptions.ScrapyDeprecationWarning`, set once scrapy is
# importable (the interpreter's own -W option is read before it is, and ignores a class of Scrapy's).
STRICT_SCRAPY = ("import sys, warnings; from scrapy.exceptions import ScrapyDeprecationWarning; "
                 "warnings.simplefilter('error', ScrapyDeprecationWarning); sys.argv[0] = 'scrapy'; "
                 "from scrapy.cmdline import execute; execute()")


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self, timeout: float = 600) -> str:
        """Its whole log, once it ended (a file: a pipe nobody reads while it runs would stop it)."""
        self.process.wait(timeout=timeout)
        return self.log_path.read_text(encoding="utf-8")


def start_worker(address: str, output: Path, redis_url: str, job: str, *args: str, **overrides: str) -> Worker:
    """`scrapy crawl hebei` as one worker of `job`, its DEBUG log (a line per response) in a file."""
    settings = {**REPLICA_CRAWL_SETTINGS, "OUTPUT_DIR": str(output), "STATE_BACKEND": "redis",
                "STATE_REDIS_URL": redis_url, "FRONTIER": "redis", "FRONTIER_JOB": job, "LOG_LEVEL": "DEBUG",
                **overrides}
    cmd = [sys.executable, "-c", STRICT_SCRAPY, "crawl", "hebei", *args]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    logs = output.parent / f"{output.name}-logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"{job}-{len(list(logs.iterdir()))}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, cwd=REPO, env=crawl_env(address), stdout=subprocess.DEVNULL, stderr=log)
    return Worker(process, log_path)


def fetched(log: str) -> Counter[str]:
    """The pages a worker fetched, from its DEBUG log (robots.txt aside: each worker asks its own)."""
    return Counter(url for url in re.findall(r"Crawled \(\d+\) <GET ([^>]+)>", log) if not url.endswith("/robots.txt"))


def run_job(address: str, output: Path, redis_url: str, job: str, workers: int, *args: str) -> list[str]:
    started = [start_worker(address, output, redis_url, job, *args) for _ in range(workers)]
    return [worker.log() for worker in started]


@pytest.fixture(scope="session")
def small_replica(replica_300: str) -> Replica:
    """The 300-story replica and its site: a job of it takes seconds, not a minute."""
    return Replica(replica_300, build_site(300))


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


def fetched_so_far(*workers: Worker) -> int:
    """Pages fetched by `workers` so far (their logs are being written: a character may be cut)."""
    return sum(fetched(worker.log_path.read_text(encoding="utf-8", errors="replace")).total() for worker in workers)


def twice(logs: list[str]) -> list[str]:
    """The pages fetched more than once across the workers."""
    return [url for url, times in sum((fetched(log) for log in logs), Counter()).items() if times > 1]


@pytest.mark.integration
@pytest.mark.parametrize("queue", ["fifo", "priority"])
def test_three_workers_of_one_job_give_the_truth_fetching_every_page_once(small_replica: Replica, tmp_path: Path,
                                                                           redis_url: str, queue: str):
    """Under the priority queue, equal priorities pop in the order of their encoded bytes, not as
    found: the walk's state must not depend on queue order."""
    replica, chosen = small_replica, ("-s", f"FRONTIER_QUEUE={queue}")
    logs = run_job(replica.address, tmp_path, redis_url, "backfill", 3, "-a", "full=1", *chosen)

    assert [crawl_stats(log)["finish_reason"] for log in logs] == ["finished"] * 3
    assert compare_with_truth(read_stories(tmp_path), replica.site.truth()) == []  # ids included
    pages = [fetched(log) for log in logs]
    total = sum(pages, Counter())
    assert twice(logs) == []  # every page once, across workers
    # a worker may have fetched articles only
    assert sum(crawl_stats(log).get("listing/pages", 0) for log in logs) == len(replica.site.listing_pages)
    assert {a["url"] for story in replica.site.truth() for a in story["appearances"]} <= set(total)
    assert all(sum(1 for url in worker if ARTICLE.search(url)) > 50 for worker in pages)  # the work was shared
    assert not any("ScrapyDeprecationWarning" in log for log in logs)
    assert sum(crawl_stats(log).get("store/ids_finalised", 0) for log in logs) == len(replica.site.truth())
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert client.keys("hebei:job:backfill:*") == [] and client.keys("hebei:lock:*") == []  # the job is over

    if queue != "fifo":  # what an incremental job fetches does not depend on the queue: asked once
        return
    files = {p: p.read_bytes() for p in (tmp_path / "articles").glob("*/*")}
    again = run_job(replica.address, tmp_path, redis_url, "incremental", 3)
    assert [crawl_stats(log)["finish_reason"] for log in again] == ["finished"] * 3
    rolling = {page.url for page in replica.site.rolling}  # live pages, never stored: asked for every run
    assert [url for log in again for url in fetched(log) if ARTICLE.search(url) and url not in rolling] == []
    assert {p: p.read_bytes() for p in (tmp_path / "articles").glob("*/*")} == files


@pytest.mark.integration
def test_workers_killed_at_random_moments_leave_the_output_exact(small_replica: Replica, tmp_path: Path,
                                                                  redis_url: str):
    """Two workers SIGKILLed at random moments (a third joins after the first kill), the store
    recording every STORE_FLUSH_SECONDS as by default: what a killed worker had not made safe
    (copies gathered, not yet recorded) is in flight still, queued again and fetched by the others."""
    replica, moments = small_replica, random.Random().sample(range(50, 450), 2)  # of about 700 pages
    print("killed when the job had fetched", sorted(moments), "pages")  # shown when the test fails
    workers = [start_worker(replica.address, tmp_path, redis_url, "backfill", "-a", "full=1") for _ in range(3)]
    killed = []
    for moment in sorted(moments):
        wait_for(lambda at=moment: fetched_so_far(*workers) >= at)
        victim = next(worker for worker in workers if worker not in killed and worker.process.poll() is None)
        victim.process.send_signal(signal.SIGKILL)
        killed.append(victim)
        if len(killed) == 1:
            workers.append(start_worker(replica.address, tmp_path, redis_url, "backfill", "-a", "full=1"))
    logs = [worker.log() for worker in workers]
    survivors = [log for worker, log in zip(workers, logs) if worker not in killed]

    assert [worker.process.returncode for worker in killed] == [-signal.SIGKILL] * 2
    assert [crawl_stats(log)["finish_reason"] for log in survivors] == ["finished"] * 2
    assert compare_with_truth(read_stories(tmp_path), replica.site.truth()) == []  # ids included
    requeued = sum(crawl_stats(log).get("frontier/requeued", 0) for log in survivors)
    assert requeued > 0 and len(twice(logs)) <= requeued  # only what the killed workers had in flight, again


@pytest.mark.integration
def test_a_late_worker_joins_the_running_job_without_wiping_anything(small_replica: Replica, tmp_path: Path,
                                                                      redis_url: str):
    replica = small_replica
    # the early workers slowed down (a delay per host, shared by the job), so that work is left for
    # the late one however long its start takes on a loaded machine
    early = [start_worker(replica.address, tmp_path, redis_url, "backfill", "-a", "full=1", DOWNLOAD_DELAY="0.1")
             for _ in range(2)]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    wait_for(lambda: bool(client.exists("hebei:lock:channel:heb_qjhb")))
    # Another job on the same channels, while this one runs: refused.
    other = start_worker(replica.address, tmp_path, redis_url, "another", "-a", "full=1")
    wait_for(lambda: fetched_so_far(early[0]) >= 100)
    late = start_worker(replica.address, tmp_path, redis_url, "backfill", "-a", "full=1")
    logs = [worker.log() for worker in [*early, late]]
    other_log = other.log()

    assert crawl_stats(other_log)["finish_reason"] == "skipped: overlap"
    assert "job backfill" in crawl_stats(other_log)["lock/held_by"]
    assert [crawl_stats(log)["finish_reason"] for log in logs] == ["finished"] * 3
    assert compare_with_truth(read_stories(tmp_path), replica.site.truth()) == []
    assert twice(logs) == []
    assert sum(1 for url in fetched(logs[2]) if ARTICLE.search(url)) > 20  # it took its share of the rest


def test_the_docs_name_the_frontiers_settings_with_their_defaults():
    from crawler import settings

    doc = (REPO / "docs" / "distributed.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", doc, re.MULTILINE)
    assert {name for name, _ in rows} == {"FRONTIER", "FRONTIER_JOB", "FRONTIER_QUEUE"}
    for name, default in rows:
        assert repr(getattr(settings, name)).replace("'", '"') == default
