"""Training data for the `quality` model: dialogue / comment prose and generated text, plus generated corruptions.

Web text: the only `web/` text trained on is the select part of the web gold set
(`classifiers/annotations/web-hand-labels.jsonl`: CLUECorpusSmall documents and CommonCrawl pages graded
high / medium / low by a reader), read through its references at run time, as issue 21 asks; the data
folder's README allows committing models trained on the shared data with a card naming it. The builder
still refuses a `web/` path as a recipe source, and the clean/dirty examples and the CommonCrawl sample as
a whole are read only by `commoncrawl_eval` and the experiments.

Training examples, built at run time from the shared data (nothing is copied into the repo):

0. **Graded web documents** (`gold`): high → high, low → low, medium → one high and one low example (its
   score learns to sit between), each repeated. Every document also fits the calibration (`platt_length`:
   with the text's length, which fastText's averaged n-grams miss), scored out of fold: `curate train`
   trains one model per fold of the documents (cross-fitting) before the final one.

1. **Recipe labels on real text.** SMILECHAT and EmoLLM dialogues (long, punctuated supporter prose),
   COLD comments (short prose) and, if configured, CPED scenes get a heuristic score in [0, 1] from
   curate's own rule signals (`curate/stages/signals.py`: Chinese-character ratio, line punctuation, short
   lines, duplicated lines, top n-gram share, 13-gram repetition, word-list hits in `rules/words/`) plus
   three local ones (prose share, junk characters, length). Score >= `high_min` -> `high`, <= `low_max`
   -> `low` (mostly very short comments), in between -> not used. Dialogues are rendered as the pipeline
   renders the records it scores (`curate.render.render_dialogue`: one `speaker：utterance` line per turn,
   speakers named as the readers name them).
2. **Generated prose, known `high`.** Encyclopedia / news style paragraphs (biographies, places,
   organisations, concepts, works, news) from templates written here with random slot fills, so the
   positives are not only first-person dialogue.
3. **Generated corruptions, known `low`.** Each `high` text is corrupted once by a seeded, randomly chosen
   corruption: character shuffles, keyword stuffing, SEO spam injection, nav-menu / footer boilerplate,
   mojibake and control characters, HTML remnants, pinyin-in-brackets noise, ad-spam templates,
   truncation into title-like fragments, random-character noise, and English category lists / code
   fragments. Repetition is not a corruption: fastText averages its n-gram vectors, so a sentence repeated
   reads like the sentence once; the rule signals (`sig_rep13_ratio`, `sig_dup_line_frac`) own it.
4. **Generated web junk, known `low`.** Pages made only of chrome: nav menus, footers, ads, spam titles
   and keyword runs from `rules/words/` (ads, gambling, porn, fraud, drugs), links, decorated title lists.

Valid is split by source-document key (`split_by_key`), so a document and its corruption share a split.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import polars as pl
import xxhash

from curate.assets import asset_dir
from curate.models.examples import Example, Splits, split_by_key
from curate.models.training_data.web_gold import doc_key, gold_documents
from curate.render import render_dialogue, xtuner_turns
from curate.stages.signals import SignalInput, compute_signals
from curate.stages.wordlists import WordLists

RECIPE = (
    "score = 1 - sum of penalties, clipped to [0, 1], on curate's rule signals of the real text: "
    "0.6*clip((0.7 - zh_char_ratio)/0.4) [non-Chinese, code, lists]; "
    "0.5*(1 - prose_frac) [share of characters not in lines of >=20 chars carrying Chinese clause punctuation: "
    "nav menus, title lists, tables]; 0.2*short_line_ratio; 0.5*clip(dup_line_frac/0.3); "
    "0.5*clip(rep13_ratio/0.5); 0.4*clip((top_2gram_frac - 0.1)/0.15); "
    "0.25 per distinct rules/words hit in ads/gambling/porn/fraud/drugs (max 0.75); "
    "8*junk_char_frac [control, private-use, U+FFFD, HTML tags/entities]; 0.3 if under 40 characters. "
    "Applied to SMILECHAT / EmoLLM dialogues and COLD comments: high if score >= high_min, low if <= low_max, "
    "else unused. Template prose written in the builder (biographies, places, organisations, concepts, works, "
    "news) is high. Every high text is also corrupted once (kind drawn by the config's corruption_weights: shuffle, keyword stuffing, SEO spam injection, "
    "nav/footer boilerplate, mojibake, HTML remnants, pinyin-in-brackets noise, ad-spam templates, title "
    "fragments, random characters, English lists / code) and the corruption is labelled low; generated web "
    "junk (nav, footers, ads, rules/words spam titles, links, title lists) is low."
)

_CLAUSE = re.compile(r"[，。！？；：、,.!?;…]")
_SENT_END = re.compile(r"(?<=[。！？!?；;…])")
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000-\uf8ff\ufffd]|<[a-zA-Z/][^>]{0,60}>|&[a-z]{2,6};|&#\d+;")
_SPAM_CATEGORIES = ("ads", "gambling", "porn", "fraud", "drugs")
_SIGNALS = ["sig_zh_char_ratio", "sig_line_punct_ratio", "sig_short_line_ratio", "sig_dup_line_frac",
            "sig_rep13_ratio", "sig_top_2gram_frac", "sig_sensitive_hits", "sig_char_len",
            *(f"sig_sensitive_{c}" for c in _SPAM_CATEGORIES)]


# ---------------------------------------------------------------- the recipe


def _prose_frac(text: str) -> float:
    """Share of characters in lines of at least 20 characters that carry Chinese clause punctuation."""
    total = prose = 0
    for line in text.split("\n"):
        line = line.strip()
        total += len(line)
        if len(line) >= 20 and len(_CLAUSE.findall(line)) >= max(1, len(line) // 60):
            prose += len(line)
    return prose / total if total else 0.0


def recipe_scores(texts: list[str], words: WordLists | None) -> np.ndarray:
    """The heuristic quality score in [0, 1] of each text (see `RECIPE`)."""
    if not texts:
        return np.zeros(0)
    x = SignalInput(text=pl.Series(texts, dtype=pl.String), turns=None, words=words)
    s = compute_signals(x, _SIGNALS)
    zh = np.asarray(s["sig_zh_char_ratio"], dtype=float)
    prose = np.array([_prose_frac(t) for t in texts])
    junk = np.array([sum(len(m) for m in _JUNK.findall(t)) / max(len(t), 1) for t in texts])
    spam_hits = sum(np.asarray(s[f"sig_sensitive_{c}"], dtype=float) for c in _SPAM_CATEGORIES)
    pen = (
        0.6 * np.clip((0.7 - zh) / 0.4, 0, 1)
        + 0.5 * (1 - prose)
        + 0.2 * np.asarray(s["sig_short_line_ratio"], dtype=float)
        + 0.5 * np.clip(np.asarray(s["sig_dup_line_frac"], dtype=float) / 0.3, 0, 1)
        + 0.5 * np.clip(np.asarray(s["sig_rep13_ratio"], dtype=float) / 0.5, 0, 1)
        + 0.4 * np.clip((np.asarray(s["sig_top_2gram_frac"], dtype=float) - 0.1) / 0.15, 0, 1)
        + np.minimum(0.25 * spam_hits, 0.75)
        + 8 * junk
        + 0.3 * (np.asarray(s["sig_char_len"]) < 40)
    )
    return np.clip(1 - pen, 0, 1)


def _load_words() -> WordLists | None:
    folder = asset_dir("rules") / "words"
    return WordLists.load(folder) if folder.is_dir() else None


# ---------------------------------------------------------------- real documents


def _cc_docs(path: Path, words: WordLists | None, chunk_chars: int = 200) -> Iterator[tuple[str, str, str]]:
    """(key, variant, text) for each CommonCrawl page: the raw page, its prose body, its chrome (evaluation only)."""
    spam = set(words.words) if words else set()
    spam = {w for w in spam if words and words.category_of[w] in _SPAM_CATEGORIES}
    with path.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            page = d["raw_content"]
            key = f"cc:{d.get('digest') or d.get('url')}"
            yield key, "page", page
            body, chrome = [], []
            for ln in page.split("\n"):
                ln = ln.strip()
                low = ln.lower()
                clean = _prose_frac(ln) == 1.0 and not any(w in low for w in spam) and not _JUNK.search(ln)
                (body if clean else chrome).append(ln)
            chunk: list[str] = []
            for ln in body:  # the prose body in chunks of `chunk_chars`+ characters, each one example
                chunk.append(ln)
                if sum(map(len, chunk)) >= int(chunk_chars):
                    yield key, "body", " ".join(chunk)
                    chunk = []
            if sum(map(len, chunk)) >= 80:
                yield key, "body", " ".join(chunk)
            if sum(map(len, chrome)) >= 60:
                yield key, "chrome", "\n".join(c for c in chrome if c)


def smilechat_texts(path: Path) -> Iterator[tuple[str, str]]:
    """SMILECHAT dialogues rendered as the pipeline renders them (`role：content` lines)."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            yield f"smilechat:{d['id']}", render_dialogue((t["role"], t["content"].strip()) for t in d["turns"])


