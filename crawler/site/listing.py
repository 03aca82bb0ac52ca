"""Listing pages: the main list, the pager (static links or the count script), sub-listings.

A listing page holds several lists: the main column's and side boxes that link to other channels,
videos and other sites (site notes, section 5). Only the main list is the channel's content. Which
list is the main one is not marked, so it is scored.

On pages of the enorth CMS the lists are `v5.latest` blocks: the block that shares its container
with the pager wins, then one that does not look like a side box (named side/box/hot/rank..., or
headed 热点推荐/排行/视频...), then the one with the most dated on-site article links.

Where no block holds an article link (the 2026 hosts, the home page), the lists are found from the
page's structure (`_main_list`): the links are grouped by the element that repeats them (a `ul`,
a table, a `div` of rows), a group drawn in chunks is one group, and side boxes, nav bars and
footers are never the main list. Of the rest, the group next to the pager wins, then the one with
the most portal article links, dated ones counting double and short (nav-like) titles less. A
headline link just above the winner (a home page's lead story) belongs to it.

A channel whose page defeats both declares `main_list_xpath` (crawler/site/channels.py).
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
# The day beside a link: 2026-09-10, [2026-9-10], 2026/09/10, 2026.09.10, 2026年09月10日; or
# without the year (09-10, 9月10日), which the article's URL date then supplies.
_DAY = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_MONTH_DAY = re.compile(r"(?<![\d./-])(\d{1,2})\s*[-/月]\s*(\d{1,2})(?![\d./-])")
_MAXPAGE = re.compile(r"\bmaxpage\s*=\s*(\d+)")
_PAGER_WORDS = ("下一页", "上一页", "尾页", "首页", "下页", "上页", "末页")
_OLDER_WORDS = ("下一页", "下页")
_AMBIGUOUS_WORDS = ("首页",)  # a pager's first page, or the site's home page
_PAGER_NUMBER = re.compile(r"\[?\d{1,6}\]?|\.{2,}|…+")
# XML_PARSE_HUGE: libxml2's defaults stop a parse 256 elements deep or at a 10 MB text node and
# keep what came before, silently; with it, the limits are 2048 deep and 1 GB, and a page past
# them is a failure that says so (`ListingPage.problem`).
_PARSER = lxml.html.HTMLParser(huge_tree=True)
# Why a page's links are skipped (`listing/skipped_links/<reason>`), beside the gate's reasons.
NOT_A_URL = "not a URL"
SCRIPT_OFF_SITE = "count script off-site"

Link = tuple[str, str, str | None]  # (href as written, title, day)


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


def _href(a: etree._Element) -> str | None:
    href = (a.get("href") or "").strip()
    return None if not href or href.startswith(("javascript:", "#", "mailto:")) else href


def _listed_day(text: str, base: str, href: str) -> str | None:
    """The day (YYYY-MM-DD) `text` beside a link shows. A day without its year takes the year of
    the article's URL date, the day the article was made: it was listed on or after it."""
    m = _DAY.search(text)
    if m:
        year, month, day = (int(g) for g in m.groups())
    else:
        short = _MONTH_DAY.search(text)
        made = urls.ARTICLE_PATH.match(urlsplit(urls.resolve_link(base, href) or "").path)
        if not short or not made:
            return None
        month, day = int(short.group(1)), int(short.group(2))
        year = int(made.group(1)) + int((month, day) < (int(made.group(2)), int(made.group(3))))
    return f"{year}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else None


def _text_after(a: etree._Element) -> str:
    following = a.getnext()
    is_text = following is not None and isinstance(following.tag, str) and following.tag != "a"
    text = following.text_content() if is_text else ""
    return (a.tail or "") + text


def _links(elements: list[etree._Element], base: str) -> list[Link]:
    """(href, text, day) of every link inside `elements`, the day from the link's list item
    (or, where the item holds several links, from the text right after the link)."""
    out = []
    links_in: dict[etree._Element, int] = {}
    for el in elements:
        if not isinstance(el.tag, str):
            continue
        for a in el.iter("a"):
            href = _href(a)
            if href is None:
                continue
            holder = a.getparent()
            if holder is not None and holder not in links_in:
                links_in[holder] = sum(1 for _ in holder.iter("a"))
            if holder is not None and links_in[holder] == 1:
                text_around = "".join(holder.itertext()).replace(a.text_content(), "")
            else:
                text_around = _text_after(a)
            title = (a.get("title") or a.text_content()).strip()
            out.append((href, title, _listed_day(text_around, base, href)))
    return out


