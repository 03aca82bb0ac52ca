"""The replica itself: charset, reachability of every listing page, truth against what is served; the
default unchanged byte for byte; the 2026 era (`--era 2026`) and https through CONNECT."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter, deque
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest

from tests.replica.harness import REPO, Replica, ReplicaServer, direct_env
from tests.replica.server import Router
from tests.replica.site import (
    ERA_2026,
    GONE,
    MOVED,
    PARSER_OF_LAYOUT,
    PORTAL_2026,
    SERVED,
    Site,
    build_site,
    copy_truth,
)
from tests.replica.tls import connect_target

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


# ---------------------------------------------------------------- the default, unchanged

def served_digest(site: Site) -> str:
    """SHA-256 over the site's truth (per story and per copy) and every response it serves
    (status, type, location, body), URL by URL."""
    digest = hashlib.sha256()
    for row in site.truth():
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
    for story in site.stories:
        for c in story.copies:
            if c.fate == SERVED:
                digest.update(json.dumps(copy_truth(c), ensure_ascii=False, sort_keys=True).encode())
    router = Router(site, cache_size=0)
    urls = sorted(set(site.article_pages) | set(site.listing_pages) | set(router.count_scripts) | set(router.rolling))
    urls += [f"http://{host}/" for host in sorted(router.homes)]
    urls += ["http://heb.hebei.com.cn/robots.txt", "http://heb.hebei.com.cn/nowhere.shtml", "http://www.hebei.com.cn/"]
    urls += sorted(site.redirects) + sorted(site.gone)
    for url in urls:
        response = router.route(url)
        digest.update(f"{url} {response.status} {response.content_type} {response.location}\n".encode())
        digest.update(response.body)
    return digest.hexdigest()


# Computed from the replica at commit 1285587, before the 2026 era existed. A change here is a
# change of the default replica: every crawl test's numbers and the demo's move with it.
DEFAULT_DIGESTS = {
    (1000, 1, 0): "bb3bcf0afc1a59001534dea5644c54b336474ced61b54ef606d0e23628deb976",
    (300, 1, 0): "de163cdc1301ada4e0aeaa05a28ebe0174f63142059cbecffefe5c9d0f91cbdb",
    (1000, 1, 40): "95cc959999b2c8de450eddd08426452f38c7dc3a4d6dd384fbb576e03e8f1665",
}


@pytest.mark.parametrize(("scale", "seed", "grow"), sorted(DEFAULT_DIGESTS))
def test_the_default_replica_is_byte_for_byte_what_it_was(scale, seed, grow):
    assert served_digest(build_site(scale, seed, grow)) == DEFAULT_DIGESTS[scale, seed, grow]


# ---------------------------------------------------------------- the 2026 era, in process

@pytest.fixture(scope="module")
def site_2026() -> Site:
    return build_site(era=ERA_2026)


def test_the_2026_era_leaves_the_old_family_as_it_was(default_site, site_2026):
    """Every old page answers as in the default era, but the old URLs of moved copies, which
    301 to the same path on hebccw.cn or 404."""
    old, new = Router(default_site, cache_size=0), Router(site_2026, cache_size=0)
    moved = set(site_2026.redirects) | site_2026.gone
    assert moved and moved <= set(default_site.article_pages)
    urls = set(default_site.article_pages) | set(default_site.listing_pages) | set(old.count_scripts)
    for url in sorted(urls - moved):
        a, b = old.route(url), new.route(url)
        assert (a.status, a.content_type, a.body) == (b.status, b.content_type, b.body), url
    for url, target in site_2026.redirects.items():
        assert target == url.replace("http://", "https://").replace(".hebei.com.cn/", ".hebccw.cn/")
        assert target.replace("https://", "http://") in site_2026.article_pages


def test_the_2026_truth_counts(site_2026):
    truth = site_2026.truth()
    stories_2026 = [s for s in site_2026.stories if all(c.host.endswith(".hebccw.cn") for c in s.copies)]
    twins = [c for s in site_2026.stories for c in s.copies
             if c.host.endswith(".hebei.com.cn") and any(t.article_id == c.article_id and t is not c for t in s.copies)]
    fates = Counter(c.fate for c in twins)
    assert (len(truth), len(stories_2026), len(twins)) == (1300, 300, 164)
    assert fates == {SERVED: 62, MOVED: 70, GONE: 32}
    assert len(site_2026.listing_pages) == 232 and len(site_2026.article_pages) == 2671
    # one story per article id, whichever family lists it; the id's newest family gives the URL
    ids = [a["url"].rsplit("/", 1)[1].split(".")[0] for t in truth for a in t["appearances"]]
    assert len(ids) == len(set(ids)) == 2270
    moved_ids = {c.article_id for c in twins}
    for t in truth:
        for appearance in t["appearances"]:
            aid = appearance["url"].rsplit("/", 1)[1].split(".")[0]
            assert appearance["url"].startswith("http://")
            assert (".hebccw.cn/" in appearance["url"]) == (aid in moved_ids or int(aid) > 102_000_000)
    served = [u for t in truth for u in t["urls"]]
    assert len(served) == len(set(served)) and set(served) == set(site_2026.article_pages)
    by_host = Counter(t["url"].split("/")[2] for t in truth)
    assert sum(n for host, n in by_host.items() if host.endswith(".hebccw.cn")) == 360
    assert {t["parser"] for t in truth if ".hebccw.cn/" in t["url"]} == {PARSER_OF_LAYOUT[PORTAL_2026]}
    assert all(t["keywords"] == [] for t in truth if ".hebccw.cn/" in t["url"])


def test_a_moved_story_is_one_story_under_its_hebccw_url(site_2026):
    twin = next(c for s in site_2026.stories for c in s.copies if c.fate == SERVED and c.host == "heb.hebei.com.cn"
                and any(t.article_id == c.article_id and t.host == "heb.hebccw.cn" for t in s.copies))
    row = next(t for t in site_2026.truth() if twin.url in t["urls"])
    new_url = twin.url.replace(".hebei.com.cn/", ".hebccw.cn/")
    assert new_url in [a["url"] for a in row["appearances"]]
    assert twin.url not in [a["url"] for a in row["appearances"]]
    assert row["urls"].index(new_url) < row["urls"].index(twin.url)


def test_same_seed_same_2026_site_other_seed_other_site():
    a, b, c = (served_digest(build_site(200, seed, era=ERA_2026)) for seed in (7, 7, 8))
    assert a == b != c


def test_2026_pages_are_utf8_in_the_new_template(site_2026):
    router = Router(site_2026)
    pages = [u for u, (c, _) in site_2026.article_pages.items() if c.layout == PORTAL_2026]
    assert len(pages) == 589
    editors, infos, crumbs = Counter(), Counter(), Counter()
    for url in pages:
        copy, index = site_2026.article_pages[url]
        response = router.route(url)
        html = response.body.decode("utf-8")  # strict
        assert response.content_type == ("text/html; charset=utf-8" if copy.listing.charset_header else "text/html")
        assert re.search(r'<meta (charset="utf-8"|http-equiv="Content-Type" content="text/html; charset=utf-8") />', html)
        assert "<h1>" in html and '<div class="detailMessage">' in html and "enorth cms block" not in html.split("<h1>")[1]
        assert copy.published.strftime("%Y-%m-%d %H:%M:%S") in html
        if copy.editor:
            editors[re.search(r"[\[（【]?(责任)?编辑：" + re.escape(copy.editor) + r"[\]）】]?", html).group()
                    .replace(copy.editor, "E")] += 1
        infos["span" if '<div class="detailInfo">' in html else "line"] += 1
        crumbs[bool(copy.breadcrumbs)] += 1
        if len(copy.pages) > 1:
            assert "下一页" in html or index == len(copy.pages) - 1
    assert len(editors) == 6 and len(infos) == 2 and len(crumbs) == 2
    for url in site_2026.listing_pages:
        listing, _ = site_2026.listing_pages[url]
        if listing.layout == PORTAL_2026:
            html = router.route(url).body.decode("utf-8")
            assert ("enorth cms block" in html) == listing.blocks, url


# ---------------------------------------------------------------- the 2026 era, served

def proxied(address: str, url: str, follow: bool = True) -> tuple[int, dict[str, str], bytes]:
    """GET `url` with the replica as the proxy of both schemes: https goes through CONNECT, and the
    replica's self-signed certificate is taken as it is."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    handlers: list[urllib.request.BaseHandler] = [
        urllib.request.ProxyHandler({"http": address, "https": address}),
        urllib.request.HTTPSHandler(context=context),
    ]
    if not follow:
        handlers.append(_NoRedirect())
    try:
        with urllib.request.build_opener(*handlers).open(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture(scope="module")
def replica_2026(site_2026: Site) -> Iterator[Replica]:
    with ReplicaServer("--era", ERA_2026) as server:
        yield Replica(server.address, site_2026)


def _sample_2026_urls(site: Site) -> list[str]:
    articles = [u for u, (c, _) in site.article_pages.items() if c.layout == PORTAL_2026]
    listings = [u for u, (lst, _) in site.listing_pages.items() if lst.layout == PORTAL_2026]
    return articles[::20] + listings[::4] + ["http://www.hebei.com.cn/"]


@pytest.mark.integration
def test_2026_pages_are_served_over_both_schemes_through_the_proxy(replica_2026: Replica):
    site = replica_2026.site
    for url in _sample_2026_urls(site):
        plain = proxied(replica_2026.address, url)
        secure = proxied(replica_2026.address, url.replace("http://", "https://", 1))
        assert plain[0] == secure[0] == 200, url
        assert plain[2] == secure[2], url
        host = urlsplit(url).hostname
        header = "text/html" if host in ("bd.hebccw.cn", "lf.hebccw.cn") else "text/html; charset=utf-8"
        assert plain[1]["Content-Type"] == secure[1]["Content-Type"] == header, url
        assert b'charset="utf-8"' in secure[2][:300] or b"charset=utf-8" in secure[2][:300], url
        secure[2].decode("utf-8")  # strict


@pytest.mark.integration
def test_old_urls_of_moved_stories_serve_redirect_or_are_gone(replica_2026: Replica):
    site, address = replica_2026.site, replica_2026.address
    kept = [c for s in site.stories for c in s.copies if c.fate == SERVED and c.host.endswith(".hebei.com.cn")
            and any(t.article_id == c.article_id and t is not c for t in s.copies)]
    for scheme in ("http", "https"):
        for url in [c.url for c in kept[:5]]:
            status, headers, body = proxied(address, url.replace("http", scheme, 1))
            assert status == 200 and META_GB2312 in body[:600]
            body.decode("gb18030")
        for url, target in list(site.redirects.items())[:5]:
            status, headers, _ = proxied(address, url.replace("http", scheme, 1), follow=False)
            assert (status, headers["Location"]) == (301, target)
            status, headers, body = proxied(address, url.replace("http", scheme, 1))
            assert status == 200 and headers["Content-Type"].startswith("text/html") and b"detailMessage" in body
        for url in sorted(site.gone)[:5]:
            assert proxied(address, url.replace("http", scheme, 1))[0] == 404


@pytest.mark.integration
def test_scrapy_fetches_https_pages_through_the_replica(replica_2026: Replica, tmp_path):
    """`scrapy fetch` outside the project (Scrapy's defaults: CONNECT to the proxy, certificate
    not verified), following a moved story's 301 from http to https."""
    site, address = replica_2026.site, replica_2026.address
    # no SCRAPY_SETTINGS_MODULE (an in-process crawl of another test sets it): the project's
    # portal gate would refuse hebccw.cn
    env = {name: value for name, value in direct_env().items() if not name.upper().startswith(("SCRAPY_", "HTTPS_PROXY"))}
    env |= {"http_proxy": address, "https_proxy": address}
    moved, target = next(iter(site.redirects.items()))
    for url, expected in [("https://www.hebei.com.cn/", "http://www.hebei.com.cn/"), (moved, target)]:
        done = subprocess.run([sys.executable, "-m", "scrapy", "fetch", url], cwd=tmp_path, env=env,
                              capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.rstrip(b"\n") == proxied(address, expected)[2].rstrip(b"\n")
        if url == moved:
            assert f"Redirecting (301) to <GET {target}>".encode() in done.stderr


@pytest.mark.integration
def test_every_2026_listing_page_and_story_is_reachable_from_the_home_page_over_https(replica_2026: Replica):
    site = replica_2026.site
    listing_pages = {u for u, (lst, _) in site.listing_pages.items() if lst.layout == PORTAL_2026}
    queue = deque(["https://www.hebei.com.cn/"])
    seen, linked = {"http://www.hebei.com.cn/"}, set()
    while queue:
        url = queue.popleft()
        status, _, body = proxied(replica_2026.address, url)
        assert status == 200, url
        for target in _links(body.decode("utf-8"), url):
            plain = target.replace("https://", "http://", 1)
            if plain in site.article_pages:
                linked.add(plain)
            if plain.endswith("/index.shtml") and plain[: -len("index.shtml")] in listing_pages:
                plain = plain[: -len("index.shtml")]
            if plain in listing_pages and plain not in seen:
                seen.add(plain)
                queue.append(target)
    assert listing_pages - seen == set()
    new_family = {t["url"] for t in site.truth() if ".hebccw.cn/" in t["url"]}
    assert new_family - linked == set()


@pytest.mark.integration
def test_the_2026_truth_on_the_command_line(replica_2026: Replica):
    def lines(*args: str) -> list[dict]:
        out = subprocess.run([sys.executable, "-m", "tests.replica", "truth", "--era", ERA_2026, *args], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    truth = lines()
    assert truth == json.loads(json.dumps(replica_2026.site.truth()))
    copies = lines("--copies")
    assert len(copies) == sum(1 for s in replica_2026.site.stories for c in s.copies if c.fate == SERVED)
    for row in truth[::40]:
        status, _, body = proxied(replica_2026.address, row["url"].replace("http://", "https://", 1))
        assert status == 200 and row["title"][:6] in body.decode("utf-8" if ".hebccw.cn/" in row["url"] else "gb18030")


@pytest.mark.integration
def test_the_default_era_serves_https_through_connect_too(replica: Replica):
    url = next(iter(replica.site.article_pages))
    plain = proxied(replica.address, url)
    secure = proxied(replica.address, url.replace("http://", "https://", 1))
    assert plain[0] == secure[0] == 200 and plain[2] == secure[2]


@pytest.mark.integration
@pytest.mark.parametrize("target", [b"www.example.com:443", b"heb.hebccw.cn:443", b"nonsense"])
def test_connect_is_refused_for_hosts_the_replica_does_not_serve(replica: Replica, target: bytes):
    """The default era serves no hebccw.cn host; no era serves another site."""
    host, port = urlsplit(replica.address).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n")
        answer = conn.recv(200)
    assert answer.split(b"\r\n", 1)[0] in (b"HTTP/1.1 502 Bad Gateway", b"HTTP/1.1 400 Bad Request")


def test_connect_target_reads_host_and_port():
    assert connect_target(b"CONNECT Heb.HEBCCW.cn:443 HTTP/1.1\r\nHost: x") == ("heb.hebccw.cn", 443)
    assert connect_target(b"CONNECT heb.hebccw.cn HTTP/1.1") is None
    assert connect_target(b"GET / HTTP/1.1") is None
