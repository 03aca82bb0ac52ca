"""Checks at the end of every run, from this run's figures and the manifests of earlier runs.

Each run writes `OUTPUT_DIR/checks/<run_id>.json`: its figures (field coverage, error, retry,
reject, fallback and off-portal rates: what the run manifest does not hold) and every check with its value,
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
- `offsite_links`, `offsite_redirects` (host drift): shares of main-list links that lead off the
  portal (`listing/offsite_hosts/<host>` of `listing/main_links`) and of responses that were
  redirects off it, refused by the gate (`gate/refused_redirects/<host>`), are at most
  `MONITOR_MAX_RATES`; the message names the hosts, so that a move of the portal to a new domain
  is one line in `PORTAL_DOMAINS`, not a silent empty feed.
- `memory`: the crawl was not stopped for passing `MEMUSAGE_LIMIT_MB` (`memusage_exceeded`).
- `copies_failed`, `state_backend`, `writes`, `callbacks`: no copy failed to be stored, the state
  store never failed (a Redis gone, a database on a full disk), every file under OUTPUT_DIR was
  written (partitions, manifests, these checks: ENOSPC), no callback raised. Each fails at the
  first one: a run with any of them did not do its work, whatever its figures say.

The dict settings follow Scrapy's `*_BASE` pattern: `MONITOR_FIELD_COVERAGE_BASE` and
`MONITOR_MAX_RATES_BASE` hold the defaults, `MONITOR_FIELD_COVERAGE` and `MONITOR_MAX_RATES` the
user's overrides, merged over them; a value of None drops that check.

A share over fewer than `MONITOR_MIN_SAMPLE` items (or responses, links) is not judged: the check is
recorded with `ok: null` and says why. A share past its limit fails only when the shortfall is
statistically clear: when a rate exactly at the limit would give a count this far past it with a
probability below `MONITOR_SIGNIFICANCE` (a one-sided exact binomial test). A small window is
not failed for the chance shortfall of a field missing on a few stories; a threshold of 1.0 (or a
limit of 0) still fails at the first miss.

A job of several workers (`FRONTIER = "redis"`, docs/distributed.md) is judged once, as one run:
its last worker (the one `crawler.signals.job_done` reaches) judges the job's totals (every
worker's numbers, added up at its close: `pipelines.runs.JobLedger`) and writes
`checks/<job run id>.json`, the id of the job's entry in `runs/`; its exit status is the job's
verdict. A worker that finished and was not the last writes no checks (its share is in the
job's), so that an operator reads one verdict per job; a worker that ended otherwise (skipped,
shut down, over its memory) is judged on its own, as any run. The field coverage travels in the
stats for that reason (`monitor/coverage/<field>/drawn`, `.../filled`).

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
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from math import exp, fsum, lgamma, log, log1p
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler import signals as project_signals
from crawler.distributed import frontier_job
from crawler.distributed.job import Job
from crawler.extract.base import ArticleParser
from crawler.extract.parsers import VERSIONS, FallbackParser
from crawler.ops.alerts import deliver
from crawler.ops.locks import channel_names
from crawler.output import FinishReason, OutputDir, read_json, run_id
from crawler.spiders import ChannelCrawl
from pipelines.files import write_atomically
from pipelines.runs import JobLedger, JobRecord, feed_manifests, not_for_tools

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
# What each rate of `MONITOR_MAX_RATES` is a share of.
RATE_UNITS = {"http_errors": "responses", "retries": "requests", "failures": "requests", "rejects": "items",
              "fallback": "items", "offsite_links": "main-list links", "offsite_redirects": "responses"}
# The rates counted per host off the portal (`<prefix><host>`): their checks name the hosts.
OFFSITE_HOSTS = {"offsite_links": "listing/offsite_hosts/", "offsite_redirects": "gate/refused_redirects/"}
TOP_HOSTS = 5  # hosts a host-drift message names
COVERAGE = "monitor/coverage/"  # `<COVERAGE><field>/drawn` and `/filled`: items of layouts that draw it, and with it


@dataclass(frozen=True)
class Limits:
    coverage: dict[str, float]
    max_rates: dict[str, float]
    history_runs: int
    min_history: int
    stories_tolerance: float
    min_sample: int
    significance: float
    memory_limit_mb: int = 0

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Limits:
        return cls(
            coverage=limits_with_base(settings, "MONITOR_FIELD_COVERAGE"),
            max_rates=limits_with_base(settings, "MONITOR_MAX_RATES"),
            history_runs=settings.getint("MONITOR_HISTORY_RUNS"),
            min_history=settings.getint("MONITOR_MIN_HISTORY"),
            stories_tolerance=settings.getfloat("MONITOR_STORIES_TOLERANCE"),
            min_sample=settings.getint("MONITOR_MIN_SAMPLE"),
            significance=settings.getfloat("MONITOR_SIGNIFICANCE"),
            memory_limit_mb=settings.getint("MEMUSAGE_LIMIT_MB"),
        )


def limits_with_base(settings: BaseSettings, name: str) -> dict[str, float]:
    """`<name>_BASE` with the user's `<name>` merged over it (Scrapy's `getwithbase`); a value of
    None drops that check."""
    return {key: float(value) for key, value in settings.getwithbase(name).items() if value is not None}


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


def coverage_of(stats: dict[str, Any]) -> dict[str, Share]:
    """Each field's coverage, from the stats (`COVERAGE`): of the items of layouts that draw it,
    those with it non-empty."""
    fields = sorted({key[len(COVERAGE):].rpartition("/")[0] for key in stats if key.startswith(COVERAGE)})
    return {name: Share(int(stats.get(f"{COVERAGE}{name}/filled", 0)), int(stats.get(f"{COVERAGE}{name}/drawn", 0)))
            for name in fields}


def per_host(stats: dict[str, Any], prefix: str) -> Counter[str]:
    """Counts of stats `<prefix><host>`, by host."""
    return Counter({key[len(prefix):]: int(value) for key, value in stats.items() if key.startswith(prefix)})


def rates_from_stats(stats: dict[str, Any]) -> dict[str, Share]:
    """The run's error, retry, failure, reject, fallback and off-portal shares."""
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
        "offsite_links": Share(per_host(stats, OFFSITE_HOSTS["offsite_links"]).total(), get("listing/main_links", 0)),
        "offsite_redirects": Share(per_host(stats, OFFSITE_HOSTS["offsite_redirects"]).total(), responses),
    }


