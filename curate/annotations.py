"""Hand labels stored as references to SMILECHAT (and EmoLLM) turns or web documents, and the checks that keep them honest.

The gold files in `classifiers/annotations/` never hold text: each row names a SMILECHAT dialogue
(`smilechat-N`) or an EmoLLM one (`emollm-I`, its position in `data.json`) as `dialogue_id`, a 0-based `turn` index and `sha1`, the first 12 hex digits of the sha1 of that turn's
content (UTF-8), plus its `label` (and, for sets with an untouched test part, its `part`). The text is read
from the data root and checked against the sha1 here; the training builders, `curate eval` and the
annotation tools in `annotate/` all resolve references through this module.

Web documents (`web-hand-labels.jsonl`) are referenced the same way: `file` (a data file under the data
root: one document per line, or a JSONL of CCNet pages whose text is `raw_content`), a 0-based `line`, and
`sha1`, the first 12 hex digits of the sha1 of that line's UTF-8 text without its newline; the labels are
`domain` (primary), `domains` (all that apply, primary first) and `quality` (`QUALITY_LEVELS`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.assets import data_root, resolve_asset
from curate.render import xtuner_turns

SMILECHAT = "smilechat/dialogues.jsonl"
EMOLLM = "emollm/data.json"
# the help-seeker's role as each source spells it (SMILECHAT's `role`, EmoLLM's xtuner key)
SEEKER_ROLES = ("client", "input")


@dataclass(frozen=True)
class GoldTurn:
    """One resolved gold row: where it is, its text, label and part (`select` or `test`)."""

    dialogue_id: str
    turn: int
    text: str
    label: str
    part: str
    role: str
    extra: Mapping[str, Any] = field(default_factory=dict)  # the row's other fields (stratum, span, note)


def sha12(text: str) -> str:
    """The reference hash of a turn: first 12 hex digits of the sha1 of its content (UTF-8)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def seeker_sha12(turns: list[dict]) -> str:
    """The reference hash of a dialogue's seeker text: `sha12` of its seeker turns' contents (`SEEKER_ROLES`)
    joined by "\\n", in order; what a record-level gold row stores."""
    return sha12("\n".join(t["content"] for t in turns if t["role"] in SEEKER_ROLES))


def load_smilechat(path: Path) -> dict[str, list[dict]]:
    """SMILECHAT dialogue id → its turns, in file order, read in place."""
    with path.open(encoding="utf-8") as f:
        return {str(d["id"]): d["turns"] for d in (json.loads(line) for line in f if line.strip())}


def load_emollm(path: Path) -> dict[str, list[dict]]:
    """EmoLLM dialogue id (`emollm-I`, I its 0-based position in the file) → its turns as the pipeline reads
    them (style xtuner: the system prompt when set, then each item's input and output), role = the key."""
    with path.open(encoding="utf-8") as f:
        data = json.load(f)
    return {f"emollm-{i}": [{"role": k, "content": v} for k, v in xtuner_turns(item.get("conversation", []))]
            for i, item in enumerate(data)}


def load_dialogues(data_root: Path, sources: Collection[str] = (SMILECHAT,)) -> dict[str, list[dict]]:
    """Dialogue id → turns over the given sources (`SMILECHAT`, `EMOLLM`; their ids never collide)."""
    loaders = {SMILECHAT: load_smilechat, EMOLLM: load_emollm}
    out: dict[str, list[dict]] = {}
    for src in sources:
        out.update(loaders[src](data_root / src))
    return out


