"""Write the extraction fixtures: tests/sample_data/extract/<case>/{page.html.gz,meta.json,output.json}.

    python tests/sample_data/make_extract_fixtures.py        (from the repository root)

Replica cases are pages of the default replica (`build_site()`) as its server sends them, and
their expected output is the replica's truth for that one page, not our parser's output. The
other cases are written by hand here, page and expected output both: a page in a layout no parser
version knows (the fallback), a live rolling page, and pages of the 2026 template (`hebccw/v1`). Review every output.json by eye against
its page after regenerating: the printed summary says what each case is for.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.replica import render
from tests.replica.server import Router
from tests.replica.site import (
    BANNER,
    CITY,
    MAIN,
    OLD,
    PARSER_OF_LAYOUT,
    TIME_FIRST,
    Copy,
    Site,
    build_site,
    page_fields,
)

OUT = ROOT / "tests" / "sample_data" / "extract"
FETCHED_AT = "2026-01-01T00:00:00+00:00"
FIELDS = (
    "title", "subtitles", "source", "authors", "timestamp", "body", "captions", "images",
    "editor", "keywords", "breadcrumbs",
)  # fmt: skip


@dataclasses.dataclass
class Case:
    name: str
    note: str
    url: str
    content_type: str
    body: bytes
    expected: dict[str, Any]
    fetched_at: str = FETCHED_AT


def page_truth(copy: Copy, index: int) -> dict[str, Any]:
    """What a parser must read from page `index` of a copy alone (page order, this page only)."""
    truth = page_fields(dataclasses.replace(copy, pages=[copy.pages[index]]))
    return {
        "kind": "article",
        "parser": PARSER_OF_LAYOUT[copy.layout],
        **{name: truth[name] for name in FIELDS},
        "page_urls": copy.page_urls,
        "problems": [],
    }


def copies(site: Site) -> list[Copy]:
    return [c for s in site.stories for c in s.copies]


def kinds(copy: Copy) -> set[str]:
    return {b.kind for blocks in copy.pages for b in blocks}


def captions(copy: Copy) -> list[str]:
    return page_fields(copy)["captions"]


def first(site: Site, test: Callable[[Copy], bool]) -> Copy:
    return next(c for c in copies(site) if test(c))


def by_id(site: Site, article_id: str) -> Copy:
    return first(site, lambda c: c.article_id == article_id)


def replica_case(router: Router, name: str, note: str, copy: Copy, index: int = 0) -> Case:
    url = copy.page_url(index)
    response = router.get(url)
    return Case(name, note, url, response.content_type, response.body, page_truth(copy, index))


def replica_cases(site: Site) -> list[Case]:
    router = Router(site)

    def rendered(copy: Copy) -> str:
        return render.render_article(copy, 0)

    single = [c for c in copies(site) if len(c.pages) == 1]

    def pick(layout: str, test: Callable[[Copy], bool]) -> Copy:
        return next(c for c in single if c.layout == layout and test(c))

    multi = by_id(site, "100417279")
    three = first(site, lambda c: len(c.pages) == 3 and c.story.page_base == 1 and c.layout == MAIN)
    specs: list[tuple[str, str, Copy, int]] = [
        ("enorth-b/v1/seed-018955625", "the corpus seed story: source as a link, three lead lines, four captions",
         by_id(site, "018955625"), 0),
        ("enorth-b/v1/bare-authors-019197980", "authors after the source without a label; a caption with two spaces before the credit",
         by_id(site, "019197980"), 0),
        ("enorth-b/v1/labelled-authors-100825240", "来源: 长城网   作者:李皓 张谢雅 吴玉秒 (labelled, trailing space); the editor is one of the authors",
         by_id(site, "100825240"), 0),
        ("enorth-b/v1/video-credits-101289591", "video page: production credits (文 案：, 摄 像：) are body text",
         by_id(site, "101289591"), 0),
        ("enorth-b/v1/photo-group", "one paragraph with <br> holding the captions of the images before it",
         pick(MAIN, lambda c: "group" in kinds(c)), 0),
        ("enorth-b/v1/gallery-placeholders", "`...`/`……` paragraphs between captions are dropped",
         pick(MAIN, lambda c: "ph" in kinds(c)), 0),
        ("enorth-b/v1/repeated-captions", "the same caption under two photos: both kept",
         pick(MAIN, lambda c: len(captions(c)) != len(set(captions(c)))), 0),
        ("enorth-b/v1/empty-keywords", "关键词： with nothing after it",
         pick(MAIN, lambda c: not c.story.keywords and bool(c.story.authors) and c.story.author_style == "bare"), 0),
        ("enorth-b/v1/byline-lead", "the body opens with a reporter byline (长城新媒体记者 ...): a lead line, not text",
         pick(MAIN, lambda c: c.pages[0][0].kind == "lead" and "记者" in c.pages[0][0].text), 0),
        ("enorth-b/v1/no-source", "来源： with an empty source block and no authors",
         pick(MAIN, lambda c: c.story.source is None), 0),
        ("enorth-b/v1/multipage-100417279-p1", "page 1 of 2 of the transcript; title on three lines",
         multi, 0),
        ("enorth-b/v1/multipage-100417279-p2", "page 2 of 2: no lead lines, page_urls still lists both pages",
         multi, 1),
        ("enorth-b/v1/multipage-p3-of-3-base-01", "last page of a three-page article whose page 2 is _01",
         three, 2),
        ("enorth-a/v1/corpus-018109452", "old template: 来源: 石家庄新闻 作者: 2017-04-27 13:11:00 on one line",
         by_id(site, "018109452"), 0),
        ("enorth-a/v1/authors-doubled-label", "old template with authors and the 您当前的位置 label printed twice",
         pick(OLD, lambda c: bool(c.story.authors) and rendered(c).count("您当前的位置") == 2), 0),
        ("enorth-b-timefirst/v1/corpus-018523117", "time before source; empty keywords; URL date differs from the time",
         by_id(site, "018523117"), 0),
        ("enorth-b-timefirst/v1/authors", "time before source, labelled authors on the same line",
         pick(TIME_FIRST, lambda c: bool(c.story.authors)), 0),
        ("enorth-banner/v1/authors", "2018两会 banner: 来源 and time on one line, 作者 on the next; no breadcrumb",
         pick(BANNER, lambda c: bool(c.story.authors) and c.pages[0][0].kind != "lead"), 0),
        ("enorth-banner/v1/byline-lead-no-authors", "banner page without an author line; body opens with a byline",
         pick(BANNER, lambda c: not c.story.authors and c.pages[0][0].kind == "lead"), 0),
        ("enorth-city/v1/corpus-100922359", "city site (当前位置：), photo story: every paragraph a caption",
         by_id(site, "100922359"), 0),
        ("enorth-city/v1/baoding", "city site with a two-level breadcrumb",
         pick(CITY, lambda c: c.host.startswith("bd.")), 0),
    ]  # fmt: skip
    return [replica_case(router, name, note, copy, index) for name, note, copy, index in specs]


# ---------------------------------------------------------------- hand-written cases

FALLBACK_URL = "https://www.hebccw.cn/system/2025/03/18/101612345.shtml"
FALLBACK_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>雄安新区：高标准推进城市建设_长城网</title>
<link rel="stylesheet" href="/static/css/detail.css">
</head>
<body>
<div class="header"><a href="https://www.hebccw.cn/">长城网</a> <a href="https://www.hebccw.cn/news/">新闻</a> <a href="https://www.hebccw.cn/video/">视频</a></div>
<div class="detail">
  <div class="detailTitle">雄安新区：高标准推进城市建设</div>
  <div class="detailInfo"><span>来源：长城新媒体</span> <span>作者：王喆 李堃</span> <span>2025-03-18 09:15</span></div>
  <div class="detailMessage">
    <p>　　3月17日，记者在雄安新区容东片区看到，一栋栋住宅楼拔地而起，道路两侧绿树成荫，市民在口袋公园里散步休憩。</p>
    <p style="text-align:center"><img src="/img/2025/03/18/rongdong_1.jpg"></p>
    <p style="text-align:center">容东片区一角。长城新媒体记者 王喆 摄</p>
    <p>　　据介绍，雄安新区坚持“先植绿、后建城”，今年以来新建改造公园绿地12处，城市功能日趋完善。</p>
    <p>　　下一步，雄安新区将持续推进基础设施建设，着力打造宜居宜业的现代化城市。</p>
  </div>
  <div class="detailEditor">责任编辑：孙堃</div>
</div>
<div class="related"><h3>相关新闻</h3><ul>
  <li><a href="https://www.hebccw.cn/system/2025/03/17/101611111.shtml">雄安新区：春季植树造林全面展开</a></li>
  <li><a href="https://www.hebccw.cn/system/2025/03/16/101610000.shtml">河北：重点项目建设跑出加速度</a></li>
</ul></div>
<div class="footer">长城网版权所有 未经长城网书面特别授权，请勿转载或建立镜像，违者依法必究</div>
</body>
</html>
"""
# Reviewed by hand against FALLBACK_PAGE: no h1 (title from <title>, site suffix dropped), the
# header line is three spans of one block, the body is the densest block, the caption follows
# its image, the related-news links are not text, and there is no breadcrumb to read.
FALLBACK_EXPECTED: dict[str, Any] = {
    "kind": "article",
    "parser": "fallback",
    "title": "雄安新区：高标准推进城市建设",
    "subtitles": [],
    "source": "长城新媒体",
    "authors": ["王喆", "李堃"],
    "timestamp": "2025-03-18T09:15:00+08:00",
    "body": "3月17日，记者在雄安新区容东片区看到，一栋栋住宅楼拔地而起，道路两侧绿树成荫，市民在口袋公园里散步休憩。\n"
    "据介绍，雄安新区坚持“先植绿、后建城”，今年以来新建改造公园绿地12处，城市功能日趋完善。\n"
    "下一步，雄安新区将持续推进基础设施建设，着力打造宜居宜业的现代化城市。",
    "captions": ["容东片区一角。长城新媒体记者 王喆 摄"],
    "images": [
        {
            "url": "https://www.hebccw.cn/img/2025/03/18/rongdong_1.jpg",
            "caption": "容东片区一角。长城新媒体记者 王喆 摄",
        }
    ],
    "editor": "孙堃",
    "keywords": [],
    "breadcrumbs": [],
    "page_urls": [FALLBACK_URL],
    "problems": ["title: no h1 on page, read from <title>", "breadcrumbs: no breadcrumb on page"],
}