def binomial_tail(count: int, trials: int, rate: float, upper: bool) -> float:
    """P(X >= count) when `upper`, else P(X <= count), for X ~ Binomial(trials, rate)."""
    if rate <= 0.0 or rate >= 1.0:
        certain = 0 if rate <= 0.0 else trials  # the one count X can take
        return float(certain >= count if upper else certain <= count)
    counts = range(max(count, 0), trials + 1) if upper else range(min(count, trials) + 1)
    log_rate, log_rest, log_all = log(rate), log1p(-rate), lgamma(trials + 1)
    return min(1.0, fsum(exp(log_all - lgamma(k + 1) - lgamma(trials - k + 1) + k * log_rate + (trials - k) * log_rest)
                         for k in counts))


def judge_share(name: str, share: Share, limit: float, at_most: bool, limits: Limits, unit: str) -> Check:
    """A share fails when it is past `limit` beyond what chance gives at that limit: a one-sided
    exact binomial test at `limits.significance`."""
    value = share.value
    if value is None or share.whole < limits.min_sample:
        return Check(name, None, value, limit, f"{share.whole} {unit}, fewer than {limits.min_sample}: not judged")
    past = value > limit if at_most else value < limit
    relation = (">" if past else "<=") if at_most else ("<" if past else ">=")
    figures = f"{share.part} of {share.whole} {unit} ({value:.1%}) {relation} {limit:.0%}"
    if not past:
        return Check(name, True, round(value, 4), limit, figures)
    chance = binomial_tail(share.part, share.whole, limit, upper=at_most)
    if chance >= limits.significance:
        return Check(name, True, round(value, 4), limit, f"{figures}, within chance on {share.whole} {unit} "
                     f"(p = {chance:.2g} >= {limits.significance:g}): passes")
    return Check(name, False, round(value, 4), limit, f"{figures} (p = {chance:.2g} < {limits.significance:g})")


def name_hosts(check: Check, hosts: Counter[str]) -> Check:
    """`check` with the hosts off the portal in its message, the most frequent first."""
    if not hosts:
        return check
    ranked = sorted(hosts.items(), key=lambda pair: (-pair[1], pair[0]))
    named = ", ".join(f"{host} {count}" for host, count in ranked[:TOP_HOSTS])
    more = f" and {len(ranked) - TOP_HOSTS} more hosts" if len(ranked) > TOP_HOSTS else ""
    message = f"{check.message}; off the portal: {named}{more}"
    if check.ok is False:
        message += ("; if that is the portal's new home, add its domain to PORTAL_DOMAINS "
                    "(crawler/settings.py, or -s PORTAL_DOMAINS=... for a run)")
    return replace(check, message=message)


