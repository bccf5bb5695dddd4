"""API clients in the portal: owners and admins create them with chosen scopes (the
secret is shown once), see them, and revoke them (their tokens die with them)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import gettext as _
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.roles import Permission
from tenants.services import api_clients, audit
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]


def scope_labels() -> dict[str, str]:
    """What each scope allows, in the person's words."""
    return {
        "debts:read": _("Read debts and debtors"),
        "debts:write": _("Create and change debts"),
        "imports:write": _("Upload portfolio files and import them"),
        "agreements:read": _("Read agreements"),
        "payments:read": _("Read payments"),
        "messages:read": _("Read reminder messages"),
        "policy:read": _("Read the negotiation policy"),
        "policy:write": _("Replace the negotiation policy"),
    }


class ApiClientsController(Controller):
    path = "/portal/api"
    guards = [requires(Permission.SETTINGS_EDIT)]
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
        status: int = 200,
        **extra: Any,
    ) -> Template:
        context: dict[str, Any] = {
            "principal": principal,
            "clients": await api_clients.list_clients(session),
            "scopes": scope_labels(),
            "errors": {},
            "name": "",
            "chosen": [],
            "created": None,
            "token_url": f"{request.app.state.settings.base_url}/api/v1/oauth/token",
            **extra,
        }
        return Template("portal/api_clients.html", status_code=status, context=context)

    @get("/", name="portal.api_clients")
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        return await self._page(request, session, principal)

    @post("/", name="portal.api_clients.create", status_code=200)
    async def create(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        form = await request.form()
        name = str(form.get("name", ""))
        chosen = [str(s) for s in form.getall("scopes")] if "scopes" in form else []
        try:
            new = await api_clients.create_client(
                session, name=name, scopes=chosen, created_by=principal.user_id
            )
        except api_clients.ApiClientError as exc:
            return await self._page(
                request,
                session,
                principal,
                status=400,
                errors={exc.field: exc.message},
                name=name,
                chosen=chosen,
            )
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "api_client.created",
            target=new.client.client_id,
            details={"name": new.client.name, "scopes": new.client.scopes},
        )
        await session.commit()
        # The secret is in this answer only; the page says so and nothing keeps it.
        return await self._page(request, session, principal, created=new)

    @post("/{client_id:uuid}/revoke", name="portal.api_clients.revoke")
    async def revoke(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        client_id: FromPath[uuid.UUID],
    ) -> Redirect:
        try:
            client = await api_clients.revoke_client(
                session, client_id, request.app.state.clock.now()
            )
        except LookupError as exc:
            raise NotFoundException() from exc
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "api_client.revoked",
            target=client.client_id,
            details={"name": client.name},
        )
        await session.commit()
        return Redirect("/portal/api", status_code=303)
