"""Helpers every layout parser shares: text cleaning, dates, Chinese bylines, captions, lead lines.

A parser is mostly declarations; what it reads goes through these functions, so a rule learned from
one page (a new photo-credit form, a new breadcrumb label) is taught to every layout at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, TypeAlias
from urllib.parse import urljoin

from lxml import etree

Element: TypeAlias = etree._Element


# ---------------------------------------------------------------- text

# Control characters a page decoded from garbage may hold: they become spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(text: str) -> str:
    """Trim, and collapse every run of whitespace (U+3000 and nbsp included) to one space."""
    text = " ".join(text.split())  # str.split() knows Unicode whitespace, and is fast
    if not text.isprintable():
        text = " ".join(_CONTROL.sub(" ", text).split())
    return text


# Tags after which a browser starts a new line: they end one text line of a paragraph walk.
_BLOCK_TAGS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tbody", "thead", "tr", "td", "th", "section", "article", "blockquote", "center", "figure",
    "figcaption", "pre", "hr", "header", "footer", "form",
})  # fmt: skip
_MEDIA_TAGS = frozenset({"video", "audio", "iframe", "embed", "object"})
_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "select", "button", "textarea", "head", "title"}
)
TEXT, IMAGE, MEDIA = "text", "image", "media"
_BARE_FILE_NAME = re.compile(r"^\w[\w.-]*$")


class Unit(NamedTuple):
    """One piece of a flattened element: a line of text, an image or a media player."""

    kind: str  # text | image | media
    text: str
    src: str


_unit = tuple.__new__  # builds a Unit without the Python-level __new__: a body has dozens


def element_units(element: Element) -> list[Unit]:
    """The element flattened to lines of text (split at block tags and <br>), images and media.

    Tag names are lower case: the tree comes from lxml's HTML parser.
    """
    units: list[Unit] = []
    buffer: list[str] = []

    def end_line() -> None:
        text = clean_text("".join(buffer))
        buffer.clear()
        if text:
            units.append(_unit(Unit, (TEXT, text, "")))

    def walk(parent: Element) -> None:
        for child in parent:
            tag = child.tag
            if type(tag) is str:
                if tag in _BLOCK_TAGS:
                    if buffer:
                        end_line()
                    if len(child):
                        if child.text:
                            buffer.append(child.text)
                        walk(child)
                        if buffer:
                            end_line()
                    elif child.text:  # a leaf paragraph, the common case
                        text = clean_text(child.text)
                        if text:
                            units.append(_unit(Unit, (TEXT, text, "")))
                elif tag == "br":
                    if buffer:
                        end_line()
                elif tag == "img":
                    src = (child.get("src") or child.get("data-src") or "").strip()
                    if src:
                        if buffer:
                            end_line()
                        units.append(_unit(Unit, (IMAGE, "", src)))
                elif tag in _MEDIA_TAGS:
                    if buffer:
                        end_line()
                    units.append(_unit(Unit, (MEDIA, "", (child.get("src") or "").strip())))
                elif tag not in _SKIPPED_TAGS:
                    if child.text:
                        buffer.append(child.text)
                    if len(child):
                        walk(child)
            tail = child.tail  # comments and processing instructions only contribute their tail
            if tail and (buffer or not tail.isspace()):
                buffer.append(tail)

    if type(element.tag) is not str or element.tag in _SKIPPED_TAGS:
        return units
    if element.text:
        buffer.append(element.text)
    walk(element)
    if buffer:
        end_line()
    return units


def absolute_url(page_url: str, href: str) -> str:
    """`href` resolved against the page URL. The forms these pages use (absolute, root-relative,
    a bare file name) are joined directly: urljoin costs more than the rest of a link's handling."""
    if href.startswith(("http://", "https://")):
        return href
    if "?" not in page_url and "#" not in page_url and not href.startswith("//"):
        scheme_end = page_url.find("://")
        if href.startswith("/") and scheme_end > 0:
            host_end = page_url.find("/", scheme_end + 3)
            return (page_url if host_end < 0 else page_url[:host_end]) + href
        if _BARE_FILE_NAME.match(href) and page_url.count("/") > 2:
            return page_url[: page_url.rfind("/") + 1] + href
    try:
        return urljoin(page_url, href)
    except ValueError:  # a malformed link (`http://[broken/x.jpg`) is kept as written
        return href


def text_content(element: Element) -> str:
    """All text inside the element, as one string (no line structure)."""
    return "".join(element.itertext())


def element_lines(element: Element) -> list[str]:
    return [u.text for u in element_units(element) if u.kind == TEXT]


def element_text(element: Element) -> str:
    """The element's visible text, lines separated by one space."""
    return " ".join(element_lines(element))


# ---------------------------------------------------------------- dates

_DATETIME = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*"
    r"(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?(?!\d)"
)


