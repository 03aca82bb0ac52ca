"""Checks at the end of every run, from this run's figures and the manifests of earlier runs.

Each run writes `OUTPUT_DIR/checks/<run_id>.json`: its figures (field coverage, error, retry,
reject and fallback rates: what the run manifest does not hold) and every check with its value,
its limit and whether it passed. A failed check makes an alert (`crawler/ops/alerts.py`), and the
`scrapy crawl` of this project (crawler/commands/crawl.py) then exits with `ALERT_EXIT_STATUS`.

The checks (docs/operations.md says how to respond to each):

- `finish_reason`: the run finished ("finished"), rather than being skipped, cancelled or shut down.
- `stories_new`: new stories are not below `(1 - MONITOR_STORIES_TOLERANCE)` x the median of the
  last `MONITOR_HISTORY_RUNS` finished runs of the same spider in the same mode (judged once
  `MONITOR_MIN_HISTORY` such runs exist).
- `coverage/<field>`: the share of stored items with the field non-empty is at least its
  `MONITOR_FIELD_COVERAGE` threshold, over the items of layouts that draw the field (the banner
  pages of 2018两会 have no breadcrumb: `NOT_DRAWN`).
- `http_errors`, `retries`, `failures`, `rejects`, `fallback`: shares of responses with a status
  of 400 or more, of requests that were retries, of pages given up on, of parsed items rejected,
  and of articles read by the fallback parser (the layout drifted) are at most `MONITOR_MAX_RATES`.
- `memory`: the crawl was not stopped for passing `MEMUSAGE_LIMIT_MB` (`memusage_exceeded`).
- `copies_failed`, `state_backend`, `writes`, `callbacks`: no copy failed to be stored, the state
  store never failed (a Redis gone, a database on a full disk), every file under OUTPUT_DIR was
  written (partitions, manifests, these checks: ENOSPC), no callback raised. Each fails at the
  first one: a run with any of them did not do its work, whatever its figures say.

A share over fewer than `MONITOR_MIN_SAMPLE` items (or responses) is not judged: the check is
recorded with `ok: null` and says why.

On a full disk the checks file and the alert file may not be written: the verdict is in the
stats first (`monitor/checks_failed`, which the exit status reads), and the alert still goes to
the log, to stderr, to `ALERT_COMMAND` and to `ALERT_WEBHOOK`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler.extract.base import ArticleParser
from crawler.extract.parsers import VERSIONS, FallbackParser
from crawler.ops.alerts import deliver
from crawler.ops.locks import channel_names
from crawler.output import FinishReason, OutputDir, read_json, run_id
from crawler.spiders import ChannelCrawl
from pipelines.files import write_atomically

# `scrapy crawl` exits with this status when a check failed (1 and 2 are Scrapy's own).
ALERT_EXIT_STATUS = 3

logger = logging.getLogger(__name__)

PARSERS: tuple[type[ArticleParser], ...] = (*VERSIONS, FallbackParser)
# Fields a layout does not draw at all, and the parsers of those layouts: their items are left out
# of that field's coverage (a banner page with no breadcrumb is not a breadcrumb gone missing).
NOT_DRAWN: dict[str, frozenset[str]] = {
    "breadcrumbs": frozenset(parser.name for parser in PARSERS if not parser._has_breadcrumbs),
}
# Who counts files under OUTPUT_DIR that could not be written: `<who>/write_errors` (`/<errno>`).
WRITERS = ("store", "validate", "monitor")


@dataclass(frozen=True)
class Limits:
    coverage: dict[str, float]
    max_rates: dict[str, float]
    history_runs: int
    min_history: int
    stories_tolerance: float
    min_sample: int
    memory_limit_mb: int = 0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Limits:
        return cls(
            coverage={k: float(v) for k, v in settings.getdict("MONITOR_FIELD_COVERAGE").items()},
            max_rates={k: float(v) for k, v in settings.getdict("MONITOR_MAX_RATES").items()},
            history_runs=settings.getint("MONITOR_HISTORY_RUNS"),
            min_history=settings.getint("MONITOR_MIN_HISTORY"),
            stories_tolerance=settings.getfloat("MONITOR_STORIES_TOLERANCE"),
            min_sample=settings.getint("MONITOR_MIN_SAMPLE"),
            memory_limit_mb=settings.getint("MEMUSAGE_LIMIT_MB"),
        )


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not judged, `message` says why
    value: float | str | None
    limit: float | str | None
    message: str


@dataclass(frozen=True)
class Share:
    """`part` of `whole`: a rate or a coverage."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


