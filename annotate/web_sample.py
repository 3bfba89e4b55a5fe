"""Web documents' domain and quality: CLUECorpusSmall documents and CommonCrawl pages labelled by reading
with `classifiers/annotations/web-guide.md`.

Gold file `classifiers/annotations/web-hand-labels.jsonl`: references (data file, line index, sha1 of the
line), primary `domain`, all `domains`, `quality`, `part` and a short English note, never the text (the
`web/` files may not be redistributed). `part` is fixed by a hash of the reference (file and line) before
any label is read: `test` (about 45 %, the untouched part whose figures are reported) or `select` (training
and model selection).

`--batch 2` is a fresh sample (`web-hand-labels-2.jsonl`, its own seed, every row `test`): 160 CLUECorpusSmall
documents that the first sample did not take, each read by two readers blind (the second reader's file is
`web-hand-labels-2-second.jsonl`, written with `--gold`). It measures the shipped models on documents that no
selection has read (the first sample's test part had been read for more than one model).
"""

from __future__ import annotations

import hashlib

from documents import DocumentTask, main

SEED = "curate-web-hand-labels-v1"
TEST_SHARE = 0.45
FILES = (("web/cluecorpussmall-a.txt", 450), ("web/cwt-commoncrawl-sample.jsonl", None))


def part_of(file: str, line: int) -> str:
    """`test` or `select`, from a hash of the reference alone."""
    h = int(hashlib.sha1(f"{SEED}:{file}:{line}".encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < TEST_SHARE else "select"


TASK = DocumentTask(files=FILES, gold="web-hand-labels.jsonl", seed=SEED, part_of=part_of)
TASK_2 = DocumentTask(files=(("web/cluecorpussmall-a.txt", 160),), gold="web-hand-labels-2.jsonl",
                      seed="curate-web-hand-labels-v2", part_of=lambda file, line: "test", after=TASK)
TASKS = {1: TASK, 2: TASK_2}

if __name__ == "__main__":
    raise SystemExit(main(TASKS, __doc__ or "", "web_sample.py"))
