"""Public pages: home, the privacy notice (LGPD) and each creditor's identification."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from collection.regua.footer import creditor_identity


class PublicPagesController(Controller):
    path = "/"

    @get("/", name="site.home")
    async def home(self) -> Template:
        return Template("site/home.html", context={})

    @get("/privacidade", name="site.privacy")
    async def privacy(self) -> Template:
        return Template("site/privacy.html", context={})

    @get("/credor/{slug:str}", name="site.creditor")
    async def creditor(self, request: Request[Any, Any, Any], slug: FromPath[str]) -> Template:
        """Who is collecting (CDC art. 42-A): the page the texts of the régua link to."""
        found = await creditor_identity(request.app.state.db, slug[:60])
        if found is None:
            raise NotFoundException()
        return Template("site/creditor.html", context={"creditor": found})
