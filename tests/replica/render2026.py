"""The markup of the 2026 portal (`era2026.py`): UTF-8 pages of the new template.

Known (site notes, section 1): the title is the `h1`, the body `div.detailMessage`, the home page
links articles protocol-relative. Everything else varies here, since it is unknown: the info line
holds time, source and authors in several orders, the source is text or a link, the editor line
says `编辑：` or `责任编辑：` in brackets or not (now and then as the body's last paragraph),
breadcrumbs are shown or not, captions sit under their images, and multi-page articles have a pager.
Listings keep enorth `v5.latest` block comments on some channels; on the others the main list is a
plain dated `<ul>` among nav bars, a 热点排行 box and a footer full of links.
"""

from __future__ import annotations

import random
from html import escape
from urllib.parse import urljoin

from tests.replica.era2026 import Home2026, Listing2026
from tests.replica.render import block
from tests.replica.site import Block, Copy, Site

ENCODING = "utf-8"
# The editor line's forms; {e} is the editor's name.
EDITOR_FORMS = ["（责任编辑：{e}）", "[责任编辑：{e}]", "责任编辑：{e}", "（编辑：{e}）", "编辑：{e}", "【编辑：{e}】"]
INFO_ORDERS = [("time", "source", "authors"), ("source", "authors", "time"), ("source", "time", "authors")]
_FOOTER = (
    '<div class="footer">\n<p><a href="//www.hebei.com.cn/">长城网首页</a> | '
    '<a href="//www.hebei.com.cn/about/index.shtml">关于我们</a> | '
    '<a href="//www.hebei.com.cn/about/contact.shtml">联系我们</a> | '
    '<a href="//www.hebei.com.cn/about/map.shtml">网站地图</a> | '
    '<a href="//www.hebei.com.cn/about/copyright.shtml">版权声明</a></p>\n'
    '<p>友情链接：<a href="http://www.hebnews.cn/">河北新闻网</a> <a href="http://www.xinhuanet.com/">新华网</a> '
    '<a href="http://www.people.com.cn/">人民网</a></p>\n'
    "<p>长城新媒体集团主办 版权所有 未经授权禁止转载 冀ICP备05000001号</p>\n</div>\n</body>\n</html>\n"
)


def content_type(charset_header: bool) -> str:
    return "text/html; charset=utf-8" if charset_header else "text/html"


def channels_of(site: Site) -> list[Listing2026]:
    return [lst for lst in site.listings if isinstance(lst, Listing2026) and not isinstance(lst, Home2026)]


def protocol_relative(url: str) -> str:
    return "//" + url.split("://", 1)[1]


def head(title: str, catalog: str, http_equiv: bool, extra: str = "") -> str:
    charset = ('<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />' if http_equiv
               else '<meta charset="utf-8" />')
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n{charset}\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
        f"<title>{escape(title)}</title>\n<meta name=\"catalogs\" content=\"{catalog}\" />\n{extra}"
        '<link rel="stylesheet" href="//www.hebei.com.cn/css/2026/main.css" />\n</head>\n<body>\n'
    )


def top_nav(site: Site) -> str:
    links = "".join(f'<li><a href="{protocol_relative(ch.index_url)}">{escape(ch.name)}</a></li>'
                    for ch in channels_of(site))
    return (f'<div class="topbar"><ul class="nav"><li><a href="//www.hebei.com.cn/">长城网首页</a></li>{links}'
            '<li><a href="//v.hebei.com.cn/">视频</a></li></ul></div>\n')


def sub_nav(site: Site, host: str) -> str:
    links = " | ".join(f'<a href="{ch.path}">{escape(ch.name)}</a>' for ch in channels_of(site) if ch.host == host)
    return f'<div class="subnav"><a href="/">首页</a> | {links}</div>\n'


