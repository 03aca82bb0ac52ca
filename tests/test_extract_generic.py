"""The generic extractor (the fallback parser) on the failure modes real news pages showed: each
test is a small page in the form a real site prints it (tests/sample_data/real/ has the pages)."""

from __future__ import annotations

from crawler.extract import extract

URL = "http://www.example.com.cn/news/2019/0306/123.html"
BODY = (
    "<p>据了解，本次活动由市委宣传部主办，吸引了来自全市各地的两千多名群众参加，现场气氛热烈。</p>"
    "<p>活动中，志愿者们通过设置展台、摆放展板、分发折页等方式，向市民宣传防范电信诈骗的知识。</p>"
    "<p>下一步，该市将继续开展形式多样的宣传活动，进一步提高群众的防范意识和能力，守护群众财产安全。</p>"
)
LINES = [
    "据了解，本次活动由市委宣传部主办，吸引了来自全市各地的两千多名群众参加，现场气氛热烈。",
    "活动中，志愿者们通过设置展台、摆放展板、分发折页等方式，向市民宣传防范电信诈骗的知识。",
    "下一步，该市将继续开展形式多样的宣传活动，进一步提高群众的防范意识和能力，守护群众财产安全。",
]
TITLE = "我市开展防范电信诈骗宣传活动"
FOOTER = (
    '<div class="footer"><p>关于我们 | 联系我们 | 网站地图 | 广告服务 | 版权声明，本网站所刊登的各种新闻'
    "、信息和各种专题专栏资料，均为本网版权所有，未经协议授权禁止下载使用。</p>"
    "<p>Copyright © 2019 example.com.cn All Rights Reserved. 京ICP备12345678号，京公网安备110号</p>"
    "<p>违法和不良信息举报电话：010-12345678，举报邮箱：jubao@example.com.cn，欢迎监督。</p></div>"
)


def page(
    body: str = BODY,
    info: str = "发布时间：2019-03-06 10:20 来源：人民日报",
    title: str = TITLE,
    head: str | None = None,
    before: str = "",
    after: str = "",
    footer: str = "",
) -> dict:
    head_title = head if head is not None else f"{title}_示例新闻网"
    html = (
        f"<html><head><title>{head_title}</title></head><body>{before}"
        f'<div class="main"><h1>{title}</h1><div class="info">{info}</div>'
        f'<div class="content">{body}</div>{after}</div>{footer}</body></html>'
    )
    return read(html)


def read(html: str) -> dict:
    extraction = extract(html, URL)
    return {**extraction.fields, "parser": extraction.parser, "problems": extraction.problems}


# ------------------------------------------------------------------ title


def test_an_h1_that_is_the_site_logo_is_not_the_title() -> None:
    html = (
        f"<html><head><title>{TITLE} - 山西省人民政府门户网站</title></head><body>"
        '<div class="logo"><h1><a href="/">山西省人民政府网站</a></h1></div>'
        f'<div class="article"><h2>{TITLE}</h2><div class="info">时间：2019-09-18 06:23 来源：山西日报</div>'
        f'<div class="content">{BODY}</div></div></body></html>'
    )
    assert read(html)["title"] == TITLE


def test_an_h1_that_is_the_channel_name_is_not_the_title() -> None:
    fields = page(before='<h1 class="channel-logo"><a href="/">新闻中心</a></h1>')
    assert fields["title"] == TITLE


def test_without_a_heading_the_title_loses_the_site_suffix() -> None:
    for head in (f"{TITLE}_东区新闻_中山网", f"{TITLE}--文化--人民网"):
        html = f'<html><head><title>{head}</title></head><body><div class="c">{BODY}</div></body></html>'
        assert read(html)["title"] == TITLE, head


# ------------------------------------------------------------------ timestamp


def test_a_date_without_a_time_is_the_day_at_midnight_with_a_problem() -> None:
    fields = page(info="发布日期：2019-03-06 信息来源：省发改委")
    assert fields["timestamp"] == "2019-03-06T00:00:00+08:00"
    assert any(p.startswith("timestamp: only a date (2019-03-06)") for p in fields["problems"])