def non_empty(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict, set)):
        return bool(value)
    return True


def rates_from_stats(stats: dict[str, Any]) -> dict[str, Share]:
    """The run's error, retry, failure, reject and fallback shares."""
    get = stats.get
    responses = get("downloader/response_count", 0)
    requests = get("downloader/request_count", 0)
    prefix = "downloader/response_status_count/"
    errors = sum(v for k, v in stats.items() if k.startswith(prefix) and int(k[len(prefix):]) >= 400)
    parsed = sum(v for k, v in stats.items() if k.startswith("article/parser/"))
    rejected = get("pipeline/rejected", 0)
    return {
        "http_errors": Share(errors, responses),
        "retries": Share(get("retry/count", 0), requests),
        "failures": Share(get("failures/total", 0), requests),
        "rejects": Share(rejected, get("item_scraped_count", 0) + rejected),
        "fallback": Share(get("article/fallback", 0), parsed),
    }


def judge_share(name: str, share: Share, limit: float, at_most: bool, min_sample: int, unit: str) -> Check:
    value = share.value
    if value is None or share.whole < min_sample:
        return Check(name, None, value, limit, f"{share.whole} {unit}, fewer than {min_sample}: not judged")
    ok = value <= limit if at_most else value >= limit
    relation = ("<=" if ok else ">") if at_most else (">=" if ok else "<")
    return Check(name, ok, round(value, 4), limit,
                 f"{share.part} of {share.whole} {unit} ({value:.1%}) {relation} {limit:.0%}")


def judge_stories(new: int, earlier: list[int], limits: Limits) -> Check:
    if len(earlier) < limits.min_history:
        return Check("stories_new", None, new, None,
                     f"{len(earlier)} earlier finished runs of this spider and mode, "
                     f"fewer than {limits.min_history}: not judged")
    median = statistics.median(earlier)
    floor = median * (1 - limits.stories_tolerance)
    ok = new >= floor
    return Check("stories_new", ok, new, round(floor, 1),
                 f"{new} new stories {'>=' if ok else '<'} {floor:.1f} "
                 f"({1 - limits.stories_tolerance:.0%} of the median {median:g} of the last {len(earlier)} runs)")


def kinds(stats: dict[str, Any], prefix: str, total: str = "") -> str:
    """`ConnectionError: 3, OSError: 1` from stats `<prefix>/<kind>` (but `total`)."""
    found = {key[len(prefix) + 1:]: value for key, value in stats.items()
             if key.startswith(prefix + "/") and key[len(prefix) + 1:] != total and "/" not in key[len(prefix) + 1:]}
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(found.items()))


def judge_memory(reason: str, stats: dict[str, Any], limit_mb: int) -> Check:
    peak = round(stats.get("memusage/max", 0) / 2**20)
    if reason == "memusage_exceeded" or stats.get("memusage/limit_reached"):
        return Check("memory", False, peak, limit_mb,
                     f"memory use passed MEMUSAGE_LIMIT_MB={limit_mb} (peak {peak} MiB): the crawl was stopped")
    return Check("memory", True, peak, limit_mb, f"peak {peak} MiB" + (f" of {limit_mb} MiB" if limit_mb else ""))


def judge_count(name: str, count: int, what: str, detail: str = "") -> Check:
    """A check that fails at the first one of `what`."""
    if not count:
        return Check(name, True, 0, 0, f"{what}: none")
    return Check(name, False, count, 0, f"{what}: {count}" + (f" ({detail})" if detail else ""))


