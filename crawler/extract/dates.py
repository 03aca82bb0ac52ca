"""Dates and times as the pages print them (`2018-07-17 10:20:26`, `2017年4月27日 13:11`)."""

from __future__ import annotations

import re
from datetime import datetime

from crawler.extract.text import clean_text

_DATETIME = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*"
    r"(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?(?!\d)"
)
# A day printed without a time (`2026-09-10`, `2026年09月10日`): a date, not a timestamp.
_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?!\d)")


def _iso(year: str, month: str, day: str, hour: str, minute: str, second: str) -> str | None:
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    return moment.isoformat() + "+08:00" if 1995 <= moment.year <= 2100 else None


def parse_timestamp(text: str) -> str | None:
    """The first valid date and time in `text` as ISO 8601 in China time, e.g. 2018-07-17T10:20:26+08:00."""
    for match in _DATETIME.finditer(text):
        iso = _iso(*match.groups(default="0"))
        if iso is not None:
            return iso
    return None


def dated_spans(text: str) -> list[tuple[int, int, str | None]]:
    """Where `text` prints a date, in order: (start, end, ISO timestamp), the timestamp None for
    a day printed without a time (`2026-09-10`), which says no time."""
    spans: list[tuple[int, int, str | None]] = []
    for match in _DATETIME.finditer(text):
        iso = _iso(*match.groups(default="0"))
        if iso is not None:
            spans.append((match.start(), match.end(), iso))
    for match in _DATE.finditer(text):
        year, month, day = match.groups()
        inside = any(start <= match.start() < end for start, end, _ in spans)
        if not inside and _iso(year, month, day, "0", "0", "0") is not None:
            spans.append((match.start(), match.end(), None))
    return sorted(spans)


def strip_timestamps(text: str) -> str:
    return clean_text(_DATETIME.sub(" ", text))


def starts_with_timestamp(text: str) -> bool:
    match = _DATETIME.search(text)
    return match is not None and not text[: match.start()].strip()
