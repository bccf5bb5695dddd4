"""Debts through the API: list with filters and a cursor, read one, create, change."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts import records as api
from collection.models import DebtStatus
from core.clock import local_today
from portal.api.access import api_actor, needs, provide_api_session, provide_grant
from portal.api.common import (
    AnyRequest,
    CpfFilter,
    Cursor,
    Limit,
    Since,
    UpdatedSince,
    changes,
    cpf_hash,
    plain,
    refused,
    since,
)
from portal.api.problems import CONFLICT, NOT_FOUND, PROTECTED
from portal.api.schemas import DebtIn, DebtOut, DebtPage, DebtPatch, debt_out
from tenants.services import audit
from tenants.services.api_clients import TokenGrant


class DebtsController(Controller):
    path = "/debts"
    tags = ["debts"]
    dependencies = {
        "session": Provide(provide_api_session),
        "grant": Provide(provide_grant),
    }

    @get("/", name="api.debts", responses=PROTECTED, **needs("debts:read"))
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        status: FromQuery[DebtStatus | None] = None,
        cpf: CpfFilter = None,
        contract: Annotated[str | None, QueryParameter(max_length=60)] = None,
        portfolio: Annotated[str | None, QueryParameter(max_length=120)] = None,
        created_since: Since = None,
        updated_since: UpdatedSince = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> DebtPage:
        """The tenant's debts, oldest first; filter by status, CPF, contract, portfolio.
        With ``updated_since``, what changed since then, in the order it changed."""
        plain(contract=contract, portfolio=portfolio, cursor=cursor)
        where = api.DebtFilter(
            status=status,
            cpf_hash=cpf_hash(request, cpf),
            contract=contract,
            portfolio=portfolio,
            created_since=since(created_since),
            changes=changes(request, updated_since),
        )
        try:
            page = await api.list_debts(session, where, cursor=cursor, limit=limit)
        except api.InvalidInput as exc:
            raise refused(exc) from None
        return DebtPage([debt_out(d) for d in page.items], page.next_cursor)

    @get(
        "/{debt_id:uuid}",
        name="api.debt",
        responses={**PROTECTED, **NOT_FOUND},
        **needs("debts:read"),
    )
    async def show(
        self, session: NamedDependency[AsyncSession], debt_id: FromPath[uuid.UUID]
    ) -> DebtOut:
        """One debt with its debtor and installments."""
        try:
            return debt_out(await api.get_debt(session, debt_id))
        except api.NotFound as exc:
            raise refused(exc) from None

    @post(
        "/",
        name="api.debts.create",
        status_code=201,
        responses={**PROTECTED, **CONFLICT},
        **needs("debts:write"),
    )
    async def create(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        grant: NamedDependency[TokenGrant],
        data: JSONBody[DebtIn],
    ) -> DebtOut:
        """Create a debt (and its debtor, found by CPF or new), checked as an import row."""
        person = data.debtor
        new = api.NewDebt(
            contract=data.contract,
            product=data.product,
            portfolio=data.portfolio,
            debtor=api.DebtorData(
                cpf=person.cpf,
                name=person.name,
                birth_date=person.birth_date,
                email=person.email,
                phone=person.phone,
                address=person.address,
                city=person.city,
                state=person.state,
                zip_code=person.zip_code,
            ),
            installments=[
                api.InstallmentData(i.number, i.due_date, i.amount) for i in data.installments
            ],
        )
        try:
            debt = await api.create_debt(
                session,
                grant.tenant_id,
                new,
                cpf_hash_key=request.app.state.settings.security.cpf_hash_key,
                today=local_today(request.app.state.clock),
            )
        except (api.InvalidInput, api.Conflict) as exc:
            raise refused(exc) from None
        audit.record(session, api_actor(request, grant), "api.debt_created", target=str(debt.id))
        await session.commit()
        return debt_out(debt)

    @patch(
        "/{debt_id:uuid}",
        name="api.debts.update",
        responses={**PROTECTED, **NOT_FOUND, **CONFLICT},
        **needs("debts:write"),
    )
    async def update(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        grant: NamedDependency[TokenGrant],
        debt_id: FromPath[uuid.UUID],
        data: JSONBody[DebtPatch],
    ) -> DebtOut:
        """Change the product, replace the installments, or set the status."""
        changes = api.DebtChanges(
            product=data.product,
            installments=None
            if data.installments is None
            else [api.InstallmentData(i.number, i.due_date, i.amount) for i in data.installments],
            status=None if data.status is None else DebtStatus(data.status),
        )
        try:
            debt = await api.update_debt(
                session,
                grant.tenant_id,
                debt_id,
                changes,
                today=local_today(request.app.state.clock),
            )
        except (api.InvalidInput, api.Conflict, api.NotFound) as exc:
            raise refused(exc) from None
        audit.record(
            session,
            api_actor(request, grant),
            "api.debt_updated",
            target=str(debt.id),
            details={
                "fields": [
                    k for k in ("product", "installments", "status") if getattr(data, k) is not None
                ]
            },
        )
        await session.commit()
        return debt_out(debt)
