"""Exact-duplicate key: xxh3-64 of the normalised text (for dialogues, of the rendered dialogue)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from curate.arrowutil import as_array
from curate.stages.base import Stage


def exact_hash(table: pa.Table) -> pa.Table:
    """Fill `exact_hash` for live rows (one C call per text; xxh3 is stable across versions and machines)."""
    texts = as_array(table.column("text")).to_pylist()
    live = pc.is_null(table.column("drop_reason")).to_pylist()
    h = xxhash.xxh3_64_intdigest
    hashes = pa.array([h(t.encode("utf-8")) if ok and t is not None else None for t, ok in zip(texts, live, strict=True)],
                      type=pa.uint64())
    return table.set_column(table.schema.get_field_index("exact_hash"), "exact_hash", hashes)


EXACT_HASH = Stage("exact_hash", reads=("text",), adds=("exact_hash",), apply=lambda table, _: exact_hash(table))
