"""The crawl plan: `crawl-plan.toml` says which channels run how often and in which mode.

```toml
[[crawl]]
channel = "hebei"          # a spider name (`scrapy list`)
every = "2h"               # or: cron = "30 3 * * *"
mode = "incremental"       # incremental | full | since=2024-03-01 | since=7d (the last 7 days)
name = "hebei"             # optional, default the channel; names the entry in history and units
settings = { CONCURRENT_REQUESTS = 8 }   # optional, passed as -s NAME=VALUE
```

Every schedule is a cron expression in the end (`every = "2h"` is `0 */2 * * *`), in the machine's
local time, so that the long-running scheduler, crontab and systemd timers run one plan at the
same times; cronsim computes its due times as Debian's cron does. An interval cron cannot say
(`5h`) is refused: write the cron expression.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import takewhile
from pathlib import Path
from typing import Any

from cronsim import CronSim, CronSimError

from crawler.spiders.arguments import parse_since

INCREMENTAL, FULL, SINCE = "incremental", "full", "since"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EVERY = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
# field: (lowest, highest), in cron's order
_RANGES = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "weekday": (0, 7)}
# cronsim's error for a field: that field
_CRONSIM_ERRORS = {"Bad minute": "minute", "Bad hour": "hour", "Bad day-of-month": "day", "Bad month": "month",
                   "Bad day-of-week": "weekday"}
_CRON_FIELD = re.compile(r"^[\d*,/-]+$")
# Every run of a plan writes where the scheduler reads, under a name the scheduler gives.
RESERVED_SETTINGS = frozenset({"OUTPUT_DIR", "RUN_ID"})


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression: minute hour day-of-month month day-of-week (0 or 7 = Sunday).

    cronsim reads it and finds its due times, as Debian's cron would (the day fields are an OR
    when both are restricted, unless one starts with `*`). Only what cron itself reads is taken:
    the plan becomes crontab lines and systemd timers too, so cronsim's extensions (seconds, `L`,
    `W`, `#`, names) are refused.
    """

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month starts with `*`
    any_weekday: bool  # day-of-week starts with `*`

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 5:
            raise PlanError(f"cron expression {text!r}: want five fields (minute hour day month weekday)")
        for part, name in zip(parts, _RANGES):
            if not _CRON_FIELD.match(part):
                raise PlanError(f"cron expression {text!r}: cannot read the {name} field {part!r} "
                                "(numbers, `*`, ranges `a-b`, steps `/n` and lists only)")
        normal = " ".join(parts)
        try:
            parsed = CronSim(normal, datetime(2000, 1, 1))
        except CronSimError as error:
            raise PlanError(f"cron expression {text!r}: {_complaint(str(error), parts)}") from None
        # plain numbers only (no `L` or `#` pairs, refused above); 7 is Sunday too
        weekdays = frozenset(0 if day == 7 else day for day in parsed.weekdays if isinstance(day, int))
        return cls(normal, frozenset(parsed.minutes), frozenset(parsed.hours), frozenset(parsed.days),
                   frozenset(parsed.months), weekdays, parts[2].startswith("*"), parts[4].startswith("*"))

    def next_after(self, moment: datetime) -> datetime:
        """The first due time strictly after `moment` (wall clock of its time zone)."""
        try:
            return next(CronSim(self.text, moment))
        except StopIteration:
            raise PlanError(f"cron expression {self.text!r} is never due") from None

    def latest_until(self, moment: datetime) -> datetime | None:
        """The last due time at or before `moment`."""
        # cronsim steps back a second before it looks: start a second after `moment`
        after = moment.replace(microsecond=0) + timedelta(seconds=1)
        return next(CronSim(self.text, after, reverse=True), None)

    def due_times(self, after: datetime, until: datetime) -> list[datetime]:
        """Every due time in (after, until]."""
        return list(takewhile(lambda due: due <= until, CronSim(self.text, after)))


def _complaint(message: str, parts: list[str]) -> str:
    """What is wrong with the field a cronsim error names."""
    name = _CRONSIM_ERRORS.get(message)
    if name is None:
        return message
    lowest, highest = _RANGES[name]
    never = ", or a day none of its months has" if name == "day" else ""
    return (f"{name} {parts[list(_RANGES).index(name)]!r} is out of {lowest}-{highest}, or a range backwards "
            f"or a step of 0{never}")


def cron_of_interval(every: str) -> str:
    """`15m` -> `*/15 * * * *`, `2h` -> `0 */2 * * *`, `1d` -> `0 0 * * *`, `1w` -> `0 0 * * 1`."""
    found = _EVERY.match(every)
    if not found:
        raise PlanError(f"every = {every!r}: want a number and a unit, m h d or w (\"30m\", \"6h\", \"1d\")")
    count, unit = int(found.group(1)), found.group(2)
    if unit == "m" and count and 60 % count == 0:
        return "* * * * *" if count == 1 else f"*/{count} * * * *"
    if unit == "h" and count and 24 % count == 0:
        return "0 * * * *" if count == 1 else f"0 */{count} * * *"
    if unit == "d" and count == 1:
        return "0 0 * * *"
    if unit == "w" and count == 1:
        return "0 0 * * 1"
    raise PlanError(f"every = {every!r} does not divide an hour or a day evenly: write a cron expression")