def emollm_texts(path: Path) -> Iterator[tuple[str, str]]:
    """EmoLLM dialogues rendered as the pipeline renders them (style xtuner: `system：`/`input：`/`output：`)."""
    for i, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        yield f"emollm:{i}", render_dialogue((k, v.strip()) for k, v in xtuner_turns(item["conversation"]))


def cold_texts(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield f"cold:{row['id']}", row["TEXT"].strip()


def cped_texts(path: Path) -> Iterator[tuple[str, str]]:
    """CPED scenes rendered as the pipeline renders them (style csv: `Speaker：Utterance` lines)."""
    dialogues: dict[str, list[tuple[str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            dialogues.setdefault(row["Dialogue_ID"], []).append((row["Speaker"], row["Utterance"].strip()))
    for did, turns in dialogues.items():
        yield f"cped:{did}", render_dialogue(turns)


def _sample(items: list[tuple[str, str]], n: int | None, rng: random.Random) -> list[tuple[str, str]]:
    if n is None or n >= len(items):
        return items
    return rng.sample(items, n)


# ---------------------------------------------------------------- corruptions (all labelled low)

_NAV = ["首页", "关于我们", "公司简介", "产品中心", "新闻资讯", "联系我们", "在线留言", "人才招聘", "网站地图",
        "客户案例", "解决方案", "服务支持", "下载中心", "行业动态", "企业文化", "荣誉资质", "返回顶部", "更多>>",
        "上一页", "下一页", "尾页", "登录", "注册", "设为首页", "加入收藏", "English", "会员中心", "热门标签"]
_FOOTER = ["版权所有 © {y} {co} 保留所有权利", "备案号：{p}ICP备{n}号-1", "地址：{p}省{c}市{r}路{k}号",
           "电话：0{n3}-{n} 传真：0{n3}-{n}", "技术支持：{co}", "发布时间：{y}-{m}-{d} 点击量：{k}",
           "上一篇：{frag}", "下一篇：{frag}", "来源：本站 作者：admin 浏览次数：{k}", "扫一扫关注微信公众号",
           "免责声明：本站部分内容来源于网络，如有侵权请联系删除", "相关文章推荐", "热门推荐", "标签：{frag}",
           "本文地址：http://www.{v}{k}.com/{v}/{n}.html", "原文链接：https://{v}.cn/a/{n}", "分享到：微信 微博 QQ空间",
           "已有 {n} 人来访过", "图片数: {k}", "({k})次阅读|({d})个评论"]
_ADS = ["加微信{wx}领取优惠", "点击进入官网注册即送{k}元", "日赚{k}元不是梦，详情咨询QQ{n}", "正规平台 秒到账 {g}",
        "专业代办发票，联系电话{n}", "低价出售各类账号，诚信经营，欢迎咨询", "{g}官方网站_{g}登录入口_{g}app下载",
        "免费领取试用装，名额有限先到先得", "兼职刷单日结，手机就能做", "全网最低价，限时抢购，点击购买>>",
        "{g}注册送{k}，首存再送{k}%", "专业网站优化，快速排名首页，包月推广", "稳赚不赔，跟单计划免费分享"]
_PLACES = ["北京", "上海", "广东", "浙江", "江苏", "山东", "河南", "四川", "湖北", "福建"]
_COMPANIES = ["科技有限公司", "网络科技", "信息技术有限公司", "建材有限公司", "贸易有限公司", "机械设备厂"]
_SYLLABLES = ["yan", "shi", "bei", "zhu", "gong", "jie", "sai", "guan", "jun", "qiu", "liang", "ge", "le", "di",
              "zhou", "pai", "chu", "you", "yi", "qi", "wang", "li", "zhang", "hua", "xin", "ming", "an"]
_EN_WORDS = ["Science", "Engineering", "Medicine", "Environmental", "Computer", "Information", "Agriculture",
             "Management", "Economics", "Physics", "Chemistry", "Biology", "Latest", "Submit", "Home", "News",
             "Products", "Contact", "About", "Login", "Register", "Search", "Category", "Archive", "Tags"]
_CODE = ["int {v} = {k};", "if ({v} == NULL) return -1;", "for (i = 0; i < {k}; i++) {{", "return {v};",
         "}} else {{", "#include <{v}.h>", "{v}->{v} = {v}_create({v});", "static void {v}(void)", "printf(\"%d\\n\", {v});",
         "def {v}(self, {v}):", "import {v}", "self.{v} = {v}", "<div class=\"{v}\">", "</div>", "var {v} = [];"]
_VARS = ["dev", "buf", "len", "cnt", "ptr", "data", "node", "list", "ret", "cfg", "info", "ctx", "item"]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_END.split(text) if s.strip()]


def _fill(tpl: str, rng: random.Random, text: str, spam: list[str]) -> str:
    frag = text[rng.randrange(max(1, len(text) - 12)):][: rng.randint(6, 14)]
    return tpl.format(
        y=rng.randint(2005, 2023), m=rng.randint(1, 12), d=rng.randint(1, 28), k=rng.randint(10, 99999),
        n=rng.randint(10_000_000, 99_999_999), n3=rng.randint(10, 999), wx=f"{rng.choice('abcdxyz')}{rng.randint(1000, 99999)}",
        co=rng.choice(_PLACES) + rng.choice(_COMPANIES), p=rng.choice(_PLACES)[0], c=rng.choice(_PLACES),
        r=rng.choice(["人民", "中山", "解放", "建设", "长江"]), g=rng.choice(spam) if spam else "彩票", frag=frag,
        v=rng.choice(_VARS))


def _c_shuffle(text: str, rng: random.Random, spam: list[str]) -> str:
    chars = list(text)
    if rng.random() < 0.5:
        rng.shuffle(chars)
        return "".join(chars)
    sents = _sentences(text) or [text]
    out = []
    for s in sents:
        c = list(s)
        rng.shuffle(c)
        out.append("".join(c))
    return "".join(out)


def _c_keyword_stuffing(text: str, rng: random.Random, spam: list[str]) -> str:
    grams = Counter(text[i:i + rng.choice((2, 3, 4))] for i in range(0, max(1, len(text) - 4)))
    own = [g for g, _ in grams.most_common(30) if not _CLAUSE.search(g) and not g.isspace()]
    kws = rng.sample(own, min(len(own), rng.randint(2, 5))) + rng.sample(spam, min(len(spam), rng.randint(1, 4)))
    n = rng.randint(15, 60)
    sep = rng.choice([" ", ",", "_", "|", "，", "", " "])
    out = sep.join(rng.choice(kws) for _ in range(n))
    return out if rng.random() < 0.5 else out + "\n" + text[: rng.randint(20, 120)]


def _c_seo_injection(text: str, rng: random.Random, spam: list[str]) -> str:
    kw = "".join(rng.sample(spam, min(len(spam), 2))) + rng.choice(["网址", "官网", "登录", "app下载", "注册", ""])
    sents = _sentences(text) or [text]
    out = [kw + "_" + kw]
    for s in sents:
        out.append(s)
        if rng.random() < 0.5:
            out.append(rng.choice([kw, kw + "，", f"【{kw}】", f"({rng.choice(spam)})"]))
    return "".join(out)


def _c_boilerplate(text: str, rng: random.Random, spam: list[str]) -> str:
    lines = [rng.choice([" ", " | ", "  ", "\n"]).join(rng.sample(_NAV, rng.randint(4, 10)))]
    for _ in range(rng.randint(5, 18)):
        lines.append(_fill(rng.choice(_FOOTER + _NAV), rng, text, spam))
    if rng.random() < 0.6:
        lines.insert(rng.randrange(len(lines)), text[: rng.randint(15, 60)])
    return "\n".join(lines)


def _c_mojibake(text: str, rng: random.Random, spam: list[str]) -> str:
    out = []
    for s in _sentences(text) or [text]:
        r = rng.random()
        if r < 0.4:
            s = s.encode("utf-8").decode(rng.choice(["latin-1", "cp1252", "gbk"]), errors="replace")
        elif r < 0.7:
            s = "".join(c + (chr(rng.randint(5, 8)) * rng.randint(1, 4) if rng.random() < 0.3 else "") for c in s)
        elif r < 0.85:
            s = "".join(chr(rng.randint(0xE000, 0xE8FF)) if rng.random() < 0.4 else c for c in s)
        out.append(s)
    return "".join(out)


def _c_html(text: str, rng: random.Random, spam: list[str]) -> str:
    tags = ["<div>", "</div>", "<p>", "</p>", "&nbsp;", "<br/>", "&ldquo;", "&rdquo;", "<span style=\"color:red\">",
            "</span>", "&amp;", "<a href=\"http://www.{d}.com\">", "</a>", "<img src=\"/uploads/{k}.jpg\">", "&#8203;"]
    out = []
    for s in _sentences(text) or [text]:
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(s) + 1)
            tag = rng.choice(tags).format(d=rng.choice(_VARS), k=rng.randint(1, 9999))
            s = s[:i] + tag + s[i:]
        out.append(s)
    return "".join(out)


def _c_pinyin(text: str, rng: random.Random, spam: list[str]) -> str:
    out = []
    for c in text:
        out.append(c)
        if "\u4e00" <= c <= "\u9fa5" and rng.random() < 0.35:
            out.append(f"({rng.choice(_SYLLABLES)})")
        if rng.random() < 0.03:
            out.append("".join(chr(rng.randint(5, 8)) for _ in range(rng.randint(3, 7))))
    return "".join(out)


def _c_ad_spam(text: str, rng: random.Random, spam: list[str]) -> str:
    lines = [_fill(rng.choice(_ADS), rng, text, spam) for _ in range(rng.randint(4, 14))]
    if rng.random() < 0.5:
        lines.insert(rng.randrange(len(lines)), text[: rng.randint(20, 100)])
    return "\n".join(lines)


def _c_fragments(text: str, rng: random.Random, spam: list[str]) -> str:
    clauses = [c.strip() for c in _CLAUSE.split(text) if 3 <= len(c.strip()) <= 30]
    if len(clauses) < 3:
        clauses = [text[i:i + rng.randint(4, 12)] for i in range(0, len(text), 13)]
    start = rng.randrange(max(1, len(clauses) - 5))
    frags = clauses[start:start + rng.randint(5, 25)]
    deco = rng.choice(["none", "count", "time", "bracket", "number"])
    out = []
    for i, f in enumerate(frags):
        if deco == "count":
            f = f"{f} ({rng.randint(1, 999)})"
        elif deco == "time":
            f = f"{f} {rng.randint(1, 28)} {rng.randint(0, 23)}:{rng.randint(10, 59)}"
        elif deco == "bracket" and rng.random() < 0.4:
            f = f"【{rng.choice(['干货', '推荐', '热门', '最新', '图文'])}】{f}"
        elif deco == "number":
            f = f"{i + 1}、{f}"
        out.append(f + (rng.choice(["!", "?", "...", "！"]) if rng.random() < 0.1 else ""))
    if rng.random() < 0.3:  # a real page: a title list above a little prose
        out.append(text[: rng.randint(30, 80)])
    return "\n".join(out)


def _c_random_chars(text: str, rng: random.Random, spam: list[str]) -> str:
    p = rng.uniform(0.3, 0.8)
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) if "\u4e00" <= c <= "\u9fa5" and rng.random() < p else c for c in text)


