"""Scrapy's own tools on this project's spiders, run as a user runs them (subprocesses through the
replica): `shell`, `fetch` and `parse` leave no run behind; `parse` and `check` work on article
and listing pages; `-O` gives copies, named as such; `-a` arguments are read as the plan reads
them, and bad ones are usage errors; the report splits a run of several channels."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from lxml import html

from crawler.items import FIELDS
from crawler.ops.plan import Mode as PlanMode
from crawler.ops.plan import PlanError
from crawler.output import Mode
from crawler.site.urls import article_id
from crawler.spiders.arguments import crawl_mode
from crawler.spiders.samples import SAMPLES
from tests.replica.harness import (
    ERA_2026_SETTINGS,
    REPLICA_CRAWL_SETTINGS,
    REPO,
    ReplicaServer,
    crawl_env,
    crawl_stats,
    run_crawl,
)
from tests.replica.site import ERA_2026, PARSER_OF_LAYOUT, build_site

ARTICLE = "http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml"  # in the site notes' corpus
LISTING = "http://heb.hebei.com.cn/qjhb/"
SPIDER = "heb_sldhdbdj"  # a channel of many listings: walking them all costs many requests


def scrapy(address: str | None, output: Path, *args: str, timeout: float = 300,
           settings: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`scrapy ARGS` from the repository root, through the replica at `address` when given."""
    given = {**REPLICA_CRAWL_SETTINGS, **(settings or {}), "OUTPUT_DIR": str(output)}
    options = [item for key, value in given.items() for item in ("-s", f"{key}={value}")]
    return subprocess.run([sys.executable, "-m", "scrapy", *args, *options], cwd=REPO, capture_output=True,
                          text=True, errors="replace", timeout=timeout, check=False, env=crawl_env(address or ""))


def manifests(output: Path) -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted((output / "runs").glob("*.json"))]


# Scrapy's tools leave no run -------------------------------------------------------------------

@pytest.mark.integration
def test_shell_fetch_and_parse_leave_no_run_and_the_next_crawl_walks_as_if_they_had_not_run(
        replica_300: str, tmp_path: Path):
    used, untouched = tmp_path / "used", tmp_path / "untouched"
    first = run_crawl(replica_300, used, SPIDER)
    assert first.returncode == 0, first.stderr[-3000:]
    shutil.copytree(used, untouched)
    first_requests = crawl_stats(first.stderr)["downloader/request_count"]
    fetched = scrapy(replica_300, used, "fetch", "--nolog", LISTING)
    assert fetched.returncode == 0 and "<html" in fetched.stdout, fetched.stderr[-2000:]
    shell = scrapy(replica_300, used, "shell", "--nolog", "-c", "response.status", ARTICLE)
    assert shell.returncode == 0 and shell.stdout.strip() == "200", shell.stderr[-2000:]
    parsed = scrapy(replica_300, used, "parse", "--nolog", "--spider", "hebei", "-c", "parse_article", ARTICLE)
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    with_spider = scrapy(replica_300, used, "shell", "--nolog", "--spider", SPIDER, "-c",
                         "len(list(spider.parse_article(response)))", ARTICLE)
    assert with_spider.returncode == 0 and with_spider.stdout.strip() == "1", with_spider.stderr[-2000:]
    # nothing of theirs: no manifest (the report, the data teams' feed), no checks, no alert
    assert [m["spider"] for m in manifests(used)] == [SPIDER]
    assert sorted(p.name for p in (used / "checks").iterdir()) == sorted(p.name for p in (untouched / "checks").iterdir())
    assert not (used / "alerts").exists()

    after_tools, after_nothing = run_crawl(replica_300, used, SPIDER), run_crawl(replica_300, untouched, SPIDER)
    tools, nothing = crawl_stats(after_tools.stderr), crawl_stats(after_nothing.stderr)
    assert "crawl/walk_all_after" not in tools  # no "killed" run makes it walk every listing page
    assert tools["downloader/request_count"] == nothing["downloader/request_count"] < first_requests
    assert [m["finish_reason"] for m in manifests(used)] == ["finished", "finished"]


# scrapy parse and scrapy check -----------------------------------------------------------------

@pytest.mark.integration
def test_scrapy_parse_reads_an_article_and_a_listing_without_a_channel(replica_300: str, tmp_path: Path):
    article = scrapy(replica_300, tmp_path, "parse", "--nolog", "--spider", "hebei", "-c", "parse_article", ARTICLE)
    assert article.returncode == 0 and "TypeError" not in article.stderr, article.stderr[-2000:]
    assert "许勤率河北省党政代表团赴西藏阿里就对口支援工作对接交流" in article.stdout
    assert "'parser': 'enorth-b/v1'" in article.stdout
    listing = scrapy(replica_300, tmp_path, "parse", "--nolog", "--spider", "hebei", "-c", "parse_listing", LISTING)
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert listing.stdout.count("<GET http://heb.hebei.com.cn/system/") >= 10
    assert not (tmp_path / "runs").exists()


def test_every_layout_has_a_known_article_and_listing_of_the_replica() -> None:
    """The samples of `scrapy check` are the replica's pages (the site's URLs), one per layout."""
    site = build_site(300, era=ERA_2026)
    assert {sample.parser.name for sample in SAMPLES} == set(PARSER_OF_LAYOUT.values())
    copies = {copy.url: copy for story in site.stories for copy in story.copies}
    listings = {f"http://{listing.host}{listing.path}": listing for listing in site.listings}
    for sample in SAMPLES:
        assert PARSER_OF_LAYOUT[copies[sample.article].layout] == sample.parser.name, sample.layout
        assert PARSER_OF_LAYOUT[listings[sample.listing].layout] == sample.parser.name, sample.layout


