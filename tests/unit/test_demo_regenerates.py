"""The committed demo corpus is exactly what demo/make_demo.py writes from demo/banks/ (no hand edits)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"
# the generator and its inputs; everything else under demo/ is generated data
SOURCES = {"make_demo.py", "banks"}


def committed_data() -> set[str]:
    """Paths (relative to demo/) of the generated files in the checkout."""
    return {
        p.relative_to(DEMO).as_posix()
        for p in DEMO.rglob("*")
        if p.is_file() and p.relative_to(DEMO).parts[0] not in SOURCES and "__pycache__" not in p.parts
    }


def test_generator_rewrites_every_committed_demo_file_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(DEMO / "make_demo.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=60)
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == committed_data()
    assert {"web.jsonl", "dialogues.jsonl", "chat_messages.jsonl", "sitcom.csv", "README.md"} <= written
    differ = [name for name in sorted(written) if (tmp_path / name).read_bytes() != (DEMO / name).read_bytes()]
    assert not differ, f"regenerate with `python demo/make_demo.py`: {differ} differ from the generator's output"
