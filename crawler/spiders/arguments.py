"""The mode arguments of the channel spiders, `-a since=...` and `-a full=...`, read in one place:
by the spiders, by `scrapy crawl` before it starts anything (a bad one is a usage error,
crawler/commands/crawl.py), and by the crawl plan (`mode = "since=..."`, crawler/ops/plan.py).

`since` is a day (`2024-03-01`) or a window of days counted back from the day the crawl starts
(`7d`, the last 7 days); `full` is `1` (or `true`, `yes`) or `0` (or `false`, `no`, empty).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from crawler.output import Mode

SINCE_FORMS = "YYYY-MM-DD (a day) or Nd (the last N days)"
_WINDOW = re.compile(r"^(\d+)d$")
_YES, _NO = frozenset({"1", "true", "yes"}), frozenset({"", "0", "false", "no"})


def parse_since(value: str) -> date | int:
    """A `since` value: the day itself, or the number of days of a window (`7d`: 7)."""
    window = _WINDOW.match(value.strip())
    if window:
        return int(window.group(1))
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"since={value!r}: want {SINCE_FORMS}") from None


def since_day(value: str, today: date) -> date:
    """The first day a `since` value asks for, a window counted back from `today`."""
    found = parse_since(value)
    return found if isinstance(found, date) else today - timedelta(days=found)


def crawl_mode(since: str | None, full: str | None, today: date) -> tuple[Mode, date | None]:
    """The mode a run's arguments ask for, and its first day for `since`; ValueError says what is wrong."""
    if full is not None and full.strip().lower() not in _YES | _NO:
        raise ValueError(f"full={full!r}: want 1 (a full crawl) or 0")
    is_full = full is not None and full.strip().lower() in _YES
    if is_full and since:
        raise ValueError("give since=... or full=1, not both")
    if is_full:
        return Mode.FULL, None
    if since:
        return Mode.SINCE, since_day(since, today)
    return Mode.INCREMENTAL, None