def crumbs_html(listing: Listing2026, label: str) -> str:
    links = " &gt; ".join(f'<a href="{url}">{escape(name)}</a>' for name, url in listing.crumbs)
    if listing.blocks:
        links = block("v5.position", links, 1)
    return f'<div class="crumbs">{label}{links}</div>\n'


# ---------------------------------------------------------------- article

def paragraph(b: Block, indent_css: bool) -> str:
    text = escape(b.text)
    if b.style == "indent":
        return f'<p style="text-indent: 2em;">{text}</p>' if indent_css else f"<p>\u3000\u3000{text}</p>"
    if b.style == "nbsp":
        return f"<p>&nbsp;&nbsp;&nbsp;&nbsp;{text}</p>"
    return f"<p>{text}</p>"


def body_block(b: Block, base: str, rng: random.Random, caption_class: bool, indent_css: bool) -> str:
    text = escape(b.text)
    if b.kind == "lead":
        if b.style == "plain":
            return f"<p>{text}</p>"
        inner = f"<strong>{text}</strong>" if b.style == "strong" else text
        return f'<p style="text-align: center;">{inner}</p>'
    if b.kind == "sub" and b.style == "strong":
        return f"<p><strong>{text}</strong></p>"
    if b.kind in ("p", "sub"):
        return paragraph(b, indent_css)
    if b.kind == "cap":
        return f'<p class="pictext">{text}</p>' if caption_class else f'<p style="text-align: center;">{text}</p>'
    if b.kind == "img":
        src = escape(urljoin(base, b.src))
        if rng.random() < 0.3:
            return f'<div class="pic"><img src="{src}" alt="" /></div>'
        return f'<p style="text-align: center;"><img src="{src}" alt="" /></p>'
    if b.kind == "group":
        imgs = "".join(f'<p style="text-align: center;"><img src="{escape(urljoin(base, s))}" alt="" /></p>'
                       for s in b.srcs)
        return imgs + '<p class="pictext">' + "<br />\n".join(escape(c) for c in b.captions) + "</p>"
    if b.kind == "ph":
        return f'<p style="text-align: center;">{text}</p>'
    if b.kind == "video":
        return f'<div class="video"><video src="{escape(b.src)}" controls="controls" width="100%"></video></div>'
    raise ValueError(f"unknown block kind {b.kind!r}")


def info_html(copy: Copy, style: random.Random) -> str:
    story = copy.story
    source = escape(story.source or "")
    if story.source and story.source_link:
        source = f'<a href="https://www.hebccw.cn/" target="_blank">{source}</a>'
    parts = {
        "time": copy.published.strftime("%Y-%m-%d %H:%M:%S"),
        "source": f"来源：{source}" if story.source else "",
        "authors": "作者：" + escape(style.choice([" ", "、"]).join(story.authors)) if story.authors else "",
    }
    order = [name for name in style.choice(INFO_ORDERS) if parts[name]]
    if style.random() < 0.5:
        spans = "".join(f'<span class="{name}">{parts[name]}</span>' for name in order)
        return f'<div class="detailInfo">{spans}</div>'
    return '<p class="info">' + style.choice(["&nbsp;&nbsp;", "\u3000", " "]).join(parts[n] for n in order) + "</p>"


def pager_html(copy: Copy, index: int) -> str:
    if len(copy.pages) == 1:
        return ""
    name = lambda i: copy.page_url(i).rsplit("/", 1)[1]
    parts = [f'<a href="{name(index - 1)}">上一页</a>'] if index > 0 else []
    parts += [f"<span>{i + 1}</span>" if i == index else f'<a href="{name(i)}">{i + 1}</a>' for i in range(len(copy.pages))]
    if index < len(copy.pages) - 1:
        parts.append(f'<a href="{name(index + 1)}">下一页</a>')
    return '<div class="pages">' + " ".join(parts) + "</div>\n"


