"""Bytes to text for 长城网 pages: GB2312 as declared, read as GB18030.

Pages declare gb2312 but contain characters outside it (董仚生, 镕, 堃, 喆), so every GB name is
read as GB18030. Bytes that cannot be decoded are replaced by U+FFFD, never dropped: the spider
counts them and rejects the text.
"""

from __future__ import annotations

import codecs
import re

from w3lib.encoding import html_body_declared_encoding

DEFAULT_ENCODING = "gb18030"
_GB_FAMILY = frozenset(
    {
        "gb2312",
        "gbk",
        "gb18030",
        "gb_2312-80",
        "gb2312-80",
        "cp936",
        "euc-cn",
        "euc_cn",
        "x-gbk",
        "csgb2312",
        "chinese",
    }
)
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.IGNORECASE)
# A header naming a Western single-byte charset is a server default, not the page's charset:
# such a decode never fails, so it would turn GB text into unnoticed mojibake.
_SERVER_DEFAULTS = frozenset({"latin_1", "iso8859-1", "cp1252", "ascii"})


def normalise_encoding(name: str | None) -> str | None:
    """A Python codec name for a declared charset; GB names and unknown names give gb18030."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    if name in _GB_FAMILY:
        return DEFAULT_ENCODING
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return DEFAULT_ENCODING
    return DEFAULT_ENCODING if codec in _GB_FAMILY else codec


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(body: bytes, header_charset: str | None = None) -> str:
    """The page's text: charset from the HTTP header, else the `<meta>` tag, else GB18030.

    Bytes that are valid UTF-8 are read as UTF-8 whatever the page declares (GB text is never
    valid UTF-8 in practice). Otherwise the declared charset, then GB18030, must fit the bytes
    exactly; when neither does, the declared charset is used and undecodable bytes become U+FFFD.
    """
    header = normalise_encoding(header_charset)
    if header is not None and codecs.lookup(header).name in _SERVER_DEFAULTS:
        header = None
    declared = header or normalise_encoding(html_body_declared_encoding(body)) or DEFAULT_ENCODING
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if not body.isascii():
        text = _strict(body, "utf-8")
        if text is not None:
            return text
    for encoding in (declared, DEFAULT_ENCODING):
        text = _strict(body, encoding)
        if text is not None:
            return text
    return body.decode(declared, errors="replace")


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset a Content-Type header value names, as written (`text/html; charset=gb2312`)."""
    match = _CHARSET_PARAM.search(content_type or "")
    return match.group(1) if match else None