def _c_english_code(text: str, rng: random.Random, spam: list[str]) -> str:
    if rng.random() < 0.5:
        lines = [" ".join(rng.sample(_EN_WORDS, rng.randint(1, 4))) + f" ({rng.randint(1, 999)})"
                 for _ in range(rng.randint(6, 25))]
    else:
        lines = [_fill(rng.choice(_CODE), rng, text, spam) for _ in range(rng.randint(6, 25))]
        for _ in range(rng.randint(1, 4)):
            lines.insert(rng.randrange(len(lines)), f"/* {rng.randint(1, 9)}、{text[:rng.randint(4, 10)]} */")
    return "\n".join(lines)


CORRUPTIONS: dict[str, Callable[[str, random.Random, list[str]], str]] = {
    "shuffle": _c_shuffle, "keyword_stuffing": _c_keyword_stuffing, "seo_injection": _c_seo_injection,
    "boilerplate": _c_boilerplate, "mojibake": _c_mojibake, "html": _c_html, "pinyin_noise": _c_pinyin,
    "ad_spam": _c_ad_spam, "fragments": _c_fragments, "random_chars": _c_random_chars,
    "english_code": _c_english_code,
}


# ---------------------------------------------------------------- generated prose (labelled high)
# Written here for this builder: encyclopedia / news style paragraphs (biographies, places, organisations,
# concepts, works, events) whose slots are filled at random, so the positives are not only dialogue prose.

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国志文博宇浩然轩远晓东海峰春雨晨阳振立新德庆红梅玉卫光辉永琳婷欣怡俊凯鹏飞云帆思源嘉懿雪松柏青"
_EN_NAMES = ["Hans", "David Chen", "Lily", "Kevin", "Ravshan Irmatov", "Anna", "Michael", "Grace", "Leo", "Vincent"]
_PROVS = {"湖北": ["武汉", "宜昌", "襄阳", "荆州", "咸宁"], "湖南": ["长沙", "岳阳", "衡阳", "常德", "株洲"],
          "四川": ["成都", "泸州", "绵阳", "南充", "乐山"], "江苏": ["南京", "苏州", "无锡", "扬州", "南通"],
          "浙江": ["杭州", "宁波", "温州", "绍兴", "金华"], "山东": ["济南", "青岛", "烟台", "潍坊", "临沂"],
          "河南": ["郑州", "洛阳", "开封", "南阳", "新乡"], "福建": ["福州", "厦门", "泉州", "南平", "漳州"],
          "安徽": ["合肥", "芜湖", "安庆", "黄山", "蚌埠"], "广东": ["广州", "深圳", "佛山", "汕头", "韶关"],
          "陕西": ["西安", "宝鸡", "汉中", "延安", "咸阳"], "云南": ["昆明", "大理", "曲靖", "玉溪", "丽江"]}