def test_labelled_dates_are_read_in_every_form() -> None:
    for info, timestamp in (
        ("发布时间：2019-03-06 10:20", "2019-03-06T10:20:00+08:00"),
        ("时间：2019-03-06 10:20", "2019-03-06T10:20:00+08:00"),
        ("2019年03月06日 10:20 来源：人民网", "2019-03-06T10:20:00+08:00"),
        ("发布日期：2019年03月06日", "2019-03-06T00:00:00+08:00"),
    ):
        assert page(info=info)["timestamp"] == timestamp, info


def test_a_date_labelled_after_the_body_is_the_timestamp() -> None:
    fields = page(info="", after='<div class="foot">发布日期：2019-03-06 责任编辑：龙慧</div>')
    assert fields["timestamp"] == "2019-03-06T00:00:00+08:00"
    assert fields["editor"] == "龙慧"


# ------------------------------------------------------------------ source and authors


def test_source_labels_of_other_sites() -> None:
    for label in ("来源于：", "稿件来源：", "信息来源："):
        assert page(info=f"2019-03-06 10:20 {label}东区办事处")["source"] == "东区办事处", label


def test_an_unlabelled_name_after_the_time_is_the_source() -> None:
    info = '<span class="date">2019年11月25日 18:57</span> <a href="http://x.cn/">参考消息</a>'
    assert page(info=info)["source"] == "参考消息"
    assert page(info="2019-09-26 10:56:28 证券时报网 举报")["source"] == "证券时报网"


def test_reporter_credits_are_the_authors_and_no_body_text() -> None:
    fields = page(body=BODY + "<p>采写：南都见习记者 林子沛</p>")
    assert fields["authors"] == ["林子沛"]
    assert fields["body"] == "\n".join(LINES)
    dateline = (
        "<p>新华社巴黎12月9日电（记者唐霁）法国9日再次爆发全国跨行业大罢工，交通受到影响。</p>"
    )
    assert page(body=dateline + BODY)["authors"] == ["唐霁"]
    fields = page(body=BODY + "<p>来源：无锡交警</p>", info="2019-05-17 10:20")
    assert fields["source"] == "无锡交警" and fields["body"] == "\n".join(LINES)


# ------------------------------------------------------------------ editor


def test_editor_lines_at_the_end_of_the_body_are_read_and_removed_and_only_they() -> None:
    for line, editor in (
        ("(责编：汤诗瑶、丁涛)", "汤诗瑶、丁涛"),
        ("【编辑:李骏】", "李骏"),
        ("责任编辑：张迪", "张迪"),
        ("责任编辑：杨倩_NF4425", "杨倩"),
    ):
        fields = page(body=BODY + f"<p>{line}</p>")
        assert fields["editor"] == editor, line
        assert fields["body"] == "\n".join(LINES), line
    # `编辑` inside a sentence, or a bare `编辑：` label, is no editor credit
    sentence = "<p>记者问编辑：这篇稿件什么时候发出？编辑说，今天下午就会在网站上刊发。</p>"
    fields = page(body=BODY + sentence)
    assert fields["editor"] is None
    assert fields["body"].endswith("编辑说，今天下午就会在网站上刊发。")
    assert page(body=BODY, after='<div class="e">编辑：王五</div>')["editor"] is None


# ------------------------------------------------------------------ body


def test_trailer_lines_are_not_body() -> None:
    trailer = (
        "<p>分享让更多人看到</p><p>【1】【2】【3】</p><p>打印</p><p>关闭</p>"
        '<p><a href="/zt/">点击进入专题：聚焦香港局势>></a></p><p>【打印本页】【关闭窗口】</p>'
    )
    assert page(body=BODY + trailer)["body"] == "\n".join(LINES)


def test_a_pager_inside_the_body_container_is_not_body() -> None:
    pager = '<div class="page"><a href="123.html">1</a> <a href="123_2.html">2</a> <a href="123_2.html">下一页</a></div>'
    assert page(body=BODY + pager)["body"] == "\n".join(LINES)


def test_related_links_inside_the_body_container_are_not_body() -> None:
    related = (
        '<div class="related"><h3>延伸阅读</h3><ul><li><a href="/a.html">张文宏:上海零新增我很担心</a></li>'
        '<li><a href="/b.html">李克强：现在看来最终战胜疫情的曙光就要出现了</a></li></ul></div>'
    )
    assert page(body=BODY + related)["body"] == "\n".join(LINES)


