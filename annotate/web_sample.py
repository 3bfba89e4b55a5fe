"""Web documents' domain and quality: CLUECorpusSmall documents and CommonCrawl pages labelled by reading
with `classifiers/annotations/web-guide.md`.

Gold file `classifiers/annotations/web-hand-labels.jsonl`: references (data file, line index, sha1 of the
line), primary `domain`, all `domains`, `quality`, `part` and a short English note, never the text (the
`web/` files may not be redistributed). `part` is fixed by a hash of the reference (file and line) before
any label is read: `test` (about 45 %, the untouched part whose figures are reported) or `select` (training
and model selection).
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

if __name__ == "__main__":
    raise SystemExit(main(TASK, __doc__ or "", "web_sample.py"))
