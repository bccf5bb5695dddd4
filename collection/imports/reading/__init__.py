"""Reading a portfolio file: detection, streaming, column mapping, row validation, report.

Pure Python: no database, no web. The import service builds on it::

    from collection.imports.reading import ImportFileError, ImportLimits, ImportRow, open_import

    limits = ImportLimits(max_bytes=settings.max_upload_bytes)
    with open_import(upload, mapping=tenant_mapping, limits=limits, today=clock.today()) as reader:
        batch: list[ImportRow] = []
        for row in reader.rows():  # validated rows; issues go to reader.report
            batch.append(row)  # an ImportRow is a tuple in ImportRow._fields order
            if len(batch) == 10_000:
                await conn.copy_records_to_table("import_staging", records=batch,
                                                 columns=ImportRow._fields)
                batch.clear()
        ...  # flush, then upsert from the staging table
    summary = {**reader.report.as_dict(), "created": ..., "updated": ..., "settled": ...}
    report_csv = reader.report.to_csv_bytes()  # the downloadable error report

``ImportFileError`` (with a ``problem`` code and a pt-BR ``message``) refuses the file as
a whole, at ``open_import`` or during the iteration; nothing staged may then be kept.
``preview(upload)`` gives the portal the detected mapping and the first rows, without
refusing a file whose columns still need mapping.

Modules: ``sniff`` (what the file is), ``tables`` (raw numbered rows), ``columns``
(header → field), ``values`` (cell parsers), ``ledger`` (contract/CPF and repeated
installments across the file), ``rows`` (one row → ``ImportRow`` or ``RowIssue``),
``report`` (summary and CSV), ``reader`` (``open_import``, ``preview``).
"""

from collection.imports.reading.columns import (
    FIELD_LABELS,
    REQUIRED_FIELDS,
    ColumnMapping,
    Field,
    normalize_header,
)
from collection.imports.reading.errors import FileProblem, ImportFileError, MissingColumnsError
from collection.imports.reading.limits import DEFAULT_LIMITS, ImportLimits
from collection.imports.reading.reader import ImportPreview, ImportReader, open_import, preview
from collection.imports.reading.report import ImportReport, neutralize_formula
from collection.imports.reading.rows import ImportRow, RowIssue, Severity
from collection.imports.reading.sniff import FileKind
from collection.imports.reading.tables import ImportSource

__all__ = [
    "DEFAULT_LIMITS",
    "FIELD_LABELS",
    "REQUIRED_FIELDS",
    "ColumnMapping",
    "Field",
    "FileKind",
    "FileProblem",
    "ImportFileError",
    "ImportLimits",
    "ImportPreview",
    "ImportReader",
    "ImportReport",
    "ImportRow",
    "ImportSource",
    "MissingColumnsError",
    "RowIssue",
    "Severity",
    "neutralize_formula",
    "normalize_header",
    "open_import",
    "preview",
]
