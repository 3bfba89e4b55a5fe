"""End to end: the whole ``curate run`` against datatrove's closest pipeline, on one corpus built from real text.

**Corpus** (``--mb``, default 1,000 MB = 10^6 bytes of curate's input files; written once into ``--work``,
default a folder in the system temp dir named by the parameters, and reused by later runs with the same
parameters). Real text is read in place from ``../shared/data``, never copied into the repo. Four inputs,
JSONL, each cut into part files of about 1/16 of the corpus:

* ``web`` (``kind: web``, ``1 - --dialogue-frac`` of the bytes): the 100 real ChineseWebText CommonCrawl
  pages (``raw_content``), then documents recombined from real sentences (CWT lines, COLD Weibo/Zhihu
  comments, CWT quality samples, SMILECHAT and EmoLLM turns, split after 。！？；): 3–27 lines of 1–5
  random sentences each, so lines, and documents, are new (the pool is ~0.5 M sentences);
* ``smilechat`` (``kind: dialogue``, ``style: turns``, client/counselor; 70 % of the dialogue bytes):
  real SMILECHAT dialogues (up to half of this input), then dialogues with real SMILECHAT turn counts whose
  turns are, at random, a real turn of that role or 1–4 real sentences of that role recombined;
* ``emollm`` (``style: messages``, system/user/assistant; 15 %): real EmoLLM conversations, then
  recombined ones the same way (real system prompt, EmoLLM turn counts and turns);
* ``cped`` (``style: turns`` with ``speaker_field: speaker``, ``text_field: text``; 15 %): real CPED
  dialogues (TV-show speakers, so the persona taggers have named speakers), then new ones that keep a
  real dialogue's speaker sequence and give every utterance another real utterance of the same speaker
  (70 %) or two of them joined.

Planted, with the truth kept in ``planted.json``:

* **duplicates**: ``--dup-frac`` (10 %) of the non-spam documents get a copy placed near them, a
  quarter exact, the rest with ``--edit-min``..``--edit-max`` of their characters substituted, deleted or
  inserted (``bench/dedup.py``'s ``mutate``; dialogues per turn). Each near pair's true Jaccard of
  character 5-gram sets (lower-cased, whitespace removed, on the text the peer reads) is recorded;
* **spam**: ``--spam-frac`` (5 %) of the records. Web: ``ads`` (lines of real CWT gambling/SEO spam and
  ad templates), ``repeated`` (1–3 lines repeated 10–25 times), ``short`` (under 150 characters),
  ``junk`` (non-Chinese ASCII), ``keywords`` (space-separated keyword lines, no punctuation). Dialogues:
  ``one_turn``, ``one_speaker``, ``repeated_turns``, ``empty_turn``, ``paste`` (a 2,000+ character turn).

For the peer, every dialogue input is also written as text-only JSONL (``{"id", "text"}``: the turns'
texts, one per line, as bench/dedup.py joins them; without curate's ``speaker：`` prefixes, which
datatrove's repetition filters would count as repeated n-grams), and the web files are hard-linked beside
them (``corpus/peer``). The planted pairs' true Jaccard is taken on that text.

**Ours**: the real CLI, ``curate run JOB.yaml -o OUT`` in a subprocess (so the dashboards are included),
on a job the bench writes (``corpus/job.yaml``): the four inputs, ``rules: [default.yaml, dialogue.yaml]``,
default dedup, no ``scores``/``tags`` sections (= every shipped model: 4 scores, 11 taggers),
``ray.num_cpus: --cpus``; a private ``RAY_TMPDIR`` so the run starts its own local Ray and never joins
another one on the machine (``RAY_ADDRESS`` is unset). Timings: wall clock of the whole process;
per_record/B/C from ``OUT/manifest.json`` ``timings``; CLI start-up = from launch to the start of
``run_job`` (manifest mtime − manifest ``seconds``); Ray start-up (inside per_record) = from the Ray session
folder's timestamp to the driver's first Ray log line; dashboards = manifest mtime → ``dashboard/
index.html`` mtime (written last); exit = the rest (summary, Ray shutdown).

**Peer**: datatrove 0.10.1 in its own process, ``LocalPipelineExecutor`` with ``--cpus`` workers and one
task per input file: ``JsonlReader`` → its filters that work on Chinese → ``JsonlWriter`` (filtered) →
``MinhashDedupSignature``; buckets; clusters; ``JsonlReader`` (filtered) → ``MinhashDedupFilter`` →
``JsonlWriter`` (the stages of ``bench/dedup.py``'s ``datatrove_minhash_stages``: 14 buckets × 8
hashes, character 5-grams). Filters, each with an exclusion writer so removals are counted by reason:

* ``GopherRepetitionFilter`` (its defaults: duplicate lines/paragraphs, top 2–4-gram and duplicate
  5–10-gram fractions), the repetition rules curate's ``default.yaml`` ports from FineWeb-2;
* ``FineWebQualityFilter`` (defaults; its ``TERMINAL_PUNCTUATION`` includes 。！？);
* ``GopherQualityFilter`` made Chinese-capable the way FineWeb-2 does per language: stop words = the
  8 most frequent Chinese function characters (的 了 是 在 和 有 我 不; Gopher's list is the 8 most
  frequent English words), at least 2 of them; with character tokens the word-length bounds are off
  and ``min_doc_words`` 50 means 50 characters.

Words: ``--peer-tokenizer char`` (default) makes every non-space character a word (bench/dedup.py's
``CharTokenizer``), the same character statistics curate's rules use and the peer's fastest setting;
``zh_Hani`` uses datatrove's Chinese word tokenizer (spaCy + jieba, far slower, and then the word-length
bounds are Gopher's 1..10). Not used: ``LanguageFilter`` / fastText filters (they download a model at run
time), ``C4QualityFilter`` (English terminal punctuation and nltk sentences: it drops Chinese lines).

**Memory**: a thread samples every ``--interval`` s the process tree of each contender (the CLI and its
Ray instance: GCS, raylet, workers; datatrove's workers): the sum of RSS, and USS + the Ray object store
(``bench/dedup_memory.py``'s ``Sampler``). Peaks are reported per run and per stage.

**Rates**: MB = 10^6 bytes of curate's input files (the peer reads the same texts; its text-only
dialogue files are smaller, its own input size is printed). MB/s/core = MB / wall seconds / ``--cpus``.
The ratio is datatrove's wall time / ours, end to end. Targets: >= 2 MB/s/core end to end, ahead of the
peer. The machine load average is printed: other jobs on the machine slow both contenders.

Usage::

    python bench/e2e.py                                  # acceptance run: 1,000 MB (tens of minutes)
    python bench/e2e.py --mb 50 --work /tmp/e2e-50       # quick check; corpus reused on reruns
    python bench/e2e.py --mb 50 --skip datatrove --json out/e2e50.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dedup import (  # noqa: E402 - bench/ is not a package
    NGRAM,
    SHARED,
    THRESHOLD,
    CharTokenizer,
    add_planting_args,
    datatrove_minhash_stages,
    fmt_table,
    mutate,
    versions,
)
from dedup_memory import Sampler  # noqa: E402

GENERATOR_VERSION = 2
DEDUP_REASONS = ("exact_duplicate", "near_duplicate")
_SENT = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*")
_WS = re.compile(r"\s+")
_SPAM_LINE = re.compile(r"娱乐|棋牌|彩票|博彩|威尼斯人|太阳城|申博|真人|返水|注册送|彩金|网址|官网|代理|加盟|招商|电话|微信|QQ|发票|价格")
AD_TEMPLATES = (
    "加微信{w}，在家兼职日赚{n}元，宝妈学生上班族均可",
    "{b}官方网站 注册即送{n}元彩金 真人娱乐 最高返水{p}%",
    "代开各类正规发票，增值税普通发票，联系电话{t}",
    "{b}手机版下载 {b}开户 {b}平台 {b}网址大全",
    "低价出售{x}，诚信经营，货到付款，QQ：{q}",
    "点击领取{n}元红包>>>{b}限时活动，名额有限，先到先得",
    "{x}厂家直销 {x}价格 {x}批发 {x}哪家好 欢迎来电{t}",
)
AD_FILL = {"b": ["新葡京", "威尼斯人", "太阳城", "皇冠", "永利", "金沙", "银河", "博天堂"],
           "x": ["无纺布", "二手手机", "减肥茶", "壮阳药", "游戏账号", "会员卡", "烟酒", "考试答案"]}
JUNK_WORDS = ("click", "here", "free", "download", "casino", "bonus", "login", "www", "http", "com", "net",
              "html", "php", "best", "cheap", "online", "viagra", "loan", "seo", "lorem", "ipsum", "id", "px")
STOP_CHARS = ["的", "了", "是", "在", "和", "有", "我", "不"]
WEB_SPAM = ("ads", "repeated", "short", "junk", "keywords")
DIALOGUE_SPAM = ("one_turn", "one_speaker", "repeated_turns", "empty_turn", "paste")
DIALOGUE_SHARES = {"smilechat": 0.70, "emollm": 0.15, "cped": 0.15}
REAL_CAP = 0.5  # real documents fill at most this share of an input's budget, recombined ones the rest
CHUNK = 2000  # documents generated per batch


# ---------------------------------------------------------------- real text


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.findall(text) if len(s.strip()) >= 4]


class Sources:
    """The real text the corpus is built from: documents, turns and sentences, by kind and role."""

    def __init__(self) -> None:
        import csv

        d = SHARED
        with open(d / "web" / "cwt-commoncrawl-sample.jsonl", encoding="utf-8") as f:
            self.web_pages = [p for p in (json.loads(line)["raw_content"] for line in f) if p.strip()]
        web_lines = [ln.strip() for p in self.web_pages for ln in p.split("\n") if ln.strip()]
        for name in ("cwt-quality-clean.jsonl", "cwt-quality-dirty.jsonl"):
            with open(d / "web" / name, encoding="utf-8") as f:
                web_lines += [ln.strip() for line in f for ln in json.loads(line)["text"].split("\n") if ln.strip()]
        comments = []
        for name in ("train.csv", "dev.csv"):
            with open(d / "cold" / name, encoding="utf-8", newline="") as f:
                comments += [r["TEXT"].strip() for r in csv.DictReader(f) if r["TEXT"].strip()]
        self.ad_lines = [ln for ln in web_lines if _SPAM_LINE.search(ln) and len(ln) >= 8]

        self.smile: list[list[tuple[str, str]]] = []
        with open(d / "smilechat" / "dialogues.jsonl", encoding="utf-8") as f:
            for line in f:
                turns = [(t["role"], t["content"]) for t in json.loads(line)["turns"] if t.get("content")]
                if turns:
                    self.smile.append(turns)
        self.emollm: list[list[tuple[str, str]]] = []
        for conv in json.loads((d / "emollm" / "data.json").read_text(encoding="utf-8")):
            turns = []
            for t in conv["conversation"]:
                if t.get("system"):
                    turns.append(("system", t["system"]))
                turns += [(role, t[k]) for k, role in (("input", "user"), ("output", "assistant")) if t.get(k)]
            if turns:
                self.emollm.append(turns)
        self.cped: list[list[tuple[str, str]]] = []
        for name in ("train.csv", "valid.csv"):
            with open(d / "cped" / name, encoding="utf-8", newline="") as f:
                cur, dlg = None, []
                for r in csv.DictReader(f):
                    if r["Dialogue_ID"] != cur and dlg:
                        self.cped.append(dlg)
                        dlg = []
                    cur = r["Dialogue_ID"]
                    if r["Utterance"].strip():
                        dlg.append((r["Speaker"], r["Utterance"].strip()))
                if dlg:
                    self.cped.append(dlg)

        seeker = {"client", "user"}
        self.turns = {"seeker": [t for dl in self.smile + self.emollm for r, t in dl if r in seeker],
                      "supporter": [t for dl in self.smile + self.emollm for r, t in dl if r in ("counselor", "assistant")]}
        self.sents = {k: _sentences("\n".join(v)) for k, v in self.turns.items()}
        self.emollm_turns = {"seeker": [t for dl in self.emollm for r, t in dl if r == "user"],
                             "supporter": [t for dl in self.emollm for r, t in dl if r == "assistant"]}
        self.systems = sorted({t for dl in self.emollm for r, t in dl if r == "system"}) or ["你是一位心理咨询师。"]
        self.by_speaker: dict[str, list[str]] = {}
        for dl in self.cped:
            for s, t in dl:
                self.by_speaker.setdefault(s, []).append(t)
        web_sents = _sentences("\n".join(web_lines)) + [s for c in comments for s in _sentences(c)]
        web_sents += self.sents["seeker"] + self.sents["supporter"]
        self.web_sents = np.array(web_sents, dtype=object)
        self.turn_counts = {"smilechat": np.array([len(x) for x in self.smile]),
                            "emollm": np.array([sum(r == "user" for r, _ in x) for x in self.emollm]),
                            "cped": np.array([len(x) for x in self.cped])}


# ---------------------------------------------------------------- documents of each input


def _join_runs(items: list[str], counts: np.ndarray, sep: str = "") -> list[str]:
    ends = np.cumsum(counts)
    return [sep.join(items[a:b]) for a, b in zip((ends - counts).tolist(), ends.tolist(), strict=True)]


def _recombined_sents(pool: list[str], rng: np.random.Generator, k: np.ndarray) -> list[str]:
    """One text per entry of `k`: k[i] random sentences of `pool` joined."""
    idx = rng.integers(0, len(pool), int(k.sum()))
    return _join_runs([pool[i] for i in idx.tolist()], k)


def _fill(template: str, rng: random.Random) -> str:
    return template.format(b=rng.choice(AD_FILL["b"]), x=rng.choice(AD_FILL["x"]), n=rng.randint(18, 888),
                           p=round(rng.uniform(0.5, 3.0), 1), w=f"wx{rng.randint(10**5, 10**7)}",
                           t=f"1{rng.randint(3 * 10**9, 9 * 10**9)}", q=rng.randint(10**6, 10**10))


class WebInput:
    """kind: web. A document is its text."""

    name, kind, spam_types = "web", "web", WEB_SPAM

    def __init__(self, src: Sources) -> None:
        self.src = src

    def job_input(self, path: str) -> dict[str, Any]:
        return {"name": self.name, "path": path, "kind": "web", "text_field": "text", "id_field": "id"}

    def real(self) -> list[Any]:
        return list(self.src.web_pages)

    def batch(self, rng: np.random.Generator, n: int) -> list[Any]:
        n_lines = rng.integers(3, 28, n)
        lines = _recombined_sents(self.src.web_sents, rng, rng.integers(1, 6, int(n_lines.sum())))
        return _join_runs(lines, n_lines, "\n")

    def record(self, rid: str, doc: Any) -> dict[str, Any]:
        return {"id": rid, "text": doc}

    def render(self, doc: Any) -> str:
        return doc

    def mutate(self, doc: Any, rate: float, rng: random.Random) -> Any:
        return mutate(doc, rate, rng)

    def spam(self, kind: str, rng: random.Random) -> Any:
        sents = self.src.web_sents
        if kind == "ads":
            pool = self.src.ad_lines
            return "\n".join(rng.choice(pool) if pool and rng.random() < 0.5 else _fill(rng.choice(AD_TEMPLATES), rng)
                             for _ in range(rng.randint(5, 20)))
        if kind == "repeated":
            lines = ["".join(rng.choice(sents) for _ in range(2)) for _ in range(rng.randint(1, 3))]
            return "\n".join(rng.choice(lines) for _ in range(rng.randint(10, 25)))
        if kind == "short":
            return rng.choice(sents)[:150]
        if kind == "junk":
            return "\n".join(" ".join(rng.choice(JUNK_WORDS) + (str(rng.randint(0, 999)) if rng.random() < 0.3 else "")
                                      for _ in range(rng.randint(5, 15))) for _ in range(rng.randint(10, 40)))
        # keywords: SEO stuffing, short fragments of real sentences, no punctuation
        frags = []
        for _ in range(rng.randint(10, 30)):
            words = []
            for _ in range(rng.randint(4, 10)):
                s = re.sub(r"[^\u4e00-\u9fff]", "", rng.choice(sents)) or "关键词"
                a = rng.randrange(max(1, len(s) - 2))
                words.append(s[a : a + rng.randint(2, 4)])
            frags.append(" ".join(words))
        return "\n".join(frags)


class DialogueInput:
    """kind: dialogue. A document is a list of (speaker, text) turns; `style` decides the JSON shape."""

    kind, spam_types = "dialogue", DIALOGUE_SPAM

    def __init__(self, src: Sources, name: str) -> None:
        self.src, self.name = src, name
        self.labels = {"smilechat": ("client", "counselor"), "emollm": ("user", "assistant")}.get(name)

    def job_input(self, path: str) -> dict[str, Any]:
        dialogue = {"smilechat": {"style": "turns"}, "emollm": {"style": "messages"},
                    "cped": {"style": "turns", "speaker_field": "speaker", "text_field": "text"}}[self.name]
        return {"name": self.name, "path": path, "kind": "dialogue", "id_field": "id", "dialogue": dialogue}

    def real(self) -> list[Any]:
        return list({"smilechat": self.src.smile, "emollm": self.src.emollm, "cped": self.src.cped}[self.name])

    def batch(self, rng: np.random.Generator, n: int) -> list[Any]:
        src = self.src
        if self.name == "cped":  # a real dialogue's speaker sequence, other utterances of the same speakers
            out = []
            for t in rng.integers(0, len(src.cped), n).tolist():
                dlg = []
                for spk, _ in src.cped[t]:
                    pool = src.by_speaker[spk]
                    k = 2 if rng.random() < 0.3 else 1
                    dlg.append((spk, "".join(pool[i] for i in rng.integers(0, len(pool), k).tolist())))
                out.append(dlg)
            return out
        counts = rng.choice(src.turn_counts[self.name], n)
        if self.name == "emollm":
            counts = counts * 2  # user/assistant pairs
        total = int(counts.sum())
        pos = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        seeker = (pos % 2 == 0).tolist()
        real = (rng.random(total) < 0.5).tolist()
        pools = src.emollm_turns if self.name == "emollm" else src.turns
        draws = rng.random(total).tolist()
        k = rng.integers(1, 5, total)
        mixed = {r: _recombined_sents(src.sents[r], rng, k) for r in ("seeker", "supporter")}
        seek_lab, sup_lab = self.labels
        texts = []
        for i in range(total):
            role = "seeker" if seeker[i] else "supporter"
            pool = pools[role]
            texts.append(pool[int(draws[i] * len(pool))] if real[i] else mixed[role][i])
        turns = [(seek_lab if s else sup_lab, t) for s, t in zip(seeker, texts, strict=True)]
        ends = np.cumsum(counts)
        out = [turns[a:b] for a, b in zip((ends - counts).tolist(), ends.tolist(), strict=True)]
        if self.name == "emollm":
            sys_idx = rng.integers(0, len(src.systems), n).tolist()
            out = [[("system", src.systems[s]), *d] for s, d in zip(sys_idx, out, strict=True)]
        return out

    def record(self, rid: str, doc: Any) -> dict[str, Any]:
        if self.name == "emollm":
            return {"id": rid, "messages": [{"role": s, "content": t} for s, t in doc]}
        if self.name == "cped":
            return {"id": rid, "turns": [{"speaker": s, "text": t} for s, t in doc]}
        return {"id": rid, "turns": [{"role": s, "content": t} for s, t in doc]}

    def render(self, doc: Any) -> str:
        """The text-only version: the turns' texts, one per line (speaker labels would read as repetition)."""
        return "\n".join(t for _, t in doc)

    def mutate(self, doc: Any, rate: float, rng: random.Random) -> Any:
        return [(s, mutate(t, rate, rng) if t else t) for s, t in doc]

    def spam(self, kind: str, rng: random.Random) -> Any:
        src = self.src
        if self.labels:
            a, b = self.labels
        else:
            a, b = rng.sample(sorted(src.by_speaker), 2)
        pool = src.turns

        def turn(role: str) -> str:
            return rng.choice(pool[role])

        n = rng.randint(4, 10)
        normal = [(a, turn("seeker")) if i % 2 == 0 else (b, turn("supporter")) for i in range(n)]
        if kind == "one_turn":
            return [(a, turn("seeker"))]
        if kind == "one_speaker":
            return [(a, turn("seeker")) for _ in range(n)]
        if kind == "repeated_turns":
            x, y = turn("seeker"), turn("supporter")
            return [(a, x) if i % 2 == 0 else (b, y) for i in range(n)]
        if kind == "empty_turn":
            normal[rng.randrange(len(normal))] = (b, "")
            return normal
        # paste: one supporter turn is a pasted web page of 2,000+ characters
        paste = ""
        while len(paste) < 2100:
            paste += rng.choice(src.web_sents)
        normal[1] = (b, paste)
        return normal


