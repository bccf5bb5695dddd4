"""The accounts search of the portal: find, filter, sort and export a tenant's debtors.

A search term matches, in one statement on both backends:
- the name, ignoring accents and case: the term is folded by ``core.text.search_key``
  and each of its words must appear in ``debtors.search_name`` (folded when written);
- a contract, case-insensitively, anywhere in the code;
- the CPF, when the term is only digits and punctuation (``123.456``, ``12345678901``):
  the digits anywhere in the stored 11 digits. Results show the CPF masked.

Filters (each optional): a debt status the account has, an age band of the oldest open
debt (days late on the caller's ``today``), a portfolio, and the agency the account is
handed over to. With a portfolio chosen the totals count that portfolio's debts only.
The session's scope applies as everywhere: agency staff see only the accounts handed
over to their agency (``collection.agency.access``), in the list and in the
export alike, because both run through ``search_statement``.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.documents import mask_cpf
from collection.imports.reading.report import Amount, decimal_comma, spreadsheet_csv
from collection.models import Debt, Debtor, DebtStatus, Handover, HandoverStatus, Portfolio
from core.i18n import gettext as _
from core.i18n import local_date
from core.text import like_escape, search_key
from tenants.models import Agency, AgencyGrant

PER_PAGE = 25
_CPF_PUNCTUATION = frozenset(".-/ ")


class SortKey(enum.StrEnum):
    NAME = "nome"
    BALANCE = "saldo"
    DAYS_LATE = "atraso"
    DUE_DATE = "vencimento"


# Age bands of the oldest open debt: key → (fewest, most) days late, both included.
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-30": (0, 30),
    "31-90": (31, 90),
    "91-180": (91, 180),
    "181-365": (181, 365),
    "366+": (366, None),
}


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class AccountFilter:
    """What the person asked for; unknown values are dropped, never an error."""

    query: str = ""
    status: DebtStatus | None = None
    age: str = ""
    portfolio_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    sort: SortKey = SortKey.NAME
    descending: bool = False

    @classmethod
    def from_params(
        cls,
        *,
        q: str = "",
        status: str = "",
        age: str = "",
        portfolio: str = "",
        agency: str = "",
        sort: str = "",
        direction: str = "",
    ) -> AccountFilter:
        return cls(
            query=q.strip()[:100],
            status=DebtStatus(status) if status in DebtStatus._value2member_map_ else None,
            age=age if age in AGE_BANDS else "",
            portfolio_id=_uuid(portfolio),
            agency_id=_uuid(agency),
            sort=SortKey(sort) if sort in SortKey._value2member_map_ else SortKey.NAME,
            descending=direction == "desc",
        )

    def params(self, **changes: Any) -> str:
        """The filter as a query string (pagination, sort links and the export keep it)."""
        current = replace(self, **changes) if changes else self
        pairs = [
            ("q", current.query),
            ("situacao", current.status.value if current.status else ""),
            ("atraso", current.age),
            ("carteira", str(current.portfolio_id or "")),
            ("assessoria", str(current.agency_id or "")),
            ("ordem", "" if current.sort is SortKey.NAME else current.sort.value),
            ("sentido", "desc" if current.descending else ""),
        ]
        return urlencode([(k, v) for k, v in pairs if v])

    def sort_params(self, key: str) -> str:
        """The query string that sorts by ``key``: the same key again reverses it."""
        sort = SortKey(key)
        return self.params(sort=sort, descending=sort is self.sort and not self.descending)

    def sorted_by(self, key: str) -> str:
        """``aria-sort`` of the column ``key``."""
        if SortKey(key) is not self.sort:
            return "none"
        return "descending" if self.descending else "ascending"


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One line of the accounts list (the CPF is kept for masking, never shown whole)."""

    id: uuid.UUID
    name: str
    cpf: str
    state: str
    open_debts: int
    open_amount: int
    oldest_due: date | None
    days_late: int | None

    @property
    def masked_cpf(self) -> str:
        return mask_cpf(self.cpf)


