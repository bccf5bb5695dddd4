"""The tenant's hand-over rules: which accounts go to which agency, at which commission."""

from __future__ import annotations

from litestar import Controller


class HandoverRulesController(Controller):
    path = "/portal/repasse"
