"""Listing pages without enorth blocks (the 2026 hosts, the home page): the main list found from
the page's structure, the static pager of `index_N.shtml` pages, and the walk over it."""

from __future__ import annotations

import re
from collections import deque
from datetime import date
from urllib.parse import urljoin

import lxml.html
import pytest

from crawler.output import Mode
from crawler.site import urls
from crawler.site.listing import ListingPage, parse_listing
from crawler.spiders.walk import Walk
from tests.replica import render, render2026
from tests.replica.era2026 import Home2026, Listing2026
from tests.replica.site import ERA_2026, Site, build_site

ARTICLE = "https://heb.hebccw.cn/system/2026/09/{:02d}/1022213{:02d}.shtml"
CHANNEL = "https://heb.hebccw.cn/hbyw/"


@pytest.fixture(scope="module")
def site() -> Site:
    return build_site(era=ERA_2026)


def listings_2026(site: Site) -> list[Listing2026]:
    return [lst for lst in site.listings if isinstance(lst, Listing2026)]


def pages_of(listing: Listing2026) -> list[int | None]:
    return [None, *range(1, listing.overflow_count + 1)]


def page_url(listing: Listing2026, page: int | None) -> str:
    return listing.index_url if page is None else listing.overflow_url(page)


def rendered(site: Site, listing: Listing2026, page: int | None) -> str:
    return render2026.render_listing(site, listing, page)


def hrefs_in(html: str, url: str, xpath: str) -> set[str]:
    root = lxml.html.document_fromstring(html)
    return {urls.canonical(urljoin(url, href)) for href in root.xpath(xpath + "//a/@href")}


def test_every_2026_listing_page_gives_exactly_its_listed_articles(site: Site) -> None:
    checked = 0
    for listing in listings_2026(site):
        for page in pages_of(listing):
            rows = listing.page_rows(page)
            got = parse_listing(rendered(site, listing, page), page_url(listing, page))
            expected = [urls.canonical(u) for _, u, _ in rows if urls.is_article(u)]
            assert [a.url for a in got.articles] == expected, (listing.key, page)
            assert [a.title for a in got.articles] == [title for title, _, _ in rows], (listing.key, page)
            # the home page shows no day beside its links; the channels do
            days = [None] * len(rows) if isinstance(listing, Home2026) else [day for _, _, day in rows]
            assert [a.day for a in got.articles] == days, (listing.key, page)
            checked += 1
    assert checked == sum(len(pages_of(lst)) for lst in listings_2026(site)) > 20


def test_blocks_or_none_both_kinds_of_2026_channel_are_served(site: Site) -> None:
    kinds = {lst.blocks for lst in listings_2026(site) if not isinstance(lst, Home2026)}
    assert kinds == {True, False}


def test_every_2026_listing_page_gives_its_static_pager(site: Site) -> None:
    for listing in listings_2026(site):
        pages = pages_of(listing)
        own = {urls.canonical(u) for u in listing.listing_urls} | {f"http://{listing.host}{listing.base_dir}index.shtml"}
        for n, page in enumerate(pages):
            got = parse_listing(rendered(site, listing, page), page_url(listing, page))
            older = urls.canonical(page_url(listing, pages[n + 1])) if n + 1 < len(pages) else None
            assert got.older_link == older, (listing.key, page)
            assert set(got.pager_links) <= own, (listing.key, page)
            assert (older is None or older in got.pager_links) and (len(pages) == 1 or got.pager_links)
            # a page of the listing's own pager is walked by the walk policy, never as a sub-listing
            assert not set(got.sublistings) & own, (listing.key, page, got.sublistings)


def test_the_rank_box_is_never_read_even_dated_and_placed_first(site: Site) -> None:
    dated_first = undated_first = 0
    for listing in listings_2026(site):
        if isinstance(listing, Home2026):
            continue
        for page in pages_of(listing):
            url, html = page_url(listing, page), rendered(site, listing, page)
            rank = hrefs_in(html, url, '//div[@class="rank"]')
            got = parse_listing(html, url)
            assert got.articles and rank and not rank & {a.url for a in got.articles}, (listing.key, page)
            if html.index('class="side"') < html.index('class="listMain"'):
                dated = 'class="date"' in html.split('class="rank"', 1)[1].split("</ul>", 1)[0]
                dated_first += dated
                undated_first += not dated
    assert dated_first and undated_first  # both cases are in the replica


