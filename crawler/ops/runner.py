"""The scheduler: runs the crawl plan, records every due time, reports the missed ones.

`OUTPUT_DIR/schedule/history.jsonl` holds one line per event, whoever caused it (the long-running
scheduler, or `scrapy schedule launch` from cron or a systemd timer):

- `started`: a run of an entry was started for a due time (`late` when after the grace period);
- `ended`: how it went: `ok`, `alerts` (finished, a check failed), or a run that did not do its
  job: `skipped: overlap` (its channel was still being crawled), `shutdown`, `killed`,
  `crashed (exit status N)`;
- `missed`: a due time passed with the scheduler down; when it comes back it records the due
  times it slept through and catches up with one run per entry (an incremental crawl fetches
  whatever was published meanwhile). Catch-ups whose channels a run of the scheduler crawls wait
  for it to end, so that a first start, when every entry is due at once, skips nothing.

`status` reads the history against the plan: a due time with no run started within
`SCHEDULE_GRACE` seconds is missed too, so a scheduler that is down now, or a cron that never
fired, shows up the morning after without anyone having to notice an absence.

The clock is a parameter throughout: the tests move it by hours without waiting.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from crawler.ops.plan import PlanEntry
from crawler.output import FinishReason, OutputDir, read_json

RAN = ("ok", "alerts")
NOT_STARTED = "no run started"
SCHEDULER_DOWN = "scheduler down"
WAITED = "waited for a run of its channels"

Clock = Callable[[], datetime]


def local_now() -> datetime:
    return datetime.now().astimezone()


class Handle(Protocol):
    pid: int

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...

    def terminate(self) -> None: ...


Launcher = Callable[[PlanEntry, str, datetime], Handle]


# history ---------------------------------------------------------------------
def append_history(output: Path, record: dict[str, Any]) -> None:
    """One line, appended under a lock: the scheduler and cron-started launches share the file."""
    path = OutputDir(output).schedule_history()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_history(output: Path) -> list[dict[str, Any]]:
    path = OutputDir(output).schedule_history()
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a crash
    return records


def run_outcome(output: Path, run_id: str, exit_status: int | None) -> tuple[str, str | None]:
    """(outcome, finish reason) of a run, from its manifest and its exit status."""
    manifest = read_json(OutputDir(output).manifest(run_id))
    reason = manifest.get("finish_reason") if manifest else None
    if reason == FinishReason.FINISHED:
        return ("ok" if exit_status == 0 else "alerts"), reason
    if reason:
        return str(reason), str(reason)
    if exit_status is None:
        return "running", None
    return f"crashed (exit status {exit_status})", None


def new_run_id(entry: PlanEntry, now: datetime) -> str:
    """Like a crawl's own run id, with the plan entry's name (unique in the plan) for the spider's:
    two entries of one channel started in the same second get two ids."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{entry.name}-{os.getpid()}"


# launching -------------------------------------------------------------------
def crawl_launcher(output: Path, settings: dict[str, str]) -> Launcher:
    """Starts `scrapy crawl` for an entry as a child process, its log in `schedule/logs/`."""

    def launch(entry: PlanEntry, run_id: str, now: datetime) -> Handle:
        command = [sys.executable, "-m", "scrapy", "crawl", *entry.crawl_args(now.date())]
        for key, value in {**settings, "OUTPUT_DIR": str(output), "RUN_ID": run_id}.items():
            command += ["-s", f"{key}={value}"]
        log = OutputDir(output).schedule_log(run_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT)

    return launch


@dataclass
class Running:
    entry: PlanEntry
    due: datetime
    run_id: str
    handle: Handle


