"""Files that are not a CSV or an XLSX, or are hostile, are refused with a clear message."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from collection.imports.reading import (
    FileKind,
    FileProblem,
    ImportFileError,
    ImportLimits,
    open_import,
    preview,
)
from tests.unit.importing.helpers import HEADER, TODAY, csv_text, row, write, write_xlsx


def refusal(source, **kwargs) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        open_import(source, today=TODAY, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
    ],
)
def test_known_binary_formats_are_refused_by_name(content, named):
    error = refusal(io.BytesIO(content + bytes(200)))
    assert error.problem is FileProblem.NOT_TABULAR
    assert named in error.message


def test_a_legacy_xls_is_refused_with_advice_to_save_as_xlsx():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    error = refusal(io.BytesIO(ole))
    assert error.problem is FileProblem.UNSUPPORTED_SPREADSHEET
    assert "XLSX" in error.message


def test_the_extension_does_not_decide_the_kind(tmp_path):
    csv_named_xlsx = write(tmp_path, csv_text(row()), name="carteira.xlsx")
    with open_import(csv_named_xlsx, today=TODAY) as reader:
        assert reader.kind is FileKind.CSV
    xlsx = write_xlsx(tmp_path, [HEADER.split(";"), row().split(";")])
    renamed = tmp_path / "carteira.csv"
    xlsx.rename(renamed)
    with open_import(renamed, today=TODAY) as reader:
        assert reader.kind is FileKind.XLSX


def test_random_binary_bytes_are_refused():
    error = refusal(io.BytesIO(bytes(range(256)) * 40))
    assert error.problem is FileProblem.NOT_TABULAR


def test_an_ordinary_zip_is_not_taken_for_an_xlsx():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notas.txt", "nada aqui")
    error = refusal(buffer)
    assert error.problem is FileProblem.NOT_TABULAR
    assert "ZIP" in error.message


def test_an_ods_spreadsheet_is_refused_by_name():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<x/>")
    error = refusal(buffer)
    assert error.problem is FileProblem.UNSUPPORTED_SPREADSHEET
    assert "ODS" in error.message


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf", b";;;\r\n;;;\r\n"])
def test_an_empty_file_is_refused(content):
    assert refusal(io.BytesIO(content)).problem is FileProblem.EMPTY


def test_a_header_without_data_rows_is_refused(tmp_path):
    error = refusal(write(tmp_path, HEADER + "\r\n\r\n;;;\r\n"))
    assert error.problem is FileProblem.HEADER_ONLY
    assert "cabeçalho" in error.message


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = write(tmp_path, csv_text(*(row(contract=f"C{i}") for i in range(100))))
    error = refusal(path, limits=ImportLimits(max_bytes=1000))
    assert error.problem is FileProblem.TOO_LARGE
    assert "limite" in error.message


def test_a_stream_over_the_size_limit_is_refused():
    stream = io.BytesIO(b"x" * 5000)
    error = refusal(stream, limits=ImportLimits(max_bytes=1000))
    assert error.problem is FileProblem.TOO_LARGE


def test_preview_refuses_what_open_import_refuses():
    with pytest.raises(ImportFileError):
        preview(io.BytesIO(b"%PDF-1.4 whatever"))


# -- zip bombs -------------------------------------------------------------------------


def _xlsx_like_zip(extra_name: str, extra_bytes: int) -> io.BytesIO:
    """A zip with the XLSX markers and one entry of ``extra_bytes`` zeros, streamed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open(extra_name, "w", force_zip64=True) as entry:
            chunk = bytes(1024 * 1024)
            for _ in range(extra_bytes // len(chunk)):
                entry.write(chunk)
    buffer.seek(0)
    return buffer


def test_a_zip_bomb_disguised_as_xlsx_is_refused():
    bomb = _xlsx_like_zip("xl/worksheets/sheet1.xml", 200 * 1024 * 1024)
    assert len(bomb.getvalue()) < 1024 * 1024  # 200 MB of zeros compress to ~200 KB
    error = refusal(bomb)
    assert error.problem is FileProblem.ZIP_BOMB
    assert "CSV" in error.message


def test_an_xlsx_over_the_uncompressed_limit_is_refused():
    big = _xlsx_like_zip("xl/worksheets/sheet1.xml", 8 * 1024 * 1024)
    limits = ImportLimits(xlsx_max_uncompressed_bytes=4 * 1024 * 1024, xlsx_max_ratio=10**6)
    assert refusal(big, limits=limits).problem is FileProblem.ZIP_BOMB


def test_an_xlsx_with_too_many_entries_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(50):
            archive.writestr(f"xl/media/{i}.bin", b"x")
    error = refusal(buffer, limits=ImportLimits(xlsx_max_entries=20))
    assert error.problem is FileProblem.ZIP_BOMB


def test_a_zip_entry_that_inflates_past_its_declared_size_is_refused():
    """The directory claims 1 KB for an entry that really inflates to 2 MB."""
    name = b"xl/worksheets/sheet1.xml"
    payload = bytes(2 * 1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(payload) + compressor.flush()
    lying_size, lying_crc = 1024, zlib.crc32(payload[:1024])

    honest = io.BytesIO()
    with zipfile.ZipFile(honest, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    original = honest.getvalue()
    entries = original[: original.find(b"PK\x01\x02")]
    directory = original[len(entries) : original.find(b"PK\x05\x06")]
    end_record = original[original.find(b"PK\x05\x06") :]

    local = struct.pack(
        "<4s5H3L2H",
        *(b"PK\x03\x04", 20, 0, 8, 0, 0, lying_crc, len(deflated), lying_size, len(name), 0),
    )
    central = struct.pack(
        "<4s6H3L5H2L",
        *(b"PK\x01\x02", 20, 20, 0, 8, 0, 0, lying_crc, len(deflated), lying_size),
        *(len(name), 0, 0, 0, 0, 0, len(entries)),
    )
    body = entries + local + name + deflated
    new_directory = directory + central + name
    count = struct.unpack("<H", end_record[10:12])[0] + 1
    sizes = struct.pack("<HHLL", count, count, len(new_directory), len(body))
    crafted = io.BytesIO(body + new_directory + end_record[:8] + sizes + end_record[20:])

    with zipfile.ZipFile(crafted) as check:  # the directory itself looks harmless
        assert check.getinfo(name.decode()).file_size == lying_size
        with check.open(name.decode()) as entry:  # and zipfile's own CRC check passes
            assert len(entry.read()) == lying_size
    assert refusal(crafted).problem is FileProblem.ZIP_BOMB
