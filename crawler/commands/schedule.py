"""`scrapy schedule ACTION`: the crawl plan (`crawl-plan.toml`) run, launched, reported, exported.

    scrapy schedule run [--once]            the long-running scheduler (--once: start what is
                                            due, wait for it, exit)
    scrapy schedule launch NAME             one plan entry now, recorded like a scheduled run
                                            (what cron and systemd timers call)
    scrapy schedule status [--days N]       per entry: last run, next due, missed runs
                                            (exit status 1 when a run was missed)
    scrapy schedule crontab                 crontab lines for the plan
    scrapy schedule systemd --dir DIR       a .service and a .timer per entry

`--plan FILE` (default the `SCHEDULE_PLAN` setting) names the plan; `-s OUTPUT_DIR=...` and any
other `-s` given here are passed on to every crawl. docs/operations.md tells when to use which.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.conf import arglist_to_dict, closest_scrapy_cfg

from crawler.ops.locks import lock_names
from crawler.ops.plan import PlanEntry, PlanError, load_plan
from crawler.ops.runner import (
    RAN,
    Scheduler,
    crawl_launcher,
    describe_status,
    entry_status,
    launch_entry,
    local_now,
    read_history,
    scheduler_running,
    take_scheduler_lock,
    verdict_of,
)
from crawler.ops.timers import crontab, systemd_units

ACTIONS = ("run", "launch", "status", "crontab", "systemd")
POLL_SECONDS = 1.0


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "run [--once] | launch NAME | status [--days N] | crontab | systemd --dir DIR"

    def short_desc(self) -> str:
        return "Run the crawl plan, or report on it, or write it out for cron or systemd"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        # Scrapy's help formatter takes any help line ending in ":" for a heading: no colons here
        parser.add_argument("--plan", metavar="FILE", help="the crawl plan (default the SCHEDULE_PLAN setting)")
        parser.add_argument("--once", action="store_true", help="with run, start what is due, wait, exit")
        parser.add_argument("--dir", help="with systemd, where to write the units")
        parser.add_argument("--days", metavar="N", type=float, default=7.0,
                            help="with status, how many days back to look (default 7)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args or args[0] not in ACTIONS:
            raise UsageError(f"say what to do: {', '.join(ACTIONS)}")
        action, rest = args[0], args[1:]
        if (action == "launch") != bool(rest) or len(rest) > 1:
            raise UsageError("launch takes one plan entry name; the other actions none")
        assert self.settings is not None
        plan = Path(opts.plan or self.settings.get("SCHEDULE_PLAN"))
        spiders = get_spider_loader(self.settings)
        try:
            entries = load_plan(plan, spiders.list())
        except PlanError as error:
            self.fail(str(error))
            return
        self.output = Path(self.settings.get("OUTPUT_DIR")).resolve()
        self.grace = timedelta(seconds=self.settings.getfloat("SCHEDULE_GRACE"))
        # the -s given here, passed on to the crawls (OUTPUT_DIR made absolute)
        self.passed_on = {**arglist_to_dict(opts.set), "OUTPUT_DIR": str(self.output)}
        if action == "run":
            locks = {e.channel: frozenset(lock_names(getattr(spiders.load(e.channel), "channels", ()), e.channel))
                     for e in entries}
            self.run_scheduler(entries, opts.once, locks)
        elif action == "launch":
            self.launch(entries, rest[0])
        elif action == "status":
            self.status(entries, timedelta(days=opts.days))
        elif action == "crontab":
            sys.stdout.write(crontab(entries, plan, project_dir(), self.passed_on))
        else:
            self.write_units(entries, plan, opts.dir)

    def fail(self, message: str) -> None:
        print(f"scrapy schedule: {message}", file=sys.stderr)
        self.exitcode = 1

    def run_scheduler(self, entries: list[PlanEntry], once: bool, locks: dict[str, frozenset[str]]) -> None:
        lock = take_scheduler_lock(self.output)
        if lock is None:
            self.fail(f"a scheduler already runs on {self.output} ({scheduler_running(self.output)})")
            return
        scheduler = Scheduler(entries, self.output, crawl_launcher(self.output, self.passed_on),
                              grace=self.grace, say=say, channels=locks)
        stopping: list[int] = []

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        say(f"scheduler: {len(entries)} plan entries, output {self.output}")
        scheduler.tick()
        while not stopping and not (once and not scheduler.running):
            time.sleep(POLL_SECONDS)
            if once:
                scheduler.reap()
            else:
                scheduler.tick()
        if stopping:
            say("scheduler: stopping; asking running crawls to finish")
            scheduler.stop()
        lock.close()
        if once and any(outcome not in RAN for outcome in scheduler.outcomes):
            self.exitcode = 1

    def launch(self, entries: list[PlanEntry], name: str) -> None:
        entry = next((e for e in entries if e.name == name), None)
        if entry is None:
            self.fail(f"no entry named {name!r} in the plan ({', '.join(e.name for e in entries)})")
            return
        outcome, run = launch_entry(entry, self.output, crawl_launcher(self.output, self.passed_on),
                                    grace=self.grace, say=lambda line: None)
        if outcome != "ok":
            # cron mails what a job prints: a line when a run needs a look, nothing otherwise
            print(f"{entry.name}: {outcome} (verdict {verdict_of(self.output, run)}; scrapy schedule status)")
            self.exitcode = 1

    def status(self, entries: list[PlanEntry], lookback: timedelta) -> None:
        records = read_history(self.output)
        now = local_now()
        holder = scheduler_running(self.output)
        print(f"output {self.output}; scheduler {'running (' + holder + ')' if holder else 'not running'}; "
              f"now {now:%Y-%m-%d %H:%M}")
        missed = 0
        for entry in entries:
            found = entry_status(entry, records, self.output, now, self.grace, lookback)
            missed += len(found.missed)
            print("\n".join(describe_status(found, self.output)))
        if missed:
            self.exitcode = 1

    def write_units(self, entries: list[PlanEntry], plan: Path, directory: str | None) -> None:
        if not directory:
            raise UsageError("systemd needs --dir DIR")
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        for name, text in systemd_units(entries, plan, project_dir(), self.passed_on).items():
            (target / name).write_text(text, encoding="utf-8")
            print(target / name)


def project_dir() -> Path:
    """Where scrapy.cfg is: the crawls run from there."""
    found = closest_scrapy_cfg()
    return Path(found).parent if found else Path.cwd()


def say(line: str) -> None:
    print(f"{local_now():%Y-%m-%d %H:%M:%S} {line}", flush=True)