_UNI_KIND = ["师范大学", "理工大学", "大学", "医科大学", "农业大学", "财经大学", "工业大学", "交通大学", "电影学院"]
_FIELDS = ["植物遗传学", "有机化学", "计算机科学", "古代文学", "区域经济学", "流行病学", "材料科学", "水利工程",
           "中国近代史", "城市规划", "英语语言文学", "机械设计", "临床医学", "新闻传播学", "环境工程", "数学",
           "表演", "会计学", "土木工程", "社会学"]
_OCCS = ["中学高级教师", "影视演员", "主任医师", "研究员", "高级工程师", "作家", "足球运动员", "画家", "企业家",
         "律师", "记者", "建筑设计师", "大学教授", "歌手", "导演", "农业技术推广员", "公务员", "书法家"]
_ORGS = ["市第一中学", "省人民医院", "省农业科学院", "市规划设计研究院", "日报社", "市文化馆", "省水利厅",
         "电视台", "市中级人民法院", "中国科学院某研究所", "市图书馆", "省博物馆"]
_POSTS = ["教务处主任", "副院长", "科室主任", "总工程师", "编辑部主任", "副馆长", "党委书记", "项目负责人",
          "研究室主任", "副总经理", "年级组长", "首席记者"]
_AWARDS = ["全国优秀教师", "省劳动模范", "五一劳动奖章", "省青年科技奖", "茅盾文学奖提名", "金鹰奖最佳男配角",
           "全国三八红旗手", "市优秀共产党员", "省自然科学奖二等奖", "优秀科技工作者"]
_TITLE_WORDS = ["春风", "长河", "故乡", "远山", "明月", "归途", "青春", "星辰", "岁月", "江湖", "大地", "白鹭",
                "城南", "旧事", "黎明", "海岸", "麦田", "灯火", "山城", "少年", "微光", "雪国", "归来", "阳台"]
_GENRES = ["长篇小说", "散文集", "历史小说", "科普读物", "诗集", "报告文学", "武侠小说", "儿童文学作品"]
_SCREEN = ["电视剧", "电影", "话剧", "网络剧", "纪录片", "动画电影"]
_PLOTS = ["一个普通家庭在时代变迁中相互扶持、共同成长", "两位年轻人从小城走向大城市、追寻理想",
          "一名乡村教师坚守山区二十年、改变孩子们命运", "一支科考队在极地遭遇困境并最终脱险",
          "老街坊之间围绕一座老宅发生的种种往事", "一位女医生在疫情期间坚守岗位、救治病人",
          "少年侠客为寻找身世之谜而行走江湖", "一家老字号店铺在几代人手中传承和转型",
          "退伍军人回到家乡带领村民发展产业", "一群中学生在备战高考的一年里收获友谊"]
_CONCEPTS = [("价值工程", "以提高产品或作业的价值为目的，通过有组织的创造性工作，以最低的寿命周期成本实现必要功能"),
             ("边际效用", "消费者每增加一个单位的商品消费所获得的效用增量"),
             ("光合作用", "绿色植物利用光能，把二氧化碳和水转化为储存能量的有机物并释放氧气的过程"),
             ("机会成本", "为了得到某种东西而放弃的其他东西中价值最高的那一项"),
             ("认知行为疗法", "通过改变不合理的思维方式和行为习惯来改善情绪问题的一类心理治疗方法"),
             ("供应链管理", "对从原材料采购、生产加工到产品交付给最终用户的整个过程进行计划、协调和控制"),
             ("地下水超采", "在一定区域内地下水开采量长期超过补给量，导致地下水位持续下降的现象"),
             ("分布式计算", "把一个需要巨大计算能力的问题分成许多小部分，分配给多台计算机处理后再综合结果"),
             ("城市热岛效应", "城市中心区气温明显高于周边郊区的现象"),
             ("全面质量管理", "以质量为中心、以全员参与为基础，使顾客满意并使组织成员和社会受益的管理途径"),
             ("生物多样性", "一定区域内生物及其与环境形成的生态复合体以及与此相关的各种生态过程的总和"),
             ("通货膨胀", "在一定时期内商品和服务的价格总水平持续上涨、货币购买力下降的现象"),
             ("潜伏期", "从病原体侵入机体到最早出现临床症状的这段时间"),
             ("成本核算", "把一定时期内企业生产经营过程中发生的费用，按其性质和发生地点分类归集、汇总和核算")]
