"""The headline of a page of any layout, chosen among candidates.

The candidates are the page's headings (`h1` to `h3`) and the elements its markup calls a title
(`div.h-title`, `span.Title`), in page order. The `<title>` and `og:title` say which one is the
headline: the one they open with (`<title>` is the headline plus the site's suffix, `_中山网`,
`--文化--人民网`). So an `h1` that is the site's logo or the channel's name (`山西省人民政府网站`,
`新闻中心`) is passed over. Without agreement the first `h1` is the headline; without an `h1`,
the `<title>` minus its suffix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.extract.text import Element, element_lines

_HEADINGS = frozenset({"h1", "h2", "h3"})
_MIN_CHARS, _MAX_CHARS = 4, 120
# What separates the headline from the site's name in a `<title>`.
_SUFFIX_SEPARATOR = re.compile(r"\s*(?:_|\||｜|--|-|—|–)\s*")
_OPENING_END = re.compile(r"\s|\s*(?:_|\||｜|--|-|—|–)")
_SUFFIX_MAX_CHARS = 12  # `新浪科技`, `澎湃新闻-The Paper`'s parts: a site's or channel's name


@dataclass(frozen=True)
class Headline:
    text: str
    element: Element | None  # None when the headline comes from the <title>


def heading_text(element: Element) -> str:
    """A heading's text, its lines (`<br>`) joined without a space, as the portal's titles."""
    return "".join(element_lines(element))


_TITLE_MARKED = ("div", "span", "p", "strong", "td")


def candidates(root: Element) -> list[tuple[Element, str]]:
    """The headings and title-marked elements, in page order."""
    found: list[tuple[Element, str]] = []
    body = root.find("body")
    for element in (body if body is not None else root).iter(*_HEADINGS, *_TITLE_MARKED):
        if element.tag not in _HEADINGS:
            marks = (element.get("class") or "") + (element.get("id") or "")
            if "itle" not in marks and "ITLE" not in marks:
                continue
        text = heading_text(element)
        if _MIN_CHARS <= len(text) <= _MAX_CHARS:
            found.append((element, text))
    return found


def opens(whole: str, start: str) -> bool:
    """`whole` is `start`, or `start` followed by a separator (the site's suffix)."""
    if not whole.startswith(start):
        return False
    rest = whole[len(start) :]
    return not rest or _OPENING_END.match(rest) is not None


def agrees(text: str, head: str, og_title: str) -> bool:
    return any(reference and opens(reference, text) for reference in (head, og_title))


def without_site_suffix(head: str) -> str:
    """`<title>` minus the trailing site and channel names: `T--文化--人民网` -> `T`."""
    parts = _SUFFIX_SEPARATOR.split(head)
    separators = _SUFFIX_SEPARATOR.findall(head)
    while len(parts) > 1 and len(parts[-1]) <= _SUFFIX_MAX_CHARS:
        parts.pop()
        separators.pop()
    return "".join(p + s for p, s in zip(parts, separators + [""])).strip()


def choose_headline(root: Element, head: str, og_title: str) -> Headline | None:
    found = candidates(root)
    agreeing = [(element, text) for element, text in found if agrees(text, head, og_title)]
    if agreeing:
        element, text = max(agreeing, key=lambda item: len(item[1]))  # the first of the longest
        return Headline(text, element)
    h1 = next(((e, t) for e, t in found if e.tag == "h1"), None)
    if h1 is not None:
        return Headline(h1[1], h1[0])
    title = without_site_suffix(head)
    return Headline(title, None) if title else None
