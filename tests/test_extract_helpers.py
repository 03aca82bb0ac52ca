"""The shared extraction helpers on real strings from the site notes and the corpus."""

from __future__ import annotations

import pytest

from crawler.extract import extract
from crawler.extract.body import (
    echoes_title,
    has_photo_credit,
    is_byline_lead,
    is_pager_line,
    is_placeholder,
    lead_lines,
    segment_body,
)
from crawler.extract.breadcrumbs import has_trail_label, parse_breadcrumbs, parse_trail
from crawler.extract.bylines import (
    Byline,
    parse_author_line,
    parse_editor,
    parse_editor_line,
    parse_info_line,
    parse_keywords,
    parse_keywords_line,
    parse_source_line,
)
from crawler.extract.dates import dated_spans, parse_timestamp
from crawler.extract.text import IMAGE, MEDIA, TEXT, Unit, absolute_url, clean_text
from crawler.site.charset import charset_from_content_type, decode_html

# ---------------------------------------------------------------- bylines


@pytest.mark.parametrize(
    ("line", "source", "authors"),
    [
        ("来源: 河北日报  作者:四建磊 宋平", "河北日报", ["四建磊", "宋平"]),
        ("来源: 长城网   作者:耿佳 ", "长城网", ["耿佳"]),
        (
            "来源: 河北日报客户端  薛惠娟 任学光 郭东",
            "河北日报客户端",
            ["薛惠娟", "任学光", "郭东"],
        ),
        ("来源: 河北日报客户端", "河北日报客户端", []),
        ("来源: 长城网   作者:李皓 张谢雅 吴玉秒", "长城网", ["李皓", "张谢雅", "吴玉秒"]),
        ("来源：河北新闻网\xa0作者：田明 ", "河北新闻网", ["田明"]),
        ("来源：长城网\u3000作者：李皓、张谢雅、吴玉秒", "长城网", ["李皓", "张谢雅", "吴玉秒"]),
        ("来源：河北日报客户端\xa0\xa0薛惠娟、任学光", "河北日报客户端", ["薛惠娟", "任学光"]),
        ("来源 ： 冀云客户端 作者 ： 天虎", "冀云客户端", ["天虎"]),
        ("来源：", None, []),
        ("来源： 作者：天虎 延丽", None, ["天虎", "延丽"]),
    ],
)
def test_source_line(line: str, source: str | None, authors: list[str]) -> None:
    assert parse_source_line(line) == Byline(source, authors)


@pytest.mark.parametrize(
    ("line", "source", "authors"),
    [
        ("来源: 石家庄新闻 作者: 2017-04-27 13:11:00", "石家庄新闻", []),  # old template, one line
        ("来源：长城网 作者：四建磊 陈宝喆 2017-01-20 15:48:43", "长城网", ["四建磊", "陈宝喆"]),
        ("2017-10-22 11:56:46 来源: 长城新媒体", "长城新媒体", []),  # report 2017, time first
        ("2017-08-03 18:45:31 来源：河北新闻网  作者：延丽", "河北新闻网", ["延丽"]),
        ("来源: 长城网 2018-01-24 16:32:00", "长城网", []),  # banner: authors on the next line
        (
            "来源：河北日报客户端 薛惠娟 任学光 郭东 2018-10-22 14:41:26",
            "河北日报客户端",
            ["薛惠娟", "任学光", "郭东"],
        ),
    ],
)
def test_source_line_with_the_time_on_it(line: str, source: str, authors: list[str]) -> None:
    assert parse_source_line(line) == Byline(source, authors)


def test_source_as_marked_by_the_cms_block_may_hold_a_space() -> None:
    assert parse_source_line("来源：河北 日报 作者：宋平", source="河北 日报") == Byline(
        "河北 日报", ["宋平"]
    )
    assert parse_source_line("来源：  作者：宋平", source="") == Byline(None, ["宋平"])


def test_author_line() -> None:
    assert parse_author_line("作者:天虎 延丽") == ["天虎", "延丽"]
    assert parse_author_line("作者：陈宝喆 康紫祎") == ["陈宝喆", "康紫祎"]
    assert parse_author_line("长城原创更多报道") == []