_STEPS = ["明确目标和适用范围", "收集和整理相关资料", "建立分析模型并确定关键指标", "对结果进行检验和修正",
          "制定具体的实施方案", "总结经验并加以推广", "组织有关人员进行论证", "开展小范围试点"]
_INDUSTRIES = ["茶叶种植", "柑橘种植", "水产养殖", "机械制造", "乡村旅游", "纺织服装", "电子信息", "中药材种植",
               "陶瓷生产", "物流运输", "食品加工", "竹木加工"]
_PRODUCTS = ["板栗", "香菇", "脐橙", "绿茶", "腊肉", "米粉", "桂花糕", "蜂蜜", "莲藕", "黄酒", "竹编", "剪纸"]
_DYNS = ["新石器", "春秋战国", "秦汉", "唐代", "宋代", "元代", "明代", "清代"]
_BIZ = ["工业自动化设备研发", "新能源电池材料", "医疗器械生产", "农产品深加工", "软件开发与信息服务",
        "建筑工程施工", "环保设备制造", "跨境物流服务"]
_EVENTS = ["全国青少年机器人竞赛", "国际茶文化博览会", "中国城市规划年会", "全国中学生田径运动会",
           "国际数字经济论坛", "全国农业科技成果展", "亚洲青年戏剧节", "全国古籍保护工作会议"]
_DEPTS = ["教育局", "气象局", "交通运输局", "卫生健康委员会", "文化和旅游局", "自然资源局", "统计局"]
_NEWS_FACTS = ["全市中小学将于下月起推行课后延时服务，覆盖学生超过{k}万人",
               "今年前三季度全市地区生产总值同比增长{p}%，增速高于全省平均水平",
               "受冷空气影响，未来三天全市将出现明显降温，最低气温将降至{t}摄氏度左右",
               "今年以来全市共新建和改造农村公路{k}公里，惠及沿线群众{k2}万人",
               "全市共有{k}家旅游景区恢复开放，节假日期间接待游客{k2}万人次",
               "当地新建的{k}所社区卫生服务中心已全部投入使用，居民就医更加方便"]
_ADJ_PRAISE = ["语言朴实、情节紧凑，真实地反映了普通人的生活", "结构严谨、资料翔实，具有较高的史料价值",
               "人物形象鲜明，细节描写细腻动人", "视角独特，兼具思想性和可读性"]


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.randint(1, 2)))


def _title(rng: random.Random) -> str:
    return "".join(rng.sample(_TITLE_WORDS, rng.randint(1, 2))) + rng.choice(["", "", "之歌", "往事", "的故事", "记"])


def _slots(rng: random.Random) -> dict:
    prov = rng.choice(sorted(_PROVS))
    y = rng.randint(1930, 2000)
    concept, definition = rng.choice(_CONCEPTS)
    return {
        "name": _name(rng), "name2": _name(rng), "name3": _name(rng), "en": rng.choice(_EN_NAMES),
        "sex": rng.choice(["男", "女"]), "eth": rng.choice(["汉", "汉", "汉", "回", "满", "土家", "苗", "壮"]),
        "y": y, "y2": y + rng.randint(18, 25), "y3": y + rng.randint(26, 35), "y4": y + rng.randint(36, 50),
        "m": rng.randint(1, 12), "d": rng.randint(1, 28), "prov": prov, "city": rng.choice(_PROVS[prov]),
        "uni": rng.choice(_PROVS[prov]) + rng.choice(_UNI_KIND), "field": rng.choice(_FIELDS),
        "field2": rng.choice(_FIELDS), "occ": rng.choice(_OCCS), "org": rng.choice(_PROVS[prov]) + rng.choice(_ORGS),
        "post": rng.choice(_POSTS), "post2": rng.choice(_POSTS), "award": rng.choice(_AWARDS),
        "award2": rng.choice(_AWARDS), "title": _title(rng), "title2": _title(rng), "genre": rng.choice(_GENRES),
        "screen": rng.choice(_SCREEN), "plot": rng.choice(_PLOTS), "concept": concept, "def": definition,
        "step1": rng.choice(_STEPS), "step2": rng.choice(_STEPS), "step3": rng.choice(_STEPS),
        "ind": rng.choice(_INDUSTRIES), "ind2": rng.choice(_INDUSTRIES), "prod": rng.choice(_PRODUCTS),
        "prod2": rng.choice(_PRODUCTS), "dyn": rng.choice(_DYNS), "biz": rng.choice(_BIZ),
        "event": rng.choice(_EVENTS), "dept": rng.choice(_DEPTS), "praise": rng.choice(_ADJ_PRAISE),
        "town": rng.choice(_SURNAMES) + rng.choice(["家", "山", "河", "桥", "坪", "湾"]) + rng.choice(["镇", "乡"]),
        "dir": rng.choice(["东", "南", "西", "北", "东北", "西南"]), "k": rng.randint(3, 60), "k2": rng.randint(100, 5000),
        "k3": rng.randint(10, 31), "p": round(rng.uniform(1.5, 9.5), 1), "t": rng.randint(-8, 22),
        "area": rng.randint(80, 900), "pop": round(rng.uniform(1.2, 12.0), 1), "rain": rng.randint(600, 1800),
        "ny": rng.randint(2005, 2023), "nm": rng.randint(1, 12), "nd": rng.randint(1, 28),
        "era": rng.choice(["咸丰", "同治", "光绪", "道光", "嘉靖", "万历", "康熙", "乾隆"]),
        "y0": rng.randint(1550, 1890), "y0b": rng.randint(1600, 1900), "d2": rng.randint(2, 9),
        "city2": rng.choice(_PROVS[rng.choice(sorted(_PROVS))]), "co": rng.choice(_COMPANIES),
        "prod_en": rng.choice(["瑞星杀毒软件", "星云办公系统", "AT32F421芯片", "天眼监测仪", "云帆浏览器", "智农云平台"]),
        "tech": rng.choice(["信息安全软件", "微控制器", "粉尘检测仪", "办公自动化系统", "数据分析平台"]),
        "abbr": rng.choice(["VUE", "DSP", "AI", "OCR", "GIS", "CPU", "ERP"]),
        "abbr_full": rng.choice(["虚拟机脱壳引擎", "数字信号处理器", "图像识别引擎", "地理信息系统内核"]),
        "ver": rng.choice(["2.0", "V3.1", "2007", "Pro", "X系列"]), "mhz": rng.choice([72, 120, 240, 480]),
        "gdp": rng.randint(800, 9000), "gdp2": rng.randint(300, 4000), "p2": round(rng.uniform(0.5, 6.0), 1),
        "inc": rng.randint(18000, 68000), "pct": round(rng.uniform(35, 85), 1),
    }


