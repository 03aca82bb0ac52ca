"""The checks at the end of a run (crawler/ops/monitor.py): a crawl of the replica passes them all; a
crawl of the replica after a layout change fails coverage and fallback, writes the alert, calls
the alert command and the webhook, and exits non-zero. A share fails only when it is clearly past
its limit (a binomial test), and the documented `-s` override of one threshold keeps the others.
The host-drift checks: tests/test_ops_monitor_host_drift.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.ops.monitor import (
    ALERT_EXIT_STATUS,
    Limits,
    Share,
    binomial_tail,
    earlier_stories_new,
    judge_share,
    judge_stories,
    run_checks,
)
from tests.replica.harness import DriftedReplicaServer, read_stories, run_crawl

LIMITS = Limits(coverage={"title": 1.0, "editor": 0.9}, max_rates={"http_errors": 0.1, "fallback": 0.05},
                history_runs=7, min_history=3, stories_tolerance=0.5, min_sample=20, significance=0.01)


@pytest.fixture(scope="module")
def drifted_replica() -> Iterator[str]:
    with DriftedReplicaServer("--scale", "300") as server:
        yield server.address


class Webhook:
    """A loopback HTTP server that keeps what is POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []  # type: list[dict[str, Any]]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


@pytest.mark.integration
def test_a_crawl_of_the_replica_passes_every_check(replica_300: str, tmp_path: Path):
    done = run_crawl(replica_300, tmp_path, "hebei", "-a", "full=1")
    assert done.returncode == 0, done.stderr[-3000:]
    checks = json.loads(only(list((tmp_path / "checks").glob("*.json"))).read_text(encoding="utf-8"))
    assert checks["failed"] == 0 and checks["finish_reason"] == "finished" and checks["mode"] == "full"
    verdicts = {c["name"]: c["ok"] for c in checks["checks"]}
    assert verdicts.pop("stories_new") is None  # no earlier runs to compare with
    assert set(verdicts.values()) == {True}
    assert {"coverage/editor", "coverage/timestamp", "http_errors", "retries", "failures", "rejects",
            "fallback", "offsite_links", "offsite_redirects"} <= set(verdicts)
    assert checks["items"] == 550 and checks["coverage"]["title"] == 1.0
    assert not (tmp_path / "alerts").exists()


@pytest.mark.integration
def test_a_changed_layout_raises_coverage_and_fallback_alerts(drifted_replica: str, tmp_path: Path):
    webhook = Webhook()
    command_out = tmp_path / "command-got.json"
    try:
        done = run_crawl(drifted_replica, tmp_path / "out", "hebei", "-a", "full=1", settings={
            "ALERT_COMMAND": f"cat > {command_out}", "ALERT_WEBHOOK": webhook.url})
    finally:
        webhook.close()
    assert done.returncode == ALERT_EXIT_STATUS, done.stderr[-3000:]
    assert len(read_stories(tmp_path / "out")) == 300  # the crawl itself went on: it is the data that drifted

    alert = json.loads(only(list((tmp_path / "out" / "alerts").glob("*.json"))).read_text(encoding="utf-8"))
    failed = {c["name"]: c for c in alert["failed"]}
    assert set(failed) == {"coverage/editor", "fallback"}
    assert failed["coverage/editor"]["value"] == 0.0
    assert failed["fallback"]["value"] > 0.5 and failed["fallback"]["limit"] == 0.05
    assert alert["spider"] == "hebei" and alert["finish_reason"] == "finished"
    assert json.loads(command_out.read_text(encoding="utf-8")) == alert
    assert webhook.received == [alert]
    assert "check failed: coverage/editor" in done.stderr


def write_run(output: Path, run: str, start: str, new: int, spider: str = "hebei", mode: str = "incremental",
              reason: str = "finished") -> None:
    (output / "runs").mkdir(parents=True, exist_ok=True)
    (output / "checks").mkdir(parents=True, exist_ok=True)
    manifest = {"run_id": run, "spider": spider, "start": start, "end": start, "finish_reason": reason,
                "counts": {"stories_new": new}, "partitions": []}
    (output / "runs" / f"{run}.json").write_text(json.dumps(manifest), encoding="utf-8")
    (output / "checks" / f"{run}.json").write_text(json.dumps({"run_id": run, "mode": mode}), encoding="utf-8")


