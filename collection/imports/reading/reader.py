"""The entry points: ``open_import`` to read a whole file, ``preview`` for the portal.

The header is the first non-empty row that provides every required field; titles or
notes above it (up to ``ImportLimits.header_search_rows`` rows) are skipped with a
warning. When no row qualifies, the row with the most recognised headers is taken, and
``open_import`` raises ``MissingColumnsError`` listing what was found, while ``preview``
returns the headers so the portal can offer the mapping form.

Nothing here touches a database: the caller stages the ``ImportRow``s and rolls back if
``ImportFileError`` comes out of the iteration (a CSV malformed half-way).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO

from collection.imports.reading.columns import (
    FIELD_LABELS,
    ColumnMapping,
    ColumnPlan,
    Field,
    plan_columns,
)
from collection.imports.reading.errors import FileProblem, ImportFileError, MissingColumnsError
from collection.imports.reading.limits import DEFAULT_LIMITS, ImportLimits
from collection.imports.reading.report import ImportReport
from collection.imports.reading.rows import ImportRow, RowIssue, RowValidator, Severity
from collection.imports.reading.sniff import FileKind
from collection.imports.reading.tables import ImportSource, RawTable, Record, open_table
from collection.imports.reading.values import is_blank

__all__ = ["ImportPreview", "ImportReader", "MappingLike", "open_import", "preview"]

MappingLike = ColumnMapping | Mapping[str, str | None] | None


@dataclass(slots=True)
class _Opened:
    """A file whose header was found: the table, where it is, what is left to read."""

    table: RawTable
    to_close: BinaryIO | None
    header_line: int
    plan: ColumnPlan
    pending: list[Record]  # the first data row, read while checking there is one
    warnings: list[RowIssue]

    def release(self) -> None:
        if self.to_close is not None:
            self.to_close.close()
            self.to_close = None


def _as_mapping(mapping: MappingLike) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    return ColumnMapping.from_dict(mapping)


def _find_header(
    records: Iterator[Record], mapping: ColumnMapping | None, search: int
) -> tuple[int, ColumnPlan, list[Record]]:
    """Header line, its plan, and the first data row (none when only a header)."""
    candidates: list[tuple[int, ColumnPlan]] = []
    for line, cells in records:
        if is_blank(cells):
            continue
        plan = plan_columns(cells, mapping)
        if not plan.missing:
            for data_line, data_cells in records:
                if not is_blank(data_cells):
                    return line, plan, [(data_line, data_cells)]
            return line, plan, []
        candidates.append((line, plan))
        if len(candidates) >= search:
            break
    if not candidates:
        raise ImportFileError("O arquivo está vazio.", FileProblem.EMPTY)
    line, plan = max(candidates, key=lambda item: (len(item[1].indexes), -item[0]))
    return line, plan, []


def _open(
    source: ImportSource, mapping: MappingLike, limits: ImportLimits, strict: bool
) -> _Opened:
    table, to_close = open_table(source, limits)
    try:
        header_line, plan, pending = _find_header(
            table.records, _as_mapping(mapping), limits.header_search_rows
        )
        warnings = [
            RowIssue(header_line, plan.headers[index], reason, Severity.WARNING)
            for index, reason in plan.ignored
        ]
        if header_line > 1:
            warnings.insert(
                0,
                RowIssue(
                    1,
                    "",
                    f"as linhas acima do cabeçalho (linha {header_line}) foram ignoradas",
                    Severity.WARNING,
                ),
            )
        if plan.missing and strict:
            raise _missing_columns(plan, header_line)
        if not plan.missing and not pending:
            raise ImportFileError(
                "O arquivo só tem o cabeçalho, sem nenhuma linha de dados.",
                FileProblem.HEADER_ONLY,
            )
    except BaseException:
        if to_close is not None:
            to_close.close()
        raise
    return _Opened(table, to_close, header_line, plan, pending, warnings)


def _missing_columns(plan: ColumnPlan, header_line: int) -> MissingColumnsError:
    missing = ", ".join(FIELD_LABELS[f] for f in plan.missing)
    found = ", ".join(repr(h) for h in plan.headers if h) or "nenhuma"
    return MissingColumnsError(
        f"Não encontrei no cabeçalho (linha {header_line}) as colunas de: {missing}. "
        f"Colunas encontradas: {found}. Indique no portal qual coluna corresponde a cada "
        "campo, ou renomeie as colunas.",
        headers=plan.headers,
        missing=[f.value for f in plan.missing],
        header_line=header_line,
    )


class ImportReader:
    """An opened import file: what was detected, and its rows, read once, in order.

    Iterating yields ``ImportRow`` for each accepted row and ``RowIssue`` for each
    rejection or warning (a row's warnings come just before it), and records all of them
    in ``report``. File-level warnings (ignored columns) are in ``file_warnings`` and
    already in ``report``. Use it as a context manager, or call ``close()``.
    """

    def __init__(self, opened: _Opened, *, today: dt.date, report: ImportReport) -> None:
        self._opened = opened
        self._validator = RowValidator(opened.plan, today=today)
        self._started = False
        self.report = report
        self.file_warnings: tuple[RowIssue, ...] = tuple(opened.warnings)
        for warning in self.file_warnings:
            report.record(warning)

    @property
    def kind(self) -> FileKind:
        """``FileKind.CSV`` or ``FileKind.XLSX``."""
        return self._opened.table.kind

    @property
    def encoding(self) -> str | None:
        """The CSV codec used (``utf-8``, ``utf-8-sig``, ``cp1252``, ``utf-16``)."""
        return self._opened.table.encoding

    @property
    def delimiter(self) -> str | None:
        """The CSV separator found."""
        return self._opened.table.delimiter

    @property
    def sheet(self) -> str | None:
        """The XLSX worksheet read."""
        return self._opened.table.sheet

    @property
    def header_line(self) -> int:
        """The line of the header row (1 unless titles were above it)."""
        return self._opened.header_line

    @property
    def headers(self) -> tuple[str, ...]:
        """The header texts, as written in the file."""
        return self._opened.plan.headers

    @property
    def mapping(self) -> dict[Field, str]:
        """Field → header text of the column that feeds it."""
        return self._opened.plan.mapping

    def __iter__(self) -> Iterator[ImportRow | RowIssue]:
        return self._iterate(with_issues=True)

    def rows(self) -> Iterator[ImportRow]:
        """Only the accepted rows; issues still go to ``report``."""
        return self._iterate(with_issues=False)  # type: ignore[return-value]

    def _iterate(self, *, with_issues: bool) -> Iterator[ImportRow | RowIssue]:
        if self._started:
            raise RuntimeError("an ImportReader can be iterated only once")
        self._started = True
        validate = self._validator.validate
        report = self.report
        record = report.record
        opened = self._opened
        records = itertools.chain(opened.pending, opened.table.records)
        opened.pending = []
        accepted = 0
        try:
            for line, cells in records:
                row, issues = validate(line, cells)
                if issues:
                    for issue in issues:
                        record(issue)
                        if with_issues:
                            yield issue
                if row is not None:
                    accepted += 1
                    yield row
        finally:
            report.accepted += accepted

    def close(self) -> None:
        """Release the file (a caller's stream is left open: the caller closes it)."""
        self._opened.release()

    def __enter__(self) -> ImportReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_import(
    source: ImportSource,
    *,
    mapping: MappingLike = None,
    limits: ImportLimits = DEFAULT_LIMITS,
    today: dt.date | None = None,
) -> ImportReader:
    """Open an uploaded file (a path or a binary stream) for import.

    ``mapping`` is the tenant's stored column choices; ``today`` (from the Clock) bounds
    birth dates and resolves two-digit years. Raises ``ImportFileError`` (or its
    ``MissingColumnsError``) when the file as a whole cannot be imported.
    """
    opened = _open(source, mapping, limits, strict=True)
    report = ImportReport(max_issues=limits.max_issues)
    return ImportReader(opened, today=today or dt.date.today(), report=report)


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What the portal shows before importing: detection, mapping and the first rows."""

    kind: FileKind
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    header_line: int
    headers: tuple[str, ...]
    mapping: dict[Field, str]
    missing: tuple[Field, ...]
    rows: list[ImportRow] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)


def preview(
    source: ImportSource,
    *,
    n: int = 20,
    mapping: MappingLike = None,
    limits: ImportLimits = DEFAULT_LIMITS,
    today: dt.date | None = None,
) -> ImportPreview:
    """Detect the file and validate its first ``n`` data rows.

    Unlike ``open_import`` it does not refuse a file with missing columns: ``missing``
    says which, and ``headers`` lets the user map them. Other file problems still raise
    ``ImportFileError``.
    """
    opened = _open(source, mapping, limits, strict=False)
    try:
        plan = opened.plan
        rows: list[ImportRow] = []
        issues: list[RowIssue] = list(opened.warnings)
        if not plan.missing:
            validator = RowValidator(plan, today=today or dt.date.today())
            records = itertools.chain(opened.pending, opened.table.records)
            taken = 0
            for line, cells in records:
                if taken >= n:
                    break
                row, row_issues = validator.validate(line, cells)
                if row is None and not row_issues:
                    continue  # blank row
                taken += 1
                issues.extend(row_issues)
                if row is not None:
                    rows.append(row)
        table = opened.table
        return ImportPreview(
            kind=table.kind,
            encoding=table.encoding,
            delimiter=table.delimiter,
            sheet=table.sheet,
            header_line=opened.header_line,
            headers=plan.headers,
            mapping=plan.mapping,
            missing=plan.missing,
            rows=rows,
            issues=issues,
        )
    finally:
        opened.release()