@dataclass(frozen=True)
class Mode:
    kind: str  # incremental | full | since
    since: date | None = None  # a fixed day
    window_days: int | None = None  # or the last N days, counted at launch

    @classmethod
    def parse(cls, text: str) -> Mode:
        if text in (INCREMENTAL, FULL):
            return cls(text)
        kind, _, value = text.partition("=")
        if kind == SINCE and value:
            try:
                found = parse_since(value)  # as `scrapy crawl -a since=` reads it
            except ValueError:
                pass
            else:
                return cls(SINCE, since=found) if isinstance(found, date) else cls(SINCE, window_days=found)
        raise PlanError(f"mode = {text!r}: want incremental, full, since=YYYY-MM-DD or since=Nd")

    def __str__(self) -> str:
        if self.kind != SINCE:
            return self.kind
        return f"since={self.window_days}d" if self.window_days is not None else f"since={self.since}"

    def spider_args(self, today: date) -> list[str]:
        if self.kind == FULL:
            return ["-a", "full=1"]
        if self.kind == SINCE:
            since = today - timedelta(days=self.window_days) if self.window_days is not None else self.since
            return ["-a", f"since={since}"]
        return []


@dataclass(frozen=True)
class PlanEntry:
    name: str
    channel: str
    cron: Cron
    mode: Mode
    every: str | None = None
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def schedule(self) -> str:
        return f"every {self.every} ({self.cron.text})" if self.every else f"cron {self.cron.text}"

    def crawl_args(self, today: date) -> list[str]:
        """The arguments of `scrapy crawl` for this entry's crawl, its settings last."""
        args = [self.channel, *self.mode.spider_args(today)]
        for key, value in self.settings.items():
            args += ["-s", f"{key}={value}"]
        return args


def parse_plan(text: str, known_spiders: Collection[str] | None = None, source: str = "plan") -> list[PlanEntry]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PlanError(f"{source}: {error}") from None
    unknown_keys = set(document) - {"crawl"}
    if unknown_keys:
        raise PlanError(f"{source}: unknown top-level keys {sorted(unknown_keys)}; entries are [[crawl]] tables")
    entries = [_entry(raw, known_spiders, f"{source}: crawl #{n}") for n, raw in enumerate(document.get("crawl", []), 1)]
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PlanError(f"{source}: two entries named {twice}: give each a distinct `name`")
    return entries


def _entry(raw: dict[str, Any], known_spiders: Collection[str] | None, where: str) -> PlanEntry:
    unknown = set(raw) - {"name", "channel", "every", "cron", "mode", "settings"}
    if unknown:
        raise PlanError(f"{where}: unknown keys {sorted(unknown)}")
    channel = raw.get("channel")
    if not isinstance(channel, str) or not channel:
        raise PlanError(f"{where}: `channel` (a spider name) is required")
    if known_spiders is not None and channel not in known_spiders:
        raise PlanError(f"{where}: no spider named {channel!r} (see `scrapy list`)")
    name = str(raw.get("name", channel))
    if not _NAME.match(name):
        raise PlanError(f"{where}: name {name!r}: lower-case letters, digits, '_' and '-' only")
    if ("every" in raw) == ("cron" in raw):
        raise PlanError(f"{where}: give `every` or `cron`, exactly one")
    every = raw.get("every")
    try:
        cron = Cron.parse(cron_of_interval(str(every)) if every is not None else str(raw["cron"]))
        mode = Mode.parse(str(raw.get("mode", INCREMENTAL)))
    except PlanError as error:
        raise PlanError(f"{where}: {error}") from None
    settings = raw.get("settings", {})
    if not isinstance(settings, dict):
        raise PlanError(f"{where}: `settings` is a table of setting names and values")
    if RESERVED_SETTINGS & set(settings):
        raise PlanError(f"{where}: {sorted(RESERVED_SETTINGS & set(settings))} belong to the scheduler, "
                        "not to an entry (give OUTPUT_DIR to `scrapy schedule` with -s)")
    return PlanEntry(name, channel, cron, mode, str(every) if every is not None else None,
                     {str(k): _setting_text(v) for k, v in settings.items()})


def _setting_text(value: Any) -> str:
    """As `-s NAME=VALUE` takes it: Scrapy reads dicts and lists given as JSON."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def load_plan(path: str | Path, known_spiders: Collection[str] | None = None) -> list[PlanEntry]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PlanError(f"cannot read the crawl plan {path}: {error.strerror}") from None
    return parse_plan(text, known_spiders, str(path))
