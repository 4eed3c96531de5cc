"""The human report every grading function prints: short lines, stdout only, a score at the end.

Nothing here writes to stderr (nbgrader scores a cell with any stderr output 0). The report is
printed once, at the end, so a grading function's output is never interleaved with anything.
"""

from __future__ import annotations

import sys

from ._pristine import BUILTINS

__all__ = ["BAD", "GOOD", "WARN", "Report", "format_points"]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

GOOD = "✓"
BAD = "✗"
WARN = "⚠"


def format_points(x: float) -> str:
    """``6.0``, ``4.5``, ``1.29``: at most two decimals, at least one."""
    text = f"{x:.2f}"
    if text.endswith("0"):
        text = text[:-1]
    return text


class Report:
    """Lines of a report; :meth:`finish` prints them and returns the score as a plain float."""

    def __init__(self, title: str) -> None:
        self.lines: list[str] = [title]

    def good(self, label: str, text: str = "correct", indent: int = 0) -> None:
        self.lines.append(f"{'  ' * indent}{GOOD} {label}: {text}")

    def bad(self, label: str, text: str, indent: int = 0) -> None:
        self.lines.append(f"{'  ' * indent}{BAD} {label}: {text}")

    def warn(self, text: str) -> None:
        self.lines.append(f"{WARN} {text}")

    def note(self, text: str, indent: int = 0) -> None:
        if text:
            self.lines.append(f"{'  ' * indent}{text}")

    def text(self) -> str:
        return "\n".join(self.lines)

    def finish(self, score: float, points: float) -> float:
        """Append ``score: s / p``, print the report to stdout, return ``float(score)``."""
        score = float(min(max(float(score), 0.0), float(points)))
        self.lines.append(f"score: {format_points(score)} / {format_points(float(points))}")
        text = self.text() + "\n"
        for stream in (sys.stdout, sys.__stdout__):
            try:
                stream.write(text)
                stream.flush()
                break
            except Exception:  # a student replaced sys.stdout by something broken
                continue
        return score
