"""The labelled lines around an article: `来源：` with its authors, `作者：`, `责任编辑：`, `关键词：`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.extract.dates import strip_timestamps
from crawler.extract.text import clean_text

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
