"""The crawl plan and the scheduler: plan parsing, cron due times (checked against systemd's own
calendar where systemd-analyze exists), missed runs and catch-ups on a fake clock, the real
scheduler starting two crawls of one channel due at once (one runs, the other is skipped and
reported), and the repository's plan started for the first time on a fresh OUTPUT_DIR (green)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.ops.locks import lock_names
from crawler.ops.plan import Cron, Mode, PlanError, cron_of_interval, load_plan, parse_plan
from crawler.ops.runner import (
    NOT_STARTED,
    SCHEDULER_DOWN,
    WAITED,
    Scheduler,
    append_history,
    entry_status,
    read_history,
)
from crawler.ops.timers import crontab, on_calendar, systemd_units
from crawler.output import FinishReason
from crawler.site.channels import CHANNELS
from tests.replica.harness import REPLICA_CRAWL_SETTINGS, REPO, crawl_env, read_stories

SPIDERS = {c.name for c in CHANNELS} | {"hebei", "channel"}
CST = timezone(timedelta(hours=8))
GRACE = timedelta(minutes=10)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


# the plan ------------------------------------------------------------------------------------
def test_the_plan_of_the_repository_loads():
    entries = load_plan(REPO / "crawl-plan.toml", SPIDERS)
    assert [(e.name, e.channel, e.cron.text, str(e.mode)) for e in entries] == [
        ("hebei", "hebei", "0 */2 * * *", "incremental"),
        ("hebei-recrawl", "hebei", "30 3 * * *", "since=3d"),
    ]


def test_a_plan_entry_becomes_a_crawl_command_line():
    [entry] = parse_plan('[[crawl]]\nchannel = "heb_hbyw"\nevery = "30m"\nmode = "since=7d"\n'
                         'settings = { CONCURRENT_REQUESTS = 8, MONITOR_FIELD_COVERAGE = { editor = 0.8 } }\n',
                         SPIDERS)
    assert entry.name == "heb_hbyw" and entry.cron.text == "*/30 * * * *"
    assert entry.crawl_args(at("2025-03-10T00:00").date()) == [
        "heb_hbyw", "-a", "since=2025-03-03", "-s", "CONCURRENT_REQUESTS=8",
        "-s", 'MONITOR_FIELD_COVERAGE={"editor": 0.8}']
    assert Mode.parse("full").spider_args(at("2025-03-10T00:00").date()) == ["-a", "full=1"]
    assert Mode.parse("since=2024-03-01").spider_args(at("2025-03-10T00:00").date()) == ["-a", "since=2024-03-01"]


@pytest.mark.parametrize("text, complaint", [
    ('[[crawl]]\nchannel = "nosuch"\nevery = "1h"\n', "no spider named 'nosuch'"),
    ('[[crawl]]\nchannel = "hebei"\n', "give `every` or `cron`"),
    ('[[crawl]]\nchannel = "hebei"\nevery = "1h"\ncron = "0 * * * *"\n', "give `every` or `cron`"),
    ('[[crawl]]\nchannel = "hebei"\nevery = "5h"\n', "does not divide"),
    ('[[crawl]]\nchannel = "hebei"\ncron = "0 25 * * *"\n', "hour '25' is out of 0-23"),
    ('[[crawl]]\nchannel = "hebei"\ncron = "0 * * *"\n', "five fields"),
    ('[[crawl]]\nchannel = "hebei"\nevery = "1h"\nmode = "since=yesterday"\n', "mode = 'since=yesterday'"),
    ('[[crawl]]\nchannel = "hebei"\nevery = "1h"\nsettings = { OUTPUT_DIR = "x" }\n', "belong to the scheduler"),
    ('[[crawl]]\nchannel = "hebei"\nevery = "1h"\n[[crawl]]\nchannel = "hebei"\ncron = "0 3 * * *"\n',
     "two entries named ['hebei']"),
    ('[[crawl]]\nchannel = "hebei"\nevry = "1h"\n', "unknown keys ['evry']"),
])
def test_a_wrong_plan_is_refused_with_the_reason(text: str, complaint: str):
    with pytest.raises(PlanError, match=re.escape(complaint)):
        parse_plan(text, SPIDERS)


def test_intervals_are_cron_expressions():
    assert [cron_of_interval(e) for e in ("1m", "15m", "1h", "6h", "1d", "1w")] == [
        "* * * * *", "*/15 * * * *", "0 * * * *", "0 */6 * * *", "0 0 * * *", "0 0 * * 1"]


def test_cron_due_times():
    six_hours = Cron.parse("0 */6 * * *")
    assert six_hours.due_times(at("2025-03-01T06:00"), at("2025-03-02T06:00")) == [
        at("2025-03-01T12:00"), at("2025-03-01T18:00"), at("2025-03-02T00:00"), at("2025-03-02T06:00")]
    assert six_hours.latest_until(at("2025-03-01T05:59")) == at("2025-03-01T00:00")
    # both day fields restricted: the 1st of the month OR a Monday, as cron has it
    either = Cron.parse("30 2 1 * 1")
    assert either.due_times(at("2025-03-20T00:00"), at("2025-04-10T00:00")) == [
        at("2025-03-24T02:30"), at("2025-03-31T02:30"), at("2025-04-01T02:30"), at("2025-04-07T02:30")]
    assert Cron.parse("0 0 * * 7").next_after(at("2025-03-01T00:00")) == at("2025-03-02T00:00")  # 7 = Sunday
    # a day field starting with `*` makes them an AND, as Debian's cron has it: odd days that are Mondays
    odd_mondays = Cron.parse("0 0 */2 * 1")
    assert odd_mondays.due_times(at("2025-03-01T00:00"), at("2025-04-30T00:00")) == [
        at("2025-03-03T00:00"), at("2025-03-17T00:00"), at("2025-03-31T00:00"), at("2025-04-07T00:00"),
        at("2025-04-21T00:00")]


@pytest.mark.parametrize("expression, complaint", [
    ("0 0 30 2 *", "day '30' is out of 1-31, or a range backwards or a step of 0, or a day none of its months has"),
    ("0 0 L * *", "cannot read the day field 'L'"),
    ("0 0 * * MON", "cannot read the weekday field 'MON'"),
    ("0 0 0 * * *", "five fields"),
    ("*/0 * * * *", "minute '*/0' is out of 0-59, or a range backwards or a step of 0"),
])
def test_only_what_cron_itself_reads_is_a_plan_schedule(expression: str, complaint: str):
    """cronsim reads more than cron (seconds, L, #, names): the plan's crontab lines must run under cron."""
    with pytest.raises(PlanError, match=re.escape(complaint)):
        Cron.parse(expression)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("expression", ["0 */2 * * *", "30 3 * * *", "*/15 9-17 * * 1-5", "0 0 1,15 * *",
                                        "30 2 1 * 1", "0 0 * * 0", "0 0 */2 * 1", "0 12 1 * */3"])
def test_the_systemd_timers_are_due_when_cron_is(expression: str):
    cron = Cron.parse(expression)
    base = datetime(2025, 3, 1, 6, 0, 30, tzinfo=UTC)
    ours = [cron.next_after(base)]
    while len(ours) < 6:
        ours.append(cron.next_after(ours[-1]))
    theirs: set[datetime] = set()
    for calendar in on_calendar(cron):
        done = subprocess.run(["systemd-analyze", "calendar", "--iterations=6", f"--base-time={base:%Y-%m-%d %H:%M:%S}",
                               calendar], capture_output=True, text=True, env={**os.environ, "TZ": "UTC"}, check=False)
        assert done.returncode == 0, done.stderr
        theirs |= {datetime.strptime(m, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                   for m in re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\S+ \S+) UTC", done.stdout)}
    assert sorted(theirs)[:6] == ours


def test_crontab_lines_and_systemd_units_launch_each_plan_entry(tmp_path: Path):
    plan = tmp_path / "plan.toml"
    plan.write_text('[[crawl]]\nchannel = "heb_hbyw"\nevery = "1h"\n'
                    '[[crawl]]\nname = "weekly"\nchannel = "hebei"\ncron = "0 2 * * 0"\nmode = "full"\n', encoding="utf-8")
    entries = load_plan(plan, SPIDERS)
    lines = [line for line in crontab(entries, plan, REPO, {"OUTPUT_DIR": "/data/hebei"}).splitlines()
             if not line.startswith("#")]
    assert lines[0].startswith("0 * * * *  cd ") and lines[1].startswith("0 2 * * 0  cd ")
    assert f"-m scrapy schedule launch weekly --plan {plan} -s OUTPUT_DIR=/data/hebei" in lines[1]
    units = systemd_units(entries, plan, REPO, {"OUTPUT_DIR": "/data/hebei"})
    assert sorted(units) == ["hebei-crawl-heb_hbyw.service", "hebei-crawl-heb_hbyw.timer",
                             "hebei-crawl-weekly.service", "hebei-crawl-weekly.timer"]
    assert "OnCalendar=Sun *-*-* 02:00:00" in units["hebei-crawl-weekly.timer"]
    assert "Persistent=true" in units["hebei-crawl-weekly.timer"]
    assert f"schedule launch weekly --plan {plan}" in units["hebei-crawl-weekly.service"]


# missed runs on a fake clock ------------------------------------------------------------------
class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeCrawl:
    """A finished crawl: its manifest says how it ended."""

    pid: int
    status: int

    def poll(self) -> int | None:
        return self.status

    def wait(self) -> int:
        return self.status

    def terminate(self) -> None:
        pass


def fake_launcher(output: Path, endings: list[tuple[str | None, int]], pid: int | None = None):
    def launch(entry, run_id, now) -> FakeCrawl:
        reason, status = endings.pop(0)
        if reason is not None:
            (output / "runs").mkdir(parents=True, exist_ok=True)
            (output / "runs" / f"{run_id}.json").write_text(json.dumps({"run_id": run_id, "finish_reason": reason,
                                                                       "counts": {"stories_new": 7}}))
        return FakeCrawl(pid or os.getpid(), status)
    return launch


def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_runs_that_should_have_happened_and_did_not_are_reported_missed(tmp_path: Path):
    [entry] = parse_plan('[[crawl]]\nchannel = "heb_hbyw"\nevery = "1h"\n', SPIDERS)
    clock = FakeClock(at("2025-03-01T06:00:20"))
    endings: list[tuple[str | None, int]] = [("finished", 0), (FinishReason.SKIPPED_OVERLAP, 3), ("finished", 3)]
    scheduler = Scheduler([entry], tmp_path, fake_launcher(tmp_path, endings), clock, GRACE, say=lambda _: None)
    scheduler.tick()  # a fresh history: the latest due time (06:00) is due
    clock.now = at("2025-03-01T06:00:50")
    scheduler.tick()
    assert scheduler.outcomes == ["ok"]

    clock.now = at("2025-03-01T09:05:00")  # the scheduler was down from 06:01 to 09:05
    scheduler = Scheduler([entry], tmp_path, fake_launcher(tmp_path, endings), clock, GRACE, say=lambda _: None)
    scheduler.tick()  # records 07:00 and 08:00 missed, starts 09:00 (its channel was busy: skipped)
    scheduler.tick()
    assert scheduler.outcomes == [FinishReason.SKIPPED_OVERLAP]
    clock.now = at("2025-03-01T09:30:00")
    scheduler.tick()  # nothing due until 10:00
    assert [(r["event"], r["due"][11:16]) for r in read_history(tmp_path)] == [
        ("started", "06:00"), ("ended", "06:00"), ("missed", "07:00"), ("missed", "08:00"),
        ("started", "09:00"), ("ended", "09:00")]
    # and then the scheduler died for good

    status = entry_status(entry, read_history(tmp_path), tmp_path, at("2025-03-01T11:05:00"), GRACE)
    assert status.ran == 1
    assert [(due.strftime("%H:%M"), why) for due, why in status.missed] == [
        ("07:00", SCHEDULER_DOWN), ("08:00", SCHEDULER_DOWN), ("09:00", FinishReason.SKIPPED_OVERLAP), ("10:00", NOT_STARTED)]
    # 11:00 is not missed yet at 11:05: a run may start up to SCHEDULE_GRACE late
    assert status.last is not None and status.last["outcome"] == FinishReason.SKIPPED_OVERLAP
    assert status.next_due == at("2025-03-01T12:00")

    later = entry_status(entry, read_history(tmp_path), tmp_path, at("2025-03-01T11:30:00"), GRACE)
    assert later.missed[-1] == (at("2025-03-01T11:00"), NOT_STARTED)

    # a run whose crawl finished with failed checks ran (the monitor reports it); one whose process
    # died with the scheduler, with no manifest saying how it ended, crashed
    clock.now = at("2025-03-01T12:00:05")
    scheduler = Scheduler([entry], tmp_path, fake_launcher(tmp_path, endings), clock, GRACE, say=lambda _: None)
    scheduler.tick()
    scheduler.tick()
    append_history(tmp_path, {"event": "started", "entry": entry.name, "channel": entry.channel,
                              "due": at("2025-03-01T13:00").isoformat(), "run_id": "gone", "pid": dead_pid(),
                              "at": at("2025-03-01T13:00:02").isoformat()})
    status = entry_status(entry, read_history(tmp_path), tmp_path, at("2025-03-01T13:30:00"), GRACE)
    assert status.ran == 2  # 06:00 ok, 12:00 alerts
    assert status.missed[-1] == (at("2025-03-01T13:00"), "crashed (the scheduler went down with it)")


# catch-ups on a fake clock ------------------------------------------------------------------------
@dataclass
class HeldCrawl:
    """A crawl that runs until the test ends it."""

    pid: int
    status: int | None = None

    def poll(self) -> int | None:
        return self.status

    def wait(self) -> int:
        assert self.status is not None, "the test waits for a crawl it did not end"
        return self.status

    def terminate(self) -> None:
        self.status = -15


REPO_PLAN_LOCKS = {"hebei": frozenset(lock_names(CHANNELS, "hebei"))}


def held_launcher(output: Path, started: list[tuple[str, HeldCrawl]]):
    def launch(entry, run_id, now) -> HeldCrawl:
        (output / "runs").mkdir(parents=True, exist_ok=True)
        (output / "runs" / f"{run_id}.json").write_text(json.dumps({"run_id": run_id, "finish_reason": "finished"}))
        crawl = HeldCrawl(os.getpid())
        started.append((entry.name, crawl))
        return crawl
    return launch


@pytest.mark.parametrize("now, first", [
    ("2025-03-01T10:05:00", "hebei"),  # hebei due 10:00 on time, the re-read's 03:30 long past
    ("2025-03-01T03:33:00", "hebei-recrawl"),  # the re-read due 03:30 on time, hebei's 02:00 past
    ("2025-03-01T11:20:00", "hebei"),  # both past: in the plan's order
])
def test_on_a_first_start_the_catch_ups_of_one_channel_run_one_after_the_other(tmp_path: Path, now: str, first: str):
    entries = load_plan(REPO / "crawl-plan.toml", SPIDERS)
    clock = FakeClock(at(now))
    started: list[tuple[str, HeldCrawl]] = []
    scheduler = Scheduler(entries, tmp_path, held_launcher(tmp_path, started), clock, GRACE, say=lambda _: None,
                          channels=REPO_PLAN_LOCKS)
    scheduler.tick()
    assert [name for name, _ in started] == [first]  # the other waits: both crawl every channel
    clock.now += timedelta(seconds=30)
    scheduler.tick()
    assert len(started) == 1
    started[0][1].status = 0
    clock.now += timedelta(minutes=5)
    scheduler.tick()
    assert [name for name, _ in started] == [first, *({"hebei", "hebei-recrawl"} - {first})]
    started[1][1].status = 0
    clock.now += timedelta(seconds=30)
    scheduler.tick()
    assert scheduler.outcomes == ["ok", "ok"] and not scheduler.running and not scheduler.waiting
    for entry in entries:
        status = entry_status(entry, read_history(tmp_path), tmp_path, clock.now, GRACE)
        assert (status.ran, status.missed) == (1, [])


def test_a_catch_up_still_waiting_at_its_next_due_time_is_missed(tmp_path: Path):
    entries = load_plan(REPO / "crawl-plan.toml", SPIDERS)
    clock = FakeClock(at("2025-03-01T03:35:00"))
    started: list[tuple[str, HeldCrawl]] = []
    scheduler = Scheduler(entries, tmp_path, held_launcher(tmp_path, started), clock, GRACE, say=lambda _: None,
                          channels=REPO_PLAN_LOCKS)
    scheduler.tick()  # the re-read starts, hebei's 02:00 waits for it
    clock.now = at("2025-03-01T04:00:10")  # the re-read still runs at hebei's next due time
    scheduler.tick()
    assert [name for name, _ in started] == ["hebei-recrawl", "hebei"]  # due now: started, and skipped by the lock
    hebei = entry_status(entries[0], read_history(tmp_path), tmp_path, clock.now, GRACE)
    assert hebei.missed == [(at("2025-03-01T02:00"), f"{WAITED}, until its next due time")]
    for _, crawl in started:
        crawl.status = 0
    scheduler.wait_all()


# the real scheduler ---------------------------------------------------------------------------
def scrapy(*args: str, address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=REPO, env=crawl_env(address), capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.integration
def test_the_scheduler_starts_two_runs_of_one_channel_and_one_is_skipped_and_reported(replica_300: str,
                                                                                         tmp_path: Path):
    # The plan is due every hour on the hour: a test that ran across the hour would see the next
    # due time come round. It takes well under two minutes, so it waits out the last two.
    now = datetime.now()
    if now.minute >= 58:
        time.sleep((60 - now.minute) * 60 - now.second + 5)
    # One request per 0.1 s: the crawl lasts seconds, long enough for both to be under way at once.
    slow = {**REPLICA_CRAWL_SETTINGS, "DOWNLOAD_DELAY": "0.1", "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}
    table = ", ".join(f'{k} = "{v}"' for k, v in slow.items())
    plan = tmp_path / "plan.toml"
    plan.write_text(f'[[crawl]]\nname = "a"\nchannel = "heb_qjhb"\nevery = "1h"\nsettings = {{ {table} }}\n'
                    f'[[crawl]]\nname = "b"\nchannel = "heb_qjhb"\nevery = "1h"\nsettings = {{ {table} }}\n',
                    encoding="utf-8")
    output = tmp_path / "out"
    # both due times within the grace: due now, not catch-ups (which would run one after the other)
    done = scrapy("schedule", "run", "--once", "--plan", str(plan), "-s", f"OUTPUT_DIR={output}",
                  "-s", "SCHEDULE_GRACE=3600", address=replica_300)
    assert done.returncode == 1, done.stdout + done.stderr  # one of the two did not run
    ended = {r["entry"]: r for r in read_history(output) if r["event"] == "ended"}
    assert sorted(r["outcome"] for r in ended.values()) == ["ok", FinishReason.SKIPPED_OVERLAP]
    assert len(read_stories(output)) == 33  # the one that ran stored the channel
    for record in ended.values():  # each run's log is kept
        assert (output / "schedule" / "logs" / f"{record['run_id']}.log").stat().st_size > 0

    status = scrapy("schedule", "status", "--plan", str(plan), "-s", f"OUTPUT_DIR={output}", address=replica_300)
    assert status.returncode == 1, status.stdout + status.stderr
    skipped, ran = sorted(ended, key=lambda name: ended[name]["outcome"] == "ok")
    report = status.stdout
    assert "scheduler not running" in report
    blocks = dict(re.findall(r"^(\w+): crawl heb_qjhb, incremental, every 1h \(0 \* \* \* \*\)\n((?:  .*\n)+)",
                             report, re.MULTILINE))
    assert f": {FinishReason.SKIPPED_OVERLAP} (run {ended[skipped]['run_id']}, 0 new stories, alerts written)" in blocks[skipped]
    assert "0 ran, 1 missed" in blocks[skipped] and f"missed     due {ended[skipped]['due'][:10]}" in blocks[skipped]
    verdict = output.resolve() / "alerts" / f"{ended[skipped]['run_id']}.json"
    assert f"  verdict    {verdict}\n" in blocks[skipped] and f"{FinishReason.SKIPPED_OVERLAP} ({verdict})" in blocks[skipped]
    assert f": ok (run {ended[ran]['run_id']}, 33 new stories)" in blocks[ran]
    assert "1 ran, 0 missed" in blocks[ran]

    again = scrapy("schedule", "run", "--once", "--plan", str(plan), "-s", f"OUTPUT_DIR={output}", address=replica_300)
    assert again.returncode == 0 and "started" not in again.stdout  # nothing is due until the next hour


@pytest.mark.integration
def test_the_first_run_of_the_repository_plan_on_a_fresh_output_is_green(replica_300: str, tmp_path: Path):
    """Both entries of crawl-plan.toml crawl every channel and are due (at once) on a first start:
    they run one after the other, and the operator's first status is 0 missed."""
    output = tmp_path / "fresh"
    settings = [a for k, v in REPLICA_CRAWL_SETTINGS.items() for a in ("-s", f"{k}={v}")]
    done = scrapy("schedule", "run", "--once", "-s", f"OUTPUT_DIR={output}", *settings, address=replica_300)
    assert done.returncode == 0, done.stdout + done.stderr
    history = read_history(output)
    assert sorted(r["outcome"] for r in history if r["event"] == "ended") == ["ok", "ok"]
    events = [(r["event"], r["entry"]) for r in history]
    first, second = (entry for event, entry in events if event == "started")
    assert events == [("started", first), ("ended", first), ("started", second), ("ended", second)]
    assert not (output / "alerts").exists() or not any((output / "alerts").iterdir())

    status = scrapy("schedule", "status", "-s", f"OUTPUT_DIR={output}", address=replica_300)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("1 ran, 0 missed") == 2, status.stdout
