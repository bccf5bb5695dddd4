"""The agency work queue: prioritized accounts, claims, assignment by supervisors."""

from __future__ import annotations

from litestar import Controller


class AgencyQueueController(Controller):
    path = "/portal/agencia"
