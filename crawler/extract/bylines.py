"""The labelled lines around an article: `来源：` with its authors, `作者：`, `责任编辑：`, `关键词：`;
and the 2026 template's info line (time, source and authors in any order) and credit lines
(`（编辑：X）`, `【责任编辑：X】`, `标签：`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.extract.dates import dated_spans, strip_timestamps
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


# ---------------------------------------------------------------- the 2026 template

# The labels an info line may print: time, source and authors in any order, and what sits beside
# them (counters, share links, the font-size switch). A label ends the value before it, so the
# parts may run together where spans print them without a space (`来源：河北日报作者：张三`).
_INFO_LABEL = re.compile(
    r"(?:(?P<source>(?:稿\s*件|信\s*息|本\s*文|新\s*闻)?来\s*源(?:\s*于)?)|(?P<author>作\s*者|记\s*者)|(?P<updated>更\s*新\s*(?:时\s*间|日\s*期))"
    r"|(?P<time>(?:发\s*布\s*|发\s*表\s*)?(?:时\s*间|日\s*期))"
    r"|(?P<editor>责\s*任\s*编\s*辑|责\s*编|编\s*辑)"
    r"|(?P<other>关\s*键\s*[词字]|标\s*签|分\s*享\s*到?|(?:浏\s*览|阅\s*读|点\s*击)\s*(?:[次量]\s*)?数?|字\s*号))"
    r"\s*[:：]\s*"
)
_VALUE_EDGES = " |｜丨/·•【】[]"
# A person's name as bylines print it; words of a role or a medium are not names.
_PERSON = re.compile(r"^[\u4e00-\u9fff·]{2,6}$")
_NOT_A_PERSON = re.compile(r"记者|通讯员|编辑|实习|报道|日报|晚报|客户端|新闻|网|社|台")
_NAME_LIST = re.compile(
    r"^[\u4e00-\u9fff·A-Za-z]{2,10}(?:\s*[、，,/\s]\s*[\u4e00-\u9fff·A-Za-z]{2,10}){0,5}$"
)


@dataclass(frozen=True)
class InfoLine:
    """What the info line under the title says; None or empty where it does not say."""

    source: str | None = None
    authors: list[str] = field(default_factory=list)
    timestamp: str | None = None
    day: str | None = None  # a date printed without a time (`2026-09-10`): no timestamp
    editor: str | None = None
    has_source_label: bool = False
    unread: str = ""  # text after the source that is neither names nor labelled


def is_person(name: str) -> bool:
    return _PERSON.match(name) is not None and _NOT_A_PERSON.search(name) is None


def _info_dates(text: str, labels: list[re.Match[str]]) -> tuple[str | None, str | None]:
    """(timestamp, day without a time) of the info line: a date after a `发布时间：`/`时间：` label
    first, else the first one that is not after `更新时间：`."""
    owner_at = {label.end(): label.lastgroup for label in labels}
    dated = [(owner_at.get(start), iso, text[start:end]) for start, end, iso in dated_spans(text)]
    dated = [d for d in dated if d[0] != "updated"]
    timestamps = [d for d in dated if d[1]]
    labelled = [d for d in timestamps if d[0] == "time"]
    if labelled or timestamps:
        return (labelled or timestamps)[0][1], None
    return None, (dated[0][2].strip() if dated else None)


def parse_info_line(text: str) -> InfoLine:
    """The info line of the 2026 template: `2026-09-10 09:30:12 来源：河北日报 作者：张三`,
    `来源：长城网 2026-09-10 09:30`, `发布时间：2026年09月10日 09:30 来源：冀云`, in any order.

    Authors are labelled (`作者：`) or follow the source bare when they read as names; text after
    the source that does not is returned as `unread`, never taken for authors.
    """
    text = clean_text(text)
    labels = list(_INFO_LABEL.finditer(text))
    bounds = sorted(
        [m.start() for m in labels] + [s for s, _, _ in dated_spans(text)] + [len(text)]
    )
    values: dict[str, str] = {}
    for label in labels:
        end = next(b for b in bounds if b >= label.end())
        values.setdefault(label.lastgroup or "", text[label.end() : end].strip(_VALUE_EDGES))
    timestamp, day = _info_dates(text, labels)
    authors = split_names(values.get("author", ""))
    words = values.get("source", "").split()
    source, rest = (words[0], words[1:]) if words else (None, [])
    unread = ""
    if rest and not authors and all(is_person(name) for name in rest):
        authors = rest
    elif rest:
        unread = " ".join(rest)
    editor = values.get("editor", "")
    return InfoLine(
        source=source,
        authors=authors,
        timestamp=timestamp,
        day=day,
        editor=editor if _NAME_LIST.match(editor) else None,
        has_source_label="source" in values,
        unread=unread,
    )


# Credit lines: `（编辑：张三）`, `【责任编辑：李四】`, `责任编辑：王五 审核：赵六`, `标签：雄安 植树`.
_CREDIT_LABEL = re.compile(
    r"(?:(?P<editor>责\s*任\s*编\s*辑|责\s*编|编\s*辑)|(?P<keywords>关\s*键\s*[词字]|标\s*签)"
    r"|(?P<credit>作\s*者|记\s*者|通\s*讯\s*员|审\s*核|校\s*对|终\s*审|监\s*制|统\s*筹|摄\s*影|文|图))"
    r"\s*[:：]\s*"
)
_BRACKET_PAIRS = frozenset({"【】", "[]", "（）", "()", "〔〕"})


def credit_segments(text: str) -> dict[str, str] | None:
    """The labelled parts of a credit line (`editor`, `keywords`, `credit`), or None when the
    line is not one: it opens with a label (inside brackets or not), and every value but the
    keywords is a list of names. So `编辑` inside a sentence (`记者问编辑：...`) is no credit."""
    text = clean_text(text)
    if len(text) >= 2 and text[0] + text[-1] in _BRACKET_PAIRS:
        text = text[1:-1].strip()
    labels = list(_CREDIT_LABEL.finditer(text))
    if not labels or labels[0].start() != 0:
        return None
    segments: dict[str, str] = {}
    for label, after in zip(labels, labels[1:] + [None]):
        value = text[label.end() : after.start() if after else len(text)].strip(_VALUE_EDGES)
        kind = label.lastgroup or ""
        if kind != "keywords" and not _NAME_LIST.match(value):
            return None
        segments.setdefault(kind, value)
    return segments


def parse_editor_line(text: str) -> str | None:
    """`（编辑：张三）`, `【责任编辑：李四】`, `编辑：王五 审核：赵六` -> the editor; None for any
    other line."""
    segments = credit_segments(text)
    return segments.get("editor") if segments else None


def parse_keywords_line(text: str) -> list[str] | None:
    """`关键词：雄安，植树` or `标签：雄安 植树` -> the keywords ([] when empty); None for a
    line that is not a keywords line."""
    segments = credit_segments(text)
    if segments is None or "keywords" not in segments:
        return None
    return [k for k in _KEYWORD_SEPARATORS.split(segments["keywords"]) if k]


# ---------------------------------------------------------------- any news site

# An editor credit as news sites print it: bracketed (`（责编：汤诗瑶、丁涛）`, `【编辑:李骏】`,
# `[责任编辑：刘斌]`) or not (`责任编辑：张迪`, `发布日期：2019-03-06 责任编辑：龙慧`). A bare
# `编辑：` is read only in brackets: unbracketed it also opens other credits and sentences.
_EDITOR_CREDIT = re.compile(
    r"^[（(【\[]\s*(?:责\s*任\s*编\s*辑|责\s*编|编\s*辑)\s*[:：]\s*(?P<bracketed>[^）)】\]]+?)\s*[）)】\]]$"
    r"|(?:^|\s)(?:责\s*任\s*编\s*辑|责\s*编)\s*[:：]\s*(?P<bare>\S+)\s*$"
)
# A staff code after the name (`杨倩_NF4425`, `韩保林 PK155`): not part of the name.
_STAFF_CODE = re.compile(r"(?<=[\u4e00-\u9fff])[_\s]*[A-Za-z]{1,4}\d{2,}$")
_EDITOR_VALUE = re.compile(
    r"^(?:[\u4e00-\u9fff·]{2,6}(?:\s*[、，,/\s]\s*[\u4e00-\u9fff·]{2,6}){0,4}|[A-Za-z][A-Za-z0-9_]{1,19}|[A-Za-z0-9]{2,20})$"
)


def parse_editor_credit(text: str) -> str | None:
    """The editor of a credit line (`（责编：汤诗瑶、丁涛）` -> `汤诗瑶、丁涛`, `责任编辑：杨倩_NF4425` ->
    `杨倩`), or None when the line is no editor credit."""
    if "编" not in text:
        return None
    match = _EDITOR_CREDIT.search(clean_text(text))
    if match is None:
        return None
    value = _STAFF_CODE.sub("", (match.group("bracketed") or match.group("bare")).strip())
    return value if _EDITOR_VALUE.match(value) else None


_NAMES = r"[\u4e00-\u9fff·]{2,5}(?:\s*[、，,&＆\s和]\s*[\u4e00-\u9fff·]{2,5}){0,5}"
# A reporter credit closing (or opening) an article: `采写：南都见习记者 林子沛`, `执笔/叨叨姐、胡一刀&李小飞刀`,
# `《棱镜》作者 周纯`, `扬子晚报记者 张楠`.
_REPORTER_CREDIT = re.compile(
    r"^(?:(?:采\s*写|执\s*笔|撰\s*文|作\s*者|记\s*者|文)\s*[:：/]\s*(?:[\u4e00-\u9fff]{0,8}记者\s*)?"
    r"|[\u4e00-\u9fff·《》]{0,12}?(?:见习)?(?:记者|作者)\s*)(?P<names>" + _NAMES + r")$"
)
# A reporter named in the dateline of the first paragraph: `新华社巴黎12月9日电（记者唐霁）`,
# `长江网10月4日讯（记者陈智 整合）`.
_DATELINE_REPORTER = re.compile(
    r"^[^（(]{0,30}[（(]\s*[\u4e00-\u9fff]{0,6}?记者\s*(?P<names>" + _NAMES + r")\s*[）)]"
)
_NOT_NAMES = frozenset({"整合", "报道", "综合", "摄影", "编译", "发自", "实习生"})
_CREDIT_NAME_SEPARATORS = re.compile(r"[\s、，,&＆和]+")


def credit_names(text: str) -> list[str]:
    return [n for n in _CREDIT_NAME_SEPARATORS.split(text) if n and n not in _NOT_NAMES]


def parse_reporter_credit(text: str) -> list[str] | None:
    """The reporters of a credit line (`采写：南都见习记者 林子沛` -> [林子沛]), or None when the line
    is no reporter credit."""
    if len(text) > 40 or not any(label in text for label in ("者", "写", "笔", "文")):
        return None
    match = _REPORTER_CREDIT.match(clean_text(text))
    names = credit_names(match.group("names")) if match else []
    return names or None


def dateline_reporters(text: str) -> list[str]:
    """Reporters named in a dateline: `新华社巴黎12月9日电（记者唐霁）...` -> [唐霁]."""
    match = _DATELINE_REPORTER.match(text) if "记者" in text[:40] else None
    return credit_names(match.group("names")) if match else []


_KEYWORDS_LINE = re.compile(
    r"^(?:文章)?(?:关\s*键\s*[词字]|标\s*签|tags?)\s*(?:[:：]|>>|›|»)?\s*", re.IGNORECASE
)


_CREDIT_AFTER_KEYWORDS = re.compile(r"(?:责\s*任\s*编\s*辑|责\s*编|编\s*辑)\s*[:：]")


def parse_keywords_label(text: str) -> list[str] | None:
    """`关键字 : 公园`, `关键词 >> 共享充电宝`, `标签：长春 景甜`, `文章关键词： 辟谣 外泄` -> the
    keywords ([] when the label has none); None for any other line."""
    text = clean_text(text)
    match = _KEYWORDS_LINE.match(text)
    if match is None:
        return None
    value = _CREDIT_AFTER_KEYWORDS.split(text[match.end() :], maxsplit=1)[0]
    return [k for k in _KEYWORD_SEPARATORS.split(value) if k]