def test_no_source_label_gives_no_source() -> None:
    assert parse_source_line("分享：微信 微博") == Byline(None, [])


# ---------------------------------------------------------------- editor, keywords, breadcrumbs


@pytest.mark.parametrize(
    ("text", "keywords", "editor"),
    [
        # keywords and editor adjacent, no separator (corpus 101289591)
        ("关键词:河北,百姓看联播责任编辑:刘政", ["河北", "百姓看联播"], "刘政"),
        ("关键词:责任编辑:姚杰", [], "姚杰"),  # empty keywords
        ("关键词：许勤，对接，交流", ["许勤", "对接", "交流"], None),
        ("关键词：我和我的家乡 塞罕坝 崇礼", ["我和我的家乡", "塞罕坝", "崇礼"], None),
        ("关键词：", [], None),
        ("责任编辑：陈美冉", [], "陈美冉"),
        ("[责任编辑：吴玉秒]", [], "吴玉秒"),
    ],
)
def test_keywords_and_editor(text: str, keywords: list[str], editor: str | None) -> None:
    assert parse_keywords(text) == keywords
    assert parse_editor(text) == editor


@pytest.mark.parametrize(
    ("text", "crumbs"),
    [
        (
            "河北频道 > 省领导活动报道集 > 许勤 > 其他活动",
            ["河北频道", "省领导活动报道集", "许勤", "其他活动"],
        ),
        (
            "您当前的位置 : 长城网 >> 河北新闻频道 >> 专题库 >> 专题新闻",
            ["长城网", "河北新闻频道", "专题库", "专题新闻"],
        ),
        ("您当前的位置 : 您当前的位置 : 长城网 >> 河北新闻频道", ["长城网", "河北新闻频道"]),
        ("当前位置：河北新闻", ["河北新闻"]),
        ("当前位置: 保定新闻 > 时政要闻", ["保定新闻", "时政要闻"]),
        ("长城原创 > ", ["长城原创"]),
        ("首页 风物 新闻 当前位置：石家庄风物", ["石家庄风物"]),  # site navigation before the label
        ("", []),
    ],
)
def test_breadcrumbs(text: str, crumbs: list[str]) -> None:
    assert parse_breadcrumbs(text) == crumbs


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2018-07-17 10:20:26", "2018-07-17T10:20:26+08:00"),
        ("来源: 长城网 2018-01-24 16:32:00", "2018-01-24T16:32:00+08:00"),
        ("2017-10-22 11:56:46 来源: 长城新媒体", "2017-10-22T11:56:46+08:00"),
        ("2025-03-18 09:15", "2025-03-18T09:15:00+08:00"),
        ("2018年07月17日 10:20", "2018-07-17T10:20:00+08:00"),
        # an invalid date is skipped
        ("2018-13-40 10:20:26 2019-05-19 08:27:29", "2019-05-19T08:27:29+08:00"),
        ("7月15日-16日，省委副书记", None),
        ("", None),
    ],
)
def test_timestamp(text: str, iso: str | None) -> None:
    assert parse_timestamp(text) == iso


# ---------------------------------------------------------------- captions, placeholders, leads


@pytest.mark.parametrize(
    "caption",
    [
        "这是15日，许勤与齐扎拉一行深入扎布让村边境小康村项目，实地察看我省援建项目情况。河北日报客户端记者孟宇光摄",
        "这是考察团一行在正定县塔元庄村实地考察。  记者 庞晓玮 摄",
        "宋涛王东峰同使节们进行座谈。  长城网记者 张瑞雨 摄",
        "新闻发布会现场。记者吴雨霏 摄",
        "石家庄人民广场的樱花迎风初绽。河北日报记者 田明 摄",
        "长城新媒体记者 李相伯 摄",
        "香港中华总商会代表团一行参观了承德市物流园区。长城网记者 张瑞雨 摄影报道",
        "7月19日，省委常委、秘书长梁田庚到定州市调研文化旅游工作。 （资料图）",
        "塞罕坝机械林场。(资料图)",
        "袁桐利强调，要坚持问题导向。新华社发",
    ],
)
def test_photo_credits(caption: str) -> None:
    assert has_photo_credit(caption)


