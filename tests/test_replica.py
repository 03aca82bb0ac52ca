"""The replica itself: charset, reachability of every listing page, truth against what is served."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from tests.replica.harness import REPO, Replica, ReplicaServer
from tests.replica.site import build_site

META_GB2312 = b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'


def test_default_scale_meets_the_demo_size(default_site):
    assert len(default_site.stories) >= 1000
    assert len(default_site.article_pages) >= 2000
    assert len(default_site.listing_pages) >= 150


def test_every_corpus_record_is_a_story_with_its_known_copies(default_site):
    records = [json.loads(line) for line in (REPO / "tests/replica/data/articles.jsonl").read_text("utf-8").splitlines()]
    served = {c.url: c for s in default_site.stories for c in s.copies}
    for rec in records:
        url = rec["url"].replace("https://", "http://")
        assert url in served, url
        assert served[url].breadcrumbs == rec["breadcrumb"]
        for other in rec.get("also_published_as") or []:
            twin = served[other["url"]]
            assert twin.story is served[url].story
            assert twin.breadcrumbs == other["breadcrumb"]
    seed = served["http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml"].story
    assert [c.article_id for c in sorted(seed.copies, key=lambda c: c.published)] == ["018955625", "018955632"]


def test_same_seed_same_site_other_seed_other_site():
    a, b, c = build_site(200, 7).truth(), build_site(200, 7).truth(), build_site(200, 8).truth()
    assert a == b
    assert a != c


@pytest.mark.integration
def test_pages_are_gb18030_bytes_declaring_gb2312(replica: Replica):
    site = replica.site
    wide_char_pages = 0
    for url in list(site.article_pages)[:300] + list(site.listing_pages)[:50]:
        status, headers, body = replica.fetch(url)
        assert status == 200, url
        assert META_GB2312 in body[:600], url
        text = body.decode("gb18030")  # strict: raises on a single bad byte
        if "仚" in text:
            wide_char_pages += 1
            try:
                body.decode("gb2312")
            except UnicodeDecodeError:
                pass
            else:
                raise AssertionError(f"{url} holds 仚 yet decodes as plain gb2312")
        host = urlsplit(url).hostname
        ctype = headers["Content-Type"]
        if host in ("heb.hebei.com.cn", "report.hebei.com.cn"):
            assert ctype == "text/html; charset=gb2312"
        else:
            assert ctype == "text/html"
    assert wide_char_pages > 0, "no page holds a character outside GB2312"


@pytest.mark.integration
def test_the_replica_answers_direct_requests_by_host_header(replica: Replica):
    url = next(iter(replica.site.article_pages))
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(*urlsplit(replica.address).netloc.split(":"), timeout=10)
    conn.request("GET", parts.path, headers={"Host": parts.hostname})
    resp = conn.getresponse()
    assert resp.status == 200
    assert replica.site.article_pages[url][0].story.title_lines[0] in resp.read().decode("gb18030")


def _links(html: str, base: str) -> list[str]:
    return [urljoin(base, h) for h in re.findall(r'<a href="([^"]+)"', html)]


@pytest.mark.integration
def test_every_listing_page_is_reachable_from_the_index_pages(replica: Replica):
    """Walk from each channel index: static pager links, count scripts, sub-listings."""
    site = replica.site
    listing_pages = set(site.listing_pages)
    queue = deque(lst.index_url for lst in site.roots)
    seen: set[str] = set(queue)
    while queue:
        url = queue.popleft()
        status, _, body = replica.fetch(url)
        assert status == 200, url
        html = body.decode("gb18030")
        targets = [u for u in _links(html, url) if "/system/more/" in u or u.endswith(("/", "index.shtml"))]
        script = re.search(r'src="([^"]*count_page_list_(\d+)\.js)"', html)
        if script:
            _, _, js = replica.fetch(urljoin(url, script.group(1)))
            maxpage = int(re.search(rb"maxpage = (\d+);", js).group(1))
            catalog = script.group(2)
            host = urlsplit(url).netloc
            targets += [f"http://{host}/system/more/{catalog}/{p // 100:04d}/{catalog}_{p:08d}.shtml"
                        for p in range(1, maxpage + 1)]
        for target in targets:
            target = target.replace("https://", "http://")
            if target.endswith("/index.shtml") and target[: -len("index.shtml")] in listing_pages:
                target = target[: -len("index.shtml")]
            if target in listing_pages and target not in seen:
                seen.add(target)
                queue.append(target)
    assert listing_pages - seen == set()


def test_overflow_pages_number_backwards_and_keep_their_content(default_site):
    grown = build_site(1200)
    for key in ("heb/hbyw", "heb/qjhb"):
        small = next(lst for lst in default_site.listings if lst.key == key)
        big = next(lst for lst in grown.listings if lst.key == key)
        assert big.overflow_count >= small.overflow_count
        oldest_small = {u for _, u, _ in small.page_rows(1)}
        newest_index = {u for _, u, _ in small.page_rows(None)}
        assert oldest_small and newest_index and not oldest_small & newest_index
        # page 1 holds the oldest stories whatever the total
        assert min(d for _, _, d in small.page_rows(1)) == min(d for _, _, d in small.main_entries)


@pytest.mark.integration
def test_truth_agrees_with_what_is_served(replica: Replica):
    out = subprocess.run([sys.executable, "-m", "tests.replica", "truth"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    truth = [json.loads(line) for line in out.splitlines()]
    assert len(truth) == len(replica.site.stories)
    assert len({t["id"] for t in truth}) == len(truth)
    served_urls = set(replica.site.article_pages)
    truth_urls = [u for t in truth for u in t["urls"]]
    assert len(truth_urls) == len(set(truth_urls)) == len(served_urls)
    assert set(truth_urls) == served_urls
    for story in truth[::25]:
        for appearance in story["appearances"]:
            status, _, body = replica.fetch(appearance["url"])
            assert status == 200
            html = body.decode("gb18030")
            assert story["title"][:6] in re.sub(r"<br />", "", html)
            for crumb in appearance["breadcrumbs"]:
                assert f">{crumb}</a>" in html
            day, clock = appearance["timestamp"][:10], appearance["timestamp"][11:19]
            assert f"{day} {clock}" in html
    # every article a listing's main list links to is a truth URL
    for url in list(replica.site.listing_pages)[:40]:
        lst, page = replica.site.listing_pages[url]
        for _, link, _ in lst.page_rows(page):
            link = link.replace("https://", "http://")
            if "/system/" in link and link.endswith(".shtml") and "bhc." not in link:
                assert link in served_urls, link


@pytest.mark.integration
def test_unknown_pages_are_404_and_off_site_hosts_are_refused(replica: Replica):
    status, _, _ = replica.fetch("http://heb.hebei.com.cn/system/2018/07/17/000000001.shtml")
    assert status == 404
    status, _, _ = replica.fetch("http://www.hebnews.cn/")
    assert status == 502


@pytest.mark.integration
def test_rolling_pages_say_they_are_updating(replica: Replica):
    for page in replica.site.rolling:
        status, _, body = replica.fetch(page.url)
        assert status == 200 and "正在更新" in body.decode("gb18030")


@pytest.mark.integration
def test_fault_profile_fails_the_same_urls_and_recovers_on_retry():
    from tests.replica.server import FAULT_PROFILES, _share, permanent_faults

    site = build_site()
    with ReplicaServer("--faults", "standard") as server:
        replica = Replica(server.address, site)
        profile = FAULT_PROFILES["standard"]
        flaky = [u for u in site.article_pages if _share(u) < profile.http_500][:3]
        assert flaky
        for url in flaky:
            assert replica.fetch(url)[0] == 500
            assert replica.fetch(url)[0] == 200
        for url, fault in permanent_faults(site).items():
            status, headers, body = replica.fetch(url) if fault != "loop" else (302, {}, b"")
            if fault == "404":
                assert status == 404
            elif fault == "500":
                assert status == 500 and replica.fetch(url)[0] == 500
            elif fault == "charset":
                assert headers["Content-Type"] == "text/html; charset=utf-8"
                assert b"charset=utf-8" in body[:600]
        truncated = next(u for u in site.article_pages
                         if profile.http_500 + profile.timeout <= _share(u) < profile.http_500 + profile.timeout + profile.truncated)
        try:
            replica.fetch(truncated)
        except http.client.IncompleteRead:
            pass
        else:
            raise AssertionError("the first answer for a truncated page was complete")
        assert replica.fetch(truncated)[0] == 200
