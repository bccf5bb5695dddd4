"""The tenant's outbound webhooks: endpoints, events, and the delivery log."""

from __future__ import annotations

from litestar import Controller


class WebhookEndpointsController(Controller):
    path = "/portal/webhooks"
