"""The same engine interface in this process, without Ray: for benchmarks that measure what Ray costs, and
for tests of the global steps. Not used by `curate run`."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from curate.io import storage


class LocalEngine:
    """`curate.stages.base.Engine` in one process: every key's rows are already in the one block."""

    def shuffles(self, n_rows: int) -> bool:
        """Never: one block holds every row."""
        return False

    def group_and_collect(self, paths: list[str], columns: list[str], rows: Any, rows_kwargs: dict[str, Any],
                          key: str, n_rows: int, groups: Any, groups_kwargs: dict[str, Any],
                          schema: pa.Schema) -> pa.Table:
        """`rows` over each file's `columns`, then `groups` over all their rows at once."""
        block = pa.concat_tables([rows(storage.read_table(p, columns=columns), **rows_kwargs) for p in paths])
        return groups(block, **groups_kwargs).cast(schema)