def parse_timestamp(text: str) -> str | None:
    """The first valid date and time in `text` as ISO 8601 in China time, e.g. 2018-07-17T10:20:26+08:00."""
    for match in _DATETIME.finditer(text):
        year, month, day, hour, minute, second = match.groups(default="0")
        try:
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        except ValueError:
            continue
        if 1995 <= moment.year <= 2100:
            return moment.isoformat() + "+08:00"
    return None


def strip_timestamps(text: str) -> str:
    return clean_text(_DATETIME.sub(" ", text))


def starts_with_timestamp(text: str) -> bool:
    match = _DATETIME.search(text)
    return match is not None and not text[: match.start()].strip()


# ---------------------------------------------------------------- bylines

_SOURCE_LABEL = re.compile(r"来\s*源\s*[:：]\s*")
_AUTHOR_LABEL = re.compile(r"(?:作\s*者|记\s*者)\s*[:：]\s*")
_NAME_SEPARATORS = re.compile(r"[\s、，,;；/|]+")
_SOURCE_END = re.compile(r"\s")


@dataclass(frozen=True)
class Byline:
    source: str | None
    authors: list[str] = field(default_factory=list)


def split_names(text: str) -> list[str]:
    """Names separated by spaces, 、 or commas: `薛惠娟 任学光、郭东` -> three names."""
    return [name for name in _NAME_SEPARATORS.split(clean_text(text)) if name]


# The has_*_label tests look for one character of the label before running the regex: most
# texts they see have none, and `in` is much cheaper than a search.
def has_source_label(text: str) -> bool:
    return "源" in text and _SOURCE_LABEL.search(text) is not None


def parse_source_line(text: str, source: str | None = None) -> Byline:
    """Source and authors from a line such as `来源: 河北日报  作者:四建磊 宋平`.

    Authors may be labelled (`作者:`) or follow the source bare (`来源: 河北日报客户端  薛惠娟 任学光`);
    dates on the line are ignored. `source` is the source as the page marks it (the CMS block), when
    known: it may contain spaces, which the text alone cannot tell.
    """
    text = strip_timestamps(text)
    label = _SOURCE_LABEL.search(text)
    if label is None and source is None:
        return Byline(None, parse_author_line(text))
    rest = text[label.end() :] if label else text
    if source is not None:
        source = clean_text(source)
        if source and rest.startswith(source):
            rest = rest[len(source) :]
    elif not _AUTHOR_LABEL.match(rest):
        end = _SOURCE_END.search(rest)
        source, rest = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    author_label = _AUTHOR_LABEL.search(rest)
    names = rest[author_label.end() :] if author_label else rest
    return Byline(source or None, split_names(names))


def parse_author_line(text: str) -> list[str]:
    """Authors from a separate line: `作者：天虎 延丽`."""
    label = _AUTHOR_LABEL.search(text)
    return split_names(strip_timestamps(text[label.end() :])) if label else []


_EDITOR = re.compile(r"责\s*任\s*编\s*辑\s*[:：]\s*([^\s\]）)】]*)")
_KEYWORDS = re.compile(r"关\s*键\s*[词字]\s*[:：]\s*(.*?)\s*(?:责\s*任\s*编\s*辑|$)")
_KEYWORD_SEPARATORS = re.compile(r"[\s,，、;；|]+")


def parse_editor(text: str) -> str | None:
    """`责任编辑：陈美冉` -> 陈美冉."""
    match = _EDITOR.search(text)
    return (match.group(1) or None) if match else None


def parse_keywords(text: str) -> list[str]:
    """`关键词：许勤，对接，交流` -> three keywords; `关键词：` (empty) -> []."""
    match = _KEYWORDS.search(clean_text(text))
    if match is None:
        return []
    return [k for k in _KEYWORD_SEPARATORS.split(match.group(1)) if k]


def has_keywords_label(text: str) -> bool:
    return "键" in text and _KEYWORDS.search(text) is not None


def has_editor_label(text: str) -> bool:
    return "辑" in text and _EDITOR.search(text) is not None


# ---------------------------------------------------------------- breadcrumbs

_POSITION_LABEL = re.compile(r"(?:您)?当前(?:的)?位置\s*[:：]\s*")
_CRUMB_SEPARATOR = re.compile(r"\s*(?:[>»›＞]+|&gt;)\s*")


def has_position_label(text: str) -> bool:
    return "位" in text and _POSITION_LABEL.search(text) is not None


def parse_breadcrumbs(text: str) -> list[str]:
    """`您当前的位置 : 长城网 >> 河北新闻频道 >> 专题库` -> the crumbs, labels and separators dropped."""
    text = clean_text(text)
    labels = list(_POSITION_LABEL.finditer(text))
    if labels:  # site navigation may precede the label: the crumbs are what follows the last one
        text = text[labels[-1].end() :]
    return [crumb for crumb in (c.strip() for c in _CRUMB_SEPARATOR.split(text)) if crumb]