def _is_pager_link(a: etree._Element) -> bool:
    text = a.text_content().strip()
    return text in _PAGER_WORDS or bool(_PAGER_NUMBER.fullmatch(text))


def _in_a_pager(a: etree._Element) -> bool:
    """Whether the links around `a` are a pager's (首页 上一页 1 2 3 下一页): a 首页 link elsewhere is
    the site's home page."""
    node = a.getparent()
    for _ in range(3):
        if node is None:
            return False
        around = [other for other in node.iter("a") if _href(other) is not None]
        if len(around) >= 2:
            return 2 * sum(map(_is_pager_link, around)) > len(around)
        node = node.getparent()
    return False


def _has_pager(container: etree._Element) -> bool:
    for el in container.iter():
        if el.tag == "script" and "count_page_list" in (el.get("src") or ""):
            return True
        if el.tag == "a" and (el.text or "").strip() in _PAGER_WORDS:
            return True
    return False


def parse_listing(html: str, url: str, main_list_xpath: str | None = None,
                  domains: tuple[str, ...] = urls.PORTAL_DOMAINS) -> ListingPage:
    """Read one listing page. `main_list_xpath` (a channel's layout hint) overrides the scoring;
    `domains` are the portal's (the setting PORTAL_DOMAINS): every link off them is skipped."""
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
        main_links = _links(nodes, url)
    else:
        main_links, articles = _best_block(root, url, domains)
        if not articles:
            main_links = _main_list(root, url, domains) or main_links
    for href, title, day in main_links:
        absolute = urls.resolve_link(url, href)
        refused = urls.refusal(absolute, domains) if absolute is not None else NOT_A_URL
        if absolute is None or refused is not None:
            page.skipped.append((absolute or href, (refused or "").split(":")[0]))
        elif urls.is_article(absolute, domains):
            page.articles.append(ListedLink(urls.canonical(absolute), title, day))
        else:
            page.skipped.append((absolute, "not an article page"))

    for a in root.iter("a"):
        text = a.text_content().strip()
        if text not in _PAGER_WORDS or (text in _AMBIGUOUS_WORDS and not _in_a_pager(a)):
            continue
        linked = urls.resolve_link(url, a.get("href") or "")
        if linked is not None and urls.on_site(linked, domains):
            target = urls.canonical(linked)
            if urls.overflow_page_number(target) or urls.is_listing_path(urlsplit(target).path):
                page.pager_links.append(target)
                if text in _OLDER_WORDS and page.older_link is None:
                    page.older_link = target
    for script in root.iter("script"):
        src = script.get("src") or ""
        if "count_page_list_" in src:
            found = urls.resolve_link(url, src)
            if found is not None and urls.on_site(found, domains) and urls.COUNT_SCRIPT_PATH.search(found):
                page.count_script = urls.canonical(found)
            else:
                page.skipped.append((found or src, SCRIPT_OFF_SITE))

    base = urls.directory_of(url)
    host = urlsplit(url).hostname
    seen = set()
    not_urls = {href for href, reason in page.skipped if reason == NOT_A_URL}
    in_footer = {a for footer in root.iter() if _is_footer(footer) for a in footer.iter("a")}
    for a in root.iter("a"):
        href = a.get("href") or ""
        linked = urls.resolve_link(url, href)
        if linked is None:
            if href not in not_urls:  # a link anywhere on the page that is no URL is counted once
                not_urls.add(href)
                page.skipped.append((href, NOT_A_URL))
            continue
        parts = urlsplit(linked)
        if parts.hostname != host or a in in_footer or not _is_sublisting(parts.path, base):
            continue
        target = urls.canonical(linked)
        if target not in seen and target != page.url:
            seen.add(target)
            page.sublistings.append(target)
    return page