def judge_writes(stats: dict[str, Any]) -> Check:
    count = sum(stats.get(f"{who}/write_errors", 0) for who in WRITERS)
    names = Counter[str]()
    for who in WRITERS:
        for key, value in stats.items():
            if key.startswith(f"{who}/write_errors/"):
                names[key.rsplit("/", 1)[1]] += value
    detail = ", ".join(f"{name} ({os.strerror(getattr(errno, name))}): {n}" if hasattr(errno, name) else f"{name}: {n}"
                       for name, n in sorted(names.items()))
    return judge_count("writes", count, "writes under OUTPUT_DIR that failed", detail)


def health_checks(reason: str, stats: dict[str, Any], limits: Limits) -> list[Check]:
    """What went wrong whatever the figures: memory, copies lost, the state store, the disk, callbacks."""
    return [
        judge_memory(reason, stats, limits.memory_limit_mb),
        judge_count("copies_failed", stats.get("pipeline/copies_failed", 0), "copies that could not be stored",
                    "the log says why: 'could not store', 'the state store failed'"),
        judge_count("state_backend", stats.get("store/backend_errors", 0), "failures of the state store",
                    kinds(stats, "store/backend_errors")),
        judge_writes(stats),
        judge_count("callbacks", stats.get("spider_exceptions/count", 0), "callbacks that raised",
                    kinds(stats, "spider_exceptions", "count") + "; failures/ lists their pages"),
    ]


def run_checks(reason: str, stats: dict[str, Any], coverage: dict[str, Share], earlier_new: list[int],
               limits: Limits, held_by: str | None = None) -> list[Check]:
    if reason == FinishReason.FINISHED:
        checks = [Check("finish_reason", True, reason, FinishReason.FINISHED.value, "the run finished")]
    else:
        why = f"; the lock is held by {held_by}" if held_by else ""
        checks = [Check("finish_reason", False, reason, FinishReason.FINISHED.value, f"the run ended with {reason!r}{why}")]
    if reason == FinishReason.FINISHED:
        checks.append(judge_stories(stats.get("pipeline/stories_new", 0), earlier_new, limits))
    for field, threshold in limits.coverage.items():
        share = coverage.get(field, Share(0, stats.get("item_scraped_count", 0)))
        checks.append(judge_share(f"coverage/{field}", share, threshold, False, limits.min_sample, "items"))
    rates = rates_from_stats(stats)
    for name, limit in limits.max_rates.items():
        unit = "responses" if name == "http_errors" else "requests" if name in ("retries", "failures") else "items"
        checks.append(judge_share(name, rates[name], limit, True, limits.min_sample, unit))
    return checks + health_checks(reason, stats, limits)


def new_by_channel(stats: dict[str, Any], spider: str, channels: list[str]) -> dict[str, int]:
    """New stories per channel: the store's `pipeline/stories_new/<channel>` counts where it keeps
    them; else a one-channel spider's new stories are its channel's, and a spider of several
    channels (`hebei`) is one series."""
    prefix = "pipeline/stories_new/"
    counted = {key[len(prefix):]: int(value) for key, value in stats.items() if key.startswith(prefix)}
    if counted:
        return counted
    new = int(stats.get("pipeline/stories_new", 0))
    return {channels[0] if len(channels) == 1 else spider: new} if new else {}


def earlier_stories_new(output_dir: Path, spider: str, mode: str | None, current: str, count: int) -> list[int]:
    """`stories_new` of the last `count` finished runs of `spider` in `mode`, oldest first: the
    counts from the run manifests, the mode from the runs' checks files."""
    runs = []
    output = OutputDir(output_dir)
    for _, manifest in output.manifests():
        if (manifest.get("run_id") == current or manifest.get("spider") != spider
                or manifest.get("finish_reason") != FinishReason.FINISHED):
            continue
        checks = read_json(output.checks(str(manifest.get("run_id"))))
        if checks is None or checks.get("mode") != mode:
            continue
        runs.append((str(manifest.get("start")), int(manifest.get("counts", {}).get("stories_new", 0))))
    return [new for _, new in sorted(runs)[-count:]] if count > 0 else []


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else None