def test_new_stories_are_judged_against_the_median_of_earlier_runs_of_the_same_spider_and_mode(tmp_path: Path):
    for day, new in enumerate([40, 52, 47, 61], start=1):
        write_run(tmp_path, f"r{day}", f"2025-03-0{day}T06:00:00+00:00", new)
    write_run(tmp_path, "full", "2025-03-05T06:00:00+00:00", 3000, mode="full")  # another mode
    write_run(tmp_path, "other", "2025-03-05T07:00:00+00:00", 1, spider="heb_qjhb")  # another spider
    write_run(tmp_path, "killed", "2025-03-05T08:00:00+00:00", 0, reason="killed")  # not a baseline
    earlier = earlier_stories_new(tmp_path, "hebei", "incremental", "now", count=3)
    assert earlier == [52, 47, 61]  # the last three, oldest first

    assert judge_stories(30, earlier, LIMITS).ok is True  # 30 >= 0.5 x 52
    low = judge_stories(12, earlier, LIMITS)
    assert low.ok is False and low.limit == 26.0 and "median 52" in low.message
    assert judge_stories(0, earlier[:2], LIMITS).ok is None  # two runs are too few to judge


def test_each_rate_and_coverage_is_judged_against_its_limit():
    stats = {"downloader/response_count": 200, "downloader/request_count": 200,
             "downloader/response_status_count/200": 160, "downloader/response_status_count/500": 40,
             "item_scraped_count": 100, "article/parser/enorth-b/v1": 99, "article/parser/fallback": 1,
             "article/fallback": 1, "pipeline/stories_new": 100}
    checks = {c.name: c for c in run_checks("finished", stats, {"title": Share(100, 100), "editor": Share(75, 100)},
                                            [], LIMITS)}
    assert checks["finish_reason"].ok is True
    assert checks["coverage/title"].ok is True
    assert checks["coverage/editor"].ok is False and checks["coverage/editor"].value == 0.75
    assert checks["http_errors"].ok is False and "40 of 200 responses" in checks["http_errors"].message
    assert checks["fallback"].ok is True  # 1 of 100

    few = run_checks("finished", {"item_scraped_count": 5}, {"editor": Share(1, 5)}, [], LIMITS)
    assert {c.name: c.ok for c in few}["coverage/editor"] is None  # five items say too little

    cancelled = {c.name: c for c in run_checks("shutdown", stats, {}, [1, 2, 3], LIMITS)}
    assert cancelled["finish_reason"].ok is False and "stories_new" not in cancelled


def coverage_check(filled: int, items: int, threshold: float = 0.9) -> bool | None:
    return judge_share("coverage/source", Share(filled, items), threshold, False, LIMITS, "items").ok


def test_a_coverage_alert_fires_only_when_the_shortfall_is_more_than_chance():
    """A source field legitimately missing on some stories (one in ten, at a 90% threshold): a
    small re-read window of 32 items falls below 90% by chance, and that is no alert; a real
    drop is."""
    assert coverage_check(29, 32) is True  # 3 of 32 lack the field
    assert coverage_check(28, 32) is True  # 87.5%: P(<= 28 of 32 | 90%) = 0.40
    assert coverage_check(27, 32) is True  # 84.4%: 0.21, the shortfall of an ordinary window
    small = judge_share("coverage/source", Share(27, 32), 0.9, False, LIMITS, "items")
    assert "27 of 32 items (84.4%) < 90%, within chance" in small.message and "p = 0.21" in small.message
    assert coverage_check(20, 32) is False  # 62.5%: 0.00046
    drop = judge_share("coverage/source", Share(100, 200), 0.9, False, LIMITS, "items")
    assert drop.ok is False and drop.value == 0.5 and "100 of 200 items (50.0%) < 90% (p = " in drop.message
    assert coverage_check(160, 200) is False  # 80% of 200: clear (p = 2e-05)
    assert coverage_check(176, 200) is True  # 88% of 200: not (p = 0.20)
    assert coverage_check(0, 33) is False  # the layout change of the drifted replica
    assert coverage_check(31, 32, threshold=1.0) is False  # a field every item must have: the first miss fails
    assert coverage_check(5, 10) is None  # under MONITOR_MIN_SAMPLE: not judged


