"""The state store's contract, the same for both backends: SQLite, and Redis on a real server."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from pipelines.dedupe import Copy
from pipelines.state import CHANGED, FAILED, MERGED, NEW, UNCHANGED, StateStore, open_state
from tests.replica.site import build_site, copy_truth

BODY = ("省委书记、省人大常委会主任许勤到石家庄市调研乡村振兴工作。许勤指出，要深入贯彻落实党中央决策部署，"
        "扎实推进乡村振兴，努力在粮食生产上取得新成效。\n在正定县现代农业示范园，许勤详细了解乡村振兴进展情况，"
        "与基层干部群众亲切交流。各级各部门要提高政治站位，压实工作责任，确保乡村振兴各项任务落地见效。")
OTHER_BODY = ("副省长王浩出席全省安全生产工作会议并讲话。会议听取了安全生产工作情况汇报，研究部署下一阶段重点任务。\n"
              "王浩强调，要坚持问题导向，聚焦安全生产中的难点堵点，拿出务实管用的举措。省直有关部门负责同志参加会议。")


def copy(article_id: str, timestamp: str, body: str = BODY, host: str = "heb.hebei.com.cn",
         title: str = "许勤在石家庄市调研乡村振兴工作", **fields: Any) -> Copy:
    url = f"http://{host}/system/{timestamp[:10].replace('-', '/')}/{article_id}.shtml"
    crumbs = ["河北频道", "省领导活动报道集", article_id]
    record = {"id": article_id, "url": url, "title": title, "subtitles": [], "source": "河北日报", "authors": [],
              "timestamp": timestamp, "body": body, "captions": [], "images": [], "editor": "李丹",
              "keywords": [], "breadcrumbs": crumbs, "appearances": [{"url": url, "breadcrumbs": crumbs,
                                                                      "timestamp": timestamp}],
              "channel": "heb_sldhdbdj", "fetched_at": "2026-11-26T00:00:00+00:00", "pages": 1,
              "parser": "enorth-b/v1", **fields}
    return Copy(record)


# ---------------------------------------------------------------- backends (Redis: tests/conftest.py)

def settings_for(backend: str, output: Path, redis_url: str | None) -> Settings:
    return Settings({"STATE_BACKEND": backend, "OUTPUT_DIR": str(output), "STATE_REDIS_URL": redis_url})


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return settings_for(request.param, tmp_path, url)


@pytest.fixture
def state(backend: Settings) -> Iterator[StateStore]:
    store = open_state(backend)
    yield store
    store.close()


def write_pending(store: StateStore) -> dict[str, list[str]]:
    """What the store pipeline does at a flush, minus the files: returns each partition's lines."""
    out, versions = {}, {}
    with store.partitions_lock():
        for partition in store.pending_partitions():
            snap = store.snapshot(partition)
            out[partition] = snap.lines
            versions[partition] = snap.version
        store.mark_written(versions)
    return out


# ---------------------------------------------------------------- the contract

def test_each_layer_recognises_its_copies(state: StateStore):
    original = copy("019000100", "2018-07-17T10:20:26+08:00")
    assert state.record_copy(original, "r1").kind == NEW
    assert state.record_copy(original, "r1").kind == UNCHANGED
    https = copy("019000100", "2018-07-17T10:20:26+08:00")
    https.url = "https://HEB.hebei.com.cn/system/2018/07/17/019000100.shtml?utm_source=wx"
    assert state.record_copy(Copy({**https.record, "url": https.url}), "r1").kind == UNCHANGED
    exact = state.record_copy(copy("019000107", "2018-07-17T10:21:15+08:00", body=BODY.replace("，", ", ")), "r1")
    assert (exact.kind, exact.layer, exact.story_id) == (MERGED, "fingerprint", "019000100")
    edited = state.record_copy(copy("019000111", "2018-07-17T10:22:40+08:00", body=BODY + "（完）", editor="王喆"), "r1")
    assert (edited.kind, edited.layer, edited.story_id) == (MERGED, "near_duplicate", "019000100")
    other = state.record_copy(copy("019000120", "2018-07-17T11:00:00+08:00", body=OTHER_BODY, title="王浩出席会议"), "r1")
    assert other.kind == NEW and other.story_id == "019000120"
    lines = write_pending(state)["date=2018-07-17"]
    assert len(lines) == 2
    assert '"appearances": [{"url": "http://heb.hebei.com.cn/system/2018/07/17/019000100.shtml"' in lines[0]
    assert lines[0].count('"url": "http://heb.hebei.com.cn/system/2018/07/17/0190001') == 4  # url + 3 copies


