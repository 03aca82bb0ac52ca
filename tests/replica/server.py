"""The replica's HTTP server: Twisted, loopback only, usable directly or as a forward proxy.

A request is routed by the host of its absolute URI (proxy form, `GET http://heb.hebei.com.cn/...`)
or by its Host header (direct form), so production spiders reach it with `http_proxy` set and
request the real URLs unchanged. With `https_proxy` set too, https requests arrive as CONNECT
tunnels (`tls.py`) and are served the same pages.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from twisted.internet import reactor
from twisted.web import resource, server

from tests.replica import render, render2026
from tests.replica.era2026 import Listing2026
from tests.replica.site import HOSTS_WITH_CHARSET_HEADER, PORTAL_2026, Site
from tests.replica.tls import TunnelingFactory

# A 1x1 GIF stands in for every image.
_PIXEL = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")
_ROBOTS = b"User-agent: *\nDisallow: /admin/\n"


class Response:
    def __init__(self, status: int, body: bytes, content_type: str, location: str | None = None) -> None:
        self.status, self.body, self.content_type, self.location = status, body, content_type, location


@dataclass(frozen=True)
class FaultProfile:
    """What goes wrong, per URL, decided by a hash of the URL: the same URLs fail on every run.

    Transient faults hit a URL's first request only, so a client that retries gets the page.
    Permanent faults hit one chosen URL of each kind on every request.
    """

    http_500: float = 0.0  # share of pages answering 500 once
    timeout: float = 0.0  # share of pages that hang once (longer than the client waits)
    truncated: float = 0.0  # share of pages whose body is cut short once (connection dropped)
    permanent: bool = False  # one listing page 404s, one article 500s for ever, one redirects in a
    # loop, one declares the wrong charset (utf-8 meta and header on GB18030 bytes)
    hang_seconds: float = 20.0


FAULT_PROFILES = {
    "none": FaultProfile(),
    "standard": FaultProfile(http_500=0.05, timeout=0.02, truncated=0.01, permanent=True),
    "transient": FaultProfile(http_500=0.05, timeout=0.02, truncated=0.01),
}


def _share(url: str) -> float:
    return int.from_bytes(hashlib.sha1(url.encode()).digest()[:4], "big") / 2**32


class Faults:
    def __init__(self, site: Site, profile: FaultProfile) -> None:
        self.profile = profile
        self.attempts: Counter[str] = Counter()
        self.permanent: dict[str, str] = {}
        if profile.permanent:
            self.permanent = permanent_faults(site)

    def decide(self, url: str) -> str | None:
        """None, or one of: 500, hang, truncate, 404, loop, charset."""
        self.attempts[url] += 1
        if url in self.permanent:
            return self.permanent[url]
        if self.attempts[url] > 1 or url.endswith("/robots.txt"):
            return None
        p, x = self.profile, _share(url)
        if x < p.http_500:
            return "500"
        if x < p.http_500 + p.timeout:
            return "hang"
        if x < p.http_500 + p.timeout + p.truncated:
            return "truncate"
        return None


def permanent_faults(site: Site) -> dict[str, str]:
    """The URLs that fail for ever under a profile with permanent faults, chosen from the site."""
    single = [c for s in site.stories if not s.from_corpus and len(s.copies) == 1 for c in s.copies
              if len(c.pages) == 1]
    hbyw = next(lst for lst in site.listings if lst.key == "heb/hbyw")
    return {
        hbyw.overflow_url(2): "404",
        single[0].url: "500",
        single[1].url: "loop",
        single[1].url.replace(".shtml", "_loop.shtml"): "loop",
        single[2].url: "charset",
    }


class Router:
    """Maps a canonical URL to a response; renders on demand and keeps a bounded cache."""

    def __init__(self, site: Site, cache_size: int = 4096, faults: Faults | None = None) -> None:
        self.site = site
        self.domains = site.domains  # served, https included: these domains and their subdomains
        self.faults = faults
        self.cache: OrderedDict[str, Response] = OrderedDict()
        self.cache_size = cache_size
        self.count_scripts = {lst.count_script_url: lst for lst in site.listings if lst.pager == "script"}
        self.rolling = {p.url: p for p in site.rolling}
        self.listing_aliases: dict[str, str] = {}
        for url in site.listing_pages:
            if url.endswith("/index.shtml"):
                self.listing_aliases[url[: -len("index.shtml")]] = url
            elif url.endswith("/"):
                self.listing_aliases[url + "index.shtml"] = url
        self.homes: dict[str, list] = {}
        for lst in site.roots:
            self.homes.setdefault(lst.host, []).append(lst)

    def html(self, host: str, text: str, status: int = 200) -> Response:
        ctype = "text/html; charset=gb2312" if host in HOSTS_WITH_CHARSET_HEADER else "text/html"
        return Response(status, text.encode(render.ENCODING), ctype)

    def html_2026(self, text: str, status: int = 200, charset_header: bool = True) -> Response:
        return Response(status, text.encode(render2026.ENCODING), render2026.content_type(charset_header))

    def get(self, url: str) -> Response:
        hit = self.cache.get(url)
        if hit is not None:
            self.cache.move_to_end(url)
            return hit
        response = self.route(url)
        self.cache[url] = response
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return response

    def route(self, url: str) -> Response:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path or "/"
        canonical = f"http://{host}{path}"
        site = self.site
        if not host.endswith(site.domains):
            return Response(502, b"not part of the replica: " + host.encode(), "text/plain")
        if path == "/robots.txt":
            return Response(200, _ROBOTS, "text/plain")
        if path.endswith((".jpg", ".gif", ".png")):
            return Response(200, _PIXEL, "image/gif")
        if canonical in site.redirects:
            return Response(301, b"", "text/html", location=site.redirects[canonical])
        if canonical in site.gone:
            return self.html(host, render.render_simple("404 页面不存在"), status=404)
        hit = site.article_pages.get(canonical)
        if hit is not None:
            copy, index = hit
            if copy.layout == PORTAL_2026:
                assert isinstance(copy.listing, Listing2026)
                return self.html_2026(render2026.render_article(site, copy, index),
                                      charset_header=copy.listing.charset_header)
            return self.html(host, render.render_article(copy, index))
        canonical = self.listing_aliases.get(canonical, canonical)
        listing_hit = site.listing_pages.get(canonical)
        if listing_hit is not None:
            listing, page = listing_hit
            if isinstance(listing, Listing2026):
                return self.html_2026(render2026.render_listing(site, listing, page),
                                      charset_header=listing.charset_header)
            return self.html(host, render.render_listing(site, listing, page))
        if canonical in self.count_scripts:
            script = render.render_count_script(self.count_scripts[canonical])
            return Response(200, script.encode(render.ENCODING), "application/javascript")
        if canonical in self.rolling:
            return self.html(host, render.render_rolling(self.rolling[canonical]))
        if host.endswith(site.domains[1:]):  # the newest family (none in the default era)
            if path in ("/", "/index.shtml"):
                return self.html_2026(render2026.render_host_home(site, host))
            return self.html_2026(render2026.render_not_found(site), status=404)
        if path in ("/", "/index.shtml") or host == "v.hebei.com.cn" or "/zt/" in path:
            return self.html(host, render.render_home(host, self.homes.get(host, [])))
        return self.html(host, render.render_simple("404 页面不存在"), status=404)


    def faulty(self, url: str) -> Response | None:
        """The response a fault replaces the page with, or None to serve the page."""
        if self.faults is None:
            return None
        fault = self.faults.decide(url)
        if fault == "500":
            return Response(500, b"Internal Server Error", "text/plain")
        if fault == "404":
            return self.html(urlsplit(url).hostname or "", render.render_simple("404 页面不存在"), status=404)
        if fault == "loop":
            twin = url.replace(".shtml", "_loop.shtml") if not url.endswith("_loop.shtml") else url.replace("_loop", "")
            return Response(302, b"", "text/html", location=twin)
        if fault == "charset":
            page = self.get(url)
            body = page.body.replace(b"charset=gb2312", b"charset=utf-8")
            return Response(page.status, body, "text/html; charset=utf-8")
        if fault in ("hang", "truncate"):
            return Response(0, fault.encode(), "")
        return None


class ReplicaResource(resource.Resource):
    isLeaf = True

    def __init__(self, router: Router, on_request: Callable[[str], None] | None = None, latency: float = 0) -> None:
        super().__init__()
        self.router = router
        self.on_request = on_request
        self.latency = latency  # seconds before each response is sent, as a distant server takes

    def render(self, request: server.Request) -> bytes | int:
        uri = request.uri.decode("latin-1")
        if not uri.startswith(("http://", "https://")):  # direct, or through a CONNECT tunnel
            host = (request.getHeader("host") or "").split(":")[0].lower()
            uri = f"{'https' if request.isSecure() else 'http'}://{host}{uri}"
        if self.on_request is not None:
            self.on_request(uri)
        uri = urlsplit(uri)._replace(scheme="http", query="", fragment="").geturl()
        response = self.router.faulty(uri)
        if response is not None and response.status == 0:
            return self.misbehave(request, uri, response.body.decode())
        if response is None:
            response = self.router.get(uri)
        request.setResponseCode(response.status)
        request.setHeader(b"content-type", response.content_type.encode())
        if response.location:
            request.setHeader(b"location", response.location.encode())
        if request.method == b"HEAD":
            return b""
        if self.latency:
            call = reactor.callLater(self.latency, _finish, request, response.body)  # type: ignore[attr-defined]
            request.notifyFinish().addErrback(lambda _: call.active() and call.cancel())
            return server.NOT_DONE_YET
        return response.body

    def misbehave(self, request: server.Request, uri: str, how: str) -> int:
        """Hang past the client's timeout, or send half the body and drop the connection."""
        page = self.router.get(uri)
        request.setResponseCode(page.status)
        request.setHeader(b"content-type", page.content_type.encode())
        if how == "truncate":
            request.setHeader(b"content-length", str(len(page.body)).encode())
            request.write(page.body[: len(page.body) // 2])
            request.channel.transport.loseConnection()
            return server.NOT_DONE_YET
        call = reactor.callLater(self.router.faults.profile.hang_seconds, _finish, request, page.body)  # type: ignore[attr-defined, union-attr]
        request.notifyFinish().addErrback(lambda _: call.active() and call.cancel())
        return server.NOT_DONE_YET


def _finish(request: server.Request, body: bytes) -> None:
    if not request.finished and not request._disconnected:  # type: ignore[attr-defined]
        request.write(body)
        request.finish()


def serve(site: Site, port: int, interface: str = "127.0.0.1", faults: str = "none",
          router_class: Callable[..., Router] = Router, latency: float = 0) -> None:
    """Serve until killed; prints `serving on http://HOST:PORT` once listening. `router_class`
    makes the router (host_drift.py: one of a portal that moved); every response waits `latency`
    seconds."""
    profile = FAULT_PROFILES[faults]
    router = router_class(site, faults=Faults(site, profile) if profile != FAULT_PROFILES["none"] else None)
    factory = server.Site(ReplicaResource(router, latency=latency))
    factory.log = lambda request: None  # type: ignore[method-assign]
    listener = reactor.listenTCP(port, TunnelingFactory(factory, router.domains), interface=interface)  # type: ignore[attr-defined]
    print(f"serving on http://{interface}:{listener.getHost().port}", flush=True)
    sys.stdout.flush()
    reactor.run()  # type: ignore[attr-defined]
