"""The agency work queue: accounts in priority order, claims, assignment and rebalancing.

Every query starts from ``agency_access.agency_handovers``, so an agency only ever sees
and touches the active hand-overs of tenants that still grant it access; anything else
is "not found". At most one person holds an account (``claimed_by``): a claim is one
conditional ``UPDATE … WHERE claimed_by IS NULL OR claimed_by = me``, so of two agents
claiming at the same moment exactly one changes the row and the other is told who won.

Order of the queue: accounts with a follow-up due today or earlier first, then by score
(highest first), then the oldest hand-over.

Rebalancing (supervisors): the *pool* is every account nobody holds, held by someone
who is no longer an active member of the agency, or held but idle (claimed more than
``IDLE_AFTER`` ago with no contact recorded since then). Accounts held and worked stay
where they are. The pool is dealt in queue order, each account to the chosen person
holding the fewest accounts at that moment (ties: the order in which they were chosen),
so everyone ends with the same load give or take one, and the best accounts are spread
rather than all given to the first person.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from collection.agency.access import agency_handovers, handover_for_agency
from collection.agency.handover import collectible_on
from collection.domain.documents import mask_cpf
from collection.models import Debt, Debtor, Handover, HandoverStatus
from core.errors import Refusal
from core.i18n import gettext as _
from tenants.models import AgencyGrant, AgencyMembership, Tenant, User
from tenants.roles import Permission, Role, permissions_for
from tenants.services import audit
from tenants.services.audit import Actor

IDLE_AFTER = timedelta(days=2)
PER_PAGE = 25


class QueueRefusal(Refusal):
    """A queue action refused (the account is held by someone else, and so on)."""


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One account of the queue, as an agent sees it."""

    handover_id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    debtor_name: str
    cpf_masked: str
    open_amount: int  # centavos, original amounts of the collectible debts
    days_overdue: int  # of the earliest collectible debt (prescribed, disputed left out)
    score: int
    claimed_by: uuid.UUID | None
    claimed_by_name: str
    follow_up_on: date | None
    follow_up_due: bool


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: Sequence[QueueRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class Creditor:
    tenant_id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class TeamMember:
    """A person of the agency and the accounts they hold."""

    user_id: uuid.UUID
    name: str
    role: Role
    holding: int


def _due_first(today: date) -> Any:
    due = and_(Handover.follow_up_on.is_not(None), Handover.follow_up_on <= today)
    return case((due, 0), else_=1)


def _ordered(statement: Any, today: date) -> Any:
    return statement.order_by(
        _due_first(today), Handover.score.desc(), Handover.handed_over_at, Handover.id
    )


async def creditors(session: AsyncSession, agency_id: uuid.UUID) -> list[Creditor]:
    """The tenants that grant the agency access, by name (the queue's filter)."""
    rows = await session.execute(
        select(Tenant.id, Tenant.name)
        .join(AgencyGrant, AgencyGrant.tenant_id == Tenant.id)
        .where(AgencyGrant.agency_id == agency_id)
        .order_by(Tenant.name)
    )
    return [Creditor(r[0], r[1]) for r in rows.all()]


def _row_statement(agency_id: uuid.UUID, today: date) -> Any:
    # Prescribed and disputed debts are not collected: they count in neither the balance
    # nor the days late an agent works from.
    open_debts = and_(Debt.debtor_id == Handover.debtor_id, *collectible_on(today))
    amount = (
        select(func.coalesce(func.sum(Debt.original_amount), 0)).where(open_debts)
    ).scalar_subquery()
    earliest = select(func.min(Debt.due_date)).where(open_debts).scalar_subquery()
    holder = User.__table__.alias("holder")
    return (
        agency_handovers(agency_id)
        .with_only_columns(
            Handover.id,
            Handover.tenant_id,
            Tenant.name,
            Debtor.name,
            Debtor.cpf,
            amount,
            earliest,
            Handover.score,
            Handover.claimed_by,
            holder.c.name,
            Handover.follow_up_on,
            maintain_column_froms=True,
        )
        .join(Tenant, Tenant.id == Handover.tenant_id)
        .join(Debtor, Debtor.id == Handover.debtor_id)
        .outerjoin(holder, holder.c.id == Handover.claimed_by)
    )


def _row(r: Any, today: date) -> QueueRow:
    follow_up: date | None = r[10]
    return QueueRow(
        handover_id=r[0],
        tenant_id=r[1],
        tenant_name=r[2],
        debtor_name=r[3],
        cpf_masked=mask_cpf(r[4]),
        open_amount=int(r[5] or 0),
        days_overdue=max(0, (today - r[6]).days) if r[6] is not None else 0,
        score=int(r[7]),
        claimed_by=r[8],
        claimed_by_name=r[9] or "",
        follow_up_on=follow_up,
        follow_up_due=follow_up is not None and follow_up <= today,
    )


async def queue(
    session: AsyncSession,
    agency_id: uuid.UUID,
    *,
    today: date,
    mine_of: uuid.UUID | None = None,
    unclaimed: bool = False,
    tenant_id: uuid.UUID | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> QueuePage:
    """The agency's accounts in queue order: all, those held by ``mine_of``, or those
    nobody holds (``unclaimed``), optionally of one creditor."""
    page = max(1, page)
    filters: list[Any] = []
    if mine_of is not None:
        filters.append(Handover.claimed_by == mine_of)
    if unclaimed:
        filters.append(Handover.claimed_by.is_(None))
    if tenant_id is not None:
        filters.append(Handover.tenant_id == tenant_id)
    count = agency_handovers(agency_id).where(*filters).with_only_columns(func.count())
    total = int(await session.scalar(count) or 0)
    statement = _ordered(_row_statement(agency_id, today).where(*filters), today)
    rows = await session.execute(statement.limit(per_page).offset((page - 1) * per_page))
    return QueuePage([_row(r, today) for r in rows.all()], total, page, per_page)


async def queue_row(
    session: AsyncSession, agency_id: uuid.UUID, handover_id: uuid.UUID, *, today: date
) -> QueueRow:
    """One account of the queue (to redraw its line); ``AccountNotFound`` otherwise."""
    await handover_for_agency(session, agency_id, handover_id)
    found = await session.execute(
        _row_statement(agency_id, today).where(Handover.id == handover_id)
    )
    return _row(found.one(), today)


async def holder_name(
    session: AsyncSession, agency_id: uuid.UUID, handover_id: uuid.UUID
) -> str | None:
    """Who holds the account now (their name), or None."""
    name: str | None = await session.scalar(
        agency_handovers(agency_id)
        .with_only_columns(User.name, maintain_column_froms=True)
        .join(User, User.id == Handover.claimed_by)
        .where(Handover.id == handover_id)
    )
    return name


async def _member_role(
    session: AsyncSession, agency_id: uuid.UUID, user_id: uuid.UUID | None
) -> Role | None:
    if user_id is None:
        return None
    role = await session.scalar(
        select(AgencyMembership.role)
        .join(User, User.id == AgencyMembership.user_id)
        .where(
            AgencyMembership.agency_id == agency_id,
            AgencyMembership.user_id == user_id,
            AgencyMembership.is_active.is_(True),
            User.is_active.is_(True),
        )
    )
    return Role(role) if role is not None else None


async def _require(
    session: AsyncSession, agency_id: uuid.UUID, actor: Actor, permission: Permission
) -> Role:
    role = await _member_role(session, agency_id, actor.user_id)
    if role is None or permission not in permissions_for(role):
        raise QueueRefusal(_("Your role does not allow this action."))
    return role


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def take(
    session: AsyncSession, handover: Handover, user_id: uuid.UUID, now: datetime
) -> bool:
    """Give ``user_id`` the account unless someone else holds it; True when they hold it.

    One conditional UPDATE, so of two people taking the account at the same moment
    exactly one wins (the database serialises the two updates of the row)."""
    result = await session.execute(
        update(Handover)
        .where(
            Handover.id == handover.id,
            Handover.tenant_id == handover.tenant_id,
            Handover.status == HandoverStatus.ACTIVE,
            or_(Handover.claimed_by.is_(None), Handover.claimed_by == user_id),
        )
        .values(claimed_by=user_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def claim(
    session: AsyncSession,
    agency_id: uuid.UUID,
    handover_id: uuid.UUID,
    actor: Actor,
    now: datetime,
) -> None:
    """The actor takes the account, unless someone else holds it (``QueueRefusal`` names
    them). Atomic: of two claims at the same moment exactly one wins."""
    await _require(session, agency_id, actor, Permission.QUEUE_WORK)
    handover = await handover_for_agency(session, agency_id, handover_id)
    if actor.user_id is None or not await take(session, handover, actor.user_id, now):
        holder = await holder_name(session, agency_id, handover_id)
        if holder is None:  # released meanwhile, or no longer with the agency
            raise QueueRefusal(_("This account changed meanwhile: try again."))
        raise QueueRefusal(_("%(name)s is already working on this account.") % {"name": holder})
    audit.record(
        session,
        actor,
        "queue.claimed",
        target=str(handover_id),
        tenant_id=handover.tenant_id,
    )


async def release(
    session: AsyncSession,
    agency_id: uuid.UUID,
    handover_id: uuid.UUID,
    actor: Actor,
) -> None:
    """Give the account back to the queue: its holder may, and so may a supervisor."""
    role = await _require(session, agency_id, actor, Permission.QUEUE_WORK)
    handover = await handover_for_agency(session, agency_id, handover_id)
    statement = update(Handover).where(
        Handover.id == handover_id,
        Handover.status == HandoverStatus.ACTIVE,
        Handover.claimed_by.is_not(None),
    )
    if Permission.QUEUE_ASSIGN not in permissions_for(role):
        statement = statement.where(Handover.claimed_by == actor.user_id)
    result = await session.execute(
        statement.values(claimed_by=None, claimed_at=None).execution_options(
            synchronize_session=False
        )
    )
    if _rowcount(result) != 1:
        holder = await holder_name(session, agency_id, handover_id)
        if holder is None:
            raise QueueRefusal(_("Nobody is working on this account."))
        raise QueueRefusal(
            _("%(name)s is working on this account; only they or a supervisor may release it.")
            % {"name": holder}
        )
    audit.record(
        session, actor, "queue.released", target=str(handover_id), tenant_id=handover.tenant_id
    )


async def team(session: AsyncSession, agency_id: uuid.UUID) -> list[TeamMember]:
    """The active people of the agency, with how many of its accounts each holds."""
    held = (
        agency_handovers(agency_id)
        .with_only_columns(Handover.claimed_by, func.count().label("n"))
        .where(Handover.claimed_by.is_not(None))
        .group_by(Handover.claimed_by)
        .subquery()
    )
    rows = await session.execute(
        select(User.id, User.name, AgencyMembership.role, func.coalesce(held.c.n, 0))
        .join(AgencyMembership, AgencyMembership.user_id == User.id)
        .outerjoin(held, held.c.claimed_by == User.id)
        .where(
            AgencyMembership.agency_id == agency_id,
            AgencyMembership.is_active.is_(True),
            User.is_active.is_(True),
        )
        .order_by(User.name, User.id)
    )
    return [TeamMember(r[0], r[1], Role(r[2]), int(r[3])) for r in rows.all()]


async def assign(
    session: AsyncSession,
    agency_id: uuid.UUID,
    handover_id: uuid.UUID,
    to_user_id: uuid.UUID,
    actor: Actor,
    now: datetime,
) -> None:
    """A supervisor gives the account to an active person of the agency (taking it from
    whoever held it)."""
    await _require(session, agency_id, actor, Permission.QUEUE_ASSIGN)
    handover = await handover_for_agency(session, agency_id, handover_id)
    target = await _member_role(session, agency_id, to_user_id)
    if target is None or Permission.QUEUE_WORK not in permissions_for(target):
        raise QueueRefusal(_("Choose a person of your agency who works the queue."))
    before = handover.claimed_by
    await session.execute(
        update(Handover)
        .where(Handover.id == handover_id)
        .values(claimed_by=to_user_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session,
        actor,
        "queue.assigned",
        target=str(handover_id),
        tenant_id=handover.tenant_id,
        details={"to": str(to_user_id), "from": str(before) if before else ""},
    )


async def rebalance(
    session: AsyncSession,
    agency_id: uuid.UUID,
    user_ids: Sequence[uuid.UUID],
    actor: Actor,
    now: datetime,
    *,
    today: date,
) -> int:
    """Deal the unclaimed and idle accounts among ``user_ids`` (the rule is in the module
    docstring); returns how many accounts changed hands."""
    await _require(session, agency_id, actor, Permission.QUEUE_ASSIGN)
    chosen = list(dict.fromkeys(user_ids))
    if not chosen:
        raise QueueRefusal(_("Choose at least one person to share the accounts with."))
    members = {m.user_id: m for m in await team(session, agency_id)}
    for user_id in chosen:
        member = members.get(user_id)
        if member is None or Permission.QUEUE_WORK not in permissions_for(member.role):
            raise QueueRefusal(_("Choose a person of your agency who works the queue."))
    idle_since = now - IDLE_AFTER
    idle = and_(
        Handover.claimed_at < idle_since,
        or_(Handover.last_contact_at.is_(None), Handover.last_contact_at < Handover.claimed_at),
    )
    pool_rule = or_(
        Handover.claimed_by.is_(None),
        Handover.claimed_by.not_in(list(members)),
        idle,
    )
    pool_rows = await session.execute(
        _ordered(
            agency_handovers(agency_id)
            .with_only_columns(Handover.id, Handover.tenant_id, Handover.claimed_by)
            .where(pool_rule),
            today,
        )
    )
    pool = pool_rows.all()
    in_pool = {r[0] for r in pool}
    load = {user_id: 0 for user_id in chosen}
    for member_id, member in members.items():
        if member_id in load:
            load[member_id] = member.holding
    kept = await session.execute(
        agency_handovers(agency_id)
        .with_only_columns(Handover.id, Handover.claimed_by)
        .where(Handover.claimed_by.in_(chosen))
    )
    for handover_id, holder in kept.all():
        if handover_id in in_pool and holder in load:
            load[holder] -= 1  # back in the pool: dealt again below
    moved: dict[uuid.UUID, list[str]] = {}
    changes: list[dict[str, Any]] = []
    for handover_id, tenant_id, holder in pool:
        to = min(chosen, key=lambda u: (load[u], chosen.index(u)))
        load[to] += 1
        if to != holder:
            changes.append({"id": handover_id, "claimed_by": to, "claimed_at": now})
            moved.setdefault(tenant_id, []).append(str(handover_id))
    if changes:
        await session.execute(update(Handover), changes)
    for tenant_id, handover_ids in moved.items():
        audit.record(
            session,
            actor,
            "queue.rebalanced",
            tenant_id=tenant_id,
            details={"handovers": handover_ids, "among": [str(u) for u in chosen]},
        )
    return len(changes)
