"""Turn the replica's model into the bytes the real site would serve.

Markup follows ../shared/site-notes.md: enorth CMS block comments (`v5.position`, `v5.latest`,
`v5.pages`), the `post_source` header of the main template and the older layouts of section 4.
Pages are encoded as GB18030 and declare gb2312, like the real site.
"""

from __future__ import annotations

import random
from html import escape

from tests.replica.site import (
    BANNER,
    CITY,
    MAIN,
    OLD,
    TIME_FIRST,
    Block,
    Copy,
    Listing,
    RollingPage,
    Site,
    family_rank,
)

CHARSET_META = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'
ENCODING = "gb18030"
_DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
)
_SITE_NAV = (
    '<div class="top_nav"><a href="http://www.hebei.com.cn/">长城网首页</a> | '
    '<a href="http://heb.hebei.com.cn/">河北频道</a> | <a href="http://news.hebei.com.cn/">新闻</a> | '
    '<a href="http://report.hebei.com.cn/">长城原创</a> | <a href="http://sjz.hebei.com.cn/">石家庄</a> | '
    '<a href="http://3g.hebei.com.cn/">手机版</a></div>\n'
)
_FOOTER = (
    '<div class="footer">长城网版权所有 未经长城网书面特别授权，请勿转载或建立镜像，违者依法必究<br />'
    "冀ICP备05000001号</div>\n</body>\n</html>\n"
)


def block(name: str, inner: str, cost: int = 1) -> str:
    return (
        f'<!--enorth cms block start [ name="{name}" ]-->{inner}'
        f'<!--enorth cms block end [ name="{name}" cost="{cost}"]-->'
    )


def head(title: str, catalog: str, extra: str = "") -> str:
    return (
        f"{_DOCTYPE}<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n{CHARSET_META}\n"
        f"<title>{escape(title)}</title>\n<meta name=\"catalogs\" content=\"{catalog}\" />\n{extra}"
        '<link rel="stylesheet" href="/css/style.css" type="text/css" />\n</head>\n<body>\n'
    )


# ---------------------------------------------------------------- article body

def render_block(b: Block, rng: random.Random) -> str:
    text = escape(b.text)
    if b.kind == "lead":
        if b.style == "strong":
            return f'<p style="text-align: center;"><strong>{text}</strong></p>'
        if b.style == "center":
            return f'<p style="text-align: center;">{text}</p>'
        return f"<p>{text}</p>"
    if b.kind in ("p", "cap", "sub"):
        if b.kind == "sub" and b.style == "strong":
            return f"<p><strong>{text}</strong></p>"
        if b.style == "indent":
            return f"<p>\u3000\u3000{text}</p>"
        if b.style == "nbsp":
            return f"<p>&nbsp;&nbsp;&nbsp;&nbsp;{text}</p>"
        if b.kind == "cap":
            return f'<p style="text-align: center;">{text}</p>'
        return f"<p>{text}</p>"
    if b.kind == "img":
        if rng.random() < 0.3:
            return f'<div align="center"><img border="0" src="{escape(b.src)}" /></div>'
        return f'<p style="text-align: center;"><img border="0" src="{escape(b.src)}" alt="" /></p>'
    if b.kind == "group":
        imgs = "".join(f'<p style="text-align: center;"><img border="0" src="{escape(s)}" /></p>' for s in b.srcs)
        caps = "<br />\n".join(escape(c) for c in b.captions)
        return f"{imgs}<p>{caps}</p>"
    if b.kind == "ph":
        return f'<p style="text-align: center;">{text}</p>' if rng.random() < 0.5 else f"<p>{text}</p>"
    if b.kind == "video":
        return (
            f'<div class="video_box"><video src="{escape(b.src)}" controls="controls" width="640" '
            'height="360"></video></div>'
        )
    raise ValueError(f"unknown block kind {b.kind!r}")


def render_body(blocks: list[Block], rng: random.Random) -> str:
    out = []
    for b in blocks:
        out.append(render_block(b, rng))
        if rng.random() < 0.04:  # editors leave empty paragraphs behind
            out.append(rng.choice(["<p>&nbsp;</p>", "<p><br /></p>", "<p>\u3000</p>"]))
    return "\n".join(out)


