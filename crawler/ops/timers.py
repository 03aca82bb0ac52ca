"""The crawl plan as crontab lines or systemd timer units.

Either way each due time runs `scrapy schedule launch NAME`, which starts the entry's crawl with
the plan's mode and settings and records the run in the schedule history, exactly as the
long-running scheduler does: `scrapy schedule status` then knows about every run, and reports
the missed ones, whichever of the three started them.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from crawler.ops.plan import Cron, PlanEntry

WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
UNIT_PREFIX = "hebei-crawl-"


def launch_command(entry: PlanEntry, plan: Path, settings: dict[str, str]) -> list[str]:
    """The command line that runs one entry now (absolute paths: cron and systemd have no venv)."""
    command = [sys.executable, "-m", "scrapy", "schedule", "launch", entry.name, "--plan", str(plan.resolve())]
    for key, value in settings.items():
        command += ["-s", f"{key}={value}"]
    return command


def crontab(entries: list[PlanEntry], plan: Path, project: Path, settings: dict[str, str]) -> str:
    lines = [f"# The crawl plan {plan.resolve()}, from `scrapy schedule crontab`.",
             "# Times are this machine's local time. `scrapy schedule status` reports missed runs.",
             "# m h dom mon dow  command"]
    for entry in entries:
        command = f"cd {shlex.quote(str(project.resolve()))} && {shlex.join(launch_command(entry, plan, settings))}"
        # cron reads an unescaped % as a newline
        lines.append(f"{entry.cron.text}  {command.replace('%', chr(92) + '%')}  # {entry.name}: {entry.mode}")
    return "\n".join(lines) + "\n"


def _values(values: frozenset[int], full: range, width: int = 2) -> str:
    if set(values) == set(full):
        return "*"
    return ",".join(f"{v:0{width}d}" for v in sorted(values))


def on_calendar(cron: Cron) -> list[str]:
    """systemd `OnCalendar=` expressions due at the same times as `cron`. cron matches a day on
    day-of-month OR day-of-week when both are restricted and neither starts with `*`, systemd on
    both: then two expressions."""
    time = f"{_values(cron.hours, range(24))}:{_values(cron.minutes, range(60))}:00"
    months = _values(cron.months, range(1, 13))
    days = _values(cron.days, range(1, 32))
    weekdays = "" if cron.weekdays == set(range(7)) else ",".join(WEEKDAYS[d] for d in sorted(cron.weekdays)) + " "
    if cron.any_day or cron.any_weekday:
        return [f"{weekdays}*-{months}-{days} {time}"]
    return [f"{weekdays}*-{months}-* {time}", f"*-{months}-{days} {time}"]


def systemd_units(entries: list[PlanEntry], plan: Path, project: Path,
                  settings: dict[str, str]) -> dict[str, str]:
    """File name -> content: a oneshot service and its timer per entry."""
    units = {}
    for entry in entries:
        unit = f"{UNIT_PREFIX}{entry.name}"
        units[f"{unit}.service"] = "\n".join([
            "[Unit]",
            f"Description=hebei-crawler: crawl {entry.channel} ({entry.mode}), plan entry {entry.name}",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            f"WorkingDirectory={project.resolve()}",
            # systemd reads % as a specifier
            f"ExecStart={shlex.join(launch_command(entry, plan, settings)).replace('%', '%%')}",
            "",
        ])
        units[f"{unit}.timer"] = "\n".join([
            "[Unit]",
            f"Description=hebei-crawler: {entry.name} {entry.schedule}",
            "",
            "[Timer]",
            *(f"OnCalendar={expression}" for expression in on_calendar(entry.cron)),
            # A run missed while the machine was off starts once at boot.
            "Persistent=true",
            f"Unit={unit}.service",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ])
    return units