def read_rows(path: Path) -> list[dict]:
    """The rows of a gold file."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def append_rows(lines: list[str], gold: Path, key_of: Callable[[dict], Hashable],
                make_row: Callable[[str], dict | None]) -> int:
    """Append to a gold file one row per label line (blank lines and `#` comments skipped), made by
    `make_row(line)`, leaving out a row whose `key_of` the file already holds; the count added. Every annotation
    tool records through here."""
    done = {key_of(r) for r in read_rows(gold)} if gold.exists() else set()
    gold.parent.mkdir(parents=True, exist_ok=True)
    added = 0
    with gold.open("a", encoding="utf-8") as out:
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            row = make_row(line)
            if row is None or key_of(row) in done:
                continue
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            done.add(key_of(row))
            added += 1
    return added


def gold_file(name: str | Path) -> Path:
    """A gold file by path, or by name under `classifiers/annotations/`."""
    path = Path(name)
    return path if path.is_file() else resolve_asset(Path("annotations") / path.name, "classifiers")


def problems(rows: list[dict], dialogues: dict[str, list[dict]], role: str | Collection[str] | None,
             labels: Collection[str] | None, part_of: Callable[[str], str] | None = None) -> list[str]:
    """What is wrong with gold rows, as "line N: …": an unknown dialogue or turn, a turn of another role (one
    role, or any of several), a sha1 that no longer matches the data, a label outside `labels`, a wrong part,
    a duplicate (`None` skips the role or label check)."""
    roles = {role} if isinstance(role, str) else role
    out, seen = [], set()
    for n, row in enumerate(rows, 1):
        did, turn = row.get("dialogue_id"), row.get("turn")
        turns = dialogues.get(did)
        if turns is None or not isinstance(turn, int) or not 0 <= turn < len(turns):
            out.append(f"line {n}: no turn {turn!r} in dialogue {did!r}")
            continue
        t = turns[turn]
        if roles is not None and t["role"] not in roles:
            out.append(f"line {n}: {did} turn {turn} is a {t['role']} turn, not a {' or '.join(sorted(roles))} turn")
        if sha12(t["content"]) != row.get("sha1"):
            out.append(f"line {n}: sha1 mismatch for {did} turn {turn} (file {row.get('sha1')}, data "
                       f"{sha12(t['content'])}): the data changed or the reference is wrong")
        if labels is not None and row.get("label") not in labels:
            out.append(f"line {n}: label {row.get('label')!r} is not one of {sorted(labels)}")
        if part_of is not None and row.get("part") != part_of(did):
            out.append(f"line {n}: part {row.get('part')!r}, expected {part_of(did)!r}")
        if (did, turn) in seen:
            out.append(f"line {n}: duplicate {did} turn {turn}")
        seen.add((did, turn))
    return out


PARTS = ("select", "test")  # a gold row's part: model selection, or the untouched figures


def dialogue_problems(rows: list[dict], dialogues: dict[str, list[dict]], sha: Callable[[list[dict]], str],
                      field: str, allowed: Collection[Any], part_of: Callable[[str], str] | None = None) -> list[str]:
    """What is wrong with rows that label whole dialogues, as "line N: …": an unknown dialogue, a sha1 (`sha`
    of its turns) that no longer matches the data, a `field` value outside `allowed`, a part other than
    select/test (or than `part_of` gives), a duplicate."""
    out, seen = [], set()
    for n, row in enumerate(rows, 1):
        did = row.get("dialogue_id")
        turns = dialogues.get(did)
        if turns is None:
            out.append(f"line {n}: no dialogue {did!r}")
            continue
        if sha(turns) != row.get("sha1"):
            out.append(f"line {n}: sha1 mismatch for {did} (file {row.get('sha1')}, data {sha(turns)}): "
                       "the data changed or the reference is wrong")
        if row.get(field) not in allowed:
            shown = sorted(allowed) if all(isinstance(a, str) for a in allowed) else list(allowed)
            out.append(f"line {n}: {field} {row.get(field)!r} is not one of {shown}")
        if row.get("part") not in PARTS or (part_of is not None and row.get("part") != part_of(did)):
            out.append(f"line {n}: part {row.get('part')!r}" + (f", expected {part_of(did)!r}" if part_of else ""))
        if did in seen:
            out.append(f"line {n}: duplicate {did}")
        seen.add(did)
    return out


def resolve(path: Path, dialogues: dict[str, list[dict]], role: str | Collection[str] | None = None,
            labels: Collection[str] | None = None) -> list[GoldTurn]:
    """The rows of gold file `path` with their text; the first problem is an error naming the file and line."""
    rows = read_rows(path)
    found = problems(rows, dialogues, role, labels)
    if found:
        raise ValueError(f"{path}: {found[0]}" + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""))
    turns = [dialogues[r["dialogue_id"]][r["turn"]] for r in rows]
    known = {"dialogue_id", "turn", "sha1", "label", "part"}
    return [GoldTurn(r["dialogue_id"], r["turn"], t["content"], r["label"], r.get("part", "test"), t["role"],
                     {k: v for k, v in r.items() if k not in known})
            for r, t in zip(rows, turns, strict=True)]


def _first_row_has(path: Path, keys: set[str]) -> bool:
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    with path.open(encoding="utf-8") as f:
        first = next((line for line in f if line.strip()), "")
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(row, dict) and keys <= set(row)


def is_reference_file(path: Path) -> bool:
    """True when `path` is a JSONL of turn references (its first row has `dialogue_id`, `turn`, `sha1`)."""
    return _first_row_has(path, {"dialogue_id", "turn", "sha1"})


def is_record_reference_file(path: Path) -> bool:
    """True when `path` is a JSONL of whole-dialogue labels (`curate.record_gold`: its first row has
    `dialogue_id`, `sha1` and `label`, no `turn`)."""
    return _first_row_has(path, {"dialogue_id", "sha1", "label"}) and not _first_row_has(path, {"turn"})


def read_gold_turns(name: str | Path, data_root: Path, role: str | Collection[str] | None = None,
                    labels: Collection[str] | None = None, sources: Collection[str] = (SMILECHAT,)) -> list[GoldTurn]:
    """Resolve a gold file (a path, or a name under `classifiers/annotations/`) against SMILECHAT (and the
    other `sources`, e.g. EMOLLM)."""
    return resolve(gold_file(name), load_dialogues(data_root, sources), role, labels)


# ---------------------------------------------------------------- web documents

QUALITY_LEVELS = ("low", "medium", "high")  # a reader's quality rating, worst first (web-guide.md §3)


@dataclass(frozen=True)
class GoldDocument:
    """One resolved web-document gold row: where it is, its text and labels, and its part."""

    file: str
    line: int
    text: str
    domain: str
    domains: tuple[str, ...]
    quality: str
    part: str


def read_lines(path: Path) -> list[str]:
    """The lines of a data file, without their newlines (split on "\n" only, as the file was written)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def document_text(file: str, line: str) -> str:
    """The document a line holds: a CCNet page's `raw_content` (`.jsonl`), else the line itself."""
    return str(json.loads(line)["raw_content"]) if file.endswith(".jsonl") else line


