"""The breadcrumb: `您当前的位置 : 长城网 >> 河北新闻频道`, `当前位置：`, ` > `; and the 2026
template's trail (`您现在的位置：`, a label or none, ` > ` `＞` `»` `/`)."""

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


# The 2026 template: more label forms, `/` among the separators; the label starts its text or
# follows a space, so `地理位置：` in a sentence is none.
_TRAIL_LABEL = re.compile(
    r"(?:^|(?<=\s))(?:您的?(?:当前|现在|所在)?的?|当前的?|现在的?|所在的?)?位置\s*[:：]\s*"
)
_TRAIL_SEPARATOR = re.compile(r"\s*(?:[>»›＞/]+|&gt;)\s*")
_CURRENT_PAGE = "正文"  # `首页 > 河北 > 正文`: the page itself, not a place that lists it


def has_trail_label(text: str) -> bool:
    return "位" in text and _TRAIL_LABEL.search(text) is not None


def parse_trail(text: str) -> list[str]:
    """`您现在的位置：首页 > 河北 > 正文` -> the crumbs: what follows the last label, split at the
    separators, without a closing `正文`."""
    text = clean_text(text)
    labels = list(_TRAIL_LABEL.finditer(text))
    if labels:
        text = text[labels[-1].end() :]
    crumbs = [crumb for crumb in (c.strip() for c in _TRAIL_SEPARATOR.split(text)) if crumb]
    return crumbs[:-1] if crumbs and crumbs[-1] == _CURRENT_PAGE else crumbs