def test_nav_bars_and_footers_are_never_read(site: Site) -> None:
    for listing in listings_2026(site):
        for page in pages_of(listing):
            url, html = page_url(listing, page), rendered(site, listing, page)
            around = hrefs_in(html, url, '//div[@class="topbar" or @class="subnav" or @class="footer"]')
            got = parse_listing(html, url)
            assert around and not around & ({a.url for a in got.articles} | {u for u, _ in got.skipped})
            assert not set(got.sublistings) & around  # 关于我们, 网站地图: pages of the site, not listings


def test_the_home_page_boxes_lose_to_its_long_undated_list(site: Site) -> None:
    home = next(lst for lst in listings_2026(site) if isinstance(lst, Home2026))
    html = rendered(site, home, None)
    got = parse_listing(html, home.index_url)
    listed = {urls.canonical(u) for _, u, _ in home.page_rows(None)}
    boxes = {u for u in hrefs_in(html, home.index_url, '//div[@class="box"]') if urls.is_article(u)} - listed
    assert {a.url for a in got.articles} == listed and boxes and not boxes & listed


def test_a_hebnews_link_in_the_main_list_is_skipped_as_off_site(site: Site) -> None:
    listing = next(lst for lst in listings_2026(site) if not lst.blocks and lst.overflow_count)
    html = rendered(site, listing, None)
    foreign = ('<li><a href="http://hebei.hebnews.cn/2026-09/10/content_9424114.htm">河北新闻网的一篇报道标题</a>'
               '<span class="date">2026-09-10</span></li>'
               '<li><a href="https://www.hebnews.cn/system/2026/09/10/102221399.shtml">形如本站文章的外站链接标题</a>'
               '<span class="date">2026-09-10</span></li>')
    hostile = html.replace('<div class="listMain">\n<ul>\n', '<div class="listMain">\n<ul>\n' + foreign, 1)
    assert hostile != html
    got, plain = parse_listing(hostile, listing.index_url), parse_listing(html, listing.index_url)
    assert [a.url for a in got.articles] == [a.url for a in plain.articles]
    assert dict(got.skipped) == {"http://hebei.hebnews.cn/2026-09/10/content_9424114.htm": "off-site",
                                 "https://www.hebnews.cn/system/2026/09/10/102221399.shtml": "off-site"}


def test_the_portal_domains_decide_what_is_on_site(site: Site) -> None:
    listing = next(lst for lst in listings_2026(site) if not lst.blocks and lst.overflow_count)
    html = rendered(site, listing, None)
    assert len(parse_listing(html, listing.index_url, domains=("hebccw.cn",)).articles) == listing.page_size
    old_only = parse_listing(html, listing.index_url, domains=("hebei.com.cn",))
    assert old_only.articles == [] and old_only.pager_links == [] and old_only.older_link is None


def test_old_era_pages_with_their_block_comments_removed_read_the_same(default_site: Site) -> None:
    """The old portal's layout (a main list among 热点推荐, 视频 and 友情链接 boxes, either first),
    found from the structure alone: the main list's links, dated, and its pager."""
    for listing in default_site.listings:
        for page_no in [None, *range(1, listing.overflow_count + 1)]:
            url = listing.index_url if page_no is None else listing.overflow_url(page_no)
            html = re.sub(r"<!--enorth cms block (start|end) [^>]*-->", "", render.render_listing(default_site, listing, page_no))
            got, rows = parse_listing(html, url), listing.page_rows(page_no)
            expected = [(urls.canonical(u), day) for _, u, day in rows if urls.is_article(u)]
            assert [(a.url, a.day) for a in got.articles] == expected, (listing.key, page_no)
            assert [u for u, _ in got.skipped] == [u for _, u, _ in rows if not urls.is_article(u)]
            if listing.pager == "static" and listing.overflow_count:
                older = listing.overflow_url(page_no - 1 if page_no else listing.overflow_count)
                assert got.older_link == (older if page_no != 1 else None), (listing.key, page_no)


# ------------------------------------------------------------------ other plausible layouts