@pytest.mark.parametrize(
    "text",
    [
        "省领导梁田庚、邢国辉、王浩、王会勇、夏延军、曹素华和省政府秘书长朱浩文参加上述活动。",
        "文 案:张瑞雨",
        "摄 像:张瑞雨 耿佳",
        "(长城网·冀云客户端记者 李皓 张谢雅 吴玉秒采制)",
        "女士们、先生们,记者朋友们:",
    ],
)
def test_not_photo_credits(text: str) -> None:
    assert not has_photo_credit(text)


@pytest.mark.parametrize(
    ("text", "placeholder"), [("...", True), ("……", True), ("。。。", True), ("...等", False)]
)
def test_placeholders(text: str, placeholder: bool) -> None:
    assert is_placeholder(text) is placeholder


def test_lead_lines_of_the_seed_story() -> None:
    title = "许勤率河北省党政代表团赴西藏阿里就对口支援工作对接交流"
    lines = [
        "许勤率我省党政代表团赴西藏阿里就对口支援工作对接交流",
        "与阿里人民心心相印团结并进",
        "为加强民族团结、建设美丽西藏作出河北贡献",
        (
            "7月15日-16日，省委副书记、省长许勤率我省党政代表团，就深入贯彻落实习近平总书记关于西藏工作的重要指示精神，"
            "进一步做好河北对口支援工作，到西藏阿里地区深入对接交流。"
        ),
    ]
    assert echoes_title(lines[0], title)
    assert not echoes_title(lines[1], title)
    assert lead_lines(lines, title) == 3


def test_lead_lines_of_019197980() -> None:
    title = "香港特别行政区全国政协委员考察团到河北考察"
    assert (
        lead_lines(
            [
                "香港特别行政区全国政协委员考察团到我省考察",
                "杨传堂参加考察",
                "10月15日至19日，全国政协副主席到我省考察。",
            ],
            title,
        )
        == 2
    )


def test_a_reporter_byline_opening_the_body_is_a_lead_line() -> None:
    assert is_byline_lead("长城新媒体记者 赵永刚 李相伯")
    assert is_byline_lead("长城新媒体记者 吴玉秒")
    assert (
        lead_lines(
            ["长城新媒体记者 赵永刚 李相伯", "5月6日，许勤到沧州市调研。"], "沧州市扎实推进安全生产"
        )
        == 1
    )


def test_short_openings_that_do_not_echo_the_title_are_text() -> None:
    title = "河北省政府新闻办“第五届河北省旅游产业发展大会”新闻发布会文字实录"
    assert (
        lead_lines(
            ["四、安全生产呈现新气象", "记者在现场看到，施工人员正在紧张有序地作业。"],
            "乡村振兴“石家庄市样本”观察",
        )
        == 0
    )
    assert (
        lead_lines(["女士们、先生们，记者朋友们：", "上午好！欢迎出席今天的发布会。"], title) == 0
    )
    assert lead_lines(["文 案：张瑞雨"], "微视频 | 我的家乡在河北") == 0


# ---------------------------------------------------------------- body segmentation


def text(line: str) -> Unit:
    return Unit(TEXT, line, "")


def image(src: str) -> Unit:
    return Unit(IMAGE, "", src)


PAGE = "http://heb.hebei.com.cn/system/2021/01/11/100553948.shtml"


def test_photo_group_gives_one_caption_per_image() -> None:
    captions = [
        "一行参观了物流园区。长城网记者 张瑞雨 摄影报道",
        "亲切交流。  河北日报客户端记者戴璐繁摄",
        "拿出务实管用的举措。新华社发",
    ]
    units = [
        text("正文第一段。"),
        image("/a.jpg"),
        image("/b.jpg"),
        image("http://pic1.hebei.com.cn/c.jpg"),
        *map(text, captions),
        text("正文第二段。"),
    ]
    body = segment_body(units, "标题", PAGE)
    assert body.paragraphs == ["正文第一段。", "正文第二段。"]
    assert body.captions == captions
    assert [i["url"] for i in body.images] == [
        "http://heb.hebei.com.cn/a.jpg", "http://heb.hebei.com.cn/b.jpg", "http://pic1.hebei.com.cn/c.jpg",
    ]  # fmt: skip
    assert [i["caption"] for i in body.images] == captions


