"""The replica after the portal moved to a domain the crawl does not know (`serve --links-to DOMAIN`,
`serve --redirects-to DOMAIN`): what the monitor's host-drift checks are for.

- `--links-to`: every page but the articles (listings, home pages) links its articles on
  `<sub>.DOMAIN` instead of `<sub>.hebei.com.cn` (or `.hebccw.cn`): absolute, protocol-relative
  and root-relative links alike, in the main list and the side boxes.
- `--redirects-to`: every article page of the portal answers 301 to the same path on `<sub>.DOMAIN`.

Either way `<sub>.DOMAIN` serves the portal's pages under the same paths, so a crawl that adds
DOMAIN to PORTAL_DOMAINS stores the stories again. The site underneath is unchanged: this wraps
its router.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from tests.replica.server import Response, Router
from tests.replica.site import Site

_HREF = re.compile(r'href="([^"]*)"')
_ARTICLE_PATH = re.compile(r"^/system/\d{4}/\d{2}/\d{2}/\d+(?:_\d+)?\.shtml$")


def within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def rehost(host: str, domains: tuple[str, ...], domain: str) -> str | None:
    """`heb.hebei.com.cn` -> `heb.DOMAIN`: the same subdomain of `domain`; None off `domains`."""
    family = next((d for d in domains if within(host, d)), None)
    return None if family is None else host[: len(host) - len(family)] + domain


def move_article_links(page: str, base: str, domains: tuple[str, ...], domain: str) -> str:
    """`page` (at `base`) with each link to an article of `domains` moved to `domain`, spelled as
    it was (absolute keeps its scheme; protocol- and root-relative become protocol-relative)."""

    def move(match: re.Match[str]) -> str:
        href = html.unescape(match.group(1))
        parts = urlsplit(urljoin(base, href))
        host = rehost(parts.hostname or "", domains, domain)
        if host is None or not _ARTICLE_PATH.match(parts.path):
            return match.group(0)
        prefix = f"{parts.scheme}:" if "://" in href else ""
        return f'href="{html.escape(f"{prefix}//{host}{parts.path}")}"'

    return _HREF.sub(move, page)


class MovedRouter(Router):
    """The replica's router with the portal's links or article pages moved to other domains."""

    def __init__(self, site: Site, *, links_to: str = "", redirects_to: str = "", **kwargs: Any) -> None:
        super().__init__(site, **kwargs)
        self.links_to, self.redirects_to = links_to, redirects_to
        self.moved = tuple(domain for domain in (links_to, redirects_to) if domain)
        self.domains = site.domains + self.moved

    def route(self, url: str) -> Response:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path or "/"
        moved = next((domain for domain in self.moved if within(host, domain)), None)
        if moved is not None:
            return super().route(self.origin(host, path, moved))
        response = super().route(url)
        canonical = f"http://{host}{path}"
        if response.status != 200 or not response.content_type.startswith("text/html"):
            return response
        if canonical in self.site.article_pages:
            if self.redirects_to:
                return Response(301, b"", "text/html", location=f"http://{rehost(host, self.site.domains, self.redirects_to)}{path}")
            return response
        if not self.links_to:
            return response
        encoding = page_encoding(response.body)
        page = move_article_links(response.body.decode(encoding), canonical, self.site.domains, self.links_to)
        return Response(response.status, page.encode(encoding), response.content_type, response.location)

    def origin(self, host: str, path: str, moved: str) -> str:
        """The portal's URL of a moved one: the newest family that has the page."""
        candidates = [f"http://{rehost(host, (moved,), domain)}{path}" for domain in reversed(self.site.domains)]
        pages = self.site.article_pages.keys() | self.site.listing_pages.keys() | self.listing_aliases.keys()
        return next((url for url in candidates if url in pages), candidates[-1])


def page_encoding(body: bytes) -> str:
    """UTF-8 for the 2026 portal's pages, GB18030 for the old ones (which are never valid UTF-8)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"
