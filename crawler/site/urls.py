"""URL shapes of the enorth CMS on the portal (site notes, section 1), and which URLs are the
portal's at all.

Every URL taken from page content goes through `resolve_link`, which spells it the way Scrapy and
its downloader will (w3lib's WHATWG-style parsing: `http://evil.com\\.hebei.com.cn/` is
`http://evil.com/.hebei.com.cn/`), and never raises: a link that is not a URL is None. Every
"is this ours" decision goes through `on_site`/`refusal`, on that same spelling.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

# The portal's domains, its host families, oldest first: a host is the portal's when it is one of
# them or a subdomain of one. The crawl reads them from the setting PORTAL_DOMAINS, whose default
# this is. A subdomain names the same site in every family (`heb.hebei.com.cn` and
# `heb.hebccw.cn`), so one article id names one page whichever family serves it (`page_key`).
PORTAL_DOMAINS: tuple[str, ...] = ("hebei.com.cn", "hebccw.cn")
SCHEMES = frozenset({"http", "https"})
OFF_SITE = "off-site"  # the kind of refusal of a host outside the portal's domains

# /system/YYYY/MM/DD/<id>.shtml, continuation pages <id>_NN.shtml; the id has no fixed width.
ARTICLE_PATH = re.compile(r"^/system/(\d{4})/(\d{2})/(\d{2})/(\d{6,12})(?:_(\d{1,3}))?\.shtml$")
# /system/more/<catalog>/<bucket>/<catalog>_<page>.shtml, numbered backwards (1 = oldest).
OVERFLOW_PATH = re.compile(r"^/system/more/(\d{12,20})/(\d{4})/(\d{12,20})_(\d{8})\.shtml$")
COUNT_SCRIPT_PATH = re.compile(r"/count_page_list_(\d{12,20})\.js$")
# <dir>/index.shtml, and the pages of its static pager <dir>/index_2.shtml... (the 2026 hosts).
INDEX_PAGE_PATH = re.compile(r"/index(?:_([1-9]\d{0,5}))?\.shtml$")


def resolve_link(base: str, href: str) -> str | None:
    """The absolute URL a link `href` on page `base` leads to, as the downloader will request it,
    or None when it is not a URL (a broken IPv6 literal, a full-width colon in the host, a port
    out of range)."""
    try:
        url = safe_url_string(urljoin(base, href.strip()))
        urlsplit(url).port  # noqa: B018 - raises on a port out of range
    except ValueError:
        return None
    return url


def host_of(url: str) -> str | None:
    """The host the downloader will connect to (lower case, no trailing dot), or None."""
    try:
        host = urlsplit(safe_url_string(url)).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def is_ip_literal(host: str) -> bool:
    """An address rather than a name: dotted or bracketed, but also the decimal (`2130706433`)
    and hex (`0x7f000001`) spellings that resolvers accept."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return bool(re.fullmatch(r"(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]+|\d+))*", host))
    return True


