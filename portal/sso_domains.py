"""Proving control of the SSO e-mail domain: the DNS check, the e-mail to the domain's
administrator, and the page that administrator confirms on (no Quita account needed)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.auth import client_ip, provide_principal, requires
from tenants.roles import Permission
from tenants.services.auth import Principal
from tenants.services.sso_domains import DomainError, DomainProof

AnyRequest = Request[Any, Any, Any]
SETTINGS = "/portal/sso/configuracao"


def domain_proof(request: AnyRequest) -> DomainProof:
    settings = request.app.state.settings
    return DomainProof(
        request.app.state.db,
        request.app.state.clock,
        secret_key=settings.security.secret_key,
        base_url=settings.base_url,
        resolver=request.app.state.txt_resolver,
    )


def _back(notice: str = "", error: DomainError | None = None) -> Redirect:
    query = f"?erro={error.reason.value}" if error else f"?prova={notice}"
    return Redirect(SETTINGS + query, status_code=303)


class SsoDomainController(Controller):
    path = "/portal/sso/dominio"

    @post(
        "/dns",
        name="portal.sso.domain_dns",
        guards=[requires(Permission.SETTINGS_EDIT)],
        dependencies={"principal": Provide(provide_principal)},
    )
    async def check_dns(
        self, request: AnyRequest, principal: NamedDependency[Principal]
    ) -> Redirect:
        assert principal.tenant_id is not None
        try:
            await domain_proof(request).check_dns(
                principal.tenant_id, principal.actor(client_ip(request))
            )
        except DomainError as exc:
            return _back(error=exc)
        return _back("dns")

    @post(
        "/email",
        name="portal.sso.domain_email",
        guards=[requires(Permission.SETTINGS_EDIT)],
        dependencies={"principal": Provide(provide_principal)},
    )
    async def send_email(
        self, request: AnyRequest, principal: NamedDependency[Principal]
    ) -> Redirect:
        assert principal.tenant_id is not None
        form = await request.form()
        try:
            await domain_proof(request).send_email(
                principal.tenant_id,
                str(form.get("mailbox", "")),
                principal.actor(client_ip(request)),
            )
        except DomainError as exc:
            return _back(error=exc)
        return _back("email")

    # -- the link in the e-mail (the domain's administrator, maybe without an account) --

    @get("/{provider_id:uuid}/{mailbox:str}/{expires:int}/{signature:str}", name="portal.sso.link")
    async def link_page(
        self,
        request: AnyRequest,
        provider_id: FromPath[uuid.UUID],
        mailbox: FromPath[str],
        expires: FromPath[int],
        signature: FromPath[str],
    ) -> Template:
        try:
            provider, tenant = await domain_proof(request).link_provider(
                provider_id, mailbox, expires, signature
            )
        except DomainError as exc:
            return Template("portal/sso_domain.html", status_code=400, context={"error": exc})
        return Template(
            "portal/sso_domain.html",
            context={
                "domain": provider.email_domain,
                "tenant": tenant,
                "proven": provider.domain_verified_at is not None,
                "action": request.url.path,
            },
        )

    @post(
        "/{provider_id:uuid}/{mailbox:str}/{expires:int}/{signature:str}", name="portal.sso.confirm"
    )
    async def confirm(
        self,
        request: AnyRequest,
        provider_id: FromPath[uuid.UUID],
        mailbox: FromPath[str],
        expires: FromPath[int],
        signature: FromPath[str],
    ) -> Template:
        try:
            provider = await domain_proof(request).confirm_link(
                provider_id, mailbox, expires, signature, ip=client_ip(request)
            )
        except DomainError as exc:
            return Template("portal/sso_domain.html", status_code=400, context={"error": exc})
        return Template(
            "portal/sso_domain.html",
            context={"domain": provider.email_domain, "confirmed": True},
        )
