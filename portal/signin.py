"""Signing in and out, the second factor, password reset and invitation links."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST, HTTP_429_TOO_MANY_REQUESTS

from core.i18n import gettext as _
from portal.auth import SESSION_COOKIE, client_ip, current_principal
from tenants.services.auth import RESET_WINDOW, AuthService, PasswordError, SignInError

AnyRequest = Request[Any, Any, Any]


def _auth(request: AnyRequest) -> AuthService:
    service: AuthService = request.app.state.auth
    return service


def set_session_cookie(request: AnyRequest, response: Response[Any], token: FromPath[str]) -> None:
    """HttpOnly, SameSite=Lax, Secure whenever the site is served over HTTPS."""
    secure = request.app.state.settings.security.secure_cookies or request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path="/portal",
        httponly=True,
        secure=secure,
        samesite="lax",
        max_age=request.app.state.settings.security.session_hours * 3600,
    )


def safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would help phishing.
    if target and target.startswith("/portal") and not target.startswith("//"):
        return target
    return "/portal/home"


class SignInController(Controller):
    path = "/portal"

    @get("/", name="portal.login_page")
    async def login_page(
        self, request: AnyRequest, next: FromQuery[str | None] = None
    ) -> Template | Redirect:
        principal = current_principal(request)
        if principal is not None and not principal.mfa_pending:
            return Redirect(safe_next(next))
        return Template("portal/login.html", context={"next": next or "", "email": ""})

    @get("/login", name="portal.login_alias")
    async def login_alias(self, next: FromQuery[str | None] = None) -> Redirect:
        return Redirect("/portal/" + (f"?next={next}" if next else ""))

    @post("/login", name="portal.login")
    async def login(self, request: AnyRequest) -> Template | Redirect:
        form = await request.form()
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        target = safe_next(str(form.get("next", "")) or None)
        try:
            result = await _auth(request).sign_in(
                email,
                password,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except SignInError as exc:
            throttled = exc.reason == SignInError.Reason.THROTTLED
            message = (
                _("Too many attempts. Wait 15 minutes and try again.")
                if throttled
                else _("E-mail or password incorrect.")
            )
            return Template(
                "portal/login.html",
                context={"error": message, "email": email, "next": target},
                status_code=HTTP_429_TOO_MANY_REQUESTS if throttled else HTTP_400_BAD_REQUEST,
            )
        response = Redirect(f"/portal/login/totp?next={target}" if result.mfa_required else target)
        set_session_cookie(request, response, result.token)
        return response

    @get("/login/totp", name="portal.totp_page")
    async def totp_page(
        self, request: AnyRequest, next: FromQuery[str | None] = None
    ) -> Template | Redirect:
        principal = current_principal(request)
        if principal is None:
            return Redirect("/portal/")
        return Template("portal/totp.html", context={"next": safe_next(next)})

    @post("/login/totp", name="portal.totp")
    async def totp(self, request: AnyRequest) -> Template | Redirect:
        form = await request.form()
        target = safe_next(str(form.get("next", "")) or None)
        token = request.cookies.get(SESSION_COOKIE, "")
        try:
            new_token = await _auth(request).verify_second_factor(
                token, str(form.get("code", "")), ip=client_ip(request)
            )
        except SignInError as exc:
            if exc.reason == SignInError.Reason.THROTTLED:
                return Template(
                    "portal/login.html",
                    status_code=HTTP_429_TOO_MANY_REQUESTS,
                    context={
                        "error": _("Too many attempts. Wait 15 minutes and try again."),
                        "email": "",
                        "next": target,
                    },
                )
            return Template(
                "portal/totp.html",
                status_code=HTTP_400_BAD_REQUEST,
                context={"error": _("Invalid code."), "next": target},
            )
        response = Redirect(target)
        set_session_cookie(request, response, new_token)
        return response

    @post("/logout", name="portal.logout")
    async def logout(self, request: AnyRequest) -> Redirect:
        form = await request.form()
        everywhere = form.get("everywhere") == "1"
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            await _auth(request).sign_out(token, ip=client_ip(request), everywhere=everywhere)
        response = Redirect("/portal/")
        response.delete_cookie(SESSION_COOKIE, path="/portal")
        return response

    @get("/password/forgot", name="portal.forgot_page")
    async def forgot_page(self) -> Template:
        return Template("portal/forgot.html", context={})

    @post("/password/forgot", name="portal.forgot")
    async def forgot(self, request: AnyRequest) -> Template:
        form = await request.form()
        email = str(form.get("email", "")).strip()
        if "@" not in email:
            return Template(
                "portal/forgot.html",
                status_code=HTTP_400_BAD_REQUEST,
                context={"errors": {"email": _("Enter a valid e-mail address.")}, "email": email},
            )
        try:
            await _auth(request).request_password_reset(email, ip=client_ip(request))
        except SignInError:
            minutes = int(RESET_WINDOW.total_seconds()) // 60
            message = _("Too many attempts. For your safety, wait %(n)s minutes and try again.")
            return Template(
                "portal/forgot.html",
                status_code=HTTP_429_TOO_MANY_REQUESTS,
                context={"errors": {"email": message % {"n": minutes}}, "email": email},
            )
        return Template("portal/forgot.html", context={"sent": True})

    @get("/password/reset/{token:str}", name="portal.reset_page")
    async def reset_page(self, request: AnyRequest, token: FromPath[str]) -> Template:
        user = await _auth(request).token_user(token, ("reset",))
        return Template(
            "portal/set_password.html",
            status_code=HTTP_200_OK if user else 400,
            context={
                "valid": user is not None,
                "action": request.url.path,
                "title": _("Choose a new password"),
            },
        )

    @post("/password/reset/{token:str}", name="portal.reset")
    async def reset(self, request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
        return await self._set_password(request, token, ("reset",), _("Choose a new password"))

    @get("/invite/{token:str}", name="portal.invite_page")
    async def invite_page(self, request: AnyRequest, token: FromPath[str]) -> Template:
        user = await _auth(request).token_user(token, ("invite",))
        return Template(
            "portal/set_password.html",
            status_code=HTTP_200_OK if user else 400,
            context={
                "valid": user is not None,
                "action": request.url.path,
                "title": _("Welcome to Quita: choose your password"),
                "invited": user.name if user else "",
            },
        )

    @post("/invite/{token:str}", name="portal.invite")
    async def invite(self, request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
        return await self._set_password(
            request, token, ("invite",), _("Welcome to Quita: choose your password")
        )

    async def _set_password(
        self, request: AnyRequest, token: FromPath[str], purposes: tuple[str, ...], title: str
    ) -> Template | Redirect:
        form = await request.form()
        password = str(form.get("password", ""))
        context: dict[str, Any] = {"valid": True, "action": request.url.path, "title": title}
        if password != str(form.get("confirm", "")):
            context["errors"] = {"confirm": _("The passwords do not match.")}
            return Template("portal/set_password.html", status_code=400, context=context)
        try:
            ok = await _auth(request).set_password_with_token(
                token, password, ip=client_ip(request), purposes=purposes
            )
        except PasswordError as exc:
            context["errors"] = {"password": str(exc)}
            return Template("portal/set_password.html", status_code=400, context=context)
        if not ok:
            context["valid"] = False
            return Template("portal/set_password.html", status_code=400, context=context)
        return Redirect("/portal/?reset=1")
