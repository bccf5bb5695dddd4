"""The creditor's retention period: how many years a settled person's data is kept before
the retention job anonymises it (collection/privacy/retention.py)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from collection.privacy.retention import MAX_YEARS, MIN_YEARS, valid_years
from core.i18n import gettext as _
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from tenants.models import Tenant
from tenants.roles import Permission
from tenants.services import audit
from tenants.services.auth import Principal

AnyRequest = Request[Any, Any, Any]


class RetentionController(Controller):
    path = "/portal/privacy/retention"
    dependencies = {
        "principal": Provide(provide_principal),
        "session": Provide(provide_tenant_session),
    }

    @staticmethod
    async def _context(session: AsyncSession, principal: Principal, **extra: Any) -> dict[str, Any]:
        tenant = await session.get_one(Tenant, principal.tenant_id)
        return {
            "principal": principal,
            "years": tenant.retention_years,
            "value": str(tenant.retention_years),
            "bounds": (MIN_YEARS, MAX_YEARS),
            "can_edit": principal.can(Permission.SETTINGS_EDIT),
            "error": "",
            **extra,
        }

    @get("/", name="portal.retention", guards=[requires(Permission.ACCOUNTS_READ)])
    async def show(
        self, session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> Template:
        return Template("portal/retention.html", context=await self._context(session, principal))

    @post("/", name="portal.retention.save", guards=[requires(Permission.SETTINGS_EDIT)])
    async def save(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template | Redirect:
        raw = str((await request.form()).get("years", ""))
        try:
            years = valid_years(raw)
        except ValueError:
            error = _("Type a whole number of years from %(min)s to %(max)s.") % {
                "min": MIN_YEARS,
                "max": MAX_YEARS,
            }
            context = await self._context(session, principal, error=error, value=raw[:10])
            return Template("portal/retention.html", status_code=400, context=context)
        tenant = await session.get_one(Tenant, principal.tenant_id)
        before = tenant.retention_years
        tenant.retention_years = years
        audit.record(
            session,
            principal.actor(client_ip(request)),
            "privacy.retention_changed",
            details={"from": before, "to": years},
        )
        await session.commit()
        return Redirect("/portal/privacy/retention?saved=1")
