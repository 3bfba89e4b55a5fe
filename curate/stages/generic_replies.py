"""Generic replies across the run: the supporter's share of turns made of clauses that recur in many dialogues.

A reply is generic when most of it could be pasted into any dialogue (不客气，我很高兴能够帮到你，祝你好运).
Exact whole-reply repeats are rare in rewritten corpora such as SMILECHAT, so the unit is the clause: a
supporter turn is cut at clause punctuation, each clause normalised (punctuation, spaces and symbols
removed, so 不客气！ and 不客气， are one clause) and kept when it has MIN_CLAUSE_CHARS characters or more. A
clause is generic when it occurs in at least `min_dialogues(n)` of the run's n dialogues (dialogues of one
duplicate cluster count once, as in `curate.stages.crossdoc`); a turn is generic when generic clauses hold at
least GENERIC_TURN_SHARE of its clause characters. Like the CCNet line signal this needs the whole run, in
three steps: clause hashes per dialogue (per_record, a work column), the generic clauses (dedup_global, a
keyed regrouping by clause), the share per dialogue (finish, `generic_reply_frac`).
"""

from __future__ import annotations

import math
import time

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array
from curate.io import storage
from curate.io.writer import atomic_write_parquet
from curate.stages import crossdoc, dedup_global, dup_ids
from curate.stages.base import Engine, GlobalStep, Settings, Stage, StepResult
from curate.stages.signals import turn_frame

SIGNAL = "sig_generic_reply_frac"
CLAUSES = "_reply_clauses"  # work column: the distinct clause hashes of a dialogue's supporter turns
CLAUSE_SPLIT = r"[，,。！!？?；;…：:、\n~～]"
MIN_CLAUSE_CHARS = 4
# "many dialogues": at least MIN_DIALOGUES, and at least DIALOGUE_SHARE of the run's dialogues (1 in 2,000),
# so the bar rises with the run (on SMILECHAT + EmoLLM, 12,647 dialogues: 7)
MIN_DIALOGUES = 5
DIALOGUE_SHARE = 0.0005
GENERIC_TURN_SHARE = 0.5
_SEED = 11  # Polars' hash seed for clauses (stable within one Polars version: all a run needs, as crossdoc)


def min_dialogues(n_dialogues: int) -> int:
    """How many dialogues a clause must occur in to be generic, for a run of `n_dialogues`."""
    return max(MIN_DIALOGUES, math.ceil(DIALOGUE_SHARE * n_dialogues))


def _live_dialogues(table: pa.Table) -> np.ndarray:
    live = pc.and_(pc.is_null(table.column("drop_reason")), pc.equal(table.column("kind"), "dialogue"))
    return pc.fill_null(live, False).to_numpy(zero_copy_only=False)


