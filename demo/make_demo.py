"""Generate the synthetic demo corpus for ``curate run jobs/demo.yaml``.

Every sentence was written for the curate project; nothing is copied from a real data set or web page.
The sentence banks and templates live in ``demo/banks/*.yaml`` (one file per family) and the README in
``demo/banks/readme_template.md``; this script composes documents and dialogues from them, seeded with
``random.Random(2026)``, so every run writes byte-identical files. Banks are drawn from by index, so
their order matters as much as their content: any edit to a bank changes the output.

Outputs (all under ``demo/``):

* ``web.jsonl``           web documents: good articles plus one group per filter rule
* ``dialogues.jsonl``     SMILECHAT-style client/counselor dialogues
* ``chat_messages.jsonl`` chat ``messages`` dialogues (user/assistant, one system prompt)
* ``sitcom.csv``          a tiny CPED-style utterance table
* ``notes/*.txt``         three plain-text notes
* ``README.md``           what the files are and which rule each group should trigger

Usage::

    python demo/make_demo.py            # writes next to this script
    python demo/make_demo.py --out DIR  # writes somewhere else

Needs PyYAML (a curate dependency) and the standard library. Neither this script nor ``banks/`` ships
in the wheel; ``tests/unit/test_demo_regenerates.py`` checks the committed files are what it writes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
from collections import Counter
from pathlib import Path
from string import Template
from typing import Any

import yaml

SEED = 2026
HERE = Path(__file__).resolve().parent
BANKS = HERE / "banks"

Doc = dict[str, Any]
Turn = dict[str, str]


def load(name: str) -> dict[str, Any]:
    """One bank file, ``demo/banks/NAME.yaml``."""
    return yaml.safe_load((BANKS / f"{name}.yaml").read_text(encoding="utf-8"))


ARTICLES = load("articles")  # good articles per topic; cities for "{city}"
NOISE = load("web_noise")  # the web groups built to trip one rule each
POSTS = load("posts")  # first-person emotional posts
DIALOGUES = load("dialogues")  # counselor strategies, client topics, the chat system prompt
SITCOM = load("sitcom")  # sitcom.csv
NOTES: dict[str, str] = load("notes")["notes"]
TRAD = load("traditional")  # the traditional-Chinese group's character tables
GROUPS = load("groups")  # README's group tables

TOPICS: dict[str, dict[str, Any]] = ARTICLES["topics"]
CITIES: list[str] = ARTICLES["cities"]
DIALOGUE_TOPICS: list[dict[str, Any]] = DIALOGUES["topics"]
COUNSELOR: dict[str, list[str]] = DIALOGUES["counselor"]
TRAD_MAP = dict(zip("".join(TRAD["simplified"]), "".join(TRAD["traditional"]), strict=True))
TRAD_KEYS = sorted(TRAD["phrases"], key=len, reverse=True)  # longest phrase first

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def to_traditional(text: str) -> str:
    """Convert bank text to traditional characters (phrases first, then characters)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        for key in TRAD_KEYS:
            if text.startswith(key, i):
                out.append(TRAD["phrases"][key])
                i += len(key)
                break
        else:
            out.append(TRAD_MAP.get(text[i], text[i]))
            i += 1
    return "".join(out)


def fill(template: str, rng: random.Random, lo: int = 3, hi: int = 60, **fixed: str) -> str:
    """Fill named slots from ``fixed``; every ``{n}`` gets a fresh number in [lo, hi]."""
    out = template
    for key, value in fixed.items():
        out = out.replace("{" + key + "}", value)
    while "{n}" in out:
        out = out.replace("{n}", str(rng.randint(lo, hi)), 1)
    return out


def pack_lines(sentences: list[str], rng: random.Random, max_len: int = 80, min_len: int = 20) -> list[str]:
    """Join sentences into lines of roughly ``min_len``..``max_len`` characters."""
    lines: list[str] = []
    cur = ""
    for sent in sentences:
        if cur and (len(cur) + len(sent) > max_len or (len(cur) >= min_len and rng.random() < 0.5)):
            lines.append(cur)
            cur = sent
        else:
            cur += sent
    if cur:
        if lines and len(cur) < min_len and len(lines[-1]) + len(cur) <= max_len:
            lines[-1] += cur
        else:
            lines.append(cur)
    return lines


