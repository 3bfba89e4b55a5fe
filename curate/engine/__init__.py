"""The engine: everything that talks to Ray. Nothing else in curate imports Ray or this package but
`curate.run` (and the CLI, lazily, to start it).

* `session`: join a cluster or start a quiet local Ray;
* `sources`, `sinks`: Ray Data datasources (input files, checkpoint shards) and the shard writer;
* `heap`: the workers' malloc settings (freed memory kept for the next batch);
* `plans`: the Ray Data plans a run executes: a phase of per-record stages fused with its read and write,
  the same on an actor pool for stages with models, and the keyed regrouping global steps ask for.
"""
