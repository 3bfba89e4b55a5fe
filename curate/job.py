"""The job spec: load a job YAML, validate it into typed objects (errors name the key), resolve defaults."""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from curate.assets import resolve_asset
from curate.io import paths
from curate.models.abstention import CONFIDENCE_KEYS, check_min_confidence
from curate.pii.config import load_pii_rules
from curate.pii.spec import PiiSpec, PiiSpecError, parse_pii


class JobError(ValueError):
    """A problem with the job configuration or its inputs, found before any work starts."""


class RunError(RuntimeError):
    """The run started but could not finish (a write failed); what is done stays, for a resumed rerun."""


FORMATS = ("jsonl", "parquet", "text", "csv")
KINDS = ("web", "dialogue")
DIALOGUE_STYLES = ("turns", "sharegpt", "messages", "xtuner", "csv")
TEXT_MODES = ("file", "blank_line")
ROLES = ("seeker", "supporter", "other")
# Character encodings of text inputs (JSONL, text, CSV; Parquet is UTF-8 by definition). `auto` decides per
# file: a byte-order mark, else UTF-8 or GB18030 by the file's first MB (curate/io/encoding.py).
ENCODINGS = ("auto", "utf-8", "gb18030", "utf-16")
DEFAULT_ENCODING = "auto"
# Other spellings a job may use: GBK and GB2312 are subsets of GB18030, so a GB18030 reader reads them.
_ENCODING_ALIASES = {"utf8": "utf-8", "gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "utf16": "utf-16"}

# Raw role spellings of the sources we know (see DESIGN's role table); a job's `roles:` adds or overrides.
DEFAULT_ROLE_MAP: dict[str, str] = {
    "client": "seeker", "来访者": "seeker", "seeker": "seeker", "usr": "seeker", "user": "seeker",
    "human": "seeker", "input": "seeker",
    "counselor": "supporter", "咨询师": "supporter", "supporter": "supporter", "listener": "supporter",
    "sys": "supporter", "assistant": "supporter", "gpt": "supporter", "output": "supporter",
    "system": "other", "observation": "other", "function_call": "other",
}

# Per dialogue style: where the turns live and how a turn names its speaker and text.
STYLE_DEFAULTS: dict[str, dict[str, str]] = {
    "turns": {"turns_field": "turns", "speaker_field": "role", "text_field": "content"},
    "sharegpt": {"turns_field": "conversations", "speaker_field": "from", "text_field": "value"},
    "messages": {"turns_field": "messages", "speaker_field": "role", "text_field": "content"},
    "xtuner": {"turns_field": "conversation", "speaker_field": "", "text_field": ""},
    "csv": {"group_field": "Dialogue_ID", "speaker_field": "Speaker", "text_field": "Utterance"},
}

# CPED's CSV layout (one utterance per row), the reference for the `csv` dialogue style's defaults.
CPED_COLUMNS = (
    "TV_ID", "Dialogue_ID", "Utterance_ID", "Speaker", "Gender", "Age", "Neuroticism", "Extraversion", "Openness",
    "Agreeableness", "Conscientiousness", "Scene", "FacePosition_LU", "FacePosition_RD", "Sentiment", "Emotion",
    "DA", "Utterance",
)

_EXT_FORMAT = {
    ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet",
    ".txt": "text", ".text": "text", ".md": "text", ".csv": "csv",
}


def detect_format(path: str) -> str | None:
    """Input format from the file name (compression suffixes .gz/.zst/.bz2 are looked through)."""
    name = path.lower()
    for comp in (".gz", ".zst", ".zstd", ".bz2"):
        if name.endswith(comp):
            name = name[: -len(comp)]
    return _EXT_FORMAT.get(Path(name).suffix)


@dataclass
class DialogueSpec:
    """How to find turns in a dialogue input."""

    style: str = "turns"
    turns_field: str = ""
    speaker_field: str = ""
    text_field: str = ""
    group_field: str = ""  # csv: the dialogue id column
    order_field: str = ""  # csv: optional column to sort utterances by (default: file order)
    roles: dict[str, str] = field(default_factory=dict)

    def role_of(self, raw: str | None) -> str:
        """Canonical role of a raw role/speaker spelling."""
        if raw is None:
            return "other"
        key = str(raw)
        return self.roles.get(key) or DEFAULT_ROLE_MAP.get(key) or DEFAULT_ROLE_MAP.get(key.lower(), "other")


@dataclass
class InputSpec:
    """One input of a job: a path or glob and how to read its records."""

    path: str
    kind: str
    name: str
    format: str | None = None
    text_field: str = "text"
    id_field: str | None = None
    url_field: str | None = None
    text_mode: str = "file"
    encoding: str = DEFAULT_ENCODING
    dialogue: DialogueSpec | None = None
    license: str | None = None
    files: list[str] = field(default_factory=list)  # resolved, sorted

    def format_of(self, path: str) -> str:
        """Format of one of this input's files."""
        fmt = self.format or detect_format(path)
        if fmt is None:
            raise JobError(f"inputs[{self.name}].format: cannot tell the format of {path}; set format: one of {FORMATS}")
        return fmt


@dataclass
class NormalizeSpec:
    """Normalisation options."""

    nfkc: bool = True
    to_simplified: bool = False


DEFAULT_SHARD_ROWS = 5000  # records per output shard


@dataclass
class DedupSpec:
    """Duplicate removal across the whole run (see curate/stages/dedup.py)."""

    exact: bool = True
    near: bool = True
    threshold: float = 0.8  # target Jaccard similarity of character n-gram sets
    ngram: int = 5
    num_perm: int = 128
    bands: int | None = None  # None: chosen from threshold and num_perm (datasketch's optimal routine)
    rows: int | None = None
    fn_weight: float = 0.8  # weight of false negatives when choosing bands: candidates are verified after
    seed: int = 1

    def bands_rows(self) -> tuple[int, int]:
        """(bands, rows) for LSH."""
        if self.bands and self.rows:
            return self.bands, self.rows
        from datasketch import MinHashLSH

        # datasketch's public index chooses (b, r) by its weighted false-positive/negative optimum
        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm, weights=(1.0 - self.fn_weight, self.fn_weight))
        return lsh.b, lsh.r