def _is_footer(el: etree._Element) -> bool:
    """A page's footer: its links (关于我们, 网站地图) are the site's pages, not listings."""
    return isinstance(el.tag, str) and (el.tag == "footer" or bool(_FOOTER_NAME.search(_names(el))))


def _is_sublisting(path: str, base: str) -> bool:
    """A listing below the directory `base`: the first page of its index, never a page of its
    static pager (`index_2.shtml`: the walk decides on those), never a page of `base` itself."""
    return (path.startswith(base) and urls.index_page_number(path) == 1
            and urls.directory_of(path) != base)


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


def _best_block(root: lxml.html.HtmlElement, url: str, domains: tuple[str, ...]) -> tuple[list[Link], int]:
    """The links of the main list, and how many of them are portal articles. A block without
    links cannot be it; a block closed by its end comment beats an unclosed one; what a container
    says (pager, side box) is read once per container, however many blocks it holds."""
    best: list[Link] = []
    best_score = (-1, -1, -1, -1, -1)
    container_score: dict[etree._Element, tuple[int, int]] = {}
    for container, members, closed in _blocks(root, "v5.latest"):
        links = _links(members, url)
        if not links or _marked_side_box(container):
            continue  # a 热点/排行 box is never the main list, even where no other block is
        if container not in container_score:
            container_score[container] = (int(_has_pager(container)), int(not _looks_like_side_box(container)))
        resolved = ((urls.resolve_link(url, lk[0]), lk) for lk in links)
        articles = [lk for absolute, lk in resolved if absolute is not None and urls.is_article(absolute, domains)]
        dated = sum(1 for lk in articles if lk[2])
        score = (*container_score[container], int(closed), dated, len(articles))
        if score > best_score:
            best, best_score = links, score
    return best, max(best_score[-1], 0)


# --------------------------------------------------------------- lists found from the structure

# Elements that hold one entry of a list, never a list of their own.
_ROW_TAGS = frozenset({"li", "tr", "td", "th", "dd", "dt", "p", "span", "font", "em", "strong", "b", "i",
                       "h1", "h2", "h3", "h4", "h5", "h6"})
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HEADING_CLASS = re.compile(r"tit|hd\b|head|caption|lanmu", re.IGNORECASE)
# A side box, whatever the rest of the page: named or headed like one. Weaker names (box, right,
# links...) only count against a list (`_looks_like_side_box`).
_SIDE_NAME = re.compile(r"side|rank|hot|recommend|tuijian|paihang|video", re.IGNORECASE)
_SIDE_TITLE = re.compile(r"热点|排行|推荐|热门|热读|点击|视频|友情链接|相关")
_NAV_NAME = re.compile(r"nav|menu|daohang|topbar", re.IGNORECASE)
_FOOTER_NAME = re.compile(r"foot|bottom|copyright|banquan", re.IGNORECASE)
_FOOTER_TEXT = re.compile(r"版权所有|copyright|©|ICP备|ICP证", re.IGNORECASE)
_TITLE_LENGTH = 10  # characters: an article title is longer, a nav bar's link shorter


@dataclass
class _Structure:
    """Where a page's links sit: for each element, its children that hold a link; which
    elements hold a pager link (首页, 下一页, 2, 3...) or the count script, which any other link."""

    holding: dict[etree._Element, set[etree._Element]] = field(default_factory=dict)
    pager: set[etree._Element] = field(default_factory=set)
    plain: set[etree._Element] = field(default_factory=set)
    anchors: list[etree._Element] = field(default_factory=list)

    def add(self, el: etree._Element, is_pager: bool) -> None:
        """Record `el` up its ancestors, stopping where an earlier link was recorded already:
        linear in the page."""
        marks = self.pager if is_pager else self.plain
        marks.add(el)
        child, parent = el, el.getparent()
        while parent is not None:
            kids = self.holding.setdefault(parent, set())
            if child in kids and parent in marks:
                break
            kids.add(child)
            marks.add(parent)
            child, parent = parent, parent.getparent()

    def count(self, el: etree._Element) -> int:
        return len(self.holding.get(el, ()))

    def pager_only(self, el: etree._Element) -> bool:
        return el in self.pager and el not in self.plain


