"""The replica's HTTP server: Twisted, loopback only, usable directly or as a forward proxy.

A request is routed by the host of its absolute URI (proxy form, `GET http://heb.hebei.com.cn/...`)
or by its Host header (direct form), so production spiders reach it with `http_proxy` set and
request the real URLs unchanged.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

from twisted.internet import reactor
from twisted.web import resource, server

from tests.replica import render
from tests.replica.site import HOSTS_WITH_CHARSET_HEADER, Site

# A 1x1 GIF stands in for every image.
_PIXEL = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")
_ROBOTS = b"User-agent: *\nDisallow: /admin/\n"


class Response:
    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status, self.body, self.content_type = status, body, content_type


class Router:
    """Maps a canonical URL to a response; renders on demand and keeps a bounded cache."""

    def __init__(self, site: Site, cache_size: int = 4096) -> None:
        self.site = site
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
        if not host.endswith("hebei.com.cn"):
            return Response(502, b"not part of the replica: " + host.encode(), "text/plain")
        if path == "/robots.txt":
            return Response(200, _ROBOTS, "text/plain")
        if path.endswith((".jpg", ".gif", ".png")):
            return Response(200, _PIXEL, "image/gif")
        hit = site.article_pages.get(canonical)
        if hit is not None:
            copy, index = hit
            return self.html(host, render.render_article(copy, index))
        canonical = self.listing_aliases.get(canonical, canonical)
        listing_hit = site.listing_pages.get(canonical)
        if listing_hit is not None:
            listing, page = listing_hit
            return self.html(host, render.render_listing(site, listing, page))
        if canonical in self.count_scripts:
            script = render.render_count_script(self.count_scripts[canonical])
            return Response(200, script.encode(render.ENCODING), "application/javascript")
        if canonical in self.rolling:
            return self.html(host, render.render_rolling(self.rolling[canonical]))
        if path in ("/", "/index.shtml") or host == "v.hebei.com.cn" or "/zt/" in path:
            return self.html(host, render.render_home(host, self.homes.get(host, [])))
        return self.html(host, render.render_simple("404 页面不存在"), status=404)


class ReplicaResource(resource.Resource):
    isLeaf = True

    def __init__(self, router: Router, on_request: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.router = router
        self.on_request = on_request

    def render(self, request: server.Request) -> bytes:
        uri = request.uri.decode("latin-1")
        if not uri.startswith(("http://", "https://")):
            host = (request.getHeader("host") or "").split(":")[0].lower()
            uri = f"http://{host}{uri}"
        if self.on_request is not None:
            self.on_request(uri)
        response = self.router.get(uri)
        request.setResponseCode(response.status)
        request.setHeader(b"content-type", response.content_type.encode())
        if request.method == b"HEAD":
            return b""
        return response.body


def serve(site: Site, port: int, interface: str = "127.0.0.1") -> None:
    """Serve until killed; prints `serving on http://HOST:PORT` once listening."""
    factory = server.Site(ReplicaResource(Router(site)))
    factory.log = lambda request: None  # type: ignore[method-assign]
    listener = reactor.listenTCP(port, factory, interface=interface)  # type: ignore[attr-defined]
    print(f"serving on http://{interface}:{listener.getHost().port}", flush=True)
    sys.stdout.flush()
    reactor.run()  # type: ignore[attr-defined]
