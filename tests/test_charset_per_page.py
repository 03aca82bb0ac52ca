"""One page, one charset, decided from its BOM, its declarations and its bytes (site notes §2).

The portal serves GB18030 pages declaring gb2312 and UTF-8 pages side by side, and declarations
lie both ways. Every combination of BOM, Content-Type charset, `<meta>` declaration and bytes must
give back exactly the page as written, with no U+FFFD. The last test reads single pages of the
2026 replica as an operator does: fetched through the replica, then `scrapy extract`.
"""

from __future__ import annotations

import codecs
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.site.charset import charset_from_content_type, decode_page
from tests.replica.harness import REPO, Replica, ReplicaServer
from tests.replica.site import ERA_2026, PORTAL_2026, SERVED, build_site, copy_truth

# 仚 is outside GB2312 (in GBK), 䶮 outside GBK (a four-byte GB18030 sequence); 镕, 堃, 喆 are names
# the notes list; full-width punctuation as published.
TEXT = "省长董仚生会见朱镕、李堃、王喆与刘䶮：“推进京津冀协同发展。”（长城网记者 张瑞雨 摄）"

METAS = {
    "no meta": "",
    "meta charset=utf-8": '<meta charset="utf-8" />',
    "meta charset=gb2312": '<meta charset="gb2312">',
    "http-equiv gb2312": '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />',
    "http-equiv utf-8": '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />',
    "meta charset=big5 (wrong)": '<meta charset="big5">',
    "meta charset=utf-16 (wrong)": '<meta charset="utf-16">',
}
HEADERS = {
    "no header": None,
    "text/html": "text/html",
    "utf-8": "text/html; charset=utf-8",
    "UTF8": "text/html;charset=UTF8",
    "gbk": "text/html; charset=gbk",
    "gb2312": "text/html; charset=gb2312",
    "GB18030": 'text/html; charset="GB18030"',
    "iso-8859-1 (a server default)": "text/html; charset=iso-8859-1",
    "big5 (wrong)": "text/html; charset=big5",
    "koi8-r (wrong)": "text/html; charset=koi8-r",
    "windows-1251 (wrong)": "text/html; charset=windows-1251",
    "utf-16 (wrong)": "text/html; charset=utf-16",
    "unknown name": "text/html; charset=x-user-defined-42",
}
BYTES = {"UTF-8": "utf-8", "GB18030": "gb18030"}


def page(meta: str = "", text: str = TEXT) -> str:
    return (f"<!DOCTYPE html><html><head>{meta}<title>董仚生会见_河北_长城网</title></head>"
            f"<body><h1>董仚生会见</h1><div class=\"text\"><p>{text}</p></div></body></html>")


def decode(body: bytes, content_type: str | None) -> str:
    """What the spider does with a response: the header's charset, then `decode_page`."""
    return decode_page(body, charset_from_content_type(content_type)).text


def assert_reads(body: bytes, content_type: str | None, want: str) -> None:
    text = decode(body, content_type)
    assert "\ufffd" not in text
    assert text == want