def test_a_caption_belongs_to_the_image_right_before_it() -> None:
    units = [image("/a.jpg"), image("/b.jpg"), text("会议现场。记者 庞晓玮 摄"), text("正文。")]
    body = segment_body(units, "标题", PAGE)
    assert [i["caption"] for i in body.images] == [None, "会议现场。记者 庞晓玮 摄"]


def test_a_paragraph_after_an_image_without_a_credit_is_text() -> None:
    body = segment_body(
        [image("/a.jpg"), text("河北省委宣传部新闻发布处二级调研员袁金辉：")], "标题", PAGE
    )
    assert body.paragraphs == ["河北省委宣传部新闻发布处二级调研员袁金辉："]
    assert body.captions == [] and body.images[0]["caption"] is None


def test_repeated_captions_are_kept_and_placeholders_dropped() -> None:
    caption = "许勤与齐扎拉一行实地察看。河北日报客户端记者孟宇光摄"
    units = [
        image("/a.jpg"),
        text(caption),
        text("..."),
        image("/b.jpg"),
        text(caption),
        text("……"),
        Unit(MEDIA, "", ""),
    ]
    body = segment_body(units, "标题", PAGE)
    assert body.captions == [caption, caption]
    assert body.paragraphs == []


def test_lead_lines_only_on_the_first_page() -> None:
    units = [text("许勤出席全省经济工作会议"), text("正文。")]
    assert segment_body(units, "许勤出席全省经济工作会议", PAGE).subtitles == [
        "许勤出席全省经济工作会议"
    ]
    assert segment_body(units, "许勤出席全省经济工作会议", PAGE, first_page=False).subtitles == []


# ---------------------------------------------------------------- text and URLs


def test_clean_text_collapses_every_kind_of_space() -> None:
    assert clean_text("\u3000\u3000塞罕坝\xa0\xa0 机械林场\n") == "塞罕坝 机械林场"
    assert clean_text("a\x01b\x7f") == "ab"  # controls print nothing: removed, not spaced
    assert clean_text("“世界屋脊”，阿里") == "“世界屋脊”，阿里"  # full-width stays


@pytest.mark.parametrize(
    ("href", "url"),
    [
        (
            "/pic/201807/17/cdd8f16adf_2.jpg",
            "http://heb.hebei.com.cn/pic/201807/17/cdd8f16adf_2.jpg",
        ),
        ("018955625_02.shtml", "http://heb.hebei.com.cn/system/2018/07/17/018955625_02.shtml"),
        ("../../17/x.jpg", "http://heb.hebei.com.cn/system/2018/17/x.jpg"),
        (
            "http://pic1.hebei.com.cn/003/20180717/912265b1f5_1.jpg",
            "http://pic1.hebei.com.cn/003/20180717/912265b1f5_1.jpg",
        ),
        ("//pic1.hebei.com.cn/x.jpg", "http://pic1.hebei.com.cn/x.jpg"),
    ],
)
def test_absolute_url(href: str, url: str) -> None:
    assert absolute_url("http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml", href) == url


# ---------------------------------------------------------------- charset

GB_PAGE = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312" /></head><body><p>省长董仚生、朱镕、李堃、王喆</p></body></html>'


def test_gb2312_pages_are_read_as_gb18030() -> None:
    body = GB_PAGE.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")  # 仚 is not in GB2312: why every GB name is read as GB18030
    for header in (None, "gb2312", "GBK", "gb_2312-80", "x-unknown-charset"):
        assert decode_html(body, header) == GB_PAGE


