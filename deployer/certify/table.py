"""A certification's rows as fixed-width text: the API's ``table`` and what ``deployer certify`` prints.

One function makes the text for both, so the CLI and the API never disagree.
The rows are FaultOutcome.to_dict() as stored (JSON), read defensively: a
missing value shows as "-", an outage or a time to whole that never ended as
"never".
"""
from __future__ import annotations

from typing import Any, Iterable

# (heading, minimum width, right-aligned); the minimums fit the engine's fault names,
# so a row printed on its own (header() then line(row)) lines up like the table.
COLUMNS = (
    ("fault", 22, False),
    ("node", 12, False),
    ("token", 7, True),
    ("db write", 8, True),
    ("rpc", 7, True),
    ("rejoin stall", 12, True),
    ("lost writes", 11, True),
    ("lost messages", 13, True),
    ("time to whole", 13, True),
    ("result", 0, False),
)
NOTE = ("seconds; token, db write, rpc: the longest stall begun during the fault; rejoin stall: the "
        "longest begun once the node was restored, and its path; never = did not come back")


def seconds(value: Any) -> str:
    if value is None:
        return "never"
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "-"


def count(value: Any) -> str:
    return "-" if value is None or isinstance(value, bool) else str(value)


def cells(row: dict) -> list[str]:
    outage = row.get("outage") or {}
    lost = row.get("lost") or {}
    failures = [str(failure) for failure in row.get("failures") or []]
    return [str(row.get("fault") or "-"), str(row.get("node") or "-"),
            *(seconds(outage[path]) if path in outage else "-"
              for path in ("token", "db_write", "rpc")),
            _rejoin(row.get("rejoin") or {}),
            count(lost.get("db_writes")), count(lost.get("messages")),
            _time_to_whole(row),
            "; ".join(failures) if failures else "ok"]


def _rejoin(stalls: dict) -> str:
    """The worst path's stall after the restore, "9.3 token"; "-" when not measured."""
    if not stalls:
        return "-"
    if any(value is None for value in stalls.values()):
        return "never " + ", ".join(path for path, value in stalls.items() if value is None)
    path = max(stalls, key=lambda name: stalls[name])
    return f"{seconds(stalls[path])} {_SHORT.get(path, path)}"


_SHORT = {"db_write": "db"}


def _time_to_whole(row: dict) -> str:
    """None is "never" when the fault was measured, "-" when an error stopped it first."""
    if "time_to_whole" not in row or (row["time_to_whole"] is None and row.get("error")):
        return "-"
    return seconds(row["time_to_whole"])


def _widths(lines: Iterable[list[str]]) -> list[int]:
    widths = [max(minimum, len(heading)) for heading, minimum, _ in COLUMNS]
    for line in lines:
        widths = [max(width, len(cell)) for width, cell in zip(widths, line)]
    return widths


def _join(line: list[str], widths: list[int]) -> str:
    parts = [cell.rjust(width) if right else cell.ljust(width)
             for cell, width, (_, _, right) in zip(line, widths, COLUMNS)]
    return "  ".join(parts).rstrip()


def header(widths: list[int] | None = None) -> str:
    widths = widths or _widths([])
    return _join([heading for heading, _, _ in COLUMNS], widths) + "\n" + _join(
        ["-" * width for width in widths[:-1]] + ["-" * len(COLUMNS[-1][0])], widths)


def line(row: dict, widths: list[int] | None = None) -> str:
    """One row on its own (the CLI prints each as it arrives, under ``header()``)."""
    return _join(cells(row), widths or _widths([]))


def format_table(rows: list[dict]) -> str:
    """The whole table: header, one line per fault, the units; no trailing newline."""
    body = [cells(row) for row in rows]
    widths = _widths(body)
    lines = [header(widths), *(_join(cell_line, widths) for cell_line in body)]
    if not rows:
        lines.append("(no fault measured yet)")
    return "\n".join([*lines, NOTE])
