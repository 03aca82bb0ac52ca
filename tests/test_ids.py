"""Story ids are final only when right (docs/data.md, "Story identity"): a run that did not finish
(skipped for overlap, stopped by SIGTERM, killed) leaves the ids open for the run that finishes the
work; of runs going on at once, the last to end makes them final; and after a run that finished
alone no story is left provisional. Every stored id is then the truth's id."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DropItem

from crawler.ops.monitor import ALERT_EXIT_STATUS
from pipelines.state import StateStore, open_state
from tests.replica.harness import crawl_stats, read_stories, run_crawl
from tests.replica.site import build_site
from tests.test_pipeline_store import Replica, Run, replica_items
from tests.test_run_failures import start_crawl, wait_for, wrote_partitions
from tests.test_state import OTHER_BODY, copy, settings_for


def wrong_ids(stories: list[dict[str, Any]], truth: list[dict[str, Any]]) -> list[str]:
    """Stored stories whose id is not the truth's (a story is known by its primary copy's URL)."""
    want = {story["url"]: story["id"] for story in truth}
    return [f"{story['url']}: {story['id']}, not {want.get(story['url'])}" for story in stories
            if want.get(story["url"]) != story["id"]]


def open_stories(output: Path) -> set[int]:
    """The keys of the stories whose id is not final yet, in the SQLite state."""
    with sqlite3.connect(f"file:{output / '.state' / 'state.sqlite3'}?mode=ro", uri=True) as db:
        return {key for (key,) in db.execute("SELECT key FROM stories WHERE final = 0")}


# ---------------------------------------------------------------- the state's contract, both backends

@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    store = open_state(settings_for(request.param, tmp_path, url))
    yield store
    store.close()


def test_settled_ids_wait_while_another_run_is_alive_and_become_final_with_the_last(state: StateStore):
    late = state.record_copy(copy("019000200", "2018-07-18T00:10:00+08:00"), "r1")
    assert state.finalise_ids([late.story_key], (), alone=lambda: False) == 0  # r2 is alive: ready
    earlier = state.record_copy(copy("019000190", "2018-07-17T23:50:00+08:00"), "r2")
    assert earlier.story_id == "019000190"  # ready is not final: r2's earlier copy takes the id
    assert state.finalise_ids([], (), alone=lambda: True) == 1  # r2 ends alone: the ready story too
    assert state.record_copy(copy("019000180", "2018-07-17T23:40:00+08:00"), "r3").story_id == "019000190"


def test_a_finished_run_settles_what_it_touched_and_the_open_stories_of_channels_it_walked_whole(state: StateStore):
    touched = state.record_copy(copy("019000200", "2018-07-18T00:10:00+08:00"), "r2")
    walked = state.record_copy(copy("019000400", "2018-07-19T09:00:00+08:00", body=OTHER_BODY, title="王浩出席会议",
                                    channel="heb_qjhb"), "r1")  # left open by r1, killed
    other = state.record_copy(copy("019000500", "2018-07-20T09:00:00+08:00", body=OTHER_BODY[::-1], title="另一条",
                                   channel="heb_hbyw"), "r1")
    assert state.finalise_ids([touched.story_key], ["heb_qjhb"], alone=lambda: True) == 2
    assert state.record_copy(copy("019000399", "2018-07-19T08:00:00+08:00", body=OTHER_BODY, title="王浩出席会议",
                                  channel="heb_qjhb"), "r3").story_id == walked.story_id == "019000400"
    assert state.record_copy(copy("019000499", "2018-07-20T08:00:00+08:00", body=OTHER_BODY[::-1], title="另一条",
                                  channel="heb_hbyw"), "r3").story_id == "019000499" != other.story_id  # still open


# ---------------------------------------------------------------- the store, without a crawl

@pytest.fixture(scope="module")
def small() -> Replica:
    """The 300-story replica's truth and items (one per published copy): what replica_300 serves."""
    site = build_site(300)
    return Replica(site.truth(), replica_items(site))


def feed(run: Run, items: list[Any]) -> None:
    for item in items:
        try:
            run.store.process_item(run.validate.process_item(item))
        except DropItem:
            pass


def close(run: Run, reason: str) -> dict[str, Any]:
    run.validate.close_spider()
    run.store.close_spider()
    run.store.spider_closed(reason)
    return run.stats.get_stats()


def later_copies(small: Replica) -> list[Any]:
    """Every copy but the primary ones: a run that stops after them holds later copies' ids."""
    primary = {story["url"] for story in small.truth}
    return [item for item in small.items if item.url not in primary]


@pytest.mark.parametrize("reason", ["shutdown", "skipped: overlap", "closespider_timeout"])
def test_a_run_that_did_not_finish_leaves_ids_open_for_the_run_that_finishes_the_work(
        small: Replica, tmp_path: Path, reason: str):
    Run(tmp_path, "run-1").feed(later_copies(small), reason=reason)
    assert open_stories(tmp_path)  # nothing final
    stats = Run(tmp_path, "run-2").feed(small.items)  # the run that does all the work
    assert wrong_ids(read_stories(tmp_path), small.truth) == []
    assert stats["store/ids_finalised"] == len(small.truth) and not open_stories(tmp_path)


