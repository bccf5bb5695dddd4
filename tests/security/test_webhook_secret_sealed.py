"""Outbound-webhook secrets are encrypted at rest with the key from the environment
(issue 26 item 13): the database holds only the sealed value, the owner still sees the
secret in clear, and deliveries are signed with it."""

from __future__ import annotations

from sqlalchemy import select

from core.db import Scope
from core.secrets_box import SecretsBox, is_sealed
from tenants.models import WebhookEndpoint
from tests.integration.test_webhooks_out import _add_endpoint


async def test_the_database_holds_the_secret_sealed_and_the_page_shows_it_in_clear(
    client, db, world
):
    endpoint_id, shown = await _add_endpoint(client, world, "https://example.com/hook")
    assert shown.startswith("whsec_")
    async with db.session(Scope.tenant(world.a.id)) as session:
        stored = await session.scalar(
            select(WebhookEndpoint.secret).where(WebhookEndpoint.id == endpoint_id)
        )
    assert stored is not None and is_sealed(stored) and shown not in stored
    assert SecretsBox.from_value("").open(stored) == shown  # the test run's (development) key
    other_key = SecretsBox.from_value(SecretsBox.new_key())
    try:
        other_key.open(stored)
    except Exception as exc:  # another key opens nothing
        assert type(exc).__name__ == "SecretUnreadable"
    else:
        raise AssertionError("a different key opened the secret")
