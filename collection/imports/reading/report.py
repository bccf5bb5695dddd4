"""The outcome of one import: rows accepted, rows rejected and warnings, with reasons.

Memory stays bounded for any file: each list keeps the first ``max_issues`` entries
(10,000 by default) and only counts the rest; the CSV says how many were left out.

The downloadable CSV is meant to be opened in Excel or LibreOffice by the user, so:
``;`` as separator, UTF-8 with a BOM (without it Excel reads Windows-1252), CRLF line
ends, pt-BR headers, and every text cell that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or CR, or their full-width forms, also
after leading spaces) is prefixed with ``'``, which spreadsheets show as text. Header
texts and contract codes come from the uploaded file, so this matters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TextIO

from collection.imports.reading.rows import ImportRow, RowIssue, Severity

__all__ = ["Amount", "ImportReport", "decimal_comma", "neutralize_formula", "spreadsheet_csv"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_KIND_LABELS = {Severity.REJECTED: "rejeitada", Severity.WARNING: "aviso"}


def neutralize_formula(text: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would otherwise evaluate as a formula."""
    if text.startswith(_FORMULA_START) or text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


class Amount(str):
    """Money already written for a spreadsheet (``1234,56``): a number, never a formula."""

    __slots__ = ()


def decimal_comma(cents: int) -> Amount:
    """Centavos as a pt-BR decimal without thousands marks, which spreadsheets read as a
    number: ``123456`` → ``1234,56``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return Amount(f"{sign}{whole},{frac:02d}")


def write_spreadsheet_csv(
    stream: TextIO, header: Sequence[str], rows: Iterable[Iterable[object]]
) -> None:
    """The CSV every export uses: ``;``, UTF-8 with BOM, CRLF, as spreadsheets in Brazil
    open it. Text cells are neutralised (never run as formulas); numbers and
    ``Amount`` cells are written as they are."""
    stream.write("\ufeff")
    writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralize_formula(h) for h in header])
    for row in rows:
        writer.writerow(
            [
                cell if isinstance(cell, Amount | int) else neutralize_formula(str(cell))
                for cell in row
            ]
        )


def spreadsheet_csv(header: Sequence[str], rows: Iterable[Iterable[object]]) -> bytes:
    """``write_spreadsheet_csv`` into bytes, for a download."""
    buffer = io.StringIO(newline="")
    write_spreadsheet_csv(buffer, header, rows)
    return buffer.getvalue().encode("utf-8")


class ImportReport:
    """Accumulates the outcome of an import; ``as_dict()`` is the summary's core."""

    def __init__(self, max_issues: int = 10_000) -> None:
        self.max_issues = max_issues
        self.accepted = 0
        self.rejected_rows = 0
        self.rejected_total = 0
        self.warnings_total = 0
        self._rejected: list[RowIssue] = []
        self._warnings: list[RowIssue] = []
        self._last_rejected_line = -1

    def record(self, item: ImportRow | RowIssue) -> None:
        """Count an accepted row or store an issue.

        ``ImportReader`` already records everything it yields into its own report; call
        this only for a report built by hand.
        """
        if isinstance(item, RowIssue):
            self._add(item)
        else:
            self.accepted += 1

    def reject(self, line: int, field: str, reason: str, *, was_accepted: bool = False) -> None:
        """Reject a row for a reason found later (by the database step, say).

        ``was_accepted=True`` takes the row back out of the accepted count.
        """
        if was_accepted:
            self.accepted -= 1
        self._add(RowIssue(line, field, reason, Severity.REJECTED))

    def warn(self, line: int, field: str, reason: str) -> None:
        """Add a warning that does not change whether the row is accepted."""
        self._add(RowIssue(line, field, reason, Severity.WARNING))

    def _add(self, issue: RowIssue) -> None:
        if issue.severity is Severity.WARNING:
            self.warnings_total += 1
            if len(self._warnings) < self.max_issues:
                self._warnings.append(issue)
            return
        self.rejected_total += 1
        if issue.line != self._last_rejected_line:
            self.rejected_rows += 1
            self._last_rejected_line = issue.line
        if len(self._rejected) < self.max_issues:
            self._rejected.append(issue)

    @property
    def rejected(self) -> list[dict[str, int | str]]:
        """Stored rejections as ``{"line", "field", "reason"}``, in line order."""
        return [issue.as_dict() for issue in sorted(self._rejected, key=_line)]

    @property
    def warnings(self) -> list[dict[str, int | str]]:
        """Stored warnings as ``{"line", "field", "reason"}``, in line order."""
        return [issue.as_dict() for issue in sorted(self._warnings, key=_line)]

    @property
    def issues(self) -> list[RowIssue]:
        """Stored rejections and warnings together, in line order."""
        return sorted((*self._rejected, *self._warnings), key=_line)

    @property
    def omitted(self) -> int:
        """Issues counted but not stored because the lists were full."""
        return (self.rejected_total - len(self._rejected)) + (
            self.warnings_total - len(self._warnings)
        )

    def as_dict(self) -> dict[str, object]:
        """``{"accepted": n, "rejected": [...], "warnings": [...]}`` as the issue shapes it."""
        return {"accepted": self.accepted, "rejected": self.rejected, "warnings": self.warnings}

    def write_csv(self, stream: TextIO) -> None:
        """Write the report for spreadsheets (see the module docstring) to a text stream.

        Open a file for it with ``newline=""`` and ``encoding="utf-8"``: the BOM is
        written here.
        """
        rows: list[list[object]] = [
            [issue.line, _KIND_LABELS[issue.severity], issue.field, issue.reason]
            for issue in self.issues
        ]
        if self.omitted:
            rows.append(
                [
                    "",
                    "",
                    "",
                    f"outros {self.omitted} problemas não foram listados (o relatório guarda "
                    f"as primeiras {self.max_issues} rejeições e os primeiros "
                    f"{self.max_issues} avisos)",
                ]
            )
        write_spreadsheet_csv(stream, ["Linha", "Tipo", "Campo", "Motivo"], rows)

    def to_csv(self) -> str:
        """The CSV report as text, BOM included."""
        buffer = io.StringIO(newline="")
        self.write_csv(buffer)
        return buffer.getvalue()

    def to_csv_bytes(self) -> bytes:
        """The CSV report as the UTF-8 bytes to download."""
        return self.to_csv().encode("utf-8")


def _line(issue: RowIssue) -> int:
    return issue.line
