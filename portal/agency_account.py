"""An agency account view: everything about the debtor at one creditor, and the work on it.

Agency pages run on a system-scope session (``provide_agency_session``); the hand-over is
found through ``agency_access.handover_for_agency``, so an account the agency may not
work (another agency's, or a creditor whose grant ended) is "not found". Each piece of
work is a form that works as a plain POST (a redirect back to the page; a refusal
re-renders the page with 400 and the field named) and, with htmx, answers the redrawn
section alone. An agent works an account that is theirs or nobody's (working it takes
it); a supervisor any account of the agency.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts.service import AccountNotFound
from collection.accounts.timeline import CALL_OUTCOMES, VISITS
from collection.agency import casework
from collection.agency.access import handover_for_agency
from collection.models import Handover
from core.clock import Clock
from portal.auth import (
    client_ip,
    provide_agency_session,
    provide_principal,
    request_today,
    requires_agency,
    uuid_or_none,
)
from tenants.roles import Permission
from tenants.services import audit
from tenants.services.audit import Actor
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]
BASE = "/portal/agencia/contas"
SECTIONS = ("notes", "calls", "promises", "messages")
Form = dict[str, str]
# One piece of work: (hand-over, form, now, actor) → a notice key for the page, or "".
Work = Callable[[Handover, Form, datetime, Actor], Awaitable[str]]


def _clock(request: AnyRequest) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


class AgencyAccountController(Controller):
    path = BASE
    guards = [requires_agency(Permission.QUEUE_WORK)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_agency_session),
    }

    async def _handover(
        self, session: AsyncSession, principal: Principal, handover_id: uuid.UUID
    ) -> Handover:
        assert principal.agency is not None  # the guard and the session provider ensure it
        try:
            return await handover_for_agency(session, principal.agency.agency_id, handover_id)
        except AccountNotFound as exc:
            raise NotFoundException() from exc

    def _may_work(self, principal: Principal, handover: Handover) -> bool:
        return principal.can_at_agency(Permission.QUEUE_ASSIGN) or handover.claimed_by in (
            None,
            principal.user_id,
        )

    async def _page(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        handover: Handover,
        *,
        section: str = "",
        errors: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        notice: str = "",
        status: int = 200,
    ) -> Template:
        view = await casework.account_view(session, handover, today=request_today(request))
        context = {
            "principal": principal,
            "nav": "queue",
            "view": view,
            "may_work": self._may_work(principal, handover),
            "may_propose": principal.can_at_agency(Permission.OFFERS_PROPOSE),
            "outcomes": CALL_OUTCOMES,
            "visit_labels": VISITS,
            "section": section,
            "errors": errors or {},
            "form": form or {},
            "notice": notice,
            "base": f"{BASE}/{handover.id}",
        }
        if section and request.headers.get("hx-request"):
            # htmx swaps only 2xx answers: a refusal comes back as the redrawn section.
            return Template(f"portal/_case_{section}.html", context=context)
        return Template("portal/agency_account.html", status_code=status, context=context)

    async def _work(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        handover_id: uuid.UUID,
        section: str,
        work: Work,
    ) -> Template | Redirect:
        handover = await self._handover(session, principal, handover_id)
        form = {k: str(v) for k, v in (await request.form()).items()}
        now = _clock(request).now()
        actor = principal.actor(client_ip(request))
        try:
            taken = await casework.take_for_work(
                session,
                handover,
                principal.user_id,
                supervisor=principal.can_at_agency(Permission.QUEUE_ASSIGN),
                now=now,
            )
        except casework.CaseRefused as exc:
            raise PermissionDeniedException(exc.message) from exc
        if taken:  # working an unclaimed account takes it, as claiming it in the queue does
            audit.record(
                session,
                actor,
                "queue.claimed",
                target=str(handover.id),
                tenant_id=handover.tenant_id,
            )
        try:
            notice = await work(handover, form, now, actor)
        except casework.CaseRefused as exc:
            await session.rollback()
            handover = await self._handover(session, principal, handover_id)
            return await self._page(
                request,
                session,
                principal,
                handover,
                section=section,
                errors=exc.errors,
                form=form,
                status=400,
            )
        await session.commit()
        if request.headers.get("hx-request"):
            return await self._page(
                request, session, principal, handover, section=section, notice=notice
            )
        return Redirect(f"{BASE}/{handover_id}#case-{section}", status_code=303)

    @get("/{handover_id:uuid}", name="portal.agency.account")
    async def account(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template:
        handover = await self._handover(session, principal, handover_id)
        return await self._page(request, session, principal, handover)

    @post("/{handover_id:uuid}/notas", name="portal.agency.note", status_code=200)
    async def note(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        async def work(
            handover: Handover, form: dict[str, str], now: datetime, actor: Actor
        ) -> str:
            await casework.add_note(session, handover, form.get("text", ""), author=actor, now=now)
            return ""

        return await self._work(request, session, principal, handover_id, "notes", work)

    @post("/{handover_id:uuid}/ligacoes", name="portal.agency.call", status_code=200)
    async def call(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        async def work(
            handover: Handover, form: dict[str, str], now: datetime, actor: Actor
        ) -> str:
            await casework.log_call(
                session,
                handover,
                uuid_or_none(form.get("contact", "")),
                form.get("outcome", ""),
                form.get("text", ""),
                author=actor,
                now=now,
            )
            return ""

        return await self._work(request, session, principal, handover_id, "calls", work)

    @post("/{handover_id:uuid}/promessas", name="portal.agency.promise", status_code=200)
    async def promise(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        today = request_today(request)

        async def work(
            handover: Handover, form: dict[str, str], now: datetime, actor: Actor
        ) -> str:
            promise, errors = casework.read_promise(
                form.get("amount", ""),
                form.get("promised_on", ""),
                form.get("follow_up_on", ""),
                today,
            )
            if promise is None:
                name, message = next(iter(errors.items()))
                raise casework.CaseRefused(message, name, errors=errors)
            await casework.add_promise(
                session, handover, promise, form.get("text", ""), author=actor, now=now
            )
            return ""

        return await self._work(request, session, principal, handover_id, "promises", work)

    @post("/{handover_id:uuid}/mensagens", name="portal.agency.message", status_code=200)
    async def message(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        base_url: str = request.app.state.settings.base_url

        async def work(
            handover: Handover, form: dict[str, str], now: datetime, actor: Actor
        ) -> str:
            message = await casework.send_message(
                session,
                handover,
                form.get("channel", ""),
                uuid_or_none(form.get("contact", "")),
                form.get("text", ""),
                now,
                author=actor,
                base_url=base_url,
                opt_out_key=request.app.state.settings.security.secret_key,
            )
            return "message_" + message.status.value

        return await self._work(request, session, principal, handover_id, "messages", work)
