"""The pipelines inside real crawls of the replica: SIGKILL at random moments, two spiders writing
one OUTPUT_DIR at once, the Redis state backend."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.replica.harness import REPO, Replica, crawl_env, crawl_stats, read_stories, run_crawl
from tests.test_pipeline_store import differences

pytestmark = pytest.mark.integration

CRAWL_SETTINGS = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
                  "LOG_LEVEL": "INFO"}


@dataclass(frozen=True)
class PublishedCopy:
    url: str
    story: str  # the replica's key of its story
    article_id: str
    published: str
    listing: str


@dataclass(frozen=True, repr=False)  # pytest prints a failing test's arguments: keep them small
class Served:
    address: str
    truth: list[dict[str, Any]]
    copies: list[PublishedCopy]


@pytest.fixture(scope="module")
def served(replica: Replica) -> Served:
    copies = [PublishedCopy(c.url, s.key, c.article_id, c.published.isoformat(), c.listing.key)
              for s in replica.site.stories for c in s.copies]
    return Served(replica.address, replica.site.truth(), copies)


def start_crawl(address: str, output: Path, spider: str = "hebei", *args: str,
                **settings: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, *args, "-s", f"OUTPUT_DIR={output}"]
    for key, value in {**CRAWL_SETTINGS, **settings}.items():
        cmd += ["-s", f"{key}={value}"]
    return subprocess.Popen(cmd, cwd=REPO, env=crawl_env(address), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def every_line_is_json(output: Path) -> None:
    for path in (output / "articles").glob("date=*/articles.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line)


def partition_files(output: Path) -> dict[str, bytes]:
    return {str(p.relative_to(output)): p.read_bytes() for p in sorted((output / "articles").glob("*/*"))}


def manifests(output: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (output / "runs").glob("*.json")}


def test_a_crawl_killed_at_random_moments_and_restarted_stores_every_story_once(served: Served, tmp_path: Path):
    """Each restart is what cron would start: an incremental crawl. One that follows a killed run
    walks every listing page (a killed run may have stored the newest page of a listing and never
    reached the older ones) and fetches what is not stored yet."""
    rng = random.Random(11)
    kills = attempts = 0
    while kills < 5 and attempts < 15:
        # partitions rewritten often (a kill lands mid-rewrite) or as by default (a kill leaves
        # recorded stories for the next run to write)
        runs_before = len(manifests(tmp_path)) if (tmp_path / "runs").is_dir() else 0
        crawl = start_crawl(served.address, tmp_path, "hebei", STORE_WRITE_SECONDS=rng.choice(["0.3", "10"]))
        # the random moment counts from the run's start (its manifest), not from the process's:
        # start-up time varies with the machine's load
        deadline = time.monotonic() + 60
        while (crawl.poll() is None and time.monotonic() < deadline and
               (not (tmp_path / "runs").is_dir() or len(manifests(tmp_path)) == runs_before)):
            time.sleep(0.05)
        time.sleep(rng.uniform(0.5, 5.0))  # a first crawl takes about 12 s, a restart less
        attempts += 1
        if crawl.poll() is None:
            crawl.send_signal(signal.SIGKILL)
            kills += 1
        crawl.communicate()
        every_line_is_json(tmp_path)  # whatever the moment, never half a line
    assert kills == 5
    last = start_crawl(served.address, tmp_path, "hebei")
    _, log = last.communicate(timeout=600)
    assert crawl_stats(log)["finish_reason"] == "finished"
    assert crawl_stats(log)["crawl/mode"] == "incremental"

    truth = served.truth
    stories = read_stories(tmp_path)
    assert differences(stories, truth) == []  # every story once, every field, every appearance
    runs = manifests(tmp_path)
    assert sorted(m["finish_reason"] for m in runs.values()).count("killed") >= kills - 1  # one may die starting
    announced = {p for m in runs.values() for p in m["partitions"]}
    assert set(partition_files(tmp_path)) <= announced  # the feed of manifests names every partition

    files = partition_files(tmp_path)
    again = crawl_stats(run_crawl(served.address, tmp_path, "hebei", "-a", "full=1").stderr)
    assert again["finish_reason"] == "finished"
    assert again["item_scraped_count"] == sum(len(t["appearances"]) for t in truth)
    assert again["pipeline/copies_unchanged"] == again["item_scraped_count"]
    assert "pipeline/stories_new" not in again and "pipeline/stories_updated" not in again
    assert partition_files(tmp_path) == files  # a re-run adds nothing, not even a byte


def test_two_spiders_writing_one_output_dir_at_once(served: Served, tmp_path: Path):
    """The leaders' collections and 全景河北 share many stories; both crawls run together."""
    crawls = [start_crawl(served.address, tmp_path, spider) for spider in ("heb_sldhdbdj", "heb_qjhb")]
    logs = [crawl.communicate(timeout=600)[1] for crawl in crawls]
    assert [crawl_stats(log)["finish_reason"] for log in logs] == ["finished", "finished"]
    every_line_is_json(tmp_path)

    published = {c.url: c for c in served.copies}
    stories = read_stories(tmp_path)
    assert len({s["id"] for s in stories}) == len(stories)
    stored = [published[a["url"]] for s in stories for a in s["appearances"]]
    assert len(stored) == len({c.url for c in stored})  # no copy in two lines
    line_of = {c.story: n for n, s in enumerate(stories) for c in (published[a["url"]] for a in s["appearances"])}
    assert len(line_of) == len(stories)  # one line per story: never two lines for one story
    shared = 0
    for story in stories:
        copies = [published[a["url"]] for a in story["appearances"]]
        assert len({c.story for c in copies}) == 1  # and never two stories in one line
        assert story["id"] in {c.article_id for c in copies}
        assert story["url"] == min(copies, key=lambda c: (c.published, c.article_id)).url
        shared += len({c.listing == "heb/qjhb" for c in copies}) > 1
    assert shared > 20  # the two crawls did write the same stories
    sldhdbdj = {c.url for c in served.copies if c.listing.startswith("heb/sldhdbdj/")}
    qjhb = {c.url for c in served.copies if c.listing == "heb/qjhb"}
    assert sldhdbdj | qjhb <= {c.url for c in stored}


def test_the_redis_backend_in_a_crawl(served: Served, tmp_path: Path, redis_url: str):
    first = run_crawl(served.address, tmp_path, "hebei", "-a", "full=1",
                      settings={"STATE_BACKEND": "redis", "STATE_REDIS_URL": redis_url})
    assert crawl_stats(first.stderr)["finish_reason"] == "finished"
    assert differences(read_stories(tmp_path), served.truth) == []
    assert not (tmp_path / ".state" / "state.sqlite3").exists()
    files = partition_files(tmp_path)
    again = crawl_stats(run_crawl(served.address, tmp_path, "hebei",
                                  settings={"STATE_BACKEND": "redis", "STATE_REDIS_URL": redis_url}).stderr)
    assert again.get("item_scraped_count", 0) == 0  # incremental: the state in Redis knows it all
    assert partition_files(tmp_path) == files