def test_of_two_runs_at_once_the_last_to_end_makes_the_ids_final(small: Replica, tmp_path: Path):
    first, second = Run(tmp_path, "run-1"), Run(tmp_path, "run-2")
    first.store.open_spider()
    second.store.open_spider()
    feed(first, later_copies(small))
    assert "store/ids_finalised" not in close(first, "finished")  # run-2 is alive: left ready
    assert first.stats.get_value("store/ids_left_ready") > 0
    feed(second, small.items)
    assert close(second, "finished")["store/ids_finalised"] == len(small.truth)
    assert wrong_ids(read_stories(tmp_path), small.truth) == [] and not open_stories(tmp_path)


# ---------------------------------------------------------------- real crawls of the replica

@pytest.fixture(scope="module")
def truth_300(small: Replica) -> list[dict[str, Any]]:
    return small.truth


@pytest.mark.integration
def test_a_run_skipped_for_overlap_leaves_the_running_runs_ids_open(replica_300: str, truth_300: list[dict[str, Any]],
                                                                    tmp_path: Path):
    first = start_crawl(replica_300, tmp_path, "hebei", "-a", "full=1", STORE_WRITE_SECONDS="0.3",
                        CONCURRENT_REQUESTS_PER_DOMAIN="2")
    wait_for(lambda: wrote_partitions(tmp_path), first, "partition written")
    recorded = open_stories(tmp_path)
    skipped = run_crawl(replica_300, tmp_path, "heb_qjhb")
    assert skipped.returncode == ALERT_EXIT_STATUS and crawl_stats(skipped.stderr)["finish_reason"] == "skipped: overlap"
    assert first.process.poll() is None, "the first run ended before the skipped one: nothing was tested"
    assert recorded and recorded <= open_stories(tmp_path)  # the skipped run made none of them final
    status, log = first.wait()
    assert status == 0 and crawl_stats(log)["finish_reason"] == "finished", log[-3000:]
    stories = read_stories(tmp_path)
    assert len(stories) == len(truth_300) and wrong_ids(stories, truth_300) == []
    assert not open_stories(tmp_path)


@pytest.mark.integration
def test_a_run_stopped_by_sigterm_leaves_ids_open_and_the_next_run_settles_them(
        replica_300: str, truth_300: list[dict[str, Any]], tmp_path: Path):
    first = start_crawl(replica_300, tmp_path, "hebei", STORE_WRITE_SECONDS="0.3")
    wait_for(lambda: wrote_partitions(tmp_path), first, "partition written")
    first.process.send_signal(signal.SIGTERM)
    status, log = first.wait()
    assert status == ALERT_EXIT_STATUS and crawl_stats(log)["finish_reason"] == "shutdown", log[-3000:]
    left_open = open_stories(tmp_path)
    assert left_open and len(read_stories(tmp_path)) < len(truth_300)  # stopped mid-way, nothing final

    again = run_crawl(replica_300, tmp_path, "hebei")  # what cron starts next: incremental
    assert again.returncode == 0, again.stderr[-3000:]
    assert crawl_stats(again.stderr)["crawl/walk_all_after"] == crawl_stats(log)["run/id"]
    stories = read_stories(tmp_path)
    assert len(stories) == len(truth_300) and wrong_ids(stories, truth_300) == []
    assert not open_stories(tmp_path)  # the stories the stopped run stored whole as well


@pytest.mark.integration
def test_channel_spiders_crawling_at_once_leave_the_truths_ids(replica_300: str, truth_300: list[dict[str, Any]],
                                                               tmp_path: Path):
    """The four channels that share stories (the leaders' collections with 全景河北, 河北要闻 and
    石家庄's 河北新闻) at once: whichever ends first, no id is made final while another still
    brings copies. The leaders' collections, the longest, start first (so that each of the others
    runs beside them: a run that ends before another starts is alone, and rightly settles)."""
    longest = start_crawl(replica_300, tmp_path, "heb_sldhdbdj")
    wait_for(lambda: any((tmp_path / "runs").glob("*.json")), longest, "run manifest")
    crawls = [longest] + [start_crawl(replica_300, tmp_path, spider) for spider in ("heb_qjhb", "heb_hbyw", "sjz_hbxw")]
    logs = [crawl.wait() for crawl in crawls]
    assert [status for status, _ in logs] == [0] * len(crawls), [log[-2000:] for _, log in logs]
    stats = [crawl_stats(log) for _, log in logs]
    assert any("store/ids_left_ready" in s for s in stats)  # one ended while others ran
    stories = read_stories(tmp_path)
    assert wrong_ids(stories, truth_300) == []
    assert len(stories) > 150 and sum(len(s["appearances"]) > 1 for s in stories) > 50  # shared stories among them
    assert not open_stories(tmp_path)
