"""Raw rows out of a CSV or XLSX file, numbered as a spreadsheet numbers them.

Line numbers are what the user sees when opening the file in a spreadsheet: the n-th
record is line n, blank lines included. For a CSV whose quoted fields contain line
breaks, that is the record count, not the count of physical lines (a spreadsheet shows
such a record as one row); for any other CSV the two agree.

- **CSV** is streamed: a ``TextIOWrapper`` over the binary stream (whose raw reader
  refuses over-long lines), fed to the standard ``csv`` reader. The file is never
  held whole; memory does not grow with the number of rows.
- **XLSX** is read with python-calamine: the first visible worksheet with data. Calamine loads the
  sheet's cells at once (in Rust memory, about 1.5 bytes per byte of sheet XML; 200,000
  rows of 10 columns measured at 170 MB), so the XLSX path is bounded by
  ``ImportLimits.xlsx_max_uncompressed_bytes`` rather than streamed; large portfolios
  should come as CSV, and the refusal message says so.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from collection.imports.reading.errors import FileProblem, ImportFileError
from collection.imports.reading.limits import ImportLimits
from collection.imports.reading.sniff import (
    HEAD_BYTES,
    FileKind,
    check_text,
    check_xlsx_archive,
    declared_delimiter,
    detect_encoding,
    detect_kind,
    sniff_delimiter,
)
from collection.imports.reading.values import Cell

__all__ = ["ImportSource", "RawTable", "open_table"]

ImportSource = str | os.PathLike[str] | BinaryIO
Record = tuple[int, list[Cell]]

_MIB = 1024 * 1024
_SPOOL_IN_MEMORY = 8 * _MIB


class _LineBoundedStream(io.RawIOBase):
    """A caller's binary stream, read without closing it, refusing over-long lines.

    A file with no line break would otherwise be decoded into one giant string; the
    check runs here on raw chunks (``bytes.find`` in C), so the CSV reader can pull
    lines from the text wrapper at full speed. The bound is in bytes.
    """

    def __init__(self, stream: BinaryIO, max_line_bytes: int) -> None:
        super().__init__()
        self._stream = stream
        self._max = max_line_bytes
        self._since_break = 0  # bytes read since the last line break

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        first = min(_find(data, b"\n", size), _find(data, b"\r", size))
        if self._since_break + first > self._max:
            raise ImportFileError(
                f"O arquivo tem uma linha com mais de {self._max // 1024} KB; não parece um CSV.",
                FileProblem.MALFORMED_CSV,
            )
        if first < size:
            last = max(data.rfind(b"\n"), data.rfind(b"\r"))
            self._since_break = size - 1 - last
        else:
            self._since_break += size
        return size


def _find(data: bytes, needle: bytes, default: int) -> int:
    index = data.find(needle)
    return default if index < 0 else index


@dataclass(slots=True)
class RawTable:
    """An opened file: its kind, how it was read, and its numbered records."""

    kind: FileKind
    records: Iterator[Record]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


def _too_large(size: int, limits: ImportLimits) -> ImportFileError:
    return ImportFileError(
        f"O arquivo tem {size / _MIB:.1f} MB; o limite é {limits.max_bytes / _MIB:.0f} MB.",
        FileProblem.TOO_LARGE,
    )


def _binary(source: ImportSource, limits: ImportLimits) -> tuple[BinaryIO, bool, str | None]:
    """The source as a seekable binary stream at 0: (stream, owned by us, path or None)."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        size = os.stat(path).st_size
        if size > limits.max_bytes:
            raise _too_large(size, limits)
        return open(path, "rb"), True, path  # closed by the reader
    if source.seekable():
        source.seek(0, os.SEEK_END)
        size = source.tell()
        source.seek(0)
        if size > limits.max_bytes:
            raise _too_large(size, limits)
        return source, False, None
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    while chunk := source.read(_MIB):
        size += len(chunk)
        if size > limits.max_bytes:
            spool.close()
            raise _too_large(size, limits)
        spool.write(chunk)
    spool.seek(0)
    return spool, True, None  # type: ignore[return-value]


