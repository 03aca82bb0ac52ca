"""Every article the default-scale replica serves parses exactly to its truth.

Pages go through the replica server's router as bytes (GB18030, declaring gb2312), are decoded
with `decode_html`, read with `extract` and, for multi-page articles, merged with `merge_pages`.
A failure reports how many copies each field is wrong on, with a few URLs for each.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from crawler.extract import Extraction, extract, merge_pages
from crawler.extract.extraction import FIELD_NAMES
from crawler.site.charset import charset_from_content_type, decode_html
from tests.replica.server import Router
from tests.replica.site import Copy, Site, build_site, copy_truth

COMPARED = (*FIELD_NAMES, "pages", "parser", "page_urls", "problems", "kind")
TIME_LIMIT_S = 60


@cache
def default_site() -> Site:
    """The default-scale replica, built once per test run."""
    return build_site()


@pytest.fixture(scope="module")
def site() -> Site:
    return default_site()


def fetch_text(router: Router, url: str) -> str:
    """The page as served, decoded as the crawler decodes it."""
    response = router.get(url)
    assert response.status == 200, url
    return decode_html(response.body, charset_from_content_type(response.content_type))


def fetch(router: Router, url: str) -> Extraction:
    return extract(fetch_text(router, url), url)


def replica_pages(site: Site) -> Iterator[tuple[str, str, str]]:
    """(URL, decoded text, the parser its truth names) of every page of every copy the site serves."""
    router = Router(site)
    for story in site.stories:
        for copy in story.copies:
            parser = copy_truth(copy)["parser"]
            for url in copy.page_urls:
                yield url, fetch_text(router, url), parser


def read_copy(router: Router, copy: Copy) -> dict[str, Any]:
    pages = [fetch(router, url) for url in copy.page_urls]
    return {
        **merge_pages(pages),
        "page_urls": pages[0].page_urls,
        "problems": [problem for page in pages for problem in page.problems],
        "kind": sorted({page.kind for page in pages}),
    }


def test_every_replica_article_parses_to_its_truth(site: Site) -> None:
    router = Router(site)
    started = time.perf_counter()
    wrong: Counter[str] = Counter()
    examples: defaultdict[str, list[str]] = defaultdict(list)
    copies = [copy for story in site.stories for copy in story.copies]
    for copy in copies:
        got = read_copy(router, copy)
        want = {**copy_truth(copy), "problems": [], "kind": ["article"]}
        for name in COMPARED:
            if got[name] != want[name]:
                wrong[name] += 1
                examples[name].append(copy.url)
    elapsed = time.perf_counter() - started
    report = "; ".join(
        f"{name} wrong on {n} of {len(copies)} (e.g. {', '.join(examples[name][:3])})"
        for name, n in wrong.most_common()
    )
    assert not wrong, report
    assert len(copies) > 1500 and sum(len(c.pages) for c in copies) > 2000  # the whole default site
    assert elapsed < TIME_LIMIT_S, f"{len(copies)} copies took {elapsed:.1f}s"


def test_rolling_pages_are_recognised(site: Site) -> None:
    router = Router(site)
    for page in site.rolling:
        extraction = fetch(router, page.url)
        assert extraction.kind == "rolling", page.url
        assert extraction.fields["title"] == page.title