@dataclass
class Scheduler:
    entries: list[PlanEntry]
    output: Path
    launch: Launcher
    clock: Clock = local_now
    grace: timedelta = timedelta(minutes=10)
    say: Callable[[str], None] = print
    # spider name -> the channels its runs lock (crawler/ops/locks.py); a spider not named locks its name
    channels: Mapping[str, frozenset[str]] = field(default_factory=dict)
    running: list[Running] = field(default_factory=list)
    last_due: dict[str, datetime] = field(default_factory=dict)
    upcoming: dict[str, datetime] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)  # of the runs that ended, in order
    waiting: dict[str, datetime] = field(default_factory=dict)  # entry name -> the due time of its catch-up

    def __post_init__(self) -> None:
        for record in read_history(self.output):
            due = datetime.fromisoformat(record["due"])
            if record["entry"] not in self.last_due or due > self.last_due[record["entry"]]:
                self.last_due[record["entry"]] = due

    def record(self, event: str, entry: PlanEntry, due: datetime, **fields: Any) -> None:
        append_history(self.output, {"event": event, "entry": entry.name, "channel": entry.channel,
                                     "due": due.isoformat(), "at": self.clock().isoformat(timespec="seconds"),
                                     **fields})

    def tick(self) -> None:
        """Record the runs that ended, then start what is due: the runs due now first, then the
        catch-ups (due longer than the grace ago: a first start, or a scheduler that was down)."""
        now = self.clock()
        self.reap()
        due_now = []
        for entry in self.entries:
            upcoming = self.upcoming.get(entry.name)
            if upcoming is None or now >= upcoming:
                due = self.latest_due(entry, now)
                self.upcoming[entry.name] = entry.cron.next_after(now)
                if due is not None:
                    due_now.append((entry, due))
        for entry, due in sorted(due_now, key=lambda pair: self.late(pair[1], now)):
            if self.late(due, now) and self.busy(entry):
                self.wait(entry, due)
            else:
                self.start(entry, due, now)

    def latest_due(self, entry: PlanEntry, now: datetime) -> datetime | None:
        """The due time to run now, once those slept through are recorded missed."""
        stale = self.waiting.pop(entry.name, None)
        if stale is not None:
            self.record("missed", entry, stale, reason=f"{WAITED}, until its next due time")
        last = self.last_due.get(entry.name)
        if last is None:  # never run: its latest due time is due
            latest = entry.cron.latest_until(now)
            dues = [latest] if latest is not None else []
        else:
            dues = entry.cron.due_times(last, now)
        if not dues:
            return None
        *slept_through, due = dues
        for missed in slept_through:
            self.record("missed", entry, missed, reason=SCHEDULER_DOWN)
        if slept_through:
            self.say(f"{entry.name}: {len(slept_through)} due times missed while the scheduler was down")
        return due

    def late(self, due: datetime, now: datetime) -> bool:
        return now - due > self.grace

    def channels_of(self, entry: PlanEntry) -> frozenset[str]:
        return self.channels.get(entry.channel, frozenset({entry.channel}))

    def busy(self, entry: PlanEntry) -> Running | None:
        """A run of this scheduler crawling one of the entry's channels."""
        mine = self.channels_of(entry)
        return next((run for run in self.running if mine & self.channels_of(run.entry)), None)

    def wait(self, entry: PlanEntry, due: datetime) -> None:
        """A catch-up whose channels a run of this scheduler crawls starts when that run has ended,
        rather than at once to be skipped: two due times that passed while the scheduler was not
        running are not an overlap of the plan."""
        holder = self.busy(entry)
        assert holder is not None
        self.waiting[entry.name] = due
        self.last_due[entry.name] = due
        self.say(f"{entry.name}: due {due:%Y-%m-%d %H:%M}, waits for run {holder.run_id} ({holder.entry.name}) "
                 "to end: it crawls the same channels")

    def start_waiting(self) -> None:
        for name, due in list(self.waiting.items()):
            entry = next(e for e in self.entries if e.name == name)
            if not self.busy(entry):
                del self.waiting[name]
                self.start(entry, due, self.clock())

    def start(self, entry: PlanEntry, due: datetime, now: datetime) -> Running:
        run_id = new_run_id(entry, now)
        handle = self.launch(entry, run_id, now)
        late = now - due > self.grace
        self.record("started", entry, due, run_id=run_id, pid=handle.pid, late=late)
        self.say(f"{entry.name}: started run {run_id} (due {due:%Y-%m-%d %H:%M}{', late' if late else ''})")
        self.last_due[entry.name] = due
        run = Running(entry, due, run_id, handle)
        self.running.append(run)
        return run

    def reap(self) -> None:
        """Record the runs that ended; start the catch-ups that waited for them."""
        for run in list(self.running):
            status = run.handle.poll()
            if status is not None:
                self.finish(run, status)
        self.start_waiting()

    def finish(self, run: Running, status: int) -> str:
        outcome, reason = run_outcome(self.output, run.run_id, status)
        self.record("ended", run.entry, run.due, run_id=run.run_id, exit_status=status, finish_reason=reason,
                    outcome=outcome)
        self.say(f"{run.entry.name}: run {run.run_id} ended: {outcome}")
        self.running.remove(run)
        self.outcomes.append(outcome)
        return outcome

    def wait_all(self) -> list[str]:
        """Wait for every run, and for the catch-ups waiting for them; their outcomes."""
        outcomes = []
        while self.running:
            outcomes += [self.finish(run, run.handle.wait()) for run in list(self.running)]
            self.start_waiting()
        return outcomes

    def stop(self) -> None:
        """Ask running crawls to shut down (Scrapy finishes what it holds), and record them; the
        catch-ups still waiting are left to the next start, which finds their due times unrun."""
        self.waiting.clear()
        for run in self.running:
            run.handle.terminate()
        self.wait_all()


