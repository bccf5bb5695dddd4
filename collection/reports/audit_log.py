"""The audit log as a person reads it: each action by its pt-BR label from the catalog
(``audit:<code>`` msgids, never the code itself) and each target by what it names (a
person, an account, a contract, an import) instead of a bare id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.models import Agreement, Debt, Debtor, Handover, ImportJob
from core.i18n import gettext as _
from tenants.models import AuditEvent, User
from tenants.services import audit


@dataclass(frozen=True, slots=True)
class AuditLine:
    at: datetime
    who: str
    what: str
    target: str
    link: str
    ip: str


def action_label(action: str) -> str:
    """``user.invited`` → ``Pessoa convidada``; an action without a label reads "Outra ação"."""
    msgid = f"audit:{action}"
    label = _(msgid)
    return _("Other action") if label == msgid else label


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def _targets(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    """What each id names (label, link), looked up in the session's scope."""
    found: dict[uuid.UUID, tuple[str, str]] = {}
    if not ids:
        return found
    for user_id, name in await session.execute(select(User.id, User.name).where(User.id.in_(ids))):
        found[user_id] = (name, "")
    for debtor_id, name in await session.execute(
        select(Debtor.id, Debtor.name).where(Debtor.id.in_(ids))
    ):
        found[debtor_id] = (name, f"/portal/debtors/{debtor_id}")
    debts = select(Debt.id, Debt.contract, Debtor.name).join(Debtor, Debtor.id == Debt.debtor_id)
    for debt_id, contract, name in await session.execute(debts.where(Debt.id.in_(ids))):
        label = _("Contract %(contract)s · %(name)s") % {"contract": contract, "name": name}
        found[debt_id] = (label, f"/portal/debts/{debt_id}")
    for model, text in (
        (Agreement, "Agreement of %(name)s"),
        (Handover, "Account of %(name)s with the agency"),
    ):
        rows = await session.execute(
            select(model.id, Debtor.id, Debtor.name)
            .join(Debtor, Debtor.id == model.debtor_id)
            .where(model.id.in_(ids))
        )
        for row_id, debtor_id, name in rows:
            found[row_id] = (_(text) % {"name": name}, f"/portal/debtors/{debtor_id}")
    for job_id, filename in await session.execute(
        select(ImportJob.id, ImportJob.filename).where(ImportJob.id.in_(ids))
    ):
        found[job_id] = (_("Import of %(file)s") % {"file": filename}, f"/portal/imports/{job_id}")
    return found


def _line(event: AuditEvent, names: dict[uuid.UUID, tuple[str, str]]) -> AuditLine:
    target_id = _uuid(event.target) if event.target else None
    if target_id is None:
        target, link = event.target, ""  # a name or a client id, already readable
    else:
        # An id nothing here names any more (deleted, or another kind): no bare id.
        target, link = names.get(target_id, ("", ""))
    return AuditLine(
        at=event.at,
        who=event.actor_label,
        what=action_label(event.action),
        target=target,
        link=link,
        ip=event.ip,
    )


async def audit_lines(session: AsyncSession, *, limit: int = 200) -> Sequence[AuditLine]:
    """The latest audit lines of the session's scope, readable."""
    events = await audit.recent(session, limit=limit)
    ids = {i for e in events if e.target and (i := _uuid(e.target)) is not None}
    names = await _targets(session, ids)
    return [_line(e, names) for e in events]