def page(*parts: str) -> str:
    """A channel page of the new hosts: nav bar, the given parts, a footer full of links."""
    nav = "".join(f'<li><a href="//heb.hebccw.cn/{p}/">{name}</a></li>'
                  for p, name in [("hbyw", "要闻"), ("qjhb", "全景"), ("szyw", "时政"), ("sh", "社会")])
    footer = ('<div><p>' + " | ".join(f'<a href="{ARTICLE.format(1, n)}">站内文章{n}</a>' for n in range(60, 90))
              + "</p><p>长城新媒体集团主办 版权所有 冀ICP备05000001号</p></div>")
    return (f'<html><head><meta charset="utf-8"></head><body><ul class="menu">{nav}</ul>'
            + "".join(parts) + footer + "</body></html>")


def title(n: int) -> str:
    return f"河北省第{n}项重点工程建设进展顺利稳步推进"


def article(day: int, n: int) -> str:
    return urls.canonical(ARTICLE.format(day, n))


def read(html: str, url: str = CHANNEL) -> tuple[list[str], list[str | None]]:
    got = parse_listing(html, url)
    return [a.url for a in got.articles], [a.day for a in got.articles]


def test_a_table_of_rows_with_the_day_in_its_own_cell() -> None:
    rows = "".join(f'<tr><td class="t"><a href="{ARTICLE.format(1 + n % 28, n)}">{title(n)}</a></td>'
                   f"<td>2026-09-{1 + n % 28:02d}</td></tr>" for n in range(10, 22))
    side = "".join(f'<tr><td><a href="{ARTICLE.format(3, n)}">{title(n)}</a></td><td>2026-09-03</td></tr>'
                   for n in range(40, 44))
    got = read(page(f"<table><tbody>{side}</tbody></table>", f"<table><tbody>{rows}</tbody></table>"))
    assert got == ([article(1 + n % 28, n) for n in range(10, 22)], [f"2026-09-{1 + n % 28:02d}" for n in range(10, 22)])


@pytest.mark.parametrize(("shown", "day"), [
    ("[2026-09-10]", "2026-09-10"), ("2026年09月10日", "2026-09-10"), ("2026/9/10", "2026-09-10"),
    ("09-10", "2026-09-10"), ("9月10日", "2026-09-10"), ("2026.09.10 08:30", "2026-09-10"),
])
def test_div_rows_with_the_day_before_the_link_in_any_form(shown: str, day: str) -> None:
    rows = "".join(f'<div class="item"><span class="time">{shown}</span><span class="tit">'
                   f'<a href="{ARTICLE.format(10, n)}">{title(n)}</a></span></div>' for n in range(1, 9))
    assert read(page(f'<div class="news">{rows}</div>')) == ([article(10, n) for n in range(1, 9)], [day] * 8)


def test_a_day_without_its_year_takes_the_next_year_across_new_year() -> None:
    rows = "".join(f'<li><a href="https://heb.hebccw.cn/system/2025/12/31/1021400{n:02d}.shtml">{title(n)}</a>'
                   f"<em>01-01</em></li>" for n in range(1, 6))
    assert read(page(f"<ul>{rows}</ul>"))[1] == ["2026-01-01"] * 5


def test_a_side_box_headed_hot_loses_though_longer_dated_and_first() -> None:
    hot = "".join(f'<li><a href="{ARTICLE.format(5, n)}">{title(n)}</a><span>2026-09-05</span></li>'
                  for n in range(40, 55))
    main = "".join(f'<li><a href="{ARTICLE.format(9, n)}">{title(n)}</a><span>2026-09-09</span></li>'
                   for n in range(1, 4))
    html = page(f"<div><h3>热点新闻</h3><ul>{hot}</ul></div>", f"<div><h3>本地新闻</h3><ul>{main}</ul></div>")
    assert read(html)[0] == [article(9, n) for n in range(1, 4)]
    ranked = html.replace("<h3>热点新闻</h3>", '<div class="hd"><span>点击排行</span></div>')
    assert read(ranked)[0] == [article(9, n) for n in range(1, 4)]


