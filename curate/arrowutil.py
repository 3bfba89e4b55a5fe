"""Small Arrow helpers for nested columns: flatten a list<struct> column and rebuild it with new children."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def as_array(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous Array from a column (ChunkedArrays are combined)."""
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def flat_children(lists: pa.Array | pa.ChunkedArray) -> tuple[pa.StructArray, np.ndarray]:
    """The struct values of a list<struct> column, flattened, and each value's parent row index."""
    arr = as_array(lists)
    values = arr.flatten()
    parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    return values, parents


def replace_children(lists: pa.Array | pa.ChunkedArray, new_fields: dict[str, pa.Array]) -> pa.ListArray:
    """Rebuild a list<struct> column with some struct fields replaced by flat arrays (same flat order)."""
    arr = as_array(lists)
    values = arr.flatten()
    struct_type = arr.type.value_type
    children = []
    for i, f in enumerate(struct_type):
        child = new_fields.get(f.name)
        children.append(as_array(child).cast(f.type) if child is not None else values.field(i))
    new_values = pa.StructArray.from_arrays(children, fields=list(struct_type))
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int32)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), new_values, type=arr.type, mask=arr.is_null())
