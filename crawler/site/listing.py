"""Listing pages: the main list, the pager (static links or the count script), sub-listings.

A listing page holds several enorth `v5.latest` blocks: the main column's list and side boxes that
link to other channels, videos and other sites (site notes, section 5). Only the main list is the
channel's content. Which block is the main one is not marked, so it is scored: the block that
shares its container with the pager wins, then one that does not look like a side box (named
side/box/hot/rank..., or headed 热点推荐/排行/视频...), then the one with the most dated on-site
article links. A channel whose page defeats this declares `main_list_xpath` (crawler/site/channels.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from crawler.site import urls

_BLOCK_START = re.compile(r'enorth cms block start \[\s*name="([^"]+)"')
_BLOCK_END = re.compile(r'enorth cms block end \[\s*name="([^"]+)"')
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_MAXPAGE = re.compile(r"\bmaxpage\s*=\s*(\d+)")
_PAGER_WORDS = ("下一页", "上一页", "尾页", "首页", "下页", "上页", "末页")
_OLDER_WORDS = ("下一页", "下页")
# XML_PARSE_HUGE: libxml2's defaults stop a parse 256 elements deep or at a 10 MB text node and
# keep what came before, silently; with it, the limits are 2048 deep and 1 GB, and a page past
# them is a failure that says so (`ListingPage.problem`).
_PARSER = lxml.html.HTMLParser(huge_tree=True)
# Why a page's links are skipped (`listing/skipped_links/<reason>`), beside the gate's reasons.
NOT_A_URL = "not a URL"
SCRIPT_OFF_SITE = "count script off-site"


@dataclass
class ListedLink:
    url: str  # canonical
    title: str
    day: str | None  # YYYY-MM-DD shown beside the link


@dataclass
class ListingPage:
    url: str
    articles: list[ListedLink] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason) from the main list
    pager_links: list[str] = field(default_factory=list)  # overflow or index pages, canonical
    older_link: str | None = None  # the 下一页 link: the next older page
    count_script: str | None = None
    catalog: str | None = None
    sublistings: list[str] = field(default_factory=list)  # canonical listing URLs below the base dir
    problem: str | None = None  # why the page could not be read whole (what was read is kept)


def _blocks(root: lxml.html.HtmlElement, name: str) -> list[tuple[etree._Element, list[etree._Element], bool]]:
    """(container, elements, closed) for each enorth block `name`: what lies between its start
    comment and the next block-end comment (or the next start of a block `name`: an unclosed
    block ends there), in page order. One pass over each container's children: linear in the page."""
    order: dict[etree._Element, int] = {}
    parents: dict[etree._Element, None] = {}
    for index, comment in enumerate(root.iter(etree.Comment)):
        m = _BLOCK_START.search(comment.text or "")
        if m and m.group(1) == name and comment.getparent() is not None:
            order[comment] = index
            parents[comment.getparent()] = None
    found: list[tuple[int, etree._Element, list[etree._Element], bool]] = []
    for parent in parents:
        start: etree._Element | None = None
        members: list[etree._Element] = []
        for child in parent:
            if child in order:
                if start is not None:
                    found.append((order[start], parent, members, False))
                start, members = child, []
            elif start is not None and isinstance(child, etree._Comment) and _BLOCK_END.search(child.text or ""):
                found.append((order[start], parent, members, True))
                start = None
            elif start is not None:
                members.append(child)
        if start is not None:
            found.append((order[start], parent, members, False))
    return [(parent, members, closed) for _, parent, members, closed in sorted(found, key=lambda f: f[0])]


def _links(elements: list[etree._Element]) -> list[tuple[str, str, str | None]]:
    """(href, text, day) of every link inside `elements`, the day from the link's list item
    (or, where the item holds several links, from the text right after the link)."""
    out = []
    links_in: dict[etree._Element, int] = {}
    for el in elements:
        if not isinstance(el.tag, str):
            continue
        for a in el.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                continue
            holder = a.getparent()
            if holder is not None and holder not in links_in:
                links_in[holder] = sum(1 for _ in holder.iter("a"))
            if holder is not None and links_in[holder] == 1:
                text_around = "".join(holder.itertext()).replace(a.text_content(), "")
            else:
                following = a.getnext()
                text_around = (a.tail or "") + (following.text_content() if following is not None
                                                  and following.tag != "a" else "")
            day = _DAY.search(text_around)
            stamp = f"{day.group(1)}-{int(day.group(2)):02d}-{int(day.group(3)):02d}" if day else None
            title = (a.get("title") or a.text_content()).strip()
            out.append((href, title, stamp))
    return out


def _has_pager(container: etree._Element) -> bool:
    for el in container.iter():
        if el.tag == "script" and "count_page_list" in (el.get("src") or ""):
            return True
        if el.tag == "a" and (el.text or "").strip() in _PAGER_WORDS:
            return True
    return False