DECONTAMINATE_MODES = ("drop", "flag")


@dataclass
class DecontamSpec:
    """Records sharing text with evaluation sets (see curate/stages/decontaminate.py).

    A record is contaminated when one of its texts (the text of a web record, each turn of a dialogue) shares
    at least `threshold` consecutive character `ngram`-grams (of the compact text, as dedup's shingles) with
    the evaluation texts: an overlap of `threshold + ngram - 1` characters. `threshold: 1` is any shared
    n-gram; the default is measured in bench/decontam.py.
    """

    against: list[InputSpec] = field(default_factory=list)
    ngram: int = 13
    threshold: int = 20
    mode: str = "drop"  # drop: reject as `contaminated`; flag: keep, with `contaminated_by` set


@dataclass
class ModelSpec:
    """A model the job runs for one task: its card, for binary tasks an optional threshold override, for tags
    an optional `min_confidence` override (and `record_min_confidence` for a help-seeker dialogue's record-level
    tag), a `spoken`
    card for turns whose role is `other` (TV-show and chat-script dialogue) and a `web` card for the sentences
    of web records (seekers' and supporters' turns keep `card`, as does web text when there is no `web` card);
    for risk, whether a `high` record is rejected (`drop`, reason `risk_high`)."""

    card: str
    threshold: float | None = None
    min_confidence: float | dict[str, float] | None = None
    spoken: str | None = None
    drop: bool = False
    web: str | None = None
    # the record-level tag's own override for help-seekers' dialogues (emotion, sentiment: the weighted mean over
    # their seeker turns); other records keep min_confidence
    record_min_confidence: float | dict[str, float] | None = None


@dataclass
class RiskSpec:
    """The job's `risk:` option: tag help-seekers' turns with a crisis-risk level (`tag`), and reject the
    records whose level is `high` (`drop`: reason `risk_high`) or keep them flagged (the default)."""

    tag: bool = True
    drop: bool = False
    card: str = "risk.yaml"