def test_utf8_is_honoured_and_wins_over_a_wrong_declaration() -> None:
    assert decode_html(GB_PAGE.encode("utf-8"), "utf-8") == GB_PAGE
    # the meta tag says gb2312, the bytes say UTF-8
    assert decode_html(GB_PAGE.encode("utf-8")) == GB_PAGE


def test_a_wrong_header_does_not_win_over_the_bytes() -> None:
    body = GB_PAGE.encode("gb18030")
    assert decode_html(body, "utf-8") == GB_PAGE
    assert decode_html(body, "iso-8859-1") == GB_PAGE  # a server default, not the page's charset


def test_undecodable_bytes_are_replaced_not_dropped() -> None:
    text = decode_html(GB_PAGE.encode("gb18030") + b"\xff\xff")
    assert text == GB_PAGE + "\ufffd\ufffd"


def test_charset_from_content_type() -> None:
    assert charset_from_content_type("text/html; charset=gb2312") == "gb2312"
    assert charset_from_content_type('text/html; Charset="UTF-8"') == "UTF-8"
    assert charset_from_content_type("text/html") is None
    assert charset_from_content_type(None) is None


# ---------------------------------------------------------------- the v5.pages block


def pages_page(links: str) -> str:
    return (
        "<html><body><h1>标题</h1><div class='text'><p>正文。</p></div>"
        f'<!--enorth cms block start [ name="v5.pages" ]-->{links}'
        '<!--enorth cms block end [ name="v5.pages" cost="0"]--></body></html>'
    )


def test_page_urls_come_from_the_links_in_page_order() -> None:
    url = "http://heb.hebei.com.cn/system/2020/03/17/100237270_01.shtml"
    links = (
        '<a href="100237270.shtml">上一页</a> <a href="100237270.shtml">1</a> '
        '<span class="current">2</span> <a href="100237270_02.shtml">3</a>'
    )
    extraction = extract(pages_page(links), url)
    assert extraction.page_urls == [
        "http://heb.hebei.com.cn/system/2020/03/17/100237270.shtml",
        url,
        "http://heb.hebei.com.cn/system/2020/03/17/100237270_02.shtml",
    ]
    assert extraction.fields["subtitles"] == []


def test_page_urls_when_the_current_page_is_linked_under_the_other_scheme() -> None:
    url = "https://heb.hebei.com.cn/system/2020/03/17/100237270.shtml"
    links = (
        '<a href="http://heb.hebei.com.cn/system/2020/03/17/100237270.shtml">1</a> '
        '<a href="http://heb.hebei.com.cn/system/2020/03/17/100237270_02.shtml">2</a>'
    )
    assert extract(pages_page(links), url).page_urls == [
        url,
        "http://heb.hebei.com.cn/system/2020/03/17/100237270_02.shtml",
    ]


def test_an_empty_pages_block_is_a_single_page() -> None:
    url = "http://heb.hebei.com.cn/system/2018/07/17/018955625.shtml"
    assert extract(pages_page(""), url).page_urls == [url]


# ---------------------------------------------------------------- the 2026 template (hebccw/v1)


@pytest.mark.parametrize(
    ("line", "source", "authors", "timestamp"),
    [
        ("2026-09-10 09:30:12 来源：河北日报 作者：张三", "河北日报", ["张三"], "2026-09-10T09:30:12"),
        ("来源：长城网 2026-09-10 09:30", "长城网", [], "2026-09-10T09:30:00"),
        ("来源：长城网\xa0\xa02026-09-10 09:30\xa0\xa0作者：耿佳", "长城网", ["耿佳"], "2026-09-10T09:30:00"),
        # spans printed without a space between them
        ("2026-09-10 09:30:12来源：河北日报作者：张三、李四", "河北日报", ["张三", "李四"], "2026-09-10T09:30:12"),
        ("发布时间： 2026年09月10日 09:30 来源： 冀云客户端", "冀云客户端", [], "2026-09-10T09:30:00"),
        ("来源： 河北新闻网 时间：2025-09-19 08:45:00", "河北新闻网", [], "2025-09-19T08:45:00"),
        ("来源：河北日报客户端 薛惠娟 任学光 2025-04-22 10:12:36", "河北日报客户端", ["薛惠娟", "任学光"], "2025-04-22T10:12:36"),
        ("来源：长城网 | 作者：耿佳 | 2026-09-10 09:30 | 浏览次数：1024", "长城网", ["耿佳"], "2026-09-10T09:30:00"),
        ("来源：长城网 分享到：", "长城网", [], None),
        # the time it was published, not the time it was updated
        ("更新时间：2026-09-11 10:00 发布时间：2026-09-10 09:30 来源：长城网", "长城网", [], "2026-09-10T09:30:00"),
    ],
)  # fmt: skip
def test_info_line(line: str, source: str, authors: list[str], timestamp: str | None) -> None:
    info = parse_info_line(line)
    assert (info.source, info.authors) == (source, authors)
    assert info.timestamp == (timestamp + "+08:00" if timestamp else None)


