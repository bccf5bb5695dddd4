"""An agency account view: everything about the debtor at one creditor, and the work on it."""

from __future__ import annotations

from litestar import Controller


class AgencyAccountController(Controller):
    path = "/portal/agencia/contas"