def parse_listing(html: str, url: str, main_list_xpath: str | None = None) -> ListingPage:
    """Read one listing page. `main_list_xpath` (a channel's layout hint) overrides the scoring."""
    page = ListingPage(url=urls.canonical(url))
    if not html.strip():
        return page
    try:
        root = lxml.html.document_fromstring(html, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return page
    page.problem = parser_gave_up(_PARSER)
    meta = root.xpath('//meta[@name="catalogs"]/@content')
    page.catalog = meta[0].strip() if meta and meta[0].strip().isdigit() else None

    if main_list_xpath:
        nodes = root.xpath(main_list_xpath)
        main_links = _links(nodes)
    else:
        main_links = _best_block(root, url)
    for href, title, day in main_links:
        absolute = urls.resolve_link(url, href)
        refused = urls.refusal(absolute) if absolute is not None else NOT_A_URL
        if absolute is None or refused is not None:
            page.skipped.append((absolute or href, (refused or "").split(":")[0]))
        elif urls.is_article(absolute):
            page.articles.append(ListedLink(urls.canonical(absolute), title, day))
        else:
            page.skipped.append((absolute, "not an article page"))

    for a in root.iter("a"):
        text = a.text_content().strip()
        if text not in _PAGER_WORDS:
            continue
        linked = urls.resolve_link(url, a.get("href") or "")
        if linked is not None and urls.on_site(linked):
            target = urls.canonical(linked)
            if urls.overflow_page_number(target) or urls.is_listing_path(urlsplit(target).path):
                page.pager_links.append(target)
                if text in _OLDER_WORDS and page.older_link is None:
                    page.older_link = target
    for script in root.iter("script"):
        src = script.get("src") or ""
        if "count_page_list_" in src:
            found = urls.resolve_link(url, src)
            if found is not None and urls.on_site(found) and urls.COUNT_SCRIPT_PATH.search(found):
                page.count_script = urls.canonical(found)
            else:
                page.skipped.append((found or src, SCRIPT_OFF_SITE))

    base = urls.directory_of(url)
    host = urlsplit(url).hostname
    seen = set()
    not_urls = {href for href, reason in page.skipped if reason == NOT_A_URL}
    for a in root.iter("a"):
        href = a.get("href") or ""
        linked = urls.resolve_link(url, href)
        if linked is None:
            if href not in not_urls:  # a link anywhere on the page that is no URL is counted once
                not_urls.add(href)
                page.skipped.append((href, NOT_A_URL))
            continue
        parts = urlsplit(linked)
        if parts.hostname != host or not parts.path.startswith(base) or not urls.is_listing_path(parts.path):
            continue
        target = urls.canonical(linked)
        if target not in seen and target != page.url:
            seen.add(target)
            page.sublistings.append(target)
    return page


_SIDE_CLASS = re.compile(r"side|right|box|hot|rank|recommend|tuijian|tj|links?\b|video|ad\b", re.IGNORECASE)
_MAIN_CLASS = re.compile(r"main|list|left|content|con\b", re.IGNORECASE)
_SIDE_HEADING = re.compile(r"推荐|排行|热点|热门|视频|链接|图片|专题|关注")


def _looks_like_side_box(container: etree._Element) -> bool:
    """A side box: its container (or one of two ancestors) is named like one, or it carries a
    heading such as 热点推荐, 排行, 视频, 友情链接."""
    node: etree._Element | None = container
    for _ in range(3):
        if node is None or not isinstance(node.tag, str):
            break
        names = f"{node.get('class', '')} {node.get('id', '')}"
        if _MAIN_CLASS.search(names):
            return False
        if _SIDE_CLASS.search(names):
            return True
        node = node.getparent()
    headings = container.xpath("./h2|./h3|./h4|./div[@class='title']")
    return any(_SIDE_HEADING.search("".join(h.itertext())) for h in headings)


def _best_block(root: lxml.html.HtmlElement, url: str) -> list[tuple[str, str, str | None]]:
    """The links of the main list. A block without links cannot be it; a block closed by its end
    comment beats an unclosed one; what a container says (pager, side box) is read once per
    container, however many blocks it holds."""
    best: list[tuple[str, str, str | None]] = []
    best_score = (-1, -1, -1, -1, -1)
    container_score: dict[etree._Element, tuple[int, int]] = {}
    for container, members, closed in _blocks(root, "v5.latest"):
        links = _links(members)
        if not links:
            continue
        if container not in container_score:
            container_score[container] = (int(_has_pager(container)), int(not _looks_like_side_box(container)))
        resolved = ((urls.resolve_link(url, lk[0]), lk) for lk in links)
        articles = [lk for absolute, lk in resolved if absolute is not None and urls.is_article(absolute)]
        dated = sum(1 for lk in articles if lk[2])
        score = (*container_score[container], int(closed), dated, len(articles))
        if score > best_score:
            best, best_score = links, score
    return best


def parser_gave_up(parser: etree.HTMLParser) -> str | None:
    """The reason libxml2 stopped reading the last page `parser` parsed before its end (a
    FATAL error: too deep, too large), or None when it read it all."""
    for error in parser.error_log:
        if error.level == etree.ErrorLevels.FATAL:
            return f"the HTML parser stopped at line {error.line}: {error.message.strip()}"
    return None


def read_maxpage(script: str) -> int | None:
    """`maxpage = N;` from a count_page_list_*.js script."""
    m = _MAXPAGE.search(script)
    return int(m.group(1)) if m else None
