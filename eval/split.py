"""Split eval/dev.jsonl into a tuning half and a held-out half, fixed and balanced by type.

Within each question type, in file order, the 1st, 3rd, 5th ... question goes to tune.jsonl
and the 2nd, 4th ... to heldout.jsonl. Tune kb on tune.jsonl only; report both. Rerun after
editing dev.jsonl: `python eval/split.py`.
"""

import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    seen: dict[str, int] = defaultdict(int)
    halves: dict[str, list[str]] = {"tune": [], "heldout": []}
    for line in (HERE / "dev.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        kind = json.loads(line)["type"]
        halves["tune" if seen[kind] % 2 == 0 else "heldout"].append(line)
        seen[kind] += 1
    for name, lines in halves.items():
        (HERE / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        print(f"{name}.jsonl: {len(lines)} questions")


if __name__ == "__main__":
    main()
