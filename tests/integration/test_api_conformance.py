"""API conformance: schemathesis runs the OpenAPI document against the running API, with
a real token, and finds no server error and no response outside the documented schema."""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

import core.tasks
from core.clock import SystemClock
from core.db import Scope
from quita.app import create_app
from tenants.services import api_clients

MAX_EXAMPLES = 12


def _run(schema: Any, headers: dict[str, str]) -> list[str]:
    """Every operation of the document, a few generated requests each (blocking)."""
    checked: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
        checked.append(operation.label)
    return checked


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(world, db, settings):
    async with db.session(Scope.tenant(world.a.id)) as session:
        new = await api_clients.create_client(
            session, name="conformance", scopes=list(api_clients.SCOPES), created_by=None
        )
        await session.commit()
    issued = await api_clients.ApiTokens(db, SystemClock()).issue(
        method="POST",
        uri="https://testserver.local/api/v1/oauth/token",
        authorization="",
        form={
            "grant_type": "client_credentials",
            "client_id": new.client.client_id,
            "client_secret": new.secret,
        },
    )
    assert issued.status == 200
    headers = {"Authorization": f"Bearer {issued.body['access_token']}"}
    sender = core.tasks._sender
    # Its own app: schemathesis serves it on its own event loop (an engine is loop-bound).
    app = create_app(settings, run_workers=False)
    try:
        schema = await asyncio.to_thread(
            schemathesis.openapi.from_asgi, "/api/v1/openapi.json", app
        )
        checked = await asyncio.to_thread(_run, schema, headers)
    finally:
        core.tasks.set_task_sender(sender)
    assert "GET /api/v1/debts" in checked and "POST /api/v1/debts" in checked
    assert len(checked) >= 11
