"""The record schema: loads schemas/record.json and derives the Arrow schema, label sets and field docs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa

from curate.assets import asset_dir

_SCALARS: dict[str, pa.DataType] = {
    "string": pa.string(),
    "bool": pa.bool_(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint64": pa.uint64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
}
_LIST = re.compile(r"^list<(.+)>$")


@dataclass(frozen=True)
class FieldSpec:
    """One documented field of the record (or of a nested struct)."""

    name: str
    type: str
    description: str
    group: str = ""
    nullable: bool = True
    labels: str | None = None
    signal: bool = False


@dataclass(frozen=True)
class RecordSchema:
    """The parsed schemas/record.json."""

    name: str
    version: str
    fields: tuple[FieldSpec, ...]
    structs: dict[str, tuple[FieldSpec, ...]]
    label_sets: dict[str, tuple[str, ...]]
    arrow: pa.Schema

    def field(self, name: str) -> FieldSpec:
        """The spec of top-level field `name`."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def signal_columns(self) -> list[str]:
        """Names of every rule-signal column, in schema order."""
        return [f.name for f in self.fields if f.signal]


def _field_specs(items: list[dict[str, Any]]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(**item) for item in items)


def _arrow_type(type_name: str, structs: dict[str, tuple[FieldSpec, ...]]) -> pa.DataType:
    if type_name in _SCALARS:
        return _SCALARS[type_name]
    m = _LIST.match(type_name)
    if m:
        return pa.list_(_arrow_type(m.group(1), structs))
    if type_name in structs:
        return pa.struct([pa.field(f.name, _arrow_type(f.type, structs), f.nullable) for f in structs[type_name]])
    raise ValueError(f"schemas/record.json: unknown type {type_name!r}")


def parse_schema(doc: dict[str, Any]) -> RecordSchema:
    """Build a RecordSchema from the JSON document (validates label references and types)."""
    structs = {name: _field_specs(items) for name, items in doc["structs"].items()}
    fields = _field_specs(doc["fields"])
    label_sets = {k: tuple(v) for k, v in doc["label_sets"].items()}
    for f in [*fields, *(sf for s in structs.values() for sf in s)]:
        if f.labels and f.labels not in label_sets:
            raise ValueError(f"schemas/record.json: field {f.name!r} names unknown label set {f.labels!r}")
    arrow = pa.schema(
        [pa.field(f.name, _arrow_type(f.type, structs), f.nullable) for f in fields],
        metadata={"curate.schema": doc["name"], "curate.schema_version": doc["version"]},
    )
    return RecordSchema(doc["name"], doc["version"], fields, structs, label_sets, arrow)


@cache
def record_schema() -> RecordSchema:
    """The record schema shipped with this curate (cached)."""
    doc = json.loads((asset_dir("schemas") / "record.json").read_text(encoding="utf-8"))
    return parse_schema(doc)


def arrow_schema() -> pa.Schema:
    """The explicit Arrow schema every writer passes."""
    return record_schema().arrow


def label_set(name: str) -> tuple[str, ...]:
    """A label set by name (emotion, dialogue_act, domain, ...): the one source of truth."""
    return record_schema().label_sets[name]


def label_map(name: str) -> dict[str, str]:
    """A named mapping between label sets (`emotion_coarse`: CPED's 13 emotions → EWECT's six), or {}."""
    return dict(_label_maps().get(name, {}))


@cache
def _label_maps() -> dict[str, dict[str, str]]:
    doc = json.loads((asset_dir("schemas") / "record.json").read_text(encoding="utf-8"))
    return doc.get("label_maps", {})


WORK_PREFIX = "_"  # work columns (MinHash signatures, ...) live only in OUT/_work checkpoints


# work column: the read task (input piece) a row came from, so the checkpoint writer can mark whole pieces done
PIECE = "_piece"


def conform(table: pa.Table, *, keep_work: bool = False) -> pa.Table:
    """Return `table` with exactly the record schema's columns, in order and type.

    Missing columns become nulls; present ones are cast (safe casts only), extra columns raise,
    so a typo in a stage's output column fails loudly instead of being dropped. Work columns
    (`_*`) are dropped, or kept after the record's columns with `keep_work`.
    """
    schema = arrow_schema()
    work = [c for c in table.column_names if c.startswith(WORK_PREFIX)]
    extra = set(table.column_names) - set(schema.names) - set(work)
    if extra:
        raise ValueError(f"columns not in schemas/record.json: {sorted(extra)}")
    n = table.num_rows
    columns = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            if col.type != field.type:
                col = col.cast(field.type)
            columns.append(col)
        else:
            columns.append(pa.nulls(n, field.type))
    out = pa.Table.from_arrays(columns, schema=schema)
    if keep_work:
        for c in work:
            out = out.append_column(c, table.column(c))
    return out


def render_docs() -> str:
    """Markdown documentation of every field and label set, generated from the schema."""
    rs = record_schema()
    lines = [
        f"# The curate record (`{rs.name}` {rs.version})",
        "",
        "Generated from `schemas/record.json` by `curate schema docs`; do not edit by hand.",
        "",
    ]
    group = None
    for f in rs.fields:
        if f.group != group:
            group = f.group
            lines += ["", f"## {group}", "", "| field | type | meaning |", "|---|---|---|"]
        labels = f" Labels: `{f.labels}`." if f.labels else ""
        null = "" if f.nullable else " Never null."
        lines.append(f"| `{f.name}` | `{f.type}` | {f.description}{labels}{null} |")
    for name, items in rs.structs.items():
        lines += ["", f"## struct `{name}`", "", "| field | type | meaning |", "|---|---|---|"]
        for f in items:
            labels = f" Labels: `{f.labels}`." if f.labels else ""
            lines.append(f"| `{f.name}` | `{f.type}` | {f.description}{labels} |")
    lines += ["", "## label sets", ""]
    for name, labels in rs.label_sets.items():
        lines.append(f"- `{name}` ({len(labels)}): " + ", ".join(f"`{x}`" for x in labels))
    return "\n".join(lines) + "\n"
