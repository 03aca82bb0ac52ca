"""The generic parser: pages no layout version recognises, of this portal or of any news site.

It reads what a news page shows, wherever the layout puts it:

- the headline among the page's headings and title-marked elements, the one its `<title>` or
  `og:title` opens with (`crawler.extract.headline`);
- the body as the block with the most paragraph text that is not link text
  (`crawler.extract.blocks`), without the navigation inside it, the page's furniture (share and
  print links, pagers, `...>>` teasers) and the credits, which are read as credits;
- the info line between the headline and the body: time, source and authors, labelled or not
  (`来源于：`, `稿件来源：`, a bare name after the time), else the portal's `来源：` line anywhere;
- the editor (`（责编：X）`, `【编辑:X】`, `责任编辑：X`), keywords (`关键字 :`, `标签：`) and lead
  lines (`原标题：...`) in and after the body; the breadcrumb before the headline;
- captions under an image by their credit (`（视频截图）`, `视觉中国`), their markup, or their
  form (`图为...`, a short phrase closed by `。`).

Its output is marked `parser: "fallback"`, so a layout change shows up as a rising fallback
count. Each field it has to guess at says so in `problems`.
"""

from __future__ import annotations

import re

from crawler.extract.base import ArticleParser
from crawler.extract.blocks import find_body, pruned
from crawler.extract.body import (
    CAPTION,
    Body,
    is_byline_lead,
    is_furniture_line,
    is_image_caption,
    is_original_title,
    is_pager_line,
    is_placeholder,
    segment_body,
)
from crawler.extract.breadcrumbs import parse_breadcrumbs
from crawler.extract.bylines import (
    Byline,
    InfoLine,
    dateline_reporters,
    has_source_label,
    is_person,
    parse_editor_credit,
    parse_info_line,
    parse_keywords_label,
    parse_reporter_credit,
    parse_source_line,
)
from crawler.extract.dates import dated_spans, parse_timestamp, strip_timestamps
from crawler.extract.headline import Headline, choose_headline, heading_text
from crawler.extract.page import (
    Page,
    elements_after,
    elements_between,
    labelled_elements,
    lazy_property,
)
from crawler.extract.parsers.hebccw import (
    marked_caption_lines,
    says_something,
    spaced_text,
    trail_of,
)
from crawler.extract.text import (
    IMAGE,
    TEXT,
    Element,
    Unit,
    clean_text,
    element_lines,
    element_text,
    element_units,
    text_content,
)

_INLINE_TAGS = frozenset({"span", "a", "em", "strong", "b", "i", "font", "label", "small"})
_INFO_MAX_CHARS = 200
_TRAILER_DEPTH = 3
_KEYWORDS_MAX_CHARS = 200
_TRAILER_TEXTS = 40
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "select", "button", "textarea"})
_EDGE_LINES = 3
_DATELINE_LINES = (
    2  # `原标题：` lines are looked for among the first and the last lines of the body
)
# Words of an info line that are the page's furniture, not a source or a name.
_INFO_FURNITURE = frozenset({
    "举报", "分享", "分享到", "收藏", "评论", "打印", "关闭", "字号", "纠错", "原创", "订阅", "关注",
    "大", "中", "小", "超大", "标准", "默认", "放大", "缩小", "调整字体", "字体", "A", "A-", "A+", "T",
    "+", "-", "参与", "人参与", "阅读", "浏览", "我要评论",
})  # fmt: skip
_SOURCE_MARKUP = re.compile(r"source|from|publisher|laiyuan", re.IGNORECASE)
_LEAD_MARKUP = re.compile(r"intro|summary|digest|abstract|daoyu|zhaiyao", re.IGNORECASE)
_SUBHEADINGS = frozenset({"h2", "h3", "h4"})
_SOURCE_WORD = re.compile(r"^[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9·\-]{1,19}$")
_LABELLED_DATE = re.compile(r"(?:发\s*布|发\s*表|更\s*新)?\s*(?:时\s*间|日\s*期)\s*[:：]")
_TAG_MARKUP = re.compile(r"tag|keyword", re.IGNORECASE)
# `来源：无锡交警`, `本文来源：证券市场红周刊` on a line of its own in the body: a credit, not text.
_SOURCE_CREDIT = re.compile(r"^(?:本文|文章|信息|稿件)?来\s*源\s*[:：]\s*(\S{2,20})$")
_CREDIT_LABEL = re.compile(r"\s(?:责\s*任\s*编\s*辑|责\s*编|编\s*辑)\s*[:：]")
_CRUMB_SEPARATOR = re.compile(r"\s*(?:[>»›＞/]+|&gt;)\s*")


