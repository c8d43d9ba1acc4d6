"""One line format for benchmark results, so bench/run_all.py can gather every script's ratios into a table."""

from __future__ import annotations

PREFIX = "RESULT"


def result(bench: str, metric: str, value: str, target: str = "") -> None:
    """Print `RESULT | bench | metric | value | target` (value already formatted)."""
    print(f"{PREFIX} | {bench} | {metric} | {value} | {target}", flush=True)


def parse(line: str) -> tuple[str, str, str, str] | None:
    """The (bench, metric, value, target) of a RESULT line, else None."""
    parts = [p.strip() for p in line.split("|")]
    if len(parts) != 5 or parts[0] != PREFIX:
        return None
    return parts[1], parts[2], parts[3], parts[4]