def test_a_footer_or_a_nav_bar_full_of_article_links_is_not_the_main_list() -> None:
    main = "".join(f'<li><a href="{ARTICLE.format(9, n)}">{title(n)}</a></li>' for n in range(1, 6))
    nav = "".join(f'<a href="{ARTICLE.format(8, n)}">专题{n}</a> ' for n in range(20, 40))
    assert read(page(f"<nav>{nav}</nav>", f"<ul>{main}</ul>"))[0] == [article(9, n) for n in range(1, 6)]
    links = "".join(f"<li><a href={ARTICLE.format(7, n)!r}>{title(n)}</a></li>" for n in range(20, 40))
    for footer in (f'<div class="foot">{links}</div>', f'<div class="footer"><ul class="linkList">{links}</ul></div>',
                   f'<footer><div class="newsList"><ul>{links}</ul></div></footer>'):
        assert read(page(f"<ul>{main}</ul>", footer))[0] == [article(9, n) for n in range(1, 6)], footer


def test_the_list_next_to_the_pager_wins_and_its_pager_pages_are_no_sub_listings() -> None:
    main = "".join(f'<li><a href="/system/2026/09/09/1022210{n:02d}.shtml">{title(n)}</a>(09-09)</li>' for n in range(1, 3))
    other = "".join(f'<li><a href="{ARTICLE.format(5, n)}">{title(n)}</a>(2026-09-05)</li>' for n in range(40, 50))
    pager = ('<div class="pages"><a href="index.shtml">首页</a> <a href="index_3.shtml">上一页</a> '
             '<a href="index_3.shtml">3</a> <a href="index_5.shtml">5</a> <a href="index_5.shtml">下一页</a> '
             '<a href="index_9.shtml">尾页</a></div>')
    html = page(f'<div class="column"><ul>{other}</ul></div>', f'<div class="column"><ul>{main}</ul>{pager}</div>',
                '<div class="sub"><a href="/hbyw/sz/">时政</a></div>')
    got = parse_listing(html, CHANNEL + "index_4.shtml")
    assert [a.url for a in got.articles] == [f"http://heb.hebccw.cn/system/2026/09/09/1022210{n:02d}.shtml" for n in (1, 2)]
    assert [a.day for a in got.articles] == ["2026-09-09"] * 2
    assert got.older_link == "http://heb.hebccw.cn/hbyw/index_5.shtml"
    assert got.sublistings == ["http://heb.hebccw.cn/hbyw/sz/"]


def test_a_list_drawn_in_chunks_is_one_list_and_its_category_links_are_skipped() -> None:
    chunks = ['<ul class="list">' + "".join(
        f'<li><em>2026-09-{n:02d}</em> <a href="/hbyw/">[要闻]</a><a href="{ARTICLE.format(9, n)}">{title(n)}</a></li>'
        for n in range(k, k + 5)) + "</ul>" for k in (1, 6, 11)]
    side = '<ul class="list">' + "".join(f'<li><a href="{ARTICLE.format(5, n)}">{title(n)}</a></li>' for n in range(40, 52)) + "</ul>"
    html = page('<div class="left">' + '<div class="line"></div>'.join(chunks) + "</div>",
                f'<div class="right"><h3>推荐阅读</h3>{side}</div>')
    got = parse_listing(html, CHANNEL)
    assert [a.url for a in got.articles] == [article(9, n) for n in range(1, 16)]
    assert [a.day for a in got.articles] == [f"2026-09-{n:02d}" for n in range(1, 16)]
    assert {reason for _, reason in got.skipped} == {"not an article page"}


def test_links_separated_by_line_breaks_in_one_cell() -> None:
    cell = "".join(f'<a href="{ARTICLE.format(9, n)}">{title(n)}</a> 2026-09-{n:02d}<br>' for n in range(1, 8))
    assert read(page(f"<table><tr><td>{cell}</td></tr></table>")) == (
        [article(9, n) for n in range(1, 8)], [f"2026-09-{n:02d}" for n in range(1, 8)])


def test_a_lead_story_above_the_list_belongs_to_it_and_boxes_lose_to_long_lists() -> None:
    lead = f'<div class="focus"><h2><a href="{ARTICLE.format(9, 1)}">{title(1)}</a></h2></div>'
    main = "".join(f'<li><a href="{ARTICLE.format(9, n)}">{title(n)}</a></li>' for n in range(2, 14))
    boxes = "".join(f'<div><h3>频道{k}</h3><ul>' + "".join(
        f'<li><a href="{ARTICLE.format(3, n)}">{title(n)}</a><span>2026-09-03</span></li>' for n in range(k, k + 5))
        + "</ul></div>" for k in (40, 50, 60))
    assert read(page(lead, f"<ul>{main}</ul>", boxes))[0] == [article(9, n) for n in range(1, 14)]


