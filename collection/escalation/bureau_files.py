"""The files sent to the credit bureau (remessas): each listing and each removal goes in
exactly one file, never twice and never forgotten.

- Generating a file takes every pending row and marks it with the file in the same
  transaction (the escalations are locked, and only unmarked ones are taken), so two
  people generating at once cannot both send a row.
- Pending inclusions: listings not sent yet whose removal was not requested meanwhile (a
  listing withdrawn before it was ever sent has nothing to remove at the bureau).
- Pending removals: requested removals of listings the bureau received (sent in a file,
  or made before files were tracked), whatever the reason (paid, disputed, prescribed,
  withdrawn); a removal is pending until a file carries it.
- A file keeps its rows as sent: downloading it again gives the same rows, even after
  the debtor's address or the debt changed. Every download is audited (whole CPFs).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from collection.domain.documents import format_cnpj
from collection.domain.escalation import EscalationStatus
from collection.escalation.notice_letters_pdf import cep
from collection.imports.reading.report import decimal_comma, spreadsheet_csv
from collection.models import BureauFile, Debt, Escalation, EscalationKind
from core.errors import Refusal
from core.i18n import gettext as _
from core.i18n import local_date
from core.tenancy import session_scope
from tenants.models import Tenant
from tenants.services import audit
from tenants.services.audit import Actor

__all__ = [
    "BUREAU_HEADER",
    "INCLUSION",
    "REMOVAL",
    "BureauFileNotFound",
    "NothingToSend",
    "Pending",
    "bureau_row",
    "download",
    "generate",
    "history",
    "pending",
]

BUREAU_HEADER = (
    "acao",
    "data_acao",
    "cnpj_credor",
    "cpf",
    "nome",
    "endereco",
    "cidade",
    "uf",
    "cep",
    "contrato",
    "valor",
    "vencimento",
    "data_pagamento",
    "motivo",
    "remessa",
    "novo",
)
INCLUSION = "inclusao"
REMOVAL = "exclusao"


class NothingToSend(Refusal):
    """No inclusion or removal is waiting for a file."""


class BureauFileNotFound(LookupError):
    """No file of that number in the current tenant."""


@dataclass(frozen=True, slots=True)
class Pending:
    """What the next file would carry."""

    inclusions: list[Escalation]
    removals: list[Escalation]

    @property
    def total(self) -> int:
        """How many rows the next file would have."""
        return len(self.inclusions) + len(self.removals)


def bureau_row(tenant: Tenant, esc: Escalation, action: str, file_number: int | None) -> list[str]:
    """One row of a bureau file; ``file_number`` None: not sent in any file yet."""
    debt, debtor = esc.debt, esc.debt.debtor
    on = esc.listed_on if action == INCLUSION else esc.removal_requested_on
    removal = action == REMOVAL
    return [
        action,
        local_date(on),
        format_cnpj(tenant.cnpj),
        debtor.cpf,
        debtor.name,
        debtor.address,
        debtor.city,
        debtor.state,
        cep(debtor.zip_code),
        debt.contract,
        decimal_comma(esc.amount),
        local_date(debt.due_date),
        local_date(esc.paid_on) if removal else "",
        esc.reason if removal else "",
        "" if file_number is None else str(file_number),
        "sim" if file_number is None else "nao",
    ]


async def pending(session: AsyncSession, *, lock: bool = False) -> Pending:
    """The inclusions and removals no file has carried yet, oldest first."""
    base = (
        select(Escalation)
        .where(Escalation.kind == EscalationKind.NEGATIVACAO, Escalation.listed_on.is_not(None))
        .options(selectinload(Escalation.debt).selectinload(Debt.debtor))
        .order_by(Escalation.listed_on, Escalation.id)
    )
    if lock:
        base = base.with_for_update(of=Escalation)
    inclusions = await session.scalars(
        base.where(
            Escalation.listing_file_id.is_(None),
            Escalation.removal_requested_on.is_(None),
            Escalation.status == EscalationStatus.LISTED,
        )
    )
    removals = await session.scalars(
        base.where(
            Escalation.listing_file_id.is_not(None),
            Escalation.removal_file_id.is_(None),
            Escalation.removal_requested_on.is_not(None),
        )
    )
    return Pending(list(inclusions.all()), list(removals.all()))


async def generate(session: AsyncSession, by: Actor, today: date) -> BureauFile:
    """The next file with every pending row, marked as sent by it (commit to keep it).
    Raises NothingToSend when no row is pending."""
    tenant_id = session_scope(session.sync_session).tenant_id
    if tenant_id is None:
        raise RuntimeError("bureau files are made in a tenant's session")
    tenant = await session.get_one(Tenant, tenant_id)
    waiting = await pending(session, lock=True)
    if not waiting.total:
        raise NothingToSend(_("No inclusion or removal is waiting to be sent."))
    last = await session.scalar(select(func.max(BureauFile.number)))
    made = BureauFile(id=uuid.uuid4(), number=(last or 0) + 1, created_by=by.user_id)
    lines = [(e.listed_on, 0, e, INCLUSION) for e in waiting.inclusions]
    lines += [(e.removal_requested_on or today, 1, e, REMOVAL) for e in waiting.removals]
    lines.sort(key=lambda line: (line[0], line[1]))
    made.rows = [bureau_row(tenant, esc, action, None) for _, _, esc, action in lines]
    for row in made.rows:
        row[-2:] = [str(made.number), "sim"]  # new in this very file
    made.inclusions, made.removals = len(waiting.inclusions), len(waiting.removals)
    session.add(made)
    await session.flush()
    for esc in waiting.inclusions:
        esc.listing_file_id = made.id
    for esc in waiting.removals:
        esc.removal_file_id = made.id
    audit.record(
        session,
        by,
        "escalation.bureau_file_generated",
        target=str(made.id),
        details={"number": made.number, "inclusions": made.inclusions, "removals": made.removals},
    )
    return made


async def download(session: AsyncSession, number: int, by: Actor) -> bytes:
    """File ``number`` as it was sent (same rows every time); audited."""
    found = await session.scalar(select(BureauFile).where(BureauFile.number == number))
    if found is None or number == 0:
        raise BureauFileNotFound(number)
    audit.record(
        session,
        by,
        "escalation.bureau_exported",
        target=str(found.id),
        details={"number": number, "rows": len(found.rows)},
    )
    return spreadsheet_csv(BUREAU_HEADER, found.rows)


async def history(session: AsyncSession) -> list[BureauFile]:
    """The tenant's files, newest first (the uncounted number 0 left out)."""
    rows = await session.scalars(
        select(BureauFile).where(BureauFile.number > 0).order_by(BureauFile.number.desc())
    )
    return list(rows.all())