def pick_sentences(
    bank: list[str], rng: random.Random, target: int, min_count: int, max_count: int
) -> list[int]:
    """Pick bank indices in random order until ``target`` characters (within the count limits)."""
    chosen: list[int] = []
    total = 0
    for idx in rng.sample(range(len(bank)), len(bank)):
        chosen.append(idx)
        total += len(bank[idx])
        if len(chosen) >= max_count or (total >= target and len(chosen) >= min_count):
            break
    return chosen


def is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph."""
    return "\u4e00" <= ch <= "\u9fff"


def zh_ratio(text: str) -> float:
    """Share of CJK ideographs among the non-whitespace characters."""
    chars = [c for c in text if not c.isspace()]
    return sum(is_cjk(c) for c in chars) / max(1, len(chars))


# ---------------------------------------------------------------------------
# Web documents
# ---------------------------------------------------------------------------

# low_chinese: the kind of each document in turn, and each kind's (title, first line) but code's
LOW_ZH_KINDS = [
    "code", "english", "urls", "code", "table", "english", "log", "code", "urls", "english", "table", "code"
]
LOW_ZH_HEADS = {"english": ("英文说明", "以下为英文原文："), "urls": ("友情链接", "友情链接："),
                "table": ("行情数据", "日期 开盘 收盘 涨跌幅 成交量"), "log": ("运行日志", "服务日志摘录：")}


class WebBuilder:
    """Builds the web.jsonl records group by group with one shared RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.serial = 0

    def doc(self, group: str, domain: str, section: str, title: str, text: str) -> Doc:
        """One record with the next serial URL; ids are assigned after the final shuffle."""
        self.serial += 1
        url = f"https://{domain}/{section}/{2024 + self.serial % 2}/{self.serial * 7 + 1000:05d}.html"
        return {"id": "", "url": url, "title": title, "text": text, "lang": "zh", "demo_group": group}

    def article(self, topic: str, target: int) -> tuple[str, str]:
        """A title and a text of about ``target`` characters from one topic's bank."""
        rng = self.rng
        cfg = TOPICS[topic]
        city = rng.choice(CITIES)
        idx = pick_sentences(cfg["sentences"], rng, target, 8, 20)
        sentences = [fill(cfg["sentences"][i], rng, city=city) for i in idx]
        title = fill(rng.choice(cfg["titles"]), rng, city=city)
        return title, "\n".join(pack_lines(sentences, rng))

    def good(self, count: int) -> list[Doc]:
        topics = list(TOPICS)
        docs = []
        for k in range(count):
            topic = topics[k % len(topics)]
            title, text = self.article(topic, self.rng.randint(300, 820))
            docs.append(self.doc("good", "example.com", topic, title, text))
        return docs

    def too_short(self, count: int) -> list[Doc]:
        rng = self.rng
        pages = rng.sample(NOISE["short_pages"], count // 2)
        docs = [self.doc("too_short", "example.net", "page", t, x) for t, x in pages]
        while len(docs) < count:
            topic = rng.choice(list(TOPICS))
            bank = TOPICS[topic]["sentences"]
            idx = rng.sample(range(len(bank)), rng.randint(1, 3))
            text = "\n".join(fill(bank[i], rng, city=rng.choice(CITIES)) for i in idx)
            while len(text) > 180:
                text = text.rsplit("\n", 1)[0]
            docs.append(self.doc("too_short", "example.net", "brief", TOPICS[topic]["name"] + "小贴士", text))
        return docs

    def short_lines(self, count: int) -> list[Doc]:
        rng = self.rng
        docs = []
        for k in range(count):
            menu = k % 3 == 2
            bank = NOISE["menu_items"] if menu else NOISE["nav_items"]
            items = rng.sample(bank, len(bank))
            target = rng.randint(240, 320)
            lines: list[str] = []
            while sum(map(len, lines)) < target and items:
                if menu:
                    lines.append(f"{items.pop()} {rng.choice([8, 12, 15, 18, 22, 26, 32, 38, 45])}元")
                else:
                    take = rng.choice([1, 1, 1, 2])
                    lines.append(" ".join(items.pop() for _ in range(min(take, len(items)))))
            title = "本店菜单" if menu else rng.choice(["网站导航", "频道列表", "分类目录", "站点地图"])
            docs.append(self.doc("short_lines", "example.net", "nav", title, "\n".join(lines)))
        return docs

    def low_chinese(self, count: int) -> list[Doc]:
        rng = self.rng
        docs = []
        for k in range(count):
            kind = LOW_ZH_KINDS[k % len(LOW_ZH_KINDS)]
            if kind == "code":
                snippet = NOISE["code_snippets"][k % len(NOISE["code_snippets"])]
                title, lines = snippet["title"], ["示例代码如下：", snippet["code"]]
            else:
                title, first = LOW_ZH_HEADS[kind]
                lines = [first]
            # add lines of the kind until the document is long enough and under 20% Chinese
            while len(text := "\n".join(lines)) <= 260 or zh_ratio(text) >= 0.2:
                if kind in ("english", "code"):
                    lines.append(" ".join(rng.sample(NOISE["english_sentences"], 2)))
                elif kind == "urls":
                    word = rng.choice(NOISE["url_words"])
                    lines.append(f"https://example.org/{word}/{rng.randint(100, 99999)}.html")
                elif kind == "table":
                    open_ = rng.uniform(5, 80)
                    pct = rng.uniform(-5, 5)
                    lines.append(f"2025-03-{rng.randint(1, 28):02d} {open_:.2f} {open_ * (1 + pct / 100):.2f}"
                                 f" {pct:+.2f}% {rng.randint(10000, 9999999)}")
                else:
                    lines.append(f"2025-02-14 08:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} INFO "
                                 f"worker-{rng.randint(1, 8)} processed batch {rng.randint(1, 999)} "
                                 f"in {rng.randint(5, 900)} ms")
            docs.append(self.doc("low_chinese", "example.org", "misc", title, text))
        return docs

    def spam(self, count: int) -> list[Doc]:
        rng = self.rng
        docs = []
        for _ in range(count):
            wx = f"demo{rng.randint(1000, 9999)}"
            target = rng.randint(230, 300)
            spam_pool = rng.sample(NOISE["spam_lines"], len(NOISE["spam_lines"]))
            filler_pool = rng.sample(NOISE["spam_fillers"], len(NOISE["spam_fillers"]))
            lines: list[str] = []
            while sum(map(len, lines)) < target:
                pool = filler_pool if (rng.random() < 0.15 and filler_pool) else spam_pool
                lines.append(fill(pool.pop(), rng, lo=200, hi=3000, wx=wx))
            title = rng.choice(NOISE["spam_titles"])
            docs.append(self.doc("spam", "example.net", "ad", title, "\n".join(lines)))
        return docs

    def repetition(self, count: int) -> list[Doc]:
        rng = self.rng
        docs = []
        for k in range(count):
            if k % 2 == 0:  # four article sentences: an intro, then three repeated
                topic = rng.choice(list(TOPICS))
                bank = TOPICS[topic]["sentences"]
                city = rng.choice(CITIES)
                idx = rng.sample(range(len(bank)), 4)
                intro = fill(bank[idx[0]], rng, city=city)
                unit = [fill(bank[i], rng, city=city) for i in idx[1:]]
                title = fill(rng.choice(TOPICS[topic]["titles"]), rng, city=city)
            else:  # two shop ads repeated
                unit = rng.sample(NOISE["ad_units"], 2)
                intro = "欢迎光临本店，以下是最新的服务信息。"
                title = "服务信息"
            lines = [intro]
            for i in range(rng.randint(3, 5)):
                rot = i % len(unit)
                lines.append("".join(unit[rot:] + unit[:rot]) * (2 + i // len(unit)))
            docs.append(self.doc("repetition", "example.net", "post", title, "\n".join(lines)))
        return docs

    def traditional(self, count: int) -> list[Doc]:
        docs = []
        for k in range(count):
            topic = TRAD["topics"][k % len(TRAD["topics"])]
            title, text = self.article(topic, self.rng.randint(300, 600))
            title, text = to_traditional(title), to_traditional(text)
            docs.append(self.doc("traditional", "example.com.tw", topic, title, text))
        return docs

    def boilerplate(self, count: int) -> list[Doc]:
        """Page chrome around a short article: short navigation lines repeated in three blocks (in a
        different order each time, so the lines repeat but long character runs do not), few lines with
        end punctuation, blank lines between the blocks."""
        rng = self.rng
        docs = []
        for _ in range(count):
            head = [fill(h, rng, lo=100, hi=9999, m=str(rng.randint(1, 9)), d=f"{rng.randint(1, 28):02d}")
                    for h in NOISE["boiler_head"]]
            bank = TOPICS[rng.choice(list(TOPICS))]["sentences"]
            body = [fill(bank[i], rng, city=rng.choice(CITIES)) for i in rng.sample(range(len(bank)), 3)]
            nav = rng.sample(NOISE["boiler_short"], rng.randint(6, 7))
            foot = rng.sample(NOISE["boiler_long"], rng.randint(3, 4))
            blocks = [head, nav, body, rng.sample(nav, len(nav)), foot, rng.sample(nav, len(nav))]
            sep = rng.choice(["\n\n", "\n\n\n"])
            text = sep.join("\n".join(block) for block in blocks)
            docs.append(self.doc("boilerplate", "example.net", "article", "资讯详情", text))
        return docs

    def toxic(self, count: int) -> list[Doc]:
        rng = self.rng
        docs = []
        for _ in range(count):
            group = rng.choice(NOISE["toxic_groups"])
            pool = rng.sample(NOISE["toxic_lines"], len(NOISE["toxic_lines"]))
            target = rng.randint(220, 360)
            lines: list[str] = []
            while sum(map(len, lines)) < target and pool:
                lines.append(fill(pool.pop(), rng, group=group))
            title = rng.choice(NOISE["toxic_titles"])
            docs.append(self.doc("toxic", "example.net", "comments", title, "\n".join(lines)))
        return docs

    def emotional(self, plan: list[str]) -> list[Doc]:
        """First-person posts. Posts on one theme take overlapping windows of a shuffled body bank, so
        no two share more than about half of their sentences."""
        rng = self.rng
        docs = []
        themes = POSTS["themes"]
        orders = {t: rng.sample(range(len(c["body"])), len(c["body"])) for t, c in themes.items()}
        per_theme = Counter(plan)
        seen: Counter[str] = Counter()
        for theme in plan:
            k = seen[theme]
            seen[theme] += 1
            if theme == "thanks":
                post = POSTS["thanks"][k % 2]
                sentences = [post["opener"], *post["story"], *rng.sample(POSTS["thank_endings"], 2)]
                title = post["title"]
            else:
                body, order = themes[theme]["body"], orders[theme]
                start = round(k * len(body) / per_theme[theme])
                idx = sorted(order[(start + j) % len(body)] for j in range(7))
                opener = rng.choice(POSTS["openers"])
                feelings = rng.sample(POSTS["feelings"], 6)
                asks = rng.sample(POSTS["asks"], rng.randint(1, 2))
                # as many feelings (2..6) as it takes to reach 340 characters
                fixed = len(opener) + sum(len(body[i]) for i in idx) + sum(map(len, asks))
                n_feel = 2
                while n_feel < 6 and fixed + sum(map(len, feelings[:n_feel])) < 340:
                    n_feel += 1
                sentences = [opener, *(body[i] for i in idx), *feelings[:n_feel], *asks]
                title = rng.choice(themes[theme]["titles"])
            lines = pack_lines(sentences, rng, max_len=90)
            docs.append(self.doc("emotional", "example.com", "forum", title, "\n".join(lines)))
        return docs

    def near_duplicate(self, src: Doc) -> Doc:
        """``src`` with one or two edits: typos, an insertion, a deletion, a dropped sentence, a footer."""
        rng = self.rng
        text = src["text"]
        ops = rng.sample(["typos", "insert", "delete", "drop_sentence", "footer"], rng.randint(1, 2))
        for op in ops:
            text = getattr(self, "_edit_" + op)(text)
        dup = self.doc("near_duplicate", "example.org", "repost", src["title"], text)
        dup["demo_dup_of"] = src
        dup["demo_edits"] = ops
        return dup

    def exact_duplicate(self, src: Doc) -> Doc:
        dup = self.doc("exact_duplicate", "example.org", "mirror", src["title"], src["text"])
        dup["demo_dup_of"] = src
        return dup

    def _edit_typos(self, text: str) -> str:
        chars = list(text)
        positions = [i for i, c in enumerate(chars) if is_cjk(c)]
        for pos in self.rng.sample(positions, self.rng.randint(2, 4)):
            chars[pos] = self.rng.choice([c for c in NOISE["typo_chars"] if c != chars[pos]])
        return "".join(chars)

    def _edit_insert(self, text: str) -> str:
        stops = [i + 1 for i, c in enumerate(text[:-1]) if c == "。" and text[i + 1] != "\n"] or [0]
        pos = self.rng.choice(stops)
        return text[:pos] + self.rng.choice(NOISE["near_dup_inserts"]) + text[pos:]

    def _edit_delete(self, text: str) -> str:
        pos = self.rng.randint(10, len(text) - 20)
        while not is_cjk(text[pos]):
            pos += 1
        return text[:pos] + text[pos + self.rng.randint(2, 5) :]

    def _edit_drop_sentence(self, text: str) -> str:
        lines = text.split("\n")
        multi = [i for i, line in enumerate(lines) if line.count("。") >= 2]
        if multi:
            i = self.rng.choice(multi)
            parts = re.findall(r"[^。！？]+[。！？]?", lines[i])
            del parts[self.rng.randrange(len(parts))]
            lines[i] = "".join(parts)
        else:
            del lines[self.rng.randrange(1, len(lines))]
        return "\n".join(lines)

    def _edit_footer(self, text: str) -> str:
        return text + "\n" + self.rng.choice(NOISE["near_dup_footers"])


# ---------------------------------------------------------------------------
# Dialogues
# ---------------------------------------------------------------------------

# a good dialogue's counselor turns by strategy: the pools each takes from, in order (the first
# non-empty pool of each tuple); "t_" pools are the topic's own lines, the others COUNSELOR's
STRATEGIES: dict[str, list[tuple[str, ...]]] = {
    "restate": [("restate",)],
    "question": [("question",)],
    "t_question": [("t_question", "question")],
    "disclose": [("disclose",), ("question",)],
    "affirm_suggest": [("affirm",), ("t_suggest",)],
    "suggest": [("t_suggest", "affirm")],
    "info": [("info",)],
    "affirm": [("affirm",), ("question",)],
}


def take(pools: dict[str, list[str]], *keys: str) -> str:
    """Pop the last line of the first non-empty pool among ``keys``."""
    for key in keys:
        if pools[key]:
            return pools[key].pop()
    raise ValueError(f"pools exhausted: {keys}")


class DialogueBuilder:
    """Composes client/counselor dialogues from the topics and counselor strategies of dialogues.yaml."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _pools(self, cfg: dict[str, Any]) -> dict[str, list[str]]:
        """Shuffled copies of the topic's lines (``t_*``) and of the counselor templates, filled in."""
        rng = self.rng
        pools: dict[str, list[str]] = {}
        for key in ("open", "detail", "reply", "close", "suggest", "question"):
            pools["t_" + key] = rng.sample(cfg[key], len(cfg[key]))
        for key, bank in COUNSELOR.items():
            filled = [t.format(feel=cfg["feel"], issue=cfg["issue"]) for t in bank]
            pools[key] = rng.sample(filled, len(filled))
        return pools

    def turns(self, cfg: dict[str, Any], pairs: int) -> list[Turn]:
        """A dialogue of ``pairs`` client/counselor exchanges (2..8)."""
        rng = self.rng
        pools = self._pools(cfg)
        out: list[Turn] = [{"role": "client", "content": take(pools, "t_open")}]
        first_q = take(pools, "t_question") if rng.random() < 0.5 else take(pools, "question")
        out.append({"role": "counselor", "content": take(pools, "reflect") + first_q})
        middle = pairs - 2 if pairs >= 3 else pairs - 1
        early = rng.sample(["restate", "question", "disclose", "t_question"], 4)
        late = rng.sample(["affirm_suggest", "suggest", "info", "affirm"], 4)
        n_early = (middle + 1) // 2
        plan = ["suggest"] if pairs == 2 else early[:n_early] + late[: middle - n_early]
        for j, strategy in enumerate(plan):
            client = ("t_detail", "t_reply") if j % 2 == 0 else ("t_reply", "t_detail")
            out.append({"role": "client", "content": take(pools, *client)})
            text = "".join(take(pools, *keys) for keys in STRATEGIES[strategy])
            out.append({"role": "counselor", "content": text})
        if pairs >= 3:
            out.append({"role": "client", "content": take(pools, "t_close")})
            out.append({"role": "counselor", "content": take(pools, "closing")})
        return out

    def record(self, group: str, cfg: dict[str, Any], turns: list[Turn]) -> Doc:
        return {"id": "", "topic": cfg["topic"], "turns": turns, "demo_group": group}

    def good(self, count: int, topic_order: list[int]) -> list[Doc]:
        rng = self.rng
        out = []
        for k in range(count):
            cfg = DIALOGUE_TOPICS[topic_order[k % len(topic_order)]]
            turns = self.turns(cfg, rng.choice([2, 3, 3, 4, 4, 5, 5, 6, 7, 8]))
            if k % 8 == 5 and len(turns) >= 6:
                turns = turns[:-1]  # ends on the client's thanks: odd number of turns
            out.append(self.record("good", cfg, turns))
        return out

    def single_turn(self, count: int) -> list[Doc]:
        return [self.record("single_turn", cfg, [{"role": "client", "content": self.rng.choice(cfg["open"])}])
                for cfg in self.rng.sample(DIALOGUE_TOPICS, count)]

    def client_only(self, count: int) -> list[Doc]:
        rng = self.rng
        out = []
        for cfg in rng.sample(DIALOGUE_TOPICS, count):
            lines = [rng.choice(cfg["open"])] + rng.sample(cfg["detail"], rng.randint(2, 4))
            out.append(self.record("client_only", cfg, [{"role": "client", "content": x} for x in lines]))
        return out

    def repeated(self) -> list[Doc]:
        """Three dialogues: a pair of lines five times, one reply to every line, a greeting four times."""
        a, b, c = self.rng.sample(DIALOGUE_TOPICS, 3)

        def pairs(client: list[str], counselor: str) -> list[Turn]:
            return [t for line in client for t in ({"role": "client", "content": line},
                                                   {"role": "counselor", "content": counselor})]

        return [
            self.record("repeated_utterance", a, pairs(["我真的好难受，不知道该怎么办。"] * 5, "嗯嗯，我在听，你慢慢说。")),
            self.record("repeated_utterance", b, pairs([b["open"][0], *b["detail"]], "我理解你的感受。")),
            self.record("repeated_utterance", c, pairs(["你好，在吗？我想找人聊聊。"] * 4, "你好，我在的，请说。")),
        ]

    def empty_utterance(self) -> list[Doc]:
        out = []
        for k, cfg in enumerate(self.rng.sample(DIALOGUE_TOPICS, 2)):
            turns = self.turns(cfg, 4)
            if k == 0:
                turns[2]["content"] = ""  # an empty client turn
            else:
                turns[3]["content"] = ""  # an empty counselor turn ...
                turns[4]["content"] = "嗯"  # ... and a 1-character client turn
            out.append(self.record("empty_utterance", cfg, turns))
        return out

    def dominant_speaker(self) -> list[Doc]:
        """One dialogue of nearly all client turns, one of nearly all counselor turns."""
        a, b = self.rng.sample(DIALOGUE_TOPICS, 2)
        client = [a["open"][1], *a["detail"], *a["reply"], *a["close"][:2]]
        turns = [{"role": "client", "content": x} for x in client]
        reflect = COUNSELOR["reflect"][0].format(feel=a["feel"], issue=a["issue"])
        turns.append({"role": "counselor", "content": reflect})
        lecture = [COUNSELOR["reflect"][2].format(feel=b["feel"], issue=b["issue"])]
        lecture += COUNSELOR["question"][:3] + b["suggest"][:3] + COUNSELOR["affirm"][:3]
        lecture.append(COUNSELOR["closing"][1])
        lectured = [{"role": "client", "content": b["open"][2]}]
        lectured += [{"role": "counselor", "content": x} for x in lecture]
        return [self.record("dominant_speaker", a, turns), self.record("dominant_speaker", b, lectured)]

    def exact_duplicate(self, src: Doc) -> Doc:
        turns = [dict(t) for t in src["turns"]]
        return {"id": "", "topic": src["topic"], "turns": turns, "demo_group": "exact_duplicate",
                "demo_dup_of": src}

    def near_duplicate(self, src: Doc, mode: int) -> Doc:
        """``src`` with two characters inserted in a counselor turn (mode 0) or one extra client turn."""
        turns = [dict(t) for t in src["turns"]]
        if mode == 0:
            i = max(i for i, t in enumerate(turns) if t["role"] == "counselor" and len(t["content"]) > 15)
            text = turns[i]["content"]
            turns[i]["content"] = text[:6] + "其实" + text[6:]
        else:
            turns.append({"role": "client", "content": "好的，我记住了，谢谢你！"})
        return {"id": "", "topic": src["topic"], "turns": turns, "demo_group": "near_duplicate",
                "demo_dup_of": src}

    def chat(self, count: int, topic_order: list[int]) -> list[Doc]:
        """Good dialogues as chat ``messages``; the first one opens with the system prompt."""
        out = []
        for k in range(count):
            cfg = DIALOGUE_TOPICS[topic_order[k % len(topic_order)]]
            turns = self.turns(cfg, self.rng.choice([3, 4, 4, 5, 6]))
            messages = [{"role": "system", "content": DIALOGUES["chat_system_prompt"]}] if k == 0 else []
            roles = {"client": "user", "counselor": "assistant"}
            messages += [{"role": roles[t["role"]], "content": t["content"]} for t in turns]
            out.append({"messages": messages})
        return out


# ---------------------------------------------------------------------------
# Assembly and output
# ---------------------------------------------------------------------------


def assign_ids(records: list[Doc], prefix: str, width: int) -> None:
    """Number records in order and resolve ``demo_dup_of`` references to ids."""
    for k, rec in enumerate(records, start=1):
        rec["id"] = f"{prefix}-{k:0{width}d}"
    for rec in records:
        if "demo_dup_of" in rec:
            rec["demo_dup_of"] = rec["demo_dup_of"]["id"]


def jsonl(records: list[Doc]) -> str:
    """One JSON object per line, Chinese kept as is."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def build_web(rng: random.Random) -> list[Doc]:
    """Every web.jsonl group, shuffled together and numbered."""
    wb = WebBuilder(rng)
    good = wb.good(150)
    docs = list(good)
    for group in (wb.too_short, wb.short_lines, wb.low_chinese, wb.spam, wb.repetition, wb.traditional,
                  wb.boilerplate):
        docs += group(12)
    sources = rng.sample([d for d in good if len(d["text"]) >= 450], 35)
    docs += [wb.near_duplicate(src) for src in sources[:25]]
    docs += [wb.exact_duplicate(src) for src in sources[25:]]
    docs += wb.toxic(15)
    plan = ["work"] * 4 + ["study"] * 4 + ["lonely"] * 4 + ["breakup"] * 3 + ["anxiety"] * 3 + ["thanks"] * 2
    docs += wb.emotional(plan)
    rng.shuffle(docs)
    assign_ids(docs, "web", 4)
    return docs


def build_dialogues(rng: random.Random) -> tuple[list[Doc], list[Doc]]:
    """The dialogues.jsonl groups (shuffled, numbered) and the chat_messages.jsonl dialogues."""
    db = DialogueBuilder(rng)
    order = rng.sample(range(len(DIALOGUE_TOPICS)), len(DIALOGUE_TOPICS))
    good = db.good(24, order)
    dialogues = list(good)
    dialogues += db.single_turn(3)
    dialogues += db.client_only(3)
    dialogues += db.repeated()
    dialogues += db.empty_utterance()
    dialogues += db.dominant_speaker()
    sources = rng.sample([d for d in good if len(d["turns"]) >= 8], 5)
    dialogues += [db.exact_duplicate(src) for src in sources[:3]]
    dialogues += [db.near_duplicate(src, mode) for mode, src in enumerate(sources[3:])]
    rng.shuffle(dialogues)
    assign_ids(dialogues, "dlg", 3)
    # the chats continue the topic rotation where the good dialogues left off
    chat_order = order[len(good) % len(order) :] + order[: len(good) % len(order)]
    return dialogues, db.chat(10, chat_order)


def build_sitcom(rng: random.Random) -> str:
    """sitcom.csv: the sitcom's utterances with random face boxes (two faces not detected)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(SITCOM["csv_header"])
    for d, dialogue in enumerate(SITCOM["dialogues"], start=1):
        for u, (speaker, emotion, act, text) in enumerate(dialogue["utterances"], start=1):
            if (d, u) in ((4, 5), (8, 3)):
                lu = rd = ""  # face not detected
            else:
                x, y = rng.randint(40, 420), rng.randint(20, 160)
                w = rng.randint(120, 260)
                lu, rd = f"{x}_{y}", f"{x + w}_{y + w}"
            sentiment = SITCOM["emotion_sentiment"][emotion]
            persona = SITCOM["speakers"][speaker]
            writer.writerow(["99", f"99_{d}", f"99_{d}_{u}", speaker, *persona, dialogue["scene"], lu, rd,
                             sentiment, emotion, act, text])
    return buf.getvalue()


def table(rows: list[dict[str, str]], counts: Counter[str]) -> str:
    """A README group table with each group's record count."""
    out = ["| `demo_group` | n | what | meant to trigger |", "|---|---|---|---|"]
    out += [f"| `{r['group']}` | {counts[r['group']]} | {r['what']} | {r['rule']} |" for r in rows]
    return "\n".join(out)


def build_readme(web: list[Doc], dialogues: list[Doc], chats: list[Doc], sitcom_rows: int) -> str:
    """README.md: banks/readme_template.md with the counts and group tables filled in."""
    template = Template((BANKS / "readme_template.md").read_text(encoding="utf-8"))
    return template.substitute(
        seed=SEED,
        n_web=len(web),
        n_dialogues=len(dialogues),
        n_chats=len(chats),
        n_sitcom_dialogues=len(SITCOM["dialogues"]),
        n_sitcom_rows=sitcom_rows,
        web_table=table(GROUPS["web"], Counter(d["demo_group"] for d in web)),
        dialogue_table=table(GROUPS["dialogues"], Counter(d["demo_group"] for d in dialogues)),
        topics="、".join(t["topic"] for t in DIALOGUE_TOPICS),
    )


def generate(out_dir: Path) -> dict[str, int]:
    """Write every demo file under ``out_dir``; return record counts per file."""
    rng = random.Random(SEED)
    web = build_web(rng)
    dialogues, chats = build_dialogues(rng)
    sitcom = build_sitcom(rng)
    sitcom_rows = sum(len(d["utterances"]) for d in SITCOM["dialogues"])
    files: dict[str, str] = {
        "web.jsonl": jsonl(web),
        "dialogues.jsonl": jsonl(dialogues),
        "chat_messages.jsonl": jsonl(chats),
        "sitcom.csv": sitcom,
        **{f"notes/{name}": text for name, text in NOTES.items()},
        "README.md": build_readme(web, dialogues, chats, sitcom_rows),
    }
    for name, text in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return {
        "web.jsonl": len(web),
        "dialogues.jsonl": len(dialogues),
        "chat_messages.jsonl": len(chats),
        "sitcom.csv": sitcom_rows,
        **{f"notes/{name}": 1 for name in NOTES},
    }


def main() -> None:
    """Command line: write the demo files (default: next to this script) and print their sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output directory (default: demo/)")
    args = parser.parse_args()
    counts = generate(args.out)
    for name, n in counts.items():
        size = (args.out / name).stat().st_size
        print(f"{name:24s} {n:5d} records {size:9,d} bytes")


if __name__ == "__main__":
    main()
