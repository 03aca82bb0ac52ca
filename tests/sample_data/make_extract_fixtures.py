"""Write the extraction fixtures: tests/sample_data/extract/<case>/{page.html.gz,meta.json,output.json}.

    python tests/sample_data/make_extract_fixtures.py        (from the repository root)

Replica cases are pages of the default replica (`build_site()`) as its server sends them, and
their expected output is the replica's truth for that one page, not our parser's output. Two
cases are written by hand here, page and expected output both: a page in a layout no parser
version knows (the fallback) and a live rolling page. Review every output.json by eye against
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
        "fetched_at": FETCHED_AT,
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
    cases = replica_cases(site) + hand_written_cases(site)
    if OUT.exists():
        shutil.rmtree(OUT)
    for case in cases:
        write(case)
        print(f"{case.name:42s} {case.expected['parser']:24s} {case.note}")
    print(f"{len(cases)} cases in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
