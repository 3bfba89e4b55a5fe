"""Near-duplicate benchmark generator: real Chinese text with controlled edits and exact ground truth.

Builds a labelled near-duplicate set from real text in ``../shared/data`` (read in place, never copied
into the repo):

* **sources** (``--sources``, default 2,000): SMILECHAT dialogues (turn contents joined with newlines),
  CWT CommonCrawl pages (``raw_content``), EmoLLM conversations (the ``output`` turns joined) and CPED
  dialogues (utterances joined); texts under 150 compact characters are skipped and sources are
  deduplicated by exact (and by compact) text. Every source is in the set as itself (``edit: original``);
  sources without variants are the unrelated documents (negatives).
* **variants**: a seeded subset of the sources (``--variant-frac``) is split evenly over eight edit
  families; a source gets every variant of its family (``--per-source one``: one of them), one edit
  type each:

  ====================  =====================================================================
  family                variants (``edit`` @ ``rate``)
  ====================  =====================================================================
  sub / ins / del       character substitution / insertion / deletion @ 1, 3, 5, 10, 20 %
                        of the non-space characters (new characters drawn from the corpus'
                        own character distribution)
  reorder               sentences (split after 。！？ and newlines) @ 25, 50, 100 % of them
                        permuted among their positions
  boiler_add            ``boiler_add_header`` @ 60 chars, ``boiler_add_footer`` @ 60 and
                        200 chars (one fixed header and one fixed footer for the whole set)
  boiler_drop           ``boiler_drop_first`` / ``boiler_drop_last`` / ``boiler_drop_both``
                        @ 1 sentence
  truncate              keep the first 95, 90, 80, 60 % of the characters
  copy                  ``exact`` (identical text) and ``whitespace`` (only spaces/newlines
                        changed: identical once compacted)
  ====================  =====================================================================

* **hard negatives** (``--hard-negatives`` pairs): two different short documents (CPED/EmoLLM texts
  that are not sources) sharing one long block of real text (from unused SMILECHAT dialogues) as
  header or footer, sized so that the pair's Jaccard is about 0.5, 0.6, 0.7 or 0.75.

Ground truth is the Jaccard similarity of character 5-gram sets of the *compact* text, the way curate
compares texts (lower-cased, all whitespace removed; a text shorter than 5 characters is its own single
shingle). ``pairs.jsonl`` holds every pair inside a source group (an original and its variants) and every
other pair with Jaccard >= ``--gt-floor`` (default 0.5), found exactly by an all-pairs similarity join with
prefix filtering (no sampling, no MinHash), so recall can be measured against all of them.

Outputs in ``--out`` (default ``out/neardup``, git-ignored):

* ``docs.jsonl``: ``{"id", "text", "source_id", "edit", "rate", "family", "corpus"}`` (plus ``hn_pair`` for
  hard negatives);
* ``pairs.jsonl``: ``{"a", "b", "jaccard", "category", "edit", "rate"}`` with ``a < b``; category is
  ``orig-variant`` (edit/rate of the variant), ``variant-variant`` (edit = the family), ``hard_negative``
  or ``cross`` (two different sources);
* ``meta.json``: parameters, composition and timings.

Usage::

    python evals/neardup_gen.py [--out out/neardup] [--sources 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import polars as pl

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NGRAM = 5
MIN_CHARS = 150

FAMILIES: dict[str, list[tuple[str, float]]] = {
    "sub": [("sub", r) for r in (0.01, 0.03, 0.05, 0.10, 0.20)],
    "ins": [("ins", r) for r in (0.01, 0.03, 0.05, 0.10, 0.20)],
    "del": [("del", r) for r in (0.01, 0.03, 0.05, 0.10, 0.20)],
    "reorder": [("reorder", r) for r in (0.25, 0.5, 1.0)],
    "boiler_add": [("boiler_add_header", 60), ("boiler_add_footer", 60), ("boiler_add_footer", 200)],
    "boiler_drop": [("boiler_drop_first", 1), ("boiler_drop_last", 1), ("boiler_drop_both", 1)],
    "truncate": [("truncate", r) for r in (0.95, 0.90, 0.80, 0.60)],
    "copy": [("exact", 0), ("whitespace", 0)],
}
HARD_NEGATIVE_TARGETS = (0.5, 0.6, 0.7, 0.75)

# One fixed header and one fixed footer (typical reposting notice / site disclaimer), cut to N characters.
HEADER = (
    "【转载说明】本文转载自网络公开平台，仅供学习交流使用，版权归原作者所有，如有侵权请联系我们删除。"
    "编者按：以下内容经过整理，部分细节有所改动，读者可以结合自身情况参考。以下为正文内容："
)
FOOTER = (
    "免责声明：本站部分内容来源于网络，文章观点仅代表作者本人，不代表本站立场。本站仅提供信息存储空间服务，"
    "不拥有所有权，不承担相关法律责任。如发现本站有涉嫌抄袭侵权或违法违规的内容，请发送邮件至客服邮箱举报，"
    "一经查实，本站将立刻删除。欢迎关注我们的微信公众号，每天为您推送心理健康知识、情绪管理技巧与成长故事。"
    "扫描下方二维码即可添加在线咨询师，获取一对一的专业心理支持服务。版权所有，未经许可不得转载，违者必究。"
    "联系电话：四零零八八八六六六六，工作时间：周一至周五上午九点至下午六点，节假日休息。"
)

_WS = re.compile(r"\s+")
_SENTENCE = re.compile(r"[^。！？\n]*[。！？\n]+|[^。！？\n]+$")


# ---------------------------------------------------------------- shingles and exact Jaccard


def compact(text: str) -> str:
    """Lower-cased text with all whitespace removed: what the 5-grams are taken from."""
    return _WS.sub("", text.lower())


def shingles(text: str, n: int = NGRAM) -> set[str]:
    """Character n-grams of the compact text; a compact text shorter than n is its own single shingle."""
    c = compact(text)
    if len(c) < n:
        return {c} if c else set()
    return {c[i : i + n] for i in range(len(c) - n + 1)}


def jaccard(a: frozenset[int] | set[int], b: frozenset[int] | set[int]) -> float:
    """Exact Jaccard similarity of two sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class ShingleIndex:
    """Every document's shingle set as a frozenset of integer token ids (one shared vocabulary)."""

    def __init__(self, texts: Sequence[str], n: int = NGRAM) -> None:
        vocab: dict[str, int] = {}
        self.sets: list[frozenset[int]] = []
        for t in texts:
            self.sets.append(frozenset(vocab.setdefault(s, len(vocab)) for s in shingles(t, n)))
        self.vocab_size = len(vocab)

    def jaccard(self, i: int, j: int) -> float:
        """Exact Jaccard similarity of documents i and j."""
        return jaccard(self.sets[i], self.sets[j])

    def similar_pairs(self, floor: float) -> list[tuple[int, int, float]]:
        """Every pair (i < j) with Jaccard >= floor: an exact all-pairs join with prefix filtering.

        Tokens are ordered by global document frequency (rarest first); a pair with Jaccard >= t shares
        at least ceil(t·|x|) tokens, so it shares a token among the first |x| - ceil(t·|x|) + 1 of each
        side. Candidates from the prefixes are then verified exactly.
        """
        if not self.sets:
            return []
        lens = np.array([len(s) for s in self.sets], dtype=np.int64)
        flat = np.fromiter((t for s in self.sets for t in s), dtype=np.int64, count=int(lens.sum()))
        doc = np.repeat(np.arange(len(self.sets), dtype=np.int64), lens)
        df = np.bincount(flat, minlength=self.vocab_size)
        order = np.lexsort((flat, df[flat], doc))  # by doc, then rarity, then token id
        flat, doc = flat[order], doc[order]
        starts = np.zeros(len(lens) + 1, dtype=np.int64)
        np.cumsum(lens, out=starts[1:])
        need = np.ceil(floor * lens - 1e-9).astype(np.int64)
        prefix = np.where(lens > 0, lens - need + 1, 0)
        rank = np.arange(len(flat), dtype=np.int64) - starts[:-1][doc]
        keep = rank < prefix[doc]
        rows = pl.DataFrame({"tok": flat[keep], "doc": doc[keep]})
        cand = (
            rows.join(rows, on="tok", suffix="_b")
            .filter(pl.col("doc") < pl.col("doc_b"))
            .select("doc", "doc_b")
            .unique()
        )
        out = []
        for i, j in cand.iter_rows():
            jac = self.jaccard(i, j)
            if jac >= floor:
                out.append((i, j, jac))
        return sorted(out)