def test_a_paragraph_wrapping_a_script_is_no_text() -> None:
    script = "var config = {a: 1, b: 2, c: 3}; function go(x, y) { return x + y; }; go(1, 2);" * 20
    column = "".join(f"<p><script>{script}</script></p>" for _ in range(6))
    fields = page(before=f'<div class="side">{column}</div>')
    assert fields["body"] == "\n".join(LINES)


def test_paragraphs_written_as_divs_beat_the_footer() -> None:
    divs = "".join(f"<div>{line}</div>" for line in LINES)
    assert page(body=divs, footer=FOOTER)["body"] == "\n".join(LINES)


def test_a_one_paragraph_article_beats_the_copyright_footer() -> None:
    one = (
        "<p>据财联社9月26日消息，今日从交通运输部新闻发布会获悉，目前京津冀交通一体化建设各项工作"
        "取得积极成效，下一步将着力打造三地综合立体交通网络。</p>"
    )
    assert page(body=one, footer=FOOTER)["body"].startswith("据财联社9月26日消息")


def test_original_title_lines_are_lead_lines() -> None:
    fields = page(body=f"<p>（原标题：{TITLE}，两千多名群众参加）</p>" + BODY)
    assert fields["subtitles"] == [f"（原标题：{TITLE}，两千多名群众参加）"]
    assert fields["body"] == "\n".join(LINES)


# ------------------------------------------------------------------ captions


def test_captions_without_a_photo_credit_under_an_image() -> None:
    for caption in (
        "加拿大大叔Gweilo （视频截图）",
        "在八一公园晨练的老年人。（视觉中国）",
        "图为活动启动仪式现场。",
        "搜救现场。",
    ):
        fields = page(body=f'<p><img src="/a.jpg"></p><p>{caption}</p>' + BODY)
        assert fields["captions"] == [caption], caption
        assert fields["images"][0]["caption"] == caption, caption
        assert fields["body"] == "\n".join(LINES), caption
    # a sentence under an image stays text
    line = "这位加拿大大叔在广西南宁的南湖公园拍了一期视频，因为他认为中国的公园真的很有活力。"
    fields = page(body=f'<p><img src="/a.jpg"></p><p>{line}</p>' + BODY)
    assert fields["captions"] == [] and fields["body"].startswith(line)


# ------------------------------------------------------------------ keywords and breadcrumbs


def test_keywords_labels_of_other_sites() -> None:
    for line in ("关键字 : 公园", "标签：公园", "关键词 >> 公园"):
        assert page(after=f'<div class="kw">{line}</div>')["keywords"] == ["公园"], line


def test_a_trail_before_the_title_that_ends_at_this_page() -> None:
    trail = '<div class="path"><a href="/">网易首页</a> &gt; <a href="/money/">财经频道</a> &gt; 正文</div>'
    assert page(before=trail)["breadcrumbs"] == ["网易首页", "财经频道"]
    trail = '<div class="path"><a href="/gn/">国内新闻</a> &gt; <span>正文</span></div>'
    assert page(before=trail)["breadcrumbs"] == ["国内新闻"]


# ------------------------------------------------------------------ version choice

TIME_FIRST = (
    "<html><head><title>{t}--人民网</title></head><body>{marker}<h1>{t}</h1>"
    '<div class="box01">2019年06月15日08:18 来源：人民网-文化频道</div>'
    '<div id="rwb_zw">{body}</div></body></html>'
)


def test_a_page_of_another_cms_is_read_by_the_generic_extractor() -> None:
    """A people.com.cn page prints the time-first source line of the 2017 report layout; without
    the enorth CMS's marks it is no page of that layout, and is counted as a fallback. With them
    it is that layout's."""
    fields = read(TIME_FIRST.format(t=TITLE, marker="", body=BODY))
    assert fields["parser"] == "fallback"
    assert fields["source"] == "人民网-文化频道"
    assert fields["timestamp"] == "2019-06-15T08:18:00+08:00"
    marker = '<!--enorth cms page [ enorth parse_date="2017/10/22 11:56:46.046"]-->'
    assert read(TIME_FIRST.format(t=TITLE, marker=marker, body=BODY))["parser"] == (
        "enorth-b-timefirst/v1"
    )
