"""The debtor sees and accepts the special offers the creditor approved."""

from __future__ import annotations

from litestar import Controller


class SiteSpecialOffersController(Controller):
    path = "/ofertas-especiais"