def in_family(host: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def refusal(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> str | None:
    """Why the crawl must not request `url` (None: it may): only http(s), only named hosts of
    the portal's domains. The reason starts with its kind (`off-site`, `scheme`, `IP address`,
    `no host`, `not a URL`), then `: ` and the detail."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return "not a URL"
    if scheme not in SCHEMES:
        return f"scheme: {scheme or 'missing'}"
    host = host_of(url)
    if not host:
        return "no host"
    if is_ip_literal(host):
        return f"IP address: {host}"
    if not in_family(host, domains):
        return f"{OFF_SITE}: {host}"
    return None


def on_site(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> bool:
    return refusal(url, domains) is None


def family_of(host: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> str | None:
    """The portal domain `host` belongs to (the longest that matches), or None."""
    matching = [domain for domain in domains if host == domain or host.endswith("." + domain)]
    return max(matching, key=len) if matching else None


def family_rank(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> int:
    """How new the host family of `url` is: its domain's place in `domains` (oldest first);
    -1 off the portal."""
    family = family_of(host_of(url) or "", domains)
    return domains.index(family) if family is not None else -1


def _in_first_family(host: str, domains: tuple[str, ...]) -> str:
    """`host` moved to the first (oldest) family: `heb.hebccw.cn` -> `heb.hebei.com.cn`."""
    family = family_of(host, domains)
    if family is None or family == domains[0]:
        return host
    return host[: len(host) - len(family)] + domains[0]


def page_key(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> str:
    """One name per page whichever host family serves it: the canonical URL with its host moved
    to the first family of `domains`. The state keys copies by it, so a story stored under
    `heb.hebei.com.cn/...` is known when `heb.hebccw.cn/...` is listed. The first domain must
    stay first (new families are appended): it spells every key the state holds."""
    url = canonical(url)
    scheme, rest = url.split("://", 1)
    host, slash, path = rest.partition("/")
    name, colon, port = host.partition(":")
    moved = _in_first_family(name, domains)
    return url if moved == name else f"{scheme}://{moved}{colon}{port}{slash}{path}"


def in_newest_family(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> str | None:
    """The same page on the newest family (the last of `domains`), spelled canonically as the
    crawl asks for every page (`canonical`: both schemes serve one page), so that a page the
    listings link too is asked once: `https://heb.hebei.com.cn/x` -> `http://heb.hebccw.cn/x`.
    None for a URL on the newest family already, or off the portal."""
    host = host_of(url)
    family = family_of(host or "", domains)
    if host is None or family is None or family == domains[-1]:
        return None
    parts = urlsplit(url)
    return canonical(urlunsplit((parts.scheme, host[: len(host) - len(family)] + domains[-1], parts.path, parts.query, "")))


def download_slot(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> str | None:
    """The politeness slot of a portal URL: one per subdomain across the families, so that
    `heb.hebei.com.cn` and `heb.hebccw.cn` (likely one server) share one delay and one
    concurrency limit. None off the portal."""
    host = host_of(url)
    if not host or family_of(host, domains) is None:
        return None
    return _in_first_family(host, domains)


# Query parameters that only track a visit; they never select content.
TRACKING_PARAMS = re.compile(r"^(utm_\w+|spm|from|share|share_from|source|isappinstalled|wxshare_count|"
                             r"nsukey|scene|clicktime|enterid|timestamp|_t|ref|refer)$", re.IGNORECASE)
# A URL that is its own canonical spelling, as nearly every URL the CMS links to is: checked
# without taking it apart (the spider asks the store about every link of every listing page).
_CANONICAL = re.compile(r"http://[a-z0-9-]+(?:\.[a-z0-9-]+)*/[^?#\s]*")


def canonical(url: str) -> str:
    """One spelling per page, for the spider and the store alike: http (both schemes serve the
    same page), lower-case host without a trailing dot, default port dropped, no fragment,
    tracking parameters removed (the CMS's pages take none at all, but a URL from elsewhere may
    carry them)."""
    if _CANONICAL.fullmatch(url):
        return url
    return _canonical_parsed(url)


def _canonical_parsed(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.port not in (None, 80, 443):
        host = f"{host}:{parts.port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    return urlunsplit(("http", host, parts.path or "/", urlencode(query), ""))


def article_id(url: str) -> str | None:
    """The 9-digit (or longer) article id of an article or continuation page URL."""
    m = ARTICLE_PATH.match(urlsplit(url).path)
    return m.group(4) if m else None


def is_article(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> bool:
    """An article's first page on one of the portal's hosts (not a continuation page)."""
    if not on_site(url, domains):
        return False
    m = ARTICLE_PATH.match(urlsplit(url).path)
    return bool(m) and m.group(5) is None


def first_page(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> str | None:
    """The article's first page, for the URL of any of its pages on the portal (`<id>_02.shtml`
    gives `<id>.shtml`); None for any other URL."""
    if not on_site(url, domains):
        return None
    parts = urlsplit(url)
    m = ARTICLE_PATH.match(parts.path)
    if not m:
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"/system/{m.group(1)}/{m.group(2)}/{m.group(3)}/{m.group(4)}.shtml", "", ""))


def overflow_page_number(url: str) -> tuple[str, int] | None:
    """(catalog, page) of an overflow page URL."""
    m = OVERFLOW_PATH.match(urlsplit(url).path)
    if not m or m.group(1) != m.group(3):
        return None
    return m.group(1), int(m.group(4))


def overflow_url(host_url: str, catalog: str, page: int) -> str:
    """Overflow page `page` of `catalog` on the host of `host_url`; bucket = page // 100."""
    parts = urlsplit(host_url)
    return f"http://{parts.netloc}/system/more/{catalog}/{page // 100:04d}/{catalog}_{page:08d}.shtml"


def is_listing_path(path: str) -> bool:
    """A channel index: a bare directory, an index page or one of its static pager pages, outside /system/."""
    return index_page_number(path) is not None


def index_page_number(path: str) -> int | None:
    """Which page of a channel index's static pager `path` is: 1 for the bare directory and for
    `<dir>/index.shtml`, N for `<dir>/index_N.shtml` (numbered forwards: N+1 is the next older
    page); None for a path that is no channel index, and for anything under /system/."""
    if path.startswith("/system/"):
        return None
    if path.endswith("/"):
        return 1
    m = INDEX_PAGE_PATH.search(path)
    return int(m.group(1) or 1) if m else None


def index_page_url(url: str, number: int) -> str:
    """Page `number` of the static pager of the channel index `url` lies in."""
    parts = urlsplit(url)
    name = "index.shtml" if number == 1 else f"index_{number}.shtml"
    return urlunsplit((parts.scheme, parts.netloc, directory_of(url) + name, "", ""))


def directory_of(url: str) -> str:
    path = urlsplit(url).path or "/"
    return path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
