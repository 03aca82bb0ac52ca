"""What the hostile proxy does to the replica: which page each vector rewrites, and how.

A pure function of the site and the victim's address: the proxy (tests/hostile/server.py) applies
it to the pages it serves, and a test reads it to know which stories a correct crawl loses (the
attacked ones, exactly), which requests it must never send, and which failures it must record.
Every attacked article is a story's only copy, so that losing it loses exactly that story.
"""

from __future__ import annotations

import copy as copy_module
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from itertools import cycle
from urllib.parse import urlsplit

from tests.replica import render
from tests.replica.server import Response
from tests.replica.site import HOSTS_WITH_CHARSET_HEADER, MAIN, Copy, Listing, Site, story_truth

# Hosts that are not the portal's, written into pages; the proxy routes every one to the victim.
ATTACKER_PAGE_HOST = "evil.hebei.com.cn.attacker.com"
ATTACKER_SCRIPT_HOST = "www.example.com"
DECIMAL_LOOPBACK = "http://2130706433/"
# Links that are no URL at all (the brief's vector 2).
BAD_HREFS = ("http://[::1/x", "http://heb.hebei.com.cn：8080/sldhdbdj/xuqin/",
             "http://heb.hebei.com.cn／sldhdbdj/xuqin/", "http://heb.hebei.com.cn:99999/sldhdbdj/xuqin/")
# Links that look like the portal's but lead elsewhere; their article ids exist nowhere.
BACKSLASH_LINK = "http://evil.com\\.hebei.com.cn/system/2024/01/02/101700001.shtml"
FTP_LINK = "ftp://heb.hebei.com.cn/system/2024/01/02/101700002.shtml"
PASSWD = "/system/../../etc/passwd"
# Invisible characters written into every CJK run of one article: format characters (bidi
# overrides and isolates, zero-width ones, the BOM), C0 and C1 controls, NUL.
INVISIBLE = ("\u202e", "\u200b", "\u200e", "\u2066", "\u2069", "\ufeff", "\u200d", "\x01", "\x1b", "\x7f",
             "\x9b", "\x00", "\u00ad", "\u2060")
TRAP_FIRST_PAGE = 99_999_999
# The chain's pages are spelled with a bucket of four digits, as the crawler's overflow pages are
# (the bucket of page 99,999,999 would be 999999): a trap need not follow the CMS's own rule.
TRAP_BUCKET = "9999"
ENDLESS_PAGES = 999
DEEP = 400  # nested elements: past libxml2's default limit (256), well inside XML_PARSE_HUGE's (2048)
TOO_DEEP = 3000  # past even XML_PARSE_HUGE's limit
UNCLOSED_COMMENTS = 4000

_PAGES_BLOCK = re.compile(r'<!--enorth cms block start \[ name="v5\.pages" \]-->.*?'
                          r'<!--enorth cms block end \[ name="v5\.pages"[^\]]*\]-->', re.DOTALL)
_STATIC_PAGER = re.compile(r'<div class="page">.*?</div>', re.DOTALL)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Vector:
    """One attack: its name, its group (the proxy serves the groups it is started with), the page
    it rewrites, and the article copies a correct crawl cannot store because of it."""

    name: str
    group: str
    target: str
    lost: frozenset[str] = frozenset()


GROUPS = ("links", "busy", "cut-short", "traps")


def replace_once(text: str, old: str, new: str) -> str:
    """`text` with its first `old` replaced; an anchor that is gone is an error, never an attack
    that silently does nothing."""
    if old not in text:
        raise ValueError(f"the page has no {old[:60]!r} to rewrite")
    return text.replace(old, new, 1)


def pages_block(links: dict[int, str], current: int) -> str:
    """A `v5.pages` block: page `current` unlinked, the others linked as given."""
    parts = [f'<span class="current">{n}</span>' if n == current else f'<a href="{links[n]}">{n}</a>'
             for n in sorted(set(links) | {current})]
    return render.block("v5.pages", '<div id="displaypagenum"><center>' + " ".join(parts) + "</center></div>", 0)


