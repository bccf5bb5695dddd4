"""Special offers: proposed beyond the policy by staff, approved or rejected by the creditor."""

from __future__ import annotations

from litestar import Controller


class SpecialOffersController(Controller):
    path = "/portal/ofertas-especiais"