def render_pages_nav(copy: Copy, index: int) -> str:
    if len(copy.pages) == 1:
        return block("v5.pages", "", 0)
    parts = []
    if index > 0:
        parts.append(f'<a href="{copy.page_url(index - 1).rsplit("/", 1)[1]}">上一页</a>')
    for i in range(len(copy.pages)):
        name = copy.page_url(i).rsplit("/", 1)[1]
        parts.append(f'<span class="current">{i + 1}</span>' if i == index else f'<a href="{name}">{i + 1}</a>')
    if index < len(copy.pages) - 1:
        parts.append(f'<a href="{copy.page_url(index + 1).rsplit("/", 1)[1]}">下一页</a>')
    return block("v5.pages", '<div id="displaypagenum"><center>' + " ".join(parts) + "</center></div>", 0)


def crumb_links(copy: Copy, sep: str) -> str:
    return sep.join(f'<a href="{url}" target="_blank">{escape(name)}</a>' for name, url in copy.listing.crumbs)


def source_html(copy: Copy, rng: random.Random) -> str:
    story = copy.story
    if story.source is None:
        return "来源：" + block("v5.source", "")
    inner = escape(story.source)
    if story.source_link:
        inner = f'<a href="http://www.hebei.com.cn/" target="_blank">{inner}</a>'
    return "来源：" + block("v5.source", inner)


def authors_html(copy: Copy, rng: random.Random) -> str:
    story = copy.story
    sep = rng.choice([" ", " ", "、"]) if story.authors else " "
    names = escape(sep.join(story.authors))
    if story.author_style == "bare":
        return f"&nbsp;&nbsp;{names}"
    if story.author_style == "label":
        colon = rng.choice(["：", ":"])
        return "&nbsp;" * rng.randint(1, 3) + f"作者{colon}{names}" + rng.choice(["", " "])
    return rng.choice(["", "&nbsp;&nbsp;"])


def keywords_html(copy: Copy) -> str:
    kw = copy.story.keyword_sep.join(escape(k) for k in copy.story.keywords)
    return f'<div class="keywords">关键词：{kw}</div>'


def editor_html(copy: Copy) -> str:
    if copy.editor is None:
        return ""
    return f'<div class="editor">责任编辑：{escape(copy.editor)}</div>'


def title_html(copy: Copy) -> str:
    return "<br />".join(escape(line) for line in copy.story.title_lines)