def document_problems(rows: list[dict], lines_of: Callable[[str], list[str]], domains: Collection[str],
                      part_of: Callable[[str, int], str] | None = None) -> list[str]:
    """What is wrong with web-document gold rows, as "line N: …": an unknown file or line, a sha1 that no
    longer matches, a domain or quality outside its set, a primary domain not first in `domains`, a wrong
    part, a duplicate."""
    out, seen = [], set()
    for n, row in enumerate(rows, 1):
        file, line = row.get("file"), row.get("line")
        try:
            lines = lines_of(str(file))
        except OSError:
            out.append(f"line {n}: no data file {file!r}")
            continue
        if not isinstance(line, int) or not 0 <= line < len(lines):
            out.append(f"line {n}: no line {line!r} in {file}")
            continue
        if sha12(lines[line]) != row.get("sha1"):
            out.append(f"line {n}: sha1 mismatch for {file} line {line} (file {row.get('sha1')}, data "
                       f"{sha12(lines[line])}): the data changed or the reference is wrong")
        doms = row.get("domains") or []
        if row.get("domain") not in domains or not doms or doms[0] != row.get("domain") \
                or any(d not in domains for d in doms) or len(set(doms)) != len(doms):
            out.append(f"line {n}: domain {row.get('domain')!r} / domains {doms!r}: each one of {sorted(domains)}, "
                       "the primary first, no repeats")
        if row.get("quality") not in QUALITY_LEVELS:
            out.append(f"line {n}: quality {row.get('quality')!r} is not one of {list(QUALITY_LEVELS)}")
        if part_of is not None and row.get("part") != part_of(str(file), line):
            out.append(f"line {n}: part {row.get('part')!r}, expected {part_of(str(file), line)!r}")
        if (file, line) in seen:
            out.append(f"line {n}: duplicate {file} line {line}")
        seen.add((file, line))
    return out


def is_document_reference_file(path: Path) -> bool:
    """True when `path` is a JSONL of web-document references (its first row has `file`, `line`, `sha1`)."""
    return _first_row_has(path, {"file", "line", "sha1"})


def read_gold_documents(name: str | Path, data_root: Path) -> list[GoldDocument]:
    """Resolve a web-document gold file (a path, or a name under `classifiers/annotations/`) against the data
    root; the first problem is an error naming the file and line."""
    from curate.schema import label_set

    path = gold_file(name)
    rows = read_rows(path)
    cache: dict[str, list[str]] = {}

    def lines_of(file: str) -> list[str]:
        if file not in cache:
            cache[file] = read_lines(data_root / file)
        return cache[file]

    found = document_problems(rows, lines_of, set(label_set("domain")))
    if found:
        raise ValueError(f"{path}: {found[0]}" + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""))
    return [GoldDocument(r["file"], r["line"], document_text(r["file"], lines_of(r["file"])[r["line"]]), r["domain"],
                         tuple(r["domains"]), r["quality"], r.get("part", "test")) for r in rows]


def gold_parser(doc: str, gold_name: str, count: int) -> argparse.ArgumentParser:
    """The command line of a whole-dialogue sampler in `annotate/` (show, record, check, stats over one gold
    file, by default `classifiers/annotations/GOLD_NAME`; `show` prints `count` dialogues at a time)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["show", "record", "check", "stats"])
    ap.add_argument("--data-root", type=Path, default=data_root())
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=count)
    ap.add_argument("--gold", type=Path, default=None, help=f"gold file (default classifiers/annotations/{gold_name})")
    return ap