# ---------------------------------------------------------------- body: captions, leads, placeholders

_PHOTO_CREDIT = re.compile(
    r"(?:摄(?:影报道)?|[（(]\s*资料图片?\s*[)）]|(?:新华社|中新社)(?:记者\s*\S{2,5}\s*)?发|供图)\s*$"
)
_CREDIT_MAX_CHARS = 24  # the credit is at the end: searching the tail only keeps this cheap
_PLACEHOLDER_CHARS = ".。…·．"
_PLACEHOLDER = re.compile(f"^[{_PLACEHOLDER_CHARS}\\s]+$")
_SENTENCE_END = "。！？；：!?;:…"
_CLOSING_MARKS = "”’\"'）)】」』"
_LEAD_BYLINE = re.compile(
    r"^[\u4e00-\u9fff·]{0,12}(?:记者|通讯员)(?:\s*[\u4e00-\u9fff·]{2,5}(?:\s+|$)){1,5}$"
)
LEAD_MAX_CHARS = 60
LEAD_MAX_LINES = 6
_ECHO_MIN_SHARE = 0.6
_ECHO_MIN_CHARS = 6


def has_photo_credit(text: str) -> bool:
    """Ends like a photo caption: `记者 庞晓玮 摄`, `河北日报客户端记者孟宇光摄`, `（资料图）`, `新华社发`."""
    return _PHOTO_CREDIT.search(text[-_CREDIT_MAX_CHARS:]) is not None


def is_placeholder(text: str) -> bool:
    """A gallery placeholder: a paragraph that is only `...` or `……`."""
    return text[0] in _PLACEHOLDER_CHARS and _PLACEHOLDER.match(text) is not None


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip(_CLOSING_MARKS)
    return bool(stripped) and stripped[-1] in _SENTENCE_END


def is_headline_like(text: str) -> bool:
    """Short, not a finished sentence, not a caption: how a print headline line looks."""
    return len(text) <= LEAD_MAX_CHARS and not ends_sentence(text) and not has_photo_credit(text)


def is_byline_lead(text: str) -> bool:
    """A reporter byline opening the body: `长城新媒体记者 赵永刚 李相伯`."""
    return _LEAD_BYLINE.match(text) is not None


def echoes_title(line: str, title: str) -> bool:
    """The line repeats the title, give or take a few words (`河北省` printed as `我省`)."""
    if len(line) < _ECHO_MIN_CHARS or not title:
        return False
    pool = list(title)
    shared = 0
    for char in line:
        if char in pool:
            pool.remove(char)
            shared += 1
    return shared / len(line) >= _ECHO_MIN_SHARE


def lead_lines(lines: list[str], title: str) -> int:
    """How many of the opening lines are the print headline block (0 if they are not one).

    The block is a run of headline-like lines at the top of the body; it counts only if one of its
    lines echoes the title or is a reporter byline, so a short plain opening is left as text.
    """
    run = 0
    while run < len(lines) and run < LEAD_MAX_LINES and is_headline_like(lines[run]):
        run += 1
    block = lines[:run]
    if any(echoes_title(line, title) or is_byline_lead(line) for line in block):
        return run
    return 0


@dataclass
class Body:
    subtitles: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    images: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def segment_body(units: list[Unit], title: str, page_url: str, first_page: bool = True) -> Body:
    """Sort a flattened body into lead lines, text paragraphs, captions and images.

    A caption is a line with a photo credit right after an image; several credit lines right
    after several images are a photo group, one caption per image (the last images, when there
    are fewer captions than images). Placeholders and empty lines are dropped. Lead lines are
    looked for on the first page only: a later page may open with a short sub-heading.
    """
    units = [u for u in units if u.kind != TEXT or not is_placeholder(u.text)]
    body = Body()
    start = 0
    if first_page:
        opening: list[str] = []
        for kind, text, _ in units[:LEAD_MAX_LINES]:
            if kind != TEXT:
                break
            opening.append(text)
        start = lead_lines(opening, title)
        body.subtitles = opening[:start]
    count = len(units)
    i = start
    while i < count:
        kind, text, src = units[i]
        i += 1
        if kind == TEXT:
            body.paragraphs.append(text)
        elif kind == IMAGE:
            images: list[dict[str, str | None]] = [
                {"url": absolute_url(page_url, src), "caption": None}
            ]
            while i < count and units[i].kind == IMAGE:
                images.append({"url": absolute_url(page_url, units[i].src), "caption": None})
                i += 1
            captions: list[str] = []
            while i < count and units[i].kind == TEXT and has_photo_credit(units[i].text):
                captions.append(units[i].text)
                i += 1
            captioned = images[-len(captions) :] if 0 < len(captions) <= len(images) else images
            for image, caption in zip(captioned, captions):
                image["caption"] = caption
            body.images.extend(images)
            body.captions.extend(captions)
    return body
