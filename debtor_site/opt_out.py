"""The opt-out link of every message: one click stops that channel of that creditor,
no login, with a confirmation and an undo.

``GET /parar/<token>`` stops and confirms; ``POST /parar/<token>`` is RFC 8058's
one-click unsubscribe (mail clients post ``List-Unsubscribe=One-Click``) and the page's
own button; ``POST /parar/<token>/desfazer`` undoes. These routes take no CSRF token:
the signed token is what authorises them, and a forged or altered one changes nothing.
Link-preview robots (WhatsApp, Telegram, Slack…) and ``HEAD`` requests see the page
without stopping anything, so a preview cannot opt a person out.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from collection.regua import opt_out
from core.clock import Clock
from core.db import Database
from core.i18n import gettext as _
from debtor_site.lookup import NO_STORE

AnyRequest = Request[Any, Any, Any]

# User agents of link previews fetched by messaging apps and social sites, not a person.
_PREVIEW_AGENTS = (
    "whatsapp",
    "facebookexternalhit",
    "facebot",
    "telegrambot",
    "slackbot",
    "twitterbot",
    "discordbot",
    "skypeuripreview",
    "linkedinbot",
    "googlebot",
    "bingbot",
    "applebot",
)


def _is_preview(request: AnyRequest) -> bool:
    agent = request.headers.get("user-agent", "").lower()
    return any(name in agent for name in _PREVIEW_AGENTS)


def channel_name(channel: str) -> str:
    names = {"email": _("e-mail"), "sms": _("SMS"), "whatsapp": _("WhatsApp")}
    return names.get(channel, channel)


def _page(stop: opt_out.Stop | None, token: str, *, undone: bool = False) -> Template:
    if stop is None:
        return Template("site/opt_out.html", status_code=404, context={"stop": None})
    return Template(
        "site/opt_out.html",
        context={
            "stop": stop,
            "token": token,
            "channel": channel_name(stop.channel.value),
            "undone": undone,
        },
    )


class OptOutController(Controller):
    path = "/parar"
    cache_control = NO_STORE

    @get("/{token:str}", name="site.opt_out")
    async def stop_page(self, request: AnyRequest, token: FromPath[str]) -> Template:
        db: Database = request.app.state.db
        clock: Clock = request.app.state.clock
        key: str = request.app.state.settings.security.secret_key
        if _is_preview(request):
            return _page(await opt_out.look(db, key, token), token)
        return _page(await opt_out.stop(db, key, token, clock.now(), via="link"), token)

    @post("/{token:str}", name="site.opt_out_post", status_code=200)
    async def one_click(self, request: AnyRequest, token: FromPath[str]) -> Template:
        db: Database = request.app.state.db
        clock: Clock = request.app.state.clock
        key: str = request.app.state.settings.security.secret_key
        form = await request.form()
        via = "one-click" if form.get("List-Unsubscribe") == "One-Click" else "link"
        return _page(await opt_out.stop(db, key, token, clock.now(), via=via), token)

    @post("/{token:str}/desfazer", name="site.opt_out_undo", status_code=200)
    async def undo(self, request: AnyRequest, token: FromPath[str]) -> Template:
        db: Database = request.app.state.db
        clock: Clock = request.app.state.clock
        key: str = request.app.state.settings.security.secret_key
        return _page(await opt_out.undo(db, key, token, clock.now()), token, undone=True)