_PROSE = {
    "bio": ["{name}，{sex}，{eth}族，{y}年{m}月{d}日出生于{prov}省{city}市，{occ}。",
            "{name}（{en}），{y}年{m}月{d}日出生于{city}，中国内地{occ}。",
            "{y2}年毕业于{uni}{field}专业，获学士学位，后进入{org}工作。",
            "参加工作后，先后担任{post}、{post2}等职务，长期从事{field}方面的工作。",
            "他在{field}领域发表论文{k}篇，出版专著《{title}》，主持完成的项目获得{prov}省科学技术进步奖。",
            "{y3}年，{name}被评为{award}；{y4}年又获得{award2}称号。",
            "{y2}年，出演个人首部{screen}《{title}》，从而正式进入演艺圈；之后，为了完成学业而选择暂停拍戏。",
            "在教学工作中，{name}注重培养学生的创新能力和实践动手能力，所带班级多次被评为优秀班集体。",
            "她为人谦和，治学严谨，先后培养研究生{k}名，其中多人已成为行业骨干。",
            "退休后，{name}仍然关心{field}的发展，经常到基层为年轻同行讲课。"],
    "place": ["{town}是{prov}省{city}市下辖的一个乡镇，位于{city}市{dir}部，总面积{area}平方千米，户籍人口约{pop}万人。",
              "境内地势西高东低，属亚热带季风气候，年平均气温{t}摄氏度，年降水量约{rain}毫米。",
              "当地经济以{ind}和{ind2}为主，特产有{prod}、{prod2}等，其中{prod}远近闻名。",
              "{town}历史悠久，{dyn}时期已有人类在此定居，境内保存有古桥、古井和祠堂等历史遗迹。",
              "全镇共有中小学{k}所、卫生院两所，省道穿境而过，交通较为便利。",
              "近年来，{town}大力发展{ind}，带动了周边村民就业，群众收入稳步提高。"],
    "org": ["{city}{biz}有限公司成立于{y2}年，总部位于{prov}省{city}市，是一家专注于{biz}的高新技术企业。",
            "公司现有员工{k2}余人，其中专业技术人员约占三成，拥有国家专利{k}项。",
            "公司主要产品销往全国{k3}个省、自治区和直辖市，并出口到东南亚和欧洲等地区。",
            "{ny}年，公司建成新的研发中心，与{uni}等高校开展产学研合作。",
            "{org}始建于{y2}年，是{prov}省重点单位之一，现设有{k}个业务部门。"],
    "concept": ["{concept}是指{def}。",
                "{concept}的概念最早由学者在二十世纪提出，后来被广泛应用于{field}和{field2}等领域。",
                "在实际应用中，{concept}通常分为三个步骤：首先，{step1}；其次，{step2}；最后，{step3}。",
                "与传统做法相比，研究{concept}更加注重整体和长期的效果，有助于提高决策的科学性与合理性。",
                "不过，也有研究者指出，{concept}的相关方法在数据不足的情况下存在一定局限，需要结合具体情况加以运用。",
                "1、它有助于明确各环节的目标。 2、它便于发现问题并及时调整。 3、它能够促进各部门之间的协作。"],
    "work": ["《{title}》是{name}创作的一部{genre}，{y4}年由{prov}人民出版社出版。",
             "《{title}》是一部由{name}执导，{name2}、{name3}主演的{screen}，于{ny}年{nm}月首播。",
             "该作品讲述了{plot}的故事。",
             "作品出版后受到读者和评论界的普遍关注，先后多次重印，并被改编为{screen}。",
             "评论认为，这部作品{praise}。",
             "作者在后记中写道，创作这部作品前曾多次回到{city}走访，收集了大量第一手资料。"],
    "news": ["{ny}年{nm}月{nd}日，记者从{city}市{dept}获悉，" + "{fact}。",
             "第{k}届{event}于{ny}年{nm}月在{city}举行，来自全国各地的{k2}余名代表参加了此次活动。",
             "据介绍，本次活动以交流经验、促进合作为主题，设置了主题论坛、成果展示和现场参观等环节。",
             "有关负责人表示，下一步将继续加大投入，进一步完善相关配套设施，让更多群众从中受益。",
             "{dyn}时期，{city}一带曾发生严重水灾，当地百姓修筑堤坝、疏通河道，此后数十年未再发生大的灾害。"],
    "history": ["{dyn}{era}{k}年（{y0}）{m}月，{name}率部{k2}余人由{city}出发，攻克{city2}，初{d2}日离城。",
                "{era}{k}年（{y0}），为策应{city2}战事，{name}分兵两路，阻遏援军东下，双方在{town}一带接战。",
                "{y0}年至{y0b}年间，{city}先后{k3}次易手，当地人口由约{pop}万人减少到不足一半。",
                "战后，{name2}主持修复城墙、书院和仓库，并在{y0b}年编成《{city}县志》{k}卷。",
                "据《{title}》记载，当时“城中粮尽，百姓多避入山中”，这一记载与出土碑刻的内容基本一致。",
                "这一事件是当地近代史的重要组成部分，相关史料现保存于{prov}省档案馆。"],
    "tech": ["{prod_en}是{city}{co}于{ny}年推出的一款{tech}，基于第{k3}代{abbr_full}（{abbr}）研制开发。",
             "该产品支持Windows、Linux和Android三种平台，主频最高{mhz}MHz，功耗比上一代降低约{p}%。",
             "在{ny}年的行业测试中，其处理速度、识别率和资源占用率等主要技术指标均达到国内领先水平。",
             "目前，该产品已在全国{k3}个省市的{k2}多家单位使用，累计销售超过{k}万套。",
             "1、采用模块化设计，便于维护和升级。 2、支持简体中文、繁体中文和英文三种语言。 3、提供7×24小时技术支持。",
             "{ny}年{nm}月，{co}发布了{prod_en} {ver}版，新增了数据备份和远程管理等功能。"],
    "stats": ["据{city}市统计局发布的数据，{ny}年全市地区生产总值为{gdp}亿元，同比增长{p}%。",
              "其中，第一产业增加值{k2}亿元，增长{p2}%；第二产业增加值{gdp2}亿元，增长{p}%。",
              "全年城镇新增就业{k}.{k3}万人，城镇登记失业率为{p2}%，控制在{p}%的目标以内。",
              "全市居民人均可支配收入{inc}元，比上年增长{p2}%，其中农村居民收入增速快于城镇居民。",
              "截至{ny}年底，全市常住人口{pop}万人，比上年末增加{k}万人，城镇化率达到{pct}%。"],
}


