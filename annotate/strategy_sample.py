"""Support strategies: SMILECHAT counselor turns labelled by hand with `classifiers/annotations/strategy-guide.md`.

Gold file `classifiers/annotations/strategy-hand-labels.jsonl`: references (dialogue id, turn, sha1), label
and a short note, never the text. All of it is the strategy tagger's valid set (the tagger trains on weak
labels only).
"""

from __future__ import annotations

from turns import TurnTask, main

TASK = TurnTask(role="counselor", label_set="strategy", gold="strategy-hand-labels.jsonl",
                seed="curate-strategy-hand-labels-v1", dialogues=66, per_dialogue=5)

if __name__ == "__main__":
    raise SystemExit(main(TASK, __doc__ or "", "strategy_sample.py"))