def test_info_line_leaves_empty_what_it_does_not_say() -> None:
    day_only = parse_info_line("2026-04-02\xa0\xa0来源：石家庄日报")
    assert (day_only.timestamp, day_only.day, day_only.source) == (None, "2026-04-02", "石家庄日报")
    time_only = parse_info_line("2025-11-12 15:00:00")
    assert (time_only.source, time_only.has_source_label) == (None, False)
    empty_source = parse_info_line("来源： 2026-09-10 09:30")
    assert (empty_source.source, empty_source.has_source_label) == (None, True)
    # words after the source that are not names are not taken for authors
    unread = parse_info_line("来源：河北日报 本报记者 张三")
    assert (unread.source, unread.authors, unread.unread) == ("河北日报", [], "本报记者 张三")
    assert parse_info_line("来源：长城网 浏览量 1024").authors == []
    assert parse_info_line("来源：长城网 编辑：吴玉秒 2026-09-10 09:30").editor == "吴玉秒"


@pytest.mark.parametrize(
    ("line", "editor"),
    [
        ("编辑：张三", "张三"),
        ("责任编辑：陈美冉", "陈美冉"),
        ("【责任编辑：吴玉秒】", "吴玉秒"),
        ("[责任编辑：孙堃]", "孙堃"),
        ("(编辑：赵晓雪)", "赵晓雪"),
        ("（编辑：孙七、周八）", "孙七、周八"),
        ("（责任编辑：张谢雅）", "张谢雅"),
        ("责任编辑：王五 审核：赵六", "王五"),
        ("文：李皓 图：张瑞 编辑：耿佳", "耿佳"),
        ("关键词：河北，联播 责任编辑：刘政", "刘政"),
        ("关键词:河北,百姓看联播责任编辑:刘政", "刘政"),
        # `编辑` inside a sentence, or a label with no name after it, is no editor line
        ("记者问编辑：这个栏目为什么受欢迎？", None),
        ("该书由河北教育出版社编辑出版，定价：48元。", None),
        ("编辑：这是一篇好稿子。", None),
        ("他说编辑：张三", None),
        ("编辑部地址：石家庄市裕华区", None),
        ("（数据来源：河北省统计局）", None),
        ("编辑：", None),
    ],
)
def test_editor_line(line: str, editor: str | None) -> None:
    assert parse_editor_line(line) == editor


@pytest.mark.parametrize(
    ("line", "keywords"),
    [
        ("关键词：秋粮，机收，丰收", ["秋粮", "机收", "丰收"]),
        ("标签： 工业互联网 数字经济", ["工业互联网", "数字经济"]),
        ("关键词：", []),
        ("关键词：河北，联播 责任编辑：刘政", ["河北", "联播"]),
        ("责任编辑：刘政", None),
        ("这一标签：并不准确", None),
    ],
)
def test_keywords_line(line: str, keywords: list[str] | None) -> None:
    assert parse_keywords_line(line) == keywords