def test_a_rate_alert_fires_only_when_the_excess_is_more_than_chance():
    def failures(count: int, requests: int) -> bool | None:
        return judge_share("failures", Share(count, requests), 0.02, True, LIMITS, "requests").ok

    assert failures(2, 50) is True  # 4% of 50: two pages given up on say little
    assert failures(8, 50) is False
    assert failures(35, 1000) is False and failures(25, 1000) is True
    assert judge_share("failures", Share(1, 100), 0.0, True, LIMITS, "requests").ok is False  # a limit of 0


def test_the_binomial_tails_match_their_exact_values():
    assert binomial_tail(29, 32, 0.9, upper=False) == pytest.approx(0.63332, abs=1e-5)
    assert binomial_tail(30, 200, 0.1, upper=True) == pytest.approx(0.016327, abs=1e-6)
    assert binomial_tail(0, 10, 0.5, upper=True) == pytest.approx(1.0)
    assert binomial_tail(3, 3, 1.0, upper=False) == 1.0 and binomial_tail(2, 3, 1.0, upper=False) == 0.0
    assert binomial_tail(88_000, 100_000, 0.9, upper=False) < 1e-50  # a full crawl's count, computed in logs


def test_an_override_of_one_threshold_keeps_the_others():
    settings = get_project_settings().copy()
    settings.set("MONITOR_FIELD_COVERAGE", '{"editor": 0.8, "breadcrumbs": null}', priority="cmdline")
    settings.set("MONITOR_MAX_RATES", {"fallback": 0.5}, priority="cmdline")
    limits = Limits.from_settings(settings)
    assert limits.coverage == {"title": 1.0, "timestamp": 1.0, "body": 0.7, "source": 0.9, "editor": 0.8}
    assert limits.max_rates["fallback"] == 0.5 and limits.max_rates["http_errors"] == 0.1
    assert len(limits.max_rates) == 7
    assert Limits.from_settings(Settings({"MONITOR_FIELD_COVERAGE": {"editor": 0.8}})).coverage == {"editor": 0.8}


@pytest.mark.integration
def test_the_documented_override_of_one_coverage_threshold_keeps_every_other_check(replica_300: str, tmp_path: Path):
    """`-s 'MONITOR_FIELD_COVERAGE={"editor": 0.8}'` as docs/operations.md gives it, on a real crawl;
    a None drops one check."""
    done = run_crawl(replica_300, tmp_path, "heb_qjhb", settings={
        "MONITOR_FIELD_COVERAGE": '{"editor": 0.8}', "MONITOR_MAX_RATES": '{"retries": null}'})
    assert done.returncode == 0, done.stderr[-3000:]
    checks = json.loads(only(list((tmp_path / "checks").glob("*.json"))).read_text(encoding="utf-8"))
    by_name = {c["name"]: c for c in checks["checks"]}
    assert by_name["coverage/editor"]["limit"] == 0.8 and by_name["coverage/editor"]["ok"] is True
    assert {f"coverage/{f}" for f in ("title", "timestamp", "body", "source", "breadcrumbs")} <= set(by_name)
    assert by_name["coverage/title"]["limit"] == 1.0 and by_name["coverage/title"]["ok"] is True
    assert "retries" not in by_name
    assert {"http_errors", "failures", "rejects", "fallback", "offsite_links", "offsite_redirects"} <= set(by_name)


def test_a_misspelt_rate_override_fails_its_check_with_the_names_it_could_have_meant():
    limits = Limits(coverage={}, max_rates={"retrys": 0.3}, history_runs=7, min_history=3, stories_tolerance=0.5,
                    min_sample=20, significance=0.01)
    (check,) = [c for c in run_checks("finished", {}, {}, [], limits) if c.name == "retrys"]
    assert check.ok is False and "the rates are http_errors, retries," in check.message
