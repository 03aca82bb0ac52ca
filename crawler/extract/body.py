"""The article body sorted into lead lines, text paragraphs, captions and images.

Rules read text features only, never inline styles: a photo credit ends a caption, `...` is a
gallery placeholder, a short headline-like run at the top that echoes the title is the lead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.extract.text import IMAGE, TEXT, Unit, absolute_url

_PHOTO_CREDIT = re.compile(
    r"(?:摄(?:影报道)?|[（(]\s*资料图片?\s*[)）]|(?:新华社|中新社)(?:记者\s*\S{2,5}\s*)?发|供图)\s*$"
)
_CREDIT_MAX_CHARS = 24  # the credit is at the end: searching the tail only keeps this cheap
_PLACEHOLDER_CHARS = ".。…·．"
_PLACEHOLDER = re.compile(f"^[{_PLACEHOLDER_CHARS}\\s]+$")
_SENTENCE_END = "。！？；：!?;:…"
_CLOSING_MARKS = "”’\"'）)】」』"
_LEAD_BYLINE = re.compile(
    r"^[\u4e00-\u9fff·]{0,12}(?:记者|通讯员)(?:\s*[\u4e00-\u9fff·]{2,5}(?:\s+|$)){1,5}$"
)
# A line the layout marks as a caption (`<p class="pic-desc">`, a centred line under an image,
# `<figcaption>`): a caption when right after an image, with or without a credit. Only versions
# that read the markup make such units; the others give TEXT only.
CAPTION = "caption"
_PAGER_LINE = re.compile(
    r"^(?:(?:首页|上一页|下一页|尾页|末页|[<>«»‹›]+|\[?\d{1,3}\]?|共\s*\d{1,3}\s*页|第\s*\d{1,3}\s*页)\s*)+$"
)
# What news sites print under an image besides the portal's photo credits: a screenshot or an
# agency credit (`（视频截图）`, `视觉中国 资料`, `（BBC）`), a credit with 供图/图片来源.
_IMAGE_CREDIT = re.compile(
    r"(?:截图|视觉中国(?:\s*资料)?|供图|图片来源\s*[:：]\s*\S+|[（(](?:[A-Za-z][A-Za-z .]{0,15}|视觉中国|视频截图|截图|资料图?片?|网络图片|新华社|中新社|东方IC|IC\s*photo)[)）])\s*。?$"
)
_CAPTION_OPENING = re.compile(r"^(?:图为|图[:：]|(?:资料|上|下|左|右)图[:：])")
_IMAGE_CAPTION_MAX_CHARS = 100
SHORT_CAPTION_MAX_CHARS = 12  # `搜救现场。`, `小花家。`: a short phrase closed by 。 under an image
# `（原标题：...）`, `原标题：...`, `（原题为《...》）`: the title the story first ran under, a lead line.
_ORIGINAL_TITLE = re.compile(r"^[（(]?\s*原(?:标题|题为|题)\s*[:：《“]")
# Lines that are the page's furniture wherever they stand in a body container: share and print
# links, page-number rows (`【1】【2】【3】`), teasers ending in `>>`, the app and disclaimer notes.
_FURNITURE_LINE = re.compile(
    r"^(?:分享(?:到|让更多人看到)?\s*[:：]?|打印(?:本页)?|关闭(?:窗口)?|【打印本页】\s*【关闭窗口】"
    r"|(?:【\d{1,3}】)+|\+\d|【纠错】|图集|组图|正文已结束.{0,30}|扫码阅读全文|我要反馈|收藏(?:本文)?|举报"
    r"|.{0,40}(?:>>|》》|>>>)|[（(]本文来自.{0,40}[)）]|免责声明\s*[:：].*|(?:本文)?图片(?:均)?来[自源于]网络。?)$"
)
LEAD_MAX_CHARS = 60
LEAD_MAX_LINES = 6
_ECHO_MIN_SHARE = 0.6
_ECHO_MIN_CHARS = 6


def has_photo_credit(text: str) -> bool:
    """Ends like a photo caption: `记者 庞晓玮 摄`, `河北日报客户端记者孟宇光摄`, `（资料图）`, `新华社发`."""
    return _PHOTO_CREDIT.search(text[-_CREDIT_MAX_CHARS:]) is not None


def is_pager_line(text: str) -> bool:
    """A line of a pager: page numbers and `上一页`/`下一页`/`共3页` only."""
    return _PAGER_LINE.match(text) is not None


def is_image_caption(text: str) -> bool:
    """A line right after an image that reads as its caption: a photo credit, a screenshot or
    agency credit (`（视频截图）`, `视觉中国`), `图为...`, or a short phrase closed by `。`."""
    if len(text) > _IMAGE_CAPTION_MAX_CHARS:
        return False
    return (
        has_photo_credit(text)
        or _IMAGE_CREDIT.search(text[-_CREDIT_MAX_CHARS:]) is not None
        or _CAPTION_OPENING.match(text) is not None
        or len(text) <= SHORT_CAPTION_MAX_CHARS
        and text.endswith("。")
    )


def is_original_title(text: str) -> bool:
    return "原" in text[:3] and _ORIGINAL_TITLE.match(text) is not None


def is_furniture_line(text: str) -> bool:
    """Share, print and close links, page-number rows, `...>>` teasers, app and disclaimer notes."""
    return _FURNITURE_LINE.match(text) is not None


def is_placeholder(text: str) -> bool:
    """A gallery placeholder: a paragraph that is only `...` or `……`."""
    return text[0] in _PLACEHOLDER_CHARS and _PLACEHOLDER.match(text) is not None


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip(_CLOSING_MARKS)
    return bool(stripped) and stripped[-1] in _SENTENCE_END


def is_headline_like(text: str) -> bool:
    """Short, not a finished sentence, not a caption: how a print headline line looks."""
    return len(text) <= LEAD_MAX_CHARS and not ends_sentence(text) and not has_photo_credit(text)


def is_byline_lead(text: str) -> bool:
    """A reporter byline opening the body: `长城新媒体记者 赵永刚 李相伯`."""
    return _LEAD_BYLINE.match(text) is not None


def echoes_title(line: str, title: str) -> bool:
    """The line repeats the title, give or take a few words (`河北省` printed as `我省`)."""
    if len(line) < _ECHO_MIN_CHARS or not title:
        return False
    pool = list(title)
    shared = 0
    for char in line:
        if char in pool:
            pool.remove(char)
            shared += 1
    return shared / len(line) >= _ECHO_MIN_SHARE


def lead_lines(lines: list[str], title: str) -> int:
    """How many of the opening lines are the print headline block (0 if they are not one).

    The block is a run of headline-like lines at the top of the body; it counts only if one of its
    lines echoes the title or is a reporter byline, so a short plain opening is left as text.
    """
    run = 0
    while run < len(lines) and run < LEAD_MAX_LINES and is_headline_like(lines[run]):
        run += 1
    block = lines[:run]
    if any(echoes_title(line, title) or is_byline_lead(line) for line in block):
        return run
    return 0


@dataclass
class Body:
    subtitles: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    images: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def segment_body(units: list[Unit], title: str, page_url: str, first_page: bool = True) -> Body:
    """Sort a flattened body into lead lines, text paragraphs, captions and images.

    A caption is a line with a photo credit (or a CAPTION unit) right after an image; several
    caption lines right after several images are a photo group, one caption per image (the last images, when there
    are fewer captions than images). Placeholders and empty lines are dropped. Lead lines are
    looked for on the first page only: a later page may open with a short sub-heading.
    """
    units = [u for u in units if u.kind != TEXT or not is_placeholder(u.text)]
    body = Body()
    start = 0
    if first_page:
        opening: list[str] = []
        for kind, text, _ in units[:LEAD_MAX_LINES]:
            if kind != TEXT:
                break
            opening.append(text)
        start = lead_lines(opening, title)
        body.subtitles = opening[:start]
    count = len(units)
    i = start
    while i < count:
        kind, text, src = units[i]
        i += 1
        if kind == TEXT or kind == CAPTION:
            body.paragraphs.append(text)
        elif kind == IMAGE:
            images: list[dict[str, str | None]] = [
                {"url": absolute_url(page_url, src), "caption": None}
            ]
            while i < count and units[i].kind == IMAGE:
                images.append({"url": absolute_url(page_url, units[i].src), "caption": None})
                i += 1
            captions: list[str] = []
            while i < count and (
                units[i].kind == CAPTION
                or units[i].kind == TEXT
                and has_photo_credit(units[i].text)
            ):
                captions.append(units[i].text)
                i += 1
            captioned = images[-len(captions) :] if 0 < len(captions) <= len(images) else images
            for image, caption in zip(captioned, captions):
                image["caption"] = caption
            body.images.extend(images)
            body.captions.extend(captions)
    return body