@pytest.mark.parametrize(
    ("text", "crumbs"),
    [
        ("当前位置：首页 > 河北 > 时政要闻", ["首页", "河北", "时政要闻"]),
        ("您现在的位置：首页 » 廊坊 » 廊坊新闻", ["首页", "廊坊", "廊坊新闻"]),
        ("长城网 ＞ 新闻 ＞ 河北要闻", ["长城网", "新闻", "河北要闻"]),
        ("长城网 / 经济 / 产业经济", ["长城网", "经济", "产业经济"]),
        ("当前位置：首页 > 石家庄 > 正文", ["首页", "石家庄"]),
        ("您的位置：河北新闻", ["河北新闻"]),
    ],
)
def test_trail(text: str, crumbs: list[str]) -> None:
    assert has_trail_label(text) == ("位置" in text)
    assert parse_trail(text) == crumbs


def test_a_position_in_a_sentence_is_no_trail_label() -> None:
    assert not has_trail_label("该地地理位置：优越")


def test_dated_spans_tell_a_day_without_a_time() -> None:
    text = "2026-09-10 09:30:12 来源：河北日报 2026年9月8日 2026-13-01"
    assert dated_spans(text) == [(0, 19, "2026-09-10T09:30:12+08:00"), (28, 37, None)]


@pytest.mark.parametrize(
    ("text", "pager"),
    [
        ("1 2 下一页", True),
        ("上一页 1 2", True),
        ("共3页", True),
        ("2", True),
        ("第2页：聚焦高质量发展", False),
    ],
)
def test_pager_lines(text: str, pager: bool) -> None:
    assert is_pager_line(text) is pager


HEBCCW_URL = "https://heb.hebccw.cn/system/2026/09/10/102221376.shtml"


def detail_page(info: str, body: str, after: str = "", before: str = "") -> str:
    """A page of the 2026 template, with a side box of dated headlines and a footer."""
    return (
        '<html><head><meta charset="utf-8"><title>秋粮机收进度过半_河北_长城网</title></head><body>'
        f'{before}<div class="detailLeft"><h1>秋粮机收进度过半</h1>{info}'
        f'<div class="detailMessage">{body}</div>{after}</div>'
        '<div class="detailRight"><ul><li><a href="//heb.hebccw.cn/system/2026/09/11/102222013.shtml">'
        "河北启动秋季造林</a><span>2026-09-11 08:00</span></li></ul></div>"
        '<div class="footer">长城网版权所有 来源：长城新媒体集团</div></body></html>'
    )


def test_a_date_in_the_body_or_a_side_box_is_not_the_timestamp() -> None:
    page = detail_page(
        '<div class="info">来源：长城网</div>',
        "<p>据省农业农村厅2026年9月9日18时发布的农情调度，全省已收获秋粮1850万亩。</p>",
    )
    extraction = extract(page, HEBCCW_URL)
    assert extraction.parser == "hebccw/v1"
    assert extraction.fields["timestamp"] is None
    assert "timestamp: no date on the info line" in extraction.problems


def test_a_source_label_in_the_body_is_not_the_source() -> None:
    page = detail_page(
        '<div class="info"><span>2026-09-10 09:30</span></div>',
        "<p>全省前三季度生产总值同比增长5.6%。</p><p>（来源：河北省统计局）</p>",
    )
    extraction = extract(page, HEBCCW_URL)
    assert extraction.fields["source"] is None
    assert extraction.fields["body"].endswith("（来源：河北省统计局）")
    assert "source: no 来源 on the info line" in extraction.problems


def test_editor_in_a_sentence_stays_text_and_an_editor_line_leaves_the_body() -> None:
    sentence = "该书由河北教育出版社编辑出版，定价：48元。"
    fields = extract(
        detail_page('<p class="info">来源：长城网 2026-09-10 09:30</p>', f"<p>{sentence}</p>"),
        HEBCCW_URL,
    ).fields
    assert (fields["body"], fields["editor"]) == (sentence, None)
    fields = extract(
        detail_page(
            '<p class="info">来源：长城网 2026-09-10 09:30</p>',
            f"<p>{sentence}</p><p style='text-align:right'>（责任编辑：陈美冉）</p>",
        ),
        HEBCCW_URL,
    ).fields
    assert (fields["body"], fields["editor"]) == (sentence, "陈美冉")