# ---------------------------------------------------------------- corpus


def _shingle_keys(text: str) -> np.ndarray:
    """Distinct character 5-grams of the lower-cased text without whitespace, as 64-bit keys."""
    t = _WS.sub("", text.lower())
    cp = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(cp) < NGRAM:
        return np.unique(cp[:1] + np.uint64(1 << 40) * np.uint64(len(cp)))
    keys = np.zeros(len(cp) - NGRAM + 1, dtype=np.uint64)
    for j in range(NGRAM):  # overflowing multiply-add: collisions are negligible at these sizes
        keys = keys * np.uint64(0x9E3779B97F4A7C15) + cp[j : len(cp) - NGRAM + 1 + j]
    return np.unique(keys)


def jaccard(a: str, b: str) -> float:
    """True Jaccard of the character 5-gram sets (bench/dedup.py's ``true_jaccard``, vectorised)."""
    x, y = _shingle_keys(a), _shingle_keys(b)
    inter = len(np.intersect1d(x, y, assume_unique=True))
    union = len(x) + len(y) - inter
    return inter / union if union else 1.0


def corpus_params(args: argparse.Namespace) -> dict[str, Any]:
    return {"generator": GENERATOR_VERSION, "mb": args.mb, "dialogue_frac": args.dialogue_frac,
            "dup_frac": args.dup_frac, "spam_frac": args.spam_frac, "edit_min": args.edit_min,
            "edit_max": args.edit_max, "seed": args.seed}


