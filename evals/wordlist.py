"""Compare curate's own sensitive-word lists with the ChineseWebText 2.0 sensitive dictionary.

Loads the categorised lists in ``rules/words/*.txt`` (one word per line, ``#`` comments) and the
CWT2 dictionary ``../shared/data/web/cwt2-sensitive-dict.txt`` (``category<TAB>word``, read in
place, never copied into the repo), then scans shared corpora — the CWT CommonCrawl sample
(``raw_content``), the CWT quality clean/dirty examples (``text``), SMILECHAT dialogues, the COLD
dev set (``TEXT``) and, as extra ordinary-dialogue controls, EmoLLM and CPED-valid — and prints,
per source:

* documents hit by our lists, by theirs, and by both;
* per our category, the number of documents hit;
* the "sensitive words per line" statistic of ChineseWebText 2.0 — distinct words present in a
  document divided by its number of non-empty lines — summarised as mean / p90 / max over all
  documents and as the number of documents above the 0.5 threshold, for ours and for theirs.

It also prints the overlap of the two word sets and, with ``--top N``, the words of ours that hit
most documents per source (useful to spot entries that fire on ordinary text).

Matching is case-insensitive substring matching with Aho-Corasick (``ahocorasick_rs``, overlapping
matches) and counts DISTINCT words per document.

Usage::

    python evals/wordlist.py [--top 10] [--threshold 0.5]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick_rs

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WORDS_DIR = REPO_ROOT / "rules" / "words"
THEIR_DICT = SHARED / "web" / "cwt2-sensitive-dict.txt"


def normalise(word: str) -> str:
    """Normalise a word or a text for matching (strip, lower-case Latin letters)."""
    return word.strip().lower()


def load_ours(words_dir: Path = WORDS_DIR) -> dict[str, list[str]]:
    """Return ``{category: [word, ...]}`` from ``words_dir/*.txt`` (file stem = category)."""
    lists: dict[str, list[str]] = {}
    for path in sorted(words_dir.glob("*.txt")):
        words: list[str] = []
        seen: set[str] = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            word = normalise(line)
            if not word or word.startswith("#") or word in seen:
                continue
            seen.add(word)
            words.append(word)
        lists[path.stem] = words
    if not lists:
        raise FileNotFoundError(f"no word lists found in {words_dir}")
    return lists


def load_theirs(path: Path = THEIR_DICT) -> dict[str, list[str]]:
    """Return ``{category: [word, ...]}`` from a ``category<TAB>word`` file."""
    lists: dict[str, list[str]] = {}
    seen: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        category, word = line.split("\t", 1)
        word = normalise(word)
        if not word or word in seen:
            continue
        seen.add(word)
        lists.setdefault(category.strip(), []).append(word)
    return lists


class Matcher:
    """Distinct-word matcher over a categorised word list."""

    def __init__(self, lists: dict[str, list[str]]) -> None:
        self.words: list[str] = []
        self.categories: list[set[str]] = []
        index: dict[str, int] = {}
        for category, words in lists.items():
            for word in words:
                if word not in index:
                    index[word] = len(self.words)
                    self.words.append(word)
                    self.categories.append(set())
                self.categories[index[word]].add(category)
        self.automaton = ahocorasick_rs.AhoCorasick(self.words)

    def distinct(self, text: str) -> set[int]:
        """Return the indices of the distinct words present in ``text``."""
        matches = self.automaton.find_matches_as_indexes(normalise(text), overlapping=True)
        return {pattern for pattern, _start, _end in matches}


def n_lines(text: str) -> int:
    """Number of non-empty lines of ``text`` (at least 1)."""
    return max(1, sum(1 for line in text.splitlines() if line.strip()))


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def iter_commoncrawl(path: Path) -> Iterator[str]:
    """CWT CommonCrawl sample: field ``raw_content``."""
    for row in _jsonl(path):
        yield row.get("raw_content") or ""


def iter_text_field(path: Path) -> Iterator[str]:
    """CWT quality files: field ``text``."""
    for row in _jsonl(path):
        yield row.get("text") or ""


def iter_dialogues(path: Path) -> Iterator[str]:
    """SMILECHAT dialogues: one line per turn ``content``."""
    for row in _jsonl(path):
        yield "\n".join(turn.get("content") or "" for turn in row.get("turns", []))


def iter_emollm(path: Path) -> Iterator[str]:
    """EmoLLM dialogues (XTuner format): one line per ``input`` / ``output``."""
    for item in json.loads(path.read_text(encoding="utf-8")):
        lines = [turn.get(key) or "" for turn in item.get("conversation", []) for key in ("input", "output")]
        yield "\n".join(lines)


def iter_cped(path: Path) -> Iterator[str]:
    """CPED TV dialogues: rows grouped by ``Dialogue_ID``, one line per ``Utterance``."""
    with path.open(encoding="utf-8", newline="") as fh:
        current, lines = None, []
        for row in csv.DictReader(fh):
            if row["Dialogue_ID"] != current and lines:
                yield "\n".join(lines)
                lines = []
            current = row["Dialogue_ID"]
            lines.append(row.get("Utterance") or "")
        if lines:
            yield "\n".join(lines)


def iter_cold(path: Path) -> Iterator[str]:
    """COLD dev set: column ``TEXT``."""
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            yield row.get("TEXT") or ""


SOURCES: list[tuple[str, Path, Callable[[Path], Iterator[str]]]] = [
    ("cwt-commoncrawl", SHARED / "web" / "cwt-commoncrawl-sample.jsonl", iter_commoncrawl),
    ("cwt-quality-clean", SHARED / "web" / "cwt-quality-clean.jsonl", iter_text_field),
    ("cwt-quality-dirty", SHARED / "web" / "cwt-quality-dirty.jsonl", iter_text_field),
    ("smilechat", SHARED / "smilechat" / "dialogues.jsonl", iter_dialogues),
    ("cold-dev", SHARED / "cold" / "dev.csv", iter_cold),
    # extra ordinary-dialogue sources, to check that our lists stay quiet on clean text
    ("emollm", SHARED / "emollm" / "data.json", iter_emollm),
    ("cped-valid", SHARED / "cped" / "valid.csv", iter_cped),
]


@dataclass
class SourceStats:
    """Per-source counters."""

    name: str
    docs: int = 0
    hit_ours: int = 0
    hit_theirs: int = 0
    hit_both: int = 0
    over_ours: int = 0
    over_theirs: int = 0
    ratios_ours: list[float] = field(default_factory=list)
    ratios_theirs: list[float] = field(default_factory=list)
    per_category: Counter = field(default_factory=Counter)
    per_word: Counter = field(default_factory=Counter)


def evaluate(name: str, docs: Iterator[str], ours: Matcher, theirs: Matcher, threshold: float) -> SourceStats:
    """Scan ``docs`` with both matchers and collect the statistics of one source."""
    stats = SourceStats(name)
    for text in docs:
        stats.docs += 1
        lines = n_lines(text)
        found_ours = ours.distinct(text)
        found_theirs = theirs.distinct(text)
        r_ours = len(found_ours) / lines
        r_theirs = len(found_theirs) / lines
        stats.ratios_ours.append(r_ours)
        stats.ratios_theirs.append(r_theirs)
        stats.hit_ours += bool(found_ours)
        stats.hit_theirs += bool(found_theirs)
        stats.hit_both += bool(found_ours) and bool(found_theirs)
        stats.over_ours += r_ours > threshold
        stats.over_theirs += r_theirs > threshold
        categories: set[str] = set()
        for idx in found_ours:
            categories |= ours.categories[idx]
            stats.per_word[ours.words[idx]] += 1
        stats.per_category.update(categories)
    return stats


def _summary(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"{statistics.fmean(ordered):.3f}/{p90:.3f}/{ordered[-1]:.2f}"


def print_table(rows: list[SourceStats], categories: list[str], threshold: float) -> None:
    """Print the per-source comparison table and the per-category table."""
    head = (
        f"{'source':<18}{'docs':>7}{'ours':>7}{'theirs':>8}{'both':>7}"
        f"{'>' + str(threshold) + ' ours':>11}{'>' + str(threshold) + ' theirs':>13}"
        f"  {'swpl ours mean/p90/max':<24}swpl theirs mean/p90/max"
    )
    print(head)
    print("-" * len(head))
    for s in rows:
        print(
            f"{s.name:<18}{s.docs:>7}{s.hit_ours:>7}{s.hit_theirs:>8}{s.hit_both:>7}"
            f"{s.over_ours:>11}{s.over_theirs:>13}"
            f"  {_summary(s.ratios_ours):<24}{_summary(s.ratios_theirs)}"
        )
    print()
    head = f"{'docs hit per our category':<26}" + "".join(f"{c:>10}" for c in categories)
    print(head)
    print("-" * len(head))
    for s in rows:
        print(f"{s.name:<26}" + "".join(f"{s.per_category[c]:>10}" for c in categories))


def print_overlap(ours: dict[str, list[str]], theirs: dict[str, list[str]]) -> None:
    """Print how many of our words also appear (exactly) in their dictionary."""
    their_words = {w: c for c, ws in theirs.items() for w in ws}
    total_ours = len({w for ws in ours.values() for w in ws})
    shared = {w for ws in ours.values() for w in ws if w in their_words}
    print(
        f"word sets: ours {total_ours} distinct, theirs {len(their_words)} distinct, "
        f"shared {len(shared)} ({len(shared) / max(1, total_ours):.1%} of ours)"
    )
    print("their categories: " + ", ".join(f"{c} {len(ws)}" for c, ws in theirs.items()))
    for category, words in ours.items():
        inter = [w for w in words if w in their_words]
        where = Counter(their_words[w] for w in inter)
        detail = ", ".join(f"{c} {n}" for c, n in where.most_common())
        print(
            f"  {category:<10}{len(words):>5} words, {len(inter):>4} in theirs"
            + (f" ({detail})" if detail else "")
        )


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--words-dir", type=Path, default=WORDS_DIR)
    parser.add_argument("--their-dict", type=Path, default=THEIR_DICT)
    parser.add_argument("--threshold", type=float, default=0.5, help="sensitive-words-per-line cut-off")
    parser.add_argument("--top", type=int, default=0, help="show the N most frequent of our words per source")
    args = parser.parse_args(argv)

    ours_lists = load_ours(args.words_dir)
    theirs_lists = load_theirs(args.their_dict)
    ours = Matcher(ours_lists)
    theirs = Matcher(theirs_lists)

    print_overlap(ours_lists, theirs_lists)
    print()

    rows: list[SourceStats] = []
    for name, path, reader in SOURCES:
        if not path.exists():
            print(f"[skip] {name}: {path} not found")
            continue
        rows.append(evaluate(name, reader(path), ours, theirs, args.threshold))
    print_table(rows, list(ours_lists), args.threshold)

    if args.top:
        print()
        for s in rows:
            top = ", ".join(f"{w} {n}" for w, n in s.per_word.most_common(args.top))
            print(f"top words {s.name}: {top or '-'}")


if __name__ == "__main__":
    main()
