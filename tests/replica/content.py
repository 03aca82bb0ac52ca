"""Deterministic Chinese news text for the replica: names, places, sentences, captions.

Everything here draws from a `random.Random` handed in by the caller, so a seed fixes the site.
Names include characters outside GB2312 (仚, 镕, 堃, 喆) on purpose: the real site has them.
"""

from __future__ import annotations

import random
import re

LEADERS: list[tuple[str, str]] = [
    ("许勤", "xuqin"),
    ("邢国辉", "xingguohui"),
    ("袁桐利", "yuantongli"),
    ("王东峰", "wangdongfeng"),
    ("董仚生", "dongxiansheng"),
    ("梁田庚", "liangtiangeng"),
    ("王浩", "wanghao"),
    ("夏延军", "xiayanjun"),
]
CATEGORIES: list[tuple[str, str]] = [
    ("考察调研", "kcdy"),
    ("领导会见", "ldhj"),
    ("重要会议", "zyhy"),
    ("其他活动", "qthd"),
    ("会议活动", "hyhd"),
]
PLACES = [
    "石家庄市", "保定市", "唐山市", "张家口市", "承德市", "秦皇岛市", "廊坊市", "沧州市",
    "衡水市", "邢台市", "邯郸市", "雄安新区", "正定县", "崇礼区", "平山县", "定州市",
]
SITES = [
    "高新技术产业开发区", "现代农业示范园", "智能制造产业园", "物流园区", "社区服务中心",
    "重点项目建设现场", "科技企业孵化器", "生态修复工程", "职业技术学院", "文化旅游综合体",
]
TOPICS = [
    "乡村振兴", "京津冀协同发展", "生态环境保护", "安全生产", "重点项目建设", "民营经济发展",
    "冬奥会筹办", "文化旅游", "科技创新", "教育事业", "医疗卫生", "营商环境优化", "防汛抗旱",
    "粮食生产", "招商引资", "城市更新", "基层治理", "就业创业",
]
GUESTS = [
    "新加坡驻华大使", "德国企业家代表团", "中国电子科技集团董事长", "香港中华总商会代表团",
    "日本长野县知事", "中国工商银行行长", "巴西驻华大使", "中国中铁董事长", "澳门特区代表团",
]
EVENTS = [
    "省政府常务会议", "全省经济工作会议", "全省安全生产工作会议", "中国国际数字经济博览会开幕式",
    "京津冀协同发展座谈会", "全省优化营商环境大会", "河北省旅游产业发展大会",
    "全省科技创新大会", "省委理论学习中心组集体学习",
]
REPORTERS = [
    "孟宇光", "庞晓玮", "张瑞雨", "李相伯", "赵永刚", "田明", "耿佳", "李皓", "吴雨霏", "何珊",
    "王成果", "薛惠娟", "任学光", "郭东", "四建磊", "宋平", "张谢雅", "吴玉秒", "王喆", "李堃",
    "朱镕", "陈宝喆", "赵堃", "延丽", "天虎", "戴璐繁", "康紫祎",
]
EDITORS = ["陈美冉", "李丹", "姚杰", "刘政", "张超", "吴玉秒", "王喆", "孙堃", "杨洋", "高镕"]
SOURCES = ["河北日报客户端", "河北日报", "长城网", "长城新媒体", "河北新闻网", "冀云客户端"]

# Photo credit forms seen on the site; {r} is a reporter's name.
CREDITS = [
    "记者 {r} 摄",
    "河北日报客户端记者{r}摄",
    "长城网记者 {r} 摄",
    "长城新媒体记者 {r} 摄",
    "河北日报记者 {r} 摄",
    "长城网记者 {r} 摄影报道",
    "（资料图）",
    "新华社发",
]

