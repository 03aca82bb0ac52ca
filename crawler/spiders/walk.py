"""The listing-walk policy: which listed articles a run fetches and which listing pages it asks for
next, from what a listing page shows and the run's mode (docs/crawling.md). Pure: no Scrapy, no
I/O; the spider turns its answers into requests, and a test can drive it page by page.

Overflow pages run backwards (page 1 is the oldest, the highest number the newest), so the first
page that shows a catalog's pager (its index) fixes the highest page number of that catalog: a
pager that later points past it (an ever growing number) is a trap, and so is page 0.

Static pager pages of a channel index (`index.shtml`, `index_2.shtml`, ...) run forwards: page N+1
is the next older one. Their 首页 link names page 1 as `index.shtml` where the walk may have come
in by the bare directory: one page, two spellings, asked for once.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from heapq import merge
from urllib.parse import urlsplit

from crawler.output import Mode
from crawler.site import urls
from crawler.site.listing import ListedLink, ListingPage

logger = logging.getLogger(__name__)


def _not_counted(key: str, count: int = 1) -> None:
    """The default counter: a walk driven outside a crawl counts nothing."""


class Digests:
    """A set of strings held as their 64-bit hashes, most of them in one sorted array (8 bytes
    each), the latest in a small set until there are MERGE_AT of them: a backfill lists every
    article of the archive, and as strings in a set (about 150 bytes each) they would be the largest
    thing the walk holds, as large as Scrapy's duplicate filter. Two strings of one hash count as
    one (odds of about 1 in 10^9 at 200,000 strings): an article then counts as asked for already in
    incremental mode and is fetched once more, never missed. The hashes are this process's: a job
    shares the walk's memory by URL, in Redis (crawler/distributed/job.py)."""

    MERGE_AT = 1 << 14  # the recent set stays under 1.2 MB; a merge copies the array (0.1 s in all at 200,000)

    def __init__(self, members: Iterable[str] = ()) -> None:
        self.merged = array("q")
        self.recent: set[int] = set()
        self.update(members)

    def __contains__(self, member: object) -> bool:
        digest = hash(member)
        at = bisect_left(self.merged, digest)
        return digest in self.recent or (at < len(self.merged) and self.merged[at] == digest)

    def __len__(self) -> int:
        return len(self.merged) + len(self.recent)

    def add(self, member: str) -> None:
        if member not in self:
            self.recent.add(hash(member))
            if len(self.recent) >= self.MERGE_AT:
                self.merged = array("q", merge(self.merged, sorted(self.recent)))
                self.recent = set()

    def update(self, members: Iterable[str]) -> None:
        for member in members:
            self.add(member)

    def __rsub__(self, other: Iterable[str]) -> set[str]:
        return {member for member in other if member not in self}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AbstractSet):
            return NotImplemented
        return len(other) == len(self) and all(member in self for member in other)

    __hash__ = None  # type: ignore[assignment]


