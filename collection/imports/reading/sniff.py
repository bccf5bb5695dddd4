"""What kind of file this is, decided from its bytes, never from its name.

- **Kind**: an XLSX is a zip whose directory holds ``[Content_Types].xml`` and
  ``xl/workbook.xml``; a CSV is anything that decodes as text without NUL or other
  control bytes. Known binary formats (PDF, images, legacy XLS, ODS, XLSB, other zips)
  get a message naming what they are, so the user knows what to export instead.
- **Encoding**: UTF-8 (a BOM is dropped) when the first 64 KiB decode as UTF-8,
  otherwise Windows-1252 (a superset of the printable Latin-1 range); UTF-16 with a BOM
  is also accepted (Excel's "Unicode text"). A UTF-8 file with a stray Windows-1252
  byte further down (concatenated exports) does not stop the import: that byte is read
  as Windows-1252 by the ``quita-cp1252`` error handler instead of failing at row
  400,000 after the first rows were staged.
- **Separator**: ``;``, ``,``, tab or ``|``, whichever splits the first lines into the
  same, largest number of fields, counting only outside quotes. pt-BR exports mostly use
  ``;`` because ``,`` is the decimal separator, so ``;`` wins ties. Excel's ``sep=;``
  first line, when present, decides instead (and is not counted as a row, as in Excel).
- **Zip bombs**: the XLSX directory is checked (entry count, total declared size,
  per-entry compression ratio), then every entry is inflated once, in 1 MiB steps,
  discarding the output and stopping one byte past its declared size: an entry that
  lies about its size is refused here instead of inflating inside the spreadsheet
  parser. Cost: one pass of zlib over the file (a fraction of the parse time).
"""

from __future__ import annotations

import codecs
import struct
import zipfile
import zlib
from collections.abc import Iterable
from enum import StrEnum
from typing import BinaryIO

from collection.imports.reading.errors import FileProblem, ImportFileError
from collection.imports.reading.limits import ImportLimits

__all__ = [
    "HEAD_BYTES",
    "FileKind",
    "check_text",
    "check_xlsx_archive",
    "declared_delimiter",
    "detect_encoding",
    "detect_kind",
    "sniff_delimiter",
]

HEAD_BYTES = 64 * 1024
_MIB = 1024 * 1024

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Bytes that never appear in a text export: NUL and the C0 controls except tab, LF,
# CR and form feed (some legacy exports end pages with it).
_CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D}
_CONTROL_CHARS = frozenset(chr(b) for b in _CONTROL_BYTES)

_DELIMITERS = (";", ",", "\t", "|")


class FileKind(StrEnum):
    """The two formats the reader accepts."""

    CSV = "csv"
    XLSX = "xlsx"


def _cp1252_or_latin1(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        # The five bytes Windows-1252 leaves undefined read as their Latin-1 controls.
        return chr(byte)


_CP1252 = tuple(_cp1252_or_latin1(b) for b in range(256))


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(_CP1252[b] for b in bad), exc.end


codecs.register_error("quita-cp1252", _cp1252_fallback)


def _refuse(message: str, problem: FileProblem = FileProblem.NOT_TABULAR) -> ImportFileError:
    return ImportFileError(message, problem)


def detect_kind(head: bytes, stream: BinaryIO) -> FileKind:
    """Decide CSV or XLSX from the first bytes (and the zip directory for zips).

    Raises ImportFileError, with a message naming the format when it is a known one.
    """
    if not head.strip(b" \t\r\n\x0c" + _UTF8_BOM):
        raise _refuse("O arquivo está vazio.", FileProblem.EMPTY)
    if head.startswith(b"PK\x03\x04"):
        return _detect_zip_kind(stream)
    if head.startswith(_OLE):
        raise _refuse(
            "Este é um arquivo do Excel antigo (XLS, 97-2003) ou um XLSX protegido por "
            "senha. Salve a planilha como XLSX sem senha ou como CSV e envie de novo.",
            FileProblem.UNSUPPORTED_SPREADSHEET,
        )
    for magic, what in (
        (b"%PDF", "um PDF"),
        (b"\x89PNG", "uma imagem PNG"),
        (b"\xff\xd8\xff", "uma imagem JPEG"),
        (b"GIF8", "uma imagem GIF"),
        (b"\x1f\x8b", "um arquivo compactado (gzip)"),
        (b"Rar!", "um arquivo compactado (RAR)"),
        (b"7z\xbc\xaf", "um arquivo compactado (7-Zip)"),
    ):
        if head.startswith(magic):
            raise _refuse(f"Este arquivo é {what}, não uma planilha. Envie um CSV ou XLSX.")
    if head.startswith(_UTF16_BOMS):
        return FileKind.CSV
    sample = head[:4096]
    if b"\x00" in sample or sum(b in _CONTROL_BYTES for b in sample) > len(sample) // 100:
        raise _refuse("Este arquivo não é texto (CSV) nem planilha XLSX. Envie um CSV ou XLSX.")
    return FileKind.CSV


def _detect_zip_kind(stream: BinaryIO) -> FileKind:
    try:
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:  # ODS keeps a tiny "mimetype" entry first
                with archive.open("mimetype") as entry:
                    mimetype = entry.read(100)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error) as exc:
        raise _refuse(
            "O arquivo parece um XLSX, mas está corrompido ou incompleto.", FileProblem.DAMAGED
        ) from exc
    finally:
        stream.seek(0)
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return FileKind.XLSX
    if "xl/workbook.bin" in names:
        raise _refuse(
            "Planilhas no formato XLSB não são aceitas. Salve como XLSX ou CSV.",
            FileProblem.UNSUPPORTED_SPREADSHEET,
        )
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        raise _refuse(
            "Planilhas do LibreOffice (ODS) não são aceitas. Salve como XLSX ou CSV.",
            FileProblem.UNSUPPORTED_SPREADSHEET,
        )
    raise _refuse("Este arquivo é um ZIP, não uma planilha XLSX. Envie um CSV ou XLSX.")