# one entry now (cron, systemd) -------------------------------------------------
def launch_entry(entry: PlanEntry, output: Path, launch: Launcher, clock: Clock = local_now,
                 grace: timedelta = timedelta(minutes=10), say: Callable[[str], None] = print) -> tuple[str, str]:
    """Run one entry now, for its latest due time, and wait for it: the outcome and the run id."""
    scheduler = Scheduler([entry], output, launch, clock, grace, say)
    now = clock()
    run = scheduler.start(entry, entry.cron.latest_until(now) or now.replace(second=0, microsecond=0), now)
    return scheduler.wait_all()[0], run.run_id


# the scheduler's own lock --------------------------------------------------------
def take_scheduler_lock(output: Path) -> IO[str] | None:
    """One scheduler per OUTPUT_DIR: the open lock file while held, None when another holds it."""
    path = OutputDir(output).scheduler_lock()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


def scheduler_running(output: Path) -> str | None:
    """Who holds the scheduler lock ("pid N"), or None."""
    path = OutputDir(output).scheduler_lock()
    if not path.exists():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown"
    return None


# status ----------------------------------------------------------------------
@dataclass
class EntryStatus:
    entry: PlanEntry
    next_due: datetime
    last: dict[str, Any] | None = None  # the latest run: due, run_id, outcome, at
    ran: int = 0
    missed: list[tuple[datetime, str]] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    since: datetime | None = None  # the start of the window looked at
    missed_runs: dict[datetime, str] = field(default_factory=dict)  # due -> run id, of the missed that ran


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def entry_status(entry: PlanEntry, records: list[dict[str, Any]], output: Path, now: datetime,
                 grace: timedelta, lookback: timedelta = timedelta(days=7)) -> EntryStatus:
    """What happened at each due time of `entry` from its first record (at most `lookback` ago)
    until `now`."""
    status = EntryStatus(entry, entry.cron.next_after(now))
    mine = [r for r in records if r.get("entry") == entry.name]
    if not mine:
        return status
    by_due: dict[datetime, dict[str, dict[str, Any]]] = {}
    for record in mine:
        by_due.setdefault(datetime.fromisoformat(record["due"]), {})[record["event"]] = record
    status.since = max(min(by_due), now - lookback)
    for due in entry.cron.due_times(status.since - timedelta(minutes=1), now):
        events = by_due.get(due, {})
        outcome = _outcome(events, output)
        if outcome is None:
            if now - due >= grace:
                status.missed.append((due, NOT_STARTED))
            continue
        if outcome in RAN:
            status.ran += 1
        elif outcome == "running":
            status.running.append(events["started"]["run_id"])
        else:
            status.missed.append((due, outcome))
            if "started" in events:
                status.missed_runs[due] = events["started"]["run_id"]
        if "started" in events or "ended" in events:
            run = {**events.get("started", {}), **events.get("ended", {})}
            status.last = {"due": due, "run_id": run.get("run_id"), "outcome": outcome, "at": run.get("at")}
    return status


def _outcome(events: dict[str, dict[str, Any]], output: Path) -> str | None:
    if "ended" in events:
        return str(events["ended"]["outcome"])
    if "started" in events:
        started = events["started"]
        outcome, _ = run_outcome(output, started["run_id"], None)
        if outcome == "running" and not _alive(started.get("pid")):
            return "crashed (the scheduler went down with it)"
        return outcome
    if "missed" in events:
        return str(events["missed"]["reason"])
    return None


def verdict_of(output: Path, run: str) -> Path | None:
    """Where a run's verdict is to be read: its alert, else (a crash) its log; None when it passed."""
    for path in (OutputDir(output).alert(run), OutputDir(output).schedule_log(run)):
        if path.exists():
            return path
    return None


def describe_status(status: EntryStatus, output: Path) -> list[str]:
    entry = status.entry
    lines = [f"{entry.name}: crawl {entry.channel}, {entry.mode}, {entry.schedule}"]
    if status.last is None:
        lines.append("  last run   none recorded")
    else:
        last = status.last
        manifest = read_json(OutputDir(output).manifest(last["run_id"])) or {}
        new = manifest.get("counts", {}).get("stories_new")
        alert = OutputDir(output).alert(last["run_id"])
        figures = (f", {new} new stories" if new is not None else "") + (", alerts written" if alert.exists() else "")
        lines.append(f"  last run   due {last['due']:%Y-%m-%d %H:%M}: {last['outcome']} "
                     f"(run {last['run_id']}{figures})")
        if alert.exists():
            lines.append(f"  verdict    {alert}")
    for run in status.running:
        lines.append(f"  running    {run}")
    lines.append(f"  next due   {status.next_due:%Y-%m-%d %H:%M}")
    if status.since is not None:
        lines.append(f"  since {status.since:%Y-%m-%d %H:%M}: {status.ran} ran, {len(status.missed)} missed")
    for due, why in status.missed:
        missed_run = status.missed_runs.get(due)
        verdict = verdict_of(output, missed_run) if missed_run else None
        lines.append(f"  missed     due {due:%Y-%m-%d %H:%M}: {why}" + (f" ({verdict})" if verdict else ""))
    return lines