def render_article(copy: Copy, index: int) -> str:
    rng = random.Random(f"{copy.article_id}/{index}")
    story = copy.story
    when = copy.published.strftime("%Y-%m-%d %H:%M:%S")
    body = render_body(copy.pages[index], rng)
    extra = (
        f'<meta name="keywords" content="{escape(",".join(story.keywords))}" />\n'
        f'<meta name="contentid" content="{copy.article_id}" />\n'
    )
    page = head(f"{story.title}_{copy.listing.name}_长城网", copy.listing.catalog, extra) + _SITE_NAV
    tail = render_pages_nav(copy, index) + "\n" + keywords_html(copy) + "\n" + editor_html(copy) + "\n"
    layout = copy.layout
    if layout in (MAIN, CITY):
        if layout == MAIN:
            crumbs = crumb_links(copy, " &gt; ")
            page += f'<div class="g_width position"><span class="cms_block_span">{block("v5.position", crumbs, 2)}</span></div>\n'
        else:
            crumbs = crumb_links(copy, " &gt; ")
            page += (
                '<div class="city_top">长城新媒体集团&nbsp;&nbsp;主办</div>\n'
                f'<div class="city_nav"><a href="http://{copy.host}/">首页</a> <a href="http://{copy.host}/sjzfw/">风物</a> '
                f'<a href="http://{copy.host}/hbxw/">新闻</a></div>\n'
                f'<div class="location">当前位置：{block("v5.position", crumbs, 2)}</div>\n'
            )
        page += (
            f'<div class="g_width content">\n<h1>{title_html(copy)}</h1>\n'
            f'<div class="post_source">{source_html(copy, rng)}{authors_html(copy, rng)}<br />{when}</div>\n'
            '<div class="share">分享：<a class="bds_weixin" title="分享到微信"></a>'
            '<a class="bds_tsina" title="分享到新浪微博"></a><a class="bds_qzone" title="分享到QQ空间"></a></div>\n'
            f'<div class="text">\n{body}\n</div>\n{tail}</div>\n'
        )
    elif layout == OLD:
        label = "您当前的位置 : " * (2 if rng.random() < 0.3 else 1)
        who = escape(" ".join(story.authors))
        page += (
            f'<div class="position">{label}{block("v5.position", crumb_links(copy, " &gt;&gt; "), 2)}</div>\n'
            '<table class="article" width="100%">\n'
            f'<tr><td class="title"><h1>{title_html(copy)}</h1></td></tr>\n'
            f'<tr><td class="info">{source_html(copy, rng)} 作者：{who} {when}</td></tr>\n'
            '<tr><td class="widget">【字号: <a href="javascript:doZoom(16)">大</a> | <a href="javascript:doZoom(14)">中</a> | '
            '<a href="javascript:doZoom(12)">小</a>】 【背景色 <a>杏仁黄</a> <a>秋叶褐</a> <a>胭脂红</a> <a>芥末绿</a> '
            "<a>天蓝</a> <a>雪青</a> <a>灰</a> <a>银河白(默认色)</a>】</td></tr>\n"
            f'<tr><td><div id="zoom" class="text">\n{body}\n</div></td></tr>\n'
            f"<tr><td>{tail}</td></tr>\n</table>\n"
        )
    elif layout == TIME_FIRST:
        who = f"&nbsp;&nbsp;作者：{escape(' '.join(story.authors))}" if story.authors else ""
        page += (
            f'<div class="position">{block("v5.position", crumb_links(copy, " &gt; ") + " &gt; ", 2)}</div>\n'
            '<div class="promo"><a href="http://report.hebei.com.cn/zt/19d/">点击进入&gt;&gt;党的十九大长城新媒体报告厅</a></div>\n'
            f'<div class="content">\n<h1>{title_html(copy)}</h1>\n'
            f'<div class="info">{when} {source_html(copy, rng)}{who}</div>\n'
            f'<div class="text">\n{body}\n</div>\n{tail}'
            '<div class="tjyd"><h3>推荐阅读</h3><ul><li><a href="http://report.hebei.com.cn/">长城原创更多报道</a></li></ul></div>\n'
            "</div>\n"
        )
    elif layout == BANNER:
        who = f'<div class="author">作者：{escape(" ".join(story.authors))}</div>\n' if story.authors else ""
        page += (
            '<div class="banner"><img src="http://heb.hebei.com.cn/2018lh/images/banner.jpg" alt="2018全国两会" /></div>\n'
            f'<div class="content">\n<h1>{title_html(copy)}</h1>\n'
            f'<div class="info">{source_html(copy, rng)} {when}</div>\n{who}'
            f'<div class="text">\n{body}\n</div>\n{tail}</div>\n'
        )
    else:
        raise ValueError(f"unknown layout {layout!r}")
    return page + _FOOTER


# ---------------------------------------------------------------- listings

def _rows_html(rows: list[tuple[str, str, str]], dated: bool = True) -> str:
    items = []
    for title, url, day in rows:
        span = f"<span>{day}</span>" if dated else ""
        items.append(f'<li><a href="{escape(url)}" target="_blank" title="{escape(title)}">{escape(title)}</a>{span}</li>')
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def static_pager(listing: Listing, page: int | None) -> str:
    m = listing.overflow_count
    if m == 0:
        return ""
    path = lambda p: listing.overflow_url(p).split(listing.host, 1)[1]
    first = f'<a href="{listing.path}">首页</a>'
    if page is None:
        prev, nxt = "<span>上一页</span>", f'<a href="{path(m)}">下一页</a>'
    else:
        prev = f'<a href="{listing.path if page == m else path(page + 1)}">上一页</a>'
        nxt = f'<a href="{path(page - 1)}">下一页</a>' if page > 1 else "<span>下一页</span>"
    last = f'<a href="{path(1)}">尾页</a>'
    return f'<div class="page">{first} {prev} {nxt} {last}</div>'


def script_pager(listing: Listing) -> str:
    if listing.overflow_count == 0:
        return ""
    src = listing.count_script_url.split(listing.host, 1)[1]
    return (
        f'<div class="page"><script type="text/javascript">var catalogid = "{listing.catalog}";</script>'
        f'<script type="text/javascript" src="{src}"></script></div>'
    )


def render_count_script(listing: Listing) -> str:
    return (
        f"maxpage = {listing.overflow_count};\n"
        f'var moreurl = "/system/more/{listing.catalog}/";\n'
        "function pagename(n) { var s = '00000000' + n; var b = '0000' + Math.floor(n / 100);\n"
        f"  return moreurl + b.substr(b.length - 4) + '/{listing.catalog}_' + s.substr(s.length - 8) + '.shtml'; }}\n"
        "var cur = (typeof curpage == 'undefined') ? maxpage + 1 : curpage;\n"
        "if (cur <= maxpage) document.write('<a href=\"' + (cur == maxpage ? 'index.shtml' : pagename(cur + 1)) + '\">上一页</a> ');\n"
        "if (cur > 1) document.write('<a href=\"' + pagename(cur - 1) + '\">下一页</a>');\n"
    )


