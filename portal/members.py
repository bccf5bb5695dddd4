"""A tenant's staff list: invite, change roles, deactivate."""

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
from tenants.roles import ASSIGNABLE_BY, TENANT_ROLES, Permission, Role
from tenants.services import members
from tenants.services.auth import AuthService, Principal

AnyRequest = Request[Any, Any, Any]


class MembersController(Controller):
    path = "/portal/users"
    guards = [requires(Permission.USERS_MANAGE)]
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    async def _page(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        **extra: Any,
    ) -> dict[str, Any]:
        return {
            "principal": principal,
            "members": await members.list_members(session),
            "invitations": await members.list_invitations(session, request.app.state.clock.now()),
            "roles": TENANT_ROLES,
            "assignable": sorted(
                ASSIGNABLE_BY.get(principal.role or Role.VIEWER, frozenset()),
                key=TENANT_ROLES.index,
            ),
            "errors": {},
            "form": {},
            **extra,
        }

    @get("/", name="portal.users")
    async def index(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        return Template("portal/users.html", context=await self._page(request, session, principal))

    @post("/", name="portal.users.invite")
    async def invite(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        form = await request.form()
        values = {k: str(form.get(k, "")) for k in ("email", "name", "role")}
        try:
            role = Role(values["role"])
        except ValueError:
            return Template(
                "portal/users.html",
                status_code=400,
                context=await self._page(
                    request, session, principal, form=values, errors={"role": _("Choose a role.")}
                ),
            )
        auth: AuthService = request.app.state.auth
        try:
            await members.invite(
                session,
                auth,
                principal,
                email=values["email"],
                name=values["name"],
                role=role,
                ip=client_ip(request),
            )
        except members.MemberError as exc:
            await session.rollback()
            return Template(
                "portal/users.html",
                status_code=400,
                context=await self._page(
                    request, session, principal, form=values, errors={exc.field: exc.message}
                ),
            )
        await session.commit()
        return Redirect("/portal/users?invited=1")

    @post("/{membership_id:uuid}/role", name="portal.users.role")
    async def change_role(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        membership_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            role = Role(str(form.get("role", "")))
            await members.change_role(
                session, principal, membership_id, role, ip=client_ip(request)
            )
        except members.NotFound as exc:
            raise NotFoundException() from exc
        except (ValueError, members.MemberError) as exc:
            await session.rollback()
            message = exc.message if isinstance(exc, members.MemberError) else _("Choose a role.")
            return Template(
                "portal/users.html",
                status_code=400,
                context=await self._page(request, session, principal, errors={"member": message}),
            )
        await session.commit()
        return Redirect("/portal/users")

    @post("/{membership_id:uuid}/active", name="portal.users.active")
    async def set_active(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        membership_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await members.set_active(
                session, principal, membership_id, form.get("active") == "1", ip=client_ip(request)
            )
        except members.NotFound as exc:
            raise NotFoundException() from exc
        except members.MemberError as exc:
            await session.rollback()
            return Template(
                "portal/users.html",
                status_code=400,
                context=await self._page(
                    request, session, principal, errors={"member": exc.message}
                ),
            )
        await session.commit()
        return Redirect("/portal/users")

    @post("/convites/{invitation_id:uuid}/cancelar", name="portal.users.revoke")
    async def revoke(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        invitation_id: FromPath[uuid.UUID],
    ) -> Redirect:
        try:
            await members.revoke_invitation(
                session,
                principal,
                invitation_id,
                ip=client_ip(request),
                now=request.app.state.clock.now(),
            )
        except members.NotFound as exc:
            raise NotFoundException() from exc
        await session.commit()
        return Redirect("/portal/users", status_code=303)
