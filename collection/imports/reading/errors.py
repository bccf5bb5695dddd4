"""Errors that stop an import as a whole (as opposed to a rejected row).

Every message is pt-BR and fit to show to the user who uploaded the file; none of them
quotes a CPF, e-mail or phone number from the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

__all__ = ["FileProblem", "ImportFileError", "MissingColumnsError"]


class FileProblem(StrEnum):
    """Why a file was refused: a stable code for the portal, tests and metrics."""

    EMPTY = "empty"
    HEADER_ONLY = "header_only"
    NOT_TABULAR = "not_tabular"
    UNSUPPORTED_SPREADSHEET = "unsupported_spreadsheet"
    TOO_LARGE = "too_large"
    ZIP_BOMB = "zip_bomb"
    DAMAGED = "damaged"
    MALFORMED_CSV = "malformed_csv"
    MISSING_COLUMNS = "missing_columns"


class ImportFileError(ValueError):
    """The file cannot be imported at all; nothing from it may be kept.

    It can be raised by ``open_import`` and also while iterating (a CSV that turns out
    malformed half-way through): the caller must then roll back what it staged.
    """

    def __init__(self, message: str, problem: FileProblem) -> None:
        super().__init__(message)
        self.message = message
        self.problem = problem


class MissingColumnsError(ImportFileError):
    """The header row provides no column for some required fields.

    Carries what the portal needs to let the user choose the mapping: the headers found
    and the canonical names of the missing fields.
    """

    def __init__(
        self,
        message: str,
        *,
        headers: Sequence[str],
        missing: Sequence[str],
        header_line: int,
    ) -> None:
        super().__init__(message, FileProblem.MISSING_COLUMNS)
        self.headers = tuple(headers)
        self.missing = tuple(missing)
        self.header_line = header_line