def judge_rate(name: str, share: Share, limit: float, stats: dict[str, Any], limits: Limits) -> Check:
    check = judge_share(name, share, limit, True, limits, RATE_UNITS[name])
    prefix = OFFSITE_HOSTS.get(name)
    return check if prefix is None else name_hosts(check, per_host(stats, prefix))


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
        checks.append(judge_share(f"coverage/{field}", share, threshold, False, limits, "items"))
    rates = rates_from_stats(stats)
    for name, limit in limits.max_rates.items():
        if name not in rates:  # a misspelt override: said, not a crash of the monitor
            checks.append(Check(name, False, None, limit, f"MONITOR_MAX_RATES names no such rate; "
                                f"the rates are {', '.join(rates)}"))
            continue
        checks.append(judge_rate(name, rates[name], limit, stats, limits))
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
    for _, manifest in feed_manifests(output):  # a job is one run: its workers' parts are not
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
        job = frontier_job(crawler.settings)
        self.ledger = JobLedger(job) if job is not None else None
        self.last_of_job = False  # this worker is the last of its job: it judges the job
        self.job_record: JobRecord | None = None  # what every worker of the job did

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Monitor:
        not_for_tools(crawler)
        monitor = cls(crawler)
        crawler.signals.connect(monitor.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(monitor.spider_opened, signal=signals.spider_opened)
        if monitor.ledger is not None:
            crawler.signals.connect(monitor.job_done, signal=project_signals.job_done)
        return monitor

    def job_done(self, job: Job) -> None:
        """The last worker of a job: read every worker's part while the job's keys exist."""
        assert self.ledger is not None
        self.last_of_job = True
        spider = self.crawler.spidercls.name if self.crawler.spidercls else None
        self.job_record = self.ledger.read(spider, _iso(self.stats.get_value("start_time")) or "")

    def spider_opened(self) -> None:
        # Connected now, after every pipeline connected its own: the checks run once the store has
        # closed the run (its manifest, the ids) and count what that failed to do.
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def item_scraped(self, item: Any) -> None:
        fields = ItemAdapter(item)
        parser = fields.get("parser")
        inc = self.stats.inc_value
        for name, value in fields.items():
            drawn = parser not in NOT_DRAWN.get(name, ())
            inc(f"{COVERAGE}{name}/drawn", int(drawn))  # the field is in the coverage even when no item counts
            inc(f"{COVERAGE}{name}/filled", int(drawn and non_empty(value)))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            self.judge(spider, reason)
        except Exception:
            # A run the monitor could not judge did not pass: the exit status says so.
            self.stats.set_value("monitor/checks_failed", max(1, self.stats.get_value("monitor/checks_failed", 0)))
            logger.exception("the monitor failed: the run counts as failed")
        if self.ledger is not None:
            self.ledger.job.close()

    def judge(self, spider: Spider, reason: str) -> None:
        if self.last_of_job and self.job_record is None:
            raise RuntimeError(f"the parts of job {self.ledger.job.name if self.ledger else ''} could not be read")
        if self.ledger is not None and not self.last_of_job and reason == FinishReason.FINISHED:
            self.stats.set_value("monitor/checks_failed", 0)
            logger.info("checks: none of this worker's own; its job %s is judged once, by its last worker",
                        self.ledger.job.name)
            return
        stats = self.stats.get_stats()
        run, start = run_id(self.crawler), _iso(stats.get("start_time"))
        parts: dict[str, Any] = {}
        if self.job_record is not None:  # the job's totals, judged as one run: the job's entry in runs/
            stats = {**stats, **self.job_record.totals(run, stats)}
            run, start = self.job_record.run_id, self.job_record.start
            parts = {"parts": sorted(self.job_record.parts), "parts_killed": self.job_record.killed()}
        mode = stats.get("crawl/mode") or (spider.mode.value if isinstance(spider, ChannelCrawl) else None)
        coverage = coverage_of(stats)
        earlier = earlier_stories_new(self.output.root, spider.name, mode, run, self.limits.history_runs)
        checks = run_checks(reason, stats, coverage, earlier, self.limits, stats.get("lock/held_by"))
        failed = [c for c in checks if c.ok is False]
        record = {
            "run_id": run,
            "spider": spider.name,
            "mode": mode,
            "start": start,
            "end": datetime.now(UTC).isoformat(timespec="seconds"),
            "finish_reason": reason,
            **parts,
            "items": int(stats.get("item_scraped_count", 0)),
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