@dataclass(frozen=True, slots=True)
class AccountPage:
    rows: Sequence[AccountRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _looks_like_cpf(term: str) -> str:
    """The digits of a term made only of digits and CPF punctuation, at least three."""
    if not term or not all(ch.isdigit() or ch in _CPF_PUNCTUATION for ch in term):
        return ""
    digits = "".join(ch for ch in term if ch.isdigit())
    return digits if len(digits) >= 3 else ""


def _term_condition(term: str, debts_where: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    words = search_key(term).split()
    conditions: list[ColumnElement[bool]] = []
    if words:
        conditions.append(
            and_(*(Debtor.search_name.like(f"%{like_escape(w)}%", escape="\\") for w in words))
        )
    contract = like_escape(term.lower())
    conditions.append(
        exists(
            select(Debt.id).where(
                *debts_where, func.lower(Debt.contract).like(f"%{contract}%", escape="\\")
            )
        )
    )
    digits = _looks_like_cpf(term)
    if digits:
        conditions.append(Debtor.cpf.like(f"%{digits}%"))
    return or_(*conditions)


def search_statement(chosen: AccountFilter, today: date) -> Select[Any]:
    """The accounts ``chosen`` selects, with their open totals, in the order asked."""
    open_where: list[ColumnElement[bool]] = [Debt.status == DebtStatus.OPEN]
    # Correlated conditions on "a debt of this debtor" (status, portfolio, contract).
    debts_where: list[ColumnElement[bool]] = [Debt.debtor_id == Debtor.id]
    if chosen.portfolio_id is not None:
        open_where.append(Debt.portfolio_id == chosen.portfolio_id)
        debts_where.append(Debt.portfolio_id == chosen.portfolio_id)
    totals = (
        select(
            Debt.debtor_id.label("debtor_id"),
            func.count(Debt.id).label("open_debts"),
            func.sum(Debt.original_amount).label("open_amount"),
            func.min(Debt.due_date).label("oldest_due"),
        )
        .where(*open_where)
        .group_by(Debt.debtor_id)
        .subquery("open_totals")
    )
    amount = func.coalesce(totals.c.open_amount, 0)
    stmt = select(
        Debtor.id,
        Debtor.name,
        Debtor.cpf,
        Debtor.state,
        func.coalesce(totals.c.open_debts, 0),
        amount,
        totals.c.oldest_due,
    ).outerjoin(totals, totals.c.debtor_id == Debtor.id)
    if chosen.query:
        stmt = stmt.where(_term_condition(chosen.query, debts_where))
    if chosen.status is not None or chosen.portfolio_id is not None:
        status = [Debt.status == chosen.status] if chosen.status is not None else []
        stmt = stmt.where(exists(select(Debt.id).where(*debts_where, *status)))
    if chosen.age:
        fewest, most = AGE_BANDS[chosen.age]
        stmt = stmt.where(totals.c.oldest_due <= today - timedelta(days=fewest))
        if most is not None:
            stmt = stmt.where(totals.c.oldest_due >= today - timedelta(days=most))
    if chosen.agency_id is not None:
        stmt = stmt.where(
            Debtor.id.in_(
                select(Handover.debtor_id).where(
                    Handover.agency_id == chosen.agency_id,
                    Handover.status == HandoverStatus.ACTIVE,
                )
            )
        )
    return stmt.order_by(*_order(chosen, amount, totals.c.oldest_due))


def _order(chosen: AccountFilter, amount: Any, oldest_due: Any) -> list[Any]:
    desc = chosen.descending
    if chosen.sort is SortKey.BALANCE:
        keys = [amount.desc() if desc else amount.asc()]
    elif chosen.sort is SortKey.DAYS_LATE:
        # More days late = an older due date; accounts with nothing open come last.
        keys = [(oldest_due.asc() if desc else oldest_due.desc()).nulls_last()]
    elif chosen.sort is SortKey.DUE_DATE:
        keys = [(oldest_due.desc() if desc else oldest_due.asc()).nulls_last()]
    else:
        keys = [Debtor.search_name.desc() if desc else Debtor.search_name.asc()]
    return [*keys, Debtor.search_name, Debtor.id]


def _row(r: Any, today: date) -> AccountRow:
    oldest: date | None = r[6]
    return AccountRow(
        id=r[0],
        name=r[1],
        cpf=r[2],
        state=r[3],
        open_debts=int(r[4]),
        open_amount=int(r[5]),
        oldest_due=oldest,
        days_late=max(0, (today - oldest).days) if oldest is not None else None,
    )


async def search_accounts(
    session: AsyncSession, chosen: AccountFilter, today: date, *, page: int = 1
) -> AccountPage:
    """One page of the accounts ``chosen`` selects."""
    page = max(1, page)
    stmt = search_statement(chosen, today)
    total = int(
        await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    )
    result = await session.execute(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE))
    return AccountPage(
        rows=[_row(r, today) for r in result.all()], total=total, page=page, per_page=PER_PAGE
    )


EXPORT_HEADER = (
    "Nome",
    "CPF",
    "UF",
    "Dívidas em aberto",
    "Saldo em aberto (R$)",
    "Vencimento mais antigo",
    "Dias em atraso",
)


async def export_accounts(session: AsyncSession, chosen: AccountFilter, today: date) -> bytes:
    """Every account ``chosen`` selects, in its order, as the portal's spreadsheet CSV
    (formula-safe, masked CPF, money as a pt-BR decimal)."""
    result = await session.execute(search_statement(chosen, today))
    rows = (_row(r, today) for r in result.all())
    cells = (
        [
            row.name,
            row.masked_cpf,
            row.state,
            row.open_debts,
            Amount(decimal_comma(row.open_amount)),
            local_date(row.oldest_due),
            "" if row.days_late is None else row.days_late,
        ]
        for row in rows
    )
    return spreadsheet_csv(EXPORT_HEADER, cells)


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


def status_choices() -> list[Choice]:
    return [Choice(s.value, _(s.value)) for s in DebtStatus]


def age_choices() -> list[Choice]:
    labels = {
        "0-30": _("Up to 30 days late"),
        "31-90": _("31 to 90 days late"),
        "91-180": _("91 to 180 days late"),
        "181-365": _("181 to 365 days late"),
        "366+": _("More than a year late"),
    }
    return [Choice(k, labels[k]) for k in AGE_BANDS]


async def portfolio_choices(session: AsyncSession) -> list[Choice]:
    rows = await session.execute(select(Portfolio.id, Portfolio.name).order_by(Portfolio.name))
    return [Choice(str(i), n) for i, n in rows.all()]


async def agency_choices(session: AsyncSession) -> list[Choice]:
    """The agencies the tenant grants access to (the session's scope applies)."""
    rows = await session.execute(
        select(Agency.id, Agency.name)
        .join(AgencyGrant, AgencyGrant.agency_id == Agency.id)
        .order_by(Agency.name)
    )
    return [Choice(str(i), n) for i, n in rows.all()]
