"""The host-drift checks of the monitor (crawler/ops/monitor.py): when the portal moves to a domain
not in PORTAL_DOMAINS, its listings link articles the crawl refuses, or its pages redirect where
the gate will not follow. The run fails `offsite_links` or `offsite_redirects`, the alert names
the hosts, and adding the domain to PORTAL_DOMAINS is all it takes to crawl the portal again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.ops.monitor import ALERT_EXIT_STATUS, Limits, run_checks
from tests.replica.harness import ReplicaServer, crawl_stats, read_stories, run_crawl
from tests.replica.site import build_site

NEW_DOMAIN = "hebnews-new.cn"
LIMITS = Limits(coverage={}, max_rates={"offsite_links": 0.2, "offsite_redirects": 0.02}, history_runs=7,
                min_history=3, stories_tolerance=0.5, min_sample=20, significance=0.01)


def drift_checks(stats: dict[str, Any]) -> dict[str, Any]:
    return {c.name: c for c in run_checks("finished", stats, {}, [], LIMITS) if c.name.startswith("offsite_")}


def test_listings_whose_links_moved_off_the_portal_fail_and_name_the_hosts():
    stats = {"listing/main_links": 240, "listing/offsite_hosts/heb.hebnews-new.cn": 150,
             "listing/offsite_hosts/bd.hebnews-new.cn": 60, "listing/offsite_hosts/hebei.hebnews.cn": 2,
             "downloader/response_count": 40}
    links = drift_checks(stats)["offsite_links"]
    assert links.ok is False and links.value == pytest.approx(212 / 240, abs=1e-4)
    assert "212 of 240 main-list links" in links.message
    assert "off the portal: heb.hebnews-new.cn 150, bd.hebnews-new.cn 60, hebei.hebnews.cn 2" in links.message
    assert "add its domain to PORTAL_DOMAINS" in links.message


def test_pages_redirected_off_the_portal_fail_and_name_the_hosts():
    stats = {"downloader/response_count": 120, "gate/refused_redirects/heb.hebnews-new.cn": 45,
             "gate/refused/off-site": 45, "listing/main_links": 60}
    redirects = drift_checks(stats)["offsite_redirects"]
    assert redirects.ok is False and "45 of 120 responses" in redirects.message
    assert "heb.hebnews-new.cn 45" in redirects.message and "PORTAL_DOMAINS" in redirects.message


def test_a_stray_link_or_redirect_off_the_portal_never_fails():
    one = {"listing/main_links": 20, "listing/offsite_hosts/hebei.hebnews.cn": 1,
           "downloader/response_count": 20, "gate/refused_redirects/mp.weixin.qq.com": 1}
    assert {name: c.ok for name, c in drift_checks(one).items()} == {"offsite_links": True, "offsite_redirects": True}
    assert "off the portal: hebei.hebnews.cn 1" in drift_checks(one)["offsite_links"].message
    assert "PORTAL_DOMAINS" not in drift_checks(one)["offsite_links"].message
    few = {"listing/main_links": 8, "listing/offsite_hosts/x.example.cn": 8}  # one small listing: not judged
    assert drift_checks(few)["offsite_links"].ok is None
    many = {f"listing/offsite_hosts/h{i}.example.cn": 10 for i in range(8)} | {"listing/main_links": 80}
    assert "and 3 more hosts" in drift_checks(many)["offsite_links"].message


@pytest.fixture(scope="module")
def moved_links() -> Iterator[str]:
    with ReplicaServer("--scale", "120", "--links-to", NEW_DOMAIN) as server:
        yield server.address


def alert_of(output: Path) -> dict[str, Any]:
    (path,) = (output / "alerts").glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.integration
def test_listings_that_point_to_an_unknown_domain_raise_the_host_drift_alert(moved_links: str, tmp_path: Path):
    done = run_crawl(moved_links, tmp_path / "out", "hebei")
    assert done.returncode == ALERT_EXIT_STATUS, done.stderr[-3000:]
    assert read_stories(tmp_path / "out") == []  # every article link is refused: the feed went empty
    failed = {c["name"]: c for c in alert_of(tmp_path / "out")["failed"]}
    assert "offsite_links" in failed and failed["offsite_links"]["value"] > 0.9
    message = failed["offsite_links"]["message"]
    assert f"heb.{NEW_DOMAIN}" in message and "add its domain to PORTAL_DOMAINS" in message
    assert "check failed: offsite_links" in done.stderr

    # the one-line change the alert asks for: the same portal, crawled again
    again = run_crawl(moved_links, tmp_path / "again", "hebei",
                      settings={"PORTAL_DOMAINS": f"hebei.com.cn,hebccw.cn,{NEW_DOMAIN}"})
    assert again.returncode == 0, again.stderr[-3000:]
    stories = read_stories(tmp_path / "again")
    assert len(stories) == len(build_site(120).truth()) and all(f".{NEW_DOMAIN}/" in s["url"] for s in stories)
    assert not (tmp_path / "again" / "alerts").exists()


@pytest.mark.integration
def test_article_pages_that_redirect_off_the_portal_raise_the_host_drift_alert(tmp_path: Path):
    with ReplicaServer("--scale", "60", "--redirects-to", NEW_DOMAIN) as server:
        done = run_crawl(server.address, tmp_path, "hebei")
    assert done.returncode == ALERT_EXIT_STATUS, done.stderr[-3000:]
    stats = crawl_stats(done.stderr)
    assert stats[f"gate/refused_redirects/heb.{NEW_DOMAIN}"] > 0  # the gate refused them: nothing followed
    failed = {c["name"]: c for c in alert_of(tmp_path)["failed"]}
    assert "offsite_redirects" in failed and "offsite_links" not in failed
    assert f"heb.{NEW_DOMAIN}" in failed["offsite_redirects"]["message"]
    assert "PORTAL_DOMAINS" in failed["offsite_redirects"]["message"]
