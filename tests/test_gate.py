"""The portal gate: which URLs the crawl may request, spelled as the downloader spells them, and the
DNS resolver that refuses portal names pointed at our own network. The crawls through a hostile
proxy are in tests/test_hostile.py."""

from __future__ import annotations

import subprocess
import sys

import pytest
from scrapy import Request
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from crawler.middlewares import PortalGate, RefusedRequest
from crawler.site import urls
from tests.replica.harness import REPO


@pytest.mark.parametrize("url, kind", [
    ("http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml", None),
    ("https://heb.hebei.com.cn/system/2018/07/17/018955625.shtml", None),
    ("http://hebei.com.cn./", None),
    ("http://evil.com\\.hebei.com.cn/system/2018/07/17/018955625.shtml", "off-site"),  # w3lib: evil.com
    ("http://evil.hebei.com.cn.attacker.com/x.shtml", "off-site"),
    ("http://www.hebnews.cn/system/2018/07/17/018955625.shtml", "off-site"),
    ("http://2130706433/", "IP address"),
    ("http://0x7f000001/", "IP address"),
    ("http://127.0.0.1:8080/", "IP address"),
    ("http://[::1]/", "IP address"),
    ("ftp://heb.hebei.com.cn/a.shtml", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("javascript:alert(1)", "scheme"),
])
def test_only_named_portal_hosts_over_http_are_requested(url: str, kind: str | None) -> None:
    reason = urls.refusal(url)
    assert (reason.split(":")[0] if reason else None) == kind


@pytest.mark.parametrize("href", ["http://[::1/x", "http://heb.hebei.com.cn：80/x", "http://heb.hebei.com.cn:99999/x",
                                  "http://heb．hebei．com．cn／x"])
def test_a_link_that_is_no_url_resolves_to_nothing_and_never_raises(href: str) -> None:
    found = urls.resolve_link("http://heb.hebei.com.cn/qjhb/", href)
    assert found is None or urls.refusal(found) is None and urls.canonical(found)


def test_the_gate_refuses_what_the_downloader_would_send_off_the_portal() -> None:
    crawler = get_crawler(settings_dict={"PORTAL_DOMAINS": get_project_settings().getlist("PORTAL_DOMAINS")})
    gate = PortalGate.from_crawler(crawler)
    gate.process_request(Request("http://heb.hebei.com.cn/qjhb/"))
    with pytest.raises(RefusedRequest, match="off-site: evil.com"):
        gate.process_request(Request("http://evil.com\\.hebei.com.cn/qjhb/"))
    assert crawler.stats.get_value("gate/refused/off-site") == 1


RESOLVE = """
import sys
from twisted.internet import reactor
from crawler.middlewares import PublicAddressResolver
resolver = PublicAddressResolver(reactor, 0, 5.0)
d = resolver.getHostByName(sys.argv[1])
d.addCallbacks(lambda a: print("resolved", a), lambda f: print("refused", f.getErrorMessage()))
d.addBoth(lambda _: reactor.stop())
reactor.run()
"""


@pytest.mark.parametrize("name, outcome", [("localhost", "refused"), ("127.0.0.1", "resolved")])
def test_a_name_resolving_to_our_own_network_is_refused(name: str, outcome: str) -> None:
    """`localhost` stands for a portal name pointed at loopback; a literal is only ever the
    operator's proxy (the gate refuses literals as request hosts)."""
    done = subprocess.run([sys.executable, "-c", RESOLVE, name], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.stdout.split(" ", 1)[0] == outcome, done.stdout + done.stderr
