"""The channel registry: every channel and collection the crawler knows, declared in one place.

Adding a channel is one `Channel(...)` line here plus a fixture (docs/crawling.md). Each
declaration becomes a spider of its own name (`scrapy list`); the spider `hebei` crawls them all.
Paths are those the replica serves; where the live site's path of a channel is not known from the
site notes, the operator corrects it here. `confirmed` says which is which: only a path seen in a
real URL of the site is confirmed; the site notes hold article URLs only, so every channel path
below is an assumption (docs/crawling.md, "Check these first").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    name: str  # spider name: letters, digits, underscores
    title: str  # as the site shows it
    start_urls: tuple[str, ...]
    # Layout hints: an XPath to the main list where the v5.latest scoring is not enough.
    main_list_xpath: str | None = None
    # Whether the start URLs' paths were seen in real URLs of the site; False: an assumption the
    # replica serves, to check against the live site before the first crawl (`scrapy channels`).
    confirmed: bool = False


# A channel that moved to hebccw.cn (2025-2026, site notes section 1) lists its start URLs on both
# families: the old listings still serve, the new ones list the old stories again and the new ones.
CHANNELS: tuple[Channel, ...] = (
    # The portal's home page: the 2026 collectors start here (site notes, section 1).
    Channel("home", "长城网首页", ("https://www.hebei.com.cn/",), confirmed=True),
    Channel("heb_qjhb", "河北频道 > 全景河北", ("http://heb.hebei.com.cn/qjhb/", "https://heb.hebccw.cn/qjhb/index.shtml"),
            confirmed=False),
    Channel("heb_hbyw", "河北频道 > 河北要闻", ("http://heb.hebei.com.cn/hbyw/index.shtml", "https://heb.hebccw.cn/hbyw/"),
            confirmed=False),
    Channel("heb_ztk", "河北频道 > 专题库", ("http://heb.hebei.com.cn/ztk/",), confirmed=False),
    Channel("heb_sldhdbdj", "河北频道 > 省领导活动报道集", ("http://heb.hebei.com.cn/sldhdbdj/index.shtml",), confirmed=False),
    Channel("heb_2018lh", "河北频道 > 2018全国两会", ("http://heb.hebei.com.cn/2018lh/index.shtml",), confirmed=False),
    Channel("news_ztk", "河北新闻频道 > 专题库", ("http://news.hebei.com.cn/ztk/index.shtml",), confirmed=False),
    Channel("news_jdxw", "新闻 > 焦点新闻", ("https://news.hebccw.cn/jdxw/",), confirmed=False),
    Channel("report", "长城原创", ("http://report.hebei.com.cn/", "http://report.hebei.com.cn/ycxw/index.shtml"), confirmed=False),
    Channel("sjz_sjzfw", "石家庄 > 石家庄风物", ("http://sjz.hebei.com.cn/sjzfw/",), confirmed=False),
    Channel("sjz_hbxw", "石家庄 > 河北新闻", ("http://sjz.hebei.com.cn/hbxw/index.shtml",), confirmed=False),
    Channel("bd_szyw", "保定 > 时政要闻", ("http://bd.hebei.com.cn/bdxw/szyw/", "https://bd.hebccw.cn/bdxw/szyw/"),
            confirmed=False),
    Channel("lf_lfxw", "廊坊 > 廊坊新闻", ("https://lf.hebccw.cn/lfxw/index.shtml",), confirmed=False),
    Channel("economy_cjtt", "财经 > 财经头条", ("https://economy.hebccw.cn/cjzq/cjtt/index.shtml",), confirmed=False),
    Channel("hebfb_xwfb", "河北省人民政府新闻办公室 > 新闻发布", ("https://hebfb.hebccw.cn/xwfb/",), confirmed=False),
)
