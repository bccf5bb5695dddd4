"""Look-up by CPF, proof of identity, and the list of everything the person owes."""

from __future__ import annotations

import math
import re
import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from collection.agency.casework import note_visit
from collection.debtor.access import (
    AccessRefused,
    CreditorToProve,
    DebtorAccess,
    Person,
    Proven,
)
from collection.domain.documents import InvalidDocument, normalize_cpf
from core.i18n import gettext as _
from debtor_site.debts_page import debts_page

AnyRequest = Request[Any, Any, Any]
COOKIE = "quita_debtor"
_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
# What people paste around a CPF's digits: spaces of any kind (a non-breaking one from a
# PDF), dots, hyphens and the dashes a word processor makes of them, slashes.
_CPF_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015\u2212/]+")
_DIGITS = re.compile(r"[0-9]*")
# Every page behind the person's proof: never kept by the browser or a proxy, so the
# back button after "Sair" shows nothing.
NO_STORE = CacheControlHeader(no_store=True)


def _access(request: AnyRequest) -> DebtorAccess:
    access: DebtorAccess = request.app.state.debtor_access
    return access


def client_ip(request: AnyRequest) -> str:
    """The client address (uvicorn sets it from the proxy headers it trusts)."""
    return request.client.host if request.client else ""


def _set_cookie(request: AnyRequest, response: Response[Any], token: str) -> None:
    secure = request.app.state.settings.security.secure_cookies or request.url.scheme == "https"
    response.set_cookie(
        COOKIE,
        token,
        path="/",
        httponly=True,
        secure=secure,
        samesite="lax",
        max_age=_access(request).rules.session_minutes * 60,
    )


def typed_cpf(raw: str) -> str:
    """The 11 digits of a CPF as a person types or pastes it, separators removed first;
    raises InvalidDocument with what to fix. Unlike an imported spreadsheet cell, a
    short CPF is not padded with zeros: "123" needs 11 digits, it is not 000.000.001-23."""
    digits = _CPF_SEPARATORS.sub("", raw)
    if not digits:
        raise InvalidDocument(_("Type your CPF."))
    if not _DIGITS.fullmatch(digits):
        raise InvalidDocument(_("Type only the numbers of the CPF."))
    if len(digits) != 11:
        raise InvalidDocument(
            _("A CPF has 11 digits; you typed %(n)s.") % {"n": len(digits)}
            if len(digits) < 11
            else _("A CPF has 11 digits; you typed %(n)s. Check for an extra number.")
            % {"n": len(digits)}
        )
    try:
        return normalize_cpf(digits)
    except InvalidDocument as exc:
        raise InvalidDocument(_("Invalid CPF: check the numbers you typed.")) from exc