def side_boxes(site: Site, listing: Listing, page: int | None) -> str:
    rng = random.Random(f"side/{listing.key}/{page}")
    # the listing's own host family: the 2026 era leaves the old family's pages as they were
    others = [lst for lst in site.listings if lst is not listing and lst.entries
              and family_rank(lst.host) == family_rank(listing.host)]
    picks = []
    for _ in range(6):
        lst = rng.choice(others)
        c = lst.entries[rng.randrange(min(len(lst.entries), 30))]
        picks.append((c.story.title, c.listed_url, c.published.strftime("%Y-%m-%d")))
    video = [("视频：新春走基层", "http://v.hebei.com.cn/video/xczjc/index.shtml", "2024-02-01"),
             ("视频：瞰河北", "http://v.hebei.com.cn/video/khb/index.shtml", "2023-09-01")]
    links = [("河北新闻网", "http://www.hebnews.cn/", ""), ("中国文明网", "http://www.wenming.cn/", "")]
    dated = listing.pager == "script"  # some side boxes show dates too: a main list is not "the dated one"
    return (
        '<div class="side">\n'
        f'<div class="box"><h3>热点推荐</h3>{block("v5.latest", _rows_html(picks, dated=dated), 4)}</div>\n'
        f'<div class="box"><h3>视频</h3>{block("v5.latest", _rows_html(video, dated=False), 1)}</div>\n'
        f'<div class="box"><h3>友情链接</h3>{block("v5.latest", _rows_html(links, dated=False), 1)}</div>\n'
        "</div>\n"
    )


def render_listing(site: Site, listing: Listing, page: int | None) -> str:
    crumbs = " &gt; ".join(f'<a href="{url}">{escape(name)}</a>' for name, url in listing.crumbs)
    out = head(f"{listing.name}_长城网", listing.catalog) + _SITE_NAV
    out += f'<div class="g_width position">{block("v5.position", crumbs, 1)}</div>\n<div class="g_width">\n'
    side = side_boxes(site, listing, page)
    side_first = hash_key(listing.key) % 2 == 0
    if side_first:
        out += side
    if listing.children:
        links = "\n".join(
            f'<li><a href="{child.path.rsplit(listing.base_dir, 1)[-1] if child.path.startswith(listing.base_dir) else child.index_url}">'
            f"{escape(child.name)}</a></li>"
            for child in listing.children
        )
        out += f'<div class="sub_nav">{block("v5.list", "<ul>" + links + "</ul>", 1)}</div>\n'
    rows = listing.page_rows(page)
    if rows:
        pager = script_pager(listing) if listing.pager == "script" else static_pager(listing, page)
        if page is not None and listing.pager == "script":
            pager = f'<script type="text/javascript">var curpage = {page};</script>' + pager
        out += f'<div class="list_left main_list">{block("v5.latest", _rows_html(rows), 12)}\n{pager}</div>\n'
    if not side_first:
        out += side
    return out + "</div>\n" + _FOOTER


def hash_key(key: str) -> int:
    return sum(ord(ch) for ch in key)


def render_rolling(page: RollingPage) -> str:
    items = "\n".join(
        f'<div class="live_item"><span class="time">{9 + i}:{(i * 17) % 60:02d}</span><p>河北代表团代表在驻地认真审议政府工作报告（第{i + 1}条）</p></div>'
        for i in range(5)
    )
    return (
        head(page.title, "0") + _SITE_NAV + f'<div class="live"><h1>{escape(page.title)}</h1>'
        f'<div class="live_status">正在更新</div>\n{items}\n</div>\n' + _FOOTER
    )


def render_simple(title: str) -> str:
    return head(title, "0") + _SITE_NAV + f"<div class=\"g_width\"><h2>{escape(title)}</h2></div>\n" + _FOOTER


def render_home(host: str, listings: list[Listing]) -> str:
    """A host's front page: links to the channels it holds."""
    links = "\n".join(f'<li><a href="{lst.index_url}">{escape(lst.name)}</a></li>' for lst in listings)
    return (
        head(f"{host}_长城网", "0") + _SITE_NAV
        + f'<div class="g_width channel_nav">{block("v5.list", "<ul>" + links + "</ul>", 1)}</div>\n' + _FOOTER
    )
