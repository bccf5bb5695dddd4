"""Escalation within the law: prior notices, negativação, protesto and judicial referral."""

from __future__ import annotations

from litestar import Controller


class EscalationController(Controller):
    path = "/portal/escalonamento"
