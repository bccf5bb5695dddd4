"""CSV variants that real exports produce are all read the same way."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from collection.imports.reading import (
    FileKind,
    FileProblem,
    ImportFileError,
    ImportLimits,
    ImportRow,
    RowIssue,
    open_import,
    preview,
)
from tests.unit.importing.helpers import GOOD_CPF, HEADER, TODAY, csv_text, row, write


def read_all(source, **kwargs):
    with open_import(source, today=TODAY, **kwargs) as reader:
        items = list(reader)
    return (
        reader,
        [i for i in items if isinstance(i, ImportRow)],
        [i for i in items if isinstance(i, RowIssue)],
    )


def test_utf8_csv_with_semicolons_is_read(tmp_path):
    reader, rows, issues = read_all(write(tmp_path, csv_text(row())))
    assert reader.kind is FileKind.CSV
    assert reader.encoding == "utf-8"
    assert reader.delimiter == ";"
    assert issues == []
    (only,) = rows
    assert only == ImportRow(
        line=2,
        cpf=GOOD_CPF,
        name="Maria da Silva",
        contract="CTR-1",
        installment=1,
        due_date=dt.date(2024, 3, 5),
        amount=123456,
        birth_date=dt.date(1980, 3, 5),
        email="maria@example.com",
        phone="+5511912345678",
        product="Cartão",
    )


def test_utf8_bom_is_dropped_from_the_first_header(tmp_path):
    reader, rows, _ = read_all(write(tmp_path, "\ufeff" + csv_text(row())))
    assert reader.encoding == "utf-8-sig"
    assert reader.headers[0] == "Nome"
    assert rows[0].name == "Maria da Silva"


def test_windows_1252_accents_are_decoded(tmp_path):
    text = csv_text(row(name="João Conceição", product="Crédito pessoal"))
    reader, rows, _ = read_all(write(tmp_path, text, encoding="cp1252"))
    assert reader.encoding == "cp1252"
    assert rows[0].name == "João Conceição"
    assert rows[0].product == "Crédito pessoal"


def test_a_stray_windows_1252_byte_late_in_a_utf8_file_does_not_stop_the_import(tmp_path):
    head = csv_text(*(row(contract=f"C{i}") for i in range(3000)))  # > 64 KiB of ASCII
    tail = row(contract="LAST", name="José").encode("cp1252") + b"\r\n"
    path = tmp_path / "mixed.csv"
    path.write_bytes(head.encode("utf-8") + tail)
    reader, rows, _ = read_all(path)
    assert reader.encoding == "utf-8"
    assert rows[-1].name == "José"
    assert len(rows) == 3001


def test_comma_separated_file_with_quoted_pt_br_amounts(tmp_path):
    header = HEADER.replace(";", ",")
    line = (
        "Maria da Silva,111.444.777-35,05/03/1980,maria@example.com,"
        '(11) 91234-5678,CTR-1,1,05/03/2024,"1.234,56",Cartão'
    )
    reader, rows, issues = read_all(write(tmp_path, csv_text(line, header=header)))
    assert reader.delimiter == ","
    assert issues == []
    assert rows[0].amount == 123456


def test_tab_separated_file(tmp_path):
    text = csv_text(row().replace(";", "\t"), header=HEADER.replace(";", "\t"))
    reader, rows, _ = read_all(write(tmp_path, text))
    assert reader.delimiter == "\t"
    assert rows[0].contract == "CTR-1"


def test_quoted_fields_keep_separators_and_line_breaks(tmp_path):
    text = csv_text(
        row(name='"Silva; Maria"', product='"Cartão\r\nplatinum"', contract="C1"),
        row(contract="C2"),
    )
    _, rows, _ = read_all(write(tmp_path, text))
    assert rows[0].name == "Silva; Maria"
    assert rows[0].product == "Cartão platinum"  # inner line break collapsed
    # A spreadsheet shows the multi-line record as one row: the next one is row 3.
    assert [r.line for r in rows] == [2, 3]


def test_lf_only_and_crlf_line_ends_read_the_same(tmp_path):
    crlf = csv_text(row(contract="A"), row(contract="B"))
    lf = crlf.replace("\r\n", "\n")
    _, rows_crlf, _ = read_all(write(tmp_path, crlf, name="crlf.csv"))
    _, rows_lf, _ = read_all(write(tmp_path, lf, name="lf.csv"))
    assert rows_crlf == rows_lf
    assert [r.line for r in rows_lf] == [2, 3]


def test_utf16_with_bom_is_read(tmp_path):
    text = csv_text(row(name="Zé")).replace(";", "\t")
    path = write(tmp_path, text.replace(HEADER, HEADER.replace(";", "\t")), encoding="utf-16")
    reader, rows, _ = read_all(path)
    assert reader.encoding == "utf-16"
    assert rows[0].name == "Zé"


def test_blank_lines_are_skipped_but_still_counted(tmp_path):
    text = csv_text(row(contract="A"), "", ";;;;;;;;;", row(contract="B"))
    _, rows, issues = read_all(write(tmp_path, text))
    assert issues == []
    assert [r.line for r in rows] == [2, 5]


def test_title_rows_above_the_header_are_skipped_with_a_warning(tmp_path):
    text = "Relatório de inadimplência;;\r\nGerado em 01/11/2026\r\n" + csv_text(row())
    reader, rows, _ = read_all(write(tmp_path, text))
    assert reader.header_line == 3
    assert rows[0].line == 4
    assert "acima do cabeçalho" in reader.file_warnings[0].reason


def test_a_binary_stream_is_read_like_a_path(tmp_path):
    data = csv_text(row()).encode("utf-8")
    _, rows, _ = read_all(io.BytesIO(data))
    assert rows[0].cpf == GOOD_CPF


def test_a_caller_stream_is_left_open(tmp_path):
    stream = io.BytesIO(csv_text(row()).encode())
    read_all(stream)
    assert not stream.closed


def test_a_non_seekable_stream_is_spooled(tmp_path):
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer):
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    _, rows, _ = read_all(io.BufferedReader(Pipe(csv_text(row()).encode())))
    assert len(rows) == 1


def test_a_line_without_end_is_refused_instead_of_read_whole(tmp_path):
    text = csv_text(row()) + "x" * 5000
    with pytest.raises(ImportFileError) as caught:
        read_all(write(tmp_path, text), limits=ImportLimits(max_line_bytes=1024))
    assert caught.value.problem is FileProblem.MALFORMED_CSV


def test_an_unclosed_quote_is_reported_as_a_malformed_csv(tmp_path):
    text = csv_text(row(name='"Maria')) + (row() + "\r\n") * 2000  # > 128 KiB in one field
    with pytest.raises(ImportFileError) as caught:
        read_all(write(tmp_path, text))
    assert caught.value.problem is FileProblem.MALFORMED_CSV
    assert "aspas" in caught.value.message


def test_an_excel_sep_line_declares_the_separator_and_is_not_a_row(tmp_path):
    line = row(amount="1234.56").replace(";", ",")
    text = "sep=,\r\n" + csv_text(line, header=HEADER.replace(";", ","))
    reader, rows, _ = read_all(write(tmp_path, text))
    assert reader.delimiter == ","
    assert reader.header_line == 1
    assert rows[0].line == 2


def test_preview_then_import_from_the_same_upload_stream():
    upload = io.BytesIO(csv_text(row(contract="A"), row(contract="B")).encode())
    shown = preview(upload, n=1, today=TODAY)
    assert len(shown.rows) == 1
    _, rows, _ = read_all(upload)
    assert [r.contract for r in rows] == ["A", "B"]