def _structure(root: etree._Element) -> _Structure:
    found = _Structure()
    for el in root.iter("a", "script"):
        if el.tag == "script":
            if "count_page_list" in (el.get("src") or ""):
                found.add(el, True)
        elif _href(el) is not None:
            found.anchors.append(el)
            found.add(el, _is_pager_link(el))
    return found


def _list_element(a: etree._Element, found: _Structure) -> etree._Element:
    """The element that lists `a`: its lowest ancestor holding two links or more, or the one above
    when that is only a row of a longer list (an `li` with a title and a category link)."""
    node = a.getparent()
    while node is not None and node.getparent() is not None and found.count(node) < 2:
        node = node.getparent()
    if node is None:
        return a
    parent = node.getparent()
    if parent is None or found.count(parent) < 2:
        return node
    alike = sum(1 for kid in found.holding[parent] if kid.tag == node.tag and kid.get("class") == node.get("class"))
    if node.tag in _ROW_TAGS or (alike >= 2 and found.count(node) <= 3):
        return parent
    return node


def _is_separator(el: etree._Element, found: _Structure) -> bool:
    """What may sit between two chunks of one list: a rule, an empty line, a comment."""
    return not isinstance(el.tag, str) or (el.tag not in _HEADING_TAGS and el not in found.plain
                                           and not "".join(el.itertext()).strip())


def _chunk_of(element: etree._Element, lists: dict[etree._Element, etree._Element],
              found: _Structure) -> etree._Element:
    """The first chunk of the list `element` continues (itself if none): a list drawn as several
    sibling `ul`s of one kind, with nothing but separators between them, is one list."""
    for before in element.itersiblings(preceding=True):
        if _is_separator(before, found):
            continue
        if before in lists and before.tag == element.tag and before.get("class") == element.get("class"):
            return lists[before]
        break
    return element


def _names(el: etree._Element) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}" if isinstance(el.tag, str) else ""


def _heading_like(el: etree._Element) -> bool:
    if not isinstance(el.tag, str):
        return False
    return (el.tag in _HEADING_TAGS or bool(_HEADING_CLASS.search(_names(el)))) and \
        len("".join(el.itertext()).strip()) <= 20


def _heading_of(element: etree._Element) -> str:
    """The heading a list carries: its first child, or the element right before it (or before
    its parent, where the list opens its parent)."""
    node: etree._Element | None = element
    for _ in range(2):
        if node is None:
            break
        first = next((kid for kid in node if isinstance(kid.tag, str)), None)
        if first is not None and _heading_like(first):
            return "".join(first.itertext())
        before = node.getprevious()
        while before is not None and not isinstance(before.tag, str):
            before = before.getprevious()
        if before is not None:
            return "".join(before.itertext()) if _heading_like(before) else ""
        node = node.getparent()
    return ""


def _marked_side_box(element: etree._Element) -> bool:
    """Headed like a side box (热点, 排行, 推荐...), or named like one (side, rank, hot...) by
    the nearest of three levels that says side or main."""
    if _SIDE_TITLE.search(_heading_of(element)):
        return True
    node: etree._Element | None = element
    for _ in range(3):
        if node is None or not isinstance(node.tag, str):
            break
        names = _names(node)
        if _SIDE_NAME.search(names):
            return True
        if _MAIN_CLASS.search(names):
            return False
        node = node.getparent()
    return False


def _never_main(element: etree._Element, found: _Structure) -> bool:
    """A side box (named or headed like one), a nav bar or a footer (named like one, or saying
    版权所有 in what holds no other links): never the main list."""
    if _SIDE_TITLE.search(_heading_of(element)):
        return True
    named: str | None = None  # the nearest name that says side or main decides
    node: etree._Element | None = element
    for level in range(4):
        if node is None or not isinstance(node.tag, str):
            break
        names = _names(node)
        if node.tag in ("nav", "header") or _NAV_NAME.search(names) or _is_footer(node):
            return True
        if level < 3 and named is None:
            named = "side" if _SIDE_NAME.search(names) else "main" if _MAIN_CLASS.search(names) else None
        node = node.getparent()
    if named == "side":
        return True
    node = element
    for _ in range(3):
        if _FOOTER_TEXT.search("".join(node.itertext())):
            return True
        parent = node.getparent()
        if parent is None or found.count(parent) > 1:
            return False
        node = parent
    return False


