"""Bytes to text for 长城网 pages, decided page by page from the BOM, the declarations and the bytes.

The portal writes two charsets (site notes §2): the GB family (pages declare gb2312 but contain
characters outside it: 董仚生, 镕, 堃, 喆, so every GB name is read as GB18030) and UTF-8 (the
hebccw.cn pages). Declarations lie both ways (a gb2312 meta on UTF-8 bytes, a utf-8 header on
GB18030 bytes), so they rank below the bytes: a BOM decides; else bytes that are valid UTF-8 are
UTF-8 (GB text is practically never valid UTF-8); else GB18030. A charset outside the portal's
two is believed only when GB18030 does not fit: GB bytes read as koi8-r always decode, as big5
often, into mojibake no check notices. UTF-16 and UTF-32 are read from their BOM, or as declared
when the bytes hold NULs (markup in them does; GB and UTF-8 markup never). Bytes that no candidate
decodes are replaced by U+FFFD, never dropped, in the charset that needs the fewest replacements:
the spider counts them and rejects the text. Nothing here knows the host: two pages of one host
may differ.

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

from w3lib.encoding import html_body_declared_encoding, read_bom

DEFAULT_ENCODING = "gb18030"
# The charsets the portal writes (site notes §2): only these are believed before the bytes.
_PORTAL_CHARSETS = ("utf-8", DEFAULT_ENCODING)
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
    """The page's text and what was odd about its bytes (module docstring: the order of evidence)."""
    bom, mark = read_bom(body)
    if bom is not None and mark is not None:
        body = body[len(mark) :]
        text = _strict(body, bom)
        if text is not None:
            return Decoded(text, None)
        if _is_wide(bom):
            return Decoded(body.decode(bom, errors="replace"), None)
        # a UTF-8 BOM that the bytes contradict: they decide, as for a page without one
    declared = _declared(body, header_charset)
    wide = next((name for name in declared if _is_wide(name)), None)
    if wide is not None and b"\x00" in body:
        wide = _byte_order(body, wide)
        return Decoded(_strict(body, wide) or body.decode(wide, errors="replace"), None)
    if body.isascii():
        return Decoded(body.decode("ascii"), None)
    text = _strict(body, "utf-8")
    if text is not None:
        return Decoded(text, None)
    runs = _utf8_runs(body)
    if runs:
        return _mixed(body, runs)
    others = [name for name in declared if name not in _PORTAL_CHARSETS and not _is_wide(name)]
    for encoding in (DEFAULT_ENCODING, *others):
        text = _strict(body, encoding)
        if text is not None:
            return Decoded(text, None)
    texts = [body.decode(encoding, errors="replace") for encoding in ("utf-8", DEFAULT_ENCODING, *others)]
    return Decoded(min(texts, key=lambda text: text.count("\ufffd")), None)


def _declared(body: bytes, header_charset: str | None) -> list[str]:
    """What the HTTP header, then the `<meta>` tag, declare (codec names; a server default and
    repeats left out)."""
    names = []
    header = normalise_encoding(header_charset)
    if header is not None and codecs.lookup(header).name not in _SERVER_DEFAULTS:
        names.append(header)
    meta = normalise_encoding(html_body_declared_encoding(body))
    if meta is not None and meta not in names:
        names.append(meta)
    return names


def _is_wide(encoding: str) -> bool:
    """UTF-16 or UTF-32: a charset in which ASCII markup is not ASCII bytes."""
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def _byte_order(body: bytes, declared: str) -> str:
    """UTF-16 or UTF-32 as declared, in the byte order the bytes show (without a BOM, a declared
    order can be wrong and a bare `utf-16` names none): in little-endian, the last byte of each
    unit of ASCII markup is the NUL."""
    width = 4 if codecs.lookup(declared).name.startswith("utf-32") else 2
    little = body[width - 1 :: width].count(0) >= body[::width].count(0)
    return f"utf-{width * 8}-{'le' if little else 'be'}"


def _mixed(body: bytes, runs: list[tuple[int, int, str]]) -> Decoded:
    """The runs of UTF-8 Chinese as UTF-8, the bytes between them as GB18030."""
    parts, at = [], 0
    for start, end, text in runs:
        parts += [body[at:start].decode(DEFAULT_ENCODING, errors="replace"), text]
        at = end
    parts.append(body[at:].decode(DEFAULT_ENCODING, errors="replace"))
    utf8 = sum(end - start for start, end, _ in runs)
    return Decoded("".join(parts), f"two charsets in one page: {utf8} of {len(body)} bytes are UTF-8, "
                                   f"the rest {DEFAULT_ENCODING}; each part read in its own")


def charset_from_content_type(content_type: str | None) -> str | None:
    """The charset a Content-Type header value names, as written (`text/html; charset=gb2312`)."""
    match = _CHARSET_PARAM.search(content_type or "")
    return match.group(1) if match else None