def with_pages_block(page: str, links: dict[int, str], current: int) -> str:
    if not _PAGES_BLOCK.search(page):
        raise ValueError("the page has no v5.pages block to rewrite")
    return _PAGES_BLOCK.sub(lambda _: pages_block(links, current), page, count=1)


def busy_page() -> str:
    """What an overloaded CMS answers, with 200: no list, no pager, a link home."""
    return (render.head("系统繁忙", "0") + '<div class="busy"><h2>系统繁忙，请稍后再试</h2>'
            '<a href="http://www.hebei.com.cn/">返回首页</a></div>\n</body>\n</html>\n')


def sprinkle_invisible(page: str) -> str:
    """One invisible character after every CJK character of the page, cycling through them all."""
    chars = cycle(INVISIBLE)
    return _CJK.sub(lambda m: m.group(0) + next(chars), page)


class Plan:
    """Every vector of the hostile proxy over one site; `victim` is the victim server's address."""

    def __init__(self, site: Site, victim: str) -> None:
        self.site = site
        self.victim = victim.rstrip("/")

    # the site -------------------------------------------------------------------------------
    def listing(self, key: str) -> Listing:
        return next(lst for lst in self.site.listings if lst.key == key)

    @cached_property
    def listed_on(self) -> dict[str, list[str]]:
        """Copy URL -> the listing pages whose main list shows it."""
        out: dict[str, list[str]] = {}
        for url, (listing, page) in self.site.listing_pages.items():
            for _, row_url, _ in listing.page_rows(page):
                out.setdefault(row_url.replace("https://", "http://", 1), []).append(url)
        return out

    def rows_of(self, page_url: str) -> frozenset[str]:
        listing, page = self.site.listing_pages[page_url]
        return frozenset(u.replace("https://", "http://", 1) for _, u, _ in listing.page_rows(page)
                         if u.replace("https://", "http://", 1) in self.site.article_pages)

    @cached_property
    def articles(self) -> dict[str, Copy]:
        """The copies the article vectors attack, chosen once, in a fixed order: stories with one
        copy on the main template, not on 河北要闻 (whose older pages the count-script vector
        cuts off)."""
        alone = sorted((c for s in self.site.stories if len(s.copies) == 1 for c in s.copies
                        if c.layout == MAIN and c.listing.key != "heb/hbyw" and c.url in self.listed_on),
                       key=lambda c: c.article_id)
        single = [c for c in alone if len(c.pages) == 1]
        multi = [c for c in alone if len(c.pages) > 1]
        on_index = [c for c in single if any(self.site.listing_pages[u][1] is None for u in self.listed_on[c.url])]
        older = [c for c in single if all(self.site.listing_pages[u][1] is not None for u in self.listed_on[c.url])]
        entity = [c for c in single if "&nbsp;" in self.article_page(c)]
        picks: dict[str, Copy] = {}

        def pick(name: str, pool: list[Copy]) -> None:
            picks[name] = next(c for c in pool if c not in picks.values())

        pick("cut-short-older-page", older)
        pick("cut-short-index", on_index)
        pick("cut-short-after-entity", entity)
        for name in ("redirect-loopback", "redirect-decimal-ip", "first-page-etc-passwd", "endless-pages",
                     "mixed-charset", "invisible-characters", "deep-tree", "too-deep-tree"):
            pick(name, single)
        pick("page-2-attacker-host", multi)
        pick("page-2-etc-passwd", multi)
        pick("cut-short-page-2", multi)
        return picks

    def article_page(self, copy: Copy, index: int = 0) -> str:
        return render.render_article(copy, index)

    # the vectors ----------------------------------------------------------------------------
    @cached_property
    def vectors(self) -> list[Vector]:
        a = self.articles
        hbyw, qjhb, hbxw = self.listing("heb/hbyw"), self.listing("heb/qjhb"), self.listing("sjz/hbxw")
        overflow = frozenset(u for p in range(1, hbyw.overflow_count + 1) for u in self.rows_of(hbyw.overflow_url(p)))
        busy = hbyw.overflow_url(hbyw.overflow_count)

        def article(name: str, group: str, lost: bool = True) -> Vector:
            return Vector(name, group, a[name].url, frozenset({a[name].url}) if lost else frozenset())

        return [
            article("redirect-loopback", "links"),
            article("redirect-decimal-ip", "links"),
            article("page-2-attacker-host", "links"),
            Vector("count-script-off-portal", "links", hbyw.index_url, overflow),
            Vector("listing-link-backslash", "links", qjhb.index_url),
            Vector("listing-link-ftp", "links", qjhb.index_url),
            Vector("bad-hrefs", "links", self.listing("heb/sldhdbdj").index_url),
            article("page-2-etc-passwd", "links"),
            article("first-page-etc-passwd", "links"),
            article("endless-pages", "links"),
            Vector("unclosed-comments", "links", self.listing("heb/ztk").index_url),
            Vector("deep-listing", "links", self.listing("sjz/sjzfw").index_url),
            article("mixed-charset", "links", lost=False),
            article("invisible-characters", "links", lost=False),
            article("deep-tree", "links", lost=False),
            article("too-deep-tree", "links"),
            Vector("busy-overflow-page", "busy", busy, self.rows_of(busy)),
            Vector("busy-index", "busy", hbxw.index_url, frozenset(u for page in hbxw.listing_urls for u in self.rows_of(page))),
            article("cut-short-index", "cut-short"),
            article("cut-short-older-page", "cut-short"),
            article("cut-short-after-entity", "cut-short"),
            Vector("cut-short-page-2", "cut-short", a["cut-short-page-2"].page_url(1),
                   frozenset({a["cut-short-page-2"].url})),
            Vector("next-page-chain", "traps", qjhb.index_url),
            Vector("directory-chain", "traps", self.listing("heb/sldhdbdj").index_url),
        ]

    def of(self, groups: tuple[str, ...]) -> list[Vector]:
        return [v for v in self.vectors if v.group in groups]

    def lost(self, groups: tuple[str, ...]) -> frozenset[str]:
        return frozenset(url for v in self.of(groups) for url in v.lost)

    def expected(self, lost: frozenset[str] = frozenset()) -> list[dict]:
        """The truth without the copies in `lost`: what a correct crawl stores."""
        out = []
        for story in self.site.stories:
            kept = [c for c in story.copies if c.url not in lost]
            if kept:
                clone = copy_module.copy(story)
                clone.copies = kept
                out.append(story_truth(clone))
        return sorted(out, key=lambda t: t["id"])

    # serving --------------------------------------------------------------------------------
    def rewriters(self, groups: tuple[str, ...]) -> dict[str, Callable[[Response], Response]]:
        """Target URL -> how its page is rewritten, for the vectors of `groups`."""
        out: dict[str, Callable[[Response], Response]] = {}
        for vector in self.of(groups):
            rewrite = getattr(self, "rewrite_" + vector.name.replace("-", "_"), None)
            if rewrite is None:
                continue
            previous = out.get(vector.target)
            out[vector.target] = rewrite if previous is None else _chain(previous, rewrite)
        return out

    def cut_short(self, groups: tuple[str, ...]) -> frozenset[str]:
        """Article URLs answered close-delimited (no Content-Length) and cut mid-body."""
        return frozenset(v.target for v in self.of(groups) if v.name.startswith("cut-short"))

    def cut_point(self, url: str, body: bytes) -> int:
        """Where a cut-short page ends: just after an `&nbsp;` (so that the body ends in `;`, as a
        complete script would), or half way."""
        if url == self.articles["cut-short-after-entity"].url:
            return body.index(b"&nbsp;", body.index(b"<h1>")) + len(b"&nbsp;")
        return len(body) // 2

    def trap_page(self, url: str, groups: tuple[str, ...]) -> Response | None:
        """A page of the endless 下一页 chain, or a further page of the endless article."""
        if "traps" in groups:
            qjhb = self.listing("heb/qjhb")
            number = _overflow_number(url, qjhb.catalog)
            if number is not None and number > qjhb.overflow_count:
                return _html(qjhb.host, self.chain_page(qjhb, number))
        if "traps" in groups:
            tree = self.listing("heb/sldhdbdj")
            match = re.fullmatch(re.escape(f"http://{tree.host}{tree.base_dir}") + r"((?:trap\d{5}/)+)", url)
            if match:
                return _html(tree.host, directory_chain_page(tree.base_dir + match.group(1)))
        if "links" in groups:
            endless = self.articles["endless-pages"]
            match = re.fullmatch(re.escape(endless.url[: -len(".shtml")]) + r"_(\d{2,3})\.shtml", url)
            if match:
                return _html(endless.host, self.endless_page(endless, int(match.group(1))))
        return None

    # rewrites: each takes the replica's response and returns the hostile one ------------------
    def rewrite_redirect_loopback(self, response: Response) -> Response:
        return Response(302, b"", "text/html", location=f"{self.victim}/stolen/{self.articles['redirect-loopback'].article_id}.shtml")

    def rewrite_redirect_decimal_ip(self, response: Response) -> Response:
        return Response(302, b"", "text/html", location=DECIMAL_LOOPBACK)

    def rewrite_page_2_attacker_host(self, response: Response) -> Response:
        copy = self.articles["page-2-attacker-host"]
        links = {n + 1: copy.page_url(n).rsplit("/", 1)[1] for n in range(len(copy.pages))}
        links[2] = copy.page_url(1).replace(copy.host, ATTACKER_PAGE_HOST, 1)
        return _edit(response, lambda page: with_pages_block(page, links, 1))

    def rewrite_page_2_etc_passwd(self, response: Response) -> Response:
        return _edit(response, lambda page: with_pages_block(page, {2: PASSWD}, 1))

    def rewrite_first_page_etc_passwd(self, response: Response) -> Response:
        return _edit(response, lambda page: with_pages_block(page, {1: PASSWD}, 2))

    def rewrite_endless_pages(self, response: Response) -> Response:
        return _html(urlsplit(self.articles["endless-pages"].url).hostname or "",
                     self.endless_page(self.articles["endless-pages"], 1))

    def endless_page(self, copy: Copy, current: int) -> str:
        stem = copy.url.rsplit("/", 1)[1][: -len(".shtml")]
        links = {n: f"{stem}_{n:02d}.shtml" for n in range(2, ENDLESS_PAGES + 1)}
        links[1] = f"{stem}.shtml"
        return with_pages_block(self.article_page(copy), links, current)

    def rewrite_count_script_off_portal(self, response: Response) -> Response:
        hbyw = self.listing("heb/hbyw")
        path = urlsplit(hbyw.count_script_url).path
        return _edit(response, lambda page: replace_once(page, f'src="{path}"', f'src="http://{ATTACKER_SCRIPT_HOST}{path}"'))

    def rewrite_listing_link_backslash(self, response: Response) -> Response:
        return _edit(response, lambda page: _into_main_list(page, BACKSLASH_LINK, "反斜杠链接"))

    def rewrite_listing_link_ftp(self, response: Response) -> Response:
        return _edit(response, lambda page: _into_main_list(page, FTP_LINK, "FTP 链接"))

    def rewrite_bad_hrefs(self, response: Response) -> Response:
        items = "".join(f'<li><a href="{href}">坏链接</a></li>' for href in BAD_HREFS)
        anchor = '<div class="sub_nav"><!--enorth cms block start [ name="v5.list" ]--><ul>'
        return _edit(response, lambda page: replace_once(page, anchor, anchor + items))

    def rewrite_unclosed_comments(self, response: Response) -> Response:
        comments = '<!--enorth cms block start [ name="v5.latest" ]-->' * UNCLOSED_COMMENTS
        anchor = '<div class="list_left main_list">'
        return _edit(response, lambda page: replace_once(page, anchor, comments + anchor))

    def rewrite_deep_listing(self, response: Response) -> Response:
        return _edit(response, lambda page: replace_once(page, "<body>\n", "<body>\n" + "<font>" * DEEP))

    def rewrite_mixed_charset(self, response: Response) -> Response:
        page = response.body.decode(render.ENCODING)
        half = page.index('<div class="text">')
        body = page[:half].encode(render.ENCODING) + page[half:].encode("utf-8")
        return Response(response.status, body, response.content_type)

    def rewrite_invisible_characters(self, response: Response) -> Response:
        return _edit(response, sprinkle_invisible)

    def rewrite_deep_tree(self, response: Response) -> Response:
        return _edit(response, lambda page: replace_once(page, '<div class="text">', '<div class="text">' + "<font>" * DEEP))

    def rewrite_too_deep_tree(self, response: Response) -> Response:
        return _edit(response, lambda page: replace_once(page, '<div class="text">',
                                                         '<div class="text">' + "<font>" * TOO_DEEP))

    def rewrite_busy_overflow_page(self, response: Response) -> Response:
        return _html("heb.hebei.com.cn", busy_page())

    def rewrite_busy_index(self, response: Response) -> Response:
        return _html("sjz.hebei.com.cn", busy_page())

    def rewrite_next_page_chain(self, response: Response) -> Response:
        qjhb = self.listing("heb/qjhb")
        real = urlsplit(qjhb.overflow_url(qjhb.overflow_count)).path
        trap = chain_path(qjhb, TRAP_FIRST_PAGE)
        return _edit(response, lambda page: replace_once(page, f'<a href="{real}">下一页</a>', f'<a href="{trap}">下一页</a>'))

    def rewrite_directory_chain(self, response: Response) -> Response:
        tree = self.listing("heb/sldhdbdj")
        link = f'<li><a href="{tree.base_dir}trap00001/">专题</a></li>'
        anchor = '<div class="sub_nav"><!--enorth cms block start [ name="v5.list" ]--><ul>'
        return _edit(response, lambda page: replace_once(page, anchor, anchor + link))

    def chain_page(self, listing: Listing, number: int) -> str:
        """Page `number` of the chain: the newest real overflow page's list, and a 下一页 link to
        page `number - 1`."""
        real = render.render_listing(self.site, listing, listing.overflow_count)
        older = chain_path(listing, number - 1) if number - 1 > listing.overflow_count else \
            urlsplit(listing.overflow_url(number - 1)).path
        pager = f'<div class="page"><a href="{listing.path}">首页</a> <a href="{older}">下一页</a></div>'
        if not _STATIC_PAGER.search(real):
            raise ValueError("the overflow page has no static pager to rewrite")
        return _STATIC_PAGER.sub(lambda _: pager, real, count=1)


