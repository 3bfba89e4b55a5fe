"""Weakly labelled training data for the domain classifier (ChineseWebText 2.0's 11 domains, multi-label).

There is no labelled domain set we may train on, so, as ChineseWebText 2.0 did, labels come from seed
keywords written by hand (`classifiers/train/domain-seeds.yaml`) plus structural cues (regexes: a court case
number, "第N章", "问：/答：" turns, "月日电"). Training data comes only from the Apache/CC0/MIT datasets
in the shared data folder and from text generated here; the `web/` samples (evaluation and tests only,
never redistribute) are not read. Three kinds of examples:

1. Real comments, weakly labelled: COLD (Weibo/Zhihu). A domain is given when the text hits enough
   distinct seed keywords / cues (scaled with length) and is close to the best domain; nothing → `general`.
2. Real dialogue (CPED scenes, SMILECHAT, EmoLLM), rendered as the pipeline renders dialogue records
   (`speaker：utterance` lines): `dialogue`, plus keyword domains (counselling talk often scores `medicine`).
3. Pseudo-documents per domain, the main source: an optional title line, then paragraphs of the domain's
   sentence templates (slots filled from hand-written pools), keyword bags, shared hand-written prose and
   real COLD sentences as filler; some mix two domains and carry both labels.

ChineseWebText 2.0's test file is jieba-segmented with stop words and punctuation removed, so a
fraction of examples is rewritten the same way (rjieba, the hand-written `stopwords` list in the seeds
file): the model sees both raw text and that form. Every random choice comes from
`random.Random(cfg["seed"])`.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from curate.annotations import GoldDocument
from curate.models.examples import Example, Splits, split_by_key
from curate.models.training_data import training_asset
from curate.models.training_data.headlines import headline_examples
from curate.models.training_data.templates import TemplateWriter
from curate.models.training_data.web_gold import gold_examples
from curate.render import render_dialogue, xtuner_turns

FALLBACK = "general"
_PUNCT = re.compile(r"^[\W_]+$")


def load_seeds(cfg: dict) -> dict:
    """The seed file of the domain config (`domain-seeds.yaml` unless `seeds:` names another)."""
    return yaml.safe_load(training_asset(cfg.get("seeds", "domain-seeds.yaml")).read_text(encoding="utf-8"))


class WeakLabeler:
    """Seed-keyword + structural-cue scorer: labels a text with the domains it has enough evidence for."""

    def __init__(self, seeds: dict, min_hits: int = 3, per_kchar: float = 2.0, ratio: float = 0.6,
                 max_labels: int = 3, cue_weight: int = 2) -> None:
        self.keywords = {d: sorted({str(w) for w in spec["keywords"] if len(str(w)) >= 2})
                         for d, spec in seeds["domains"].items()}
        self.cues = {d: [re.compile(p) for p in pats] for d, pats in (seeds.get("structure") or {}).items()}
        self.min_hits, self.per_kchar, self.ratio = min_hits, per_kchar, ratio
        self.max_labels, self.cue_weight = max_labels, cue_weight

    def scores(self, text: str) -> dict[str, int]:
        """Distinct keyword hits per domain, plus `cue_weight` per matching structural cue."""
        out = {d: sum(1 for w in kws if w in text) for d, kws in self.keywords.items()}
        for d, pats in self.cues.items():
            out[d] = out.get(d, 0) + self.cue_weight * sum(1 for p in pats if p.search(text))
        return out

    def labels(self, text: str, forced: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Domains with enough evidence (forced ones first); `general` when there are none."""
        sc = self.scores(text)
        need = max(self.min_hits, self.per_kchar * len(text) / 1000)
        best = max((v for d, v in sc.items() if d != FALLBACK), default=0)
        ranked = sorted((d for d, v in sc.items() if d != FALLBACK and v >= need and v >= self.ratio * best),
                        key=lambda d: -sc[d])
        labs = list(forced) + [d for d in ranked if d not in forced]
        labs = labs[: max(self.max_labels, len(forced))]
        if not labs or sc.get(FALLBACK, 0) >= max(need, best):
            labs.append(FALLBACK)
        return tuple(labs)


# ---------------------------------------------------------------- real text readers

