"""Records → trainer rows, vectorised in Polars: dialogues become alternating user/assistant conversations
(sharegpt, messages) or one alpaca row per assistant turn; web documents become alpaca rows when asked.

The conversation rule, in order (documented in the export card too):
1. empty turns (null or whitespace only) are left out;
2. a turn whose role_raw is `system` becomes the conversation's system prompt (joined by newlines when
   there are several), unless --system gives one;
3. every other turn's canonical role is mapped (default seeker → user, supporter → assistant,
   other → skip): a turn mapped to `drop` is left out, a dialogue with a turn mapped to `skip` is left out;
4. consecutive turns of the same side are merged into one, joined by a newline;
5. a leading assistant turn and a trailing user turn are trimmed, so the conversation starts with the user
   and ends with the assistant and alternates (what LLaMA-Factory requires);
6. a dialogue with no user turn followed by an assistant turn is left out.
Per-turn tags (--turn-tag strategy ...) ride along on each turn; a merged turn carries the distinct
non-null tags of its parts joined by `|`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from curate.export.spec import ExportSpec

SKIP_WEB = "web document (not a dialogue)"
SKIP_ROLE = "a turn's role maps to skip"
SKIP_EMPTY = "no user turn followed by an assistant turn"
TAG_SEP = "|"
TURN_SEP = "\n"


@dataclass
class Converted:
    """One batch converted: the rows to write, the batch positions (`_rec`) they came from, why others were left out."""

    rows: pl.DataFrame
    exported_recs: pl.Series
    skipped: Counter[str] = field(default_factory=Counter)
    turns: int = 0


def dialogue_turns(batch: pl.DataFrame, spec: ExportSpec) -> tuple[pl.DataFrame, pl.DataFrame, Counter[str]]:
    """Merged, trimmed, alternating turns of the batch's dialogues (steps 1–6 above).

    Returns (turns: `_rec`, `_i` position, `side` user|assistant, `text`, tags...; systems: `_rec`,
    `system`; skipped reasons). `_rec` is the row's position in `batch`.
    """
    tags = list(spec.turn_tags)
    skipped: Counter[str] = Counter()
    dialogues = batch.with_row_index("_rec").filter(pl.col("kind") == "dialogue")
    t = (dialogues.select("_rec", "turns").explode("turns").filter(pl.col("turns").is_not_null())
         .select("_rec", pl.col("turns").struct.field("role", "role_raw", "text", *tags))
         .with_columns(pl.col("text").str.strip_chars())
         .filter(pl.col("text").is_not_null() & (pl.col("text") != "")))
    is_system = pl.col("role_raw").str.to_lowercase().str.strip_chars() == "system"
    if spec.system is not None:
        systems = dialogues.select("_rec", pl.lit(spec.system, pl.String).alias("system"))
    else:
        systems = t.filter(is_system).group_by("_rec", maintain_order=True).agg(pl.col("text").str.join(TURN_SEP).alias("system"))
    t = t.filter(~is_system).with_columns(
        side=pl.col("role").replace_strict(spec.roles, default="skip", return_dtype=pl.String))
    skip_recs = t.filter(pl.col("side") == "skip").select(pl.col("_rec").unique())
    skipped[SKIP_ROLE] += skip_recs.height
    t = t.join(skip_recs, on="_rec", how="anti", maintain_order="left").filter(pl.col("side") != "drop")
    new_group = ((pl.col("side") != pl.col("side").shift()) | (pl.col("_rec") != pl.col("_rec").shift())).fill_null(True)
    merged = (t.with_columns(_g=new_group.cum_sum())
              .group_by("_g", maintain_order=True)
              .agg(pl.col("_rec").first(), pl.col("side").first(), pl.col("text").str.join(TURN_SEP),
                   *[pl.col(c).drop_nulls().unique(maintain_order=True).str.join(TAG_SEP) for c in tags])
              .drop("_g")
              .with_columns([pl.when(pl.col(c) != "").then(pl.col(c)) for c in tags])
              .with_columns(_i=pl.int_range(pl.len()).over("_rec")))
    first_user = pl.col("_i").filter(pl.col("side") == "user").min().over("_rec")
    last_assistant = pl.col("_i").filter(pl.col("side") == "assistant").max().over("_rec")
    merged = (merged.filter((pl.col("_i") >= first_user) & (pl.col("_i") <= last_assistant))
              .with_columns(_i=pl.int_range(pl.len()).over("_rec")))
    kept = merged.select(pl.col("_rec").unique()).height
    skipped[SKIP_EMPTY] += dialogues.height - skip_recs.height - kept
    return merged, systems, skipped


def _keys(batch: pl.DataFrame) -> pl.DataFrame:
    return batch.with_row_index("_rec").select("_rec", "id", "source")


def _conversation(batch: pl.DataFrame, spec: ExportSpec, names: dict[str, str], list_col: str,
                  system_in_list: bool) -> Converted:
    merged, systems, skipped = dialogue_turns(batch, spec)
    tags = list(spec.turn_tags)
    role, content = names["role"], names["content"]
    if system_in_list:  # messages: the system prompt is the first message
        sys_turns = systems.select("_rec", pl.lit(-1, pl.Int64).alias("_i"), pl.lit("system").alias("side"),
                                   pl.col("system").alias("text"), *[pl.lit(None, pl.String).alias(c) for c in tags])
        merged = pl.concat([sys_turns.join(merged.select("_rec").unique(), on="_rec"),
                            merged.select(sys_turns.columns).with_columns(pl.col("_i").cast(pl.Int64))]).sort("_rec", "_i")
    side = pl.col("side").replace_strict(names, return_dtype=pl.String)
    conv = (merged.group_by("_rec", maintain_order=True)
            .agg(pl.struct(side.alias(role), pl.col("text").alias(content), *tags).alias(list_col)))
    rows = _keys(batch).join(conv, on="_rec", how="inner", maintain_order="right")
    if not system_in_list:
        rows = rows.join(systems, on="_rec", how="left", maintain_order="left")
    skipped[SKIP_WEB] += batch.filter(pl.col("kind") != "dialogue").height
    n_turns = merged.filter(pl.col("side") != "system").height
    return Converted(rows.drop("_rec"), rows["_rec"], skipped, n_turns)


def to_sharegpt(batch: pl.DataFrame, spec: ExportSpec) -> Converted:
    """LLaMA-Factory sharegpt: `{id, source, conversations: [{from: human|gpt, value, tags...}], system}`."""
    names = {"role": "from", "content": "value", "user": "human", "assistant": "gpt", "system": "system"}
    return _conversation(batch, spec, names, "conversations", system_in_list=False)


def to_messages(batch: pl.DataFrame, spec: ExportSpec) -> Converted:
    """Chat messages (OpenAI / HF TRL): `{id, source, messages: [{role: system|user|assistant, content, tags...}]}`."""
    names = {"role": "role", "content": "content", "user": "user", "assistant": "assistant", "system": "system"}
    return _conversation(batch, spec, names, "messages", system_in_list=True)


def to_alpaca(batch: pl.DataFrame, spec: ExportSpec) -> Converted:
    """Alpaca, one row per assistant turn: `{id, source, instruction, input, output, history, system, tags...}`.

    instruction = the user turn before it, output = the assistant turn, history = up to `spec.history`
    earlier [user, assistant] pairs of the same dialogue (SMILE's training uses 9). Web documents become
    `{instruction: --web-instruction, input: "", output: text}` when --web-instruction is given, else are
    left out.
    """
    merged, systems, skipped = dialogue_turns(batch, spec)
    tags = list(spec.turn_tags)
    pairs = (merged.with_columns(_p=pl.col("_i") // 2)
             .group_by("_rec", "_p", maintain_order=True)
             .agg(pl.col("text").first().alias("instruction"), pl.col("text").last().alias("output"),
                  *[pl.col(c).last() for c in tags]))
    offset = (pl.col("_p") - spec.history).clip(lower_bound=0)
    pairs = (pairs.with_columns(_all=pl.concat_list("instruction", "output").implode().over("_rec"))
             .with_columns(history=pl.col("_all").list.slice(offset, pl.col("_p") - offset))
             .join(systems, on="_rec", how="left", maintain_order="left"))
    rows = _keys(batch).join(pairs, on="_rec", how="inner", maintain_order="right").select(
        "_rec", "id", "source", "instruction", pl.lit("").alias("input"), "output", "history", "system", *tags)
    web = batch.with_row_index("_rec").filter(pl.col("kind") != "dialogue")
    if spec.web_instruction is not None:
        web_rows = web.filter(pl.col("text").str.strip_chars() != "").select(
            "_rec", "id", "source", pl.lit(spec.web_instruction).alias("instruction"), pl.lit("").alias("input"),
            pl.col("text").alias("output"), pl.lit([], pl.List(pl.List(pl.String))).alias("history"),
            pl.lit(spec.system, pl.String).alias("system"), *[pl.lit(None, pl.String).alias(c) for c in tags])
        rows = pl.concat([rows, web_rows.cast(rows.schema)]).sort("_rec", maintain_order=True)
    else:
        skipped[SKIP_WEB] += web.height
    recs = rows["_rec"].unique(maintain_order=True)
    return Converted(rows.drop("_rec"), recs, skipped, merged.height)


def to_records(batch: pl.DataFrame, spec: ExportSpec) -> Converted:
    """Parquet: the records themselves, every column of the record schema."""
    return Converted(batch, pl.Series("_rec", range(batch.height), dtype=pl.UInt32), Counter(), 0)


CONVERTERS = {"sharegpt": to_sharegpt, "messages": to_messages, "alpaca": to_alpaca, "parquet": to_records}
