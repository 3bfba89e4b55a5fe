"""What an export asks for: the format, the selection, the role map; validated once, with errors that name the option."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curate.io import paths

FORMATS = ("sharegpt", "messages", "alpaca", "parquet")
CONVERSATIONAL = ("sharegpt", "messages", "alpaca")
FILE_FORMATS = ("jsonl", "parquet")

# What a canonical dialogue role becomes in a conversation:
#   user / assistant  a turn on that side;  drop  the turn is left out;  skip  the whole dialogue is left out.
ROLE_TARGETS = ("user", "assistant", "drop", "skip")
DEFAULT_ROLES: dict[str, str] = {"seeker": "user", "supporter": "assistant", "other": "skip"}


class ExportError(ValueError):
    """A bad export request: an unknown column, a bad --where expression, a bad role mapping, a busy target."""


@dataclass(frozen=True)
class ExportSpec:
    """One export: OUT (a run folder or shards) → `to` in `format`, with the selection and conversion options.

    `where` is a SQL-ish boolean expression over the record's columns (parsed by `polars.sql_expr`);
    `sample`, `max_per_source` and `balance` are applied in that order after it: max_per_source first
    caps each source, balance then gives every value of the label column the same count, sample keeps N.
    All draws use one seeded permutation of the selected records sorted by (source, id), so the same
    OUT, options and seed give the same records whatever the shard order.
    """

    source: Path | str  # a local folder or file, or a URL (`curate.io.storage`)
    to: Path | str
    format: str = "sharegpt"
    where: str | None = None
    sample: int | None = None
    seed: int = 0
    max_per_source: int | None = None
    balance: str | None = None
    roles: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ROLES))
    system: str | None = None
    turn_tags: tuple[str, ...] = ()
    history: int = 9
    web_instruction: str | None = None
    file_format: str = "jsonl"
    name: str | None = None
    rows_per_file: int = 100_000
    batch_rows: int = 2_000
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ExportError(f"--format {self.format!r}: expected one of {', '.join(FORMATS)}")
        if self.file_format not in FILE_FORMATS:
            raise ExportError(f"--file-format {self.file_format!r}: expected one of {', '.join(FILE_FORMATS)}")
        for role, target in self.roles.items():
            if role not in DEFAULT_ROLES:
                raise ExportError(f"--role {role}={target}: unknown role {role!r} (roles: seeker, supporter, other)")
            if target not in ROLE_TARGETS:
                raise ExportError(f"--role {role}={target}: expected one of {', '.join(ROLE_TARGETS)}")
        for key, value in (("--sample", self.sample), ("--max-per-source", self.max_per_source),
                           ("--rows-per-file", self.rows_per_file), ("--batch-rows", self.batch_rows)):
            if value is not None and value < 1:
                raise ExportError(f"{key} {value}: must be at least 1")
        if self.history < 0:
            raise ExportError(f"--history {self.history}: must be 0 or more")

    @property
    def dataset_name(self) -> str:
        """The dataset's name in dataset_info.json and the card (default: the target folder's name)."""
        if self.name:
            return self.name
        return str(self.to).rstrip("/").rsplit("/", 1)[-1] if paths.is_url(self.to) else Path(self.to).resolve().name

    @property
    def needs_plan(self) -> bool:
        """Whether a first pass over (source, id) must decide the selection before the export pass."""
        return self.sample is not None or self.max_per_source is not None or self.balance is not None


def parse_roles(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`seeker=user`, `other=drop` ... over the defaults (seeker → user, supporter → assistant, other → skip)."""
    roles = dict(DEFAULT_ROLES)
    for item in items:
        role, sep, target = item.partition("=")
        if not sep:
            raise ExportError(f"--role {item!r}: expected ROLE=TARGET, e.g. other=drop")
        roles[role.strip()] = target.strip()
    return roles
