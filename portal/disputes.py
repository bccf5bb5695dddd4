"""Disputes raised on the debtor site, answered by the creditor."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.debtor import disputes
from collection.domain.documents import mask_cpf
from core.db import utcnow
from core.i18n import file_size
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.roles import Permission
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]


class DisputesController(Controller):
    path = "/portal/disputes"
    guards = [requires(Permission.DISPUTES_ANSWER)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    async def _page(
        self, session: AsyncSession, principal: Principal, errors: dict[str, str] | None = None
    ) -> dict[str, Any]:
        found = await disputes.tenant_disputes(session)
        attached = await disputes.attachments_of(session, [d.id for d in found])
        return {
            "principal": principal,
            "disputes": found,
            "attachments": {
                dispute_id: [(a_id, name, file_size(size)) for a_id, name, size in files]
                for dispute_id, files in attached.items()
            },
            "mask_cpf": mask_cpf,
            "outcomes": disputes.OUTCOMES,
            "errors": errors or {},
        }

    @get("/", name="portal.disputes")
    async def index(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> Template:
        return Template("portal/disputes.html", context=await self._page(session, principal))

    @get("/documentos/{attachment_id:uuid}", name="portal.disputes.document")
    async def document(
        self, session: NamedDependency[AsyncSession], attachment_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        """A document a person attached, only to this creditor's staff (the session's
        tenant criteria find no other creditor's), always as a download."""
        try:
            found = await disputes.attachment(session, attachment_id)
        except LookupError as exc:
            raise NotFoundException() from exc
        return Response(
            found.data,
            media_type=found.content_type,
            headers={
                "content-disposition": f'attachment; filename="{found.filename}"',
                "cache-control": "no-store",
                "x-content-type-options": "nosniff",
            },
        )

    @post("/{dispute_id:uuid}/answer", name="portal.disputes.answer")
    async def answer(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        dispute_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await disputes.answer(
                session,
                dispute_id,
                str(form.get("outcome", "")),
                str(form.get("answer", "")),
                actor=principal.actor(client_ip(request)),
                now=utcnow(),
            )
        except LookupError as exc:
            raise NotFoundException() from exc
        except disputes.DisputeError as exc:
            await session.rollback()
            return Template(
                "portal/disputes.html",
                status_code=400,
                context=await self._page(session, principal, {str(dispute_id): exc.message}),
            )
        await session.commit()
        return Redirect("/portal/disputes")