_SENTENCES = [
    "{md}，{role}{leader}到{place}调研{topic}工作",
    "{leader}指出，要深入贯彻落实党中央决策部署，扎实推进{topic}，努力在{topic2}上取得新成效",
    "在{place}{site}，{leader}详细了解{topic}进展情况，与基层干部群众亲切交流",
    "{leader}强调，要坚持问题导向，聚焦{topic}中的难点堵点，拿出务实管用的举措",
    "各级各部门要提高政治站位，压实工作责任，确保{topic}各项任务落地见效",
    "近年来，{place}把{topic}作为重要抓手，持续加大投入，取得了明显成效",
    "据介绍，{place}{site}今年以来累计完成投资{n}亿元，带动就业{m}人",
    "{leader}对{place}在{topic}方面取得的成绩给予充分肯定",
    "要坚持以人民为中心的发展思想，着力解决群众急难愁盼问题，让发展成果更多更公平惠及全体人民",
    "会议听取了{topic}工作情况汇报，研究部署下一阶段重点任务",
    "{guest}一行参观了{place}{site}，对河北的发展前景表示看好",
    "双方就深化{topic}领域务实合作进行了深入交流，达成广泛共识",
    "活动现场，{place}与多家企业签约{k}个项目，总投资{n}亿元",
    "{place}相关负责人表示，将以此次活动为契机，进一步推动{topic}高质量发展",
    "省直有关部门和{place}负责同志参加活动",
    "下一步，{place}将持续深化改革创新，全力推进{topic}和{topic2}",
    "据统计，全省{topic}相关指标同比增长{p}%，高于全国平均水平",
    "记者在现场看到，施工人员正在紧张有序地作业，各类机械设备往来穿梭",
]
_ROLES = ["省委书记、省人大常委会主任", "省委副书记、省长", "省委常委、常务副省长", "副省长", "省委常委、秘书长"]


def pick(rng: random.Random, seq: list):
    return seq[rng.randrange(len(seq))]


def fill(rng: random.Random, template: str, leader: str) -> str:
    topic = pick(rng, TOPICS)
    topic2 = pick(rng, [t for t in TOPICS if t != topic])
    return template.format(
        md=f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
        role=pick(rng, _ROLES),
        leader=leader,
        place=pick(rng, PLACES),
        site=pick(rng, SITES),
        topic=topic,
        topic2=topic2,
        guest=pick(rng, GUESTS),
        n=rng.randint(2, 480),
        m=rng.randint(100, 9000),
        k=rng.randint(3, 60),
        p=rng.randint(2, 19),
    )


def paragraph(rng: random.Random, leader: str, corpus_sentences: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(2, 4)):
        if corpus_sentences and rng.random() < 0.3:
            parts.append(pick(rng, corpus_sentences))
        else:
            parts.append(fill(rng, pick(rng, _SENTENCES), leader))
    return "。".join(parts) + "。"


def subheading(rng: random.Random, index: int) -> str:
    numerals = "一二三四五六七八九十"
    return f"{numerals[index % 10]}、{pick(rng, TOPICS)}{pick(rng, ['取得新进展', '迈出新步伐', '呈现新气象', '实现新突破'])}"


def credit(rng: random.Random) -> str:
    return pick(rng, CREDITS).format(r=pick(rng, REPORTERS))


def caption(rng: random.Random, leader: str) -> str:
    """A caption paragraph as published: description, 0-2 spaces, photo credit."""
    desc = fill(rng, pick(rng, _SENTENCES[:4] + _SENTENCES[10:13]), leader)
    gap = pick(rng, ["", " ", "  "])
    return f"{desc}。{gap}{credit(rng)}"


def authors(rng: random.Random) -> list[str]:
    return rng.sample(REPORTERS, rng.randint(1, 3))


def widen(text: str) -> str:
    """Undo the corpus store's folding of full-width punctuation (`,` for `，` and so on).

    A mark between two ASCII digits stays ASCII: `10:20`, `5,000`.
    """
    table = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"}

    def repl(m: re.Match[str]) -> str:
        start, end = m.start(), m.end()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if before.isascii() and before.isdigit() and after.isascii() and after.isdigit():
            return m.group()
        return table[m.group()]

    return re.sub(r"[,:;!?()]", repl, text)


def corpus_sentences(records: list[dict]) -> list[str]:
    """Sentences of the corpus's body paragraphs, for mixing into generated text."""
    out: list[str] = []
    for rec in records:
        for kind, text in zip(rec["body_kinds"], rec["body"]):
            if kind != "p":
                continue
            for sentence in widen(text).split("。"):
                sentence = sentence.strip()
                if 16 <= len(sentence) <= 90 and not re.search(r"[“”：]", sentence):
                    out.append(sentence)
    return out
