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
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from crawler.compact import Digests, FirstValues
from crawler.output import Mode
from crawler.site import urls
from crawler.site.listing import ListedLink, ListingPage

logger = logging.getLogger(__name__)


def _not_counted(key: str, count: int = 1) -> None:
    """The default counter: a walk driven outside a crawl counts nothing."""


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
    # LISTING_OVERFLOW_WINDOW: walking every page, the overflow pages of a catalog asked for at
    # once (its newest ones); each asks for the one `window` below it (see `script_pages`).
    window: int = 8
    tree_directories: set[str] = field(default_factory=set)  # "<host><root> <directory>" walked
    directories_of: Counter[str] = field(default_factory=Counter)  # "<host><root>" -> its directories
    spellings: FirstValues = field(default_factory=FirstValues)  # a listing page -> the URL it is asked for by
    last_index_page: dict[str, int] = field(default_factory=dict)  # highest static pager page seen, per index
    # catalogs walked through a window (`script_pages`) -> the newest page of the window: their count script's maxpage
    window_top: dict[str, int] = field(default_factory=dict)

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
        """Walking every page: the pager's links and, on an overflow page of a catalog walked
        through a window, the next page of its chain (`script_pages`). Of such a catalog the
        pager's links are followed only to its newest `window` pages (or above them: the pager
        is then not the count script's, and is followed as a pager); the chains reach the rest,
        one page at a time each. Followed from every page, a pager's 下一页 and 尾页 links would
        queue a growing share of the catalog, the chains and the 下一页 links racing down side by
        side."""
        self.note_ceilings(page.pager_links)
        linked = [target for target in page.pager_links if self.accept_overflow(target) and self.in_window(target)]
        return linked + self.below_window(url), bool(page.count_script) and urls.overflow_page_number(url) is None

    def in_window(self, url: str) -> bool:
        """Whether `url` is no overflow page of a catalog walked through a window, or one of its
        newest `window` pages, or above them."""
        found = urls.overflow_page_number(url)
        return found is None or found[0] not in self.window_top or found[1] > self.window_top[found[0]] - self.window

    def below_window(self, url: str) -> list[str]:
        """The page `window` below overflow page `url` of a catalog walked through a window: the
        next of its chain (`script_pages`)."""
        here = urls.overflow_page_number(url)
        if here is None or here[1] <= self.window or here[0] not in self.window_top \
                or here[1] > self.window_top[here[0]]:
            return []
        older = urls.overflow_url(url, here[0], here[1] - self.window)
        return [older] if self.accept_overflow(older) else []

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
        """The overflow pages a count script's `maxpage` stands for: the newest. Walking every
        page, the newest `window` of them: each asks for the one `window` below it, read or
        failed (`below_window`, `after_failure`), so that `window` chains reach every page down
        to 1 while a catalog's pages waiting in the queue stay about `window` however long its
        archive (asked for all at once, they made a backfill's queue hold every overflow page of
        the portal, some 1 KB each: docs/backfill.md)."""
        if maxpage > self.max_pages:
            logger.warning("maxpage %d of catalog %s capped at LISTING_MAX_PAGES=%d", maxpage, catalog,
                           self.max_pages)
            maxpage = self.max_pages
        self.overflow_ceiling.setdefault(catalog, maxpage)
        if self.walk_all:
            maxpage = self.window_top.setdefault(catalog, maxpage)  # a job's first reading, for every worker
        numbers = range(maxpage, max(maxpage - (self.window if self.walk_all else 1), 0), -1)
        targets = (urls.overflow_url(listing_url, catalog, number) for number in numbers)
        return [target for target in targets if self.accept_overflow(target) and self.admit(target)]

    def after_failure(self, url: str, kind: str) -> list[str]:
        """The pages to go on with when listing page `url` failed: a walk must not end at a page
        that failed, whether it goes one page at a time or walks every page (then: the next page
        of an overflow page's chain, or the page a pager's 下一页 would have led to; a static
        pager's next page)."""
        if kind != "listing":
            return []
        here = urls.overflow_page_number(url)
        if here is not None:
            older = [urls.overflow_url(url, here[0], here[1] - 1)] if here[1] > 1 else []
            if not self.walk_all:
                return older
            member = here[0] in self.window_top and here[1] <= self.window_top[here[0]]
            after = self.below_window(url) if member else older
            return [page for page in after if self.accept_overflow(page) and self.admit(page)]
        number = urls.index_page_number(urlsplit(url).path)
        if number is not None and number < self.last_index_page.get(_index_of(url), 0):
            older = [urls.index_page_url(url, number + 1)]
            return older if self.first_spelling(older[0]) and (not self.walk_all or self.admit(older[0])) else []
        return []

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
