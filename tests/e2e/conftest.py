"""A live server on loopback with seeded data, and headless Debian Chromium."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright

from core.db import Database
from integrations import local_gateway
from quita import migrate
from quita.app import create_app
from tests.conftest import make_settings
from tests.factories import TenantWorld, hand_over, make_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    def __init__(self, url: str, world: TenantWorld, handover_id: uuid.UUID) -> None:
        self.url = url
        self.world = world
        self.handover_id = handover_id  # an account of tenant A with the agency


@pytest.fixture(scope="session")
async def live_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("e2e")
    url = f"sqlite+aiosqlite:///{tmp / 'e2e.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = make_settings(url, tmp).with_changes(base_url="http://127.0.0.1")
    settings = settings.with_changes(
        security=settings.security.__class__(
            secret_key=settings.security.secret_key,
            cpf_hash_key=settings.security.cpf_hash_key,
            secure_cookies=False,
        )
    )

    db = Database(url)
    try:
        world = await make_world(db, settings)
        handover_id = await hand_over(db, world.a.id, world.a.debtor_ids[1], world.agency_id)
    finally:
        await db.dispose()
    port = _free_port()
    # The local test gateway, as `quita run` starts it, delivering webhooks to this server.
    gateway = await asyncio.to_thread(local_gateway.start)
    await asyncio.to_thread(gateway.send_webhooks_to, f"http://127.0.0.1:{port}/webhooks/stripe")
    # Pix and boleto through the local test provider, as `quita run` sets it up.
    payments = replace(
        gateway.settings,
        local_provider=True,
        local_webhook_url=f"http://127.0.0.1:{port}/webhooks/local",
    )
    settings = settings.with_changes(payments=payments)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, run_workers=True),  # as `quita run`: webhooks applied in-process
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        await asyncio.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", world, handover_id)
    server.should_exit = True
    await asyncio.to_thread(thread.join, 10)
    gateway.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is required for browser tests (apt-get install chromium)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
def shots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