@pytest.mark.parametrize(("meta", "header", "written"), list(itertools.product(METAS, HEADERS, BYTES)))
def test_every_declaration_against_both_charsets(meta: str, header: str, written: str) -> None:
    want = page(METAS[meta])
    assert_reads(want.encode(BYTES[written]), HEADERS[header], want)


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                                            (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_a_bom_decides_whatever_is_declared(header: str, bom: bytes, codec: str) -> None:
    for meta in ("meta charset=gb2312", "no meta"):
        want = page(METAS[meta])
        assert_reads(bom + want.encode(codec), HEADERS[header], want)


def test_a_utf8_bom_on_gb18030_bytes_loses_to_the_bytes() -> None:
    want = page(METAS["http-equiv gb2312"])
    assert_reads(codecs.BOM_UTF8 + want.encode("gb18030"), None, want)


def test_a_utf8_page_whose_header_says_nothing() -> None:
    for meta in ("meta charset=utf-8", "http-equiv utf-8", "no meta"):
        want = page(METAS[meta])
        for header in ("no header", "text/html"):
            assert_reads(want.encode("utf-8"), HEADERS[header], want)


def test_a_meta_that_lies_loses_to_the_bytes() -> None:
    says_gb = page(METAS["http-equiv gb2312"])
    assert_reads(says_gb.encode("utf-8"), None, says_gb)  # meta gb2312, bytes UTF-8
    says_utf8 = page(METAS["meta charset=utf-8"])
    assert_reads(says_utf8.encode("gb18030"), None, says_utf8)  # meta utf-8, bytes GB18030


def test_header_and_meta_disagree_and_the_bytes_decide() -> None:
    for meta, header in (("meta charset=utf-8", "gbk"), ("http-equiv gb2312", "utf-8"),
                         ("meta charset=big5 (wrong)", "koi8-r (wrong)")):
        want = page(METAS[meta])
        for written in BYTES.values():
            assert_reads(want.encode(written), HEADERS[header], want)


def test_a_utf16_header_on_gb18030_bytes_of_either_length() -> None:
    """Even-length GB18030 bytes are valid UTF-16 more often than not: the header must not win."""
    for text in (TEXT, TEXT + "。", TEXT + "a"):
        want = page(METAS["http-equiv gb2312"], text)
        assert_reads(want.encode("gb18030"), HEADERS["utf-16 (wrong)"], want)


def test_gb_text_beyond_gbk_declared_as_gbk() -> None:
    want = page(METAS["meta charset=gb2312"])
    with pytest.raises(UnicodeEncodeError):
        want.encode("gbk")  # 䶮 needs GB18030's four-byte form
    assert_reads(want.encode("gb18030"), HEADERS["gbk"], want)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_declared_in_the_header_without_a_bom(codec: str) -> None:
    want = page()
    for declared in (codec, codec.removesuffix("-le").removesuffix("-be")):
        assert_reads(want.encode(codec), f"text/html; charset={declared}", want)


def test_one_host_serving_both_charsets_reads_each_page_in_its_own() -> None:
    """The decision is per page: pages of one host in turn, GB18030 and UTF-8, no header charset."""
    old, new = page(METAS["http-equiv gb2312"]), page(METAS["meta charset=utf-8"], "河北要闻：雄安新区建设。")
    for _ in range(2):
        assert_reads(old.encode("gb18030"), "text/html", old)
        assert_reads(new.encode("utf-8"), "text/html", new)


def test_undecodable_bytes_are_replaced_in_the_charset_that_fits_best() -> None:
    """Bytes no candidate reads whole: U+FFFD where they are bad, the rest read in its charset,
    whatever the header claims."""
    want = page(METAS["http-equiv gb2312"])
    text = decode(want.encode("gb18030") + b"\xff", HEADERS["utf-8"])
    assert text == want + "\ufffd"


# ---------------------------------------------------------------- the 2026 replica, page by page


def scrapy_extract(path: Path, url: str, charset: str | None) -> dict:
    """`scrapy extract PATH --url URL [--charset C]` as an operator runs it on a saved page."""
    command = [sys.executable, "-m", "scrapy", "extract", str(path), "--url", url]
    if charset is not None:
        command += ["--charset", charset]
    done = subprocess.run(command, cwd=REPO, capture_output=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    line = done.stdout.decode("utf-8")
    assert "\ufffd" not in line, url
    return json.loads(line)


@pytest.mark.integration
def test_2026_replica_pages_of_both_charsets_read_as_their_truth(tmp_path: Path) -> None:
    """UTF-8 articles and old GB18030 pages that still serve, each with and without a charset in
    Content-Type: fetched through the replica, saved with the header's charset, read by
    `scrapy extract`, every text field equal to the truth."""
    site = build_site(era=ERA_2026)
    moved = {c.article_id for s in site.stories for c in s.copies if c.layout == PORTAL_2026}
    candidates = [c for s in site.stories for c in s.copies
                  if c.fate == SERVED and len(c.pages) == 1 and c.article_id in moved]
    read: dict[tuple[str, bool], str] = {}  # (charset of the bytes, header names one) -> a URL read
    with ReplicaServer("--era", ERA_2026) as server:
        replica = Replica(server.address, site)
        for copy in candidates:
            written = "utf-8" if copy.layout == PORTAL_2026 else "gb18030"
            url = copy.page_urls[0]
            status, headers, body = replica.fetch(url)
            charset = charset_from_content_type(headers.get("Content-Type"))
            if (written, charset is not None) in read:
                continue
            assert status == 200, url
            body.decode(written)  # the bytes are in the charset this case is about
            saved = tmp_path / f"page-{len(read)}.shtml"
            saved.write_bytes(body)
            record = scrapy_extract(saved, url, charset)
            truth = copy_truth(copy)
            for name in ("title", "subtitles", "body", "captions", "source", "authors", "editor"):
                assert record[name] == truth[name], (url, name)
            read[written, charset is not None] = url
            if len(read) == 4:
                break
    assert set(read) == set(itertools.product(BYTES.values(), (True, False))), read
