"""What a stage is, and how one phase's stages run over a batch.

A `Stage` is a named batch function over a record-schema Arrow table that returns it with columns filled or
added; it declares the columns it reads and adds, whether it needs the job's models (the engine then runs
its phase on an actor pool, so `setup` loads them once per actor), and when it is active for a job. It does
no I/O. A `GlobalStep` sees the whole run at once (the dedup clustering, the whole-run line counts) and
writes one file the finishing stages read. `curate.run` lists them in the order they run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from curate.faults import contain, inject, mark_failed
from curate.job import DecontamSpec, DedupSpec, ModelSpec, NormalizeSpec
from curate.pii.spec import PiiSpec
from curate.schema import conform
from curate.stages.minhash import MinHashParams

if TYPE_CHECKING:
    from curate.stages.contamination import NgramIndex


@dataclass(frozen=True)
class Settings:
    """What the stages of a run are configured by: the job's settings, and the files the global steps wrote."""

    rule_files: tuple[str, ...] = ()
    normalize: NormalizeSpec = field(default_factory=NormalizeSpec)
    pii: PiiSpec = field(default_factory=lambda: PiiSpec(mode="off"))
    roles: tuple[str, ...] = ()  # raw role labels the job maps (`roles:` keys): not names to redact
    dedup: DedupSpec = field(default_factory=DedupSpec)
    minhash: MinHashParams | None = None
    scores: dict[str, ModelSpec] = field(default_factory=dict)
    tags: dict[str, ModelSpec] = field(default_factory=dict)
    id_inputs: tuple[str, ...] = ()  # the inputs that map an id_field (their ids may repeat)
    files: tuple[str, ...] = ()  # every input file, in the job's order (which occurrence of an id is first)
    kinds: tuple[str, ...] = ("dialogue", "web")  # the record kinds the job's inputs hold (dialogue-only stages
    # are inactive, at no cost, for a job of web inputs alone)
    decisions: str | None = None  # the dedup step's per-record decisions (a Parquet file under OUT/_work)
    dup_lines: str | None = None  # the whole-run line step's duplicated lines
    dup_ids: str | None = None  # the duplicate-id step's later copies of an input's ids
    decontaminate: DecontamSpec | None = None
    eval_index: NgramIndex | None = None  # built by the decontaminate stage's `prepare`, for its phase only
    generic_replies: str | None = None  # the whole-run generic supporter clauses (dialogue quality)


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Stage:
    """A per-record stage: `apply(batch, state)` with `state = setup(settings)` (or the settings themselves).

    `prepare`: runs once in the driver before the phase and returns the settings its workers get (data built
    from files, such as an index, which Ray ships through its object store once, not once per task).
    `models`: the stage runs the job's models, so its phase runs on actors that set it up once.
    `on_failed`: it also runs on a record another stage failed on (work columns every row must have).
    Stages that share a `setup` function share its one result.
    """

    name: str
    reads: tuple[str, ...]
    adds: tuple[str, ...]
    apply: Callable[[pa.Table, Any], pa.Table]
    setup: Callable[[Settings], Any] | None = None
    active: Callable[[Settings], bool] = _always
    models: bool = False
    on_failed: bool = False
    prepare: Callable[[Settings], Settings] | None = None


class Engine(Protocol):
    """What a global step asks of the engine: a keyed regrouping of checkpoint rows (`curate.engine`)."""

    def group_and_collect(self, paths: list[str], columns: list[str], rows: Callable[..., pa.Table],
                          rows_kwargs: dict[str, Any], key: str, n_rows: int, groups: Callable[..., pa.Table],
                          groups_kwargs: dict[str, Any], schema: pa.Schema) -> pa.Table:
        """`rows` maps each checkpoint's `columns`; every `key` lands whole in one block; `groups` maps each
        block; the results come back as one table with `schema`."""
        ...

    def shuffles(self, n_rows: int) -> bool:
        """True when regrouping `n_rows` rows takes a distributed shuffle."""
        ...


@dataclass(frozen=True)
class StepResult:
    """What a global step wrote (`path`, None if nothing) and reports (for the manifest)."""

    path: str | None
    report: dict[str, Any]


@dataclass(frozen=True)
class GlobalStep:
    """A step over the whole run's checkpoints: `run(checkpoints, work_dir, settings, engine)` (work_dir: a path or URL); its file's path
    goes to the finishing stages as `Settings.<output>`."""

    name: str
    reads: tuple[str, ...]
    output: str
    run: Callable[[list[str], str, Settings, Engine], StepResult]
    active: Callable[[Settings], bool] = _always


@dataclass(frozen=True)
class Phase:
    """A named list of per-record stages, run in order over each batch."""

    name: str
    stages: tuple[Stage, ...]

    def active(self, settings: Settings) -> tuple[Stage, ...]:
        """The stages this job runs."""
        return tuple(s for s in self.stages if s.active(settings))

    def prepare(self, settings: Settings) -> Settings:
        """The settings this phase's workers get: each active stage's `prepare`, in order (driver, once)."""
        for s in self.active(settings):
            if s.prepare is not None:
                settings = s.prepare(settings)
        return settings

    def needs_models(self, settings: Settings) -> bool:
        """True when a stage runs models: the engine then uses an actor pool."""
        return any(s.models for s in self.active(settings))


class PhaseRunner:
    """One phase over batches: setups done once (per actor, or per task for model-free phases), then every
    batch through the active stages, fault-contained (`curate.faults.contain`): a record a stage fails on
    becomes a `processing_error` reject. `CURATE_FAULTS` points are the phase's name."""

    def __init__(self, phase: Phase, settings: Settings, fault_point: str | None = None) -> None:
        from curate.models.features import segments_for_batch

        self.phase, self.point = phase, fault_point or phase.name
        self.stages = phase.active(settings)
        states: dict[Callable[[Settings], Any], Any] = {}
        for s in self.stages:
            if s.setup is not None and s.setup not in states:
                states[s.setup] = s.setup(settings)
        self.states = [states[s.setup] if s.setup is not None else settings for s in self.stages]
        # models featurise the same words: segment a batch once for all of them (curate.models.features)
        self.shared = segments_for_batch if phase.needs_models(settings) else nullcontext

    def apply(self, table: pa.Table) -> pa.Table:
        """The stages over `table`, uncontained: an exception propagates (tests, `curate rules explain`)."""
        inject(self.point, table)
        with self.shared():
            for stage, state in zip(self.stages, self.states, strict=True):
                table = stage.apply(table, state)
        return table

    def _failed(self, row: pa.Table, summary: str) -> pa.Table:
        row = mark_failed(conform(row), summary)
        for stage, state in zip(self.stages, self.states, strict=True):
            if stage.on_failed:
                row = stage.apply(row, state)
        return row

    def __call__(self, batch: pa.Table) -> pa.Table:
        return contain(self.apply, batch, self._failed)


def describe(stages: Sequence[Stage | GlobalStep]) -> list[dict[str, Any]]:
    """Name, reads and adds of each stage, for docs and `curate rules explain`."""
    return [{"name": s.name, "reads": list(s.reads),
             "adds": list(s.adds) if isinstance(s, Stage) else [s.output]} for s in stages]


CONFORM = Stage("conform", reads=(), adds=(), apply=lambda table, _: conform(table))
"""Every record-schema column present, in schema order and type (work columns dropped)."""