def open_table(source: ImportSource, limits: ImportLimits) -> tuple[RawTable, BinaryIO | None]:
    """Detect the file and open it for reading; returns the table and a stream to close.

    Raises ImportFileError for anything that is not a readable CSV or XLSX.
    """
    stream, owned, path = _binary(source, limits)
    try:
        head = stream.read(HEAD_BYTES)
        stream.seek(0)
        kind = detect_kind(head, stream)
        if kind is FileKind.XLSX:
            table = _open_xlsx(stream, path, limits)
        else:
            table = _open_csv(stream, head, limits)
    except BaseException:
        if owned:
            stream.close()
        raise
    return table, (stream if owned else None)


# -- CSV ---------------------------------------------------------------------------------


def _open_csv(stream: BinaryIO, head: bytes, limits: ImportLimits) -> RawTable:
    encoding = detect_encoding(head)
    errors = "replace" if encoding == "utf-16" else "quita-cp1252"
    sample = head.decode(encoding, errors=errors)
    if len(head) == HEAD_BYTES:  # drop a line cut by the sample's end
        sample = sample[: max(sample.rfind("\n"), 0)] or sample
    check_text(sample)
    lines = sample.splitlines()[:50]
    declared = declared_delimiter(lines[0]) if lines else None
    delimiter = declared or sniff_delimiter(lines)
    text = io.TextIOWrapper(
        io.BufferedReader(_LineBoundedStream(stream, limits.max_line_bytes), 256 * 1024),
        encoding=encoding,
        errors=errors,
        newline="",
    )
    if declared:
        # Excel's "sep=;" line: Excel hides it, so the header is still row 1.
        text.readline()
    return RawTable(
        FileKind.CSV,
        _csv_records(text, delimiter),
        encoding=encoding,
        delimiter=delimiter,
    )


def _csv_records(text: io.TextIOWrapper, delimiter: str) -> Iterator[Record]:
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    try:
        yield from enumerate(reader, start=1)  # type: ignore[misc]
    except csv.Error as exc:
        detail = (
            "um campo é longo demais (aspas sem fechar?)"
            if "field larger" in str(exc)
            else "formato CSV inválido"
        )
        raise ImportFileError(
            f"O arquivo CSV está malformado perto da linha {reader.line_num} do texto: {detail}.",
            FileProblem.MALFORMED_CSV,
        ) from exc
    finally:
        text.close()


# -- XLSX --------------------------------------------------------------------------------


def _open_xlsx(stream: BinaryIO, path: str | None, limits: ImportLimits) -> RawTable:
    check_xlsx_archive(stream, limits)
    try:
        workbook = (
            CalamineWorkbook.from_path(path) if path else CalamineWorkbook.from_filelike(stream)
        )
        names = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible
        ]
        for name in names:  # the first visible worksheet that has any cell filled
            sheet = workbook.get_sheet_by_name(name)
            if sheet.start is not None:
                break
        else:
            raise ImportFileError(
                "A planilha XLSX não tem nenhuma aba visível com dados.", FileProblem.EMPTY
            )
        rows = sheet.iter_rows()
    except ImportFileError:
        raise
    except (CalamineError, ValueError, OSError) as exc:
        raise ImportFileError(
            "Não foi possível ler a planilha XLSX: o arquivo está corrompido ou protegido.",
            FileProblem.DAMAGED,
        ) from exc
    return RawTable(FileKind.XLSX, _xlsx_records(rows), sheet=name)


def _xlsx_records(rows: Iterator[list[Cell]]) -> Iterator[Record]:
    # python-calamine yields from the sheet's first row (A1), blank rows included, so
    # the n-th row is spreadsheet row n; tests pin this.
    yield from enumerate(rows, start=1)
