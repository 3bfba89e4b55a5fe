"""Synthetic shard rows for the stats and dashboard tests: every kind of column the stats read, nulls included."""

from __future__ import annotations

import random

import pyarrow as pa

from curate.schema import arrow_schema, label_set

REASONS = [None, None, None, "cwt_too_short", "fw2_dup_lines", "exact_duplicate", "near_duplicate", "malformed_input"]


def make_rows(n: int, seed: int = 0, *, quality_shift: float = 0.0, source: str = "src") -> list[dict]:
    """n records, web and dialogue, kept and rejected, with scores, tags, turns, speakers and signals."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        reason = rnd.choice(REASONS)
        kind = "dialogue" if i % 3 == 0 else "web"
        kept = reason is None
        text = "这是一段文字。" * rnd.randint(1, 80)
        row = {
            "id": f"{source}-{seed}-{i}", "kind": kind, "source": source, "source_file": f"/data/{source}.jsonl",
            "source_line": i + 1, "text": text, "drop_reason": reason,
            "drop_detail": f"line {i}: <b>detail</b>" if reason else None,
            "rule_flags": [reason] if reason and not reason.endswith("duplicate") else [],
            "norm_flags": rnd.choice([[], ["nfkc"], ["nfkc", "whitespace_collapsed"]]),
            "sig_char_len": len(text), "sig_n_lines": rnd.randint(1, 40),
            "sig_zh_char_ratio": rnd.choice([rnd.random(), 1.0, 0.0, float("nan"), None]),
            "sig_top_2gram_frac": rnd.random() * 3,  # beyond the last edge sometimes
            "sig_newline_ratio": rnd.choice([rnd.random() * 0.3, float("inf"), -1.0]),
            "sig_has_traditional": rnd.choice([True, False, None]),
            "exact_hash": rnd.getrandbits(63),
            "dup_cluster": f"c{i}" if kept and rnd.random() < 0.2 else None,
            "contaminated_by": ("dev.jsonl", "test.csv")[i % 2] if i % 11 == 5 else None,  # kept or not: mode flag
            "schema_version": "1.0.0", "pipeline_version": "0.1.0",
        }
        if kept:
            q = min(max(rnd.random() + quality_shift, 0.0), 1.0)
            row |= {"quality": q, "toxicity": rnd.random(), "esc_relevance": rnd.random(), "toxic": rnd.random() < 0.1,
                    "domain": rnd.choice(label_set("domain")), "emotion": rnd.choice(label_set("emotion")),
                    "sentiment": rnd.choice(label_set("sentiment")),
                    "domain_scores": [rnd.random() for _ in label_set("domain")],
                    "emotion_scores": [rnd.random() for _ in label_set("emotion")]}
        if kind == "dialogue":
            turns = []
            for t in range(rnd.randint(2, 15)):
                role = "seeker" if t % 2 == 0 else "supporter"
                risk = rnd.choice(["none"] * 6 + ["concern", "high"]) if kept and role == "seeker" else None
                text = "嗯" * rnd.randint(0, 300)
                turns.append({"speaker": f"p{t % 2}", "role": role, "role_raw": role, "text": text,
                              "emotion": rnd.choice(label_set("emotion")) if kept else None,
                              "dialogue_act": rnd.choice(label_set("dialogue_act")) if kept else None,
                              "strategy": rnd.choice(label_set("strategy")) if kept and role == "supporter" else None,
                              "risk": risk, "risk_span": [0, min(5, len(text))] if risk in ("concern", "high") else None})
            if kept:  # the record's risk: its seeker turns' highest, and the first turn at it
                order = ["none", "concern", "high"]
                seeker = [(i, t) for i, t in enumerate(turns) if t["risk"] is not None]
                best = max(seeker, key=lambda it: (order.index(it[1]["risk"]), -it[0]))
                row |= {"risk": best[1]["risk"], "risk_evidence": None if best[1]["risk"] == "none" else
                        {"turn": best[0], "start": best[1]["risk_span"][0], "end": best[1]["risk_span"][1]}}
            row |= {"turns": turns, "sig_n_turns": len(turns), "sig_n_speakers": 2,
                    "speakers": [{"speaker": f"p{s}", "role": "seeker" if s == 0 else "supporter", "n_turns": 1,
                                  "gender": rnd.choice(label_set("gender")) if kept else None} for s in range(2)]}
        rows.append(row)
    return rows


def make_table(n: int, seed: int = 0, **kw: object) -> pa.Table:
    """make_rows as a table of the record schema."""
    return pa.Table.from_pylist(make_rows(n, seed, **kw), schema=arrow_schema())
