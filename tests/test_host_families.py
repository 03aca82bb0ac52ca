"""The portal as a family of hosts (site notes, section 1): hebei.com.cn and hebccw.cn name one
portal, a subdomain names one site in both, and one article id names one page whichever family
serves it. The crawls of both eras through the replica are in tests/test_crawl_2026.py."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from crawler.middlewares import ListedPagesDupeFilter, PortalGate, RefusedRequest
from crawler.site import urls

OLD = "http://heb.hebei.com.cn/system/2018/12/27/019351324.shtml"
NEW = "https://heb.hebccw.cn/system/2018/12/27/019351324.shtml"


def test_the_portal_is_both_families_by_default():
    assert tuple(get_project_settings().getlist("PORTAL_DOMAINS")) == ("hebei.com.cn", "hebccw.cn")
    for url in (OLD, NEW, "//news.hebccw.cn/system/2026/07/21/102200001.shtml", "https://www.hebei.com.cn/"):
        assert urls.refusal(urls.resolve_link("https://www.hebei.com.cn/", url) or "") is None, url
    for url in ("http://www.hebnews.cn/system/2026/07/21/102200001.shtml", "http://hebccw.cn.evil.com/",
                "http://evilhebccw.cn/", "http://heb.hebccw.com/"):
        assert (urls.refusal(url) or "").startswith("off-site"), url


@pytest.mark.parametrize("url, key", [
    (OLD, OLD),
    (NEW, OLD),
    ("http://HEB.hebccw.cn./system/2018/12/27/019351324.shtml#top", OLD),
    ("https://heb.hebccw.cn:443/system/2018/12/27/019351324.shtml", OLD),
    ("http://heb.hebccw.cn:8080/system/2018/12/27/019351324.shtml", "http://heb.hebei.com.cn:8080/system/2018/12/27/019351324.shtml"),
    ("http://hebccw.cn/system/2018/12/27/019351324.shtml", "http://hebei.com.cn/system/2018/12/27/019351324.shtml"),
    ("http://bd.hebccw.cn/system/2018/12/27/019351324.shtml", "http://bd.hebei.com.cn/system/2018/12/27/019351324.shtml"),
    ("http://www.hebnews.cn/system/2018/12/27/019351324.shtml", "http://www.hebnews.cn/system/2018/12/27/019351324.shtml"),
])
def test_one_page_has_one_key_whichever_family_serves_it(url: str, key: str):
    assert urls.page_key(url) == key


def test_the_family_order_says_which_is_newer_and_a_new_family_is_one_setting():
    assert urls.family_rank(OLD) == 0 and urls.family_rank(NEW) == 1 and urls.family_rank("http://x.cn/") == -1
    moved_again = ("hebei.com.cn", "hebccw.cn", "hebnews-new.cn")
    later = "https://heb.hebnews-new.cn/system/2018/12/27/019351324.shtml"
    assert urls.refusal(later) is not None and urls.refusal(later, moved_again) is None
    assert urls.page_key(later, moved_again) == OLD and urls.family_rank(later, moved_again) == 2


def test_one_subdomain_is_one_politeness_slot_in_every_family():
    assert urls.download_slot(OLD) == urls.download_slot(NEW) == "heb.hebei.com.cn"
    assert urls.download_slot("http://bd.hebccw.cn/x/") != urls.download_slot(NEW)
    assert urls.download_slot("http://www.hebnews.cn/") is None
    crawler = get_crawler(settings_dict={"PORTAL_DOMAINS": get_project_settings().getlist("PORTAL_DOMAINS")})
    gate = PortalGate.from_crawler(crawler)
    requests = [Request(OLD), Request(NEW), Request("https://heb.hebccw.cn/robots.txt")]
    for request in requests:
        gate.process_request(request)
    assert {r.meta["download_slot"] for r in requests} == {"heb.hebei.com.cn"}


def test_a_redirect_off_the_portal_is_refused_and_its_host_counted():
    crawler = get_crawler(settings_dict={"PORTAL_DOMAINS": get_project_settings().getlist("PORTAL_DOMAINS")})
    gate = PortalGate.from_crawler(crawler)
    redirected = Request("http://www.hebnews.cn/system/2018/12/27/019351324.shtml", meta={"redirect_urls": [OLD]})
    with pytest.raises(RefusedRequest, match="off-site: www.hebnews.cn.*redirected"):
        gate.process_request(redirected)
    assert crawler.stats.get_value("gate/refused_redirects/www.hebnews.cn") == 1


def test_an_article_a_redirect_leads_to_is_fetched_though_its_url_was_seen():
    """The old URL 301s to the new one, which a 2026 listing links too: both are fetched (the store
    keeps the newest family's copy); anything else is filtered as Scrapy filters it."""
    seen = ListedPagesDupeFilter()
    assert not seen.request_seen(Request(NEW, meta={"kind": "article"}))
    assert not seen.request_seen(Request(NEW, meta={"kind": "article", "redirect_urls": [OLD]}))
    assert seen.request_seen(Request(NEW, meta={"kind": "article"}))
    listing = "https://heb.hebccw.cn/hbyw/"
    assert not seen.request_seen(Request(listing, meta={"kind": "listing", "redirect_urls": ["http://heb.hebei.com.cn/hbyw/"]}))
    assert seen.request_seen(Request(listing, meta={"kind": "listing"}))


def test_an_old_url_on_the_newest_family_is_the_same_path_spelled_as_the_crawl_asks():
    assert urls.in_newest_family(OLD) == "http://heb.hebccw.cn/system/2018/12/27/019351324.shtml"
    assert urls.in_newest_family("https://HEB.hebei.com.cn./system/2018/12/27/019351324.shtml#x") == urls.canonical(NEW)
    assert urls.in_newest_family(NEW) is None and urls.in_newest_family("http://www.hebnews.cn/x.shtml") is None
    assert urls.in_newest_family(OLD, ("hebei.com.cn",)) is None  # one family: nowhere else to look


def test_a_scrapyd_job_may_narrow_the_portal_but_never_widen_it():
    from crawler.ops.scrapyd_guard import job_refusal
    from crawler.spiders.channel import HebeiSpider

    def refusal(domains: str) -> str | None:
        settings = get_project_settings()
        settings.set("PORTAL_DOMAINS", domains, priority="cmdline")
        return job_refusal(settings, {}, HebeiSpider)

    assert refusal("hebei.com.cn") is None and refusal("hebccw.cn,hebei.com.cn") is None
    assert "PORTAL_DOMAINS" in (refusal("hebei.com.cn,hebccw.cn,attacker.example") or "")


def test_a_start_url_on_a_domain_added_to_the_setting_is_the_portals():
    """The next move is one setting: `-s PORTAL_DOMAINS=...,new.cn` with `-a start_url=` on new.cn."""
    from crawler.commands.crawl import argument_problem
    from crawler.spiders.channel import ChannelSpider

    start = {"start_url": "https://heb.hebnews-new.cn/hbyw/"}
    settings = get_project_settings()
    assert "PORTAL_DOMAINS" in (argument_problem(ChannelSpider, start, settings) or "")
    settings.set("PORTAL_DOMAINS", "hebei.com.cn,hebccw.cn,hebnews-new.cn", priority="cmdline")
    assert argument_problem(ChannelSpider, start, settings) is None
    assert "scheme" in (argument_problem(ChannelSpider, {"start_url": "ftp://heb.hebccw.cn/"}, settings) or "")
