"""The hostile proxy and the victim: two Twisted servers on loopback.

The proxy is the replica (served in-process, as tests/drifted_replica.py serves its drifted one)
with the pages of `tests.hostile.plan` rewritten. A crawl reaches it as it reaches the replica,
through `http_proxy`, so the proxy sees every request the crawler sends; a request for a host that
is not the portal's (`evil.com`, `2130706433`, `127.0.0.1:<victim>`, ...) is forwarded to the
victim, where it would have gone had the crawl sent it off-site. The victim counts every
connection and every request it gets (a correct crawl: none) and answers each with an article
page marked `VICTIM_MARK`, so that anything stored from it shows.

Both log what they see, one JSON line per event, to the file named by `--log`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlsplit

from twisted.internet import reactor as _reactor
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.web import resource, server
from twisted.web.client import IResponse, ProxyAgent, readBody

from tests.hostile.plan import Plan
from tests.replica import render
from tests.replica.server import ReplicaResource, Response, Router
from tests.replica.site import Site

reactor = cast(Any, _reactor)  # the module stands for the installed reactor; mypy cannot know its type

VICTIM_MARK = "VICTIM-7f3a"
VICTIM_PAGE = (render.head(f"{VICTIM_MARK}_长城网", "0")
               + f'<div class="g_width content">\n<h1>{VICTIM_MARK} 内网页面</h1>\n'
               '<div class="post_source">来源：内网&nbsp;&nbsp;<br />2024-01-02 10:00:00</div>\n'
               f'<div class="text">\n<p>\u3000\u3000{VICTIM_MARK} 内网数据，不应被抓取。</p>\n</div>\n'
               '<div class="editor">责任编辑：内网</div>\n</div>\n</body>\n</html>\n').encode(render.ENCODING)


class EventLog:
    """One JSON line per event, flushed at once: a test reads the file while the server runs."""

    def __init__(self, path: Path) -> None:
        self.handle: IO[str] = path.open("a", encoding="utf-8")

    def write(self, **event: Any) -> None:
        self.handle.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.handle.flush()


def absolute_uri(request: server.Request) -> str:
    uri = request.uri.decode("latin-1")
    if uri.startswith(("http://", "https://")):
        return uri
    return f"http://{(request.getHeader('host') or '').lower()}{uri}"


def on_portal(host: str) -> bool:
    return host == "hebei.com.cn" or host.endswith(".hebei.com.cn")


def host_of(uri: str) -> str:
    try:
        return (urlsplit(uri).hostname or "").rstrip(".")
    except ValueError:
        return ""


class HostileRouter(Router):
    """The replica's router with the plan's pages rewritten."""

    def __init__(self, site: Site, plan: Plan, groups: tuple[str, ...]) -> None:
        super().__init__(site)
        self.plan, self.groups = plan, groups
        self.rewrites = plan.rewriters(groups)

    def route(self, url: str) -> Response:
        trap = self.plan.trap_page(url, self.groups)
        if trap is not None:
            return trap
        response = super().route(url)
        parts = urlsplit(url)
        canonical = f"http://{parts.hostname}{parts.path or '/'}"
        rewrite = self.rewrites.get(self.listing_aliases.get(canonical, canonical))
        return rewrite(response) if rewrite is not None else response


class HostileResource(ReplicaResource):
    def __init__(self, router: HostileRouter, victim: str, log: EventLog) -> None:
        super().__init__(router)
        self.plan, self.groups, self.log = router.plan, router.groups, log
        victim_parts = urlsplit(victim)
        self.victim = ProxyAgent(TCP4ClientEndpoint(reactor, victim_parts.hostname or "127.0.0.1", victim_parts.port or 80))
        self.cut = router.plan.cut_short(router.groups)

    def render(self, request: server.Request) -> bytes | int:
        uri = absolute_uri(request)
        host = host_of(uri)
        self.log.write(uri=uri, host=host)
        if not on_portal(host):
            return self.forward(request, uri)
        canonical = urlsplit(uri)._replace(scheme="http", query="", fragment="").geturl()
        if canonical in self.cut:
            return self.cut_short(request, canonical)
        return super().render(request)

    def forward(self, request: server.Request, uri: str) -> int:
        """Send the request on to the victim, as a proxy would have sent it off-site."""
        answer = self.victim.request(request.method, uri.encode("latin-1"))

        def relay(response: IResponse) -> Any:
            request.setResponseCode(response.code)
            for value in response.headers.getRawHeaders(b"content-type", []):
                request.setHeader(b"content-type", value)
            return readBody(response).addCallback(lambda body: _finish(request, body))

        def unreachable(failure: Any) -> None:
            request.setResponseCode(502)
            _finish(request, b"victim unreachable")

        answer.addCallback(relay)
        answer.addErrback(unreachable)
        return server.NOT_DONE_YET

    def cut_short(self, request: server.Request, url: str) -> int:
        """A 200 without Content-Length, the connection closed half way through the body: the
        client cannot tell it from a complete one by the transfer alone."""
        page = self.router.get(url)
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {page.content_type}\r\nConnection: close\r\n\r\n".encode()
        transport = cast(Any, request.channel.transport)
        transport.write(head + page.body[: self.plan.cut_point(url, page.body)])
        transport.loseConnection()
        return server.NOT_DONE_YET


def _finish(request: server.Request, body: bytes) -> None:
    if not request.finished and not request._disconnected:  # type: ignore[attr-defined]
        request.write(body)
        request.finish()


class VictimResource(resource.Resource):
    isLeaf = True

    def __init__(self, log: EventLog) -> None:
        super().__init__()
        self.log = log

    def render(self, request: server.Request) -> bytes:
        self.log.write(event="request", uri=absolute_uri(request))
        request.setHeader(b"content-type", b"text/html; charset=gb2312")
        return VICTIM_PAGE


class VictimSite(server.Site):
    """Counts connections too: a request that never got as far as HTTP (an ftp client, a TLS
    handshake) still reached the victim."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(VictimResource(log))
        self.events = log

    def buildProtocol(self, addr: Any) -> Any:
        self.events.write(event="connection", peer=str(addr))
        return super().buildProtocol(addr)


def listen(factory: server.Site, port: int) -> None:
    factory.log = lambda request: None  # type: ignore[method-assign]
    listener = reactor.listenTCP(port, factory, interface="127.0.0.1")
    print(f"serving on http://127.0.0.1:{listener.getHost().port}", flush=True)
    reactor.run()


def serve_proxy(site: Site, port: int, victim: str, groups: tuple[str, ...], log: Path) -> None:
    plan = Plan(site, victim)
    listen(server.Site(HostileResource(HostileRouter(site, plan, groups), victim, EventLog(log))), port)


def serve_victim(port: int, log: Path) -> None:
    listen(VictimSite(EventLog(log)), port)