def test_pager_links_give_the_pages_and_leave_the_body() -> None:
    body = (
        "<p>正文第一段。</p>"
        '<div class="pages"><span>1</span> <a href="102221376_2.shtml">2</a> '
        '<a href="102221376_3.shtml">3</a> <a href="102221376_2.shtml">下一页</a></div>'
    )
    # a link to another article's page 2, with a number for its text, is not this article's
    after = '<a href="/system/2026/09/09/102220011_2.shtml">2</a>'
    extraction = extract(detail_page('<p class="info">来源：长城网</p>', body, after), HEBCCW_URL)
    assert extraction.page_urls == [
        HEBCCW_URL,
        HEBCCW_URL.replace(".shtml", "_2.shtml"),
        HEBCCW_URL.replace(".shtml", "_3.shtml"),
    ]
    assert extraction.fields["body"] == "正文第一段。"


def test_a_pager_that_shows_only_the_next_page() -> None:
    url = HEBCCW_URL.replace(".shtml", "_2.shtml")
    body = '<p>正文。</p><p><a href="102221376.shtml">上一页</a> <a href="102221376_3.shtml">下一页</a></p>'
    extraction = extract(detail_page('<p class="info">来源：长城网</p>', body), url)
    assert extraction.page_urls == [HEBCCW_URL, url, HEBCCW_URL.replace(".shtml", "_3.shtml")]
    assert extraction.fields["body"] == "正文。"


def test_a_line_after_an_image_is_a_caption_only_when_marked_or_credited() -> None:
    img = '<p style="text-align:center"><img src="//yfupload.hebccw.cn/2026/0910/1.jpg"></p>'
    info = '<p class="info">来源：长城网</p>'
    for caption in (
        '<p style="text-align:center">收获机在田间作业。</p>',
        '<p class="pic-desc">收获机在田间作业。</p>',
        "<p>收获机在田间作业。河北日报记者 田明 摄</p>",
    ):
        fields = extract(detail_page(info, img + caption + "<p>正文。</p>"), HEBCCW_URL).fields
        assert fields["captions"] and fields["body"] == "正文。", caption
        assert fields["images"][0]["url"] == "https://yfupload.hebccw.cn/2026/0910/1.jpg"
    fields = extract(
        detail_page(info, img + "<p>夜幕降临，古城墙上亮起灯光。</p>"), HEBCCW_URL
    ).fields
    assert fields["captions"] == [] and fields["body"] == "夜幕降临，古城墙上亮起灯光。"


def test_the_trail_is_the_nearest_before_the_title_and_navigation_is_none() -> None:
    nav = '<div class="nav"><a href="/">首页</a> | <a href="/a/">河北</a> | <a href="/b/">新闻</a></div>'
    crumbs = (
        '<div class="crumbs"><a href="/">长城网</a> &gt; <a href="/heb/">河北</a> &gt; 正文</div>'
    )
    info = '<p class="info">来源：长城网 2026-09-10 09:30</p>'
    with_trail = extract(detail_page(info, "<p>正文。</p>", before=nav + crumbs), HEBCCW_URL)
    assert with_trail.fields["breadcrumbs"] == ["长城网", "河北"]
    without = extract(detail_page(info, "<p>正文。</p>", before=nav), HEBCCW_URL)
    assert without.fields["breadcrumbs"] == []
    assert "breadcrumbs: no breadcrumb on page" in without.problems


def test_only_pages_with_an_h1_and_div_detail_message_are_the_2026_template() -> None:
    no_h1 = detail_page('<p class="info">来源：长城网 2026-09-10 09:30</p>', "<p>正文。</p>")
    no_h1 = no_h1.replace("<h1>秋粮机收进度过半</h1>", "")
    assert extract(no_h1, HEBCCW_URL).parser != "hebccw/v1"
    other_body = detail_page("", "").replace('class="detailMessage"', 'class="text"')
    assert extract(other_body, HEBCCW_URL).parser != "hebccw/v1"
