"""A static HTML report of the run history: one file, no server, no script, charts in inline SVG.

It reads what the runs left under `OUTPUT_DIR`: the run manifests (`runs/`), the monitor's
checks (`checks/`), the alerts (`alerts/`) and the schedule history (`schedule/history.jsonl`),
and shows new stories per day per channel, field coverage run by run, failed pages, rejects and
alerts run by run, then the alerts, the runs that were scheduled and did not run, and every run.

Chart elements carry `data-*` attributes with the numbers they draw, so that a test (or a
curious operator) reads the figures back from the page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from crawler.ops.runner import RAN, read_history
from crawler.output import FinishReason, OutputDir, read_json
from pipelines.runs import feed_manifests

# Series colours; red is kept for what is wrong (alerts, failed pages, values below threshold).
PALETTE = ("#4e79a7", "#59a14f", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#17becf", "#bab0ac",
           "#8c564b", "#ff9da7", "#f28e2b")
LAST_DAYS = 60  # days shown in the stories chart
LAST_RUNS = 60  # runs shown in the per-run charts
TABLE_ROWS = 200
WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 56


@dataclass
class Run:
    run_id: str
    spider: str
    start: datetime | None
    end: datetime | None
    finish_reason: str | None
    counts: dict[str, int]
    mode: str | None = None
    coverage: dict[str, float | None] = field(default_factory=dict)
    coverage_limits: dict[str, float] = field(default_factory=dict)
    failed_checks: list[dict[str, Any]] = field(default_factory=list)
    new_by_channel: dict[str, int] = field(default_factory=dict)

    @property
    def day(self) -> str:
        return f"{self.start:%Y-%m-%d}" if self.start else "unknown"

    @property
    def label(self) -> str:
        return f"{self.start:%m-%d %H:%M}" if self.start else self.run_id


def _local(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)).astimezone()
    except ValueError:
        return None


def load_runs(output: Path) -> list[Run]:
    """Every run with a manifest, oldest first, with what its checks file adds. A job of several
    workers is one run (its entry); its workers' own manifests are parts of it, not runs."""
    runs = []
    for _, manifest in feed_manifests(OutputDir(output)):
        run = Run(str(manifest["run_id"]), str(manifest.get("spider")), _local(manifest.get("start")),
                  _local(manifest.get("end")) if manifest.get("end") else None, manifest.get("finish_reason"),
                  {k: int(v) for k, v in (manifest.get("counts") or {}).items()})
        checks = read_json(OutputDir(output).checks(run.run_id))
        if checks is not None:
            run.mode = checks.get("mode")
            run.failed_checks = [c for c in checks.get("checks", []) if c.get("ok") is False]
            for check in checks.get("checks", []):
                name = str(check.get("name", ""))
                if name.startswith("coverage/") and check.get("ok") is not None:
                    run.coverage[name.removeprefix("coverage/")] = check.get("value")
                    run.coverage_limits[name.removeprefix("coverage/")] = float(check.get("limit") or 0)
            run.new_by_channel = {k: int(v) for k, v in (checks.get("stories_new_by_channel") or {}).items()}
        if not run.new_by_channel and run.counts.get("stories_new"):
            run.new_by_channel = {run.spider: run.counts["stories_new"]}
        runs.append(run)
    return sorted(runs, key=lambda r: (r.start or datetime.min.astimezone(), r.run_id))


def not_run(output: Path) -> list[dict[str, Any]]:
    """Scheduled due times that did not get a run, from the schedule history, newest first."""
    found = [r for r in read_history(output)
             if r.get("event") == "missed" or (r.get("event") == "ended" and r.get("outcome") not in RAN)]
    return sorted(found, key=lambda r: str(r.get("due")), reverse=True)