@pytest.mark.integration
def test_scrapy_check_runs_a_known_article_and_listing_of_every_layout(tmp_path: Path):
    with ReplicaServer("--scale", "300", "--era", ERA_2026) as replica:
        listed = scrapy(None, tmp_path, "check", "-l")
        done = scrapy(replica.address, tmp_path, "check", settings=ERA_2026_SETTINGS)
    assert listed.returncode == 0, listed.stderr
    checks = {line.strip("* ").strip() for line in listed.stdout.splitlines() if line.startswith("  * ")}
    assert checks == {f"{kind}_{sample.layout}" for sample in SAMPLES for kind in ("article", "listing")}
    assert done.returncode == 0, done.stderr[-4000:]
    # an article's @returns (2), @scrapes, @parser, @fills; a listing's @returns, @articles (`@url` is no test)
    assert f"Ran {7 * len(SAMPLES)} contracts" in done.stderr
    assert done.stderr.rstrip().endswith("OK")
    assert not (tmp_path / "runs").exists() and not (tmp_path / ".state" / "locks").exists()


# -O: copies, under a name of their own ---------------------------------------------------------

@pytest.mark.integration
def test_o_gives_one_line_per_copy_with_its_article_id_never_a_story_id(replica_300: str, tmp_path: Path):
    out = tmp_path / "copies.jsonl"
    done = run_crawl(replica_300, tmp_path, "heb_sldhdbdj", "-O", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    stories = [json.loads(line) for path in (tmp_path / "articles").glob("*/articles.jsonl")
               for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == crawl_stats(done.stderr)["item_scraped_count"] > len(stories)  # copies, not stories
    assert all("id" not in line and line["article_id"] == article_id(line["url"]) for line in lines)
    assert list(lines[0]) == ["article_id" if name == "id" else name for name in FIELDS]
    docs = (REPO / "docs" / "data.md").read_text(encoding="utf-8").split("## Feeds: copies, not stories", 1)[1]
    assert "one line per copy" in docs and "`article_id`" in docs


# -a: the plan's forms, and usage errors --------------------------------------------------------

FORMS = ["2024-03-01", "3d", "0d", "30d", "3x", "2024-13-01", "d", "-3d", "3 d", "yesterday"]


@pytest.mark.parametrize("form", FORMS)
def test_the_command_line_and_the_plan_take_the_same_since_forms(form: str) -> None:
    try:
        plan = PlanMode.parse(f"since={form}")
    except PlanError:
        plan = None
    try:
        mode, day = crawl_mode(form, None, date(2026, 12, 2))
    except ValueError:
        mode, day = None, None
    assert (plan is None) == (mode is None), form
    if plan is not None:
        assert mode is Mode.SINCE
        assert plan.spider_args(date(2026, 12, 2)) == ["-a", f"since={day}"]


@pytest.mark.parametrize(("args", "says"), [
    (["heb_qjhb", "-a", "since=3x"], "since='3x': want YYYY-MM-DD (a day) or Nd (the last N days)"),
    (["heb_qjhb", "-a", "sinse=3d"], "no argument sinse (it takes full, since, start_url)"),
    (["heb_qjhb", "-a", "full=maybe"], "full='maybe'"),
    (["heb_qjhb", "-a", "full=1", "-a", "since=3d"], "not both"),
    (["channel"], "needs -a start_url=URL"),
    (["channel", "-a", "start_url=http://example.com/news/"], "is on the portal's domains (PORTAL_DOMAINS"),
    (["nosuch"], "no spider named 'nosuch'"),
])
def test_a_bad_or_missing_argument_is_a_one_line_usage_error(tmp_path: Path, args: list[str], says: str) -> None:
    done = scrapy(None, tmp_path, "crawl", *args, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.rstrip().splitlines()[-1]
    assert "error: " in last and says in last, last
    assert not (tmp_path / "runs").exists()


@pytest.mark.integration
def test_since_3d_crawls_the_last_three_days(replica_300: str, tmp_path: Path):
    window = run_crawl(replica_300, tmp_path / "window", "heb_qjhb", "-a", "since=3d")
    day = run_crawl(replica_300, tmp_path / "day", "heb_qjhb", "-a", f"since={date.today() - timedelta(days=3)}")
    assert window.returncode == 0, window.stderr[-3000:]
    got, want = crawl_stats(window.stderr), crawl_stats(day.stderr)
    assert got["crawl/mode"] == "since" and got["finish_reason"] == "finished"
    assert got["downloader/request_count"] == want["downloader/request_count"]


# the report splits a run of several channels ---------------------------------------------------

@pytest.mark.integration
def test_the_report_splits_the_hebei_run_by_channel(replica_300: str, tmp_path: Path):
    output = tmp_path / "output"
    done = run_crawl(replica_300, output, "hebei")
    stats = crawl_stats(done.stderr)
    assert stats["finish_reason"] == "finished", done.stderr[-3000:]
    by_channel = {key.rsplit("/", 1)[1]: value for key, value in stats.items()
                  if key.startswith("pipeline/stories_new/")}
    assert len(by_channel) > 3 and sum(by_channel.values()) == stats["pipeline/stories_new"]
    target = tmp_path / "report.html"
    report = subprocess.run([sys.executable, "-m", "scrapy", "report", "--output-dir", str(output), "--out", str(target)],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert report.returncode == 0, report.stderr
    bars = html.parse(str(target)).getroot().cssselect("#stories-per-day rect.bar")
    assert {b.get("data-channel"): int(b.get("data-value")) for b in bars} == by_channel
