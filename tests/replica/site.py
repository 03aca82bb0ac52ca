"""The replica's model of 长城网: listings, stories, their copies, and the ground truth.

`build_site(scale, seed)` is deterministic. Every record of the shared corpus becomes a story (the
seed story keeps its second copy); generated stories fill the site up to `scale` distinct stories.
`render.py` turns the model into pages; `truth()` states what a correct crawl must produce.
`build_site(..., era=ERA_2026)` adds the portal as it is in 2026 (`era2026.py`) to that same site.
"""

from __future__ import annotations

import bisect
import copy as copy_module
import json
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path

from crawler.extract.parsers import (
    EnorthAV1,
    EnorthBannerV1,
    EnorthBTimeFirstV1,
    EnorthBV1,
    EnorthCityV1,
)
from tests.replica import content as C

# A copy of ../shared/corpus/articles.jsonl, kept here so a clone is self-contained.
CORPUS_PATH = Path(__file__).resolve().parent / "data" / "articles.jsonl"
DEFAULT_SCALE = 1000
DEFAULT_SEED = 1

# The portal as its stored pages show it (hebei.com.cn, the default), and as it is in 2026.
ERA_2018, ERA_2026 = "2018", "2026"
ERAS = (ERA_2018, ERA_2026)
# The host families, oldest first: one article id is one page whichever family serves it, and
# the truth records it under the newest family that lists it (docs/replica.md).
FAMILIES = ("hebei.com.cn", "hebccw.cn")

# Layout families (section 3 and 4 of the site notes) and the parser version a page must get.
MAIN, OLD, TIME_FIRST, BANNER, CITY = "main", "old", "time-first", "banner", "city"
PORTAL_2026 = "hebccw"  # the 2026 template: h1 + div.detailMessage, UTF-8 (notes section 1-2)
PARSER_OF_LAYOUT = {
    MAIN: EnorthBV1.name,
    OLD: EnorthAV1.name,
    TIME_FIRST: EnorthBTimeFirstV1.name,
    BANNER: EnorthBannerV1.name,
    CITY: EnorthCityV1.name,
    PORTAL_2026: "hebccw/v1",  # family hebccw, version 1: a literal until that parser is committed
}
# What an old-family URL of a copy does: serves its page, 301s to the newest family, or 404s.
SERVED, MOVED, GONE = "served", "moved", "gone"
# Hosts whose HTTP Content-Type names the charset; the others say only text/html.
HOSTS_WITH_CHARSET_HEADER = {"heb.hebei.com.cn", "report.hebei.com.cn"}

# Article ids are one counter for every subdomain; these anchors come from the corpus.
_ID_ANCHORS = [
    (datetime(2016, 6, 1), 17_700_000),
    (datetime(2017, 4, 27, 13, 11), 18_109_452),
    (datetime(2017, 10, 21, 12), 18_523_117),
    (datetime(2018, 7, 17, 10, 20, 26), 18_955_625),
    (datetime(2018, 10, 22, 14, 41), 19_197_980),
    (datetime(2019, 5, 19, 8, 27), 19_646_445),
    (datetime(2019, 9, 1), 19_990_000),
    (datetime(2019, 9, 2), 100_000_000),
    (datetime(2020, 8, 14, 16, 38), 100_417_279),
    (datetime(2021, 6, 4, 7, 32), 100_685_291),
    (datetime(2021, 11, 29, 19, 8), 100_825_240),
    (datetime(2022, 4, 11, 10, 55), 100_922_359),
    (datetime(2024, 3, 12, 14, 7), 101_289_591),
    (datetime(2026, 1, 1), 101_700_000),
]


@dataclass
class Block:
    """One paragraph-level piece of an article body, in page order."""

    kind: str  # lead | p | sub | img | cap | group | ph | video
    text: str = ""
    src: str = ""
    srcs: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    style: str = "indent"  # indent | plain | center | strong | nbsp