def test_stories_sharing_sentences_stay_apart(state: StateStore):
    sentences = BODY.replace("\n", "").split("。")[:-1]
    half = "。".join(sentences[:2]) + "。" + OTHER_BODY
    assert state.record_copy(copy("019000100", "2018-07-17T10:20:26+08:00"), "r1").kind == NEW
    assert state.record_copy(copy("019000130", "2018-07-17T12:00:00+08:00", body=half), "r1").kind == NEW
    same_title = copy("019000140", "2018-07-17T13:00:00+08:00", body=OTHER_BODY)
    assert state.record_copy(same_title, "r1").kind == NEW


def test_a_copy_is_known_only_once_its_partition_is_written(state: StateStore):
    state.record_copy(copy("019000100", "2018-07-17T10:20:26+08:00"), "r1")
    url = "http://heb.hebei.com.cn/system/2018/07/17/019000100.shtml"
    spellings = [url, url.replace("http:", "https:").replace("heb.", "HEB."), "http://heb.hebei.com.cn/unknown"]
    assert state.known_urls(spellings) == set()
    assert state.pending_partitions() == ["date=2018-07-17"]
    write_pending(state)
    assert state.known_urls(spellings) == set(spellings[:2])
    assert state.pending_partitions() == []
    state.record_copy(copy("019000107", "2018-07-17T10:21:15+08:00"), "r1")  # the story is pending again
    assert state.known_urls(spellings) == set(spellings[:2])  # but this copy stays stored
    assert state.known_urls([]) == set()


def test_a_copy_that_cannot_be_stored_fails_alone(state: StateStore):
    """It fails half-way through its writes (its line cannot be encoded): they are undone, and the
    copies after it in the batch, on the same day, are stored and written as if it never came."""
    broken = copy("019000150", "2018-07-17T09:00:00+08:00", body=OTHER_BODY, title="王浩出席会议",
                  keywords=[object()])
    good = copy("019000100", "2018-07-17T10:20:26+08:00")
    outcomes = state.record_copies([broken, good], "r1")
    assert [o.kind for o in outcomes] == [FAILED, NEW] and "TypeError" in outcomes[0].reason
    assert state.pending_partitions() == ["date=2018-07-17"]
    lines = write_pending(state)["date=2018-07-17"]
    assert len(lines) == 1 and '"id": "019000100"' in lines[0]
    assert state.known_urls([good.url, broken.url]) == {good.url}
    assert state.record_copy(copy("019000150", "2018-07-17T09:00:00+08:00", body=OTHER_BODY,
                                  title="王浩出席会议"), "r1").kind == NEW  # nothing of it was kept


def test_an_earlier_copy_takes_over_until_the_id_is_final(state: StateStore):
    late = copy("019000200", "2018-07-18T00:10:00+08:00")
    assert state.record_copy(late, "r1").story_id == "019000200"
    earlier = state.record_copy(copy("019000190", "2018-07-17T23:50:00+08:00", editor="王喆"), "r1")
    assert earlier.story_id == "019000190"  # provisional: the id follows the primary copy
    assert set(earlier.partitions) == {"date=2018-07-17", "date=2018-07-18"}  # and the story changed day
    written = write_pending(state)
    assert written["date=2018-07-18"] == []
    assert '"editor": "王喆"' in written["date=2018-07-17"][0]
    assert state.finalise_ids([earlier.story_key], (), alone=lambda: True) == 1
    earliest = state.record_copy(copy("019000180", "2018-07-17T23:40:00+08:00"), "r2")
    assert earliest.story_id == "019000190"  # final: kept, though the primary copy is another now
    assert earliest.created_run == "r1"
    line = write_pending(state)["date=2018-07-17"][0]
    assert line.startswith('{"id": "019000190", "url": "http://heb.hebei.com.cn/system/2018/07/17/019000180.shtml"')