# ---------------------------------------------------------------- hebccw/v1, written by hand
# The 2026 template (site notes, sections 1-2) as a reader sees it: pages and expected outputs
# written by hand, never by running the parser. Only the h1 and div.detailMessage are known for
# sure, so the pages vary the rest: the info line's order and markup, the editor line's form and
# place, the trail's label and separator, captions with and without credit, a two-page article.

HEBCCW_FETCHED_AT = "2026-09-12T08:00:00+00:00"
HEBCCW_NAV = (
    '<div class="topbar"><div class="wrap"><a class="logo" href="//www.hebccw.cn/">'
    '<img src="//www.hebccw.cn/images/2026/logo.png" alt="长城网"></a>\n<ul class="nav">'
    '<li><a href="//www.hebccw.cn/">首页</a></li><li><a href="//heb.hebccw.cn/">河北</a></li>'
    '<li><a href="//news.hebccw.cn/">新闻</a></li><li><a href="//economy.hebccw.cn/">经济</a></li>'
    '<li><a href="//report.hebccw.cn/">长城原创</a></li><li><a href="//v.hebccw.cn/">视频</a></li>'
    "</ul></div></div>\n"
)
HEBCCW_SHARE = (
    '<div class="share">分享到：<a class="weixin" href="javascript:;" title="微信"></a>'
    '<a class="weibo" href="javascript:;" title="微博"></a><a class="qzone" href="javascript:;" title="QQ空间"></a></div>\n'
)
# a side box of dated headlines: its dates are not the article's
HEBCCW_HOT = (
    '<div class="detailRight"><div class="hotNews"><h3>热点</h3><ul>\n'
    '<li><a href="//heb.hebccw.cn/system/2026/09/11/102222013.shtml" target="_blank">河北启动秋季造林绿化行动</a><span>2026-09-11</span></li>\n'
    '<li><a href="//news.hebccw.cn/system/2026/09/11/102221998.shtml" target="_blank">雄安新区新开通三条公交线路</a><span>2026-09-11</span></li>\n'
    '<li><a href="//sjz.hebccw.cn/system/2026/09/10/102221602.shtml" target="_blank">石家庄地铁4号线进入试运行</a><span>2026-09-10</span></li>\n'
    "</ul></div></div>\n"
)
HEBCCW_FOOTER = (
    '<div class="footer"><p><a href="//www.hebccw.cn/about/">关于我们</a> | <a href="//www.hebccw.cn/about/contact.shtml">联系我们</a> | '
    '<a href="//www.hebccw.cn/about/copyright.shtml">版权声明</a></p>\n'
    "<p>长城新媒体集团主办 版权所有 未经授权禁止转载 违法和不良信息举报电话：0311-86048013</p></div>\n"
    '<script src="//www.hebccw.cn/js/2026/share.js"></script>\n</body>\n</html>\n'
)


