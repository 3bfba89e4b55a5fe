"""Export for trainers: select records of a run by a --where expression (and seeded sampling), write them as
LLaMA-Factory sharegpt, chat messages, alpaca or Parquet, with dataset_info.json and a dataset card.

Modules: spec (options and validation), select (the --where expression and the sampling plan), convert
(records → trainer rows, vectorised), write (files, batch by batch), stats and card (what the card says),
run (the two passes)."""

from curate.export.run import ExportResult, export_run
from curate.export.spec import FORMATS, ExportError, ExportSpec, parse_roles

__all__ = ["FORMATS", "ExportError", "ExportResult", "ExportSpec", "export_run", "parse_roles"]
