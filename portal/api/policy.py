"""The tenant's negotiation policy through the API, as the TOML file of docs/POLICY.md."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts import records as api
from portal.api.access import api_actor, needs, provide_api_session, provide_grant
from portal.api.common import AnyRequest, refused
from portal.api.problems import PROTECTED
from portal.api.schemas import PolicyIn, PolicyOut
from tenants.services.api_clients import TokenGrant


class PolicyController(Controller):
    path = "/policy"
    tags = ["policy"]
    dependencies = {
        "session": Provide(provide_api_session),
        "grant": Provide(provide_grant),
    }

    @get("/", name="api.policy", responses=PROTECTED, **needs("policy:read"))
    async def show(
        self, session: NamedDependency[AsyncSession], grant: NamedDependency[TokenGrant]
    ) -> PolicyOut:
        """The policy in force: the tenant's file, or the platform default (is_default)."""
        found = await api.read_policy(session, grant.tenant_id)
        return PolicyOut(found.toml, found.is_default)

    @put("/", name="api.policy.replace", responses=PROTECTED, **needs("policy:write"))
    async def replace(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        grant: NamedDependency[TokenGrant],
        data: JSONBody[PolicyIn],
    ) -> PolicyOut:
        """Replace the policy; a file that breaks a rule is refused naming the setting."""
        try:
            found = await api.replace_policy(
                session, grant.tenant_id, data.toml, api_actor(request, grant)
            )
        except api.InvalidInput as exc:
            raise refused(exc) from None
        await session.commit()
        return PolicyOut(found.toml, found.is_default)
