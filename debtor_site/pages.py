"""Public pages: home and the privacy notice (LGPD)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template


class PublicPagesController(Controller):
    path = "/"

    @get("/", name="site.home")
    async def home(self) -> Template:
        return Template("site/home.html", context={})

    @get("/privacidade", name="site.privacy")
    async def privacy(self) -> Template:
        return Template("site/privacy.html", context={})
