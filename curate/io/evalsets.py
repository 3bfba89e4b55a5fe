"""Evaluation files (`decontaminate.against`) read with the input readers, as the texts to index: the text of
each web record, the text of each turn of each dialogue. Read once, in the driver."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from curate.arrowutil import as_array, flat_children
from curate.io.readers import check_input, read_file
from curate.job import InputSpec, JobError

CHUNK_ROWS = 5000  # records per table read: bounds the driver's memory on a large evaluation set


@dataclass(frozen=True)
class EvalFile:
    """One evaluation file: its path, the name reports use, and the input spec that reads it."""

    path: str
    name: str
    spec: InputSpec


def eval_files(specs: list[InputSpec]) -> list[EvalFile]:
    """Every file of the `against` entries, named relative to the folder they all share (a lone file: its
    base name), so that names are unique and do not depend on where the data is mounted."""
    paths = [(p, s) for s in specs for p in s.files]
    base = os.path.commonpath([os.path.dirname(p) for p, _ in paths]) if len(paths) > 1 else ""
    return [EvalFile(p, os.path.relpath(p, base) if base else os.path.basename(p), s) for p, s in paths]


def check_eval_files(files: list[EvalFile]) -> None:
    """The readers' up-front configuration check on each evaluation file."""
    for f in files:
        check_input(f.path, f.spec)


def eval_texts(f: EvalFile, max_record_bytes: int) -> Iterator[tuple[pa.Array, int]]:
    """(texts, records) per table read from `f`: web texts, or every dialogue turn's text, of the records
    that read well (a malformed line of an evaluation file is skipped; it cannot contaminate)."""
    for table in read_file(f.path, f.spec, rel_name=f.name, max_record_bytes=max_record_bytes, chunk_rows=CHUNK_ROWS):
        table = table.filter(pc.is_null(table.column("drop_reason")))
        if f.spec.kind == "dialogue":
            values, _ = flat_children(table.column("turns"))
            texts = values.field("text")
        else:
            texts = as_array(table.column("text"))
        yield pc.drop_null(texts), table.num_rows


def no_text_error(f: EvalFile) -> JobError:
    """An evaluation file that gave no record: likely the wrong kind, field or style."""
    hint = ("give it as a mapping with kind: dialogue and its dialogue style" if f.spec.kind == "web"
            else "check its dialogue style and fields")
    return JobError(f"decontaminate.against: {f.path}: no record could be read as {f.spec.kind} "
                    f"(text_field {f.spec.text_field!r}); {hint}")