def test_a_page_seen_again_with_new_content_updates_its_story(state: StateStore):
    state.record_copy(copy("019000100", "2018-07-17T10:20:26+08:00"), "r1")
    state.record_copy(copy("019000107", "2018-07-17T10:21:15+08:00"), "r1")
    fixed = state.record_copy(copy("019000100", "2018-07-17T10:20:26+08:00", title="许勤在石家庄调研"), "r2")
    assert (fixed.kind, fixed.story_id) == (CHANGED, "019000100")
    refetched = copy("019000107", "2018-07-17T10:21:15+08:00", fetched_at="2026-12-01T00:00:00+00:00")
    assert state.record_copy(refetched, "r2").kind == UNCHANGED
    (line,) = write_pending(state)["date=2018-07-17"]
    assert '"title": "许勤在石家庄调研"' in line and line.count("appearances") == 1


def test_one_page_under_two_host_families_is_one_copy_the_newest_familys(state: StateStore):
    """heb.hebei.com.cn/... and heb.hebccw.cn/... with one id are one page (site notes, section 1):
    one story, one appearance, recorded under the newest family whichever came first; a state that
    stored the old URL (as every state written before the move did) knows the new one."""
    day = "2018-12-27T09:30:00+08:00"
    old = copy("019351324", day, parser="enorth-b/v1")
    new = copy("019351324", day, host="heb.hebccw.cn", parser="hebccw/v1")
    assert state.record_copy(old, "r1").kind == NEW
    write_pending(state)  # yesterday's run stored the old URL
    assert state.known_urls([new.url, new.url.replace("http:", "https:")]) == {new.url, new.url.replace("http:", "https:")}
    moved = state.record_copy(new, "r2")  # today's finds the new one
    assert (moved.kind, moved.story_id) == (CHANGED, "019351324")
    again = state.record_copy(copy("019351324", day, parser="enorth-b/v1", title="旧标题"), "r3")
    assert again.kind == UNCHANGED  # the old family's page changes nothing any more
    (line,) = write_pending(state)["date=2018-12-27"]
    story = json.loads(line)
    assert story["url"] == new.url and story["parser"] == "hebccw/v1" and story["title"] != "旧标题"
    assert [a["url"] for a in story["appearances"]] == [new.url]
    other_sub = copy("019351324", day, host="bd.hebccw.cn", parser="hebccw/v1")
    assert state.known_urls([other_sub.url]) == set()  # another subdomain is another site


def test_the_newest_family_wins_when_it_comes_first(state: StateStore):
    day = "2018-12-27T09:30:00+08:00"
    new = copy("019351324", day, host="heb.hebccw.cn", parser="hebccw/v1")
    assert state.record_copy(new, "r1").kind == NEW
    assert state.record_copy(copy("019351324", day, parser="enorth-b/v1"), "r1").kind == UNCHANGED
    (line,) = write_pending(state)["date=2018-12-27"]
    assert json.loads(line)["url"] == new.url and len(json.loads(line)["appearances"]) == 1


def test_snapshots_keep_time_order(state: StateStore):
    for i, ts in enumerate(["2018-07-17T15:00:00+08:00", "2018-07-17T09:00:00+08:00", "2018-07-17T12:00:00+08:00"]):
        state.record_copy(copy(f"01900030{i}", ts, body=f"第{i}条。" + OTHER_BODY[i * 20:], title=f"标题{i}"), "r1")
    lines = write_pending(state)["date=2018-07-17"]
    assert [line[8:17] for line in lines] == ["019000301", "019000302", "019000300"]


def record_all(settings: dict[str, Any], copies: list[dict[str, Any]], run: str) -> None:
    store = open_state(Settings(settings))
    for record in copies:
        store.record_copy(Copy(record), run)
    store.close()


def test_two_processes_recording_the_same_stories_at_once(backend: Settings):
    site = build_site(120)
    copies = [copy_truth(c) for s in site.stories for c in s.copies]
    records = [{**{k: c[k] for k in c if k not in ("article_id", "page_urls")}, "id": c["article_id"],
                "appearances": [], "channel": "x", "fetched_at": "x"} for c in copies]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=record_all, args=(backend.copy_to_dict(), order, f"r{n}"))
               for n, order in enumerate([records, records[::-1]])]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    store = open_state(backend)
    lines = [line for partition in write_pending(store).values() for line in partition]
    store.close()
    assert len(lines) == len(site.stories)
    assert sum(line.count('"breadcrumbs": [') - 1 for line in lines) == len(copies)
