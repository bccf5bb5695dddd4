"""Escalation within the law: prior notices, negativação, protesto and judicial referral.

Plain forms that post and redirect (303); a refused step renders the page again at 400
with each debt named and the reason. Every step and every download (the files carry
personal data) is audited by the service.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain.documents import mask_cpf
from collection.domain.escalation import MAX_WAIT_DAYS, MIN_WAIT_DAYS
from collection.escalation import bureau_files
from collection.escalation import service as escalation
from core.i18n import gettext as _
from portal.auth import (
    client_ip,
    current_principal,
    provide_principal,
    provide_tenant_session,
    request_today,
    requires,
)
from tenants.roles import Permission
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]
BASE = "/portal/escalonamento"
DECIDE = [requires(Permission.ESCALATION_DECIDE)]
SETTINGS = [requires(Permission.SETTINGS_EDIT)]


def _uuids(values: Sequence[Any]) -> list[uuid.UUID]:
    """Ids from a form's repeated field; a malformed one is a request for nothing there."""
    out: list[uuid.UUID] = []
    for value in values:
        try:
            out.append(uuid.UUID(str(value)))
        except ValueError as exc:
            raise NotFoundException() from exc
    return out


def _date(value: Any, default: date | None = None) -> date | None:
    text = str(value or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _creditor_staff(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: the bureau files are the creditor's, across all its accounts; agency staff
    (who see only the accounts handed over) neither make nor download them."""
    principal = current_principal(connection)
    if principal is None or principal.tenant is None or principal.tenant.agency_id is not None:
        raise PermissionDeniedException(_("Your role does not allow this action."))


CREDITOR_ONLY = [_creditor_staff]


def _csv(content: bytes, filename: str) -> Response[bytes]:
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )


class EscalationController(Controller):
    path = BASE
    guards = [requires(Permission.ESCALATION_NOTICE)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    async def _page(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        *,
        refusal: escalation.EscalationRefused | None = None,
    ) -> Template:
        today = request_today(request)
        creditor = principal.tenant is not None and principal.tenant.agency_id is None
        return Template(
            "portal/escalation.html",
            status_code=400 if refusal is not None else 200,
            context={
                "principal": principal,
                "today": today,
                "candidates": await escalation.candidates(session, today),
                "shown": escalation.CANDIDATES_SHOWN,
                "view": await escalation.overview(session, today),
                "refusal": refusal,
                "mask_cpf": mask_cpf,
                "can_decide": principal.can(Permission.ESCALATION_DECIDE),
                "can_settings": principal.can(Permission.SETTINGS_EDIT),
                "min_wait": MIN_WAIT_DAYS,
                "max_wait": MAX_WAIT_DAYS,
                "notice": request.query_params.get("feito", ""),
                "bureau_files": creditor and await bureau_files.pending(session),
                "bureau_history": await bureau_files.history(session) if creditor else [],
            },
        )

    async def _refused(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        refusal: escalation.EscalationRefused,
    ) -> Template:
        await session.rollback()
        return await self._page(request, session, principal, refusal=refusal)

    async def _step(
        self,
        request: AnyRequest,
        session: AsyncSession,
        principal: Principal,
        step: Callable[[], Awaitable[str]],
    ) -> Template | Redirect:
        """One escalation step: ``step`` takes it and says where to go next. Another
        tenant's id answers 404; a refusal shows the page with each debt and reason, and
        nothing is written."""
        try:
            done = await step()
        except escalation.EscalationNotFound as exc:
            raise NotFoundException() from exc
        except escalation.EscalationRefused as exc:
            return await self._refused(request, session, principal, exc)
        await session.commit()
        return Redirect(done, status_code=303)

    @get("/", name="portal.escalation")
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        return await self._page(request, session, principal)

    @post("/avisos", name="portal.escalation.notices")
    async def start_notices(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        form = await request.form()

        async def step() -> str:
            batch = await escalation.start_notices(
                session,
                _uuids(form.getall("debt_id", [])),
                principal.actor(client_ip(request)),
                request_today(request),
            )
            return f"{BASE}?feito=avisos#lote-{batch.id}"

        return await self._step(request, session, principal, step)

    @get("/avisos/{batch_id:uuid}/cartas.pdf", name="portal.escalation.letters")
    async def letters(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        batch_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        try:
            content = await escalation.letters_pdf(
                session,
                batch_id,
                principal.actor(client_ip(request)),
                request.app.state.settings.base_url.rstrip("/") + "/",
                request_today(request),
            )
        except escalation.EscalationNotFound as exc:
            raise NotFoundException() from exc
        await session.commit()
        return Response(
            content,
            media_type="application/pdf",
            headers={
                "content-disposition": f'attachment; filename="avisos-{batch_id}.pdf"',
                "cache-control": "no-store",
            },
        )

    @get("/avisos/{batch_id:uuid}/postagem.csv", name="portal.escalation.mailing")
    async def mailing(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        batch_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        try:
            content = await escalation.mailing_list(
                session, batch_id, principal.actor(client_ip(request)), request_today(request)
            )
        except escalation.EscalationNotFound as exc:
            raise NotFoundException() from exc
        await session.commit()
        return _csv(content, f"postagem-{batch_id}.csv")

    @post("/avisos/{batch_id:uuid}/postado", name="portal.escalation.posted")
    async def posted(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        batch_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        posted_on = _date(form.get("posted_on"))

        async def step() -> str:
            if posted_on is None:
                raise escalation.EscalationRefused(_("Enter the date the letters were posted."))
            await escalation.mark_posted(
                session,
                batch_id,
                posted_on,
                principal.actor(client_ip(request)),
                request_today(request),
            )
            return f"{BASE}?feito=postado#lote-{batch_id}"

        return await self._step(request, session, principal, step)

    @post("/negativar", name="portal.escalation.list")
    async def list_with_bureau(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        form = await request.form()

        async def step() -> str:
            await escalation.list_with_bureau(
                session,
                _uuids(form.getall("escalation_id", [])),
                principal.actor(client_ip(request)),
                request_today(request),
            )
            return f"{BASE}?feito=negativado#negativadas"

        return await self._step(request, session, principal, step)

    @post("/{escalation_id:uuid}/cancelar", name="portal.escalation.cancel")
    async def cancel(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        escalation_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()

        async def step() -> str:
            kind = await escalation.kind_of(session, escalation_id)
            if kind in escalation.DECISION_KINDS and not principal.can(
                Permission.ESCALATION_DECIDE
            ):
                # Withdrawing a protest or a lawsuit is a decision too.
                raise PermissionDeniedException(_("Your role does not allow this action."))
            await escalation.cancel(
                session,
                escalation_id,
                principal.actor(client_ip(request)),
                str(form.get("reason", "")),
                request_today(request),
            )
            return f"{BASE}?feito=cancelado"

        return await self._step(request, session, principal, step)

    @get("/arquivo-bureau.csv", name="portal.escalation.bureau")
    async def bureau(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        today = request_today(request)
        since = _date(request.query_params.get("de"), today)
        until = _date(request.query_params.get("ate"), today)
        if since is None or until is None or since > until:
            return Response(
                _("Choose a valid period (from ≤ to).").encode(),
                status_code=400,
                media_type="text/plain; charset=utf-8",
            )
        content = await escalation.bureau_file(
            session, since, until, principal.actor(client_ip(request))
        )
        await session.commit()
        return _csv(content, f"bureau-{since.isoformat()}-{until.isoformat()}.csv")

    @post("/remessas", name="portal.escalation.bureau_generate", guards=CREDITOR_ONLY)
    async def bureau_generate(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        """The next bureau file: every pending inclusion and removal, marked as sent."""

        async def step() -> str:
            try:
                made = await bureau_files.generate(
                    session, principal.actor(client_ip(request)), request_today(request)
                )
            except bureau_files.NothingToSend as exc:
                raise escalation.EscalationRefused(exc.message) from None
            return f"{BASE}?feito=remessa#remessa-{made.number}"

        return await self._step(request, session, principal, step)

    @get(
        "/remessas/{number:int}/arquivo.csv",
        name="portal.escalation.bureau_file",
        guards=CREDITOR_ONLY,
    )
    async def bureau_download(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        number: FromPath[int],
    ) -> Response[bytes]:
        try:
            content = await bureau_files.download(
                session, number, principal.actor(client_ip(request))
            )
        except bureau_files.BureauFileNotFound as exc:
            raise NotFoundException() from exc
        await session.commit()
        return _csv(content, f"bureau-remessa-{number}.csv")

    @post("/decisoes", name="portal.escalation.decide", guards=DECIDE)
    async def decide(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        form = await request.form()

        async def step() -> str:
            (debt_id,) = _uuids([form.get("debt_id", "")])
            await escalation.decide(
                session,
                debt_id,
                str(form.get("kind", "")),
                principal.actor(client_ip(request)),
                str(form.get("reason", "")),
                request_today(request),
            )
            return f"{BASE}?feito=decidido#decisoes"

        return await self._step(request, session, principal, step)

    @get("/protesto.csv", name="portal.escalation.protest_file", guards=DECIDE)
    async def protest_file(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        content = await escalation.protest_file(session, principal.actor(client_ip(request)))
        await session.commit()
        return _csv(content, f"protesto-{request_today(request).isoformat()}.csv")

    @get("/judicial.csv", name="portal.escalation.judicial_file", guards=DECIDE)
    async def judicial_file(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[bytes]:
        content = await escalation.judicial_file(session, principal.actor(client_ip(request)))
        await session.commit()
        return _csv(content, f"judicial-{request_today(request).isoformat()}.csv")

    @post("/prazo", name="portal.escalation.wait_days", guards=SETTINGS)
    async def wait_days(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        form = await request.form()

        async def step() -> str:
            await escalation.set_wait_days(
                session, str(form.get("days", "")), principal.actor(client_ip(request))
            )
            return f"{BASE}?feito=prazo"

        return await self._step(request, session, principal, step)
