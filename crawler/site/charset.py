"""Bytes to text for 长城网 pages: GB2312 as declared, read as GB18030.

Pages declare gb2312 but contain characters outside it (董仚生, 镕, 堃, 喆), so every GB name is
read as GB18030. Bytes that cannot be decoded are replaced by U+FFFD, never dropped: the spider
counts them and rejects the text.

A page may also hold text in two charsets (a GB template around a body pasted as UTF-8). Read as
GB18030, the UTF-8 half would be mojibake that no check notices (GB18030 decodes almost any
bytes); so a page that is not UTF-8 as a whole but holds runs of UTF-8 Chinese is read run by run,
each in its own charset, and `decode_page` says so (the spider counts and logs it). A run of GB
text is practically never valid UTF-8 that decodes to Chinese: none of the 126,000 runs of the
replica's pages is.
"""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

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


# A run of non-ASCII bytes, and what a run of UTF-8 Chinese decodes to: at least one CJK
# character, the rest punctuation, symbols or Latin letters of the kinds Chinese text holds.
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")
_UTF8_CJK = re.compile(r"[\u00a0-\u00ff\u2000-\u206f\u2100-\u27bf\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]*"
                       r"[\u3400-\u9fff][\u00a0-\u00ff\u2000-\u206f\u2100-\u27bf\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]*")


class Decoded(NamedTuple):
    text: str
    problem: str | None  # what was odd about the bytes (two charsets in one page), or None


def _utf8_runs(body: bytes) -> list[tuple[int, int, str]]:
    """(start, end, text) of every run of non-ASCII bytes that is UTF-8 Chinese."""
    runs = []
    for match in _NON_ASCII_RUN.finditer(body):
        text = _strict(match.group(), "utf-8")
        if text is not None and _UTF8_CJK.fullmatch(text):
            runs.append((match.start(), match.end(), text))
    return runs


def decode_html(body: bytes, header_charset: str | None = None) -> str:
    """The page's text (`decode_page` without the problem)."""
    return decode_page(body, header_charset).text


def decode_page(body: bytes, header_charset: str | None = None) -> Decoded:
    """The page's text: charset from the HTTP header, else the `<meta>` tag, else GB18030.

    Bytes that are valid UTF-8 are read as UTF-8 whatever the page declares (GB text is never
    valid UTF-8 in practice). A page that holds runs of UTF-8 Chinese among bytes of another
    charset is read run by run (and the problem said). Otherwise the declared charset, then
    GB18030, must fit the bytes exactly; when neither does, the declared charset is used and
    undecodable bytes become U+FFFD.
    """
    header = normalise_encoding(header_charset)
    if header is not None and codecs.lookup(header).name in _SERVER_DEFAULTS:
        header = None
    declared = header or normalise_encoding(html_body_declared_encoding(body)) or DEFAULT_ENCODING
    if body.startswith(codecs.BOM_UTF8):
        return Decoded(body[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), None)
    if body.isascii():
        return Decoded(body.decode("ascii"), None)
    text = _strict(body, "utf-8")
    if text is not None:
        return Decoded(text, None)
    runs = _utf8_runs(body)
    if runs:
        return _mixed(body, runs, declared)
    for encoding in (declared, DEFAULT_ENCODING):
        text = _strict(body, encoding)
        if text is not None:
            return Decoded(text, None)
    return Decoded(body.decode(declared, errors="replace"), None)


def _mixed(body: bytes, runs: list[tuple[int, int, str]], declared: str) -> Decoded:
    """The runs of UTF-8 Chinese as UTF-8, the bytes between them in the declared charset."""
    parts, at = [], 0
    for start, end, text in runs:
        parts += [body[at:start].decode(declared, errors="replace"), text]
        at = end
    parts.append(body[at:].decode(declared, errors="replace"))
    utf8 = sum(end - start for start, end, _ in runs)
    return Decoded("".join(parts), f"two charsets in one page: {utf8} of {len(body)} bytes are UTF-8, "
                                   f"the rest {declared}; each part read in its own")


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset a Content-Type header value names, as written (`text/html; charset=gb2312`)."""
    match = _CHARSET_PARAM.search(content_type or "")
    return match.group(1) if match else None
