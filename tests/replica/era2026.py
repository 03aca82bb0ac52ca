"""The portal as it is in 2026 (site notes, sections 1-2): what `build_site(era=ERA_2026)` adds.

- The home page on `www.hebei.com.cn` lists the newest articles as protocol-relative links
  (`//news.hebccw.cn/system/2026/...`) and links every channel.
- Channels on `*.hebccw.cn` (heb, news, bd, lf, economy, hebfb): UTF-8 pages of the new template
  (`render2026.py`); a channel's pages are `index.shtml`, `index_2.shtml`, `index_3.shtml`...
  newest first, linked by a static pager.
- Three old channels moved (河北要闻, 全景河北, 保定 时政要闻): about half of their copies are
  listed again on the hebccw.cn channel of that name, under the same id and path. The old URL of
  such a copy still serves its GB18030 page, 301s to the hebccw.cn URL, or is gone (404); the old
  listings are left as they were and still link every old URL.

The site underneath is the one `build_site` makes without the era, page for page, save the old
URLs that now redirect or 404: this module only adds listings, stories and copies. Its choices
come from a random stream of its own and from hashes of article ids, never from the old stream.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.replica import content as C
from tests.replica.site import (
    CORPUS_PATH,
    ERA_2026,
    FAMILIES,
    GONE,
    MOVED,
    PORTAL_2026,
    SERVED,
    Copy,
    Listing,
    Site,
    Story,
    _Builder,
    _catalog,
)

HOME_HOST = "www.hebei.com.cn"
HOME_SIZE = 30  # articles the home page lists
NEW_STORY_SHARE = 0.3  # 2026 stories per story of the old site
MOVED_SHARE = 0.5  # of the copies of a moved channel, those listed again on hebccw.cn
# What the old URL of a moved copy does, by shares: still serves, 301s, 404s.
FATE_SHARES = ((0.4, SERVED), (0.8, MOVED), (1.0, GONE))
SECOND_COPY_SHARE = 0.15  # 2026 stories republished on a second channel under a new id
WINDOW = (datetime(2025, 11, 1), datetime(2026, 9, 20))  # when the 2026 stories were published

# Article ids of the 2026 portal, from links collected in 2025-2026 (site notes, section 1).
ID_ANCHORS = [
    (datetime(2025, 4, 22), 102_055_296),
    (datetime(2025, 9, 19), 102_105_786),
    (datetime(2025, 11, 12), 102_122_445),
    (datetime(2026, 2, 6), 102_151_729),
    (datetime(2026, 9, 10), 102_221_376),
    (datetime(2027, 1, 1), 102_260_000),
]


@dataclass(repr=False)  # cyclic: a repr would never end
class Listing2026(Listing):
    """A channel of the 2026 portal: pages `index.shtml`, `index_2.shtml`, ... newest first."""

    blocks: bool = False  # its lists sit in enorth `v5.latest` block comments
    charset_header: bool = True  # Content-Type names utf-8; else only the page's meta does
    moved_from: str | None = None  # the old listing whose copies partly moved here
    weight: int = 0  # its share of the 2026 stories
    leaders: bool = False  # half of its stories are leaders' activities

    def overflow_url(self, page: int) -> str:
        return f"http://{self.host}{self.base_dir}index_{page + 1}.shtml"

    def page_rows(self, page: int | None) -> list[tuple[str, str, str]]:
        start = 0 if page is None else page * self.page_size
        return self.main_entries[start : start + self.page_size]


@dataclass(repr=False)  # cyclic: a repr would never end
class Home2026(Listing2026):
    """`www.hebei.com.cn/`: the newest stories of every channel, one link per story."""

    channels: list[Listing2026] = field(default_factory=list)

    @property
    def main_entries(self) -> list[tuple[str, str, str]]:
        newest = sorted((c for ch in self.channels for c in ch.entries),
                        key=lambda c: (c.published, c.article_id), reverse=True)
        rows: list[tuple[str, str, str]] = []
        seen: set[int] = set()
        for c in newest:
            if id(c.story) not in seen and len(rows) < HOME_SIZE:
                seen.add(id(c.story))
                rows.append((c.story.title, c.listed_url, c.published.strftime("%Y-%m-%d")))
        return rows


def share(key: str) -> float:
    """A stable number in [0, 1) for `key`."""
    return int.from_bytes(hashlib.sha1(key.encode()).digest()[:4], "big") / 2**32


def channels() -> list[Listing2026]:
    """The 2026 channels; a channel's breadcrumb is [] where its articles show none."""

    def channel(n: int, key: str, name: str, host: str, path: str, crumbs: list[tuple[str, str]],
                **kw) -> Listing2026:
        return Listing2026(key=f"hebccw/{key}", name=name, host=host, path=path, catalog=_catalog(100 + n),
                           crumbs=[(label, f"https://{host}{p}") for label, p in crumbs], layout=PORTAL_2026,
                           pager="static", **kw)

    return [
        channel(1, "heb/hbyw", "河北要闻", "heb.hebccw.cn", "/hbyw/", [("河北频道", "/"), ("河北要闻", "/hbyw/")],
                page_size=20, moved_from="heb/hbyw", weight=25, leaders=True),
        channel(2, "heb/qjhb", "全景河北", "heb.hebccw.cn", "/qjhb/index.shtml",
                [("河北频道", "/"), ("全景河北", "/qjhb/index.shtml")], page_size=20, blocks=True,
                moved_from="heb/qjhb", weight=15),
        channel(3, "news/jdxw", "焦点新闻", "news.hebccw.cn", "/jdxw/", [], page_size=20, weight=20),
        channel(4, "bd/szyw", "时政要闻", "bd.hebccw.cn", "/bdxw/szyw/", [("保定新闻", "/"), ("时政要闻", "/bdxw/szyw/")],
                blocks=True, charset_header=False, moved_from="bd/szyw", weight=10),
        channel(5, "lf/lfxw", "廊坊新闻", "lf.hebccw.cn", "/lfxw/index.shtml", [], charset_header=False, weight=10),
        channel(6, "economy/cjtt", "财经头条", "economy.hebccw.cn", "/cjzq/cjtt/index.shtml",
                [("财经", "/"), ("财经头条", "/cjzq/cjtt/index.shtml")], blocks=True, weight=10),
        channel(7, "hebfb/xwfb", "新闻发布", "hebfb.hebccw.cn", "/xwfb/", [], weight=10, leaders=True),
    ]


