"""The breadcrumb: `您当前的位置 : 长城网 >> 河北新闻频道`, `当前位置：`, ` > `."""

from __future__ import annotations

import re

from crawler.extract.text import clean_text

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
