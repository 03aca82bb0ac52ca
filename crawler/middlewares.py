"""Downloader middlewares of the crawler."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urljoin

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from crawler.compact import Fingerprints
from crawler.site import urls


class RefusedRequest(IgnoreRequest):
    """A request the portal gate would not send: its errback records it as a failure."""


class PortalGate:
    """Every request, whatever made it (a listing link, a redirect, a continuation page, a pager
    script, robots.txt), passes here first: http or https only, a named host of the portal's
    domains (`PORTAL_DOMAINS`) only, the URL read as the downloader reads it. A refused request
    is counted (`gate/refused`, `gate/refused/<kind>`) and reaches the spider's errback, which
    records it in `failures/`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.domains = tuple(crawler.settings.getlist("PORTAL_DOMAINS"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PortalGate:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        reason = urls.refusal(request.url, self.domains)
        if reason is None:
            # one politeness slot per subdomain across the host families (urls.download_slot)
            if "download_slot" not in request.meta:
                request.meta["download_slot"] = urls.download_slot(request.url, self.domains)
            return
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("gate/refused")
        kind = reason.split(":")[0]
        self.crawler.stats.inc_value(f"gate/refused/{kind}")
        redirected = ""
        if request.meta.get("redirect_urls"):
            redirected = f" (redirected to {request.url})"
            if kind == urls.OFF_SITE:
                # the monitor's host-drift check names these hosts (crawler/ops/monitor.py)
                self.crawler.stats.inc_value(f"gate/refused_redirects/{urls.host_of(request.url) or 'unknown'}")
        raise RefusedRequest(f"refused by the portal gate: {reason}{redirected}")


class ListedPagesDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, except for an article request that a redirect made: it is never
    filtered and never remembered. An old URL that 301s to the new host family (`heb.hebei.com.cn`
    -> `heb.hebccw.cn`) is then fetched as asked, and the new URL, when a listing links it too,
    is still fetched under its own name: the store keeps the newest family's copy (docs/data.md,
    story identity). Redirects are bounded per request (REDIRECT_MAX_TIMES, RedirectLoopMiddleware).

    Its fingerprints, one per request of the whole crawl, are held in 16 bytes each
    (`crawler.compact.Fingerprints`), not in a set of 20-byte `bytes` objects (some 95 bytes
    each): the one thing a backfill's memory must grow by (docs/backfill.md)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fingerprints = Fingerprints(self._fingerprints)  # type: ignore[assignment]  # JOBDIR's, if any

    def request_seen(self, request: Request) -> bool:
        if request.meta.get("redirect_urls") and request.meta.get("kind") == "article":
            return False
        return super().request_seen(request)


class PublicAddressResolver(CachingThreadedResolver):
    """DNS that refuses a name resolving to a loopback, private, link-local or reserved address:
    a portal name pointed at our own network is not the portal. IP literals pass: the gate
    refuses them as request hosts, so the only literal ever resolved is the operator's proxy."""

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:
        deferred = super().getHostByName(name, timeout)
        if not urls.is_ip_literal(name):
            deferred.addCallback(self._public_only, name)
        return deferred

    @staticmethod
    def _public_only(address: str, name: str) -> str:
        if not ipaddress.ip_address(address).is_global:
            raise DNSLookupError(f"{name} resolves to {address}, not a public address: refused")
        return address


_SCRIPT_ENDINGS = (b";", b"}")


def looks_complete(body: bytes) -> bool:
    """Whether a body whose length nobody announced ends where a page or a script ends: a page
    (it opens `<html`) once it has its `</html>` (a CMS may print a comment after it), a script
    at a `;` or `}`. A page cut after `&nbsp;` ends in `;` too, and is not complete."""
    if b"<html" in body[:4096].lower():
        return b"</html>" in body[-4096:].lower()
    return body.rstrip().endswith(_SCRIPT_ENDINGS)


class PartialResponseMiddleware:
    """A response cut short is retried like a 500, then given up on as a failure: never parsed.

    Scrapy flags `partial` every body that ended when the connection closed without a length
    (no Content-Length, not chunked): complete or cut short, nobody can tell from the transfer.
    So a partial body counts as cut short unless it ends like a whole page (`</html>`) or a
    whole pager script (`;` or `}`): `looks_complete`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PartialResponseMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Request | Response:
        if "partial" not in response.flags or not 200 <= response.status < 300 or looks_complete(response.body):
            return response
        assert self.crawler.spider is not None
        retry = get_retry_request(request, spider=self.crawler.spider, reason="partial response")
        if retry is not None:
            return retry
        raise IgnoreRequest(f"partial response: the body ended after {len(response.body)} bytes")


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


class CallbackFailures:
    """A spider middleware: an exception in any callback becomes a recorded failure of that page
    (`failures/`, counted in `failures/<kind>`, and in `spider_exceptions/count` and
    `spider_exceptions/<type>` as Scrapy counts the exceptions nobody handles: the monitor fails
    the run on them) and the rest of the crawl goes on."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CallbackFailures:
        return cls(crawler)

    def process_spider_exception(self, response: Response, exception: Exception) -> list[Any] | None:
        recorder = getattr(self.crawler.spider, "callback_failed", None)
        if recorder is None:
            return None  # not our spider: Scrapy logs it as usual
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("spider_exceptions/count")
        self.crawler.stats.inc_value(f"spider_exceptions/{type(exception).__name__}")
        recorder(response, exception)
        return []
