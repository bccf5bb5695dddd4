"""What happened to the tenant's debts, read through the API: agreements, payments and
the régua's messages, each with filters and a cursor."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts import records as api
from collection.models import Channel, MessageStatus, PaymentStatus
from core.clock import local_today
from portal.api.access import needs, provide_api_session
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
from portal.api.problems import NOT_FOUND, PROTECTED
from portal.api.schemas import (
    AgreementOut,
    AgreementPage,
    MessagePage,
    PaymentPage,
    agreement_out,
    message_out,
    payment_out,
)

SESSION = {"session": Provide(provide_api_session)}


class AgreementsController(Controller):
    path = "/agreements"
    tags = ["agreements"]
    dependencies = SESSION

    @get("/", name="api.agreements", responses=PROTECTED, **needs("agreements:read"))
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        status: Annotated[str | None, QueryParameter(max_length=30)] = None,
        cpf: CpfFilter = None,
        debt_id: FromQuery[uuid.UUID | None] = None,
        created_since: Since = None,
        updated_since: UpdatedSince = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> AgreementPage:
        """The tenant's agreements, oldest first; filter by status, CPF or debt. With
        ``updated_since``, what changed since then, in the order it changed."""
        plain(status=status, cursor=cursor)
        where = api.AgreementFilter(
            status=status,
            cpf_hash=cpf_hash(request, cpf),
            debt_id=debt_id,
            created_since=since(created_since),
            changes=changes(request, updated_since),
        )
        try:
            page = await api.list_agreements(session, where, cursor=cursor, limit=limit)
        except api.InvalidInput as exc:
            raise refused(exc) from None
        debts = await api.debts_of_agreements(session, [a.id for a in page.items])
        today = local_today(request.app.state.clock)
        return AgreementPage(
            [agreement_out(a, debts[a.id], today) for a in page.items], page.next_cursor
        )

    @get(
        "/{agreement_id:uuid}",
        name="api.agreement",
        responses={**PROTECTED, **NOT_FOUND},
        **needs("agreements:read"),
    )
    async def show(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        agreement_id: FromPath[uuid.UUID],
    ) -> AgreementOut:
        """One agreement with its installments and the debts it settles."""
        try:
            agreement = await api.get_agreement(session, agreement_id)
        except api.NotFound as exc:
            raise refused(exc) from None
        debts = await api.debts_of_agreements(session, [agreement.id])
        return agreement_out(agreement, debts[agreement.id], local_today(request.app.state.clock))


class PaymentsController(Controller):
    path = "/payments"
    tags = ["payments"]
    dependencies = SESSION

    @get("/", name="api.payments", responses=PROTECTED, **needs("payments:read"))
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        status: FromQuery[PaymentStatus | None] = None,
        agreement_id: FromQuery[uuid.UUID | None] = None,
        created_since: Since = None,
        updated_since: UpdatedSince = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> PaymentPage:
        """Payments of the tenant's agreements (every attempt), oldest first. With
        ``updated_since``, what changed since then (status, refunds), in that order."""
        plain(cursor=cursor)
        where = api.PaymentFilter(
            status=status,
            agreement_id=agreement_id,
            created_since=since(created_since),
            changes=changes(request, updated_since),
        )
        try:
            page = await api.list_payments(session, where, cursor=cursor, limit=limit)
        except api.InvalidInput as exc:
            raise refused(exc) from None
        return PaymentPage([payment_out(p) for p in page.items], page.next_cursor)


class MessagesController(Controller):
    path = "/messages"
    tags = ["messages"]
    dependencies = SESSION

    @get("/", name="api.messages", responses=PROTECTED, **needs("messages:read"))
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        status: FromQuery[MessageStatus | None] = None,
        channel: FromQuery[Channel | None] = None,
        debt_id: FromQuery[uuid.UUID | None] = None,
        cpf: CpfFilter = None,
        created_since: Since = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> MessagePage:
        """The régua's messages (planned, sent, blocked, failed), oldest first."""
        plain(cursor=cursor)
        where = api.MessageFilter(
            status=status,
            channel=channel,
            debt_id=debt_id,
            cpf_hash=cpf_hash(request, cpf),
            created_since=since(created_since),
        )
        try:
            page = await api.list_messages(session, where, cursor=cursor, limit=limit)
        except api.InvalidInput as exc:
            raise refused(exc) from None
        return MessagePage([message_out(m) for m in page.items], page.next_cursor)