def build_corpus(corpus: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Write corpus/ours/*.jsonl (curate's inputs), corpus/peer/*.jsonl (the same texts as {id, text}),
    corpus/planted.json (spam ids, duplicate pairs) and corpus/summary.json; return the summary."""
    t0 = time.perf_counter()
    shutil.rmtree(corpus, ignore_errors=True)
    ours, peer = corpus / "ours", corpus / "peer"
    ours.mkdir(parents=True)
    peer.mkdir()
    src = Sources()
    total = params["mb"] * 1e6
    df = params["dialogue_frac"]
    inputs: list[tuple[Any, float]] = [(WebInput(src), (1 - df) * total)]
    inputs += [(DialogueInput(src, n), df * share * total) for n, share in DIALOGUE_SHARES.items()]
    nprng = np.random.default_rng(params["seed"])
    rng = random.Random(params["seed"])
    spam_p = params["spam_frac"] / (1 - params["spam_frac"])
    planted: dict[str, Any] = {"spam": {}, "pairs": []}
    summary: dict[str, Any] = {"params": params, "inputs": {}}
    for inp, budget in inputs:
        if budget <= 0:
            continue
        parts = max(1, round(16 * budget / total))
        fo = [open(ours / f"{inp.name}-{k:02d}.jsonl", "wb") for k in range(parts)]  # noqa: SIM115
        fp = fo if inp.kind == "web" else [open(peer / f"{inp.name}-{k:02d}.jsonl", "wb") for k in range(parts)]  # noqa: SIM115
        real = inp.real()
        rng.shuffle(real)
        real_budget = REAL_CAP * budget
        stats = {"records": 0, "real": 0, "recombined": 0, "spam": 0, "copies": 0, "bytes": 0, "peer_bytes": 0,
                 "parts": parts}
        chunk, n, written = 0, 0, set()
        part_bytes = budget / parts
        while stats["bytes"] < budget:
            docs: list[tuple[str, Any]] = []
            if stats["bytes"] < real_budget and real:
                take, real = real[:200], real[200:]
                docs += [(f"{inp.name}-r{n + i:07d}", d) for i, d in enumerate(take)]
            else:
                docs += [(f"{inp.name}-g{n + i:07d}", d) for i, d in enumerate(inp.batch(nprng, CHUNK))]
            n += len(docs)
            out = list(docs)
            for rid, d in docs:
                if rng.random() >= params["dup_frac"]:
                    continue
                if rng.random() < 0.25:
                    kind, rate, copy = "exact", 0.0, d
                else:
                    kind, rate = "near", rng.uniform(params["edit_min"], params["edit_max"])
                    copy = inp.mutate(d, rate, rng)
                cid = f"{rid}-{kind[0]}"
                out.append((cid, copy))
                planted["pairs"].append({"a": rid, "b": cid, "kind": kind, "input": inp.name, "edit_rate": round(rate, 4),
                                         "jaccard": 1.0 if kind == "exact" else round(jaccard(inp.render(d), inp.render(copy)), 4)})
            for j in range(int(nprng.binomial(len(out), spam_p))):
                kind = inp.spam_types[j % len(inp.spam_types)]
                sid = f"{inp.name}-s{chunk:05d}{j:04d}"
                out.append((sid, inp.spam(kind, rng)))
                planted["spam"][sid] = kind
            rng.shuffle(out)
            for rid, d in out:  # part files fill in turn; the input stops at its budget
                if stats["bytes"] >= budget:
                    break
                k = min(parts - 1, int(stats["bytes"] // part_bytes))
                line = json.dumps(inp.record(rid, d), ensure_ascii=False).encode() + b"\n"
                fo[k].write(line)
                stats["bytes"] += len(line)
                if inp.kind == "dialogue":
                    text = json.dumps({"id": rid, "text": inp.render(d)}, ensure_ascii=False).encode() + b"\n"
                    fp[k].write(text)
                    stats["peer_bytes"] += len(text)
                else:
                    stats["peer_bytes"] += len(line)
                written.add(rid)
                kind = "spam" if rid in planted["spam"] else "copies" if rid[-2:] in ("-e", "-n") else (
                    "real" if rid.startswith(f"{inp.name}-r") else "recombined")
                stats[kind] += 1
                stats["records"] += 1
            chunk += 1
        # the truth keeps what was written: a pair whose other side fell past the budget is no pair
        planted["pairs"] = [p for p in planted["pairs"] if p["input"] != inp.name or (p["a"] in written and p["b"] in written)]
        planted["spam"] = {k: v for k, v in planted["spam"].items() if not k.startswith(f"{inp.name}-s") or k in written}
        for f in {*fo, *fp}:
            f.close()
        if inp.kind == "web":
            for k in range(parts):
                os.link(ours / f"{inp.name}-{k:02d}.jsonl", peer / f"{inp.name}-{k:02d}.jsonl")
        summary["inputs"][inp.name] = {"kind": inp.kind, **stats}
    (corpus / "planted.json").write_text(json.dumps(planted, ensure_ascii=False))
    files = sorted(ours.glob("*.jsonl"))
    summary.update(records=sum(s["records"] for s in summary["inputs"].values()),
                   bytes=sum(p.stat().st_size for p in files),
                   peer_bytes=sum(p.stat().st_size for p in peer.glob("*.jsonl")),
                   files=len(files), build_seconds=round(time.perf_counter() - t0, 1))
    job = {"name": "bench-e2e", "inputs": [inp.job_input(str(ours / f"{inp.name}-*.jsonl")) for inp, b in inputs if b > 0],
           "rules": ["default.yaml", "dialogue.yaml"]}
    (corpus / "job.json").write_text(json.dumps(job, ensure_ascii=False, indent=1))
    (corpus / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def ensure_corpus(corpus: Path, params: dict[str, Any]) -> dict[str, Any]:
    """The corpus in `corpus`, built unless a complete one with the same parameters is there."""
    summary = corpus / "summary.json"
    if summary.exists():
        s = json.loads(summary.read_text())
        if s.get("params") == params:  # summary.json is written last: its presence means a complete corpus
            s["reused"] = True
            return s
    print(f"building the corpus in {corpus} ...", file=sys.stderr)
    return build_corpus(corpus, params)


# ---------------------------------------------------------------- measuring a process tree


class TreeSampler(Sampler):
    """bench/dedup_memory.py's sampler on another process's tree: sum of RSS, and USS + Ray object store."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(interval)
        self.me = self.psutil.Process(pid)
        self.cpu: dict[int, float] = {}  # pid -> user + system seconds, last seen

    def cpu_seconds(self) -> float:
        """CPU seconds of every process seen in the tree (a process's last interval before it exits is lost)."""
        return sum(self.cpu.values())

    def sample(self) -> dict[str, Any]:
        ps = self.psutil
        try:
            procs = [self.me, *self.me.children(recursive=True)]
        except ps.Error:
            procs = []
        rss = uss = 0
        names: dict[str, int] = {}
        for p in procs:
            try:
                m = p.memory_full_info()
                name = p.name()
                t = p.cpu_times()
            except ps.Error:
                continue
            self.cpu[p.pid] = t.user + t.system
            rss += m.rss
            uss += m.uss
            names[name] = names.get(name, 0) + 1
        store = self._plasma_bytes(procs[1:]) if procs else 0
        return {"t": time.time(), "cpu": self.cpu_seconds(), "rss": rss, "uss_store": uss + store, "store": store, "procs": len(procs),
                "names": names}


def run_monitored(cmd: list[str], env: dict[str, str], interval: float, timeout: float, log: Path,
                  cwd: Path | None = None) -> dict[str, Any]:
    """Run `cmd` (in `cwd`), sampling its process tree; return wall seconds, exit code, samples."""
    with open(log, "wb") as out:
        t0 = time.time()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        sampler = TreeSampler(proc.pid, interval)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # the command and what it started (Ray's daemons, workers), by pid
            import psutil

            tree = [proc.pid]
            with contextlib.suppress(psutil.Error):
                tree += [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
            for pid in reversed(tree):
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
            rc = proc.wait()
        t1 = time.time()
        sampler.stop()
    return {"rc": rc, "start": t0, "end": t1, "seconds": t1 - t0, "samples": sampler.samples,
            "cpu_seconds": sampler.cpu_seconds()}


def _peak(samples: list[dict[str, Any]], t0: float | None = None, t1: float | None = None) -> dict[str, float]:
    """Peak memory of the samples in [t0, t1], and the CPU seconds the tree used in it."""
    win = [s for s in samples if (t0 is None or s["t"] >= t0) and (t1 is None or s["t"] <= t1)]
    if not win:
        return {"rss": 0, "uss_store": 0, "cpu": 0.0}
    before = [s["cpu"] for s in samples if t0 is not None and s["t"] < t0]
    return {"rss": max(s["rss"] for s in win), "uss_store": max(s["uss_store"] for s in win),
            "cpu": win[-1]["cpu"] - (before[-1] if before else 0.0)}


# ---------------------------------------------------------------- ours


def _ray_startup(ray_tmp: Path) -> float | None:
    """Seconds from the Ray session folder's timestamp to the driver's first Ray log line, if both are there."""
    try:
        session = sorted((ray_tmp / "ray").glob("session_2*"))[-1]
        started = datetime.strptime("_".join(session.name.split("_")[1:4]), "%Y-%m-%d_%H-%M-%S_%f")
        driver = next((session / "logs").glob("python-core-driver-*.log"))
        m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", driver.read_text(errors="replace"))
        return (datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f") - started).total_seconds() if m else None
    except (IndexError, StopIteration, ValueError, OSError):
        return None


def run_ours(work: Path, corpus: Path, cpus: int, interval: float, timeout: float) -> dict[str, Any]:
    import yaml

    run = work / "run"
    run.mkdir(parents=True, exist_ok=True)
    out = run / "curate-out"
    shutil.rmtree(out, ignore_errors=True)
    job = json.loads((corpus / "job.json").read_text())
    job.update(output=str(out), ray={"num_cpus": cpus})
    job_file = run / "job.yaml"
    job_file.write_text(yaml.safe_dump(job, allow_unicode=True, sort_keys=False))
    ray_tmp = Path(tempfile.mkdtemp(prefix="ce2e-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_TMPDIR=str(ray_tmp), RAY_ENABLE_UV_RUN_RUNTIME_ENV="0")
    cli = Path(sys.executable).with_name("curate")
    cmd = [str(cli) if cli.exists() else sys.executable, *([] if cli.exists() else ["-m", "curate.cli"]),
           "run", str(job_file), "-o", str(out)]
    print("ours: " + " ".join(cmd), file=sys.stderr)
    # Ray puts the driver's working directory first on its workers' sys.path, ahead of PYTHONPATH: run from the
    # checkout whose curate this process imports, so an A/B run by PYTHONPATH times that checkout in the workers too
    import curate

    checkout = Path(curate.__file__).resolve().parents[1]
    print(f"ours: curate from {checkout}", file=sys.stderr)
    r = run_monitored(cmd, env, interval, timeout, run / "curate.log", cwd=checkout)
    res: dict[str, Any] = {"cmd": cmd, "rc": r["rc"], "seconds": r["seconds"], "peak": _peak(r["samples"]),
                           "cpu_seconds": r["cpu_seconds"], "log_tail": (run / "curate.log").read_text(errors="replace").splitlines()[-8:]}
    mpath, index = out / "manifest.json", out / "dashboard" / "index.html"
    if r["rc"] != 0 or not mpath.exists():
        res["error"] = f"exit {r['rc']}: " + " | ".join(res["log_tail"][-4:])
        shutil.rmtree(ray_tmp, ignore_errors=True)
        return res
    m = json.loads(mpath.read_text())
    t_manifest = mpath.stat().st_mtime
    t_run = t_manifest - m["seconds"]
    t_dash = index.stat().st_mtime if index.exists() else t_manifest
    tm = m.get("timings", {})
    bounds = [("start-up (CLI, imports, job check)", r["start"], t_run)]
    t = t_run
    for key, label in (("per_record", "per_record (read, normalise, rules, hashes)"), ("dedup_global", "dedup_global (global dedup, line stats)"),
                       ("finish", "finish (scores, tags, shards, stats)")):
        bounds.append((label, t, t + tm.get(key, 0.0)))
        t += tm.get(key, 0.0)
    bounds += [("dashboards", t_manifest, t_dash), ("exit (summary, Ray shutdown)", t_dash, r["end"])]
    res["stages"] = [{"name": n, "seconds": b - a, "peak": _peak(r["samples"], a, b)} for n, a, b in bounds]
    res["ray_startup"] = _ray_startup(ray_tmp)
    res["processes"] = max((s["names"] for s in r["samples"]), key=lambda d: sum(d.values()), default={})
    res["totals"] = m["totals"]
    res["dedup"] = {k: v for k, v in m.get("dedup", {}).items() if k in ("live_records", "candidate_edges", "verified_edges",
                                                                        "duplicates", "clusters", "band_passes")}
    res["models"] = sorted(m.get("models", {}))
    res["shards"] = len(m.get("shards", []))
    res["timings"] = tm
    import polars as pl

    rej = sorted((out / "rejects").glob("*.parquet"))
    res["removed"] = {}
    if rej:
        df = pl.read_parquet(rej, columns=["id", "drop_reason"])
        res["removed"] = dict(zip(df["id"].to_list(), df["drop_reason"].to_list(), strict=True))
    shutil.rmtree(ray_tmp, ignore_errors=True)
    return res


# ---------------------------------------------------------------- peer (datatrove), in its own process


def peer_main(work: Path, corpus: Path, workers: int, tokenizer: str, out: Path) -> None:
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    base = work / "run" / "datatrove"
    shutil.rmtree(base, ignore_errors=True)
    files = sorted((corpus / "peer").glob("*.jsonl"))
    tasks = len(files)
    lang: Any = CharTokenizer() if tokenizer == "char" else tokenizer
    word_len = (None, None) if tokenizer == "char" else (1, 10)

    def excluded(name: str) -> JsonlWriter:
        return JsonlWriter(str(base / "excluded" / name), compression=None)

    first = [JsonlReader(str(corpus / "peer"), glob_pattern="*.jsonl", text_key="text", id_key="id"),
             GopherRepetitionFilter(language=lang, exclusion_writer=excluded("gopher_repetition")),
             FineWebQualityFilter(language=lang, exclusion_writer=excluded("fineweb_quality")),
             GopherQualityFilter(min_avg_word_length=word_len[0], max_avg_word_length=word_len[1], stop_words=STOP_CHARS,
                                 min_stop_words=2, language=lang, exclusion_writer=excluded("gopher_quality")),
             JsonlWriter(str(base / "filtered"), compression=None)]
    again = [JsonlReader(str(base / "filtered"), glob_pattern="*.jsonl", text_key="text", id_key="id")]
    stages = datatrove_minhash_stages(base, first, again, tasks=tasks, workers=workers)
    timings: dict[str, list[float]] = {}
    for name, ex in stages.items():
        if name == "filter":  # MinhashDedupFilter matches documents by index per task: one filtered file per task
            got = len(list((base / "filtered").glob("*.jsonl")))
            if got != tasks:
                raise RuntimeError(f"{got} filtered files for {tasks} tasks: a task kept no document")
        t = time.time()
        ex.run()
        timings[name] = [t, time.time()]
    removed: dict[str, str] = {}
    for folder, prefix in [(p, p.name) for p in sorted((base / "excluded").glob("*"))] + [(base / "removed", "minhash")]:
        for p in folder.glob("*.jsonl"):
            with open(p, encoding="utf-8") as f:
                for line in f:
                    d = json.loads(line)
                    reason = (d.get("metadata") or {}).get("filter_reason")
                    removed[d["id"]] = f"{prefix}:{reason}" if reason else prefix
    kept = 0
    for p in (base / "output").glob("*.jsonl"):
        with open(p, "rb") as f:
            kept += sum(1 for _ in f)
    steps = {}  # stage 1's time per step, summed over its tasks (datatrove's own stats)
    stats = base / "logs" / "s1" / "stats.json"
    if stats.exists():
        for st in json.loads(stats.read_text()):
            name = re.sub(r"[^\x20-\x7e]", "", st["name"]).replace("  ", " ").strip(" -")
            steps[name] = st.get("time_stats", {}).get("total", 0.0)
    out.write_text(json.dumps({"timings": timings, "tasks": tasks, "removed": removed, "kept": kept,
                               "tokenizer": tokenizer, "steps": steps}))


def run_peer(work: Path, corpus: Path, cpus: int, tokenizer: str, interval: float, timeout: float) -> dict[str, Any]:
    out = work / "run" / "peer.json"
    out.unlink(missing_ok=True)
    (work / "run").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, str(Path(__file__).resolve()), "_peer", "--work", str(work), "--corpus", str(corpus),
           "--cpus", str(cpus), "--peer-tokenizer", tokenizer, "--out", str(out)]
    print("peer: " + " ".join(cmd), file=sys.stderr)
    r = run_monitored(cmd, env, interval, timeout, work / "run" / "datatrove.log")
    res: dict[str, Any] = {"cmd": cmd, "rc": r["rc"], "seconds": r["seconds"], "peak": _peak(r["samples"]),
                           "cpu_seconds": r["cpu_seconds"]}
    if r["rc"] != 0 or not out.exists():
        tail = (work / "run" / "datatrove.log").read_text(errors="replace").splitlines()[-6:]
        res["error"] = f"exit {r['rc']}: " + " | ".join(tail)
        return res
    p = json.loads(out.read_text())
    first = min(a for a, _ in p["timings"].values())
    res["stages"] = [{"name": "start-up (imports)", "seconds": first - r["start"], "peak": _peak(r["samples"], r["start"], first)}]
    labels = {"signatures": "1: read, filters, write filtered, signatures", "buckets": "2: buckets", "clusters": "3: clusters",
              "filter": "4: read filtered, MinHash filter, write"}
    res["stages"] += [{"name": labels[k], "seconds": b - a, "peak": _peak(r["samples"], a, b)} for k, (a, b) in p["timings"].items()]
    res.update(removed=p["removed"], kept=p["kept"], tasks=p["tasks"], tokenizer=p["tokenizer"], steps=p.get("steps", {}))
    return res


# ---------------------------------------------------------------- scoring against the planted truth


def _is_dup(reason: str | None, peer: bool) -> bool:
    return reason is not None and (reason == "minhash" if peer else reason in DEDUP_REASONS)


def score(res: dict[str, Any], planted: dict[str, Any], peer: bool) -> dict[str, Any]:
    removed: dict[str, str] = res.get("removed", {})
    spam = planted["spam"]
    by_type: dict[str, list[int]] = {}
    for sid, kind in spam.items():
        acc = by_type.setdefault(kind, [0, 0])
        acc[0] += 1
        acc[1] += sid in removed
    pairs: dict[str, list[int]] = {}
    for p in planted["pairs"]:
        cat = "exact" if p["kind"] == "exact" else ("near J>=0.8" if p["jaccard"] >= THRESHOLD else "near J<0.8")
        acc = pairs.setdefault(cat, [0, 0, 0])  # planted, both survived the rules, one of them removed as duplicate
        ra, rb = removed.get(p["a"]), removed.get(p["b"])
        rules_hit = (ra is not None and not _is_dup(ra, peer)) or (rb is not None and not _is_dup(rb, peer))
        acc[0] += 1
        if not rules_hit:
            acc[1] += 1
            acc[2] += _is_dup(ra, peer) or _is_dup(rb, peer)
    in_pairs = {p["b"] for p in planted["pairs"]}
    by_reason: dict[str, int] = {}
    for r in removed.values():
        key = r.split(":")[0] if peer else r
        by_reason[key] = by_reason.get(key, 0) + 1
    clean_removed = sum(1 for i, r in removed.items() if i not in spam and i not in in_pairs and not _is_dup(r, peer))
    return {"spam": by_type, "pairs": pairs, "by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
            "clean_removed_by_rules": clean_removed}


# ---------------------------------------------------------------- report


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f}"


def report(res: dict[str, Any]) -> str:
    c, mb, cpus = res["corpus"], res["corpus"]["bytes"] / 1e6, res["cpus"]
    n_spam = sum(s["spam"] for s in c["inputs"].values())
    n_copies = sum(s["copies"] for s in c["inputs"].values())
    out = [f"Corpus: {c['records']:,} records, {mb:.1f} MB in {c['files']} JSONL files (peer's text-only copy "
           f"{c['peer_bytes'] / 1e6:.1f} MB); {n_copies:,} planted duplicate copies, {n_spam:,} planted spam; "
           f"built in {c['build_seconds']} s" + (" (reused)" if c.get("reused") else ""),
           "  " + "; ".join(f"{k}: {v['records']:,} records, {v['bytes'] / 1e6:.1f} MB ({v['real']:,} real, "
                            f"{v['recombined']:,} recombined)" for k, v in c["inputs"].items()), ""]
    header = ["row", "seconds", "MB/s", "MB/s/core", "CPU s", "MB per CPU-s", "peak memory GB (USS+store / RSS sum)",
              "records in", "kept", "removed (rules / duplicates)"]
    rows = []
    ours, peer = res.get("ours"), res.get("datatrove")
    n_in = c["records"]

    def rate(s: float, cpu: float | None = None) -> list[str]:
        cells = [f"{s:.1f}", f"{mb / s:.2f}" if s > 0 else "—", f"{mb / s / cpus:.2f}" if s > 0 else "—"]
        return cells + ([f"{cpu:.1f}", f"{mb / cpu:.2f}" if cpu > 0 else "—"] if cpu is not None else ["", ""])

    def mem(p: dict[str, int]) -> str:
        return f"{_gb(p['uss_store'])} / {_gb(p['rss'])}"

    for label, r, peer_side in (("curate run (end to end)", ours, False), ("datatrove (end to end)", peer, True)):
        if not r:
            continue
        if "error" in r:
            rows.append([f"**{label}**", "—", "—", "—", "—", "—", "—", "—", "—", r["error"][:200]])
            continue
        sc = r["score"]
        dups = sum(v for k, v in sc["by_reason"].items() if _is_dup(k, peer_side))
        rules = sum(sc["by_reason"].values()) - dups
        rows.append([f"**{label}**", *rate(r["seconds"], r["cpu_seconds"]), mem(r["peak"]), f"{n_in:,}", f"{n_in - rules - dups:,}",
                     f"{rules:,} / {dups:,}"])
        for st in r.get("stages", []):
            rows.append([f"  {st['name']}", *rate(st["seconds"], st["peak"]["cpu"]), mem(st["peak"]), "", "", ""])
            if st["name"].startswith("per_record") and r.get("ray_startup") is not None:
                rows.append(["    of which Ray start-up", *rate(r["ray_startup"]), "", "", "", ""])
    out.append(f"End to end on {mb:.1f} MB, {cpus} CPUs (MB/s/core = MB / s / {cpus})")
    out.append(fmt_table(header, rows))
    for label, r in (("curate", ours), ("datatrove", peer)):
        if r and "error" not in r:
            out.append(f"\n{label} removed by reason: " + ", ".join(f"{k} {v:,}" for k, v in r["score"]["by_reason"].items()))
    if peer and peer.get("steps"):
        # the signature step's timer wraps its loop over the documents, so it includes the steps upstream of it
        steps = dict(peer["steps"])
        names = list(steps)
        if names and "MinHash" in names[-1]:
            steps[names[-1] + " (own: its timer minus the steps upstream)"] = steps.pop(names[-1]) - sum(steps[n] for n in names[:-1])
        out.append(f"datatrove stage 1 by step (task seconds summed over its {peer['tasks']} tasks on {cpus} workers): "
                   + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    ok = [(n, r) for n, r in (("curate", ours), ("datatrove", peer)) if r and "error" not in r]
    if ok:
        out += ["", "Planted spam removed (any reason) and planted duplicate pairs caught (one side removed as a "
                "duplicate, among pairs whose two sides both passed the rules)"]
        sc = {n: r["score"] for n, r in ok}
        first = next(iter(sc.values()))
        rows = []
        for kind, (n, _) in sorted(first["spam"].items()):
            rows.append([f"spam: {kind}", f"{n:,}", *[f"{s['spam'][kind][1]:,} ({s['spam'][kind][1] / n:.0%})" for s in sc.values()]])
        for cat in ("exact", "near J>=0.8", "near J<0.8"):
            if cat not in first["pairs"]:
                continue
            n = first["pairs"][cat][0]
            cells = []
            for s in sc.values():
                planted, elig, hit = s["pairs"].get(cat, [0, 0, 0])
                cells.append(f"{hit:,} of {elig:,} ({hit / elig:.0%})" if elig else "—")
            rows.append([f"duplicate pairs: {cat}", f"{n:,}", *cells])
        rows.append(["other records removed by rules", "", *[f"{s['clean_removed_by_rules']:,}" for s in sc.values()]])
        out.append(fmt_table(["planted", "n", *sc], rows))
    if ours and peer and "error" not in ours and "error" not in peer:
        ratio = peer["seconds"] / ours["seconds"]
        per_core = mb / ours["seconds"] / cpus
        out += ["", f"Ratio: datatrove {peer['seconds']:.1f} s / curate {ours['seconds']:.1f} s = {ratio:.2f}x "
                f"(curate {'ahead' if ratio > 1 else 'behind'}; curate does more: scores, 11 taggers, dashboards); "
                f"in CPU seconds {peer['cpu_seconds']:.1f} / {ours['cpu_seconds']:.1f} = "
                f"{peer['cpu_seconds'] / max(ours['cpu_seconds'], 1e-9):.2f}x",
                f"Target >= 2 MB/s/core end to end: curate {per_core:.2f} MB/s/core: {'met' if per_core >= 2 else 'NOT met'}; "
                f"ahead of the peer: {'yes' if ratio > 1 else 'NO'}"]
    elif ours and "error" not in ours:
        per_core = mb / ours["seconds"] / cpus
        out += ["", f"Target >= 2 MB/s/core end to end: curate {per_core:.2f} MB/s/core: {'met' if per_core >= 2 else 'NOT met'}"]
    return "\n".join(out)


# ---------------------------------------------------------------- main


def parser() -> argparse.ArgumentParser:
    """The bench's options (bench/stage_share.py builds the same corpus from them)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=1000.0, help="corpus size, MB of curate's input files (default 1000)")
    ap.add_argument("--dialogue-frac", type=float, default=0.5, help="share of the bytes in dialogue inputs")
    add_planting_args(ap)  # --dup-frac (of non-spam documents here), --edit-min, --edit-max, --seed
    ap.add_argument("--spam-frac", type=float, default=0.05, help="share of records that are planted spam")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs for each contender (Ray num_cpus; datatrove workers)")
    ap.add_argument("--peer-tokenizer", choices=["char", "zh_Hani"], default="char")
    ap.add_argument("--skip", default="", help="comma list of: curate, datatrove")
    ap.add_argument("--interval", type=float, default=0.5, help="memory sampling interval, seconds")
    ap.add_argument("--timeout", type=float, default=4 * 3600, help="per contender, seconds")
    ap.add_argument("--work", help="work folder (default: <tmp>/curate-bench-e2e-<params hash>, kept for reruns)")
    ap.add_argument("--keep-outputs", action="store_true", help="keep curate's OUT and datatrove's folders in WORK/run")
    ap.add_argument("--json", help="also write the results here")
    return ap


def default_work(params: dict[str, Any]) -> Path:
    """The work folder of a corpus with these parameters, kept for reruns."""
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"curate-bench-e2e-{key}"


def main() -> None:
    args = parser().parse_args()
    skip = {s for s in args.skip.split(",") if s}
    params = corpus_params(args)
    work = Path(args.work) if args.work else default_work(params)
    corpus = work / "corpus"
    work.mkdir(parents=True, exist_ok=True)
    summary = ensure_corpus(corpus, params)
    planted = json.loads((corpus / "planted.json").read_text())
    res: dict[str, Any] = {"corpus": summary, "cpus": args.cpus, "args": vars(args), "work": str(work),
                           "versions": versions(), "loadavg_start": os.getloadavg()}
    if "curate" not in skip:
        res["ours"] = run_ours(work, corpus, args.cpus, args.interval, args.timeout)
    if "datatrove" not in skip:
        res["datatrove"] = run_peer(work, corpus, args.cpus, args.peer_tokenizer, args.interval, args.timeout)
    res["loadavg_end"] = os.getloadavg()
    for name, peer in (("ours", False), ("datatrove", True)):
        if name in res and "error" not in res[name]:
            res[name]["score"] = score(res[name], planted, peer)
    print(report(res))
    o = res.get("ours") or {}
    if o.get("processes"):
        print(f"\ncurate process tree at its largest: {o['processes']}; {o.get('shards')} shards; models: {', '.join(o.get('models', []))}")
    print(f"\nload average (1/5/15 min) at start {res['loadavg_start']}, at end {res['loadavg_end']} on {os.cpu_count()} CPUs")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()))
    print(f"work folder: {work} (corpus kept for reruns)")
    if args.json:
        slim = {k: ({kk: vv for kk, vv in v.items() if kk != "removed"} if isinstance(v, dict) else v) for k, v in res.items()}
        Path(args.json).write_text(json.dumps(slim, indent=1, ensure_ascii=False, default=str))
    if not args.keep_outputs:
        for sub in ("curate-out", "datatrove"):
            shutil.rmtree(work / "run" / sub, ignore_errors=True)


def _peer_child() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("--work", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--peer-tokenizer", default="char")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    peer_main(Path(a.work), Path(a.corpus), a.cpus, a.peer_tokenizer, Path(a.out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["_peer"]:
        _peer_child()
    else:
        main()