def _csv_rows(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


# Dialogues are rendered as the pipeline renders the records it scores (`curate.render.render_dialogue`),
# speakers named as its readers name them: CPED's `Speaker` column (style csv), SMILECHAT's `role`
# (client / counselor, style turns), EmoLLM's item keys (system / input / output, style xtuner).

def cped_texts(path: Path) -> Iterator[tuple[str, str]]:
    scenes: dict[str, list[tuple[str, str]]] = {}
    for row in _csv_rows(path):
        scenes.setdefault(row["Dialogue_ID"], []).append((row["Speaker"], row["Utterance"]))
    for k, turns in scenes.items():
        yield f"cped:{k}", render_dialogue(turns)


def smilechat_texts(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            yield d["id"], render_dialogue((t["role"], t["content"]) for t in d["turns"])


def emollm_texts(path: Path) -> Iterator[tuple[str, str]]:
    for i, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        yield f"emollm:{i}", render_dialogue(xtuner_turns(item["conversation"]))


# A web Q&A page (a question title, then an answer, on one line) is `dialogue` by the guide, but reads nothing
# like a rendered record: the question-and-answer view of a help-seeking dialogue, its first seeker turn then
# the first supporter reply with no speaker names, is that form. It imitates a page; records are still
# rendered one way only (`render_dialogue`).

def qa_thread_view(question: str, answer: str) -> str:
    """A question and its answer as one line, as a web Q&A page shows them."""
    return " ".join(f"{question.strip()} {answer.strip()}".split())


def smilechat_qa(path: Path) -> Iterator[tuple[str, str]]:
    """(dialogue id, its first client turn and the first counselor reply after it, as a Q&A page)."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            turns = [(t["role"], t["content"]) for t in d["turns"]]
            q = next((i for i, (r, _) in enumerate(turns) if r == "client"), None)
            a = next((i for i, (r, _) in enumerate(turns) if r == "counselor" and q is not None and i > q), None)
            if q is not None and a is not None:
                yield d["id"], qa_thread_view(turns[q][1], turns[a][1])


def emollm_qa(path: Path) -> Iterator[tuple[str, str]]:
    """(`emollm:N`, the first item's input and output, as a Q&A page)."""
    for i, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        first = (item.get("conversation") or [{}])[0]
        if first.get("input") and first.get("output"):
            yield f"emollm:{i}", qa_thread_view(str(first["input"]), str(first["output"]))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?；\n])", text) if len(s.strip()) >= 6]


# ---------------------------------------------------------------- pseudo-documents

class PseudoWriter:
    """Writes pseudo-documents for a domain from its templates, titles, keywords and filler sentences
    (slots: `curate.models.training_data.templates`; `{filler}` one of this writer's filler sentences)."""

    def __init__(self, seeds: dict, filler: list[str], rng: random.Random, keyword_share: float = 0.2) -> None:
        self.domains = seeds["domains"]
        self.templates = TemplateWriter(self.domains, seeds.get("pools", {}))
        self.filler, self.rng = filler, rng
        self.keyword_share = keyword_share

    def fill(self, template: str, domain: str) -> str:
        """`template` with its slots filled."""
        return self.templates.fill(template, domain, self.rng, lambda: self.rng.choice(self.filler).strip())

    def sentence(self, domain: str) -> str:
        """A filled template, or a bag of the domain's keywords."""
        spec = self.domains[domain]
        if self.rng.random() < self.keyword_share:
            sep = self.rng.choice(["，", " ", "、", "　"])
            k = min(len(spec["keywords"]), self.rng.randint(3, 8))
            return sep.join(str(w) for w in self.rng.sample(spec["keywords"], k)) + "。"
        return self.fill(self.rng.choice(spec["templates"]), domain)

    def document(self, domains: tuple[str, ...], filler_share: float) -> str:
        """An optional title, then paragraphs of sentences from `domains` mixed with filler (share `filler_share`)."""
        r = self.rng
        out: list[str] = []
        titles = self.domains[domains[0]].get("titles") or []
        if titles and r.random() < 0.6:
            out.append(self.fill(r.choice(titles), domains[0]) + "\n")
        for _ in range(r.randint(1, 5)):
            para = []
            for _ in range(r.randint(2, 7)):
                if r.random() < filler_share:
                    para.append(r.choice(self.filler).strip())
                else:
                    para.append(self.sentence(r.choice(domains)))
            out.append("".join(para) + r.choice(["\n", "\n", ""]))
        return "".join(out)


# ---------------------------------------------------------------- stop-word view

def stop_view(text: str, stop: frozenset[str]) -> str:
    """The text as ChineseWebText 2.0's test file shows it: jieba words, no stop words, no punctuation."""
    import rjieba

    return " ".join(w for w in rjieba.cut(" ".join(text.split()))
                    if w.strip() and w not in stop and not _PUNCT.match(w))


# ---------------------------------------------------------------- build

def gold_labels(spec: dict) -> Callable[[GoldDocument], tuple[str, ...]]:
    """The labels a gold document trains with: every domain that applies, or its primary domain only
    (`labels: primary`)."""
    return (lambda d: (d.domain,)) if spec.get("labels") == "primary" else (lambda d: d.domains)


def build(cfg: dict, data_root: Path) -> Splits:
    """Train/valid examples for `curate train domain`; `cfg` is the config's `data:` mapping."""
    rng = random.Random(cfg.get("seed", 1))
    seeds = load_seeds(cfg)
    wl = WeakLabeler(seeds, **cfg.get("weak", {}))
    max_chars = int(cfg.get("max_chars", 1500))
    items: list[tuple[str, Example]] = []
    sources: Counter[str] = Counter()
    own_prose = [str(x) for x in seeds.get("prose", [])]
    comment_filler: list[str] = []

    def add(source: str, key: str, text: str, forced: tuple[str, ...] = ()) -> None:
        text = text.strip()[:max_chars]
        if len(text) >= int(cfg.get("min_chars", 20)):
            items.append((key, Example(wl.labels(text, forced), text)))
            sources[source] += 1

    def capped(it: Iterator[tuple[str, str]], cap: int | None) -> list[tuple[str, str]]:
        docs = list(it)
        if cap is not None and len(docs) > cap:
            docs = rng.sample(docs, cap)
        return docs

    # 1. social-media comments (COLD): weak labels, and their sentences as filler
    cold = cfg.get("comments") or {}
    if cold and (data_root / cold["path"]).exists():
        rows = [r["TEXT"] for r in _csv_rows(data_root / cold["path"])]
        comment_filler = sorted({s for x in rows for s in _sentences(x)})
        for i, text in capped(iter(enumerate(rows)), cold.get("max_docs")):
            add("comments", f"cold:{i}", text)
    # 2. dialogues
    dia = cfg.get("dialogue") or {}
    readers = {"cped": cped_texts, "smilechat": smilechat_texts, "emollm": emollm_texts}
    for name, reader in readers.items():
        if name in dia and (data_root / dia[name]).exists():
            for key, text in capped(reader(data_root / dia[name]), dia.get("max_docs_each")):
                add(name, key, text, ("dialogue",))
    # the Q&A-page view of help-seeking dialogues (same keys: a dialogue's two forms share a split)
    for name, reader in {"smilechat": smilechat_qa, "emollm": emollm_qa}.items():
        if dia.get("qa_threads") and name in dia and (data_root / dia[name]).exists():
            for key, text in capped(reader(data_root / dia[name]), int(dia["qa_threads"])):
                add(f"{name}_qa", key, text, ("dialogue",))
    # 3. pseudo-documents; filler = own prose, plus a capped sample of COLD sentences
    ps = cfg.get("pseudo") or {}
    n_comment = min(len(comment_filler), int(ps.get("comment_filler", 2000)))
    filler = own_prose + (rng.sample(comment_filler, n_comment) if n_comment else [])
    if ps and filler:
        writer = PseudoWriter(seeds, filler, rng, float(ps.get("keyword_share", 0.2)))
        doms = list(seeds["domains"])
        weights = ps.get("weights") or {}
        for d in doms:
            for j in range(int(int(ps.get("per_label", 1000)) * float(weights.get(d, 1.0)))):
                pick: tuple[str, ...] = (d,)
                if d != FALLBACK and rng.random() < float(ps.get("pair_share", 0.2)):
                    other = rng.choice([x for x in doms if x not in (d, FALLBACK)])
                    pick = (d, other)
                text = writer.document(pick, float(ps.get("filler_share", 0.3)))[:max_chars]
                items.append((f"pseudo:{d}:{j}", Example(pick, text)))
                sources["pseudo"] += 1
    # 4. THUCNews headlines mapped onto the domains (capped per category, so they do not dominate)
    news = headline_examples(cfg.get("headlines") or {}, data_root, rng)
    items += news
    if news:
        sources["headlines"] += len(news)
    # 5. real web documents labelled by reading (the gold file's select part), always in train
    gold = gold_examples(cfg.get("gold") or {}, data_root, gold_labels(cfg.get("gold") or {}), max_chars)
    if gold:
        sources["gold"] += len(gold)
    n_other = len(items)
    items += gold
    # stop-word view of a share of the examples (the test file's form), with the seeds file's own list
    sw = cfg.get("stopword_view") or {}
    share = float(sw.get("share", 0.0))
    if share > 0:
        stop = frozenset(str(w) for w in seeds.get("stopwords", [])) | frozenset(str(w) for w in sw.get("extra", []))
        items = [(k, Example(ex.labels, stop_view(ex.text, stop))) if rng.random() < share else (k, ex)
                 for k, ex in items]
    splits = split_by_key(items[:n_other], float(cfg.get("valid_fraction", 0.1)), salt="domain")
    splits.train += [ex for _, ex in items[n_other:]]
    if cfg.get("shuffle"):  # fastText reads its file in order while the learning rate decays: mix the sources
        rng.shuffle(splits.train)
    splits.notes.update({
        "recipe": "seed-keyword + structural-cue weak labels on COLD comments and CPED/SMILECHAT/EmoLLM dialogues "
                  "(dialogue forced), plus template pseudo-documents written from the seeds file's templates, pools "
                  "and hand-written prose"
                  + ("; THUCNews headlines mapped onto the domains" if news else "")
                  + ("; the web gold set's select part (documents labelled by reading), repeated, all in train"
                     if gold else "; no web/ sample and no outside corpus is used for training")
                  + "; valid is held out of the weak/synthetic/headline labels, so it measures agreement with them, "
                    "not accuracy on real pages (see the card's notes.evaluation)",
        "sources": dict(sorted(sources.items())),
        "seeds": "classifiers/train/" + str(cfg.get("seeds", "domain-seeds.yaml")),
        "stopwords": "hand-written list in the seeds file (`stopwords`)",
        "stopword_view_share": share,
    })
    for key in ("dialogue_rule", "selection", "evaluation", "fresh_test", "feature_choice"):
        if key in cfg:
            splits.notes[key] = cfg[key]
    return splits
