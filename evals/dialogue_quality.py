"""dialogue_quality on a real run of SMILECHAT and EmoLLM (jobs/esc-dialogues.yaml): the rank correlation with
the hand ratings of one part (default `test`, untouched by model selection) against the web quality model's,
the score's distribution per source, risk left unaddressed, and the top and bottom dialogues.

    curate run jobs/esc-dialogues.yaml -o out/esc-dialogues
    python evals/dialogue_quality.py out/esc-dialogues                 # the test part
    python evals/dialogue_quality.py out/esc-dialogues --show 5        # also print the top and bottom 5 (text)

Rated dialogues are found by id (SMILECHAT's own; `emollm-I` = the row of EmoLLM with source_line I); a rated
dialogue the run dropped (a rule, a duplicate) has no score and is counted apart. `curate eval
dialogue_quality --part test` gives the same figure from the trainer's own pipeline (no run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curate.annotations import gold_file, read_rows  # noqa: E402
from curate.models.dialogue_quality_train import spearman  # noqa: E402

GOLD = "dialogue-quality-hand-labels.jsonl"
SIGNALS = ["sig_n_turns", "sig_sup_mean_chars", "sig_sup_question_frac", "sig_sup_slogan_frac", "sig_generic_reply_frac",
           "sig_sup_opening_frac", "sig_strategy_entropy", "risk_unaddressed", "sig_sup_open_questions",
           "sig_sup_content_bigrams", "sig_sup_closing_frac", "sig_sup_list_frac"]
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def gold_id() -> pl.Expr:
    """The id the gold file names a record by: SMILECHAT's own, `emollm-I` for EmoLLM."""
    return (pl.when(pl.col("source") == "emollm").then(pl.format("emollm-{}", pl.col("source_line")))
            .otherwise(pl.col("id")))


def read_run(out: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Kept dialogues (with scores) and the rejected ones (id, source, drop_reason)."""
    cols = ["id", "source", "source_line", "kind", "turns", "quality", "dialogue_quality", *SIGNALS]
    kept = pl.read_parquet(out / "data", columns=cols).filter(pl.col("kind") == "dialogue").with_columns(gold_id=gold_id())
    rejected = (pl.read_parquet(out / "rejects", columns=["id", "source", "source_line", "drop_reason"])
                .with_columns(gold_id=gold_id()))
    return kept, rejected


def rank_table(kept: pl.DataFrame, rejected: pl.DataFrame, part: str) -> str:
    """Spearman of dialogue_quality and of web quality with the ratings of `part`, in all and per source."""
    gold = pl.DataFrame(read_rows(gold_file(GOLD))).filter(pl.col("part") == part)
    joined = gold.join(kept, left_on="dialogue_id", right_on="gold_id", how="inner")
    dropped = gold.join(rejected, left_on="dialogue_id", right_on="gold_id", how="inner")
    lines = [f"part {part}: {gold.height} rated, {joined.height} kept in the run and scored, {dropped.height} dropped "
             f"({dict(dropped['drop_reason'].value_counts().iter_rows()) if dropped.height else {}})",
             f"{'source':<11}{'n':>5}{'dialogue_quality':>18}{'web quality':>13}"]
    groups = [("all", joined), *[(s, joined.filter(pl.col("source") == s)) for s in sorted(set(joined["source"]))]]
    for name, g in groups:
        y = g["rating"].to_numpy().astype(float)
        lines.append(f"{name:<11}{g.height:>5}{spearman(g['dialogue_quality'].to_numpy(), y):>18.4f}"
                     f"{spearman(g['quality'].to_numpy(), y):>13.4f}")
    means = joined.group_by("rating").agg(pl.len(), pl.col("dialogue_quality").mean(), pl.col("quality").mean()).sort("rating")
    lines.append("mean score per rating: " + "; ".join(
        f"{r['rating']}: n={r['len']} dialogue_quality {r['dialogue_quality']:.3f} web {r['quality']:.3f}"
        for r in means.iter_rows(named=True)))
    return "\n".join(lines)


def distribution(kept: pl.DataFrame) -> str:
    """dialogue_quality per source: quantiles, mean, a 10-bin histogram (shares), the share above 0.6, risk."""
    head = "".join(f"{'q' + format(q, 'g'):>7}" for q in QUANTILES)
    lines = [f"{'source':<11}{'n':>7}{'mean':>7}{head}{'>0.6':>7}{'risk_unaddr':>13}"]
    edges = np.linspace(0, 1, 11)
    hists = []
    for src in [*sorted(set(kept["source"])), "all"]:
        g = kept if src == "all" else kept.filter(pl.col("source") == src)
        q = g["dialogue_quality"].drop_nulls().to_numpy()
        risk = int(g["risk_unaddressed"].sum())
        lines.append(f"{src:<11}{len(q):>7}{q.mean():>7.3f}" + "".join(f"{np.quantile(q, p):>7.3f}" for p in QUANTILES)
                     + f"{(q > 0.6).mean():>7.1%}{risk:>7} ({risk / max(g.height, 1):.1%})")
        counts, _ = np.histogram(q, bins=edges)
        hists.append(f"{src:<11}" + " ".join(f"{c / max(len(q), 1):>5.1%}" for c in counts))
    lines += ["histogram (bins of 0.1, 0-0.1 … 0.9-1.0):", *hists]
    return "\n".join(lines)


def extremes(kept: pl.DataFrame, k: int) -> str:
    """The top and bottom `k` dialogues by dialogue_quality, with their signals and the start of their turns."""
    order = kept.filter(pl.col("dialogue_quality").is_not_null()).sort("dialogue_quality", "gold_id")
    out = []
    for title, rows in (("top", order.tail(k).reverse()), ("bottom", order.head(k))):
        out.append(f"--- {title} {k}")
        for r in rows.iter_rows(named=True):
            sig = " ".join(f"{c.removeprefix('sig_')}={r[c]:.2f}" if isinstance(r[c], float) else f"{c.removeprefix('sig_')}={r[c]}"
                           for c in SIGNALS)
            out.append(f"{r['gold_id']} ({r['source']}) dialogue_quality={r['dialogue_quality']:.3f} web={r['quality']:.3f} {sig}")
            for t in r["turns"][:6]:
                out.append(f"    {t['role']:>9}: {t['text'][:110]!r}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="output folder of a run of jobs/esc-dialogues.yaml")
    ap.add_argument("--part", default="test", choices=["select", "test"])
    ap.add_argument("--show", type=int, default=0, metavar="K", help="print the top and bottom K dialogues")
    args = ap.parse_args()
    kept, rejected = read_run(args.run)
    manifest = json.loads((args.run / "manifest.json").read_text(encoding="utf-8"))
    print(rank_table(kept, rejected, args.part), "", distribution(kept), sep="\n")
    print("generic replies:", manifest.get("dialogue_quality", {}).get("generic_replies"))
    if args.show:
        print(extremes(kept, args.show))


if __name__ == "__main__":
    main()