# charts ----------------------------------------------------------------------------------------
def axis_top(value: float) -> int:
    """The top of a count axis with four gridlines: 4 x (1, 2 or 5 x 10^k), at or above `value`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * factor * step >= value:
                return 4 * factor * step
        step *= 10


def _svg(body: list[str], label: str, height: int = HEIGHT) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
            f'height="{height}" role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>")


def _y_axis(top_value: float, percent: bool = False) -> list[str]:
    parts = []
    plot = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top_value * i / 4
        y = HEIGHT - BOTTOM - plot * i / 4
        text = f"{value:.0%}" if percent else f"{value:g}"
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
    return parts


def _x_labels(labels: list[str], band: float) -> list[str]:
    every = max(1, len(labels) // 16 + (len(labels) % 16 > 0))
    parts = []
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + band * (i + 0.5)
            parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="end" '
                         f'transform="rotate(-35 {x:.1f} {HEIGHT - BOTTOM + 14})">{escape(label)}</text>')
    return parts


def _legend(names: list[str], colors: dict[str, str]) -> str:
    items = "".join(f'<span class="key"><i style="background:{colors[n]}"></i>{escape(n)}</span>' for n in names)
    return f'<div class="legend">{items}</div>'


def stories_chart(runs: list[Run], colors: dict[str, str]) -> str:
    """Stacked bars: new stories per day, one colour per channel."""
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for run in runs:
        for channel, new in run.new_by_channel.items():
            per_day[run.day][channel] += new
    days = sorted(per_day)[-LAST_DAYS:]
    if not days:
        return '<p class="empty">No run has stored a new story yet.</p>'
    channels = sorted({c for d in days for c in per_day[d]})
    top = axis_top(max(sum(per_day[d].values()) for d in days))
    band = (WIDTH - LEFT - RIGHT) / len(days)
    plot = HEIGHT - TOP - BOTTOM
    body = _y_axis(top)
    for i, day in enumerate(days):
        y = float(HEIGHT - BOTTOM)
        for channel in channels:
            value = per_day[day].get(channel, 0)
            if not value:
                continue
            h = plot * value / top
            y -= h
            body.append(f'<rect class="bar" data-day="{day}" data-channel="{escape(channel)}" data-value="{value}" '
                        f'x="{LEFT + band * i + band * 0.15:.1f}" y="{y:.1f}" width="{band * 0.7:.1f}" '
                        f'height="{h:.1f}" fill="{colors[channel]}"><title>{day} {escape(channel)}: '
                        f'{value} new stories</title></rect>')
    body += _x_labels(days, band)
    return _svg(body, "New stories per day, by channel") + _legend(channels, colors)


def coverage_chart(runs: list[Run], colors: dict[str, str]) -> str:
    """A line per checked field: its share of non-empty values, run by run; a point below its
    threshold is ringed red."""
    shown = [r for r in runs if r.coverage][-LAST_RUNS:]
    if not shown:
        return '<p class="empty">No run has coverage figures yet.</p>'
    fields = sorted({f for r in shown for f in r.coverage})
    band = (WIDTH - LEFT - RIGHT) / len(shown)
    plot = HEIGHT - TOP - BOTTOM
    body = _y_axis(1.0, percent=True)
    for name in fields:
        points = []
        for i, run in enumerate(shown):
            value = run.coverage.get(name)
            if value is None:
                continue
            x, y = LEFT + band * (i + 0.5), HEIGHT - BOTTOM - plot * value
            points.append((x, y, run, value))
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            body.append(f'<polyline class="line" points="{path}" stroke="{colors[name]}"/>')
        for x, y, run, value in points:
            below = value < run.coverage_limits.get(name, 0)
            body.append(f'<circle class="point{" below" if below else ""}" data-run="{escape(run.run_id)}" '
                        f'data-field="{escape(name)}" data-value="{value:.4f}" cx="{x:.1f}" cy="{y:.1f}" '
                        f'r="{6 if below else 4}" '
                        f'fill="{colors[name]}"><title>{escape(run.label)} {escape(run.spider)}: {escape(name)} '
                        f'{value:.1%} (threshold {run.coverage_limits.get(name, 0):.0%})</title></circle>')
    body += _x_labels([r.label for r in shown], band)
    return _svg(body, "Field coverage per run") + _legend(fields, colors)


def errors_chart(runs: list[Run]) -> str:
    """Per run: pages given up on and items rejected, side by side; a red mark over a run with
    alerts."""
    shown = runs[-LAST_RUNS:]
    if not shown:
        return '<p class="empty">No runs yet.</p>'
    top = axis_top(max(max(r.counts.get("failed", 0), r.counts.get("rejected", 0)) for r in shown))
    band = (WIDTH - LEFT - RIGHT) / len(shown)
    plot = HEIGHT - TOP - BOTTOM
    body = _y_axis(top)
    for i, run in enumerate(shown):
        for j, (kind, color) in enumerate((("failed", "#e15759"), ("rejected", "#f28e2b"))):
            value = run.counts.get(kind, 0)
            h = plot * value / top
            body.append(f'<rect class="bar" data-run="{escape(run.run_id)}" data-kind="{kind}" data-value="{value}" '
                        f'x="{LEFT + band * i + band * (0.15 + 0.35 * j):.1f}" y="{HEIGHT - BOTTOM - h:.1f}" '
                        f'width="{band * 0.35:.1f}" height="{h:.1f}" fill="{color}"><title>{escape(run.label)} '
                        f'{escape(run.spider)}: {value} {kind}</title></rect>')
        if run.failed_checks:
            x = LEFT + band * (i + 0.5)
            names = ", ".join(c["name"] for c in run.failed_checks)
            body.append(f'<path class="alert-mark" data-run="{escape(run.run_id)}" '
                        f'd="M{x - 6:.1f},{TOP + 10} L{x + 6:.1f},{TOP + 10} L{x:.1f},{TOP} Z" fill="#d62728">'
                        f'<title>{escape(run.label)} {escape(run.spider)}: alert: {escape(names)}</title></path>')
    body += _x_labels([r.label for r in shown], band)
    legend = {"pages given up on": "#e15759", "items rejected": "#f28e2b", "alert": "#d62728"}
    return _svg(body, "Failed pages, rejects and alerts per run") + _legend(list(legend), legend)


# tables ----------------------------------------------------------------------------------------
def prose(text: str) -> str:
    """Text as HTML, its `...` spans (commands, paths, names, as in the docs) as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _table(headers: list[str], rows: list[list[str]], table_id: str, empty: str) -> str:
    if not rows:
        return f'<p class="empty" id="{table_id}">{prose(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1 else f"{value:g}"
    return escape(str(value)) if value is not None else ""


