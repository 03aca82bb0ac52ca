"""The shared extraction helpers on real strings from the site notes and the corpus."""

from __future__ import annotations

import pytest

from crawler.extract import extract
from crawler.extract.body import (
    echoes_title,
    has_photo_credit,
    is_byline_lead,
    is_placeholder,
    lead_lines,
    segment_body,
)
from crawler.extract.breadcrumbs import parse_breadcrumbs
from crawler.extract.bylines import (
    Byline,
    parse_author_line,
    parse_editor,
    parse_keywords,
    parse_source_line,
)
from crawler.extract.dates import parse_timestamp
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
    assert clean_text("a\x01b\x7f") == "a b"
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
