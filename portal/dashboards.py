"""Dashboards for creditors and agencies: charts as SVG, tables as CSV."""

from __future__ import annotations

from litestar import Controller


class DashboardsController(Controller):
    path = "/portal/painel"
