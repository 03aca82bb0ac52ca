"""Dates and times as the pages print them (`2018-07-17 10:20:26`, `2017年4月27日 13:11`)."""

from __future__ import annotations

import re
from datetime import datetime

from crawler.extract.text import clean_text

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
