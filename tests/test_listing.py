"""Listing pages: the main list among side boxes, both pager kinds, sub-listings, URL shapes."""

from __future__ import annotations

import pytest

from crawler.site import urls
from crawler.site.listing import parse_listing, read_maxpage
from tests.replica import render
from tests.replica.site import Site


def listing(site: Site, key: str):
    return next(lst for lst in site.listings if lst.key == key)


def parsed(site: Site, key: str, page: int | None = None):
    lst = listing(site, key)
    url = lst.index_url if page is None else lst.overflow_url(page)
    return lst, parse_listing(render.render_listing(site, lst, page), url)


@pytest.mark.parametrize("key", ["heb/qjhb", "heb/hbyw", "heb/sldhdbdj/xuqin/qthd", "sjz/hbxw", "news/ztk/ztxw"])
def test_the_main_list_is_read_and_the_side_boxes_are_not(default_site, key):
    lst = listing(default_site, key)
    for page in [None, *range(1, lst.overflow_count + 1)]:
        _, got = parsed(default_site, key, page)
        expected = [urls.canonical(u) for _, u, _ in lst.page_rows(page) if urls.is_article(u)]
        assert [a.url for a in got.articles] == expected, (key, page)


def test_side_boxes_come_first_on_some_listings_and_dated_on_others(default_site):
    # the scoring above is tested against both orders and against dated side boxes
    first = [lst for lst in default_site.listings if lst.entries and render.hash_key(lst.key) % 2 == 0]
    dated = [lst for lst in default_site.listings if lst.entries and lst.pager == "script"]
    assert first and dated


def test_off_site_video_and_topic_links_in_the_main_list_are_left_alone(default_site):
    lst = listing(default_site, "heb/qjhb")
    skipped = []
    for page in [None, *range(1, lst.overflow_count + 1)]:
        skipped += parsed(default_site, "heb/qjhb", page)[1].skipped
    reasons = dict(skipped)
    assert reasons["http://hebei.hebnews.cn/2021-04/02/content_8424114.htm"] == "off-site"
    assert reasons["http://heb.hebei.com.cn/zt/fjxzc/index.shtml"] == "not an article page"


def test_static_pager_links_walk_backwards(default_site):
    lst, index = parsed(default_site, "heb/qjhb")
    m = lst.overflow_count
    assert index.older_link == lst.overflow_url(m)
    assert lst.overflow_url(1) in index.pager_links
    _, middle = parsed(default_site, "heb/qjhb", m - 1)
    assert middle.older_link == lst.overflow_url(m - 2)
    _, oldest = parsed(default_site, "heb/qjhb", 1)
    assert oldest.older_link is None


def test_count_script_pager(default_site):
    lst, index = parsed(default_site, "heb/hbyw")
    assert index.older_link is None and index.count_script == lst.count_script_url
    assert index.catalog == lst.catalog
    assert read_maxpage(render.render_count_script(lst)) == lst.overflow_count
    assert read_maxpage("var x = 1;") is None


def test_collection_tree_pages_link_their_sub_listings(default_site):
    root, page = parsed(default_site, "heb/sldhdbdj")
    assert set(page.sublistings) >= {child.index_url for child in root.children}
    leader, page = parsed(default_site, "heb/sldhdbdj/dongxiansheng")
    assert {urls.canonical(c.index_url) for c in leader.children} <= set(page.sublistings)
    assert len(page.articles) == 10  # a leader's page lists its newest stories


def test_a_page_whose_only_blocks_are_side_boxes_has_no_main_list(default_site):
    """The 省领导活动报道集 index holds no list of its own, only 热点推荐 blocks: none is followed
    (a 热点/排行 box never is), the leaders' listings are."""
    root, page = parsed(default_site, "heb/sldhdbdj")
    html = render.render_listing(default_site, root, None)
    assert "热点推荐" in html and "v5.latest" in html
    assert page.articles == [] and page.sublistings


def test_broken_listing_html_gives_an_empty_page_not_an_exception():
    for html in ["", "<html", "\x00\x01garbage", "<ul><li><a href='/system/2020/01/01/100000001.shtml'>x"]:
        page = parse_listing(html, "http://heb.hebei.com.cn/qjhb/")
        assert page.articles == [] or page.articles[0].url.endswith("100000001.shtml")


def test_url_shapes():
    assert urls.is_article("https://heb.hebei.com.cn/system/2021/06/04/100685291.shtml")
    assert not urls.is_article("http://heb.hebei.com.cn/system/2021/06/04/100685291_02.shtml")
    assert not urls.is_article("http://www.hebnews.cn/system/2021/06/04/100685291.shtml")
    assert urls.canonical("HTTPS://Heb.Hebei.com.cn/system/2021/06/04/100685291.shtml?spm=1#x") == \
        "http://heb.hebei.com.cn/system/2021/06/04/100685291.shtml"
    assert urls.overflow_page_number(
        "http://heb.hebei.com.cn/system/more/11000000000002027/0001/11000000000002027_00000123.shtml"
    ) == ("11000000000002027", 123)
    assert urls.overflow_url("http://heb.hebei.com.cn/hbyw/", "11000000000002027", 123).endswith(
        "/system/more/11000000000002027/0001/11000000000002027_00000123.shtml")


def test_a_short_main_list_beats_a_longer_dated_side_box():
    """A small category page without a pager: its five entries, not the six of 热点推荐."""
    from tests.replica.site import build_site

    site = build_site(300)
    lst = listing(site, "heb/sldhdbdj/wanghao/hyhd")
    assert lst.overflow_count == 0 and lst.pager == "script" and len(lst.page_rows(None)) < 6
    got = parse_listing(render.render_listing(site, lst, None), lst.index_url)
    assert [a.url for a in got.articles] == [urls.canonical(u) for _, u, _ in lst.page_rows(None)]
