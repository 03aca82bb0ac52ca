"""The article body of a page of any layout, found by the text and link density of its blocks.

As readability does, every paragraph is scored on its text (its length and its sentence marks, so
a line of a footer or a menu scores little), and its score is credited to its parent and, half,
to its grandparent; the container with the best score, discounted by its share of link text, is
the body. A paragraph is the text of a block up to its next block element: a `<p>`, a `<div>`
holding text, or a run of `<br>` lines, which also credits the block that holds it. Copyright
and licence lines score nothing, so a one-paragraph article still beats the footer.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict

from crawler.extract.text import Element, text_content

_BLOCK_TAGS = frozenset({
    "p", "div", "td", "th", "tr", "tbody", "table", "article", "section", "main", "li", "ul", "ol",
    "dl", "dt", "dd", "blockquote", "center", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "footer", "form", "figure", "figcaption", "pre", "body", "nav", "aside",
})  # fmt: skip
_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "select", "button", "textarea", "head", "title", "iframe"}
)
_SENTENCE_MARKS = "，。！？；"
_MIN_PARAGRAPH_CHARS = 10
_FURNITURE_TEXT = re.compile(
    r"版权所有|copyright|all rights reserved|icp备|icp证|备案号|公网安备|许可证|违法和不良信息",
    re.IGNORECASE,
)
_UNMARKED_MIN_CHARS = 50
# A labelled line around the body (`关键词：`, `责任编辑：`, `来源：`) is no paragraph of it.
_CREDIT = re.compile(
    r"^[（(【\[]?(?:关键[词字]|标签|责任编辑|责编|编辑|来源|作者|记者|原标题)\s*[:：]"
)
_HOLDS_LINES_MIN_CHARS = 200
_CANDIDATES = 5
_NEAR = 60  # elements after the headline: the info line and share bar between it and the body
_AFTER_SCALE, _BEFORE_SCALE = (
    400,
    100,
)  # elements after (before) the headline halving a score  # only the best few by raw score are weighed by their link density
_LINK_HEAVY = 0.5  # a block inside the body with this share of link text is navigation
# A block inside the body that opens like this is a teaser for other stories.
_TEASER_OPENING = re.compile(
    r"^\s*(?:点击进入|相关阅读|延伸阅读|推荐阅读|相关新闻|相关链接|相关报道|更多精彩)"
)
_FURNITURE_CLASS = re.compile(
    r"share|pager|pagination|page-?nav|related|recommend|qrcode|comment|hot-?news", re.IGNORECASE
)


def paragraph_score(text: str) -> float:
    """1 for a paragraph, 1 per sentence mark, up to 3 for its length; 0 for short or legal
    text, and for a short line without a sentence mark (a link, a name, an address)."""
    if len(text) < _MIN_PARAGRAPH_CHARS or _FURNITURE_TEXT.search(text) or _CREDIT.match(text):
        return 0.0
    marks = sum(text.count(mark) for mark in _SENTENCE_MARKS)
    if not marks and len(text) < _UNMARKED_MIN_CHARS:
        return 0.0
    return 1 + marks + min(len(text) / 100, 3)


def _inline_text(element: Element, pieces: list[str], links: list[int], in_link: bool) -> int:
    """Collect the element's text up to its block children; count <br> and link characters."""
    breaks = 0
    if element.text:
        pieces.append(element.text)
        if in_link:
            links[0] += len(element.text.strip())
    for child in element:
        tag = child.tag
        if type(tag) is str and tag not in _SKIPPED_TAGS and tag not in _BLOCK_TAGS:
            if tag == "br":
                breaks += 1
            else:
                breaks += _inline_text(child, pieces, links, in_link or tag == "a")
        if child.tail:
            pieces.append(child.tail)
            if in_link:
                links[0] += len(child.tail.strip())
    return breaks


