"""The Ray Data plans a run executes, and the keyed regrouping its global steps ask for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from curate.engine.heap import keep_freed_memory
from curate.engine.sinks import ShardSink
from curate.engine.sources import CurateInputs, ParquetShards
from curate.io import storage
from curate.io.writer import shard_file_index
from curate.schema import PIECE
from curate.stages.base import Phase, PhaseRunner, Settings

# Below this many rows, grouping rows by key (LSH buckets, lines) uses one block: Ray's repartition(1)
# combines blocks without a shuffle, while its key-based hash shuffle starts aggregator actors that cost
# seconds even for a handful of rows. Above it, the hash shuffle spreads the groups over the cluster.
SINGLE_BLOCK_GROUP_ROWS = 4_000_000


def read_source(source: Any, num_cpus: float | None = None) -> Any:
    """A Ray dataset over one of curate's datasources, one block per read task.

    Without `override_num_blocks` Ray splits each task's output into more blocks, and a split read cannot
    fuse with the map and the write after it. `num_cpus`: the read tasks' CPU share, the same as the map
    they should fuse with (Ray fuses only those).
    """
    return ray.data.read_datasource(source, override_num_blocks=max(1, source.num_tasks()), num_cpus=num_cpus)


def write_fused(ds: Any, sink: Any) -> None:
    """Run a dataset that fuses into one operator (read → map → write) into `sink`.

    Ray Data's per-operator resource reservation has nothing to balance with one operator, yet holds an
    execution to one task at a time until its autoscaling coordinator answers; off for this dataset alone,
    a task runs per CPU from the start (bench/README.md). Multi-operator executions keep it.
    """
    ds.context.op_resource_reservation_enabled = False
    ds.write_datasink(sink)


def collect(ds: Any, schema: pa.Schema) -> pa.Table:
    """All rows of a small Ray dataset as one Arrow table with `schema` (Ray's empty blocks carry no columns)."""
    tables = [t for t in ray.get(ds.materialize().to_arrow_refs()) if t.num_columns]
    return pa.concat_tables([t.cast(schema) for t in tables]) if tables else schema.empty_table()


def group_by_key(ds: Any, key: str, n_rows: int) -> Any:
    """Blocks in which every row of a key sits together: one block when small, a Ray hash shuffle when large."""
    if n_rows <= SINGLE_BLOCK_GROUP_ROWS:
        return ds.repartition(1)
    return ds.repartition(max(2, min(256, n_rows // 2_000_000 + 1)), keys=[key])


def _phase_task(batch: pa.Table, phase: Phase, settings: Settings | ray.ObjectRef) -> pa.Table:
    """A phase of model-free stages over one block; the read task's `_piece` column passes through untouched."""
    keep_freed_memory()  # this worker's next blocks reuse this one's memory
    if isinstance(settings, ray.ObjectRef):  # NumPy arrays in it are read in place from the object store
        settings = ray.get(settings)
    piece = batch.column(PIECE) if PIECE in batch.column_names else None
    if piece is not None:
        batch = batch.drop_columns([PIECE])
    out = PhaseRunner(phase, settings)(batch)
    return out.append_column(PIECE, piece) if piece is not None else out


def _phase_and_write(ds: Any, phase: Phase, settings: Settings, sink: ShardSink) -> None:
    """The phase over each block, then the sink: read, map and write fuse into one Ray task per block."""
    # the settings may hold what a stage prepared in the driver (decontaminate's index): one object store copy
    # that every task reads, rather than a copy inside the task's function (Ray warns above 100 MiB)
    ds = ds.map_batches(_phase_task, fn_kwargs={"phase": phase, "settings": ray.put(settings)},
                        batch_format="pyarrow", batch_size=None)
    write_fused(ds, sink)


class _PhaseAndWrite:
    """A phase with models as a Ray actor: the models load once; each `write` reads one checkpoint shard, runs
    the phase on it and writes its final shard; it returns the shard's summaries."""

    def __init__(self, phase: Phase, settings: Settings, out: str, shard_rows: int, columns: list[str] | None) -> None:
        keep_freed_memory()  # each shard reuses the memory the one before it freed
        self.runner, self.out, self.shard_rows, self.columns = PhaseRunner(phase, settings), out, shard_rows, columns

    def write(self, path: str, file_index: dict[str, int]) -> list[dict[str, Any]]:
        """The checkpoint shard at `path` through the phase into its final shard (`file_index`: its input file
        → number, for the shard's name)."""
        sink = ShardSink(self.out, file_index, self.shard_rows)
        return sink.write([self.runner(storage.read_table(path, columns=self.columns))], None)


def _on_actors(paths: list[str], phase: Phase, settings: Settings, sink: ShardSink, columns: list[str] | None,
               cpus: float) -> list[dict[str, Any]]:
    """`_PhaseAndWrite` over `paths` on one Ray actor per CPU; the final shards' summaries.

    Ray core actors rather than Ray Data's ActorPoolStrategy: Ray Data hands each pool actor its own context
    and transform as object-store references, and Ray's core worker then prints an error line on the driver's
    terminal for every restartable actor created that way ("has constructor arguments in the object store and
    max_restarts > 0", ray-project/ray#57733): on every run. These actors get small arguments only, inline in
    their creation task (each call brings its shard's input file number, so they stay small however many
    inputs a run has), which is also what lets Ray restart one safely: a killed actor is restarted and its
    call retried (max_restarts / max_task_retries -1), as Ray Data's pool did.
    """
    from ray.util import ActorPool

    sink.on_write_start()
    number = {i: f for f, i in sink.file_index.items()}
    actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1,
                       scheduling_strategy="SPREAD")(_PhaseAndWrite)  # SPREAD: over a cluster's nodes, as Ray Data
    pool = [actor.remote(phase, settings, sink.out, sink.shard_rows, columns)
            for _ in range(max(1, min(int(cpus), len(paths))))]
    calls = []
    for path in paths:
        i = shard_file_index(Path(path).stem)  # a checkpoint holds one input file's records
        calls.append((path, {number[i]: i}))
    try:
        return [s for done in ActorPool(pool).map_unordered(lambda a, call: a.write.remote(*call), calls) for s in done]
    finally:
        for a in pool:  # their CPUs back now, not when the driver exits
            ray.kill(a)


class RayEngine:
    """Runs a run's phases on the Ray that `curate.engine.session.init_ray` joined or started."""

    def __init__(self, cpus: float) -> None:
        self.cpus = cpus

    def records(self, source: CurateInputs, phase: Phase, settings: Settings, sink: ShardSink,
                limit: int | None = None) -> None:
        """Read → the phase's stages → checkpoint write, fused into one Ray task per read task."""
        ds = read_source(source)
        if limit:
            ds = ds.limit(limit)
        _phase_and_write(ds, phase, settings, sink)

    def records_from_shards(self, paths: list[str], phase: Phase, settings: Settings, sink: ShardSink) -> None:
        """Record shards (`curate dedup`'s input) → the phase's stages → checkpoints, one fused task per shard."""
        ds = read_source(ParquetShards(paths))
        _phase_and_write(ds, phase, settings, sink)

    def shards(self, paths: list[str], columns: list[str] | None, phase: Phase, settings: Settings, sink: ShardSink) -> None:
        """Checkpoint shards → the phase's stages → final shards, one shard per unit of work.

        With models: an actor pool (one actor per CPU, NeMo Curator's stage-with-setup pattern), each actor
        reading a checkpoint, running the phase and writing the shard itself, so only paths and summaries
        travel through Ray (`_on_actors`). Without: plain tasks, read → phase → write fused into one task per
        checkpoint.
        """
        if phase.needs_models(settings):
            sink.summaries.extend(_on_actors(paths, phase, settings, sink, columns, self.cpus))
        else:
            _phase_and_write(read_source(ParquetShards(paths, columns)), phase, settings, sink)

    def shuffles(self, n_rows: int) -> bool:
        """True when grouping `n_rows` rows by key takes a hash shuffle rather than one block."""
        return n_rows > SINGLE_BLOCK_GROUP_ROWS

    def group_and_collect(self, paths: list[str], columns: list[str], rows: Any, rows_kwargs: dict[str, Any],
                          key: str, n_rows: int, groups: Any, groups_kwargs: dict[str, Any],
                          schema: pa.Schema) -> pa.Table:
        """`rows` over each checkpoint's `columns`; every `key` whole in one block; `groups` over each block;
        the results as one table with `schema`."""
        ds = read_source(ParquetShards(paths, columns))
        ds = ds.map_batches(rows, fn_kwargs=rows_kwargs, batch_format="pyarrow", batch_size=None)
        ds = group_by_key(ds, key, n_rows)
        ds = ds.map_batches(groups, fn_kwargs=groups_kwargs, batch_format="pyarrow", batch_size=None)
        return collect(ds, schema)