def directory_chain_page(path: str) -> str:
    """A listing of the endless tree below 省领导活动报道集: no article, a link one directory
    deeper and one to the next directory beside it, for ever."""
    parent, last = path.rstrip("/").rsplit("/", 1)
    beside = f"{parent}/trap{int(last.removeprefix('trap')) + 1:05d}/"
    return (render.head("专题", "0") + f'<div class="sub_nav"><ul><li><a href="{path}trap00001/">下级</a></li>'
            f'<li><a href="{beside}">同级</a></li></ul></div>\n</body>\n</html>\n')


def chain_path(listing: Listing, number: int) -> str:
    return f"/system/more/{listing.catalog}/{TRAP_BUCKET}/{listing.catalog}_{number:08d}.shtml"


def _chain(first: Callable[[Response], Response], then: Callable[[Response], Response]) -> Callable[[Response], Response]:
    return lambda response: then(first(response))


def _edit(response: Response, change: Callable[[str], str]) -> Response:
    page = change(response.body.decode(render.ENCODING))
    return Response(response.status, page.encode(render.ENCODING), response.content_type, response.location)


def _html(host: str, page: str) -> Response:
    ctype = "text/html; charset=gb2312" if host in HOSTS_WITH_CHARSET_HEADER else "text/html"
    return Response(200, page.encode(render.ENCODING), ctype)


def _into_main_list(page: str, href: str, title: str) -> str:
    start = page.index('<div class="list_left main_list">')
    at = page.index("<ul>\n", start) + len("<ul>\n")
    item = f'<li><a href="{href}" target="_blank" title="{title}">{title}</a><span>2024-01-02</span></li>\n'
    return page[:at] + item + page[at:]


def _overflow_number(url: str, catalog: str) -> int | None:
    match = re.search(rf"/system/more/{catalog}/\d{{4}}/{catalog}_(\d{{8}})\.shtml$", url)
    return int(match.group(1)) if match else None
