"""`scrapy store verify | repair` and the store's own check at open: each kind of damage to the
output or to the state is reported (exit status 1), and repaired (verify then exits 0, and the
files hold the stories they held before the damage); a deleted partition file is written again
by the next open of the store pipeline; a damaged state stops a run with one plain message; a
story moving to another day changes both its partitions in one round of writes."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.exceptions import CloseSpider
from scrapy.utils.project import get_project_settings

import pipelines.files
import pipelines.store
from crawler.commands.store import verify_command
from crawler.items import Article
from crawler.output import OutputDir
from pipelines.state import open_state
from tests.replica.harness import REPO, crawl_env, read_stories
from tests.replica.site import build_site
from tests.test_pipeline_store import Run, replica_items, snapshot_files

STATE = Path(".state/state.sqlite3")


@pytest.fixture(scope="module")
def items() -> list[Article]:
    return replica_items(build_site(300))


@pytest.fixture(scope="module")
def built(items: list[Article], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output of one run over the 300-story replica's items, built once: each test damages a copy."""
    output = tmp_path_factory.mktemp("built") / "output"
    Run(output, "run-1").feed(items)
    return output


@pytest.fixture
def output(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "output")
    return tmp_path / "output"


def store(action: str, output: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`scrapy store ACTION` as a real process from the repo root."""
    command = [sys.executable, "-m", "scrapy", "store", action, "-s", f"OUTPUT_DIR={output}"]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def partitions(output: Path) -> list[Path]:
    return sorted((output / "articles").glob("date=*/articles.jsonl"))


# ---------------------------------------------------------------- damage, each with what verify says

def delete_a_partition_file(output: Path) -> None:
    partitions(output)[3].unlink()


def make_a_file_stale(output: Path) -> None:
    path = partitions(output)[5]
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "editor": "某编辑"}, ensure_ascii=False)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def add_a_line_twice(output: Path) -> None:
    path = partitions(output)[7]
    path.write_text(path.read_text(encoding="utf-8") * 2, encoding="utf-8")


def add_an_invalid_json_line(output: Path) -> None:
    with partitions(output)[9].open("a", encoding="utf-8") as handle:
        handle.write('{"id": "018955625", "title": "许勤\n')


def add_a_partition_file_the_state_does_not_know(output: Path) -> None:
    unknown = output / "articles" / "date=2030-01-01" / "articles.jsonl"
    unknown.parent.mkdir()
    line = json.loads(partitions(output)[0].read_text(encoding="utf-8").splitlines()[0])
    unknown.write_text(json.dumps({**line, "id": "099999999", "timestamp": "2030-01-01T08:00:00+08:00"},
                                  ensure_ascii=False) + "\n", encoding="utf-8")


def put_a_story_in_two_partitions(output: Path) -> None:
    """As a kill between the two files of a story that moved to the previous day left it."""
    source, target = partitions(output)[12], partitions(output)[11]
    moved = source.read_text(encoding="utf-8").splitlines()[0]
    target.write_text(target.read_text(encoding="utf-8") + moved + "\n", encoding="utf-8")


def overwrite_state_pages_with_garbage(output: Path) -> None:
    page = 4096
    with (output / STATE).open("r+b") as handle:
        handle.seek((output / STATE).stat().st_size // 3 // page * page)
        handle.write(random.Random(9).randbytes(8 * page))


def truncate_the_state_to_half(output: Path) -> None:
    os.truncate(output / STATE, (output / STATE).stat().st_size // 2)


@dataclass(frozen=True)
class Damage:
    do: Callable[[Path], None]
    reported: str  # what verify's report says about it

    def __repr__(self) -> str:
        return self.do.__name__


DAMAGES = [
    Damage(delete_a_partition_file, "missing, the state holds"),
    Damage(make_a_file_stale, "stale: the state's line differs for 1 story"),
    Damage(add_a_line_twice, "the state does not hold in this partition (a line twice"),
    Damage(add_an_invalid_json_line, "1 invalid line (not a JSON story: line"),
    Damage(add_a_partition_file_the_state_does_not_know, "date=2030-01-01/articles.jsonl: a partition the state does not know"),
    Damage(put_a_story_in_two_partitions, "is on disk in 2 partitions"),
    Damage(overwrite_state_pages_with_garbage, "state.sqlite3 is damaged ("),
    Damage(truncate_the_state_to_half, "it was cut short): run `scrapy store verify`"),
]


@pytest.mark.integration
def test_an_undamaged_output_verifies(output: Path):
    verified = store("verify", output)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("all well: ") and verified.stderr == ""


@pytest.mark.integration
@pytest.mark.parametrize("damage", DAMAGES, ids=repr)
def test_verify_reports_the_damage_and_repair_undoes_it(output: Path, damage: Damage):
    files = snapshot_files(output)
    damage.do(output)
    found = store("verify", output)
    assert found.returncode == 1, found.stdout
    assert damage.reported in found.stdout, found.stdout
    assert "Traceback" not in found.stderr, found.stderr
    repaired = store("repair", output)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert repaired.stdout.splitlines()[-1].startswith("all well: ")
    assert store("verify", output).returncode == 0
    assert snapshot_files(output) == files  # byte for byte, every story as it was


@pytest.mark.integration
def test_a_rebuilt_state_keeps_the_ids_and_knows_every_copy(output: Path, items: list[Article]):
    """`scrapy store rebuild` waits for no run: it refuses while one is alive. After it, a re-run
    of every copy changes no line and stores nothing new."""
    files = snapshot_files(output)
    alive = Run(output, "run-alive")
    alive.store.open_spider()
    refused = store("rebuild", output)
    alive.store.close_spider()
    alive.store.spider_closed("finished")
    assert refused.returncode == 1 and "run-alive are alive" in refused.stdout, refused.stdout
    rebuilt = store("rebuild", output)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert len(list((output / STATE).parent.glob("state.sqlite3.set-aside-*"))) == 1  # kept
    stats = Run(output, "run-2").feed(items)
    assert snapshot_files(output) == files
    assert stats.get("pipeline/stories_new", 0) == 0 and stats.get("pipeline/copies_merged", 0) == 0


# ---------------------------------------------------------------- the store's own check at open

def test_the_next_open_writes_a_deleted_partition_again_and_warns(output: Path, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="pipelines.store"):
        stats = Run(output, "run-2").feed([])
    assert "store/verify_problems" not in stats and not caplog.records  # nothing to say about a sound output
    gone = partitions(output)[3]
    files = snapshot_files(output)
    gone.unlink()
    with caplog.at_level(logging.WARNING, logger="pipelines.store"):
        stats = Run(output, "run-3").feed([])
    assert snapshot_files(output) == files
    assert stats["store/verify_problems"] == 1
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(gone.relative_to(output)) in warning.getMessage() and "scrapy store repair" in warning.getMessage()


@pytest.mark.parametrize("damage", [overwrite_state_pages_with_garbage, truncate_the_state_to_half])
def test_a_damaged_state_stops_the_run_at_open_with_one_plain_message(
        output: Path, damage: Callable[[Path], None], caplog: pytest.LogCaptureFixture):
    damage(output)
    run = Run(output, "run-2")
    with caplog.at_level(logging.INFO), pytest.raises(CloseSpider) as stopped:
        run.store.open_spider()
    assert stopped.value.reason == "state_damaged"
    run.store.close_spider()
    run.store.spider_closed("state_damaged")
    (error,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert error.getMessage().startswith(f"{output / STATE} is damaged (") and error.exc_info is None
    assert "`scrapy store repair`" in error.getMessage()
    assert run.stats.get_value("store/verify_problems") == 1


@pytest.mark.integration
def test_a_crawl_on_a_damaged_state_fails_with_the_message_and_no_traceback(output: Path):
    truncate_the_state_to_half(output)
    # Nothing answers at the proxy: the run must stop before its first request.
    crawl = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "hebei", "-s", f"OUTPUT_DIR={output}"],
                           cwd=REPO, env=crawl_env("http://127.0.0.1:9"), capture_output=True, text=True,
                           timeout=300, check=False)
    assert crawl.returncode != 0
    messages = [line for line in crawl.stderr.splitlines() if "is damaged (" in line]
    assert len(messages) == 1 and "[pipelines.store] ERROR" in messages[0], crawl.stderr[-3000:]
    assert "Traceback" not in crawl.stderr and "downloader/request_count" not in crawl.stderr


# ---------------------------------------------------------------- a story moving to another day

def test_rounds_keep_the_two_partitions_of_a_move_together():
    names = [f"p{i:03}" for i in range(130)]
    plan = pipelines.files.rounds(names, [("p064", "p063"), ("p127", "p003")], size=64)
    assert plan == [names[:4] + ["p127"] + names[4:63], names[63:127], names[128:]]
    assert pipelines.files.rounds(names[:3], [("p000", "p002"), ("p002", "p001")], size=2) == [names[:3]]


def previous_day(item: Article) -> Article:
    moment = (datetime.fromisoformat(item.timestamp) - timedelta(days=1)).isoformat()
    return dataclasses.replace(item, timestamp=moment, appearances=[{**item.appearances[0], "timestamp": moment}])


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings of a state backend (none: the default, SQLite)."""
    if request.param == "sqlite":
        return {}
    return {"STATE_BACKEND": "redis", "STATE_REDIS_URL": request.getfixturevalue("redis_url")}


def test_a_story_moving_to_the_previous_day_is_never_on_disk_twice_between_rounds(
        output: Path, items: list[Article], backend: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """63 partitions before the previous day change too: without the move's link, the previous
    day is the last of the first round of writes and the story's old day the first of the next."""
    if backend:
        output = tmp_path / "fresh"
        Run(output, "run-1", **backend).feed(items)
    copies = {item.url: item for item in items}
    single = {s["url"]: copies[s["url"]] for s in read_stories(output) if len(s["appearances"]) == 1}
    moving = previous_day(max(single.values(), key=lambda item: item.timestamp))
    earlier = {item.timestamp[:10]: item for item in sorted(single.values(), key=lambda item: item.timestamp)
               if item.timestamp[:10] < moving.timestamp[:10]}
    edited = [dataclasses.replace(earlier[day], editor="改过的编辑") for day in sorted(earlier)[-63:]]
    assert len(edited) == 63

    twice: list[str] = []
    replace_round = pipelines.files._replace_files

    def and_look(root: Path, files: Any) -> None:
        replace_round(root, files)
        twice.extend(story for story, count in Counter(s["id"] for s in read_stories(output)).items() if count > 1)

    monkeypatch.setattr(pipelines.files, "_replace_files", and_look)
    stats = Run(output, "run-2", **backend).feed([*edited, moving])
    assert twice == []
    assert stats["pipeline/partitions_written"] == 65
    assert next(s for s in read_stories(output) if s["url"] == moving.url)["timestamp"] == moving.timestamp
    settings = get_project_settings()
    settings.setdict({"OUTPUT_DIR": str(output), **backend})
    assert verify_command(settings, lambda line: None) == 0
    state = open_state(settings)
    assert state.moved_together(state.partitions()) == []  # both written: the pair is forgotten
    state.close()


def test_a_round_of_rewrites_holds_a_bounded_share_of_lines(output: Path, items: list[Article],
                                                            monkeypatch: pytest.MonkeyPatch):
    """Rewrites read at most REPLACE_CHARS of lines into memory per round, whatever the partitions
    hold: 64 busy days at once would be hundreds of megabytes."""
    edited = [dataclasses.replace(item, editor="改过的编辑") for item in items]
    days = {item.timestamp[:10] for item in edited}
    largest = max(len(path.read_text(encoding="utf-8")) for path in OutputDir(output).partition_files())
    bound = 2 * largest  # a day's partition, two days, a round
    monkeypatch.setattr(pipelines.store, "REPLACE_CHARS", bound)
    held: list[int] = []
    replace_round = pipelines.files._replace_files

    def and_count(root: Path, files: Any) -> None:
        held.append(sum(len(line) + 1 for lines in files.values() for line in lines or ()))
        replace_round(root, files)

    monkeypatch.setattr(pipelines.files, "_replace_files", and_count)
    stats = Run(output, "run-2").feed(edited)
    assert stats["pipeline/partitions_written"] == len(days)
    assert len(held) > len(days) / 64 + 1  # 64 partitions a round before
    assert max(held) <= bound, (max(held), bound)
    assert {s["editor"] for s in read_stories(output)} == {"改过的编辑"}


def test_a_partition_is_written_without_a_second_copy_of_its_lines(tmp_path: Path):
    """A round's lines go to their files as they are: neither joined into one text nor encoded
    whole, which tripled a round's memory (bench/scale.py found it to be the crawl's peak)."""
    line = json.dumps({"id": "x", "body": "河北省委书记到雄安新区调研。" * 400}, ensure_ascii=False)
    lines = [line] * 200  # some 1.1 million characters: one busy day
    chars = sum(len(text) + 1 for text in lines)
    tracemalloc.start()
    try:
        pipelines.store.write_partitions(OutputDir(tmp_path), {"date=2026-01-01": lines})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    written = OutputDir(tmp_path).partition("date=2026-01-01").read_text(encoding="utf-8")
    assert written == "".join(text + "\n" for text in lines)
    assert peak < chars / 4, (peak, chars)  # joined: 2 bytes a character (and 3 more encoded)


# ---------------------------------------------------------------- Redis

@pytest.mark.integration
def test_redis_verify_and_repair_a_missing_file_then_a_broken_key(items: list[Article], tmp_path: Path, redis_url: str):
    settings = {"STATE_BACKEND": "redis", "STATE_REDIS_URL": redis_url}
    Run(tmp_path, "run-1", **settings).feed(items)
    assert store("verify", tmp_path, **settings).returncode == 0
    files = snapshot_files(tmp_path)

    delete_a_partition_file(tmp_path)
    found = store("verify", tmp_path, **settings)
    assert found.returncode == 1 and "missing, the state holds" in found.stdout, found.stdout
    assert store("repair", tmp_path, **settings).returncode == 0
    assert snapshot_files(tmp_path) == files

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.delete("hebei:state:story:5")  # its key gone, its partition still lists it
    found = store("verify", tmp_path, **settings)
    assert found.returncode == 1 and "1 stories listed in a partition without a line" in found.stdout, found.stdout
    repaired = store("repair", tmp_path, **settings)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert snapshot_files(tmp_path) == files
    assert client.exists(next(client.scan_iter(match="hebei:state-set-aside-*:story:1")))
    assert store("verify", tmp_path, **settings).returncode == 0