# ------------------------------------------------------------------ URL shapes and the walk

def test_static_pager_pages_are_listing_pages_of_their_index() -> None:
    assert urls.is_listing_path("/hbyw/index_2.shtml") and urls.is_listing_path("/hbyw/index.shtml")
    assert [urls.index_page_number(p) for p in ("/hbyw/", "/hbyw/index.shtml", "/cjzq/cjtt/index_12.shtml")] == [1, 1, 12]
    assert urls.index_page_number("/system/more/index_2.shtml") is None
    assert urls.index_page_number("/hbyw/index_0.shtml") is None and urls.index_page_number("/hbyw/list_2.shtml") is None
    assert urls.index_page_url("http://heb.hebccw.cn/hbyw/", 3) == "http://heb.hebccw.cn/hbyw/index_3.shtml"


def walk_listing(site: Site, listing: Listing2026, walk: Walk, fail: frozenset[str] = frozenset()) -> list[str]:
    """Drive `walk` over `listing` as the spider does, page by page; `fail` are the pages that
    fail. The listing pages asked for, in order."""
    by_url = {urls.canonical(page_url(listing, p)): p for p in pages_of(listing)}
    by_url[f"http://{listing.host}{listing.base_dir}index.shtml"] = None
    asked, queue = [], deque([urls.canonical(listing.index_url)])
    while queue:
        url = queue.popleft()
        asked.append(url)
        if url in fail:
            queue.extend(walk.after_failure(url, "listing"))
            continue
        parsed: ListingPage = parse_listing(rendered(site, listing, by_url[url]), url)
        targets, _ = walk.next_pages(parsed, url, walk.wanted(parsed.articles))
        queue.extend(t for t in targets if t not in asked and t not in queue)
    return asked


def channel(site: Site) -> Listing2026:
    return max((lst for lst in listings_2026(site) if not lst.blocks), key=lambda lst: lst.overflow_count)


def test_a_full_walk_asks_for_every_index_page_once(site: Site) -> None:
    listing = channel(site)
    asked = walk_listing(site, listing, Walk(Mode.FULL))
    # once each, and never index.shtml besides the directory it is the first page of
    assert sorted(asked) == sorted(urls.canonical(u) for u in listing.listing_urls)


def test_an_incremental_walk_stops_at_the_first_page_with_nothing_new(site: Site) -> None:
    listing = channel(site)
    rows = [urls.canonical(u) for _, u, _ in listing.main_entries]
    new = listing.page_size + 3  # on the second page
    walk = Walk(Mode.INCREMENTAL, known_urls=lambda found: set(found) & set(rows[new:]))
    assert walk_listing(site, listing, walk) == [urls.canonical(page_url(listing, p)) for p in (None, 1, 2)]
    assert walk.requested == set(rows[:new])


def test_a_since_walk_stops_at_the_first_page_before_the_day(site: Site) -> None:
    listing = channel(site)
    day = listing.page_rows(2)[3][2]  # the third page holds days before it, the fourth only those
    assert listing.page_rows(2)[-1][2] < day and listing.page_rows(3)[0][2] < day
    walk = Walk(Mode.SINCE, since=date.fromisoformat(day))
    assert walk_listing(site, listing, walk) == [urls.canonical(page_url(listing, p)) for p in (None, 1, 2)]
    assert walk.requested == {urls.canonical(u) for _, u, d in listing.main_entries if d >= day}


def test_a_failed_index_page_does_not_end_an_incremental_walk(site: Site) -> None:
    listing = channel(site)
    pages = [urls.canonical(u) for u in listing.listing_urls]
    walk = Walk(Mode.INCREMENTAL, known_urls=lambda found: set())
    assert walk_listing(site, listing, walk, fail=frozenset({pages[2]})) == pages
    last = Walk(Mode.INCREMENTAL, known_urls=lambda found: set())
    assert walk_listing(site, listing, last, fail=frozenset({pages[-1]})) == pages  # and no page past the last