@dataclass(repr=False)  # cyclic: a repr would never end
class Listing:
    """A channel or collection page with its overflow pages."""

    key: str
    name: str
    host: str
    path: str  # index path: "/qjhb/" or "/hbyw/index.shtml"
    catalog: str
    crumbs: list[tuple[str, str]]  # (name, url) shown on its articles' breadcrumb
    layout: str
    pager: str = "static"  # static | script | none
    page_size: int = 15
    children: list[Listing] = field(default_factory=list)
    entries: list[Copy] = field(default_factory=list)  # newest first once built
    extra_links: list[tuple[str, str, str]] = field(default_factory=list)  # title, url, day
    latest_only: bool = False  # tree pages show a short latest list and no pager

    @property
    def index_url(self) -> str:
        return f"http://{self.host}{self.path}"

    @property
    def base_dir(self) -> str:
        return self.path if self.path.endswith("/") else self.path.rsplit("/", 1)[0] + "/"

    @property
    def overflow_count(self) -> int:
        if self.latest_only or self.pager == "none":
            return 0
        rest = max(0, len(self.main_entries) - self.page_size)
        return -(-rest // self.page_size)

    @property
    def main_entries(self) -> list[tuple[str, str, str]]:
        """(title, url, day) of the main list, newest first: articles plus non-article links."""
        entries = self.entries
        if self.latest_only:  # a tree page shows the newest stories of the listings below it
            entries = sorted((c for child in self.children for c in child.entries),
                             key=lambda c: (c.published, c.article_id), reverse=True)[:10]
        rows = [(c.story.title, c.listed_url, c.published.strftime("%Y-%m-%d")) for c in entries]
        for title, url, day in self.extra_links:
            pos = next((i for i, r in enumerate(rows) if r[2] <= day), len(rows))
            rows.insert(pos, (title, url, day))
        return rows

    def overflow_url(self, page: int) -> str:
        return (
            f"http://{self.host}/system/more/{self.catalog}/{page // 100:04d}/"
            f"{self.catalog}_{page:08d}.shtml"
        )

    @property
    def count_script_url(self) -> str:
        return (
            f"http://{self.host}/system/count/{self.catalog[:7]}/{self.catalog[7:]}/"
            f"count_page_list_{self.catalog}.js"
        )

    def page_rows(self, page: int | None) -> list[tuple[str, str, str]]:
        """Rows shown on the index (page None) or on overflow page `page` (1 = oldest)."""
        rows = self.main_entries
        if page is None:
            return rows[: self.page_size]
        oldest_first = list(reversed(rows[self.page_size :]))
        chunk = oldest_first[(page - 1) * self.page_size : page * self.page_size]
        return list(reversed(chunk))

    @property
    def listing_urls(self) -> list[str]:
        return [self.index_url] + [self.overflow_url(p) for p in range(1, self.overflow_count + 1)]


@dataclass(repr=False)  # cyclic: a repr would never end
class Copy:
    """One published copy of a story: its own id, URL, time and owning listing."""

    story: Story
    article_id: str
    published: datetime
    url_date: date
    listing: Listing
    pages: list[list[Block]]
    editor: str | None
    https_link: bool = False  # the listing links it as https://
    fate: str = SERVED  # SERVED, or MOVED/GONE: its URLs 301 to the newest family or 404

    @property
    def host(self) -> str:
        return self.listing.host

    @property
    def layout(self) -> str:
        return self.listing.layout

    @property
    def url(self) -> str:
        return f"http://{self.host}/system/{self.url_date:%Y/%m/%d}/{self.article_id}.shtml"

    @property
    def listed_url(self) -> str:
        return self.url.replace("http://", "https://", 1) if self.https_link else self.url

    def page_url(self, index: int) -> str:
        if index == 0:
            return self.url
        return self.url[: -len(".shtml")] + f"_{index + self.story.page_base - 1:02d}.shtml"

    @property
    def page_urls(self) -> list[str]:
        return [self.page_url(i) for i in range(len(self.pages))]

    @property
    def breadcrumbs(self) -> list[str]:
        return [] if self.layout == BANNER else [name for name, _ in self.listing.crumbs]


@dataclass(repr=False)  # cyclic: a repr would never end
class Story:
    key: str
    title_lines: list[str]
    source: str | None
    source_link: bool
    authors: list[str]
    author_style: str  # none | bare | label
    keywords: list[str]
    keyword_sep: str
    pages: list[list[Block]]
    editor: str | None
    page_base: int = 2  # suffix number of page 2: _02 or _01
    copies: list[Copy] = field(default_factory=list)
    from_corpus: bool = False

    @property
    def title(self) -> str:
        return "".join(self.title_lines)

    @property
    def primary(self) -> Copy:
        return recorded_copies(self)[0]


@dataclass
class RollingPage:
    url: str
    title: str
    day: str


@dataclass(repr=False)  # cyclic: a repr would never end
class Site:
    scale: int
    seed: int
    listings: list[Listing]
    stories: list[Story]
    rolling: list[RollingPage]
    domains: tuple[str, ...] = FAMILIES[:1]  # the hosts served: these domains and their subdomains

    @cached_property
    def roots(self) -> list[Listing]:
        """The listings an operator starts from: channel index pages and collection roots."""
        children = {id(c) for lst in self.listings for c in lst.children}
        return [lst for lst in self.listings if id(lst) not in children]

    @cached_property
    def article_pages(self) -> dict[str, tuple[Copy, int]]:
        return {c.page_url(i): (c, i) for s in self.stories for c in s.copies if c.fate == SERVED
                for i in range(len(c.pages))}

    @cached_property
    def redirects(self) -> dict[str, str]:
        """Old-family page URL -> the https URL of the same path in the newest family (301)."""
        return {u: newest_family_url(u) for s in self.stories for c in s.copies if c.fate == MOVED
                for u in c.page_urls}

    @cached_property
    def gone(self) -> set[str]:
        """Old-family page URLs of copies that moved and left nothing behind (404)."""
        return {u for s in self.stories for c in s.copies if c.fate == GONE for u in c.page_urls}

    @cached_property
    def listing_pages(self) -> dict[str, tuple[Listing, int | None]]:
        out: dict[str, tuple[Listing, int | None]] = {}
        for lst in self.listings:
            out[lst.index_url] = (lst, None)
            for p in range(1, lst.overflow_count + 1):
                out[lst.overflow_url(p)] = (lst, p)
        return out

    def truth(self) -> list[dict]:
        return [story_truth(s) for s in sorted(self.stories, key=lambda s: s.primary.article_id)]


# ---------------------------------------------------------------- truth

def family_rank(host: str) -> int:
    """0 for hebei.com.cn, 1 for hebccw.cn: the higher, the newer."""
    return max((i for i, domain in enumerate(FAMILIES) if host == domain or host.endswith("." + domain)), default=0)


def newest_family_url(url: str) -> str:
    """The same path on the same subdomain of the newest family, over https."""
    host, path = url.split("://", 1)[1].split("/", 1)
    return f"https://{host.removesuffix(FAMILIES[0]) + FAMILIES[-1]}/{path}"


def recorded_copies(story: Story) -> list[Copy]:
    """One copy per article id, earliest first: where both families list an id, the newest
    family's (its URL is the one recorded; docs/replica.md)."""
    best: dict[str, Copy] = {}
    for c in story.copies:
        if c.article_id not in best or family_rank(c.host) > family_rank(best[c.article_id].host):
            best[c.article_id] = c
    return sorted(best.values(), key=lambda c: (c.published, c.article_id))


def served_urls(story: Story, copy: Copy) -> list[str]:
    """Every URL answering 200 with a page of this copy's article id: its own, then the other
    family's."""
    twins = [c for c in story.copies if c.article_id == copy.article_id and c is not copy and c.fate == SERVED]
    return [u for c in [copy, *twins] for u in c.page_urls]


def normalise(text: str) -> str:
    """Trim and collapse whitespace runs (U+3000 and nbsp included) to one space."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S+08:00")


def absolute(src: str, page_url: str) -> str:
    from urllib.parse import urljoin

    return urljoin(page_url, src)


def page_fields(copy: Copy) -> dict:
    """What a correct parser must read from the pages of one copy, merged in page order."""
    subtitles: list[str] = []
    body: list[str] = []
    captions: list[str] = []
    images: list[dict] = []
    for index, blocks in enumerate(copy.pages):
        page_url = copy.page_url(index)
        if copy.layout == PORTAL_2026:  # its images are absolute: their scheme is the page's, https
            page_url = page_url.replace("http://", "https://", 1)
        for pos, block in enumerate(blocks):
            nxt = blocks[pos + 1] if pos + 1 < len(blocks) else None
            if block.kind == "lead":
                subtitles.append(normalise(block.text))
            elif block.kind in ("p", "sub"):
                body.append(normalise(block.text))
            elif block.kind == "cap":
                captions.append(normalise(block.text))
            elif block.kind == "img":
                cap = normalise(nxt.text) if nxt is not None and nxt.kind == "cap" else None
                images.append({"url": absolute(block.src, page_url), "caption": cap})
            elif block.kind == "group":
                captions.extend(normalise(c) for c in block.captions)
                for src, cap in zip(block.srcs, block.captions):
                    images.append({"url": absolute(src, page_url), "caption": normalise(cap)})
    story = copy.story
    return {
        "url": copy.url,
        "title": normalise(story.title),
        "subtitles": subtitles,
        "source": story.source,
        "authors": list(story.authors),
        "timestamp": iso(copy.published),
        "body": "\n".join(body),
        "captions": captions,
        "images": images,
        "editor": copy.editor,
        "keywords": [] if copy.layout == PORTAL_2026 else list(story.keywords),  # no 关键词 line
        "breadcrumbs": copy.breadcrumbs,
        "pages": len(copy.pages),
        "parser": PARSER_OF_LAYOUT[copy.layout],
    }


def copy_truth(copy: Copy) -> dict:
    return {"article_id": copy.article_id, "page_urls": copy.page_urls, **page_fields(copy)}


def story_truth(story: Story) -> dict:
    copies = recorded_copies(story)
    primary = copies[0]
    fields = page_fields(primary)
    return {
        "id": primary.article_id,
        **fields,
        "appearances": [
            {"url": c.url, "breadcrumbs": c.breadcrumbs, "timestamp": iso(c.published)} for c in copies
        ],
        "urls": [u for c in copies for u in served_urls(story, c)],
    }


# ---------------------------------------------------------------- listings

def _catalog(n: int) -> str:
    return f"{110_000_000_000_000_000 + n * 1_013_579:018d}" if n % 3 else f"{11_000_000_000_000_000 + n * 7_919:017d}"


def _listings() -> dict[str, Listing]:
    heb = ("河北频道", "http://heb.hebei.com.cn/")
    L: dict[str, Listing] = {}
    n = 0

    def add(key: str, **kw) -> Listing:
        nonlocal n
        n += 1
        kw.setdefault("catalog", _catalog(n))
        L[key] = Listing(key=key, **kw)
        return L[key]

    add("heb/qjhb", name="全景河北", host="heb.hebei.com.cn", path="/qjhb/",
        crumbs=[heb, ("全景河北", "http://heb.hebei.com.cn/qjhb/")], layout=MAIN, pager="static", page_size=20)
    add("heb/hbyw", name="河北要闻", host="heb.hebei.com.cn", path="/hbyw/index.shtml",
        crumbs=[heb, ("河北要闻", "http://heb.hebei.com.cn/hbyw/index.shtml")], layout=MAIN, pager="script", page_size=20)
    ztk = add("heb/ztk", name="专题库", host="heb.hebei.com.cn", path="/ztk/",
              crumbs=[heb, ("专题库", "http://heb.hebei.com.cn/ztk/")], layout=MAIN, pager="static")
    ztk.children.append(add("heb/ztk/ztxw", name="专题新闻", host="heb.hebei.com.cn", path="/ztk/ztxw/index.shtml",
                            crumbs=[heb, ("专题库", "http://heb.hebei.com.cn/ztk/"),
                                    ("专题新闻", "http://heb.hebei.com.cn/ztk/ztxw/index.shtml")],
                            layout=MAIN, pager="script"))
    root_crumbs = [heb, ("省领导活动报道集", "http://heb.hebei.com.cn/sldhdbdj/index.shtml")]
    root = add("heb/sldhdbdj", name="省领导活动报道集", host="heb.hebei.com.cn", path="/sldhdbdj/index.shtml",
               crumbs=root_crumbs, layout=MAIN, pager="none")
    for i, (leader, slug) in enumerate(C.LEADERS):
        leader_url = f"http://heb.hebei.com.cn/sldhdbdj/{slug}/"
        node = add(f"heb/sldhdbdj/{slug}", name=leader, host="heb.hebei.com.cn", path=f"/sldhdbdj/{slug}/",
                   crumbs=root_crumbs + [(leader, leader_url)], layout=MAIN, latest_only=True)
        root.children.append(node)
        for j, (cat, cslug) in enumerate(C.CATEGORIES):
            path = f"/sldhdbdj/{slug}/{cslug}/" + ("index.shtml" if (i + j) % 2 else "")
            node.children.append(add(
                f"heb/sldhdbdj/{slug}/{cslug}", name=cat, host="heb.hebei.com.cn", path=path,
                crumbs=root_crumbs + [(leader, leader_url), (cat, f"http://heb.hebei.com.cn{path}")],
                layout=MAIN, pager="script" if (i + j) % 3 else "static", page_size=10))
    add("heb/2018lh", name="2018全国两会", host="heb.hebei.com.cn", path="/2018lh/index.shtml",
        crumbs=[heb, ("2018全国两会", "http://heb.hebei.com.cn/2018lh/index.shtml")], layout=BANNER, pager="static")
    news = ("长城网", "http://www.hebei.com.cn/")
    news_ch = ("河北新闻频道", "http://news.hebei.com.cn/")
    nztk = add("news/ztk", name="专题库", host="news.hebei.com.cn", path="/ztk/index.shtml",
               crumbs=[news, news_ch, ("专题库", "http://news.hebei.com.cn/ztk/index.shtml")], layout=OLD, pager="static")
    nztk.children.append(add("news/ztk/ztxw", name="专题新闻", host="news.hebei.com.cn", path="/ztk/ztxw/",
                             crumbs=[news, news_ch, ("专题库", "http://news.hebei.com.cn/ztk/index.shtml"),
                                     ("专题新闻", "http://news.hebei.com.cn/ztk/ztxw/")], layout=OLD, pager="static"))
    add("report/2017", name="长城原创", host="report.hebei.com.cn", path="/ycxw/index.shtml",
        crumbs=[("长城原创", "http://report.hebei.com.cn/")], layout=TIME_FIRST, pager="script")
    add("report", name="长城原创", host="report.hebei.com.cn", path="/",
        crumbs=[("长城原创", "http://report.hebei.com.cn/")], layout=MAIN, pager="script", page_size=20)
    add("sjz/sjzfw", name="石家庄风物", host="sjz.hebei.com.cn", path="/sjzfw/",
        crumbs=[("石家庄风物", "http://sjz.hebei.com.cn/sjzfw/")], layout=CITY, pager="static")
    add("sjz/hbxw", name="河北新闻", host="sjz.hebei.com.cn", path="/hbxw/index.shtml",
        crumbs=[("河北新闻", "http://sjz.hebei.com.cn/hbxw/index.shtml")], layout=CITY, pager="script")
    add("bd/szyw", name="时政要闻", host="bd.hebei.com.cn", path="/bdxw/szyw/",
        crumbs=[("保定新闻", "http://bd.hebei.com.cn/bdxw/"), ("时政要闻", "http://bd.hebei.com.cn/bdxw/szyw/")],
        layout=CITY, pager="static")
    return L


# ---------------------------------------------------------------- stories

_CORPUS_LISTING = {
    ("河北频道", "全景河北"): "heb/qjhb",
    ("河北频道", "专题库", "专题新闻"): "heb/ztk/ztxw",
    ("河北频道", "专题库"): "heb/ztk",
    ("长城网", "河北新闻频道", "专题库", "专题新闻"): "news/ztk/ztxw",
    ("石家庄风物",): "sjz/sjzfw",
}


def _corpus_listing_key(rec: dict) -> str:
    crumbs = tuple(rec["breadcrumb"])
    if rec.get("collection"):
        slug = dict(C.LEADERS)[rec["collection"]["leader"]]
        cslug = dict(C.CATEGORIES)[rec["collection"]["category"]]
        return f"heb/sldhdbdj/{slug}/{cslug}"
    if crumbs == ("长城原创",):
        return "report/2017" if rec["template"] == "B_report_time_first" else "report"
    return _CORPUS_LISTING[crumbs]


class _Builder:
    def __init__(self, scale: int, seed: int, grow: int = 0) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.grow = grow
        self.listings = _listings()
        self.used_ids: set[int] = set()
        self.titles: set[str] = set()
        self.stories: list[Story] = []
        self.records = [json.loads(line) for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines() if line]
        self.sentences = C.corpus_sentences(self.records)
        self.anchors = _ID_ANCHORS
        self.anchor_times = [t for t, _ in _ID_ANCHORS]

    # ids ---------------------------------------------------------------
    def id_for(self, ts: datetime) -> int:
        i = max(1, min(bisect.bisect_left(self.anchor_times, ts), len(self.anchors) - 1))
        (t0, v0), (t1, v1) = self.anchors[i - 1], self.anchors[i]
        frac = (ts - t0).total_seconds() / (t1 - t0).total_seconds()
        guess = int(v0 + frac * (v1 - v0)) + self.rng.randint(-40, 40)
        return self.claim(guess)

    def claim(self, guess: int) -> int:
        while guess in self.used_ids:
            guess += 1
        self.used_ids.add(guess)
        return guess

    # corpus --------------------------------------------------------------
    def corpus_story(self, rec: dict) -> Story:
        blocks: list[Block] = []
        img_no = 0
        for kind, text in zip(rec["body_kinds"], rec["body"]):
            text = C.widen(text)
            if kind == "cap":
                img_no += 1
                blocks.append(Block("img", src=self.image_src(rec["url_date"], img_no, relative=img_no % 2 == 0)))
                blocks.append(Block("cap", text=text, style="plain" if img_no == 1 else "indent"))
            elif kind == "lead":
                blocks.append(Block("lead", text=text, style="center"))
            elif kind == "ph":
                blocks.append(Block("ph", text="..."))
            else:
                blocks.append(Block("p", text=text))
        pages = [blocks]
        if rec["article_id"] == "100417279":  # the long transcript: served as two pages
            pages = [blocks[:7], blocks[7:]]
        keywords = rec["keywords"]
        if keywords is None:  # not captured by the store: the replica makes some up
            keywords = [rec["collection"]["leader"]] if rec.get("collection") else []
        author_style = "none"
        if rec["authors"]:
            author_style = "label" if "作者" in rec["source_line_raw"] else "bare"
        story = Story(
            key=f"corpus-{rec['article_id']}",
            title_lines=[C.widen(t) for t in rec.get("title_lines") or [rec["title"]]],
            source=C.widen(rec["source"]) if rec["source"] else None,
            source_link=rec["article_id"] == "018955625",
            authors=list(rec["authors"] or []),
            author_style=author_style,
            keywords=list(keywords),
            keyword_sep=C.pick(self.rng, [",", "，"]),
            pages=pages,
            editor=rec["editor"] or C.pick(self.rng, C.EDITORS),
            from_corpus=True,
        )
        published = datetime.strptime(rec["published"], "%Y-%m-%d %H:%M:%S")
        url_date = date.fromisoformat(rec["url_date"])
        self.used_ids.add(int(rec["article_id"]))
        self.add_copy(story, rec["article_id"], published, url_date, self.listings[_corpus_listing_key(rec)],
                      https=rec["url"].startswith("https"))
        for other in rec.get("also_published_as") or []:
            key = f"heb/sldhdbdj/{dict(C.LEADERS)[other['breadcrumb'][2]]}/{dict(C.CATEGORIES)[other['breadcrumb'][3]]}"
            aid = other["url"].rsplit("/", 1)[1].split(".")[0]
            self.used_ids.add(int(aid))
            self.add_copy(story, aid, datetime.strptime(other["published"], "%Y-%m-%d %H:%M:%S"), url_date,
                          self.listings[key])
        return story

    def add_copy(self, story: Story, aid: str, published: datetime, url_date: date, listing: Listing,
                 https: bool = False, pages: list[list[Block]] | None = None, editor: str | None = None) -> Copy:
        c = Copy(story=story, article_id=aid, published=published, url_date=url_date, listing=listing,
                 pages=pages if pages is not None else story.pages,
                 editor=editor if editor is not None else story.editor, https_link=https)
        story.copies.append(c)
        listing.entries.append(c)
        return c

    # generated -----------------------------------------------------------
    def image_src(self, day: str, n: int, relative: bool = False) -> str:
        token = f"{self.rng.getrandbits(40):010x}"
        y, m, d = day.split("-")
        if relative:
            return f"/pic/{y}{m}/{d}/{token}_{n}.jpg"
        return f"http://pic1.hebei.com.cn/003/{y}{m}{d}/{token}_{n}.jpg"

    def when(self, start: datetime, end: datetime) -> datetime:
        span = int((end - start).total_seconds())
        ts = start + timedelta(seconds=self.rng.randrange(span))
        return ts.replace(hour=self.rng.randint(6, 22))

    def unique_title(self, title: str) -> str:
        base, n = title, 1
        while title in self.titles:
            n += 1
            title = f"{base}（{C.pick(self.rng, ['图', '组图', '视频', '之' + str(n)])}）" if n < 4 else f"{base}之{n}"
        self.titles.add(title)
        return title

    def generated_story(self, n: int, kind: str, leaders: list[str]) -> Story:
        rng = self.rng
        lead_name = leaders[0] if leaders else C.pick(rng, C.LEADERS)[0]
        place, topic = C.pick(rng, C.PLACES), C.pick(rng, C.TOPICS)
        if kind == "leader":
            title = C.pick(rng, [
                f"{lead_name}在{place}调研{topic}工作",
                f"{lead_name}会见{C.pick(rng, C.GUESTS)}",
                f"{lead_name}出席{C.pick(rng, C.EVENTS)}",
                f"{'、'.join(leaders)}参加{place}{topic}专题活动",
            ])
        else:
            title = C.pick(rng, [
                f"{place}：{topic}跑出加速度",
                f"{place}扎实推进{topic}",
                f"{topic}“{place}样本”观察",
                f"【{C.pick(rng, ['燕赵逐梦', '新春走基层', '沿着高速看河北', '百姓看联播'])}】{place}的{topic}故事",
            ])
        title = self.unique_title(title)
        title_lines = [title]
        if len(title) > 16 and rng.random() < 0.08:
            cut = rng.randint(6, len(title) - 6)
            title_lines = [title[:cut], title[cut:]]

        blocks: list[Block] = []
        style = C.pick(rng, ["indent", "indent", "plain", "nbsp"])
        shape = rng.random()
        if kind == "leader" and rng.random() < 0.5:
            blocks.append(Block("lead", text=title.replace("河北省", "我省"), style=C.pick(rng, ["center", "strong"])))
            for _ in range(rng.randint(0, 2)):
                blocks.append(Block("lead", text=f"推动{C.pick(rng, C.TOPICS)}{C.pick(rng, ['取得新成效', '再上新台阶', '走深走实'])}",
                                    style="center"))
        elif rng.random() < 0.12:
            blocks.append(Block("lead", text=f"长城新媒体记者 {' '.join(C.authors(rng)[:2])}", style="plain"))

        def para() -> Block:
            return Block("p", text=C.paragraph(rng, lead_name, self.sentences), style=style)

        day = "2020-01-01"
        n_images = 0
        if shape < 0.05:  # photo story: captions only
            for i in range(rng.randint(3, 6)):
                blocks.append(Block("img", src=self.image_src(day, i)))
                blocks.append(Block("cap", text=C.caption(rng, lead_name), style="plain"))
        elif shape < 0.09:  # gallery with placeholders between captions
            blocks.append(para())
            for i in range(rng.randint(2, 4)):
                blocks.append(Block("img", src=self.image_src(day, i)))
                blocks.append(Block("cap", text=C.caption(rng, lead_name), style=style))
                blocks.append(Block("ph", text=C.pick(rng, ["...", "...", "……"])))
            blocks.append(para())
        elif shape < 0.13:  # photo group: several images, one paragraph of captions
            blocks.append(para())
            count = rng.randint(2, 4)
            blocks.append(Block("group", srcs=[self.image_src(day, i) for i in range(count)],
                                captions=[C.caption(rng, lead_name) for _ in range(count)]))
            blocks.extend(para() for _ in range(rng.randint(1, 3)))
        elif shape < 0.18:  # video page: a player and production credits
            blocks.append(Block("video", src=f"http://video.hebei.com.cn/{rng.getrandbits(32):08x}.mp4"))
            blocks.extend(para() for _ in range(rng.randint(1, 3)))
            blocks.append(Block("p", text=f"文 案：{C.pick(rng, C.REPORTERS)}", style=style))
            blocks.append(Block("p", text=f"摄 像：{' '.join(C.authors(rng)[:2])}", style=style))
        else:
            count = rng.randint(3, 10) if shape > 0.28 else rng.randint(14, 24)
            last_caption = None
            for i in range(count):
                if i and rng.random() < 0.25:
                    blocks.append(Block("img", src=self.image_src(day, n_images, relative=rng.random() < 0.3)))
                    n_images += 1
                    if rng.random() < 0.85:
                        cap = last_caption if (last_caption and rng.random() < 0.15) else C.caption(rng, lead_name)
                        blocks.append(Block("cap", text=cap, style=C.pick(rng, [style, "plain"])))
                        last_caption = cap
                if i and count > 8 and rng.random() < 0.12:
                    blocks.append(Block("sub", text=C.subheading(rng, i), style=C.pick(rng, ["strong", style])))
                blocks.append(para())
            if rng.random() < 0.1:
                blocks.append(Block("p", text=f"（长城网·冀云客户端记者 {C.pick(rng, C.REPORTERS)} 采制）", style=style))
        if 0.18 < shape <= 0.28:
            cut = sorted(rng.sample(range(3, len(blocks) - 2), rng.randint(1, 2)))
            pages = [blocks[a:b] for a, b in zip([0] + cut, cut + [len(blocks)])]
            pages = [p for p in pages if any(b.kind in ("p", "sub") for b in p)] or [blocks]
            # a page must not open with a caption: it would lose its image
            pages = [p if p[0].kind != "cap" else p[1:] for p in pages]
        else:
            pages = [blocks]

        author_style = C.pick(rng, ["none", "none", "bare", "label"])
        source = C.pick(rng, C.SOURCES) if rng.random() > 0.03 else None
        return Story(
            key=f"gen-{n}",
            title_lines=title_lines,
            source=source,
            source_link=rng.random() < 0.3,
            authors=[] if author_style == "none" or source is None else C.authors(rng),
            author_style=author_style if source is not None else "none",
            keywords=[] if rng.random() < 0.2 else rng.sample([place, topic, lead_name, "河北", "调研"], rng.randint(1, 4)),
            keyword_sep=C.pick(rng, [",", "，", " "]),
            pages=pages,
            editor=C.pick(rng, C.EDITORS) if rng.random() < 0.96 else None,
            page_base=C.pick(rng, [1, 2]),
        )

    def fix_image_days(self, story: Story, day: date) -> None:
        stamp = f"{day:%Y%m}"
        for blocks in story.pages:
            for b in blocks:
                b.src = b.src.replace("202001", stamp)
                b.srcs = [s.replace("202001", stamp) for s in b.srcs]

    def edited(self, pages: list[list[Block]]) -> list[list[Block]]:
        """A copy with a small edit: one sentence appended to the last text paragraph."""
        pages = copy_module.deepcopy(pages)
        for blocks in reversed(pages):
            for b in reversed(blocks):
                if b.kind == "p":
                    b.text += C.pick(self.rng, ["（完）", "（记者 " + C.pick(self.rng, C.REPORTERS) + "）"])
                    return pages
        return pages

    def place_story(self, story: Story, kind: str, leaders: list[str],
                    window: tuple[datetime, datetime] | None = None) -> None:
        rng, L = self.rng, self.listings
        windows = {
            "old": (datetime(2016, 7, 1), datetime(2017, 6, 30)),
            "timefirst": (datetime(2017, 7, 1), datetime(2017, 12, 31)),
            "banner": (datetime(2018, 1, 20), datetime(2018, 3, 20)),
        }
        start, end = window or windows.get(kind, (datetime(2017, 10, 1), datetime(2025, 6, 30)))
        published = self.when(start, end)
        url_date = published.date() - timedelta(days=1) if rng.random() < 0.05 else published.date()
        self.fix_image_days(story, url_date)
        if kind == "leader":
            category = C.pick(rng, C.CATEGORIES)[1]
            targets = [L[f"heb/sldhdbdj/{dict(C.LEADERS)[name]}/{category}"] for name in leaders]
            if rng.random() < 0.35:
                targets.append(L[C.pick(rng, ["heb/qjhb", "heb/hbyw"])])
            if rng.random() < 0.08:
                targets.append(L["sjz/hbxw"])
        else:
            targets = [L[{
                "channel": C.pick(rng, ["heb/qjhb", "heb/hbyw", "heb/hbyw", "heb/ztk", "heb/ztk/ztxw", "report"]),
                "old": C.pick(rng, ["news/ztk", "news/ztk/ztxw"]),
                "timefirst": "report/2017",
                "banner": "heb/2018lh",
                "city": C.pick(rng, ["sjz/sjzfw", "sjz/hbxw", "bd/szyw"]),
            }[kind]]]
        base_id = self.id_for(published)
        ts, aid = published, base_id
        for i, listing in enumerate(targets):
            if i:
                ts = ts + timedelta(seconds=rng.randint(20, 120))
                aid = self.claim(aid + rng.randint(3, 15))
            small_edit = i > 0 and rng.random() < 0.1
            self.add_copy(
                story, f"{aid:09d}", ts, url_date, listing, https=rng.random() < 0.1,
                pages=self.edited(story.pages) if small_edit else None,
                editor=C.pick(rng, C.EDITORS) if small_edit and story.editor else None,
            )

    def build(self) -> Site:
        for rec in self.records:
            self.stories.append(self.corpus_story(rec))
            self.titles.add(self.stories[-1].title)
        kinds = ["leader"] * 55 + ["channel"] * 15 + ["old"] * 7 + ["timefirst"] * 5 + ["banner"] * 5 + ["city"] * 13
        while len(self.stories) < self.scale:
            self.add_story(kinds)
        rolling = self.rolling_pages()
        # Growth: stories published after everything above, as the live site gains them daily.
        newest = max(c.published for s in self.stories for c in s.copies)
        window = (newest + timedelta(hours=1), newest + timedelta(days=20))
        for _ in range(self.grow):
            self.add_story(["leader"] * 6 + ["channel"] * 3 + ["city"], window)
        for listing in self.listings.values():
            listing.entries.sort(key=lambda c: (c.published, c.article_id), reverse=True)
        self.add_non_article_links(rolling)
        return Site(self.scale + self.grow, 0, list(self.listings.values()), self.stories, rolling)

    def add_story(self, kinds: list[str], window: tuple[datetime, datetime] | None = None) -> None:
        kind = C.pick(self.rng, kinds)
        leaders: list[str] = []
        if kind == "leader":
            leaders = [name for name, _ in self.rng.sample(C.LEADERS, self.rng.choice([1, 1, 2, 2, 3, 4]))]
        story = self.generated_story(len(self.stories), kind, leaders)
        self.place_story(story, kind, leaders, window)
        self.stories.append(story)

    def rolling_pages(self) -> list[RollingPage]:
        out = []
        for year, title in [(2024, "【滚动】2024全国两会河北代表团活动 正在更新"),
                            (2023, "【滚动】第三届河北省旅游产业发展大会 正在更新")]:
            ts = datetime(year, 3, 5, 9, 0)
            aid = self.id_for(ts)
            out.append(RollingPage(f"http://bhc.hebei.com.cn/system/{year}/03/05/{aid:09d}.shtml", title, f"{year}-03-05"))
        return out

    def add_non_article_links(self, rolling: list[RollingPage]) -> None:
        hbyw, qjhb = self.listings["heb/hbyw"], self.listings["heb/qjhb"]
        for page in rolling:
            hbyw.extra_links.append((page.title, page.url, page.day))
        hbyw.extra_links.append(("视频：河北这十年", "http://v.hebei.com.cn/video/index.shtml", "2022-10-10"))
        qjhb.extra_links.append(("河北新闻网：燕赵大地春意浓", "http://hebei.hebnews.cn/2021-04/02/content_8424114.htm", "2021-04-02"))
        qjhb.extra_links.append(("专题：奋进新征程", "http://heb.hebei.com.cn/zt/fjxzc/index.shtml", "2022-10-16"))


def build_site(scale: int = DEFAULT_SCALE, seed: int = DEFAULT_SEED, grow: int = 0, era: str = ERA_2018) -> Site:
    """The site at `scale` distinct stories; `grow` more stories published after all of them
    (the same site a few days later: every earlier page of an overflow listing keeps its content).
    ERA_2026 adds the 2026 portal to that site, and then the `grow` stories are 2026 ones."""
    if era not in ERAS:
        raise ValueError(f"unknown era {era!r}: one of {', '.join(ERAS)}")
    site = _Builder(scale, seed, 0 if era == ERA_2026 else grow).build()
    site.seed = seed
    if era == ERA_2026:
        from tests.replica.era2026 import add_2026_portal  # it builds on this module

        add_2026_portal(site, grow)
    return site