def hebccw_page(title: str, channel: str, before: str, info: str, body: str, after: str) -> str:
    """A page of the 2026 template: `before` sits between the site navigation and the article
    (the trail, or a channel's sub-navigation), `after` right after div.detailMessage."""
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}_{channel}_长城网</title>\n"
        '<link rel="stylesheet" href="//www.hebccw.cn/css/2026/detail.css">\n</head>\n<body>\n'
        + HEBCCW_NAV
        + before
        + f'<div class="wrap detail">\n<div class="detailLeft">\n<h1>{title}</h1>\n{info}\n'
        + HEBCCW_SHARE
        + f'<div class="detailMessage">\n{body}\n</div>\n{after}</div>\n'
        + HEBCCW_HOT
        + "</div>\n"
        + HEBCCW_FOOTER
    )


def hebccw_expected(url: str, page_urls: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """The expected output: `fields` as read off the page, the rest empty."""
    expected: dict[str, Any] = {
        "kind": "article",
        "parser": "hebccw/v1",
        "title": "",
        "subtitles": [],
        "source": None,
        "authors": [],
        "timestamp": None,
        "body": "",
        "captions": [],
        "images": [],
        "editor": None,
        "keywords": [],
        "breadcrumbs": [],
        "page_urls": page_urls or [url],
        "problems": [],
    }
    unknown = set(fields) - set(expected)
    assert not unknown, unknown
    return expected | fields


YF = "https://yfupload.hebccw.cn"

# 1. time first, labelled source and author; a labelled trail; a pic-desc caption with a credit;
# a dated time and a `来源：` inside the body (neither is the header's); 关键词 and 责任编辑 after.
AUTUMN_URL = "https://heb.hebccw.cn/system/2026/09/10/102221376.shtml"
AUTUMN_CAPTION = "9月9日，永年区广府镇农民驾驶收获机收获玉米。河北日报记者 田明 摄"
AUTUMN_PAGE = hebccw_page(
    "我省秋粮机收进度过半",
    "河北",
    '<div class="crumbs">当前位置：<a href="//www.hebccw.cn/">首页</a> &gt; <a href="//heb.hebccw.cn/">河北</a> &gt; '
    '<a href="//heb.hebccw.cn/szyw/">时政要闻</a></div>\n',
    '<div class="info">2026-09-10 09:30:12&nbsp;&nbsp;来源：河北日报&nbsp;&nbsp;作者：田明</div>',
    "<p>　　9月9日，在邯郸市永年区广府镇的一处玉米地里，几台大型收获机来回穿梭，摘穗、剥皮、秸秆粉碎一气呵成。</p>\n"
    f'<p style="text-align:center"><img src="{YF}/2026/0910/1757467812345.jpg" alt=""></p>\n'
    f'<p class="pic-desc">{AUTUMN_CAPTION}</p>\n'
    "<p>　　据省农业农村厅2026年9月9日18时发布的农情调度，全省已收获秋粮1850万亩，机收率达到93%。</p>\n"
    "<p>　　“今年雨水调和，玉米亩产比去年高出一截。”种粮大户王建军说。</p>\n"
    "<p>　　省农业农村厅有关负责人介绍，下一步将组织农机手跨区作业，确保颗粒归仓。（数据来源：省农业农村厅）</p>",
    '<div class="keywords">关键词：秋粮，机收，丰收</div>\n<div class="editor">责任编辑：陈美冉</div>\n',
)
AUTUMN_EXPECTED = hebccw_expected(
    AUTUMN_URL,
    title="我省秋粮机收进度过半",
    source="河北日报",
    authors=["田明"],
    timestamp="2026-09-10T09:30:12+08:00",
    body="9月9日，在邯郸市永年区广府镇的一处玉米地里，几台大型收获机来回穿梭，摘穗、剥皮、秸秆粉碎一气呵成。\n"
    "据省农业农村厅2026年9月9日18时发布的农情调度，全省已收获秋粮1850万亩，机收率达到93%。\n"
    "“今年雨水调和，玉米亩产比去年高出一截。”种粮大户王建军说。\n"
    "省农业农村厅有关负责人介绍，下一步将组织农机手跨区作业，确保颗粒归仓。（数据来源：省农业农村厅）",
    captions=[AUTUMN_CAPTION],
    images=[{"url": f"{YF}/2026/0910/1757467812345.jpg", "caption": AUTUMN_CAPTION}],
    editor="陈美冉",
    keywords=["秋粮", "机收", "丰收"],
    breadcrumbs=["首页", "河北", "时政要闻"],
)

# 2. source first, time without seconds, no author; a trail without a label, separated by ＞; a
# centred lead echoing the title; a centred caption without a credit; an image whose next
# paragraph is text; 【责任编辑：】 as the body's last paragraph.
ZHENGDING_URL = "https://news.hebccw.cn/system/2026/07/21/102185530.shtml"
ZHENGDING_PAGE = hebccw_page(
    "正定古城迎来暑期游客高峰",
    "新闻",
    '<div class="crumbs"><a href="//www.hebccw.cn/">长城网</a> ＞ <a href="//news.hebccw.cn/">新闻</a> ＞ '
    '<a href="//news.hebccw.cn/hbyw/">河北要闻</a></div>\n',
    '<p class="info">来源：长城网&nbsp;&nbsp;2026-07-21 16:05</p>',
    '<p style="text-align: center;"><strong>正定古城暑期游客量创新高</strong></p>\n'
    "<p>　　7月以来，正定古城迎来暑期旅游高峰，南城门、荣国府、隆兴寺等景点游人如织。</p>\n"
    f'<p style="text-align: center;"><img src="{YF}/2026/0721/1753081234567.jpg" alt=""></p>\n'
    '<p style="text-align: center;">游客在正定古城南城门前拍照留念。</p>\n'
    "<p>　　据正定县文化广电和旅游局统计，7月1日至20日，全县累计接待游客186.5万人次，同比增长21%。</p>\n"
    '<p style="text-align: center;"><img src="//yfupload.hebccw.cn/2026/0721/1753081239876.jpg" alt=""></p>\n'
    "<p>　　夜幕降临，古城墙上亮起灯光，不少游客登上城墙，感受古城夜色。</p>\n"
    '<p style="text-align: right;">【责任编辑：吴玉秒】</p>',
    "",
)
ZHENGDING_EXPECTED = hebccw_expected(
    ZHENGDING_URL,
    title="正定古城迎来暑期游客高峰",
    subtitles=["正定古城暑期游客量创新高"],
    source="长城网",
    timestamp="2026-07-21T16:05:00+08:00",
    body="7月以来，正定古城迎来暑期旅游高峰，南城门、荣国府、隆兴寺等景点游人如织。\n"
    "据正定县文化广电和旅游局统计，7月1日至20日，全县累计接待游客186.5万人次，同比增长21%。\n"
    "夜幕降临，古城墙上亮起灯光，不少游客登上城墙，感受古城夜色。",
    captions=["游客在正定古城南城门前拍照留念。"],
    images=[
        {"url": f"{YF}/2026/0721/1753081234567.jpg", "caption": "游客在正定古城南城门前拍照留念。"},
        {"url": f"{YF}/2026/0721/1753081239876.jpg", "caption": None},
    ],
    editor="吴玉秒",
    breadcrumbs=["长城网", "新闻", "河北要闻"],
)

# 3. the info line in spans printed without spaces, values in <em>/<i>, 发布时间： and a Chinese
# date; trail `您现在的位置：` with »; a pictext caption; `编辑` inside the last sentence;
# `(编辑：)` as the body's last paragraph.
LANGFANG_URL = "https://lf.hebccw.cn/system/2026/02/06/102151729.shtml"
LANGFANG_CAPTION = "2月5日，小朋友在廊坊市自然公园冰雪乐园滑雪圈。廊坊日报记者 张瑞 摄"
LANGFANG_PAGE = hebccw_page(
    "廊坊：“冰雪+非遗”点亮春节假期",
    "廊坊",
    '<div class="crumbs">您现在的位置：<a href="//www.hebccw.cn/">首页</a> » <a href="//lf.hebccw.cn/">廊坊</a> » '
    '<a href="//lf.hebccw.cn/lfxw/">廊坊新闻</a></div>\n',
    '<div class="detailInfo"><span class="time">发布时间：<em>2026年02月06日 14:20</em></span>'
    '<span class="source">来源：<i>廊坊日报</i></span><span class="author">作者：<i>刘洋 陈思</i></span></div>',
    "<p>　　春节将至，廊坊市各地推出冰雪运动、非遗展演等系列活动，丰富群众节日文化生活。</p>\n"
    f'<div class="pic"><img src="{YF}/2026/0206/1770358800123.jpg" alt=""></div>\n'
    f'<p class="pictext">{LANGFANG_CAPTION}</p>\n'
    "<p>　　在文安县，一场非遗展演吸引了众多市民驻足观看，舞龙舞狮、秧歌表演轮番上阵。</p>\n"
    "<p>　　活动期间，廊坊还将推出《廊坊非遗》图册，该书由河北教育出版社编辑出版，定价：48元。</p>\n"
    "<p>(编辑：赵晓雪)</p>",
    "",
)
LANGFANG_EXPECTED = hebccw_expected(
    LANGFANG_URL,
    title="廊坊：“冰雪+非遗”点亮春节假期",
    source="廊坊日报",
    authors=["刘洋", "陈思"],
    timestamp="2026-02-06T14:20:00+08:00",
    body="春节将至，廊坊市各地推出冰雪运动、非遗展演等系列活动，丰富群众节日文化生活。\n"
    "在文安县，一场非遗展演吸引了众多市民驻足观看，舞龙舞狮、秧歌表演轮番上阵。\n"
    "活动期间，廊坊还将推出《廊坊非遗》图册，该书由河北教育出版社编辑出版，定价：48元。",
    captions=[LANGFANG_CAPTION],
    images=[{"url": f"{YF}/2026/0206/1770358800123.jpg", "caption": LANGFANG_CAPTION}],
    editor="赵晓雪",
    breadcrumbs=["首页", "廊坊", "廊坊新闻"],
)

# 4. the source a link, 时间： label; trail without a label, separated by /; a centred caption
# with （资料图片）; 标签： as adjacent links and 编辑： after the body; no charset in the header.
ECONOMY_URL = "https://economy.hebccw.cn/system/2025/09/19/102105786.shtml"
ECONOMY_CAPTION = "唐山一家钢铁企业的智能化生产控制中心。（资料图片）"
ECONOMY_PAGE = hebccw_page(
    "河北工业互联网平台连接设备超百万台",
    "经济",
    '<div class="crumbs"><a href="//www.hebccw.cn/">长城网</a> / <a href="//economy.hebccw.cn/">经济</a> / '
    '<a href="//economy.hebccw.cn/cyjj/">产业经济</a></div>\n',
    '<div class="info"><span>来源：<a href="http://www.hebnews.cn/" target="_blank">河北新闻网</a></span>&nbsp;'
    "<span>时间：2025-09-19 08:45:00</span></div>",
    "<p>　　记者从省工业和信息化厅获悉，截至8月底，我省重点工业互联网平台连接设备突破100万台（套），服务企业超过3万家。</p>\n"
    f'<p style="text-align:center"><img src="{YF}/2025/0919/1758242700456.jpg" alt=""></p>\n'
    f'<p style="text-align:center">{ECONOMY_CAPTION}</p>\n'
    "<p>　　钢铁、装备制造、石化等行业龙头企业率先上云用平台，带动产业链上下游企业协同发展。</p>\n"
    "<p>　　下一步，我省将实施“工业互联网+”专项行动，推动更多中小企业数字化转型。</p>",
    '<div class="tags">标签：<a href="//economy.hebccw.cn/tag/gyhlw/">工业互联网</a>'
    '<a href="//economy.hebccw.cn/tag/szjj/">数字经济</a></div>\n<p class="bianji">编辑：刘政</p>\n',
)
ECONOMY_EXPECTED = hebccw_expected(
    ECONOMY_URL,
    title="河北工业互联网平台连接设备超百万台",
    source="河北新闻网",
    timestamp="2025-09-19T08:45:00+08:00",
    body="记者从省工业和信息化厅获悉，截至8月底，我省重点工业互联网平台连接设备突破100万台（套），服务企业超过3万家。\n"
    "钢铁、装备制造、石化等行业龙头企业率先上云用平台，带动产业链上下游企业协同发展。\n"
    "下一步，我省将实施“工业互联网+”专项行动，推动更多中小企业数字化转型。",
    captions=[ECONOMY_CAPTION],
    images=[{"url": f"{YF}/2025/0919/1758242700456.jpg", "caption": ECONOMY_CAPTION}],
    editor="刘政",
    keywords=["工业互联网", "数字经济"],
    breadcrumbs=["长城网", "经济", "产业经济"],
)

# 5. no trail (a channel sub-navigation with | instead); authors after the source without a
# label; a photo group (two images, one pictext paragraph with two credited lines); [责任编辑：].
BAODING_URL = "https://bd.hebccw.cn/system/2025/04/22/102055296.shtml"
BAODING_CAPTIONS = [
    "4月21日，游客在顺平县梨园内赏花拍照。保定日报记者 薛惠娟 摄",
    "梨花盛开的顺平县腰山镇。保定日报记者 任学光 摄",
]
BAODING_PAGE = hebccw_page(
    "保定：千亩梨花迎春绽放",
    "保定",
    '<div class="subnav"><a href="/">保定首页</a> | <a href="/bdxw/">保定新闻</a> | <a href="/xqdt/">县区动态</a></div>\n',
    '<div class="info">来源：保定日报客户端&nbsp;&nbsp;薛惠娟 任学光&nbsp;&nbsp;2025-04-22 10:12:36</div>',
    "<p>　　连日来，顺平县万亩梨园进入盛花期，洁白的梨花竞相绽放，吸引众多游客前来踏青赏花。</p>\n"
    f'<p style="text-align:center"><img src="{YF}/2025/0422/1745287956001.jpg" alt=""></p>\n'
    f'<p style="text-align:center"><img src="{YF}/2025/0422/1745287956002.jpg" alt=""></p>\n'
    f'<p class="pictext">{BAODING_CAPTIONS[0]}<br>{BAODING_CAPTIONS[1]}</p>\n'
    "<p>　　近年来，顺平县依托梨果产业发展乡村旅游，今年已接待游客12万人次。</p>",
    '<div class="editor">[责任编辑：孙堃]</div>\n',
)
BAODING_EXPECTED = hebccw_expected(
    BAODING_URL,
    title="保定：千亩梨花迎春绽放",
    source="保定日报客户端",
    authors=["薛惠娟", "任学光"],
    timestamp="2025-04-22T10:12:36+08:00",
    body="连日来，顺平县万亩梨园进入盛花期，洁白的梨花竞相绽放，吸引众多游客前来踏青赏花。\n"
    "近年来，顺平县依托梨果产业发展乡村旅游，今年已接待游客12万人次。",
    captions=BAODING_CAPTIONS,
    images=[
        {"url": f"{YF}/2025/0422/1745287956001.jpg", "caption": BAODING_CAPTIONS[0]},
        {"url": f"{YF}/2025/0422/1745287956002.jpg", "caption": BAODING_CAPTIONS[1]},
    ],
    editor="孙堃",
    problems=["breadcrumbs: no breadcrumb on page"],
)

# 6. no source at all (the info line holds the time only), no editor line; `（数据来源：）` as the
# body's last paragraph is text.
PRESS_URL = "https://hebfb.hebccw.cn/system/2025/11/12/102122445.shtml"
PRESS_PAGE = hebccw_page(
    "河北省前三季度经济运行情况新闻发布会举行",
    "省政府新闻办",
    '<div class="crumbs">当前位置：<a href="//hebfb.hebccw.cn/">省政府新闻办</a> &gt; '
    '<a href="//hebfb.hebccw.cn/xwfbh/">新闻发布会</a></div>\n',
    '<div class="info"><span class="time">2025-11-12 15:00:00</span></div>',
    "<p>　　11月12日上午，省政府新闻办召开新闻发布会，介绍全省前三季度经济运行情况。</p>\n"
    "<p>　　省统计局有关负责人介绍，前三季度，全省生产总值同比增长5.6%，规模以上工业增加值增长7.1%。</p>\n"
    "<p>　　发布会上，有记者问：“今年以来，我省新质生产力发展有哪些亮点？”</p>\n"
    "<p>　　（数据来源：河北省统计局）</p>",
    "",
)
PRESS_EXPECTED = hebccw_expected(
    PRESS_URL,
    title="河北省前三季度经济运行情况新闻发布会举行",
    timestamp="2025-11-12T15:00:00+08:00",
    body="11月12日上午，省政府新闻办召开新闻发布会，介绍全省前三季度经济运行情况。\n"
    "省统计局有关负责人介绍，前三季度，全省生产总值同比增长5.6%，规模以上工业增加值增长7.1%。\n"
    "发布会上，有记者问：“今年以来，我省新质生产力发展有哪些亮点？”\n"
    "（数据来源：河北省统计局）",
    breadcrumbs=["省政府新闻办", "新闻发布会"],
    problems=["source: no 来源 on the info line", "editor: no 编辑 line in or after the body"],
)

# 7-8. a two-page article: source, time, authors; the pager inside div.detailMessage; a byline
# lead on page 1; page 2 opens with a sub-heading and has a pic-desc caption without a credit.
SESSIONS_URL = "https://heb.hebccw.cn/system/2026/03/05/102160311.shtml"
SESSIONS_URL_2 = "https://heb.hebccw.cn/system/2026/03/05/102160311_2.shtml"
SESSIONS_TITLE = "代表委员热议政府工作报告：加快建设经济强省、美丽河北"
SESSIONS_CAPTION = "3月4日，河北代表团举行全体会议。"


def sessions_page(body: str) -> str:
    return hebccw_page(
        SESSIONS_TITLE,
        "河北",
        '<div class="crumbs">当前位置：<a href="//www.hebccw.cn/">首页</a> &gt; <a href="//heb.hebccw.cn/">河北</a> &gt; '
        '<a href="//heb.hebccw.cn/2026qglh/">2026全国两会</a></div>\n',
        '<div class="info">来源：河北日报&nbsp;&nbsp;2026-03-05 07:32:00&nbsp;&nbsp;作者：四建磊 宋平</div>',
        body,
        '<div class="editor">（责任编辑：张谢雅）</div>\n',
    )


SESSIONS_PAGE_1 = sessions_page(
    "<p>　　河北日报记者 四建磊 宋平</p>\n"
    "<p>　　3月4日，十四届全国人大四次会议河北代表团在驻地举行全体会议，审议政府工作报告。</p>\n"
    "<p>　　代表们一致认为，政府工作报告是一个凝心聚力、求真务实的好报告。</p>\n"
    '<div class="pages"><span class="current">1</span> <a href="102160311_2.shtml">2</a> '
    '<a href="102160311_2.shtml">下一页</a></div>'
)
SESSIONS_PAGE_2 = sessions_page(
    "<p>　　聚焦高质量发展</p>\n"
    "<p>　　代表们表示，要坚定不移推进京津冀协同发展，高标准高质量建设雄安新区。</p>\n"
    f'<p style="text-align:center"><img src="{YF}/2026/0305/1772667120789.jpg" alt=""></p>\n'
    f'<p class="pic-desc">{SESSIONS_CAPTION}</p>\n'
    "<p>　　委员们建议，进一步加大科技创新投入，培育壮大新质生产力。</p>\n"
    '<div class="pages"><a href="102160311.shtml">上一页</a> <a href="102160311.shtml">1</a> '
    '<span class="current">2</span></div>'
)
SESSIONS_COMMON: dict[str, Any] = {
    "title": SESSIONS_TITLE,
    "source": "河北日报",
    "authors": ["四建磊", "宋平"],
    "timestamp": "2026-03-05T07:32:00+08:00",
    "editor": "张谢雅",
    "breadcrumbs": ["首页", "河北", "2026全国两会"],
}
SESSIONS_EXPECTED_1 = hebccw_expected(
    SESSIONS_URL,
    [SESSIONS_URL, SESSIONS_URL_2],
    subtitles=["河北日报记者 四建磊 宋平"],
    body="3月4日，十四届全国人大四次会议河北代表团在驻地举行全体会议，审议政府工作报告。\n"
    "代表们一致认为，政府工作报告是一个凝心聚力、求真务实的好报告。",
    **SESSIONS_COMMON,
)
SESSIONS_EXPECTED_2 = hebccw_expected(
    SESSIONS_URL_2,
    [SESSIONS_URL, SESSIONS_URL_2],
    body="聚焦高质量发展\n"
    "代表们表示，要坚定不移推进京津冀协同发展，高标准高质量建设雄安新区。\n"
    "委员们建议，进一步加大科技创新投入，培育壮大新质生产力。",
    captions=[SESSIONS_CAPTION],
    images=[{"url": f"{YF}/2026/0305/1772667120789.jpg", "caption": SESSIONS_CAPTION}],
    **SESSIONS_COMMON,
)

# 9. a date without a time (no timestamp, a problem); the trail ends in 正文; a <figcaption>
# without a credit; 责任编辑： as the body's last paragraph.
PARKS_URL = "https://sjz.hebccw.cn/system/2026/04/02/102170088.shtml"
PARKS_CAPTION = "市民在长安区一处口袋公园休闲。"
PARKS_PAGE = hebccw_page(
    "石家庄：“口袋公园”扮靓城市街巷",
    "石家庄",
    '<div class="crumbs">当前位置：<a href="//www.hebccw.cn/">首页</a> &gt; <a href="//sjz.hebccw.cn/">石家庄</a> &gt; 正文</div>\n',
    '<div class="info">2026-04-02&nbsp;&nbsp;&nbsp;来源：石家庄日报</div>',
    "<p>　　今年以来，石家庄市利用边角地、闲置地建设口袋公园46个，让市民出门见绿、推窗见景。</p>\n"
    f'<figure><img src="{YF}/2026/0402/1775095200321.jpg" alt=""><figcaption>{PARKS_CAPTION}</figcaption></figure>\n'
    "<p>　　这些口袋公园面积虽小，却配备了健身器材、休闲座椅和儿童游乐设施。</p>\n"
    "<p>责任编辑：刘晓菲</p>",
    "",
)
PARKS_EXPECTED = hebccw_expected(
    PARKS_URL,
    title="石家庄：“口袋公园”扮靓城市街巷",
    source="石家庄日报",
    body="今年以来，石家庄市利用边角地、闲置地建设口袋公园46个，让市民出门见绿、推窗见景。\n"
    "这些口袋公园面积虽小，却配备了健身器材、休闲座椅和儿童游乐设施。",
    captions=[PARKS_CAPTION],
    images=[{"url": f"{YF}/2026/0402/1775095200321.jpg", "caption": PARKS_CAPTION}],
    editor="刘晓菲",
    breadcrumbs=["首页", "石家庄"],
    problems=["timestamp: only a date (2026-04-02) on the info line, no time"],
)


def hebccw_cases() -> list[Case]:
    utf8 = "text/html; charset=utf-8"
    specs: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
        ("time-first-102221376", "time, 来源, 作者 on one line; labelled trail; pic-desc caption; a dated time and 来源： in the body; 关键词 and 责任编辑 after the body",
         AUTUMN_URL, utf8, AUTUMN_PAGE, AUTUMN_EXPECTED),
        ("source-first-102185530", "来源 then a time without seconds, no author; trail without label (＞); centred lead; centred caption without credit; 【责任编辑：】 inside the body",
         ZHENGDING_URL, utf8, ZHENGDING_PAGE, ZHENGDING_EXPECTED),
        ("spans-102151729", "info line in spans without spaces, <em>/<i>, 发布时间： and 2026年02月06日; 您现在的位置 with »; `编辑` in a sentence; (编辑：) inside the body",
         LANGFANG_URL, utf8, LANGFANG_PAGE, LANGFANG_EXPECTED),
        ("source-link-102105786", "the source a link, 时间： label; trail with /; 标签： as links; 编辑： after the body; no charset in the HTTP header",
         ECONOMY_URL, "text/html", ECONOMY_PAGE, ECONOMY_EXPECTED),
        ("no-breadcrumb-102055296", "no trail (a | sub-navigation); bare authors after the source; photo group; [责任编辑：]",
         BAODING_URL, utf8, BAODING_PAGE, BAODING_EXPECTED),
        ("no-source-102122445", "the info line holds the time only; no editor line; （数据来源：） in the body",
         PRESS_URL, utf8, PRESS_PAGE, PRESS_EXPECTED),
        ("multipage-102160311-p1", "page 1 of 2: pager inside the body, a byline lead",
         SESSIONS_URL, utf8, SESSIONS_PAGE_1, SESSIONS_EXPECTED_1),
        ("multipage-102160311-p2", "page 2 of 2: opens with a sub-heading (text), a caption without a credit",
         SESSIONS_URL_2, utf8, SESSIONS_PAGE_2, SESSIONS_EXPECTED_2),
        ("date-only-102170088", "a date without a time: no timestamp; trail ending in 正文; <figcaption>; 责任编辑： inside the body",
         PARKS_URL, utf8, PARKS_PAGE, PARKS_EXPECTED),
    ]  # fmt: skip
    return [
        Case(
            f"hebccw/v1/{name}",
            note,
            url,
            content_type,
            page.encode("utf-8"),
            expected,
            HEBCCW_FETCHED_AT,
        )
        for name, note, url, content_type, page, expected in specs
    ]


