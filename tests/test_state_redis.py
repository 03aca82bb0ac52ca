"""The Redis state under the load it is meant for: several crawl processes recording at once,
each batch in a few round trips to the server whatever its size (a real redis-server on loopback)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.settings import Settings

from pipelines.dedupe import Copy
from pipelines.state import StateStore, open_state
from tests.replica.site import ERA_2026, build_site, copy_truth

pytestmark = pytest.mark.integration


def replica_records(stories: int) -> list[dict[str, Any]]:
    """Every copy of the replica's stories as the spider yields them: one story under several
    collections and URLs, on both host families, some edited, some published a day apart."""
    site = build_site(stories, era=ERA_2026, grow=stories // 5)
    return [{**{k: v for k, v in copy_truth(c).items() if k not in ("article_id", "page_urls")},
             "id": c.article_id, "appearances": [], "channel": c.listing.key, "fetched_at": "2026-12-01T00:00:00+00:00"}
            for story in site.stories for c in story.copies]


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return replica_records(300)


def redis_settings(url: str) -> dict[str, Any]:
    return {"STATE_BACKEND": "redis", "STATE_REDIS_URL": url}


@pytest.fixture
def state(redis_url: str) -> Iterator[StateStore]:
    store = open_state(Settings(redis_settings(redis_url)))
    yield store
    store.close()


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many times this process has sent to a Redis server so far: a command, or a whole
    pipeline, is one send and one wait for the answer."""
    sent = [0]
    send = redis.connection.Connection.send_packed_command

    def counted(self: redis.connection.Connection, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        send(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)
    return lambda: sent[0]


def contents(store: StateStore) -> dict[str, list[str]]:
    return {name: store.snapshot(name).lines for name in store.partitions()}


def in_batches(records: list[dict[str, Any]], size: int) -> Iterator[list[Copy]]:
    for start in range(0, len(records), size):
        yield [Copy(record) for record in records[start:start + size]]


# The writer lock; the reads (the copies, fingerprints and partitions; the stories found, the bands
# and their stories' signatures; the near-duplicates' stories); the writes with the lock's release.
ROUND_TRIPS_PER_BATCH = 5


@pytest.mark.parametrize("size", [20, 400])
def test_a_batch_costs_a_few_round_trips_whatever_its_size(state: StateStore, records: list[dict[str, Any]],
                                                           round_trips: Callable[[], int], size: int):
    """Half the copies stored first; then a batch of the others: new stories, copies of stored
    ones (same text, edited, the other host family, an earlier copy that moves the story a day)."""
    stored, later = records[: len(records) // 2], records[len(records) // 2:]
    for batch in in_batches(stored, 500):
        state.record_copies(batch, "r1")
    (batch,) = in_batches(later[:size], size)
    before = round_trips()
    outcomes = state.record_copies(batch, "r2")
    assert round_trips() - before <= ROUND_TRIPS_PER_BATCH
    kinds = {outcome.kind for outcome in outcomes}
    assert {"new", "merged"} <= kinds and "failed" not in kinds


def record_share(settings: dict[str, Any], records: list[dict[str, Any]], run: str, start: Any) -> None:
    store = open_state(Settings(settings))
    start.wait()
    for batch in in_batches(records, 25):
        store.record_copies(batch, run)
    store.close()


def test_three_processes_at_once_leave_what_one_serial_writer_leaves(redis_url: str, tmp_path: Path,
                                                                     records: list[dict[str, Any]]):
    """One story's copies reach different processes (as under a shared frontier), and some pages
    are recorded twice, by two of them; then every copy is known once its partition is written."""
    shares = [records[n::3] + records[(n + 1) % 3::3][:20] for n in range(3)]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(3)
    workers = [context.Process(target=record_share, args=(redis_settings(redis_url), share, f"r{n}", start))
               for n, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    serial = open_state(Settings({"STATE_BACKEND": "sqlite", "OUTPUT_DIR": str(tmp_path)}))
    for batch in in_batches([record for share in shares for record in share], 25):
        serial.record_copies(batch, "serial")
    concurrent = open_state(Settings(redis_settings(redis_url)))
    assert contents(concurrent) == contents(serial)
    versions = {name: concurrent.snapshot(name).version for name in concurrent.pending_partitions()}
    concurrent.mark_written(versions)
    urls = [record["url"] for record in records]
    assert concurrent.known_urls(urls) == set(urls) and concurrent.pending_partitions() == []
    serial.close()
    concurrent.close()


def test_a_story_made_and_moved_a_day_in_one_batch(state: StateStore):
    """A late copy creates the story, an earlier copy (the day before) in the same batch takes it
    over: one story, in the earlier day only, provisional, both copies known once written."""
    from tests.test_state import copy

    late, earlier = copy("019000200", "2018-07-18T00:10:00+08:00"), copy("019000190", "2018-07-17T23:50:00+08:00")
    first, second = state.record_copies([late, earlier], "r1")
    assert (first.kind, second.kind, second.story_key) == ("new", "merged", first.story_key)
    assert state.partitions() == {"date=2018-07-17": 1, "date=2018-07-18": 0}
    state.mark_written({name: state.snapshot(name).version for name in state.pending_partitions()})
    assert state.known_urls([late.url, earlier.url]) == {late.url, earlier.url}
    assert state.finalise_ids([first.story_key], (), alone=lambda: True) == 1
    again = state.record_copy(copy("019000210", "2018-07-18T01:00:00+08:00", body="另一条新闻。" * 40, title="另一条"),
                              "r2")
    assert again.kind == "new" and again.story_key == first.story_key + 1
