"""Are two runs' outputs the same, byte for byte? Compares every kept shard, reject shard and per-shard stats file.

    python bench/same_output.py OUT_BEFORE OUT_AFTER

Prints a table (files per folder, identical, differing, missing on either side) and exits 1 on any difference.
Used to check that a refactor changes no output (the run's manifest holds times and paths, so it is not compared).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

FOLDERS = ("data", "rejects", "stats")


def digests(out: Path, folder: str) -> dict[str, str]:
    """sha256 of every file under OUT/folder, by name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / folder).glob("*")) if p.is_file()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    for out in (args.before, args.after):
        if not any((out / "data").glob("*.parquet")):
            print(f"no shards under {out / 'data'}: not a run's output folder, or the run failed", file=sys.stderr)
            return 2
    rows, same = [], True
    for folder in FOLDERS:
        a, b = digests(args.before, folder), digests(args.after, folder)
        identical = sum(1 for k in a if b.get(k) == a[k])
        differ = sorted(k for k in a if k in b and b[k] != a[k])
        rows.append((folder, len(a), len(b), identical, len(differ), len(set(a) - set(b)), len(set(b) - set(a))))
        same &= identical == len(a) == len(b)
        for k in differ[:5]:
            print(f"  differs: {folder}/{k}")
    print(f"{'folder':8} {'before':>7} {'after':>7} {'identical':>10} {'differ':>7} {'only before':>12} {'only after':>11}")
    for r in rows:
        print(f"{r[0]:8} {r[1]:7d} {r[2]:7d} {r[3]:10d} {r[4]:7d} {r[5]:12d} {r[6]:11d}")
    print("same output, byte for byte" if same else "OUTPUTS DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
