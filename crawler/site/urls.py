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

# The portal's domains: a host is the portal's when it is one of them or a subdomain of one.
# The crawl reads them from the setting PORTAL_DOMAINS, whose default this is.
PORTAL_DOMAINS: tuple[str, ...] = ("hebei.com.cn",)
SITE_DOMAIN = PORTAL_DOMAINS[0]
SCHEMES = frozenset({"http", "https"})

# /system/YYYY/MM/DD/<id>.shtml, continuation pages <id>_NN.shtml; the id has no fixed width.
ARTICLE_PATH = re.compile(r"^/system/(\d{4})/(\d{2})/(\d{2})/(\d{6,12})(?:_(\d{1,3}))?\.shtml$")
# /system/more/<catalog>/<bucket>/<catalog>_<page>.shtml, numbered backwards (1 = oldest).
OVERFLOW_PATH = re.compile(r"^/system/more/(\d{12,20})/(\d{4})/(\d{12,20})_(\d{8})\.shtml$")
COUNT_SCRIPT_PATH = re.compile(r"/count_page_list_(\d{12,20})\.js$")


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
        return f"off-site: {host}"
    return None


def on_site(url: str, domains: tuple[str, ...] = PORTAL_DOMAINS) -> bool:
    return refusal(url, domains) is None


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


def is_article(url: str) -> bool:
    """An article's first page on one of the portal's hosts (not a continuation page)."""
    if not on_site(url):
        return False
    m = ARTICLE_PATH.match(urlsplit(url).path)
    return bool(m) and m.group(5) is None


def first_page(url: str) -> str | None:
    """The article's first page, for the URL of any of its pages on the portal (`<id>_02.shtml`
    gives `<id>.shtml`); None for any other URL."""
    if not on_site(url):
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
    """A channel index: a bare directory or an index page, outside /system/."""
    return not path.startswith("/system/") and (path.endswith("/") or path.endswith("/index.shtml"))


def directory_of(url: str) -> str:
    path = urlsplit(url).path or "/"
    return path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
