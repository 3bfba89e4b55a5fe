"""finish: the dialogue-quality signals that need the run or the taggers, and crisis risk left unaddressed.

After the tags, for every live dialogue: the run-wide generic-reply share (`curate.stages.generic_replies`),
the entropy of the supporter's per-turn strategies, the help-seeker's emotional trajectory (valence of the
first and last seeker turn from their emotion scores), and `risk_unaddressed`: a seeker turn the crisis-risk
tagger marked concern or high (`turns.risk`) and no later supporter turn responds to it
(`classifiers/annotations/risk-response-guide.md`). The
text-only signals the dialogue-quality model reads are filled here too where no rule asked for them in
per_record. Rules on these signals (rules/dialogue.yaml) are evaluated here, as the whole-run rules are.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array, flat_children
from curate.io import storage
from curate.schema import label_map, label_set
from curate.stages import dialogue_cues as cues
from curate.stages import generic_replies
from curate.stages.base import Settings, Stage
from curate.stages.signals import GLOBAL_SIGNALS, REGISTRY, SignalInput, compute_signals, turn_frame

RISK_LEVELS = {"none": 0, "concern": 1, "high": 2}
# the finishing signals this stage fills (registered in curate.stages.signals.GLOBAL_SIGNALS)
TAG_SIGNALS = ("sig_strategy_entropy", "sig_seek_valence_shift", "sig_seek_valence_last")
RISK = "risk_unaddressed"
FINISH_SIGNALS = (generic_replies.SIGNAL, *TAG_SIGNALS, RISK)
# the per_record dialogue signals of the registry (filled here where the rules did not compute them)
TEXT_SIGNALS = tuple(c for c, s in REGISTRY.items() if s.needs_turns)


# ------------------------------------------------------------------------------------------- crisis risk


def seeker_risk(turns: pa.Array | pa.ChunkedArray) -> pl.DataFrame:
    """(row, pos, level) of every seeker turn the crisis-risk tagger read: 2 high, 1 concern, 0 none.

    The turn's `risk` tag (`curate.stages.tag`: the risk card's decision, its cue lexicon and its model) is
    the one source: a seeker turn without a tag (the job's risk.tag off, or a record the tagger skipped) is
    left out, and a dialogue none of whose seeker turns was read gets no `risk_unaddressed`.
    """
    frame = turn_frame(turns)
    tags = _turn_field(turns, "risk")
    if tags is None:
        return pl.DataFrame(schema={"row": pl.Int64, "pos": pl.Int64, "level": pl.Int8})
    level = pl.col("tag").replace_strict(RISK_LEVELS, default=None, return_dtype=pl.Int8)
    return (frame.with_columns(tag=tags).filter((pl.col("role") == "seeker") & pl.col("tag").is_not_null())
            .select("row", "pos", level=level))


def responds_to_risk(turns: pa.Array | pa.ChunkedArray) -> pl.DataFrame:
    """(row, pos) of every supporter turn that responds to crisis risk (`dialogue_cues.RISK_RESPONSE`: asks about
    safety, names the thoughts, gives a hotline, urges professional or emergency help)."""
    return (turn_frame(turns).filter((pl.col("role") == "supporter")
                                     & pl.col("text").str.contains(cues.RISK_RESPONSE)).select("row", "pos"))


def risk_unaddressed(turns: pa.Array | pa.ChunkedArray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: a seeker turn tagged concern or high has no responding supporter turn after it (equivalently,
    the last such seeker turn has none); and whether it was computed (some seeker turn carries a risk tag)."""
    levels = seeker_risk(turns)
    read = levels.group_by("row").agg(last_risk=pl.col("pos").filter(pl.col("level") >= 1).max())
    answered = responds_to_risk(turns).group_by("row").agg(last_answer=pl.col("pos").max())
    out = (pl.DataFrame({"row": np.arange(n)}).join(read, on="row", how="left", maintain_order="left")
           .join(answered, on="row", how="left", maintain_order="left"))
    computed = out["row"].is_in(read["row"].implode()).to_numpy()
    flag = (pl.col("last_risk").is_not_null() & (pl.col("last_answer").fill_null(-1) < pl.col("last_risk")))
    return out.select(flag).to_series().to_numpy(), computed


# ------------------------------------------------------------------------------------------- tags


def _turn_field(turns: pa.Array | pa.ChunkedArray, name: str) -> pl.Series | None:
    """A field of the flattened turns, or None when the turn struct has no such field."""
    arr = as_array(turns)
    if name not in [f.name for f in arr.type.value_type]:
        return None
    values, _ = flat_children(arr)
    return pl.from_arrow(values.field(name))


def strategy_entropy(turns: pa.Array | pa.ChunkedArray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the entropy in bits of the supporter's strategies (each turn's most probable strategy, read from
    `strategy_scores`, so that turns the tagger abstains on still count), and whether it was computed (some
    supporter turn was tagged)."""
    frame = turn_frame(turns)
    scores = _turn_field(turns, "strategy_scores")
    if scores is None or not len(frame):
        return np.zeros(n), np.zeros(n, dtype=bool)
    top = (frame.with_columns(s=scores).filter((pl.col("role") == "supporter") & pl.col("s").is_not_null())
           .select("row", label=pl.col("s").list.arg_max()))
    counts = top.group_by("row", "label").len().with_columns(p=pl.col("len") / pl.col("len").sum().over("row"))
    ent = counts.group_by("row").agg(h=-(pl.col("p") * pl.col("p").log(2)).sum())
    full = pl.DataFrame({"row": np.arange(n)}).join(ent, on="row", how="left", maintain_order="left")["h"]
    return full.fill_null(0.0).to_numpy() + 0.0, full.is_not_null().to_numpy()


@cache
def valence_weights() -> np.ndarray:
    """Valence of each emotion label (label-set order): +1 the happy group, -1 angry, sad and fear, 0 neutral
    and surprise (`label_maps.emotion_coarse`)."""
    coarse = label_map("emotion_coarse")
    return np.array([1.0 if coarse[e] == "happy" else -1.0 if coarse[e] in ("angry", "sad", "fear") else 0.0
                     for e in label_set("emotion")])


def seeker_valence(turns: pa.Array | pa.ChunkedArray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the valence (P(positive) - P(negative), from `emotion_scores`) of the seeker's last turn minus
    that of their first, the last turn's valence, and whether they were computed (a seeker turn was tagged)."""
    frame = turn_frame(turns)
    scores = _turn_field(turns, "emotion_scores")
    if scores is None or not len(frame):
        return np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    seek = frame.with_columns(s=scores).filter((pl.col("role") == "seeker") & pl.col("s").is_not_null())
    weights = valence_weights()
    matrix = seek["s"].list.to_array(len(weights)).to_numpy().astype(np.float64).reshape(seek.height, len(weights))
    seek = seek.with_columns(v=pl.Series(matrix @ weights))
    agg = seek.sort("row", "pos").group_by("row").agg(first=pl.col("v").first(), last=pl.col("v").last())
    full = pl.DataFrame({"row": np.arange(n)}).join(agg, on="row", how="left", maintain_order="left")
    computed = full["last"].is_not_null().to_numpy()
    first, last = full["first"].fill_null(0.0).to_numpy(), full["last"].fill_null(0.0).to_numpy()
    return last - first, last, computed


# ------------------------------------------------------------------------------------------- the stage


def _live_dialogues(table: pa.Table) -> np.ndarray:
    live = pc.and_(pc.is_null(table.column("drop_reason")), pc.equal(table.column("kind"), "dialogue"))
    return pc.fill_null(live, False).to_numpy(zero_copy_only=False)


def fill_text_signals(table: pa.Table) -> pa.Table:
    """The per_record dialogue signals of live dialogues, computed where the rules left them null."""
    from curate.schema import arrow_schema

    live = _live_dialogues(table)
    missing = [c for c in TEXT_SIGNALS if pc.is_null(table.column(c)).to_numpy(zero_copy_only=False)[live].any()]
    rows = np.flatnonzero(live)
    if not missing or not len(rows):
        return table
    text = pl.from_arrow(as_array(table.column("text").take(pa.array(rows)))).cast(pl.String).fill_null("")
    x = SignalInput(text, as_array(table.column("turns")).take(pa.array(rows)), None)
    schema = arrow_schema()
    for col, vals in compute_signals(x, missing).items():
        if col not in missing:
            continue
        old = table.column(col)
        arr = np.asarray(vals.to_numpy() if isinstance(vals, pl.Series) else vals)
        scatter = np.full(table.num_rows, -1, dtype=np.int64)
        scatter[rows] = np.arange(len(rows))
        new = pa.array(arr).cast(schema.field(col).type).take(pa.array(scatter, mask=scatter < 0))
        table = table.set_column(table.schema.get_field_index(col), col, pc.if_else(pc.is_null(old), new, old))
    return table


def finish_signals(table: pa.Table, generic: pl.Series | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The finishing dialogue signals of a batch: values and where each was computed (live dialogues; the tag
    signals where the taggers ran; the generic share only with the run's `generic` clauses)."""
    n = table.num_rows
    live = _live_dialogues(table)
    turns = table.column("turns")
    values: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    if generic is not None:
        values[generic_replies.SIGNAL], computed = generic_replies.generic_reply_frac(table, generic)
        masks[generic_replies.SIGNAL] = computed & live
    ent, ent_ok = strategy_entropy(turns, n)
    shift, last, val_ok = seeker_valence(turns, n)
    for col, v, ok in (("sig_strategy_entropy", ent, ent_ok), ("sig_seek_valence_shift", shift, val_ok),
                       ("sig_seek_valence_last", last, val_ok)):
        values[col], masks[col] = v, ok & live
    values[RISK], risk_ok = risk_unaddressed(turns, n)
    masks[RISK] = risk_ok & live
    return values, masks


@cache
def _generic_clauses(path: str) -> pl.Series:
    # read once per worker process; the whole-run step writes the file once and never changes it
    return storage.read_parquet(path)["clause"]


def dialogue_signals(table: pa.Table, settings: Settings) -> pa.Table:
    """finish: the dialogue signals of each live dialogue and the rules that read them (`DIALOGUE_SIGNALS`)."""
    from curate.stages.rules import apply_global_rules, load_rule_sets

    if not _live_dialogues(table).any():
        return table
    table = fill_text_signals(table)
    generic = _generic_clauses(settings.generic_replies) if settings.generic_replies else None
    values, masks = finish_signals(table, generic)
    return apply_global_rules(table, load_rule_sets(settings.rule_files), values, masks)


def needed(settings: Settings) -> bool:
    """The run needs these signals: it has dialogue inputs, and the dialogue-quality score reads them or a rule
    uses one."""
    from curate.stages.rules import load_rule_sets

    used = {r.signal for rs in load_rule_sets(settings.rule_files) for r in rs.active_global}
    return "dialogue" in settings.kinds and ("dialogue_quality" in settings.scores or bool(used & set(FINISH_SIGNALS)))


DIALOGUE_SIGNALS = Stage("dialogue_signals", reads=("turns", "text", "kind", "drop_reason", "sig_*"),
                         adds=(*TEXT_SIGNALS, *FINISH_SIGNALS, "rule_flags", "drop_reason", "drop_detail"),
                         apply=dialogue_signals, active=needed)


def describe() -> dict[str, Any]:
    """What `curate rules explain` says about the signals only a run computes."""
    return {generic_replies.SIGNAL: "needs the whole run (dedup_global)",
            **dict.fromkeys(TAG_SIGNALS, "needs the taggers (finish)")}


assert set(FINISH_SIGNALS) <= set(GLOBAL_SIGNALS), "register the finishing signals in curate.stages.signals"