def block_scores(root: Element) -> dict[Element, float]:
    scores: dict[Element, float] = defaultdict(float)
    for element in root.iter():
        tag = element.tag
        if type(tag) is not str or tag not in _BLOCK_TAGS:
            continue
        pieces: list[str] = []
        links = [0]
        breaks = _inline_text(element, pieces, links, False)
        text = "".join("".join(pieces).split())
        if len(text) < _MIN_PARAGRAPH_CHARS:
            continue
        score = paragraph_score(text) * (1 - min(1.0, links[0] / len(text)))
        if not score:
            continue
        parent = element.getparent()
        share = 1.0
        if tag != "p":
            scores[element] += score  # a block holding text may be the body itself
            if breaks >= 2 or len(text) >= _HOLDS_LINES_MIN_CHARS:
                share = 0.5  # it holds lines or a long text: it is the body, not a paragraph
        if parent is not None:
            scores[parent] += score * share  # ... or one paragraph of the body around it
            grandparent = parent.getparent()
            if grandparent is not None:
                scores[grandparent] += score * share / 2
    return scores


def _distances(
    root: Element, headline: Element | None, candidates: list[Element]
) -> dict[Element, float]:
    """A factor per candidate for how far it starts from the headline, in elements: 1 for one
    holding the headline or right after it, less with distance, and faster above it."""
    if headline is None:
        return {}
    wanted = set(candidates)
    held = {
        c
        for c in candidates
        if c is headline or headline in c.iterancestors() or c in headline.iterancestors()
    }
    position: dict[Element, int] = {}
    for index, element in enumerate(root.iter()):
        if element is headline or element in wanted:
            position[element] = index
    at = position.get(headline, 0)
    factors: dict[Element, float] = {}
    for candidate in candidates:
        if candidate in held:
            factors[candidate] = 1.0
            continue
        gap = position.get(candidate, at) - at
        if 0 <= gap <= _NEAR:
            factors[candidate] = 1.0
        elif gap > 0:
            factors[candidate] = 1 / (1 + gap / _AFTER_SCALE)
        else:
            factors[candidate] = 1 / (1 - gap / _BEFORE_SCALE)
    return factors


def link_density(element: Element) -> float:
    text = len("".join(text_content(element).split()))
    if not text:
        return 0.0
    linked = sum(len("".join(text_content(a).split())) for a in element.iter("a"))
    return min(1.0, linked / text)


def find_body(root: Element, headline: Element | None = None) -> Element | None:
    """The container of the article's paragraphs, or None when the page has no paragraph.

    With the headline known, a candidate far from it counts less: a body follows its headline,
    a sidebar or a feed of other stories is further down (or above it)."""
    scores = block_scores(root)
    if not scores:
        return None
    best_few = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:_CANDIDATES]
    distance = _distances(root, headline, [element for element, _ in best_few])
    best = max(  # on a tie the inner block: the body, not the column holding it
        best_few,
        key=lambda item: (
            round(item[1] * (1 - link_density(item[0])) * distance.get(item[0], 1.0), 6),
            len(list(item[0].iterancestors())),
        ),
    )[0]
    parent = best.getparent()
    if parent is not None and _next_to_a_paragraph(best) and link_density(parent) < 0.25:
        return parent  # a lead paragraph beside the text block (`原标题：...`) belongs to it
    return best


def _element_siblings(element: Element) -> list[Element]:
    before = next((e for e in element.itersiblings(preceding=True) if type(e.tag) is str), None)
    after = next((e for e in element.itersiblings() if type(e.tag) is str), None)
    return [e for e in (before, after) if e is not None]


def _next_to_a_paragraph(element: Element) -> bool:
    for sibling in _element_siblings(element):
        if sibling.tag == "p":
            pieces: list[str] = []
            _inline_text(sibling, pieces, [0], False)
            if len("".join("".join(pieces).split())) >= _MIN_PARAGRAPH_CHARS:
                return True
    return False


def pruned(body: Element) -> Element:
    """A copy of the body without the navigation inside it: blocks that are mostly link text
    (related stories, pagers) and share, pager, related and comment widgets."""
    clone = copy.deepcopy(body)
    doomed = [
        element
        for element in clone.iterdescendants()
        if type(element.tag) is str
        and element.tag in _BLOCK_TAGS
        and (
            _FURNITURE_CLASS.search(f"{element.get('class', '')} {element.get('id', '')}")
            or _TEASER_OPENING.match(text_content(element)) is not None
            or len(text_content(element).strip()) >= 2
            and link_density(element) >= _LINK_HEAVY
        )
    ]
    for element in doomed:
        parent = element.getparent()
        if parent is None:
            continue
        if element.tail and element.tail.strip():  # the text after the block stays where it was
            previous = element.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + element.tail
            else:
                parent.text = (parent.text or "") + element.tail
        parent.remove(element)
    return clone
