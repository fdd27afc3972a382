"""Where a py-spy profile's samples go, as text (collapsed stacks from `py-spy record
--format raw`, e.g. `bench/imap_stress.py --profile prof.txt`).

    python bench/profile_summary.py prof-open.txt [--top 30] [--under mss/imap]

Prints the share of samples per thread, per function by itself (self) and with what it
calls (inclusive), and per "first MSS frame below the event loop" (which part of MSS
the time is spent for, SQLAlchemy and the standard library included).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<name>.*) \((?P<where>[^()]*?)(?::\d+)?\)$")


def parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        head, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        stacks.append((head.split(";"), int(count)))
    return stacks


def function_of(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    return f"{match['name']} ({match['where']})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--under", default="mss/",
                        help="a file prefix: the first frame under it names the part")
    args = parser.parse_args()
    stacks = parse(args.profile)
    total = sum(count for _, count in stacks) or 1
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    for frames, count in stacks:
        thread = next((f for f in frames if f.startswith("thread ")), "thread ?")
        threads[thread] += count
        calls = [function_of(f) for f in frames
                 if not f.startswith(("process ", "thread "))]
        if calls:
            own[calls[-1]] += count
        for name in set(calls):
            inclusive[name] += count
        deepest = [c for c in calls if f"({args.under}" in c]
        parts[deepest[-1] if deepest else "(outside " + args.under + ")"] += count
    print(f"{total} samples")
    for title, table in (("threads", threads), ("self", own), ("inclusive", inclusive),
                         (f"deepest frame under {args.under}", parts)):
        print(f"\n-- {title}")
        for name, count in table.most_common(args.top):
            print(f"{100 * count / total:6.1f}%  {name[:150]}")


if __name__ == "__main__":
    main()
