"""The debts page (`/minhas-dividas`), rendered once per version of what it shows.

Rendering the itemised debts and the offer tables costs far more than reading the rows,
so the HTML is kept per person under the page's version (see ``PersonPage``) and the
alerts asked for in the query string. The only part that differs between requests of
the same version is the CSRF token: the cached page holds a random stand-in, replaced
by the request's own token on the way out.
"""

from __future__ import annotations

import html
import secrets
from typing import Any

from litestar import Request
from litestar.enums import MediaType
from litestar.response import Response
from litestar.template.base import csrf_token

from collection.debtor.page import PersonPage
from core.cache import VersionedCache
from core.security import mask_email, mask_phone

AnyRequest = Request[Any, Any, Any]
TEMPLATE = "site/debts.html"
# The notices other pages ask for when they send the person back here (?contestada=1).
ALERTS = ("contestada", "contato", "parado", "contato-novo")
# How many people's pages one process keeps (the most recently seen).
PAGE_CACHE_SIZE = 1000

# Pages behind the person's proof are never kept by the browser or a proxy: after
# "Sair", the back button must show nothing.
NO_STORE = {"cache-control": "no-store"}

_TOKEN = "csrf-" + secrets.token_hex(16)  # cannot occur in the data, unlike a fixed text
_PAGES: VersionedCache[str, str] = VersionedCache(PAGE_CACHE_SIZE)


def _render(request: AnyRequest, page: PersonPage, alerts: frozenset[str]) -> str:
    engine = request.app.template_engine
    assert engine is not None
    rendered: str = engine.get_template(TEMPLATE).render(
        creditors=page.creditors,
        unproven=page.unproven,
        today=page.on,
        agreements=page.agreements,
        special_offers=page.special_offers,
        contacts=page.contacts,
        alerts=alerts,
        mask_email=mask_email,
        mask_phone=mask_phone,
        csrf_token=lambda: _TOKEN,
        csrf_input=f'<input type="hidden" name="_csrf_token" value="{_TOKEN}" />',
    )
    return rendered


def debts_page(request: AnyRequest, page: PersonPage) -> Response[str]:
    """The rendered page of ``page``, from the cache when this version was seen before."""
    alerts = frozenset(name for name in ALERTS if request.query_params.get(name))
    body = _PAGES.get(page.cpf_hash, (page.version, alerts), lambda: _render(request, page, alerts))
    token = html.escape(csrf_token({"request": request}))
    return Response(body.replace(_TOKEN, token), media_type=MediaType.HTML, headers=NO_STORE)
