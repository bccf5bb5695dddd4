"""The agency work queue: prioritized accounts, claims, assignment by supervisors.

Agency pages run on a system-scope session (``provide_agency_session``): every query
goes through ``collection.agency.workqueue``, which starts from the hand-overs the
agency may work, so an account of a tenant that does not grant the agency is "not found".
A plain form POST answers with a redirect whose query string carries a message key
(never free text); an htmx request gets the redrawn line of the queue.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts.service import AccountNotFound
from collection.agency import workqueue
from core.clock import Clock
from core.i18n import gettext as _
from portal.auth import (
    client_ip,
    provide_agency_session,
    provide_principal,
    request_today,
    requires_agency,
    uuid_or_none,
)
from tenants.roles import Permission
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]
WORK = [requires_agency(Permission.QUEUE_WORK)]
ASSIGN = [requires_agency(Permission.QUEUE_ASSIGN)]
VIEWS = ("all", "mine", "unclaimed")
QUEUE = "/portal/agencia/fila"
TEAM = "/portal/agencia/equipe"


def _agency_id(principal: Principal) -> uuid.UUID:
    assert principal.agency is not None  # the guards and the session provider ensure it
    return principal.agency.agency_id


class AgencyQueueController(Controller):
    path = "/portal/agencia"
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_agency_session),
    }

    # -- the queue --------------------------------------------------------------------

    async def _notice(
        self, session: AsyncSession, principal: Principal, aviso: str, conta: str
    ) -> tuple[str, str]:
        """The (kind, text) of the message a redirect asked for, read afresh."""
        if aviso == "claimed":
            return "ok", _("You are working on this account now.")
        if aviso == "released":
            return "ok", _("The account is back in the queue.")
        if aviso in ("claim_refused", "release_refused"):
            handover_id = uuid_or_none(conta)
            holder = None
            if handover_id is not None:
                holder = await workqueue.holder_name(session, _agency_id(principal), handover_id)
            if holder is None:
                return "error", _("This account changed meanwhile: try again.")
            if aviso == "claim_refused":
                return "error", _("%(name)s is already working on this account.") % {"name": holder}
            return "error", _(
                "%(name)s is working on this account; only they or a supervisor may release it."
            ) % {"name": holder}
        return "", ""

    @get("/fila", name="agency.queue", guards=WORK)
    async def queue(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        credor: FromQuery[str] = "",
        ver: FromQuery[str] = "all",
        page: FromQuery[int] = 1,
        aviso: FromQuery[str] = "",
        conta: FromQuery[str] = "",
    ) -> Template:
        """The queue page, or (htmx) the table alone."""
        agency_id = _agency_id(principal)
        today = request_today(request)
        view = ver if ver in VIEWS else "all"
        tenant_id = uuid_or_none(credor) if credor else None
        result = await workqueue.queue(
            session,
            agency_id,
            today=today,
            mine_of=principal.user_id if view == "mine" else None,
            unclaimed=view == "unclaimed",
            tenant_id=tenant_id,
            page=page,
        )
        kind, notice = await self._notice(session, principal, aviso, conta)
        context = {
            "principal": principal,
            "page": result,
            "creditors": await workqueue.creditors(session, agency_id),
            "credor": str(tenant_id) if tenant_id else "",
            "ver": view,
            "notice": notice,
            "notice_kind": kind,
        }
        name = (
            "portal/_queue_table.html" if request.headers.get("hx-request") else "portal/queue.html"
        )
        return Template(name, context=context)

    async def _row(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        handover_id: uuid.UUID,
        message: str,
        failed: bool,
    ) -> Template:
        row = await workqueue.queue_row(
            session, _agency_id(principal), handover_id, today=request_today(request)
        )
        return Template(
            "portal/_queue_row.html",
            context={
                "principal": principal,
                "row": row,
                "row_message": message,
                "row_failed": failed,
            },
        )

    @post(
        "/fila/{handover_id:uuid}/assumir", name="agency.queue.claim", guards=WORK, status_code=200
    )
    async def claim(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        """Take the account. Of two people claiming at once, one wins; the other is told."""
        htmx = bool(request.headers.get("hx-request"))
        clock: Clock = request.app.state.clock
        try:
            await workqueue.claim(
                session,
                _agency_id(principal),
                handover_id,
                principal.actor(client_ip(request)),
                clock.now(),
            )
        except AccountNotFound as exc:
            raise NotFoundException() from exc
        except workqueue.QueueRefusal as exc:
            await session.rollback()
            if htmx:
                return await self._row(request, session, principal, handover_id, exc.message, True)
            return Redirect(f"{QUEUE}?aviso=claim_refused&conta={handover_id}", status_code=303)
        await session.commit()
        if htmx:
            message = _("You are working on this account now.")
            return await self._row(request, session, principal, handover_id, message, False)
        return Redirect(f"{QUEUE}?aviso=claimed", status_code=303)

    @post(
        "/fila/{handover_id:uuid}/liberar",
        name="agency.queue.release",
        guards=WORK,
        status_code=200,
    )
    async def release(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        handover_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        """Give the account back to the queue (its holder, or a supervisor)."""
        htmx = bool(request.headers.get("hx-request"))
        try:
            await workqueue.release(
                session, _agency_id(principal), handover_id, principal.actor(client_ip(request))
            )
        except AccountNotFound as exc:
            raise NotFoundException() from exc
        except workqueue.QueueRefusal as exc:
            await session.rollback()
            if htmx:
                return await self._row(request, session, principal, handover_id, exc.message, True)
            return Redirect(f"{QUEUE}?aviso=release_refused&conta={handover_id}", status_code=303)
        await session.commit()
        if htmx:
            message = _("The account is back in the queue.")
            return await self._row(request, session, principal, handover_id, message, False)
        return Redirect(f"{QUEUE}?aviso=released", status_code=303)

    # -- the team (supervisors) -------------------------------------------------------

    async def _team_page(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        *,
        notice: str = "",
        error: str = "",
        page: int = 1,
    ) -> Template:
        agency_id = _agency_id(principal)
        return Template(
            "portal/agency_team.html",
            status_code=400 if error else 200,
            context={
                "principal": principal,
                "members": await workqueue.team(session, agency_id),
                "page": await workqueue.queue(
                    session, agency_id, today=request_today(request), page=page
                ),
                "notice": notice,
                "error": error,
                "idle_days": workqueue.IDLE_AFTER.days,
            },
        )

    @get("/equipe", name="agency.team", guards=ASSIGN)
    async def team(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        aviso: FromQuery[str] = "",
        n: FromQuery[int] = 0,
        page: FromQuery[int] = 1,
    ) -> Template:
        notice = ""
        if aviso == "assigned":
            notice = _("The account was assigned.")
        elif aviso == "rebalanced":
            notice = _("Accounts shared out again: %(n)s changed hands.") % {"n": max(0, n)}
        return await self._team_page(request, session, principal, notice=notice, page=page)

    @post("/equipe/atribuir", name="agency.team.assign", guards=ASSIGN)
    async def assign(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        """Give one account to a person of the agency."""
        form = await request.form()
        handover_id = uuid_or_none(str(form.get("handover_id", "")))
        user_id = uuid_or_none(str(form.get("user_id", "")))
        if handover_id is None:
            raise NotFoundException()
        clock: Clock = request.app.state.clock
        try:
            if user_id is None:
                raise workqueue.QueueRefusal(
                    _("Choose a person of your agency who works the queue.")
                )
            await workqueue.assign(
                session,
                _agency_id(principal),
                handover_id,
                user_id,
                principal.actor(client_ip(request)),
                clock.now(),
            )
        except AccountNotFound as exc:
            raise NotFoundException() from exc
        except workqueue.QueueRefusal as exc:
            await session.rollback()
            return await self._team_page(request, session, principal, error=exc.message)
        await session.commit()
        return Redirect(f"{TEAM}?aviso=assigned", status_code=303)

    @post("/equipe/redistribuir", name="agency.team.rebalance", guards=ASSIGN)
    async def rebalance(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        """Share the unclaimed and idle accounts evenly among the people chosen."""
        form = await request.form()
        chosen = [uuid_or_none(str(v)) for v in form.getall("user_id", [])]
        clock: Clock = request.app.state.clock
        try:
            if any(u is None for u in chosen):
                raise workqueue.QueueRefusal(
                    _("Choose a person of your agency who works the queue.")
                )
            moved = await workqueue.rebalance(
                session,
                _agency_id(principal),
                [u for u in chosen if u is not None],
                principal.actor(client_ip(request)),
                clock.now(),
                today=request_today(request),
            )
        except workqueue.QueueRefusal as exc:
            await session.rollback()
            return await self._team_page(request, session, principal, error=exc.message)
        await session.commit()
        return Redirect(f"{TEAM}?aviso=rebalanced&n={moved}", status_code=303)
