"""Bounds that keep a hostile or mistaken upload from exhausting memory, disk or time.

The web layer bounds the upload too; these limits are the reader's own defence, so a
file that reaches it from the CLI or a job is held to the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "ImportLimits"]

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Configurable limits; the defaults are safe for a 1 GB worker.

    - ``max_bytes``: size of the file as uploaded (CSV or XLSX). Pass the
      application's ``max_upload_bytes`` here.
    - ``xlsx_max_uncompressed_bytes``: sum of the declared sizes of all entries of an
      XLSX. python-calamine holds the first sheet's cells in memory (measured: about
      1.5 bytes of RAM per byte of sheet XML), so this bounds the XLSX memory.
    - ``xlsx_max_ratio``: largest compression ratio of any one entry. Real sheets
      compress 5-30x; zip bombs 1000x.
    - ``xlsx_max_entries``: number of entries in the zip directory.
    - ``max_line_bytes``: longest physical CSV line; a file without line breaks
      would otherwise be read whole into one string.
    - ``max_issues``: rejected rows and warnings each keep this many entries in the
      report; the rest are counted, not stored.
    - ``header_search_rows``: how many non-empty rows above the header (titles,
      notes) are skipped while looking for it.
    """

    max_bytes: int = 200 * _MIB
    xlsx_max_uncompressed_bytes: int = 200 * _MIB
    xlsx_max_ratio: int = 200
    xlsx_max_entries: int = 1_000
    max_line_bytes: int = 1 * _MIB
    max_issues: int = 10_000
    header_search_rows: int = 10


DEFAULT_LIMITS = ImportLimits()
