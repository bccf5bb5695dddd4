"""One data row of the file in, an ``ImportRow`` or the reasons it was refused out.

``ImportRow`` and ``RowIssue`` are ``NamedTuple``s rather than frozen dataclasses: they
are as immutable, and building one costs 0.3 µs instead of 1.8 µs (a frozen dataclass
sets each field through ``object.__setattr__``), which is a tenth of the per-row budget.

``RowIssue.field`` is always the **header text as written in the user's file** (the
column the user has to fix), or ``""`` when the problem is the row itself. The canonical
field name is never shown to users.

A row with several problems gets one rejection per problem, so the user fixes them all
in one pass; ``ImportReport`` counts rejected rows separately from rejections.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from operator import itemgetter
from typing import NamedTuple

from collection.imports.reading.columns import ColumnPlan, Field, normalize_header
from collection.imports.reading.ledger import Conflict, ContractLedger
from collection.imports.reading.values import (
    EMPTY,
    MAX_CONTRACT,
    Cell,
    is_blank,
    parse_amount,
    parse_birth_date,
    parse_cpf,
    parse_due_date,
    parse_email,
    parse_installment,
    parse_optional_text,
    parse_phone,
    parse_state,
    parse_text,
    parse_zip,
)

__all__ = ["TOTAL_ROW", "ImportRow", "RowIssue", "RowValidator", "Severity", "is_total_row"]

TOTAL_ROW = "linha de totais do relatório, ignorada (não é uma dívida)"
_TOTAL_WORDS = ("total", "subtotal", "totais", "soma", "somatorio")


class Severity(StrEnum):
    """A rejection refuses the row; a warning drops one value and keeps the row."""

    REJECTED = "rejected"
    WARNING = "warning"


class RowIssue(NamedTuple):
    """A problem at a line of the file (header = line 1, as a spreadsheet counts)."""

    line: int
    field: str
    reason: str
    severity: Severity = Severity.REJECTED

    def as_dict(self) -> dict[str, int | str]:
        """The shape of the import summary: ``{"line", "field", "reason"}``."""
        return {"line": self.line, "field": self.field, "reason": self.reason}


class ImportRow(NamedTuple):
    """A valid row: one installment of one contract of one debtor.

    ``cpf`` is 11 digits; ``amount`` is centavos (> 0); ``phone`` is E.164; ``state`` is
    a UF; ``zip`` is 8 digits. Rows of one contract (several installments) share
    ``contract`` and ``cpf``: the importer groups them into one debt.
    """

    line: int
    cpf: str
    name: str
    contract: str
    installment: int
    due_date: dt.date
    amount: int
    birth_date: dt.date | None = None
    email: str | None = None
    phone: str | None = None
    product: str | None = None
    address: str | None = None
    address_number: str | None = None
    complement: str | None = None
    district: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


_OPTIONAL_TEXT = (
    Field.PRODUCT,
    Field.ADDRESS,
    Field.ADDRESS_NUMBER,
    Field.COMPLEMENT,
    Field.DISTRICT,
    Field.CITY,
)
_PERSON = (Field.CPF, Field.NAME, Field.BIRTH_DATE, Field.EMAIL, Field.PHONE)
_DATE_CACHE_SIZE = 50_000
_NO_PERSON: tuple[Cell, ...] = ()
_new_row = tuple.__new__


def is_total_row(cells: Sequence[Cell], keys: Sequence[int]) -> bool:
    """A report's totals line: ``Total Geral``, ``TOTAL DO CLIENTE``, ``Totais:`` …

    ERP receivables reports (TOTVS Protheus, Sankhya, Omie, SAP Business One …) end with,
    and sometimes group by, a line without a CPF whose first filled cell starts with one
    of those words, or that holds nothing but sums (its CPF, name and contract, ``keys``,
    empty). Only rows already refused come here, so a debtor's row is never dropped.
    """
    if not is_blank(cells[keys[0] : keys[0] + 1]):
        return False
    filled = [c for c in cells if c != "" and (type(c) is not str or c.strip())]
    if not filled:
        return False
    first = filled[0]
    if type(first) is str and normalize_header(first).startswith(_TOTAL_WORDS):
        return True
    if not is_blank([cells[i] for i in keys if i < len(cells)]):
        return False
    for cell in filled:
        try:
            parse_amount(cell)
        except ValueError:
            return False
    return True


class RowValidator:
    """Turns raw rows into ``ImportRow``s or issues; keeps the cross-row ledger.

    One validator per file: it remembers every contract it accepted (see ``ledger``).
    Shortcuts keep it fast without changing any outcome. Rows of one contract usually
    come together and repeat the debtor, the contract, often the amount and the product:
    when those cells equal the previous row's, and parsed cleanly there, the parsed
    values are reused. Up to 50,000 distinct date texts per date column are remembered
    (a few MB).
    """

    def __init__(self, plan: ColumnPlan, *, today: dt.date) -> None:
        idx = plan.indexes
        self.plan = plan
        self.today = today
        self.width = len(plan.headers)
        self.ledger = ContractLedger()
        self._headers = plan.headers
        self._cpf = idx[Field.CPF]
        self._keys = (idx[Field.CPF], idx[Field.NAME], idx[Field.CONTRACT])
        self._name = idx[Field.NAME]
        self._contract = idx[Field.CONTRACT]
        self._due = idx[Field.DUE_DATE]
        self._amount = idx[Field.AMOUNT]
        self._installment = idx.get(Field.INSTALLMENT, -1)
        self._birth = idx.get(Field.BIRTH_DATE, -1)
        self._email = idx.get(Field.EMAIL, -1)
        self._phone = idx.get(Field.PHONE, -1)
        self._state = idx.get(Field.STATE, -1)
        self._zip = idx.get(Field.ZIP, -1)
        self._core = (
            idx[Field.CONTRACT],
            idx.get(Field.INSTALLMENT, -1),
            idx[Field.DUE_DATE],
            idx[Field.AMOUNT],
        )
        self._texts = tuple(
            (position, idx[f]) for position, f in enumerate(_OPTIONAL_TEXT) if f in idx
        )
        self._person_cells = itemgetter(*(idx[f] for f in _PERSON if f in idx))
        self._last_person_cells: object = _NO_PERSON
        self._last_person: tuple[str, str, dt.date | None, str | None, str | None] | None = None
        # The trailing 0 makes itemgetter return a tuple even for one text column.
        self._text_cells = itemgetter(*(index for _, index in self._texts), 0)
        self._last_text_cells: object = _NO_PERSON
        self._last_texts: list[str | None] = []
        self._last_contract_cell: object = _NO_PERSON
        self._last_contract = ""
        self._last_amount_cell: object = _NO_PERSON
        self._last_amount = 0
        self._last_installment_cell: object = _NO_PERSON
        self._last_installment = 1
        self._due_cache: dict[str, dt.date] = {}
        self._birth_cache: dict[str, dt.date] = {}

    def validate(self, line: int, cells: Sequence[Cell]) -> tuple[ImportRow | None, list[RowIssue]]:
        """Check one row; returns the row (None when rejected) and its issues.

        A blank row returns ``(None, [])``: it is skipped, neither accepted nor rejected.
        """
        width = self.width
        if len(cells) != width:
            if len(cells) > width and not is_blank(cells[width:]):
                return None, [
                    RowIssue(
                        line,
                        "",
                        "a linha tem mais colunas que o cabeçalho (separador dentro de um "
                        "campo sem aspas?)",
                    )
                ]
            cells = [*cells[:width], *([""] * (width - len(cells)))]
        headers = self._headers
        issues: list[RowIssue] = []

        person_cells = self._person_cells(cells)
        if person_cells == self._last_person_cells and self._last_person is not None:
            cpf, name, birth_date, email, phone = self._last_person
        else:
            person = self._parse_person(line, cells, issues)
            if person is None:
                if not issues:
                    return None, issues  # blank row
                self._last_person_cells = _NO_PERSON
                cpf = name = ""
                birth_date = email = phone = None
            else:
                cpf, name, birth_date, email, phone = person
                clean = not issues
                self._last_person_cells = person_cells if clean else _NO_PERSON
                self._last_person = person if clean else None

        i_contract, i_installment, i_due, i_amount = self._core
        raw_contract = cells[i_contract]
        if raw_contract == self._last_contract_cell:
            contract = self._last_contract
        else:
            try:
                contract = parse_text(raw_contract, MAX_CONTRACT)
                if not contract:
                    raise ValueError(EMPTY)
                self._last_contract_cell, self._last_contract = raw_contract, contract
            except ValueError as exc:
                issues.append(RowIssue(line, headers[i_contract], str(exc)))
                contract = ""
        installment = 1
        if i_installment >= 0:
            raw_installment = cells[i_installment]
            if raw_installment == self._last_installment_cell:
                installment = self._last_installment
            else:
                try:
                    installment = parse_installment(raw_installment)
                    self._last_installment_cell = raw_installment
                    self._last_installment = installment
                except ValueError as exc:
                    issues.append(RowIssue(line, headers[i_installment], str(exc)))
        raw_due = cells[i_due]
        due_date = self._due_cache.get(raw_due) if type(raw_due) is str else None
        if due_date is None:
            try:
                due_date = parse_due_date(raw_due, self.today)
                if type(raw_due) is str and len(self._due_cache) < _DATE_CACHE_SIZE:
                    self._due_cache[raw_due] = due_date
            except ValueError as exc:
                issues.append(RowIssue(line, headers[i_due], str(exc)))
        raw_amount = cells[i_amount]
        if raw_amount == self._last_amount_cell:  # installments often repeat the amount
            amount = self._last_amount
        else:
            try:
                amount = parse_amount(raw_amount)
                self._last_amount_cell, self._last_amount = raw_amount, amount
            except ValueError as exc:
                issues.append(RowIssue(line, headers[i_amount], str(exc)))
                amount = 0
        text_cells = self._text_cells(cells)
        if text_cells == self._last_text_cells:
            texts = self._last_texts
        else:
            texts = self._parse_texts(line, cells, issues)

        if issues:
            rejections = [issue for issue in issues if issue.severity is Severity.REJECTED]
            if rejections:
                if is_total_row(cells, self._keys):
                    return None, [RowIssue(line, "", TOTAL_ROW, Severity.WARNING)]
                return None, rejections
        if due_date is None:  # pragma: no cover - a rejection was recorded above
            raise AssertionError("due date missing without a rejection")
        state = zip_code = None
        if self._state >= 0:
            try:
                state = parse_state(cells[self._state])
            except ValueError as exc:
                issues.append(self._warning(line, self._state, exc))
        if self._zip >= 0:
            try:
                zip_code = parse_zip(cells[self._zip])
            except ValueError as exc:
                issues.append(self._warning(line, self._zip, exc))

        conflict = self.ledger.check(contract, cpf, installment, line)
        if conflict is not None:
            return None, [self._conflict(line, contract, installment, *conflict)]
        product, address, address_number, complement, district, city = texts
        # tuple.__new__ skips NamedTuple's Python-level __new__: same object, 0.15 µs less.
        row = _new_row(
            ImportRow,
            (
                line,
                cpf,
                name,
                contract,
                installment,
                due_date,
                amount,
                birth_date,
                email,
                phone,
                product,
                address,
                address_number,
                complement,
                district,
                city,
                state,
                zip_code,
            ),
        )
        return row, issues

    def _parse_texts(
        self, line: int, cells: Sequence[Cell], issues: list[RowIssue]
    ) -> list[str | None]:
        """Product and address parts, in ``_OPTIONAL_TEXT`` order; remembered when clean."""
        texts: list[str | None] = [None] * len(_OPTIONAL_TEXT)
        clean = True
        for position, index in self._texts:
            try:
                texts[position] = parse_optional_text(cells[index])
            except ValueError as exc:
                issues.append(RowIssue(line, self._headers[index], str(exc)))
                clean = False
        if clean:
            self._last_text_cells, self._last_texts = self._text_cells(cells), texts
        return texts

    def _parse_person(
        self, line: int, cells: Sequence[Cell], issues: list[RowIssue]
    ) -> tuple[str, str, dt.date | None, str | None, str | None] | None:
        """CPF, name, birth date, e-mail, phone; rejections and warnings into ``issues``.

        Returns None when the row is rejected (or blank: then ``issues`` stays empty).
        """
        headers = self._headers
        rejected = False
        try:
            cpf = parse_cpf(cells[self._cpf])
        except ValueError as exc:
            if is_blank(cells):
                return None
            issues.append(RowIssue(line, headers[self._cpf], str(exc)))
            cpf, rejected = "", True
        try:
            name = parse_text(cells[self._name])
            if not name:
                raise ValueError(EMPTY)
        except ValueError as exc:
            issues.append(RowIssue(line, headers[self._name], str(exc)))
            name, rejected = "", True
        birth_date = None
        if self._birth >= 0:
            raw = cells[self._birth]
            birth_date = self._birth_cache.get(raw) if type(raw) is str else None
            if birth_date is None and raw != "":
                try:
                    birth_date = parse_birth_date(raw, self.today)
                    if type(raw) is str and len(self._birth_cache) < _DATE_CACHE_SIZE:
                        self._birth_cache[raw] = birth_date
                except ValueError as exc:
                    if str(exc) != EMPTY:
                        issues.append(RowIssue(line, headers[self._birth], str(exc)))
                        rejected = True
        email = phone = None
        if self._email >= 0:
            try:
                email = parse_email(cells[self._email])
            except ValueError as exc:
                issues.append(self._warning(line, self._email, exc))
        if self._phone >= 0:
            try:
                phone = parse_phone(cells[self._phone])
            except ValueError as exc:
                issues.append(self._warning(line, self._phone, exc))
        if rejected:
            return None
        return cpf, name, birth_date, email, phone

    def _warning(self, line: int, index: int, exc: ValueError) -> RowIssue:
        return RowIssue(line, self._headers[index], str(exc), Severity.WARNING)

    def _conflict(
        self, line: int, contract: str, installment: int, conflict: Conflict, first: int
    ) -> RowIssue:
        if conflict is Conflict.OTHER_CPF:
            return RowIssue(
                line,
                self._headers[self._cpf],
                f"o contrato {contract!r} já apareceu na linha {first} com outro CPF",
            )
        index = self._installment if self._installment >= 0 else self._contract
        return RowIssue(
            line,
            self._headers[index],
            f"a parcela {installment} do contrato {contract!r} aparece mais de uma vez "
            f"no arquivo (o contrato aparece primeiro na linha {first})",
        )