def hot_box(site: Site, copy: Copy, rng: random.Random) -> str:
    pool = [c for ch in channels_of(site) if ch is not copy.listing for c in ch.entries[:20]]
    picks = [pool[rng.randrange(len(pool))] for _ in range(5)] if pool else []
    items = "".join(f'<li><a href="{protocol_relative(c.listed_url)}" target="_blank">{escape(c.story.title)}</a></li>'
                    for c in picks)
    return f'<div class="hotNews"><h3>热点新闻</h3><ul>{items}</ul></div>\n'


def render_article(site: Site, copy: Copy, index: int) -> str:
    listing = copy.listing
    assert isinstance(listing, Listing2026)
    style = random.Random(f"2026/{copy.article_id}")  # the copy's template choices, the same on every page
    rng = random.Random(f"2026/{copy.article_id}/{index}")
    caption_class, indent_css = style.random() < 0.5, style.random() < 0.6
    editor_form, editor_inside = style.choice(EDITOR_FORMS), style.random() < 0.25
    base = copy.page_url(index).replace("http://", "https://", 1)
    body = [body_block(b, base, rng, caption_class, indent_css) for b in copy.pages[index]]
    editor = editor_form.format(e=escape(copy.editor)) if copy.editor else ""
    if editor and editor_inside:  # the editor's line as the body's last paragraph
        body.append(f'<p style="text-align: right;">{editor}</p>')
    extra = f'<meta name="contentid" content="{copy.article_id}" />\n'
    page = head(f"{copy.story.title}_{listing.name}_长城网", listing.catalog, listing.blocks, extra)
    page += top_nav(site) + sub_nav(site, copy.host)
    if listing.crumbs:
        page += crumbs_html(listing, style.choice(["当前位置：", "您现在的位置：", ""]))
    title = "<br />".join(escape(line) for line in copy.story.title_lines)
    page += (
        f'<div class="wrap detail">\n<div class="detailLeft">\n<h1>{title}</h1>\n{info_html(copy, style)}\n'
        '<div class="share">分享到：<a class="weixin" title="微信"></a><a class="weibo" title="微博"></a></div>\n'
        '<div class="detailMessage">\n' + "\n".join(body) + "\n</div>\n" + pager_html(copy, index)
    )
    if editor and not editor_inside:
        page += f'<div class="editor">{editor}</div>\n' if style.random() < 0.5 else f'<p class="bianji">{editor}</p>\n'
    page += "</div>\n" + f'<div class="detailRight">{hot_box(site, copy, rng)}</div>\n</div>\n'
    return page + _FOOTER


# ---------------------------------------------------------------- listings

def row_href(url: str, host: str, rng: random.Random) -> str:
    """How a list links an article: https, protocol-relative, or root-relative on its own host."""
    x = rng.random()
    if x < 0.5:
        return url
    if x < 0.8 or f"//{host}/" not in url:
        return protocol_relative(url)
    return url.split(host, 1)[1]


def rows_html(rows: list[tuple[str, str, str]], host: str, rng: random.Random, dated: bool, titled: bool) -> str:
    items = []
    for title, url, day in rows:
        attr = f' title="{escape(title)}"' if titled else ""
        span = f'<span class="date">{day}</span>' if dated else ""
        items.append(f'<li><a href="{escape(row_href(url, host, rng))}" target="_blank"{attr}>{escape(title)}</a>{span}</li>')
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def listing_pager(listing: Listing2026, page: int | None) -> str:
    """首页 上一页 1 2 3 ... 下一页 尾页, static links; page n >= 2 is `index_n.shtml`."""
    total = listing.overflow_count + 1
    if total == 1:
        return ""
    current = 1 if page is None else page + 1
    name = lambda n: "index.shtml" if n == 1 else f"index_{n}.shtml"
    parts = [f'<a href="{name(1)}">首页</a>']
    parts.append(f'<a href="{name(current - 1)}">上一页</a>' if current > 1 else "<span>上一页</span>")
    for n in range(max(1, current - 2), min(total, current + 2) + 1):
        parts.append(f'<span class="current">{n}</span>' if n == current else f'<a href="{name(n)}">{n}</a>')
    parts.append(f'<a href="{name(current + 1)}">下一页</a>' if current < total else "<span>下一页</span>")
    parts.append(f'<a href="{name(total)}">尾页</a>')
    return '<div class="page">' + " ".join(parts) + "</div>"