def default_scores() -> dict[str, ModelSpec]:
    """Every scoring task with its shipped card (`classifiers/TASK.yaml`)."""
    from curate.models import SCORE_TASKS

    return {task: ModelSpec(f"{task}.yaml") for task in SCORE_TASKS}


def default_tags() -> dict[str, ModelSpec]:
    """Every tagging task (per turn and per speaker) with its shipped card."""
    from curate.models import SPEAKER_TASKS, TURN_TASKS

    return {task: ModelSpec(f"{task}.yaml") for task in (*TURN_TASKS, *SPEAKER_TASKS)}


REGISTERS = ("spoken", "web")  # a tagging task's models besides its written card (`classifiers/TASK-REGISTER.yaml`)


def _register_partner(task: str, register: str) -> str | None:
    """The shipped card of a tagging task for another register (`classifiers/TASK-spoken.yaml`,
    `TASK-web.yaml`), if there is one."""
    try:
        return str(resolve_asset(f"{task}-{register}.yaml", "classifiers"))
    except FileNotFoundError:
        return None


@dataclass
class Job:
    """A validated job."""

    name: str
    inputs: list[InputSpec]
    output: str
    rules: list[str]
    normalize: NormalizeSpec = field(default_factory=NormalizeSpec)
    pii: PiiSpec = field(default_factory=PiiSpec)
    dedup: DedupSpec = field(default_factory=DedupSpec)
    decontaminate: DecontamSpec | None = None
    scores: dict[str, ModelSpec] = field(default_factory=default_scores)
    tags: dict[str, ModelSpec] = field(default_factory=default_tags)
    risk: RiskSpec = field(default_factory=RiskSpec)
    shard_rows: int = DEFAULT_SHARD_ROWS
    max_record_bytes: int = 8_000_000
    limit: int | None = None
    ray_address: str | None = None
    num_cpus: int | None = None
    source_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data view (for --dry-run and the manifest)."""
        return asdict(self)

    def config_hash(self) -> str:
        """Hash of everything that changes the output: the config and the rule files' contents."""
        d = self.to_dict()
        for key in ("output", "source_path", "ray_address", "num_cpus"):
            d.pop(key, None)
        h = hashlib.sha256(json.dumps(d, sort_keys=True, ensure_ascii=False).encode())
        for rule_file in self.rules:
            path = resolve_asset(rule_file, "rules")
            h.update(path.read_bytes())
            words = path.parent / "words"
            if words.is_dir():
                for w in sorted(words.glob("*.txt")):
                    h.update(w.name.encode() + w.read_bytes())
        if self.pii.mode != "off":  # the PII settings and the surname list change what is redacted
            for path in load_pii_rules(self.pii.config).files:
                h.update(Path(path).read_bytes())
        for task, spec in sorted({**self.scores, **self.tags}.items()):  # a retrained model changes the output
            h.update(task.encode() + resolve_asset(spec.card, "classifiers").read_bytes())
        if "risk" in self.tags:  # so does an edited cue lexicon, which the risk decision reads at run time
            from curate.models.card import read_card
            from curate.models.training_data import training_asset

            cues = read_card(resolve_asset(self.tags["risk"].card, "classifiers")).decision.get("cues")
            if cues:
                h.update(training_asset(str(cues)).read_bytes())
        return h.hexdigest()[:16]


_JOB_KEYS = {"name", "inputs", "output", "rules", "normalize", "pii", "dedup", "decontaminate", "scores", "tags",
             "risk", "shard_rows", "max_record_bytes", "limit", "ray"}
_DECONTAMINATE_KEYS = {"against", "ngram", "threshold", "mode"}
_DEDUP_KEYS = {"exact", "near", "threshold", "ngram", "num_perm", "bands", "rows", "fn_weight", "seed"}
_INPUT_KEYS = {"path", "kind", "name", "source", "format", "text_field", "id_field", "url_field", "text_mode",
               "encoding", "dialogue", "license"}