@dataclass
class Walk:
    mode: Mode
    since: date | None = None
    # LISTING_MAX_PAGES: the most overflow pages a count script may claim.
    max_pages: int = 20000
    # The state's `known_urls` (incremental mode): which URLs are stored already.
    known_urls: Callable[[Iterable[str]], set[str]] | None = None
    # Stats: `count(key, n)` adds n to a counter of the crawl's.
    count: Callable[[str, int], None] = _not_counted
    # Walk every listing page: a full crawl, or an incremental one after a run that did not finish.
    walk_all: bool = False
    overflow_ceiling: dict[str, int] = field(default_factory=dict)  # highest page accepted per catalog
    requested: Digests = field(default_factory=Digests)  # article URLs this run asked for
    pages_of: Counter[str] = field(default_factory=Counter)  # listing pages asked for, per listing
    admitted: Digests = field(default_factory=Digests)  # the listing pages counted in pages_of
    # LISTING_MAX_DIRECTORIES: the most listing directories below one start URL's per run.
    max_directories: int = 2000
    tree_directories: set[str] = field(default_factory=set)  # "<host><root> <directory>" walked
    directories_of: Counter[str] = field(default_factory=Counter)  # "<host><root>" -> its directories
    spellings: dict[str, str] = field(default_factory=dict)  # a listing page -> the URL it is asked for by
    last_index_page: dict[str, int] = field(default_factory=dict)  # highest static pager page seen, per index

    def __post_init__(self) -> None:
        self.walk_all = self.walk_all or self.mode is Mode.FULL

    # articles -----------------------------------------------------------------
    def wanted(self, listed: list[ListedLink]) -> list[ListedLink]:
        """The listed articles this mode fetches; they count as requested from now on."""
        if self.mode is Mode.FULL:
            chosen = listed
        elif self.mode is Mode.SINCE:
            assert self.since is not None
            day = self.since.isoformat()
            chosen = [lk for lk in listed if lk.day is None or lk.day >= day]
        else:
            assert self.known_urls is not None
            # Stored during this run counts as new: a listing reached after another listing led
            # to the same articles must still be walked to its older pages.
            known = self.known_urls(lk.url for lk in listed) - self.requested
            self.count("listing/known_links", len(known))
            chosen = [lk for lk in listed if lk.url not in known]
        self.requested.update(link.url for link in chosen)
        return chosen

    def descend(self, listed: list[ListedLink], wanted: list[ListedLink]) -> bool:
        """Whether older pages of this listing may hold what this mode wants."""
        if self.mode is Mode.SINCE:
            assert self.since is not None
            days = [lk.day for lk in listed if lk.day]
            return bool(listed) and (not days or min(days) >= self.since.isoformat())
        return bool(wanted)

    # listing pages ------------------------------------------------------------
    def next_pages(self, page: ListingPage, url: str, wanted: list[ListedLink]) -> tuple[list[str], bool]:
        """(listing pages to ask for, whether to ask for the count script) after page `url`."""
        self.first_spelling(url)
        if self.walk_all:
            targets, script = self.every_page(page, url)
        elif self.descend(page.articles, wanted):
            targets, script = self.older_page(page, url)
        else:
            if page.articles:
                self.count("listing/walks_stopped", 1)
            return [], False
        return [target for target in targets if self.first_spelling(target) and self.admit(target)], script

    def first_spelling(self, url: str) -> bool:
        """Whether `url` is the first spelling of its listing page the walk met: `dir/` and
        `dir/index.shtml` are one page."""
        parts = urlsplit(url)
        page = (urls.directory_of(url) if urls.index_page_number(parts.path) == 1 else parts.path)
        return self.spellings.setdefault(f"{parts.netloc}{page}", url) == url

    def admit_sublisting(self, root: str, url: str) -> bool:
        """At most `max_directories` listing directories below one start URL's directory `root`
        per run: a tree of listings that never ends (each page linking a new directory below
        it, or beside it) is a trap too. The 省领导活动报道集 tree, the deepest of the portal,
        has 49 in the replica."""
        tree = f"{urlsplit(url).netloc}{root}"
        entry = f"{tree} {urls.directory_of(url)}"
        if entry in self.tree_directories:
            return True
        if self.directories_of[tree] >= self.max_directories:
            if self.directories_of[tree] == self.max_directories:
                logger.warning("listings below %s: more than LISTING_MAX_DIRECTORIES=%d directories, the rest "
                               "not walked", tree, self.max_directories)
            self.directories_of[tree] += 1
            self.count("listing/directories_capped", 1)
            return False
        self.directories_of[tree] += 1
        self.tree_directories.add(entry)
        return True

    def admit(self, url: str) -> bool:
        """At most `max_pages` pages of one listing (a catalog's overflow pages, else the pages
        of one directory) per run, whatever a pager claims: a chain of static 下一页 links that
        never ends is a trap too. A page counts once, however many pagers link it (every page
        of a static pager links 首页 and 尾页)."""
        if url in self.admitted:
            return True
        found = urls.overflow_page_number(url)
        listing = found[0] if found else urls.directory_of(url)
        if self.pages_of[listing] >= self.max_pages:
            if self.pages_of[listing] == self.max_pages:
                logger.warning("listing %s: more than LISTING_MAX_PAGES=%d pages, the rest not walked",
                               listing, self.max_pages)
            self.pages_of[listing] += 1
            self.count("listing/pages_capped", 1)
            return False
        self.pages_of[listing] += 1
        self.admitted.add(url)
        return True

    def every_page(self, page: ListingPage, url: str) -> tuple[list[str], bool]:
        self.note_ceilings(page.pager_links)
        targets = [target for target in page.pager_links if self.accept_overflow(target)]
        return targets, bool(page.count_script) and urls.overflow_page_number(url) is None

    def older_page(self, page: ListingPage, url: str) -> tuple[list[str], bool]:
        """The next older page only: a static 下一页 link, overflow page k-1, or the count script."""
        here = urls.overflow_page_number(url)
        self.note_ceilings(page.pager_links)
        if page.older_link and self.accept_overflow(page.older_link):
            return [page.older_link], False
        if here is not None and here[1] > 1:
            older = urls.overflow_url(url, here[0], here[1] - 1)
            return ([older] if self.accept_overflow(older) else []), False
        return [], here is None and bool(page.count_script)

    def script_pages(self, maxpage: int, catalog: str, listing_url: str) -> list[str]:
        """The overflow pages a count script's `maxpage` stands for: every one when walking all,
        else the newest."""
        if maxpage > self.max_pages:
            logger.warning("maxpage %d of catalog %s capped at LISTING_MAX_PAGES=%d", maxpage, catalog,
                           self.max_pages)
            maxpage = self.max_pages
        self.overflow_ceiling.setdefault(catalog, maxpage)
        numbers = range(maxpage, 0, -1) if self.walk_all else range(maxpage, maxpage - 1, -1)
        targets = (urls.overflow_url(listing_url, catalog, number) for number in numbers)
        return [target for target in targets if self.accept_overflow(target) and self.admit(target)]

    def after_failure(self, url: str, kind: str) -> str | None:
        """The page to go on with when listing page `url` failed: a walk that goes one page at a
        time must not end at a page that failed (a full crawl requests every page anyway)."""
        if self.mode is Mode.FULL or kind != "listing":
            return None
        here = urls.overflow_page_number(url)
        if here is not None:
            return urls.overflow_url(url, here[0], here[1] - 1) if here[1] > 1 else None
        number = urls.index_page_number(urlsplit(url).path)
        if number is not None and number < self.last_index_page.get(_index_of(url), 0):
            older = urls.index_page_url(url, number + 1)
            return older if self.first_spelling(older) else None
        return None

    # pager traps --------------------------------------------------------------
    def note_ceilings(self, links: list[str]) -> None:
        """The first page that shows a catalog's pager fixes its highest overflow page number. Of
        a static pager of index pages the highest page seen is kept: after a failed page, the walk
        goes on with the next one only up to it."""
        for link in links:
            number = urls.index_page_number(urlsplit(link).path)
            if number is not None:
                index = _index_of(link)
                self.last_index_page[index] = max(number, self.last_index_page.get(index, number))
        numbers: dict[str, int] = {}
        for catalog, number in filter(None, map(urls.overflow_page_number, links)):
            numbers[catalog] = max(number, numbers.get(catalog, number))
        for catalog, highest in numbers.items():
            self.overflow_ceiling.setdefault(catalog, highest)

    def accept_overflow(self, url: str) -> bool:
        found = urls.overflow_page_number(url)
        if found is None:
            return True
        catalog, number = found
        ceiling = self.overflow_ceiling.setdefault(catalog, number)
        if number > ceiling or number < 1:
            self.count("listing/pager_trap_links", 1)
            return False
        return True


def _index_of(url: str) -> str:
    """The channel index a static pager page belongs to: its host and directory."""
    return urlsplit(url).netloc + urls.directory_of(url)