class _Builder2026(_Builder):
    """The old site's story generator on a random stream of its own, with 2026 ids and images."""

    def __init__(self, site: Site, listings: list[Listing2026]) -> None:
        self.rng = random.Random(f"{site.seed}/{ERA_2026}")
        self.channels = listings
        self.listings = {lst.key: lst for lst in listings}
        self.used_ids = {int(c.article_id) for s in site.stories for c in s.copies}
        self.used_ids |= {int(p.url.rsplit("/", 1)[1].split(".")[0]) for p in site.rolling}
        self.titles = {s.title for s in site.stories}
        self.stories: list[Story] = []
        records = [json.loads(line) for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines() if line]
        self.sentences = C.corpus_sentences(records)
        self.anchors = ID_ANCHORS
        self.anchor_times = [t for t, _ in ID_ANCHORS]

    def image_src(self, day: str, n: int, relative: bool = False) -> str:
        token = f"{self.rng.getrandbits(40):010x}"
        y, m, d = day.split("-")
        return f"https://yfupload.hebccw.cn/hebccw/{y}{m}/{d}/{token}_{n}.jpg"

    def add_2026_story(self, window: tuple[datetime, datetime]) -> None:
        rng = self.rng
        targets = self.channels
        first = rng.choices(targets, weights=[t.weight for t in targets])[0]
        leaders: list[str] = []
        kind = "channel"
        if first.leaders and rng.random() < 0.5:
            kind = "leader"
            leaders = [name for name, _ in rng.sample(C.LEADERS, rng.choice([1, 1, 2]))]
        story = self.generated_story(len(self.stories), kind, leaders)
        published = self.when(*window)
        url_date = published.date() - timedelta(days=1) if rng.random() < 0.05 else published.date()
        self.fix_image_days(story, url_date)
        places = [first]
        if rng.random() < SECOND_COPY_SHARE:
            places.append(rng.choice([t for t in targets if t is not first]))
        ts, aid = published, self.id_for(published)
        for i, listing in enumerate(places):
            if i:
                ts = ts + timedelta(seconds=rng.randint(20, 120))
                aid = self.claim(aid + rng.randint(3, 15))
            small_edit = i > 0 and rng.random() < 0.1
            self.add_copy(story, f"{aid:09d}", ts, url_date, listing, https=True,
                          pages=self.edited(story.pages) if small_edit else None,
                          editor=C.pick(rng, C.EDITORS) if small_edit and story.editor else None)
        self.stories.append(story)


def move_copies(site: Site, listing: Listing2026) -> None:
    """List part of the old channel's copies here too, and decide what their old URLs do."""
    old = next(lst for lst in site.listings if lst.key == listing.moved_from)
    for c in old.entries:
        if share(f"move/{c.article_id}") >= MOVED_SHARE:
            continue
        fate_at = share(f"fate/{c.article_id}")
        c.fate = next(fate for bound, fate in FATE_SHARES if fate_at < bound)
        twin = Copy(story=c.story, article_id=c.article_id, published=c.published, url_date=c.url_date,
                    listing=listing, pages=c.pages, editor=c.editor, https_link=True)
        c.story.copies.append(twin)
        listing.entries.append(twin)


def add_2026_portal(site: Site, grow: int = 0) -> None:
    """Add the 2026 portal to `site` (built without the era); `grow` more 2026 stories after it."""
    new = channels()
    home = Home2026(key="www", name="长城网", host=HOME_HOST, path="/", catalog=_catalog(100), crumbs=[], page_size=HOME_SIZE,
                    layout=PORTAL_2026, pager="none", channels=new)
    builder = _Builder2026(site, new)
    for _ in range(max(1, round(len(site.stories) * NEW_STORY_SHARE))):
        builder.add_2026_story(WINDOW)
    newest = max(c.published for s in builder.stories for c in s.copies)
    for _ in range(grow):
        builder.add_2026_story((newest + timedelta(hours=1), newest + timedelta(days=20)))
    for listing in new:
        if listing.moved_from:
            move_copies(site, listing)
        listing.entries.sort(key=lambda c: (c.published, c.article_id), reverse=True)
    site.listings.extend([home, *new])
    site.stories.extend(builder.stories)
    site.scale = len(site.stories)
    site.domains = FAMILIES
