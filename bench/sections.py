"""A benchmark's own section of bench/results.md, between `<!-- NAME -->` markers, replaced on each run, so a
single benchmark can record its numbers without re-running the others (bench/run_all.py rewrites the file)."""

from __future__ import annotations

import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub markdown table; a `|` inside a cell (|κ|, |Δ|) is escaped so that it does not split the cell."""
    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section `name` of results.md with `body`, stamped with the time."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{body.strip()}\n\n_Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}._\n{end}"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