def generated_prose(n: int, rng: random.Random) -> list[str]:
    """`n` encyclopedia / news style paragraphs from this module's templates (one kind per text)."""
    out = []
    kinds = sorted(_PROSE)
    for _ in range(n):
        kind = rng.choice(kinds)
        s = _slots(rng)
        s["fact"] = rng.choice(_NEWS_FACTS).format(**s)
        tpls = _PROSE[kind]
        first, rest = tpls[0] if rng.random() < 0.6 else rng.choice(tpls), tpls[1:]
        picked = [first] + rng.sample(rest, rng.randint(min(2, len(rest)), len(rest)))
        sents = [t.format(**s) for t in picked]
        sep = rng.choice(["", "", " ", "  "])
        out.append(sep.join(sents))
    return out


# ---------------------------------------------------------------- generated web boilerplate / ads (labelled low)

_SPAM_TITLE = ["{g}官网", "{g}_{g}登录入口", "{g}app下载", "{g}注册送{k}元", "{g}平台", "{g}网址大全", "最新{g}",
               "{g}在线", "{g}首页", "{g}免费领取", "{g}客服", "{g}推荐"]
_LINKS = ["http://www.{v}{k}.com/{v}/{n}.html", "https://{v}.cn/a/{n}", "www.{v}{k}.net", "http://{v}.{v}.cc/?id={k}"]
_LIST_DECO = ["{frag} ({k})", "{frag} {d} {h}:{mi}", "【{tag}】{frag}", "{i}、{frag}", "{frag}", "· {frag}"]
_TAGS = ["干货", "推荐", "热门", "最新", "图文", "视频", "置顶", "精华", "转载"]