def _next_to_pager(element: etree._Element, found: _Structure) -> bool:
    """The pager is inside the list, or beside it: climbing from the list while everything else
    its parent holds is pager links, the pager is reached."""
    node: etree._Element | None = element
    for _ in range(4):
        if node is None:
            return False
        if node in found.pager:
            return True
        parent = node.getparent()
        if parent is None or any(kid is not node and not found.pager_only(kid) for kid in found.holding.get(parent, ())):
            return False
        node = parent
    return False


def _row_links(entries: list[tuple[etree._Element, etree._Element]], base: str) -> list[Link]:
    """(href, title, day) of each (link, the element listing it): the day from the row that holds
    the link (the list element's child) outside its links; where the row holds several links
    (a category and a title), the text right after the link first."""
    out = []
    for a, element in entries:
        row = a
        while row is not element and row.getparent() is not None and row.getparent() is not element:
            row = row.getparent()
        href = _href(a) or ""
        day = _listed_day(_text_after(a), base, href) if row is a or _link_count(row) > 1 else None
        if day is None and row is not a:
            text_around = "".join(row.itertext())
            for link in row.iter("a"):
                text_around = text_around.replace(link.text_content(), " ")
            day = _listed_day(text_around, base, href)
        out.append((href, (a.get("title") or a.text_content()).strip(), day))
    return out


def _link_count(el: etree._Element) -> int:
    return sum(1 for _ in el.iter("a"))


def _headline(element: etree._Element, found: _Structure, base: str, domains: tuple[str, ...]) -> list[Link]:
    """The lead story shown as a heading right above the list (a home page's 头条): the element
    before the list (or before its parent, where the list opens it) when its only links are
    portal articles inside headings."""
    node: etree._Element | None = element
    for _ in range(3):
        if node is None:
            return []
        before = node.getprevious()
        while before is not None and not isinstance(before.tag, str):
            before = before.getprevious()
        if before is not None:
            anchors = [a for a in before.iter("a") if _href(a) is not None]
            articles = [a for a in anchors if _is_portal_article(a, base, domains)
                        and any(up.tag in _HEADING_TAGS for up in a.iterancestors())]
            if anchors and len(articles) == len(anchors) and not _never_main(before, found):
                return [(_href(a) or "", (a.get("title") or a.text_content()).strip(), None) for a in articles]
            return []
        node = node.getparent()
    return []


def _is_portal_article(a: etree._Element, base: str, domains: tuple[str, ...]) -> bool:
    absolute = urls.resolve_link(base, _href(a) or "")
    return absolute is not None and urls.is_article(absolute, domains)


def _main_list(root: etree._Element, base: str, domains: tuple[str, ...]) -> list[Link]:
    """The main list of a page without `v5.latest` blocks (see the module's docstring)."""
    found = _structure(root)
    lists: dict[etree._Element, etree._Element] = {}  # a list element -> the first chunk of its list
    # the first chunk of a list -> (link, its own chunk) for each of the list's links
    members: dict[etree._Element, list[tuple[etree._Element, etree._Element]]] = {}
    for a in found.anchors:
        element = _list_element(a, found)
        if element not in lists:
            lists[element] = _chunk_of(element, lists, found)
        members.setdefault(lists[element], []).append((a, element))
    best: list[Link] = []
    best_score: tuple[int, int, float] = (0, 0, 0.0)
    for element, entries in members.items():
        if _never_main(element, found):
            continue
        links = _row_links(entries, base)
        articles = [lk for (a, _), lk in zip(entries, links) if _is_portal_article(a, base, domains)]
        if not articles:
            continue
        length = sum(len(title) for _, title, _ in articles) / len(articles)
        weight = (len(articles) + sum(1 for lk in articles if lk[2])) * min(1.0, length / _TITLE_LENGTH)
        score = (int(_next_to_pager(element, found)), int(not _looks_like_side_box(element)), weight)
        if score > best_score:
            best, best_score = _headline(element, found, base, domains) + links, score
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
