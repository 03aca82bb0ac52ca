"""Downloader middlewares of the crawler."""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.site import urls


class BackoffMiddleware:
    """Slow down a host that answers 429 or 503: double its download slot's delay (up to
    AUTOTHROTTLE_MAX_DELAY), or wait what its Retry-After header asks. The retry itself is
    RetryMiddleware's (429 and 503 are in RETRY_HTTP_CODES). AutoThrottle brings the delay back
    down as the host answers normally again."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("AUTOTHROTTLE_MAX_DELAY")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if response.status not in (429, 503):
            return response
        assert self.crawler.engine is not None and self.crawler.stats is not None
        slot_key = request.meta.get("download_slot")
        slot = self.crawler.engine.downloader.slots.get(slot_key) if slot_key else None
        if slot is not None:
            asked = (response.headers.get(b"Retry-After") or b"").decode("latin-1").strip()
            wanted = float(asked) if asked.isdigit() else max(slot.delay * 2, 1.0)
            slot.delay = min(self.max_delay, max(slot.delay, wanted))
            self.crawler.stats.inc_value("backoff/slowed_down")
            self.crawler.stats.max_value("backoff/max_delay", slot.delay)
        return response


class RedirectLoopMiddleware:
    """Turn a redirect back to a URL of the same chain into a failure the spider records.

    Without it a loop A -> B -> A ends silently: Scrapy's dupefilter drops the second request
    for A, and no callback or errback ever hears of it.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectLoopMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return response
        target = urls.canonical(urljoin(request.url, location.decode("latin-1")))
        chain = [urls.canonical(u) for u in request.meta.get("redirect_urls", [])] + [urls.canonical(request.url)]
        if target in chain:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("redirect/loops")
            raise IgnoreRequest(f"redirect loop: {' -> '.join(chain + [target])}")
        return response