def alerts_table(runs: list[Run]) -> str:
    rows = [[escape(run.label), escape(run.spider), f"<code>{escape(run.run_id)}</code>", escape(c["name"]),
             _value(c.get("value")), _value(c.get("limit")), prose(str(c.get("message", "")))]
            for run in reversed(runs) for c in run.failed_checks][:TABLE_ROWS]
    return _table(["run start", "spider", "run", "check", "value", "limit", "what"], rows, "alerts", "No alerts.")


def not_run_table(records: list[dict[str, Any]]) -> str:
    rows = [[escape(str(r.get("due", ""))[:16].replace("T", " ")), escape(str(r.get("entry", ""))),
             escape(str(r.get("channel", ""))), prose(str(r.get("reason") or r.get("outcome") or ""))]
            for r in records][:TABLE_ROWS]
    return _table(["due", "plan entry", "channel", "why it did not run"], rows, "missed",
                  "Every scheduled run ran (or nothing is scheduled through `scrapy schedule`).")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def runs_table(runs: list[Run]) -> str:
    rows = []
    for run in reversed(runs[-TABLE_ROWS:]):
        took = _duration((run.end - run.start).total_seconds()) if run.start and run.end else ""
        reason = run.finish_reason or ("running" if run.end is None else "")
        flag = ' class="bad"' if reason not in (FinishReason.FINISHED, "running") else ""
        c = run.counts
        rows.append([escape(run.label), escape(run.spider), escape(run.mode or ""), took,
                     f"<span{flag}>{escape(reason)}</span>", str(c.get("pages_fetched", 0)),
                     str(c.get("stories_new", 0)), str(c.get("stories_updated", 0)), str(c.get("copies_merged", 0)),
                     str(c.get("rejected", 0)), str(c.get("failed", 0)), str(len(run.failed_checks)),
                     f"<code>{escape(run.run_id)}</code>"])
    return _table(["start", "spider", "mode", "took", "finish", "pages", "new", "updated", "merged", "rejected",
                   "failed", "alerts", "run"], rows, "runs", "No runs yet.")


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
color:#222;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.meta{color:#666}.cards{display:flex;gap:12px;margin:16px 0}
.card{flex:1;border:1px solid #ddd;border-radius:6px;padding:10px 12px}
.card b{display:block;font-size:22px}.card.bad b{color:#d62728}
svg{display:block;background:#fafafa;border:1px solid #eee;border-radius:4px}
.grid{stroke:#e3e3e3}.tick{font-size:11px;fill:#555}.line{fill:none;stroke-width:2}
.point.below{stroke:#d62728;stroke-width:3;fill:#fff}
.legend{margin:6px 0 0;font-size:12px}.key{margin-right:14px;white-space:nowrap}
.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{text-align:left;padding:4px 6px;
border-bottom:1px solid #eee;vertical-align:top}th{background:#f3f3f3}code{font-size:11.5px}
.bad{color:#d62728;font-weight:600}.empty{color:#666;font-style:italic}
"""


def render(output: Path, now: datetime | None = None) -> str:
    runs = load_runs(output)
    missed = not_run(output)
    now = now or datetime.now().astimezone()
    names = sorted({c for r in runs for c in r.new_by_channel} | {f for r in runs for f in r.coverage})
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    alerts = sum(bool(r.failed_checks) for r in runs)
    period = f"{runs[0].day} to {runs[-1].day}" if runs else "no runs yet"
    cards = [("runs", str(len(runs)), False),
             ("new stories", str(sum(r.counts.get("stories_new", 0) for r in runs)), False),
             ("runs with alerts", str(alerts), alerts > 0),
             ("pages given up on", str(sum(r.counts.get("failed", 0) for r in runs)), False),
             ("scheduled runs missed", str(len(missed)), bool(missed))]
    card_html = "".join(f'<div class="card{" bad" if bad else ""}" data-card="{escape(label)}">'
                        f"<b>{escape(value)}</b>{escape(label)}</div>" for label, value, bad in cards)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Crawl report: 长城网 (hebei.com.cn)</title>',
        f"<style>{STYLE}</style></head><body>",
        "<h1>Crawl report: 长城网 (hebei.com.cn)</h1>",
        f'<p class="meta">{escape(str(output.resolve()))} · {escape(period)} · made {now:%Y-%m-%d %H:%M}</p>',
        f'<div class="cards">{card_html}</div>',
        "<h2>New stories per day, by channel</h2>",
        f'<div id="stories-per-day">{stories_chart(runs, colors)}</div>',
        f"<h2>Field coverage per run (last {LAST_RUNS} runs)</h2>",
        '<p class="meta">Share of stored items with the field non-empty; a red ring is below its threshold.</p>',
        f'<div id="coverage">{coverage_chart(runs, colors)}</div>',
        f"<h2>Failed pages, rejects and alerts per run (last {LAST_RUNS} runs)</h2>",
        f'<div id="errors">{errors_chart(runs)}</div>',
        "<h2>Alerts</h2>",
        alerts_table(runs),
        "<h2>Scheduled runs that did not run</h2>",
        not_run_table(missed),
        "<h2>Runs</h2>",
        runs_table(runs),
        "</body></html>",
    ]) + "\n"