_DIALOGUE_KEYS = {"style", "turns_field", "speaker_field", "text_field", "group_field", "order_field", "roles"}


def _check_keys(d: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise JobError(f"{where}: expected a mapping, got {type(d).__name__}")
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise JobError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return d


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise JobError(f"{where}: {value!r} is not one of {list(choices)}")
    return value


def _checked_url(value: str, where: str) -> str:
    """`value` as given when it is an object-store URL curate can use (credentials in it are refused)."""
    try:
        paths.check_url(value)
    except paths.StorageURLError as e:
        raise JobError(f"{where}: {e}") from None
    return value


def _absolute(value: str, where: str, base: Path | None = None) -> str:
    """A path as workers find it: a URL as given (`file://` read as the path it names), a local path made
    absolute (from `base`, else the working folder): on a cluster workers run from other folders."""
    if paths.is_url(value):
        return _checked_url(value, where)
    p = Path(paths.local(value)).expanduser()
    return str(((base / p) if base is not None and not p.is_absolute() else p).resolve())


def _resolve_url_files(pattern: str, where: str) -> list[str]:
    """The objects an input URL names: an object, every input-format object under a prefix, or a glob."""
    from curate.io import storage  # pyarrow: not for --help or --dry-run on local files

    _checked_url(pattern, f"{where}.path")
    try:
        if paths.has_glob(pattern):
            files = storage.glob_url(pattern)
        elif storage.is_file(pattern):
            files = [pattern]
        else:
            files = [f for f in storage.files_under(pattern) if detect_format(f.rsplit("/", 1)[1])]
    except OSError as e:
        raise JobError(f"{where}.path: cannot list {pattern}: {e}") from None
    if not files:
        raise JobError(f"{where}.path: no input files match {pattern!r}")
    return files


def _resolve_files(pattern: str, base: Path, where: str) -> list[str]:
    if paths.is_url(pattern):
        return _resolve_url_files(pattern, where)
    p = Path(paths.local(pattern)).expanduser()
    if not p.is_absolute():
        p = base / p
    if p.is_dir():
        files = sorted(str(x) for x in p.rglob("*") if x.is_file() and detect_format(x.name))
    elif any(ch in str(p) for ch in "*?["):
        files = sorted(x for x in glob.glob(str(p), recursive=True) if Path(x).is_file())
    else:
        files = [str(p)] if p.is_file() else []
    if not files:
        raise JobError(f"{where}.path: no input files match {pattern!r} (resolved as {p})")
    return [os.path.realpath(f) for f in files]


def _encoding(value: Any, where: str) -> str:
    """A job's `encoding:` as one of ENCODINGS (any case; gbk, gb2312 and cp936 read as gb18030)."""
    name = str(value).strip().lower().replace("_", "-")
    return _choice(_ENCODING_ALIASES.get(name, name), ENCODINGS, where)


def _parse_dialogue(d: Any, where: str) -> DialogueSpec:
    d = _check_keys(d or {}, _DIALOGUE_KEYS, where)
    style = _choice(d.get("style", "turns"), DIALOGUE_STYLES, f"{where}.style")
    spec = DialogueSpec(style=style, **STYLE_DEFAULTS[style])
    for key in ("turns_field", "speaker_field", "text_field", "group_field", "order_field"):
        if key in d:
            setattr(spec, key, str(d[key]))
    roles = d.get("roles") or {}
    if not isinstance(roles, dict):
        raise JobError(f"{where}.roles: expected a mapping raw role -> seeker|supporter|other")
    for raw, role in roles.items():
        _choice(role, ROLES, f"{where}.roles.{raw}")
    spec.roles = {str(k): v for k, v in roles.items()}
    return spec


def _parse_input(d: Any, index: int, base: Path, where: str | None = None) -> InputSpec:
    where = where or f"inputs[{index}]"
    d = _check_keys(d, _INPUT_KEYS, where)
    if "path" not in d:
        raise JobError(f"{where}.path: required")
    kind = _choice(d.get("kind", "web"), KINDS, f"{where}.kind")
    name = str(d.get("name") or d.get("source") or Path(str(d["path"])).stem.split(".")[0] or f"input{index}")
    fmt = d.get("format")
    if fmt is not None:
        _choice(fmt, FORMATS, f"{where}.format")
    spec = InputSpec(
        path=str(d["path"]),
        kind=kind,
        name=name,
        format=fmt,
        text_field=str(d.get("text_field", "text")),
        id_field=d.get("id_field"),
        url_field=d.get("url_field"),
        text_mode=_choice(d.get("text_mode", "file"), TEXT_MODES, f"{where}.text_mode"),
        encoding=_encoding(d.get("encoding", DEFAULT_ENCODING), f"{where}.encoding"),
        license=d.get("license"),
    )
    if kind == "dialogue":
        spec.dialogue = _parse_dialogue(d.get("dialogue"), f"{where}.dialogue")
    elif "dialogue" in d:
        raise JobError(f"{where}.dialogue: only for kind: dialogue")
    spec.files = _resolve_files(spec.path, base, where)
    for f in spec.files:
        fmt_f = spec.format_of(f)
        if kind == "dialogue" and spec.dialogue and (fmt_f == "csv") != (spec.dialogue.style == "csv"):
            raise JobError(f"{where}.dialogue.style: {spec.dialogue.style!r} does not fit {fmt_f} file {f}")
    return spec


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise JobError(f"{where}: expected a positive integer, got {value!r}")
    return value


def _unit_float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise JobError(f"{where}: expected a number between 0 and 1, got {value!r}")
    return float(value)


def _parse_dedup(d: Any) -> DedupSpec:
    d = _check_keys(d if d is not None else {}, _DEDUP_KEYS, "dedup")
    spec = DedupSpec()
    for key in ("exact", "near"):
        if key in d:
            if not isinstance(d[key], bool):
                raise JobError(f"dedup.{key}: expected true or false, got {d[key]!r}")
            setattr(spec, key, d[key])
    for key in ("threshold", "fn_weight"):
        if key in d:
            setattr(spec, key, _unit_float(d[key], f"dedup.{key}"))
    for key in ("ngram", "num_perm", "bands", "rows", "seed"):
        if d.get(key) is not None:
            setattr(spec, key, _positive_int(d[key], f"dedup.{key}"))
    if (spec.bands is None) != (spec.rows is None):
        raise JobError("dedup.bands and dedup.rows: give both or neither")
    b, r = spec.bands_rows()
    if b * r > spec.num_perm:
        raise JobError(f"dedup: bands × rows = {b * r} exceeds num_perm = {spec.num_perm}")
    return spec


def _first_record_keys(path: str, fmt: str) -> set[str]:
    """The fields of the first record of an uncompressed JSONL or a Parquet file, local or at a URL (empty when
    unknown)."""
    from curate.io import storage  # pyarrow: only a job with evaluation files given as plain paths needs it

    try:
        if fmt == "parquet":
            return set(storage.read_schema(path).names)
        if fmt == "jsonl" and detect_format(path) == "jsonl" and Path(path).suffix.lower() in (".jsonl", ".ndjson"):
            with storage.open_input(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig") as f:
                for line in f:
                    if line.strip():
                        first = json.loads(line)
                        return set(first) if isinstance(first, dict) else set()
    except (OSError, ValueError):
        pass  # the reader reports an unreadable file
    return set()


def _guess_eval_input(path: str, index: int, base: Path) -> dict[str, Any]:
    """An `against` entry given as a plain path, as an input mapping: the format from the extension; a JSONL or
    Parquet file whose first record has no `text` but a dialogue style's turn list is read as dialogues."""
    doc: dict[str, Any] = {"path": path, "name": f"against{index}"}
    files = _resolve_files(path, base, f"decontaminate.against[{index}]")
    fmt = detect_format(files[0])
    keys = _first_record_keys(files[0], fmt or "")
    if "text" not in keys:
        for style in ("turns", "sharegpt", "messages", "xtuner"):
            if STYLE_DEFAULTS[style]["turns_field"] in keys:
                return {**doc, "kind": "dialogue", "dialogue": {"style": style}}
    return doc


def _parse_decontaminate(d: Any, base: Path) -> DecontamSpec | None:
    """`decontaminate:` → DecontamSpec (None when absent or false)."""
    if d is None or d is False:
        return None
    d = _check_keys(d, _DECONTAMINATE_KEYS, "decontaminate")
    against = d.get("against")
    if isinstance(against, str | dict):
        against = [against]
    if not isinstance(against, list) or not against:
        raise JobError("decontaminate.against: a list of evaluation files (paths, globs or input mappings) is required")
    spec = DecontamSpec()
    for i, item in enumerate(against):
        where = f"decontaminate.against[{i}]"
        if isinstance(item, str):
            item = _guess_eval_input(item, i, base)
        elif not isinstance(item, dict):
            raise JobError(f"{where}: expected a path or an input mapping (path, kind, format, ...), got {item!r}")
        spec.against.append(_parse_input({"name": f"against{i}", **item}, i, base, where))
    for key in ("ngram", "threshold"):
        if key in d:
            setattr(spec, key, _positive_int(d[key], f"decontaminate.{key}"))
    spec.mode = _choice(d.get("mode", spec.mode), DECONTAMINATE_MODES, "decontaminate.mode")
    return spec


def parse_models(d: Any, defaults: dict[str, ModelSpec], section: str) -> dict[str, ModelSpec]:
    """`scores:` / `tags:` → task → ModelSpec. Absent: every task with its shipped card; false: none; a mapping:
    the tasks it lists (a card name, a mapping of settings, or true for the shipped card), the others off."""
    from curate.models.card import CardError, read_card

    if d is None:  # every shipped model that is on by default (a card says `default_on: false` and why)
        d = {task: spec.card for task, spec in defaults.items() if _default_on(spec.card)}
    if d is False:
        return {}
    d = _check_keys(d, set(defaults), section)
    out: dict[str, ModelSpec] = {}
    for task, value in d.items():
        where = f"{section}.{task}"
        if value is None or value is False:
            continue
        if value is True:  # the task with its shipped card
            value = {}
        if not isinstance(value, str | dict):
            raise JobError(f"{where}: a card file name, a mapping (card, threshold, min_confidence, "
                           f"record_min_confidence, spoken, web), true (the "
                           f"shipped card) or false (off); got {value!r}")
        item = {"card": value} if isinstance(value, str) else \
            _check_keys(value, {"card", "threshold", *CONFIDENCE_KEYS, *REGISTERS}, where)
        card = item.get("card", f"{task}.yaml")
        try:
            path = resolve_asset(card, "classifiers")
            model_card = read_card(path)
        except (FileNotFoundError, CardError) as e:
            raise JobError(f"{where}.card: {e}") from None
        if model_card.task != task:
            raise JobError(f"{where}.card: {path} is a card for task {model_card.task!r}, not {task!r}")
        threshold = item.get("threshold")
        if threshold is not None:
            threshold = _unit_float(threshold, f"{where}.threshold")
        min_conf, record_conf = (_min_confidence(item.get(key), model_card.labels, f"{where}.{key}")
                                 for key in CONFIDENCE_KEYS)
        partners: dict[str, str | None] = {}
        for register in REGISTERS:
            other = item.get(register, _register_partner(task, register) if section == "tags" else None)
            if other:
                try:
                    other_card = read_card(resolve_asset(other, "classifiers"))
                except (FileNotFoundError, CardError) as e:
                    raise JobError(f"{where}.{register}: {e}") from None
                if other_card.task != task:
                    raise JobError(f"{where}.{register}: {other_card.path} is a card for task {other_card.task!r}, "
                                   f"not {task!r}")
                other = other if paths.is_url(other) else str(other_card.path)
            partners[register] = other or None
        # a URL stays one: each worker fetches the card itself (the driver's copy is not on other nodes)
        out[task] = ModelSpec(card if paths.is_url(card) else str(path), threshold, min_conf, **partners,
                              record_min_confidence=record_conf)
    return out


def _min_confidence(value: Any, labels: list[str], where: str) -> float | dict[str, float] | None:
    """A job's `min_confidence` / `record_min_confidence`: one number, or per label as a card may give it."""
    if isinstance(value, dict):
        try:
            return check_min_confidence(value, labels, where)
        except ValueError as e:
            raise JobError(str(e)) from None
    return None if value is None else _unit_float(value, where)


def _default_on(card: str) -> bool:
    from curate.models.card import CardError, read_card

    try:
        return read_card(resolve_asset(card, "classifiers")).default_on
    except (FileNotFoundError, CardError):
        return True  # a missing card is reported by the parse that follows


def parse_risk(d: Any) -> RiskSpec:
    """`risk:` → RiskSpec. Absent: tag, keep (`{tag: true, drop: false}`); false: off; `{tag, drop, card}`."""
    if d is None:
        return RiskSpec()
    if d is False:
        return RiskSpec(tag=False)
    d = _check_keys(d, {"tag", "drop", "card"}, "risk")
    spec = RiskSpec()
    for key in ("tag", "drop"):
        if key in d:
            if not isinstance(d[key], bool):
                raise JobError(f"risk.{key}: expected true or false, got {d[key]!r}")
            setattr(spec, key, d[key])
    if spec.drop and not spec.tag:
        raise JobError("risk.drop: true needs risk.tag: true (a record's risk is only known when it is tagged)")
    if "card" in d:
        spec.card = str(d["card"])
    return spec


def with_risk(tags: dict[str, ModelSpec], risk: RiskSpec) -> dict[str, ModelSpec]:
    """The job's taggers plus the risk tagger when `risk.tag` (its own switch: `tags: false` leaves it on)."""
    from curate.models.card import CardError, read_card

    if not risk.tag:
        return tags
    try:
        card = read_card(resolve_asset(risk.card, "classifiers"))
    except (FileNotFoundError, CardError) as e:
        raise JobError(f"risk.card: {e}") from None
    if card.task != "risk":
        raise JobError(f"risk.card: {card.path} is a card for task {card.task!r}, not 'risk'")
    return {**tags, "risk": ModelSpec(risk.card if paths.is_url(risk.card) else str(card.path), drop=risk.drop)}


def _rule_file(r: Any, where: str) -> str:
    """A job's rule file as Ray workers will load it again: a shipped rule set by its name (every node's
    install has it), a file found from the working folder by its absolute path, since on a cluster a
    worker's working folder is not the driver's (it would miss the file, or silently take the shipped
    rule set of the same name)."""
    if not isinstance(r, str):
        raise JobError(f"{where}: expected a rule file name or path, got {r!r}")
    try:
        path = resolve_asset(r, "rules")
    except FileNotFoundError as e:
        raise JobError(f"{where}: {e}") from None
    return str(path) if Path(r).expanduser().exists() else r


def parse_job(doc: Any, base: Path, source_path: str | None = None) -> Job:
    """Validate a job document; relative input paths are taken from `base` (the job file's folder)."""
    doc = _check_keys(doc, _JOB_KEYS, "job")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise JobError("inputs: a non-empty list of inputs is required")
    specs = [_parse_input(d, i, base) for i, d in enumerate(inputs)]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise JobError(f"inputs: names must be unique, got {names}")
    owner: dict[str, str] = {}
    for spec in specs:  # a file read twice would collide in the output; ask for one input per file
        for f in spec.files:
            if f in owner:
                raise JobError(f"inputs[{spec.name}].path: {f} is already read by input {owner[f]!r}")
            owner[f] = spec.name
    rules = doc.get("rules", ["default.yaml", "dialogue.yaml"])
    if isinstance(rules, str):
        rules = [rules]
    if not isinstance(rules, list):
        raise JobError(f"rules: expected a list of rule files, got {rules!r}")
    rules = [_rule_file(r, f"rules[{i}]") for i, r in enumerate(rules)]
    norm = _check_keys(doc.get("normalize") or {}, {"nfkc", "to_simplified"}, "normalize")
    ray_cfg = _check_keys(doc.get("ray") or {}, {"address", "num_cpus"}, "ray")
    if ray_cfg.get("num_cpus") is not None:
        _positive_int(ray_cfg["num_cpus"], "ray.num_cpus")
    if ray_cfg.get("address") is not None and not isinstance(ray_cfg["address"], str):
        raise JobError(f"ray.address: expected a string like ray://host:10001 or auto, got {ray_cfg['address']!r}")
    dedup = _parse_dedup(doc.get("dedup"))
    decontaminate = _parse_decontaminate(doc.get("decontaminate"), base)
    for i, spec in enumerate(decontaminate.against if decontaminate else []):
        for f in spec.files:  # every record of that input would be rejected
            if f in owner:
                raise JobError(f"decontaminate.against[{i}]: {f} is an input of this job ({owner[f]!r})")
    try:
        pii = parse_pii(doc.get("pii"))
    except PiiSpecError as e:
        raise JobError(str(e)) from None
    risk = parse_risk(doc.get("risk"))
    name = str(doc.get("name") or (Path(source_path).stem if source_path else "job"))
    job = Job(
        name=name,
        inputs=specs,
        # absolute: Ray workers write the shards there, and on a cluster they work from another folder
        output=_absolute(str(doc.get("output") or f"out/{name}"), "output"),
        rules=rules,
        normalize=NormalizeSpec(nfkc=bool(norm.get("nfkc", True)), to_simplified=bool(norm.get("to_simplified", False))),
        pii=pii,
        dedup=dedup,
        decontaminate=decontaminate,
        scores=parse_models(doc.get("scores"), default_scores(), "scores"),
        tags=with_risk(parse_models(doc.get("tags"), default_tags(), "tags"), risk),
        risk=risk,
        shard_rows=_positive_int(doc.get("shard_rows", DEFAULT_SHARD_ROWS), "shard_rows"),
        max_record_bytes=_positive_int(doc.get("max_record_bytes", 8_000_000), "max_record_bytes"),
        limit=_positive_int(doc["limit"], "limit") if doc.get("limit") is not None else None,
        ray_address=ray_cfg.get("address"),
        num_cpus=ray_cfg.get("num_cpus"),
        source_path=source_path,
    )
    return job


def _override_inputs(inputs: list[dict[str, Any]], given: list[str]) -> list[dict[str, Any]]:
    by_name = {str(d.get("name") or d.get("source") or Path(str(d.get("path", ""))).stem.split(".")[0]): d
               for d in inputs}
    for item in given:
        name, sep, path = item.partition("=")
        # PATH alone (a path may hold "=" itself: then it is a path when no input has the name before it)
        bare = not sep or (name not in by_name and bool(glob.glob(str(Path(item).expanduser()))))
        if bare:
            if len(inputs) != 1:
                raise JobError(f"--input {item}: the job has {len(inputs)} inputs, so name one: NAME=PATH "
                               f"with NAME in {sorted(by_name)}")
            name, path = next(iter(by_name)), item
        if name not in by_name:
            raise JobError(f"--input {item}: no input named {name!r}; inputs: {sorted(by_name)}")
        by_name[name]["path"] = _absolute(path, f"--input {item}")
    return inputs


def load_job(path: str | Path, *, inputs: list[str] | None = None, output: str | None = None,
             address: str | None = None) -> Job:
    """Load and validate a job YAML file, with the command line's overrides.

    Input paths in the file are relative to the file; `output` and overriding paths to the working folder.
    """
    p = resolve_asset(path, "jobs").resolve()
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise JobError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise JobError(f"{p}: a job file is a YAML mapping")
    if inputs:
        doc["inputs"] = _override_inputs(list(doc.get("inputs") or []), inputs)
    if output or doc.get("output"):
        doc["output"] = _absolute(str(output or doc["output"]), "output")
    if address:
        doc["ray"] = {**(doc.get("ray") or {}), "address": address}
    return parse_job(doc, p.parent, str(p))