def detect_encoding(head: bytes) -> str:
    """The codec to read a CSV with; see the module docstring for the rules."""
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    if head.startswith(_UTF8_BOM):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def check_text(sample: str) -> None:
    """Refuse decoded text that is mostly control characters (a binary file)."""
    controls = sum(ch in _CONTROL_CHARS for ch in sample)
    if "\x00" in sample or controls > len(sample) // 100:
        raise _refuse("Este arquivo não é texto (CSV) nem planilha XLSX. Envie um CSV ou XLSX.")


def _count_outside_quotes(line: str, delimiter: str) -> int:
    if '"' not in line:
        return line.count(delimiter)
    count = 0
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


def declared_delimiter(first_line: str) -> str | None:
    """The separator an Excel ``sep=;`` first line declares, if the file has one."""
    line = first_line.strip()
    if len(line) == 5 and line[:4].lower() == "sep=":
        return line[4]
    return None


def sniff_delimiter(lines: Iterable[str]) -> str:
    """Pick the separator that splits the sample lines most consistently.

    Score per candidate: among the non-empty lines, the most common field count and how
    many lines share it; the candidate with the most such lines, then the most fields,
    wins. ``;`` comes first in the candidates, so it wins ties.
    """
    sample = [line for line in lines if line.strip()][:20]
    best, best_score = ";", (0, 0)
    for delimiter in _DELIMITERS:
        counts: dict[int, int] = {}
        for line in sample:
            n = _count_outside_quotes(line, delimiter)
            if n:
                counts[n] = counts.get(n, 0) + 1
        if not counts:
            continue
        fields, lines_with_it = max(counts.items(), key=lambda item: (item[1], item[0]))
        score = (lines_with_it, fields)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def check_xlsx_archive(stream: BinaryIO, limits: ImportLimits) -> None:
    """Refuse an XLSX whose zip could expand beyond the limits (a zip bomb).

    Reads the directory first (entry count, declared sizes, ratios); then inflates every
    entry once, in 1 MiB steps, discarding the output and stopping one byte past its
    declared size, so an entry that lies about its size is refused before the
    spreadsheet parser ever sees it.
    """
    too_big = _refuse(
        "A planilha XLSX é grande demais depois de descompactada (limite de "
        f"{limits.xlsx_max_uncompressed_bytes // _MIB} MB) ou está malformada. "
        "Para carteiras grandes, exporte como CSV.",
        FileProblem.ZIP_BOMB,
    )
    try:
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
        if len(entries) > limits.xlsx_max_entries:
            raise too_big
        total = 0
        for info in entries:
            total += info.file_size
            if total > limits.xlsx_max_uncompressed_bytes:
                raise too_big
            if info.file_size > limits.xlsx_max_ratio * max(info.compress_size, 1024):
                raise too_big
        for info in entries:
            if _inflated_size(stream, info) != info.file_size:
                raise too_big
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise _refuse(
            "O arquivo XLSX está corrompido, protegido por senha ou malformado.",
            FileProblem.DAMAGED,
        ) from exc
    finally:
        stream.seek(0)


_LOCAL_HEADER = struct.Struct("<4s22xHH")


def _inflated_size(stream: BinaryIO, info: zipfile.ZipInfo) -> int:
    """Bytes the entry really inflates to, counting at most one past its declared size."""
    if info.flag_bits & 0x1:
        raise ValueError("encrypted entry")
    stream.seek(info.header_offset)
    signature, name_size, extra_size = _LOCAL_HEADER.unpack(stream.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise ValueError("bad local header")
    stream.seek(info.header_offset + _LOCAL_HEADER.size + name_size + extra_size)
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise ValueError("compression method not used by XLSX")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    cap = info.file_size + 1
    produced = 0
    remaining = info.compress_size
    while remaining > 0 and produced < cap:
        chunk = stream.read(min(remaining, _MIB))
        if not chunk:
            raise EOFError("truncated entry")
        remaining -= len(chunk)
        while chunk and produced < cap:
            produced += len(inflater.decompress(chunk, min(cap - produced, _MIB)))
            chunk = inflater.unconsumed_tail
    return produced
