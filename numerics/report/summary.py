"""What a build did: one :class:`NotebookRun` per notebook, and the :class:`ReportSummary`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from numerics.ledger import LedgerRow, Verdict
from numerics.report.notebooks import ClaimSection

__all__ = ["NotebookRun", "ReportSummary", "verdict_counts", "verdict_label"]


def verdict_label(verdict: object) -> str:
    """A verdict as text: a :class:`Verdict`'s value, or the string itself for a verdict this
    module does not know (the ledger may grow new ones)."""
    return str(getattr(verdict, "value", verdict))


def verdict_counts(rows: Iterable[LedgerRow]) -> dict[str, int]:
    """How many rows have each verdict: every known verdict in :class:`Verdict`'s order (zeros
    included), then any other verdict string in the order it first appears."""
    counts = {v.value: 0 for v in Verdict}
    for row in rows:
        label = verdict_label(row.verdict)
        counts[label] = counts.get(label, 0) + 1
    return counts


@dataclass
class NotebookRun:
    """The outcome of executing and rendering one notebook."""

    path: Path
    passed: bool = False
    seconds: float = 0.0
    error: str | None = None
    page: str | None = None  # file name of the rendered page, relative to the site
    claims: list[str] = field(default_factory=list)
    sections: list[ClaimSection] = field(default_factory=list)  # claim sections and anchors
    reused: bool = False  # taken from the checkpoint of an interrupted build, not executed now

    @property
    def name(self) -> str:
        """The notebook's stem, ``NN_topic``."""
        return self.path.stem


@dataclass
class ReportSummary:
    """What ``build_report`` did: the runs, the ledger, and where the site is."""

    out: Path
    profile: str
    runs: list[NotebookRun]
    ledger: list[LedgerRow]
    seconds: float

    @property
    def passed(self) -> bool:
        """True when every notebook executed without error and rendered to a clean page."""
        return all(r.passed for r in self.runs)

    def format(self) -> str:
        """A plain-text summary: one line per notebook, failures with their error, the site."""
        lines = [f"report ({self.profile} profile, {self.seconds:.0f} s):"]
        for r in self.runs:
            mark = "passed" if r.passed else "FAILED"
            reused = "  (reused)" if r.reused else ""
            lines.append(f"  {mark:<7} {r.name:<28} {r.seconds:7.1f} s{reused}")
            if r.error:
                lines += [f"          {line}" for line in r.error.strip().splitlines()[-12:]]
        counts = verdict_counts(self.ledger)
        lines.append("  ledger: " + (", ".join(f"{n} {k}" for k, n in counts.items() if n)
                                     or "not computed"))
        reused = [r.name for r in self.runs if r.reused]
        if reused:
            lines.append("  reused from the checkpoint of an interrupted build (not executed "
                         "again): " + ", ".join(reused))
        n_ok = sum(r.passed for r in self.runs)
        lines.append(f"{n_ok}/{len(self.runs)} notebooks passed; site: {self.out / 'index.html'}")
        return "\n".join(lines)