# ---------------------------------------------------------------- sources


@dataclass
class Doc:
    """One document of the benchmark."""

    id: str
    text: str
    source_id: str
    edit: str
    rate: float
    family: str
    corpus: str
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The JSONL record."""
        d = {k: v for k, v in asdict(self).items() if k != "extra"}
        d.update(self.extra)
        return d


def load_corpora(shared: Path = SHARED) -> dict[str, list[str]]:
    """Real texts per corpus, in file order (SMILECHAT, CWT, EmoLLM, CPED)."""
    out: dict[str, list[str]] = {}
    with open(shared / "smilechat" / "dialogues.jsonl", encoding="utf-8") as f:
        out["smilechat"] = ["\n".join(t["content"] for t in json.loads(line)["turns"]) for line in f if line.strip()]
    with open(shared / "web" / "cwt-commoncrawl-sample.jsonl", encoding="utf-8") as f:
        out["cwt"] = [json.loads(line)["raw_content"] for line in f if line.strip()]
    with open(shared / "emollm" / "data.json", encoding="utf-8") as f:
        out["emollm"] = ["\n".join(t["output"] for t in d["conversation"]) for d in json.load(f)]
    dialogues: dict[str, list[str]] = defaultdict(list)
    for name in ("train.csv", "valid.csv"):
        with open(shared / "cped" / name, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                dialogues[row["Dialogue_ID"]].append(row["Utterance"])
    out["cped"] = ["\n".join(u) for u in dialogues.values()]
    return out


def eligible(corpora: dict[str, list[str]]) -> dict[str, list[str]]:
    """Texts of at least MIN_CHARS compact characters, unique by exact and by compact text across corpora."""
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for name, texts in corpora.items():
        keep = []
        for t in texts:
            c = compact(t)
            if len(c) < MIN_CHARS or t in seen or c in seen:
                continue
            seen.update((t, c))
            keep.append(t)
        out[name] = keep
    return out


def quotas(n: int, available: dict[str, int]) -> dict[str, int]:
    """Sources per corpus: all of CWT (up to 5 %), 15 % CPED, 25 % EmoLLM, the rest SMILECHAT."""
    q = {"cwt": min(available["cwt"], round(0.05 * n)), "cped": min(available["cped"], round(0.15 * n)),
         "emollm": min(available["emollm"], round(0.25 * n))}
    q["smilechat"] = min(available["smilechat"], n - sum(q.values()))
    return q


# ---------------------------------------------------------------- edits


def _positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if not ch.isspace()]


def char_edit(text: str, kind: str, rate: float, rng: random.Random, alphabet: Sequence[str]) -> str:
    """Substitute / insert / delete round(rate × non-space characters) characters at random places."""
    pos = _positions(text)
    k = max(1, round(rate * len(pos)))
    chars = list(text)
    if kind == "sub":
        for i in rng.sample(pos, min(k, len(pos))):
            new = rng.choice(alphabet)
            while new == chars[i]:
                new = rng.choice(alphabet)
            chars[i] = new
        return "".join(chars)
    if kind == "del":
        drop = set(rng.sample(pos, min(k, len(pos))))
        return "".join(ch for i, ch in enumerate(chars) if i not in drop)
    if kind == "ins":
        inserts: dict[int, list[str]] = defaultdict(list)
        for _ in range(k):
            inserts[rng.randint(0, len(chars))].append(rng.choice(alphabet))
        out: list[str] = []
        for i in range(len(chars) + 1):
            out.extend(inserts.get(i, ()))
            if i < len(chars):
                out.append(chars[i])
        return "".join(out)
    raise ValueError(kind)


def sentences(text: str) -> list[str]:
    """Sentences with their closing punctuation / newline attached (they concatenate back to the text)."""
    return [s for s in _SENTENCE.findall(text) if s]


def reorder(text: str, frac: float, rng: random.Random) -> str | None:
    """Permute round(frac × sentences) (at least 2) sentences among their own positions; None if < 2."""
    sents = sentences(text)
    if len(sents) < 2:
        return None
    if sents[-1][-1] not in "。！？\n":  # a moved last sentence must not glue onto the next one's start
        sents[-1] += "\n"
    k = min(len(sents), max(2, round(frac * len(sents))))
    idx = sorted(rng.sample(range(len(sents)), k))
    perm = idx[:]
    while perm == idx:
        rng.shuffle(perm)
    out = sents[:]
    for dst, src in zip(idx, perm, strict=True):
        out[dst] = sents[src]
    new = "".join(out)
    return new if new != text else None


def drop_sentences(text: str, which: str) -> str | None:
    """Drop the first, the last or both sentences (None if that leaves fewer than 2 sentences)."""
    sents = sentences(text)
    if len(sents) < 4:
        return None
    if which == "first":
        return "".join(sents[1:])
    if which == "last":
        return "".join(sents[:-1])
    return "".join(sents[1:-1])


def whitespace_only(text: str, rng: random.Random) -> str:
    """Change only whitespace: double some line breaks, add spaces after some commas and full stops."""
    out = []
    for ch in text:
        out.append(ch)
        if ch == "\n" and rng.random() < 0.5:
            out.append("\n")
        elif ch in "，。" and rng.random() < 0.3:
            out.append(" ")
    new = "".join(out).replace("\n", "  \n", 1)
    return new if new != text else new + " "


def make_variant(text: str, edit: str, rate: float, rng: random.Random, alphabet: Sequence[str]) -> str | None:
    """Apply one edit; None when it does not apply to this text (too few sentences)."""
    if edit in ("sub", "ins", "del"):
        return char_edit(text, edit, rate, rng, alphabet)
    if edit == "reorder":
        return reorder(text, rate, rng)
    if edit == "boiler_add_header":
        return HEADER[: int(rate)] + "\n" + text
    if edit == "boiler_add_footer":
        return text + "\n" + FOOTER[: int(rate)]
    if edit.startswith("boiler_drop_"):
        return drop_sentences(text, edit.removeprefix("boiler_drop_"))
    if edit == "truncate":
        return text[: round(rate * len(text))]
    if edit == "exact":
        return text
    if edit == "whitespace":
        return whitespace_only(text, rng)
    raise ValueError(edit)


# ---------------------------------------------------------------- build


def build(n_sources: int, seed: int, variant_frac: float, hard_negatives: int,
          shared: Path = SHARED, per_source: str = "all") -> tuple[list[Doc], dict[str, object]]:
    """The benchmark documents and a composition summary (deterministic for a seed).

    per_source "all": a variant source gets every variant of its family; "one": a single one of them
    (groups of two documents, so no clustering chains inside a group).
    """
    rng = random.Random(seed)
    pool = eligible(load_corpora(shared))
    q = quotas(n_sources, {k: len(v) for k, v in pool.items()})
    chosen: dict[str, list[str]] = {}
    rest: dict[str, list[str]] = {}
    for name in ("smilechat", "cwt", "emollm", "cped"):
        texts = pool[name][:]
        rng.shuffle(texts)
        chosen[name], rest[name] = texts[: q[name]], texts[q[name] :]
    counts = Counter(ch for texts in chosen.values() for t in texts for ch in t if not ch.isspace())
    alphabet = sorted(counts)
    weights = [counts[c] for c in alphabet]
    sample_alphabet = rng.choices(alphabet, weights=weights, k=200_000)  # corpus' own character distribution

    docs: list[Doc] = []
    sources = [(name, t) for name in ("smilechat", "cwt", "emollm", "cped") for t in chosen[name]]
    rng.shuffle(sources)
    for i, (name, text) in enumerate(sources):
        docs.append(Doc(f"s{i:05d}", text, f"s{i:05d}", "original", 0.0, "original", name))
    n_var = round(variant_frac * len(sources))
    fams = list(FAMILIES)
    skipped: Counter[str] = Counter()
    for k, i in enumerate(sorted(rng.sample(range(len(sources)), n_var))):
        fam = fams[k % len(fams)]
        name, text = sources[i]
        sid = f"s{i:05d}"
        variants = FAMILIES[fam] if per_source == "all" else [rng.choice(FAMILIES[fam])]
        for edit, rate in variants:
            new = make_variant(text, edit, rate, rng, sample_alphabet)
            if new is None or not compact(new):
                skipped[f"{edit}@{rate:g}"] += 1
                continue
            docs.append(Doc(f"{sid}.{edit}.{rate:g}", new, sid, edit, float(rate), fam, name))

    # hard negatives: two short unrelated texts sharing one long block of real text
    shorts = [(n, t) for n in ("cped", "emollm") for t in rest[n] if len(compact(t)) <= 600]
    rng.shuffle(shorts)
    blocks = rest["smilechat"][:]
    rng.shuffle(blocks)
    for p in range(min(hard_negatives, len(shorts) // 2)):
        (na, ta), (nb, tb) = shorts[2 * p], shorts[2 * p + 1]
        target = HARD_NEGATIVE_TARGETS[p % len(HARD_NEGATIVE_TARGETS)]
        size = math.ceil(target / (1 - target) * (len(compact(ta)) + len(compact(tb))))
        block = ""
        while len(compact(block)) < size and blocks:
            block += blocks.pop() + "\n"
        block = block[:size]
        for side, (nm, t) in zip("ab", ((na, ta), (nb, tb)), strict=True):
            text = t + "\n" + block if p % 2 == 0 else block + "\n" + t
            hid = f"h{p:04d}{side}"
            docs.append(Doc(hid, text, hid, "hard_negative", target, "hard_negative", nm, {"hn_pair": f"h{p:04d}"}))

    summary = {
        "sources": dict(Counter(d.corpus for d in docs if d.edit == "original")),
        "variant_sources": n_var,
        "variants_by_edit": {f"{e}@{r:g}": c for (e, r), c in sorted(Counter(
            (d.edit, d.rate) for d in docs if d.family not in ("original", "hard_negative")).items())},
        "variants_skipped": dict(skipped),
        "hard_negative_docs": sum(d.edit == "hard_negative" for d in docs),
        "documents": len(docs),
    }
    return docs, summary


def ground_truth(docs: Sequence[Doc], floor: float) -> tuple[list[dict[str, object]], dict[str, float]]:
    """Pairs: every pair inside a source group and hard-negative pair, plus every other pair with Jaccard >= floor."""
    t0 = time.perf_counter()
    index = ShingleIndex([d.text for d in docs])
    t1 = time.perf_counter()
    similar = index.similar_pairs(floor)
    t2 = time.perf_counter()
    groups: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        groups[d.source_id].append(i)
        if d.extra.get("hn_pair"):
            groups[str(d.extra["hn_pair"])].append(i)
    pairs: dict[tuple[str, str], dict[str, object]] = {}
    for members in groups.values():
        for i, j in combinations(members, 2):
            pairs[_key(docs[i].id, docs[j].id)] = pair_record(docs[i], docs[j], index.jaccard(i, j))
    for i, j, jac in similar:
        key = _key(docs[i].id, docs[j].id)
        if key not in pairs:
            pairs[key] = pair_record(docs[i], docs[j], jac)
    timings = {"shingles_s": t1 - t0, "all_pairs_join_s": t2 - t1, "group_pairs_s": time.perf_counter() - t2}
    return [pairs[k] for k in sorted(pairs)], timings


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def pair_record(x: Doc, y: Doc, jac: float) -> dict[str, object]:
    """One ground-truth pair, with its category and the edit it measures."""
    a, b = (x, y) if x.id < y.id else (y, x)
    if a.source_id == b.source_id:
        if a.edit == "original" or b.edit == "original":
            v = b if a.edit == "original" else a
            cat, edit, rate = "orig-variant", v.edit, v.rate
        else:
            cat, edit, rate = "variant-variant", a.family, 0.0
    elif a.extra.get("hn_pair") and a.extra.get("hn_pair") == b.extra.get("hn_pair"):
        cat, edit, rate = "hard_negative", "hard_negative", a.rate
    else:
        cat, edit, rate = "cross", "cross", 0.0
    return {"a": a.id, "b": b.id, "jaccard": jac, "category": cat, "edit": edit, "rate": rate}


def write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> None:
    """Write rows as UTF-8 JSON lines."""
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: build the set and write docs.jsonl, pairs.jsonl and meta.json."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/neardup", help="output folder (default out/neardup)")
    ap.add_argument("--sources", type=int, default=2000, help="number of source documents (default 2000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--variant-frac", type=float, default=0.45,
                    help="share of sources that get variants (default 0.45)")
    ap.add_argument("--hard-negatives", type=int, default=40, help="hard-negative pairs (default 40)")
    ap.add_argument("--gt-floor", type=float, default=0.5,
                    help="cross-source pairs at or above this Jaccard go into pairs.jsonl (default 0.5)")
    ap.add_argument("--per-source", choices=["all", "one"], default="all",
                    help="variants per variant source: all of its family's (default) or one of them")
    ap.add_argument("--shared", default=str(SHARED), help="shared data folder (default ../shared/data)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    docs, summary = build(args.sources, args.seed, args.variant_frac, args.hard_negatives, Path(args.shared),
                          args.per_source)
    t1 = time.perf_counter()
    pairs, gt_timings = ground_truth(docs, args.gt_floor)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "docs.jsonl", (d.to_json() for d in docs))
    write_jsonl(out / "pairs.jsonl", pairs)
    cats = Counter(p["category"] for p in pairs)
    pos = Counter(p["category"] for p in pairs if float(p["jaccard"]) >= 0.8)  # type: ignore[arg-type]
    meta = {
        "params": vars(args) | {"ngram": NGRAM, "min_chars": MIN_CHARS},
        "composition": summary,
        "pairs": {"total": len(pairs), "by_category": dict(cats), "jaccard_ge_0.8_by_category": dict(pos)},
        "timings": {"build_s": round(t1 - t0, 2), **{k: round(v, 2) for k, v in gt_timings.items()},
                    "total_s": round(time.perf_counter() - t0, 2)},
    }
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(meta, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
