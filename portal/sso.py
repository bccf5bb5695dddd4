"""Staff single sign-on with the tenant's OpenID Connect provider."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import gettext as _
from portal.auth import client_ip, provide_principal, provide_tenant_session, requires
from portal.signin import set_session_cookie
from tenants.models import IdentityProvider
from tenants.roles import Permission
from tenants.services import sso, sso_domains
from tenants.services.auth import Principal, SignInError
from tenants.services.sso import SsoError, SsoService
from tenants.services.sso_domains import DomainError

AnyRequest = Request[Any, Any, Any]
STATE_COOKIE = "quita_sso"  # binds the provider's answer to the browser that asked


def _service(request: AnyRequest) -> SsoService:
    settings = request.app.state.settings
    return SsoService(
        request.app.state.db,
        request.app.state.auth,
        request.app.state.clock,
        box=request.app.state.secrets_box,
        production=settings.production,
    )


def _redirect_uri(request: AnyRequest) -> str:
    return f"{request.app.state.settings.base_url}/portal/sso/retorno"


def _refused(message: str, status_code: int = 400) -> Template:
    return Template(
        "portal/login.html",
        status_code=status_code,
        context={"error": message, "email": "", "next": ""},
    )


def _form_of(provider: IdentityProvider | None) -> sso.ProviderForm:
    if provider is None:
        return sso.ProviderForm("https://", "", "", "", "viewer", True)
    return sso.ProviderForm(
        provider.issuer,
        provider.client_id,
        "",
        provider.email_domain,
        provider.default_role.value,
        provider.is_active,
    )


class SsoController(Controller):
    path = "/portal/sso"

    @get("/entrar", name="portal.sso.start_page")
    async def start_page(self) -> Template:
        return Template("portal/sso.html", context={"email": "", "errors": {}})

    @post("/entrar", name="portal.sso.start", status_code=302)
    async def start(self, request: AnyRequest) -> Template | Redirect:
        """Find the provider by the e-mail's domain and send the person to it (the
        e-mail is posted, not put in a URL)."""
        form = await request.form()
        email = str(form.get("email", "")).strip()
        service = _service(request)
        provider = await service.provider_for_email(email) if "@" in email else None
        if provider is None:
            return Template(
                "portal/sso.html",
                status_code=400,
                context={
                    "email": email,
                    "errors": {"email": SsoError(SsoError.Reason.NO_PROVIDER).message},
                },
            )
        try:
            url, state = await service.start(provider, _redirect_uri(request))
        except SsoError as exc:
            return Template(
                "portal/sso.html",
                status_code=502,
                context={"email": email, "errors": {"email": exc.message}},
            )
        response = Redirect(url, status_code=302)
        response.set_cookie(
            STATE_COOKIE,
            state,
            path="/portal/sso",
            httponly=True,
            secure=request.app.state.settings.security.secure_cookies
            or request.url.scheme == "https",
            samesite="lax",  # the provider's redirect back is a top-level navigation
            max_age=int(sso.LOGIN_LIFETIME.total_seconds()),
        )
        return response

    @get("/retorno", name="portal.sso.callback")
    async def callback(
        self,
        request: AnyRequest,
        oidc_state: Annotated[str, Parameter(query="state")] = "",
        code: FromQuery[str] = "",
        error: FromQuery[str] = "",
    ) -> Template | Redirect:
        """The provider sends the person back here with a code (or an error)."""
        state = oidc_state  # ``state`` is a reserved handler parameter name in Litestar
        service = _service(request)
        expected = request.cookies.get(STATE_COOKIE, "")
        if error or not code or not state or state != expected:
            # Still consume the state, so it cannot be used later.
            await service.abandon(state, ip=client_ip(request))
            response: Response[Any] = _refused(
                _("This sign-in link expired or was already used. Start again.")
                if not error
                else _("Your company's sign-in was cancelled or refused.")
            )
            response.delete_cookie(STATE_COOKIE, path="/portal/sso")
            return response  # type: ignore[return-value]
        try:
            result = await service.finish(
                state,
                code,
                _redirect_uri(request),
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except SsoError as exc:
            refused = _refused(exc.message)
            refused.delete_cookie(STATE_COOKIE, path="/portal/sso")
            return refused
        except SignInError:
            refused = _refused(SsoError(SsoError.Reason.ACCOUNT).message)
            refused.delete_cookie(STATE_COOKIE, path="/portal/sso")
            return refused
        target = "/portal/home"
        redirect = Redirect(
            f"/portal/login/totp?next={target}" if result.mfa_required else target,
            status_code=303,
        )
        redirect.delete_cookie(STATE_COOKIE, path="/portal/sso")
        set_session_cookie(request, redirect, result.token)
        return redirect

    # -- the tenant's provider -----------------------------------------------------------

    @get(
        "/configuracao",
        name="portal.sso.settings",
        guards=[requires(Permission.SETTINGS_EDIT)],
        dependencies={
            "principal": Provide(provide_principal),
            "session": Provide(provide_tenant_session),
        },
    )
    async def settings_page(
        self,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        prova: FromQuery[str] = "",
        erro: FromQuery[str] = "",
    ) -> Template:
        provider = await sso.provider_of(session)
        template = self._settings(principal, provider, _form_of(provider), {})
        assert isinstance(template.context, dict)
        template.context["proof_notice"] = prova if prova in ("dns", "email") else ""
        if erro in {r.value for r in DomainError.Reason}:
            template.context["proof_error"] = DomainError(DomainError.Reason(erro)).message
        return template

    def _settings(
        self,
        principal: Principal,
        provider: IdentityProvider | None,
        form: sso.ProviderForm,
        errors: dict[str, str],
        saved: bool = False,
    ) -> Template:
        return Template(
            "portal/sso_config.html",
            status_code=400 if errors else 200,
            context={
                "principal": principal,
                "provider": provider,
                "form": form,
                "errors": errors,
                "roles": [r.value for r in sso.ROLES],
                "saved": saved,
                "txt_record": sso_domains.txt_value(provider) if provider else "",
                "mailboxes": sso_domains.ADMIN_MAILBOXES,
            },
        )

    @post(
        "/configuracao",
        name="portal.sso.save",
        status_code=200,
        guards=[requires(Permission.SETTINGS_EDIT)],
        dependencies={
            "principal": Provide(provide_principal),
            "session": Provide(provide_tenant_session),
        },
    )
    async def save(
        self,
        request: AnyRequest,
        session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        data = await request.form()
        form = sso.ProviderForm(
            issuer=str(data.get("issuer", "")),
            client_id=str(data.get("client_id", "")),
            client_secret=str(data.get("client_secret", "")),
            email_domain=str(data.get("email_domain", "")),
            default_role=str(data.get("default_role", "")),
            is_active=str(data.get("is_active", "")) == "on",
        )
        assert principal.tenant_id is not None
        provider, errors = await _service(request).save(
            session, principal.tenant_id, form, principal.actor(client_ip(request))
        )
        if errors:
            return self._settings(principal, await sso.provider_of(session), form, errors)
        await session.commit()
        return self._settings(principal, provider, _form_of(provider), {}, saved=True)
