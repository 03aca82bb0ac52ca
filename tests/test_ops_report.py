"""`scrapy report`: the HTML report rendered from real runs of the replica (two channels, then one
of them again after a layout change), read back from the page; a screenshot where Chromium is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from lxml import html

from tests.replica.harness import REPO, DriftedReplicaServer, ReplicaServer, run_crawl

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three runs in one OUTPUT_DIR: 全景河北 and 河北要闻, then 全景河北 after a layout change."""
    output = tmp_path_factory.mktemp("report") / "output"
    with ReplicaServer("--scale", "300") as replica:
        for spider in ("heb_qjhb", "heb_hbyw"):
            assert run_crawl(replica.address, output, spider, "-a", "full=1").returncode == 0
    with DriftedReplicaServer("--scale", "300") as drifted:
        assert run_crawl(drifted.address, output, "heb_qjhb", "-a", "full=1").returncode != 0  # it alerts
    return output


@pytest.fixture(scope="module")
def report(history: Path) -> Iterator[Path]:
    target = history.parent / "report.html"
    done = subprocess.run([sys.executable, "-m", "scrapy", "report", "--output-dir", str(history), "--out", str(target)],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    yield target


def manifests(output: Path) -> list[dict]:
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in (output / "runs").glob("*.json")]
    return sorted(runs, key=lambda m: m["start"])


def test_the_report_shows_new_stories_per_day_per_channel(history: Path, report: Path):
    page = html.parse(str(report)).getroot()
    bars = page.cssselect("#stories-per-day rect.bar")
    shown = {(b.get("data-day"), b.get("data-channel")): int(b.get("data-value")) for b in bars}
    first, second, _ = manifests(history)
    day = f"{datetime.fromisoformat(first['start']).astimezone():%Y-%m-%d}"  # a day of the machine's clock
    assert shown == {(day, "heb_qjhb"): first["counts"]["stories_new"], (day, "heb_hbyw"): second["counts"]["stories_new"]}
    assert first["counts"]["stories_new"] == 33
    assert {k.text_content() for k in page.cssselect("#stories-per-day .legend .key")} == {"heb_qjhb", "heb_hbyw"}


def test_the_report_shows_field_coverage_run_by_run_with_the_drop_marked(history: Path, report: Path):
    page = html.parse(str(report)).getroot()
    runs = [m["run_id"] for m in manifests(history)]
    editor = {p.get("data-run"): float(p.get("data-value"))
              for p in page.cssselect('#coverage circle[data-field="editor"]')}
    assert list(editor) == runs  # one point per run, in order
    assert editor[runs[0]] > 0.9 and editor[runs[2]] == 0.0
    below = {(p.get("data-run"), p.get("data-field")) for p in page.cssselect("#coverage circle.below")}
    assert below == {(runs[2], "editor")}


def test_the_report_shows_errors_and_alerts(history: Path, report: Path):
    page = html.parse(str(report)).getroot()
    runs = [m["run_id"] for m in manifests(history)]
    assert [m.get("data-run") for m in page.cssselect("#errors .alert-mark")] == [runs[2]]
    assert {r.get("data-kind") for r in page.cssselect("#errors rect.bar")} == {"failed", "rejected"}
    alerts = [[td.text_content() for td in tr.cssselect("td")] for tr in page.cssselect("#alerts tbody tr")]
    assert {(row[2], row[3]) for row in alerts} == {(runs[2], "coverage/editor"), (runs[2], "fallback")}
    rows = page.cssselect("#runs tbody tr")
    assert [tr.cssselect("td")[-1].text_content() for tr in rows] == runs[::-1]  # newest first
    cards = {c.get("data-card"): c.cssselect("b")[0].text_content() for c in page.cssselect(".card")}
    assert cards["runs"] == "3" and cards["runs with alerts"] == "1"
    assert not page.cssselect("script") and "http" not in "".join(page.xpath("//@src | //link/@href"))


def test_the_report_shows_code_as_code_not_backticks(report: Path):
    page = html.parse(str(report)).getroot()
    assert "`" not in page.text_content()
    # no schedule history here: the missed-runs table says so, naming the command as code
    assert [c.text_content() for c in page.cssselect("#missed code")] == ["scrapy schedule"]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)")
def test_a_headless_browser_draws_the_report(report: Path):
    shot = report.with_suffix(".png")
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--screenshot={shot}", "--window-size=1040,1800", report.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1040, 1800)
    assert len(data) > 50_000  # charts and tables, not a blank page