class Monitor:
    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.settings = crawler.settings
        self.output = OutputDir.of(crawler.settings)
        self.limits = Limits.from_settings(crawler.settings)
        self.items = 0
        self.counted: Counter[str] = Counter()  # items of layouts that draw the field
        self.filled: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Monitor:
        monitor = cls(crawler)
        crawler.signals.connect(monitor.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(monitor.spider_opened, signal=signals.spider_opened)
        return monitor

    def spider_opened(self) -> None:
        # Connected now, after every pipeline connected its own: the checks run once the store has
        # closed the run (its manifest, the ids) and count what that failed to do.
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def item_scraped(self, item: Any) -> None:
        self.items += 1
        fields = ItemAdapter(item)
        parser = fields.get("parser")
        for name, value in fields.items():
            drawn = parser not in NOT_DRAWN.get(name, ())
            self.counted[name] += drawn  # the field is in the coverage even when no item counts
            self.filled[name] += drawn and non_empty(value)

    def coverage(self) -> dict[str, Share]:
        return {name: Share(self.filled[name], self.counted[name]) for name in sorted(self.counted)}

    def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            self.judge(spider, reason)
        except Exception:
            # A run the monitor could not judge did not pass: the exit status says so.
            self.stats.set_value("monitor/checks_failed", max(1, self.stats.get_value("monitor/checks_failed", 0)))
            logger.exception("the monitor failed: the run counts as failed")

    def judge(self, spider: Spider, reason: str) -> None:
        stats = self.stats.get_stats()
        run = run_id(self.crawler)
        mode = stats.get("crawl/mode") or (spider.mode.value if isinstance(spider, ChannelCrawl) else None)
        coverage = self.coverage()
        earlier = earlier_stories_new(self.output.root, spider.name, mode, run, self.limits.history_runs)
        checks = run_checks(reason, stats, coverage, earlier, self.limits, stats.get("lock/held_by"))
        failed = [c for c in checks if c.ok is False]
        record = {
            "run_id": run,
            "spider": spider.name,
            "mode": mode,
            "start": _iso(stats.get("start_time")),
            "end": datetime.now(UTC).isoformat(timespec="seconds"),
            "finish_reason": reason,
            "items": self.items,
            "stories_new": stats.get("pipeline/stories_new", 0),
            "stories_new_by_channel": new_by_channel(stats, spider.name, channel_names(spider)),
            "coverage": {name: share.value for name, share in coverage.items()},
            "rates": {name: share.value for name, share in rates_from_stats(stats).items()},
            "checks": [asdict(c) for c in checks],
            "failed": len(failed),
        }
        self.stats.set_value("monitor/checks_failed", len(failed))  # the verdict first: the disk may be full
        try:
            write_atomically(self.output.checks(run), json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        except OSError as error:
            logger.error("could not write the checks of run %s: %s", run, error)
            self.stats.inc_value("monitor/write_errors")
            if name := errno.errorcode.get(error.errno or 0):
                self.stats.inc_value(f"monitor/write_errors/{name}")
            checks = [c for c in checks if c.name != "writes"] + [judge_writes(self.stats.get_stats())]
            failed = [c for c in checks if c.ok is False]
            self.stats.set_value("monitor/checks_failed", len(failed))
        judged = [c for c in checks if c.ok is not None]
        logger.info("checks: %d passed, %d failed, %d not judged", len(judged) - len(failed), len(failed),
                    len(checks) - len(judged))
        if not failed:
            return
        for check in failed:
            logger.error("check failed: %s: %s", check.name, check.message)
        alert = {key: record[key] for key in ("run_id", "spider", "mode", "start", "end", "finish_reason")}
        alert |= {"output_dir": str(self.output.root.resolve()), "failed": [asdict(c) for c in failed]}
        path = deliver(alert, self.output, self.settings.get("ALERT_COMMAND") or "",
                       self.settings.get("ALERT_WEBHOOK") or "")
        if path is not None:
            logger.error("alert: %s", path)