def _supporter_turns(turns: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pl.DataFrame:
    """The supporter turns (`turn_frame` rows) of the records where `rows` is true."""
    keep = pl.Series(np.flatnonzero(rows), dtype=pl.Int64).implode()
    return turn_frame(turns).filter((pl.col("role") == "supporter") & pl.col("row").is_in(keep))


def supporter_clauses(turns: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pl.DataFrame:
    """(row, pos, h, chars): each counted clause of the supporter turns of records `rows` (a boolean mask),
    with its turn's position, its 64-bit hash and its length in characters."""
    frame = _supporter_turns(turns, rows)
    return (
        frame.with_columns(clause=pl.col("text").str.replace_all(CLAUSE_SPLIT, "\x1f").str.split("\x1f"))
        .explode("clause")
        .with_columns(pl.col("clause").str.replace_all(r"[\W_]", ""))
        .with_columns(chars=pl.col("clause").str.len_chars())
        .filter(pl.col("chars") >= MIN_CLAUSE_CHARS)
        .select("row", "pos", h=pl.col("clause").hash(seed=_SEED), chars="chars")
    )


def clause_column(table: pa.Table, settings: Settings) -> pa.Table:
    """per_record: the distinct supporter clause hashes of each live dialogue (null for other rows)."""
    n = table.num_rows
    live = _live_dialogues(table)
    if not live.any():  # a batch of web documents (or of rejects): nothing to cut
        return table.append_column(CLAUSES, pa.nulls(n, pa.list_(pa.uint64())))
    clauses = supporter_clauses(table.column("turns"), live).unique(["row", "h"]).group_by("row").agg("h")
    full = pl.DataFrame({"row": np.arange(n)}).join(clauses, on="row", how="left", maintain_order="left")
    lists = full.select(pl.when(pl.Series(live)).then(pl.col("h").fill_null(pl.lit([], pl.List(pl.UInt64)))))
    return table.append_column(CLAUSES, lists.to_series().to_arrow().cast(pa.list_(pa.uint64())))


def clause_rows(table: pa.Table, skip: pa.Array | None = None) -> pa.Table:
    """(clause, node) pairs of the live dialogues: the rows the dedup_global regrouping keys by clause. `skip`:
    nodes left out (texts only the later copies of a repeated id carry: `curate.stages.dup_ids`)."""
    live = pc.and_(pc.is_null(table.column("drop_reason")), pc.is_valid(table.column(CLAUSES)))
    if skip is not None and len(skip):
        live = pc.and_(live, pc.invert(pc.is_in(table.column("exact_hash"), value_set=skip)))
    t = table.filter(live)
    lists = as_array(t.column(CLAUSES))
    nodes = pc.take(as_array(t.column("exact_hash")), pc.list_parent_indices(lists))
    return pa.table({"clause": lists.flatten(), "node": nodes}).cast(
        pa.schema([("clause", pa.uint64()), ("node", pa.uint64())]))


def generic_clauses(rows: pa.Table, components: str | None, min_count: int) -> pa.Table:
    """Clauses that occur in `min_count` or more dialogues (every row of a clause is in this block); a node of
    a near-duplicate cluster (`components`: node → component) counts as its cluster."""
    return crossdoc.keys_in_clusters(rows, "clause", components, min_count).to_arrow().cast(
        pa.schema([("clause", pa.uint64())]))


def generic_global(checkpoints: list[str], work: str, settings: Settings, engine: Engine) -> StepResult:
    """The run's generic clauses → OUT/_work/generic_replies.parquet, and a report for the manifest."""
    t0 = time.perf_counter()
    live = pl.col("drop_reason").is_null() & pl.col(CLAUSES).is_not_null()
    counts = storage.scan_parquet(checkpoints).filter(live).select(
        dialogues=pl.len(), clauses=pl.col(CLAUSES).list.len().sum()).collect().row(0, named=True)
    need = min_dialogues(counts["dialogues"])
    comps = storage.join(work, "components.parquet")
    schema = pa.schema([("clause", pa.uint64())])
    columns = ["drop_reason", "exact_hash", CLAUSES]
    skip = dup_ids.without_copies(None, settings.dup_ids)[1]
    components = comps if storage.exists(comps) else None
    if not counts["clauses"]:
        clauses = schema.empty_table()
    else:  # in the driver up to dedup_global.DRIVER_GROUP_ROWS occurrences, else the engine's regrouping
        clauses = dedup_global.group_rows(engine, checkpoints, columns, clause_rows, {"skip": skip}, "clause",
                                          counts["clauses"], generic_clauses,
                                          {"components": components, "min_count": need}, schema)
    path = storage.join(work, "generic_replies.parquet")
    atomic_write_parquet(path, clauses)
    return StepResult(path, {"dialogues": counts["dialogues"], "clause_occurrences": counts["clauses"] or 0,
                                  "min_dialogues": need, "generic_clauses": clauses.num_rows,
                                  "seconds": round(time.perf_counter() - t0, 3)})


def generic_reply_frac(table: pa.Table, generic: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the share of its supporter turns that are generic, and whether it was computed (live dialogues).

    `generic` holds the run's generic clause hashes (UInt64)."""
    n = table.num_rows
    live = _live_dialogues(table)
    turns = _supporter_turns(table.column("turns"), live).select("row", "pos")
    per_turn = (
        supporter_clauses(table.column("turns"), live)
        .with_columns(g=pl.col("h").is_in(generic.implode()))
        .group_by("row", "pos")
        .agg(total=pl.col("chars").sum(), gen=pl.col("chars").filter(pl.col("g")).sum())
    )
    per_row = (
        turns.join(per_turn, on=["row", "pos"], how="left")
        .with_columns(generic=(pl.col("gen").fill_null(0) >= GENERIC_TURN_SHARE * pl.col("total").fill_null(0))
                      & (pl.col("total").fill_null(0) > 0))
        .group_by("row").agg(frac=pl.col("generic").mean())
    )
    full = pl.DataFrame({"row": np.arange(n)}).join(per_row, on="row", how="left", maintain_order="left")
    return full["frac"].fill_null(0.0).to_numpy(), live


def needed(settings: Settings) -> bool:
    """The run needs the generic clauses: it has dialogue inputs, and the dialogue-quality score reads them or a
    rule uses the signal."""
    from curate.stages.rules import global_rule_kinds, load_rule_sets

    return "dialogue" in settings.kinds and ("dialogue_quality" in settings.scores or "dialogue" in global_rule_kinds(
        load_rule_sets(settings.rule_files), (SIGNAL,)))


REPLY_CLAUSES = Stage("reply_clauses", reads=("turns", "kind", "drop_reason"), adds=(CLAUSES,),
                      apply=clause_column, active=needed, on_failed=True)
GENERIC_REPLIES = GlobalStep("generic_replies", reads=("exact_hash", CLAUSES), output="generic_replies",
                             run=generic_global, active=needed)