def hand_written_cases(site: Site) -> list[Case]:
    rolling = site.rolling[0]
    router = Router(site)
    response = router.get(rolling.url)
    rolling_expected: dict[str, Any] = {
        "kind": "rolling",
        "parser": "fallback",
        "title": rolling.title,
        **{
            name: []
            for name in ("subtitles", "authors", "captions", "images", "keywords", "breadcrumbs")
        },
        "source": None,
        "timestamp": None,
        "body": "",
        "editor": None,
        "page_urls": [rolling.url],
        "problems": ["page: live rolling page (正在更新), not an article"],
    }
    return [
        Case("fallback/hebccw-detail-message", "a page in a layout no version knows (hebccw.cn, UTF-8)",
             FALLBACK_URL, "text/html; charset=utf-8", FALLBACK_PAGE.encode("utf-8"), FALLBACK_EXPECTED),
        Case("rolling/bhc", "a live 正在更新 page: kind rolling, skipped by the spider",
             rolling.url, response.content_type, response.body, rolling_expected),
    ]  # fmt: skip


def write(case: Case) -> None:
    folder = OUT / case.name
    folder.mkdir(parents=True)
    (folder / "page.html.gz").write_bytes(gzip.compress(case.body, mtime=0))
    meta = {
        "url": case.url,
        "headers": {"Content-Type": case.content_type},
        "fetched_at": case.fetched_at,
        "note": case.note,
    }
    (folder / "meta.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (folder / "output.json").write_text(
        json.dumps(case.expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def main() -> int:
    site = build_site()
    cases = replica_cases(site) + hand_written_cases(site) + hebccw_cases()
    if OUT.exists():
        shutil.rmtree(OUT)
    for case in cases:
        write(case)
        print(f"{case.name:42s} {case.expected['parser']:24s} {case.note}")
    print(f"{len(cases)} cases in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