def rank_box(site: Site, listing: Listing2026, rng: random.Random) -> str:
    """热点排行: articles of the other channels, dated on half the channels (the main list is not
    the only dated one)."""
    pool = [c for ch in channels_of(site) if ch is not listing for c in ch.entries[:30]]
    picks = [pool[rng.randrange(len(pool))] for _ in range(8)]
    rows = [(c.story.title, c.listed_url, c.published.strftime("%Y-%m-%d")) for c in picks]
    inner = rows_html(rows, listing.host, rng, dated=sum(map(ord, listing.key)) % 2 == 0, titled=False)
    if listing.blocks:
        inner = block("v5.latest", inner, 3)
    return f'<div class="side"><div class="rank"><h3>热点排行</h3>{inner}</div></div>\n'


def render_listing(site: Site, listing: Listing2026, page: int | None) -> str:
    if isinstance(listing, Home2026):
        return render_home(site, listing)
    rng = random.Random(f"2026/{listing.key}/{page}")
    main = rows_html(listing.page_rows(page), listing.host, rng, dated=True, titled=listing.blocks)
    if listing.blocks:
        main = block("v5.latest", main, 12)
    title = listing.name if page is None else f"{listing.name}_第{page + 1}页"
    out = head(f"{title}_长城网", listing.catalog, listing.blocks) + top_nav(site) + sub_nav(site, listing.host)
    if listing.crumbs:
        out += crumbs_html(listing, "当前位置：")
    side = rank_box(site, listing, rng)
    side_first = rng.random() < 0.5
    out += '<div class="wrap">\n' + (side if side_first else "")
    out += f'<div class="listMain">\n{main}\n{listing_pager(listing, page)}\n</div>\n'
    return out + ("" if side_first else side) + "</div>\n" + _FOOTER


def render_home(site: Site, home: Home2026) -> str:
    """Protocol-relative links only: the newest stories, then a box per channel."""
    rows = home.page_rows(None)
    links = "\n".join(f'<li><a href="{protocol_relative(url)}" target="_blank">{escape(title)}</a></li>'
                      for title, url, _ in rows[1:])
    focus = (f'<div class="focus"><h2><a href="{protocol_relative(rows[0][1])}" target="_blank">'
             f"{escape(rows[0][0])}</a></h2></div>\n") if rows else ""
    boxes = []
    for ch in channels_of(site):
        items = "".join(f'<li><a href="{protocol_relative(c.listed_url)}" target="_blank">{escape(c.story.title)}</a></li>'
                        for c in ch.entries[:5])
        boxes.append(f'<div class="box"><h3><a href="{protocol_relative(ch.index_url)}">{escape(ch.name)}</a></h3>'
                     f"<ul>{items}</ul></div>")
    return (
        head("长城网_河北重点新闻网站", home.catalog, False) + top_nav(site) + focus
        + f'<div class="newsList"><ul>\n{links}\n</ul></div>\n' + "\n".join(boxes) + "\n" + _FOOTER
    )


def render_host_home(site: Site, host: str) -> str:
    """The front page of a hebccw.cn host: links to its channels."""
    links = "".join(f'<li><a href="{ch.path}">{escape(ch.name)}</a></li>' for ch in channels_of(site) if ch.host == host)
    return head(f"{host}_长城网", "0", False) + top_nav(site) + f'<div class="wrap"><ul>{links}</ul></div>\n' + _FOOTER


def render_not_found(site: Site) -> str:
    return head("404 页面不存在_长城网", "0", False) + top_nav(site) + '<div class="wrap"><h2>404 页面不存在</h2></div>\n' + _FOOTER