def trailer_texts(elements: list[Element]) -> list[str]:
    """The short texts of the elements after a body, nearest first, each short block read as
    one line (spans and links side by side are one line: `关键字 : 公园`); a long block is
    looked into. The first `_TRAILER_TEXTS` are enough: credits follow the body closely."""
    texts: list[str] = []
    pending = list(reversed(elements))
    while pending and len(texts) < _TRAILER_TEXTS:
        element = pending.pop()
        if type(element.tag) is not str or element.tag in _SKIPPED_TAGS:
            continue
        if len(text_content(element)) > _KEYWORDS_MAX_CHARS:
            pending.extend(reversed([child for child in element if type(child.tag) is str]))
            continue
        text = spaced_text(element)
        if text:
            texts.append(text)
    return texts


def trail_to_this_page(element: Element) -> list[str]:
    """The crumbs of a trail (`trail_of`), also of one that names a single place before the
    page itself: `国内新闻 > 正文`."""
    crumbs = trail_of(element)
    if crumbs:
        return crumbs
    text = spaced_text(element)
    parts = [part.strip() for part in _CRUMB_SEPARATOR.split(text)] if len(text) <= 60 else []
    links = {clean_text(text_content(a)) for a in element.iter("a")}
    if len(parts) == 1 and text.endswith(" 正文"):
        parts = [text[: -len(" 正文")].strip(), "正文"]  # `新华网 正文`
    if len(parts) == 2 and parts[1] == "正文" and parts[0] in links:
        return parts[:1]
    return []