def generated_web_junk(n: int, rng: random.Random, spam: list[str], words: list[str]) -> list[str]:
    """`n` web pages made only of chrome: nav menus, footers, ads, spam titles from rules/words, links, title lists."""
    out = []
    titles = generated_prose(max(n // 4, 10), rng)
    for _ in range(n):
        lines: list[str] = []
        base = rng.choice(titles)
        for _ in range(rng.randint(3, 7)):
            part = rng.choice(["nav", "footer", "ads", "spam", "links", "titles", "words"])
            k = rng.randint(2, 8)
            if part == "nav":
                lines.append(rng.choice([" ", " | ", "  ", "\n", ""]).join(rng.sample(_NAV, rng.randint(4, 12))))
            elif part == "footer":
                lines += [_fill(rng.choice(_FOOTER), rng, base, spam) for _ in range(k)]
            elif part == "ads":
                lines += [_fill(rng.choice(_ADS), rng, base, spam) for _ in range(k)]
            elif part == "spam":
                lines += [_fill(rng.choice(_SPAM_TITLE), rng, base, words) for _ in range(k)]
            elif part == "links":
                lines += [_fill(rng.choice(_LINKS), rng, base, spam) for _ in range(k)]
            elif part == "words":
                lines.append(rng.choice(["", " ", "_", "|", "，"]).join(rng.sample(words, min(len(words), k * 2))))
            else:
                clauses = [c for c in _CLAUSE.split(rng.choice(titles)) if 4 <= len(c) <= 30]
                for i, c in enumerate(clauses[: k + 3]):
                    lines.append(rng.choice(_LIST_DECO).format(
                        frag=c, k=rng.randint(1, 999), d=rng.randint(1, 28), h=rng.randint(0, 23),
                        mi=rng.randint(10, 59), tag=rng.choice(_TAGS), i=i + 1))
        out.append("\n".join(lines))
    return out


# ---------------------------------------------------------------- build


def _spam_words(words: WordLists | None, categories: tuple[str, ...]) -> list[str]:
    found = sorted(w for w in (words.words if words else []) if words and words.category_of[w] in categories)
    return [w for w in found if len(w) >= 2 and not w.isascii()] or ["彩票"]


def _check_training_paths(cfg: dict) -> None:
    """Refuse evaluation-only data (`web/`: ChineseWebText, no licence to redistribute) as a training source."""
    for name in ("smilechat", "emollm", "cold", "cped"):
        path = str(cfg.get(name) or "")
        if path.replace("\\", "/").lstrip("./").startswith("web/") or "/web/" in path:
            raise ValueError(f"quality: {name}={path!r} is evaluation-only web data; it must not be trained on")
    if cfg.get("commoncrawl"):
        raise ValueError("quality: `commoncrawl` is evaluation-only (see evaluation.commoncrawl in the config)")


def documents(cfg: dict, data_root: Path, rng: random.Random) -> list[tuple[str, str, str]]:
    """(key, source, text) of every real training document, sampled per `cfg['max_docs']`; no web data."""
    _check_training_paths(cfg)
    caps: dict = cfg.get("max_docs", {})
    docs: list[tuple[str, str, str]] = []
    readers = {"smilechat": smilechat_texts, "emollm": emollm_texts, "cold": cold_texts, "cped": cped_texts}
    for name, reader in readers.items():
        if cfg.get(name):
            items = list(reader(data_root / cfg[name]))
            docs += [(k, name, t) for k, t in _sample(items, caps.get(name), rng)]
    return docs


def labelled(cfg: dict, data_root: Path) -> list[tuple[str, str, Example]]:
    """(document key, origin, example) for every example: origin is `SOURCE:high|low|unused` or `corrupt:NAME`."""
    seed = int(cfg.get("seed", 1))
    rng = random.Random(seed)
    high_min, low_max = float(cfg.get("high_min", 0.65)), float(cfg.get("low_max", 0.35))
    max_chars = int(cfg.get("max_chars", 3000))
    gen: dict = cfg.get("generated", {})
    words = _load_words()
    spam = _spam_words(words, ("gambling", "ads"))
    all_spam = _spam_words(words, _SPAM_CATEGORIES)

    docs = [(k, s, t[:max_chars]) for k, s, t in documents(cfg, data_root, rng) if t.strip()]
    scores = recipe_scores([t for _, _, t in docs], words)
    prose = [(f"gen-prose:{i}", "generated_prose", t) for i, t in enumerate(generated_prose(int(gen.get("prose", 0)), rng))]
    names = sorted(CORRUPTIONS)
    weights = [float(cfg.get("corruption_weights", {}).get(n, 1.0)) for n in names]
    out: list[tuple[str, str, Example]] = []

    def high(key: str, source: str, text: str) -> None:
        out.append((key, f"{source}:high", Example(("high",), text)))
        corr = rng.choices(names, weights)[0]
        base = text
        if rng.random() < 0.3 and len(text) > 200:  # corruptions of short heads too
            base = text[: rng.randint(80, 200)]
        out.append((key, f"corrupt:{corr}", Example(("low",), CORRUPTIONS[corr](base, rng, spam))))

    for (key, source, text), score in zip(docs, scores, strict=True):
        if score >= high_min:
            high(key, source, text)
        elif score <= low_max:
            out.append((key, f"{source}:low", Example(("low",), text)))
        else:
            out.append((key, f"{source}:unused", Example((), text)))
    for key, source, text in prose:  # generated from templates: high by construction
        high(key, source, text)
    for i, text in enumerate(generated_web_junk(int(gen.get("web_junk", 0)), rng, spam, all_spam)):
        out.append((f"gen-web:{i}", "generated_web_junk:low", Example(("low",), text)))
    return out


def reader_labels(level: str, medium: str) -> list[tuple[str, ...]]:
    """The binary examples one gold document gives: high → high, low → low, medium → one high and one low
    (`medium: both`, so the score of thin text learns to sit between the two), low (`low`) or none (`skip`)."""
    if level != "medium":
        return [(level,)]
    return {"both": [("high",), ("low",)], "low": [("low",)], "skip": []}[medium]


def gold_examples(spec: dict, data_root: Path, max_chars: int) -> tuple[list[Example], list[int], list[Example], list[int], Counter]:
    """Training and calibration examples from the web gold set (`spec`: path, part, repeat, medium,
    calibration_folds): every document trains (repeated) and fits the calibration, scored by a model that
    did not train on its fold (`curate train` cross-fits when the fold ids are given), so 0–1 scores are
    fitted on real pages a reader graded. Returns train examples and their fold ids, calibration examples
    and theirs, and counts."""
    train: list[Example] = []
    train_fold: list[int] = []
    calib: list[Example] = []
    calib_fold: list[int] = []
    counts: Counter[str] = Counter()
    repeat, medium = int(spec.get("repeat", 1)), str(spec.get("medium", "both"))
    folds = int(spec.get("calibration_folds", 0))
    for doc in gold_documents(spec, data_root):
        text = doc.text.strip()[:max_chars]
        kinds = reader_labels(doc.quality, medium)
        fold = xxhash.xxh64_intdigest(f"quality-calibration:{doc_key(doc)}".encode()) % folds if folds else -1
        train += [Example(k, text) for _ in range(repeat) for k in kinds]
        train_fold += [fold] * (repeat * len(kinds))
        if folds:
            calib += [Example(k, text) for k in kinds]
            calib_fold += [fold] * len(kinds)
        counts[f"gold:{doc.quality}"] += 1
    return train, train_fold, calib, calib_fold, counts


def build(cfg: dict, data_root: Path) -> Splits:
    """Recipe-labelled dialogue / comment text, generated prose and web junk, one corruption per high; split by
    key; plus the web gold set's select part (repeated, always in train) and its calibration slice."""
    seed = int(cfg.get("seed", 1))
    high_min, low_max = float(cfg.get("high_min", 0.65)), float(cfg.get("low_max", 0.35))
    items = labelled(cfg, data_root)
    counts = Counter(origin for _, origin, _ in items)
    pairs = [(key, ex) for key, _, ex in items if ex.labels]
    splits = split_by_key(pairs, float(cfg.get("valid_fraction", 0.15)), salt=f"quality:{seed}")
    gold_train, gold_fold, splits.calibration, splits.calibration_fold, gold_counts = gold_examples(
        cfg.get("gold") or {}, data_root, int(cfg.get("max_chars", 3000)))
    counts.update(gold_counts)
    if gold_train:
        pairs_t = [(ex, -1) for ex in splits.train] + list(zip(gold_train, gold_fold, strict=True))
        if cfg.get("shuffle"):  # fastText reads its file in order while the learning rate decays: mix the sources
            random.Random(seed).shuffle(pairs_t)
        splits.train = [ex for ex, _ in pairs_t]
        splits.train_fold = [f for _, f in pairs_t] if splits.calibration_fold else []
    splits.notes["recipe"] = RECIPE + f" Thresholds: high_min={high_min}, low_max={low_max}."
    splits.notes["sources"] = dict(sorted(counts.items()))
    splits.notes["training_data"] = (
        "SMILECHAT (CC0-1.0), EmoLLM (MIT), COLD (Apache-2.0) and, if configured, CPED (Apache-2.0), read from "
        "the shared data at run time; plus text generated by the builder (template prose, web junk from "
        "rules/words and the builder's templates, corruptions)" + (
            ". Plus the select part of the web gold set (classifiers/annotations/web-hand-labels.jsonl: "
            "CLUECorpusSmall documents and ChineseWebText CommonCrawl pages from web/, research / evaluation "
            "data with no redistribution licence, graded by a reader), read through its references; no other "
            "web/ text is trained on." if gold_counts else
            ". No ChineseWebText / CommonCrawl text (web/, evaluation-only licence) is trained on."))
    splits.notes["check_set"] = ("web/cwt-quality-clean.jsonl (high) and web/cwt-quality-dirty.jsonl (low), "
                                 "ChineseWebText's own examples, never trained on" + (
                                     "; and the web gold set's untouched test part (curate eval quality --data "
                                     "classifiers/annotations/web-hand-labels.jsonl --part test)" if gold_counts
                                     else ", and the web/cwt-commoncrawl-sample.jsonl pages (hand check, "
                                     "recipe-labelled slice): evaluation only, never trained on"))
    for key in ("selection", "evaluation", "fresh_test", "scale", "feature_choice"):
        if cfg.get(key):
            splits.notes[key] = cfg[key]
    return splits


# ---------------------------------------------------------------- evaluation only (never trained on)


def commoncrawl_eval(path: Path) -> list[tuple[str, str, Example]]:
    """Recipe-labelled CommonCrawl slice for evaluation: (key, variant, example), variant page / body / chrome.

    The pages are ChineseWebText's sample (no licence to redistribute), so they never reach `build`.
    """
    words = _load_words()
    docs = list(_cc_docs(path, words))
    scores = recipe_scores([t for _, _, t in docs], words)
    out = []
    for (key, variant, text), score in zip(docs, scores, strict=True):
        labels = ("high",) if score >= 0.65 else ("low",) if score <= 0.35 else ()
        out.append((key, variant, Example(labels, text)))
    return out
