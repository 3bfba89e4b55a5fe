"""Help-seekers' emotions: SMILECHAT client turns labelled by reading with `classifiers/annotations/emotion-guide.md`.

Gold file `classifiers/annotations/emotion-hand-labels.jsonl`: references (dialogue id, turn, sha1), label,
`part` and a short English note, never the text. `part` is fixed by the dialogue id before any label is
read: `test` (about 40 %, the untouched part whose figures are reported) or `select` (model selection and,
where it helps, training); both parts of one dialogue never mix.
"""

from __future__ import annotations

import hashlib

from turns import TurnTask, main

SEED = "curate-emotion-hand-labels-v1"
TEST_SHARE = 0.4


def part_of(dialogue_id: str) -> str:
    """`test` or `select`, from a hash of the dialogue id alone."""
    h = int(hashlib.sha1(f"{SEED}:{dialogue_id}".encode()).hexdigest()[:8], 16)
    return "test" if h / 0xFFFFFFFF < TEST_SHARE else "select"


# 225 dialogues (857 turns): the first 150 (570 turns) were the original sample; random.sample's draws are a
# prefix of the larger draw, so growing the count only appends turns and keeps every recorded index
TASK = TurnTask(role="client", label_set="emotion", gold="emotion-hand-labels.jsonl", seed=SEED,
                dialogues=225, per_dialogue=4, part_of=part_of)

if __name__ == "__main__":
    raise SystemExit(main(TASK, __doc__ or "", "emotion_sample.py"))