class FallbackParser(ArticleParser):
    """The generic extractor: headline by agreement, text-density body, info line, credits."""

    family = "fallback"  # unversioned: it reads no one layout, so no layout change replaces it

    @classmethod
    def matches(cls, page: Page) -> bool:
        return True

    # ------------------------------------------------------------ header

    @lazy_property
    def headline(self) -> Headline | None:
        return choose_headline(self.page.root, self.page.head_title, self.page.og_title)

    def title(self) -> str:
        headline = self.headline
        if headline is None:
            self.problem("title", "no h1 and no <title> on page")
            return ""
        if headline.element is None or headline.element.tag != "h1":
            # the heading that <title> opens with, or <title> minus its suffix: both from <title>
            self.problem("title", "no h1 on page, read from <title>")
        return headline.text

    @lazy_property
    def header_elements(self) -> list[Element]:
        """What the page prints between the headline and the body: the info line's elements."""
        headline, body = self.headline, self.body_element
        if headline is None or headline.element is None or body is None:
            return []
        return elements_between(headline.element, body)

    @lazy_property
    def header_texts(self) -> list[str]:
        return [text for element in self.header_elements for text in self._info_texts(element)]

    def _info_texts(self, element: Element) -> list[str]:
        text = spaced_text(element)
        if len(text) > _INFO_MAX_CHARS:
            return [
                t for child in element if type(child.tag) is str for t in self._info_texts(child)
            ]
        return [text] if text else []

    @lazy_property
    def info(self) -> InfoLine | None:
        """The info line under the headline: the header's texts that print a time, a `来源`
        label or authors, read as one line."""
        texts = [t for t in self.header_texts if says_something(parse_info_line(t))]
        return parse_info_line(" ".join(texts)) if texts else None

    @lazy_property
    def source_line_text(self) -> str:
        """The whole block around the portal's `来源：` label: on an unknown layout the source,
        authors and time may sit in sibling spans of one block."""
        element = self.page.source_line
        while element is not None and element.tag in _INLINE_TAGS:
            parent = element.getparent()
            if parent is None:
                break
            element = parent
        return element_text(element) if element is not None else ""

    def byline(self) -> Byline:
        byline = self._labelled_byline()
        authors = [a for a in byline.authors if a not in _INFO_FURNITURE]
        source = byline.source
        labelled = has_source_label(self.source_line_text) or bool(
            self.info and self.info.has_source_label
        )
        if source is None and not labelled:
            source, unlabelled_authors = self._unlabelled_source()
            authors = authors or unlabelled_authors
        if not authors:
            authors = self._credited_authors()
        source = source or next(iter(self.body_parts[3]), None)
        if source is None:
            self.problem("source", "no 来源 line on page")
        return Byline(source, authors)

    def _labelled_byline(self) -> Byline:
        info = self.info
        cms_source = self.page.block_text("v5.source")
        if info is not None and info.has_source_label and info.source and cms_source is None:
            return Byline(info.source, info.authors)
        if has_source_label(self.source_line_text):
            return parse_source_line(self.source_line_text, cms_source)
        return Byline(None, info.authors if info else [])

    def _unlabelled_source(self) -> tuple[str | None, list[str]]:
        """A source the header does not label: an element its markup calls the source, else the
        name printed beside the time (`2019-09-26 10:56:28 证券时报网`, `石佳/中国青年报`)."""
        for element in self.header_elements:
            for candidate in element.iter():
                if type(candidate.tag) is str and _SOURCE_MARKUP.search(
                    f"{candidate.get('class', '')} {candidate.get('id', '')}"
                ):
                    words = self._source_words(spaced_text(candidate))
                    if len(words) == 1:
                        return words[0], []
        dated = [t for t in self.header_texts if dated_spans(t)]
        if not dated:
            return None, []
        at = self.header_texts.index(dated[0])  # the time, with the text before and after it
        text = " ".join(self.header_texts[max(0, at - 1) : at + 4])
        start, end, _ = dated_spans(text)[0]
        after = self._source_words(text[end:])
        if len(after) >= 2 and all(is_person(word) for word in after):
            return None, after  # names side by side after the time: the authors, no source
        words = after or self._source_words(text[:start])[-1:]
        if not words:
            return None, []
        first = words[0]
        if "/" in first:
            author, _, source = first.partition("/")
            if is_person(author) and _SOURCE_WORD.match(source):
                return source, [author]
        return (first, []) if _SOURCE_WORD.match(first) else (None, [])

    @staticmethod
    def _source_words(text: str) -> list[str]:
        words = strip_timestamps(text).split()
        return [
            w for w in words if w not in _INFO_FURNITURE and not w.isdigit() and w[-1] not in ":："
        ]

    def _credited_authors(self) -> list[str]:
        """Reporters named outside the info line: a credit line in the header or the body
        (`澎湃新闻记者 贺梨萍`, `采写：南都见习记者 林子沛`), the dateline (`（记者唐霁）`)."""
        for element in self.header_elements:
            for line in element_lines(element):
                names = parse_reporter_credit(line)
                if names:
                    return names
        if self.body_parts[2]:
            return self.body_parts[2]
        for line in [u.text for u in self.body_units if u.kind == TEXT][:_DATELINE_LINES]:
            names = dateline_reporters(line)
            if names:
                return names
        return []

    def timestamp(self) -> str | None:
        info = self.info
        timestamp = info.timestamp if info is not None else None
        timestamp = timestamp or parse_timestamp(self.source_line_text)
        day = info.day if info is not None else None
        if timestamp is None:
            timestamp, labelled_day = self._labelled_date()
            day = day or labelled_day
        if timestamp is None and day is None:
            body = self.page.root.find("body")
            timestamp = parse_timestamp(element_text(body if body is not None else self.page.root))
        if timestamp is None and day is not None:
            self.problem("timestamp", f"only a date ({day}) on page, read as 00:00 China time")
            return parse_timestamp(f"{day} 00:00")
        if timestamp is None:
            self.problem("timestamp", "no date on page")
        return timestamp

    def _labelled_date(self) -> tuple[str | None, str | None]:
        """(timestamp, day) after a `发布日期：`/`时间：` label anywhere on the page."""
        owners = labelled_elements(
            self.page.root, "//body//", ("时", "日"), lambda t: _LABELLED_DATE.search(t) is not None
        )
        for owner in owners:
            text = spaced_text(owner)
            label = _LABELLED_DATE.search(text)
            if label is None:
                continue
            spans = dated_spans(text[label.end() :])
            if spans and spans[0][0] <= 2:
                start, end, iso = spans[0]
                return (iso, None) if iso else (None, text[label.end() :][start:end].strip())
        return None, None

    # ------------------------------------------------------------ body

    @lazy_property
    def body_element(self) -> Element | None:
        headline = self.headline
        return find_body(self.page.root, headline.element if headline is not None else None)

    @lazy_property
    def caption_lines(self) -> frozenset[str]:
        """Lines the markup marks as captions (`<figcaption>`, `span.img_descr`, centred)."""
        return marked_caption_lines(self.body_element)

    @lazy_property
    def body_parts(self) -> tuple[list[Unit], list[str], list[str], list[str]]:
        """The body's lines, images and players, without the navigation inside the body and the
        page's furniture; and the editors, reporters and sources its credit lines name, which are
        no body text. A reporter line opening the body stays: it is a lead line."""
        body = self.body_element
        units: list[Unit] = []
        editors: list[str] = []
        reporters: list[str] = []
        sources: list[str] = []
        for unit in element_units(pruned(body)) if body is not None else []:
            text = unit.text
            if unit.kind == TEXT:
                if is_placeholder(text) or is_furniture_line(text) or is_pager_line(text):
                    continue
                editor = parse_editor_credit(text)
                if editor is not None:
                    editors.append(editor)
                    continue
                source = _SOURCE_CREDIT.match(text)
                if source is not None:
                    sources.append(source.group(1))
                    continue
                names = parse_reporter_credit(text)
                opening = not any(u.kind == TEXT for u in units)
                if names is not None and not (opening and is_byline_lead(text)):
                    reporters = reporters or names
                    continue
            units.append(unit)
        return units, editors, reporters, sources

    @property
    def body_units(self) -> list[Unit]:
        return self.body_parts[0]

    @lazy_property
    def segmented(self) -> Body:
        units = self.marked_captions(self.body_units)
        texts = [i for i, u in enumerate(units) if u.kind == TEXT]
        edges = set(texts[:_EDGE_LINES] + texts[-_EDGE_LINES:])
        top = [
            units[i].text
            for i in sorted(edges)
            if i <= len(units) // 2 and is_original_title(units[i].text)
        ]
        end = [
            units[i].text
            for i in sorted(edges)
            if i > len(units) // 2 and is_original_title(units[i].text)
        ]
        summary = [
            u.text
            for u in units[:_EDGE_LINES]
            if u.kind == TEXT and u.text in self.lead_markup_lines
        ]
        kept = [
            u
            for i, u in enumerate(units)
            if not (i in edges and is_original_title(u.text)) and u.text not in summary
        ]
        first_page = self.page.page_list[1] == 0
        body = segment_body(kept, self._title_for_leads, self.page.url, first_page)
        body.subtitles = (
            self.header_subtitles
            + top
            + summary
            + body.subtitles
            + (end or self._original_title_after_body())
        )
        return body

    @lazy_property
    def _title_for_leads(self) -> str:
        return self.headline.text if self.headline is not None else ""

    def _original_title_after_body(self) -> list[str]:
        return [
            _CREDIT_LABEL.split(t, maxsplit=1)[0].strip()
            for t in self.after_body_texts
            if is_original_title(t)
        ][:1]

    @lazy_property
    def header_subtitles(self) -> list[str]:
        """A sub-headline printed between the headline and the info line (`<h3>`)."""
        return [
            heading_text(element)
            for element in self.header_elements
            if element.tag in _SUBHEADINGS
            and heading_text(element)
            and not says_something(parse_info_line(heading_text(element)))
        ]

    @lazy_property
    def lead_markup_lines(self) -> frozenset[str]:
        """Lines the markup marks as the article's summary (`div.introduction`)."""
        body = self.body_element
        if body is None:
            return frozenset()
        return frozenset(
            line
            for element in body.iter()
            if type(element.tag) is str
            and _LEAD_MARKUP.search(f"{element.get('class', '')} {element.get('id', '')}")
            for line in element_lines(element)
        )

    def marked_captions(self, units: list[Unit]) -> list[Unit]:
        """Lines right after an image that read as its caption, or that the markup marks as
        one, become CAPTION units."""
        marked = self.caption_lines
        out: list[Unit] = []
        after_image = False
        for unit in units:
            if unit.kind == IMAGE:
                after_image = True
            elif (
                after_image
                and unit.kind == TEXT
                and (unit.text in marked or is_image_caption(unit.text))
            ):
                unit = Unit(CAPTION, unit.text, "")
            else:
                after_image = False
            out.append(unit)
        return out

    def body(self, title: str) -> Body:
        if self.body_element is None:
            self.problem("body", "no article body element on page")
            return Body()
        body = self.segmented
        if not (body.paragraphs or body.captions or body.images):
            self.problem("body", "the article body is empty")
        return body

    # ------------------------------------------------------------ after the body

    @lazy_property
    def after_body(self) -> list[Element]:
        body = self.body_element
        return elements_after(body, _TRAILER_DEPTH) if body is not None else []

    @lazy_property
    def after_body_texts(self) -> list[str]:
        return trailer_texts(self.after_body)

    def editor(self) -> str | None:
        editor = next(iter(self.body_parts[1]), None)
        editor = editor or next(filter(None, map(parse_editor_credit, self.after_body_texts)), None)
        if editor is None:
            found = labelled_elements(
                self.page.root, "//body//", ("编",), lambda t: "编辑" in t or "责编" in t
            )
            editor = next(filter(None, (parse_editor_credit(spaced_text(e)) for e in found)), None)
            if editor is None and found:
                editor = super().editor()  # `关键词：... 责任编辑：X` run together in one block
        if editor is None:
            self.problem("editor", "no 编辑 line in or after the body")
        return editor

    def keywords(self) -> list[str]:
        found: list[str] | None = None
        for text in self.after_body_texts:
            keywords = parse_keywords_label(text)
            if keywords:
                return [k for k in keywords if not is_furniture_line(k)]
            found = keywords if found is None else found
        tagged = self._tag_list()
        if tagged:
            return tagged
        return found if found is not None else super().keywords()

    def _tag_list(self) -> list[str]:
        """A list of tag links right after the body, without a label (`ul.tag-list`)."""
        for element in self.after_body[:2]:
            if _TAG_MARKUP.search(f"{element.get('class', '')} {element.get('id', '')}"):
                words = [spaced_text(a) for a in element.iter("a", "li") if len(element)]
                words = [w for w in words if w and len(w) <= 20]
                if words:
                    return list(dict.fromkeys(words))
        return []

    def breadcrumbs(self) -> list[str]:
        crumbs = parse_breadcrumbs(self.page.position_text)
        if not crumbs:
            crumbs = self._trail_before_headline()
        if not crumbs:
            self.problem("breadcrumbs", "no breadcrumb on page")
        return crumbs

    def _trail_before_headline(self) -> list[str]:
        headline = self.headline
        node = headline.element if headline is not None else None
        while node is not None:
            for sibling in node.itersiblings(preceding=True):
                if type(sibling.tag) is not str:
                    continue
                for candidate in reversed(list(sibling.iter())):
                    if type(candidate.tag) is str and text_content(candidate).strip():
                        crumbs = trail_to_this_page(candidate)
                        if crumbs:
                            return crumbs
            node = node.getparent()
        return []