def parse_birth_date(text: str) -> date | None:
    """``15/04/1985`` (as people write it) or ``1985-04-15`` (a date input)."""
    match = _DATE.match(text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def duration(seconds: int) -> str:
    """A wait as a person reads it: seconds under a minute, then minutes, then hours."""
    if seconds < 60:
        return _("1 second") if seconds == 1 else _("%(n)s seconds") % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return _("1 minute") if minutes == 1 else _("%(n)s minutes") % {"n": minutes}
    return _("%(n)s hours") % {"n": math.ceil(minutes / 60)}


def _wait_hint(kind: str) -> str:
    """What still works while one path waits."""
    if kind == "birth_date":
        return _("Meanwhile, you can receive a code instead.")
    if kind == "code":
        return _("Meanwhile, you can confirm with your date of birth instead.")
    if kind == "send":
        return _("Meanwhile, type a code you already received, or use your date of birth.")
    return ""


def _refusal_text(exc: AccessRefused) -> str:
    """What the person reads: the wait and what still works, or how many tries remain."""
    if exc.wait_seconds:
        if exc.kind == "send":
            first = _("You can ask for another code in %(time)s.")
        else:
            first = _("Too many attempts. For your safety, wait %(time)s and try again.")
        text = first % {"time": duration(exc.wait_seconds)}
        hint = _wait_hint(exc.kind)
        return f"{text} {hint}" if hint else text
    text = _("We could not confirm your details. Check what you typed and try again.")
    if exc.next_in:
        more = _("For your safety, the next try is possible in %(time)s.") % {
            "time": duration(exc.next_in)
        }
    elif exc.left == 1:
        more = _("You have 1 more try before a wait.")
    elif exc.left:
        more = _("You have %(n)s more tries before a wait.") % {"n": exc.left}
    else:
        return text
    return f"{text} {more}"


def _refused(
    exc: AccessRefused,
    *,
    code_sent: bool = False,
    creditor: CreditorToProve | None = None,
) -> Template:
    """The same answer for a wrong date, a wrong code and a CPF without debts."""
    return Template(
        "site/verify.html",
        status_code=429 if exc.wait_seconds else 400,
        context={
            "errors": {},
            "alert": _refusal_text(exc),
            "code_sent": code_sent,
            "creditor": creditor,
        },
        headers={"cache-control": "no-store"} if creditor else None,
    )


async def _note_verified(access: DebtorAccess, cpf_hash: str, proven: Proven, how: str) -> None:
    """Each creditor the person just proved their identity for sees it on its account
    (and no other creditor: the others learn nothing from it)."""
    for tenant_id in sorted(proven.tenants):
        await note_visit(
            access.db,
            cpf_hash,
            "verified",
            {"how": how},
            now=access.clock.now(),
            tenant_id=tenant_id,
        )


def _creditor_of(form: Any) -> uuid.UUID | None:
    """The creditor a proof is for (the per-creditor page's hidden field), if any."""
    try:
        return uuid.UUID(str(form.get("credor", "")))
    except ValueError:
        return None


async def verified(request: AnyRequest) -> Person | None:
    """The verified person and the creditors proven, or None (then the page sends them
    to look-up)."""
    access: DebtorAccess = request.app.state.debtor_access
    return await access.person(request.cookies.get(COOKIE, ""))


async def provide_person(request: AnyRequest) -> Person:
    """The verified person; without one the page sends them back to look-up."""
    person = await verified(request)
    if person is None:
        raise NotAuthorizedException()
    return person


def provide_access(request: AnyRequest) -> DebtorAccess:
    return _access(request)


# Dependencies of the pages only a verified person may see.
PERSON = {
    "person": Provide(provide_person),
    "access": Provide(provide_access, sync_to_thread=False),
}


class LookupController(Controller):
    path = "/"

    @post("/consulta", name="site.lookup")
    async def lookup(self, request: AnyRequest) -> Template | Redirect:
        form = await request.form()
        raw = str(form.get("cpf", ""))[:40]
        try:
            token = await _access(request).start(typed_cpf(raw), ip=client_ip(request))
        except InvalidDocument as exc:
            return Template(
                "site/home.html", status_code=400, context={"errors": {"cpf": str(exc)}, "cpf": raw}
            )
        response = Redirect("/verificar")
        _set_cookie(request, response, token)
        return response

    @get("/verificar", name="site.verify_page")
    async def verify_page(self, request: AnyRequest) -> Template | Redirect:
        session = await _access(request).current(request.cookies.get(COOKIE, ""))
        if session is None:
            return Redirect("/?expirou=1")
        if session.verified_at is not None:
            return Redirect("/minhas-dividas")
        return Template(
            "site/verify.html",
            context={"errors": {}, "code_sent": bool(request.query_params.get("codigo"))},
        )

    @get("/verificar/credor/{tenant_id:uuid}", name="site.verify_creditor")
    async def verify_creditor_page(
        self, request: AnyRequest, tenant_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        """Prove the person's identity for one more creditor (a verified session only)."""
        access = _access(request)
        token = request.cookies.get(COOKIE, "")
        if await access.person(token) is None:
            return Redirect("/?expirou=1")
        creditor = await access.creditor_to_prove(token, tenant_id)
        if creditor is None:
            raise NotFoundException()
        return Template(
            "site/verify.html",
            context={
                "errors": {},
                "creditor": creditor,
                "code_sent": bool(request.query_params.get("codigo")),
            },
            headers={"cache-control": "no-store"},
        )

    async def _target(
        self, access: DebtorAccess, token: str, form: Any
    ) -> tuple[bool, CreditorToProve | None]:
        """The creditor a verified session proves for now: (False, None) when the form
        names one the session cannot prove (already proven, or not the person's)."""
        tenant_id = _creditor_of(form)
        if tenant_id is None or await access.person(token) is None:
            return True, None
        creditor = await access.creditor_to_prove(token, tenant_id)
        return creditor is not None, creditor

    @post("/verificar", name="site.verify")
    async def verify(self, request: AnyRequest) -> Template | Redirect:
        form = await request.form()
        access = _access(request)
        token = request.cookies.get(COOKIE, "")
        pending = await access.current(token)
        if pending is None:
            return Redirect("/?expirou=1")
        ok, creditor = await self._target(access, token, form)
        if not ok:
            return Redirect("/minhas-dividas")
        for_tenant = creditor.id if creditor else None
        born = parse_birth_date(str(form.get("birth_date", "")))
        if born is None:
            return Template(
                "site/verify.html",
                status_code=400,
                context={
                    "errors": {
                        "birth_date": _("Type the date as day/month/year, for example 15/04/1985.")
                    },
                    "creditor": creditor,
                },
            )
        try:
            proven = await access.verify_birth_date(
                token, born, ip=client_ip(request), tenant_id=for_tenant
            )
        except AccessRefused as exc:
            return _refused(exc, creditor=creditor)
        await _note_verified(access, pending.cpf_hash, proven, "birth_date")
        response = Redirect("/minhas-dividas")
        _set_cookie(request, response, proven.token)
        return response

    @post("/verificar/codigo", name="site.send_code")
    async def send_code(self, request: AnyRequest) -> Template | Redirect:
        access = _access(request)
        token = request.cookies.get(COOKIE, "")
        if await access.current(token) is None:
            return Redirect("/?expirou=1")
        form = await request.form()
        ok, creditor = await self._target(access, token, form)
        if not ok:
            return Redirect("/minhas-dividas")
        for_tenant = creditor.id if creditor else None
        channel = "sms" if form.get("channel") == "sms" else "email"
        try:
            await access.send_code(
                token, ip=client_ip(request), channel=channel, tenant_id=for_tenant
            )
        except AccessRefused as exc:
            # A code sent earlier still works: the page keeps the box to type it.
            return _refused(exc, code_sent=True, creditor=creditor)
        return Template(
            "site/verify.html",
            context={
                "errors": {},
                "code_sent": True,
                "just_sent": True,
                "creditor": creditor,
            },
            headers={"cache-control": "no-store"} if creditor else None,
        )

    @post("/verificar/codigo/confirmar", name="site.verify_code")
    async def verify_code(self, request: AnyRequest) -> Template | Redirect:
        form = await request.form()
        access = _access(request)
        token = request.cookies.get(COOKIE, "")
        pending = await access.current(token)
        if pending is None:
            return Redirect("/?expirou=1")
        ok, creditor = await self._target(access, token, form)
        if not ok:
            return Redirect("/minhas-dividas")
        try:
            proven = await access.verify_code(
                token, str(form.get("code", ""))[:12], ip=client_ip(request)
            )
        except AccessRefused as exc:
            return _refused(exc, code_sent=True, creditor=creditor)
        await _note_verified(access, pending.cpf_hash, proven, "code")
        response = Redirect("/minhas-dividas")
        _set_cookie(request, response, proven.token)
        return response

    @get("/minhas-dividas", name="site.debts", cache_control=NO_STORE)
    async def debts(self, request: AnyRequest) -> Response[str] | Redirect:
        page = await _access(request).page(request.cookies.get(COOKIE, ""))
        if page is None:
            return Redirect("/?expirou=1")
        return debts_page(request, page)

    @post("/sair", name="site.logout")
    async def logout(self, request: AnyRequest) -> Redirect:
        await _access(request).end(request.cookies.get(COOKIE, ""))
        response = Redirect("/")
        response.delete_cookie(COOKIE, path="/")
        return response
