"""The real processes: `quita run` (embedded) and `quita web` + `quita worker` (production)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from core.db import Database, Scope
from core.secrets_box import SecretsBox
from quita import migrate
from tenants.services.directory import ensure_user
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_admin

QUITA = str(Path(sys.executable).with_name("quita"))
pytestmark = pytest.mark.xdist_group("processes")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(url: str, within: float = 30) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _run(coro: Any) -> Any:
    # A fresh loop in a thread: safe whether or not the test runner's loop is running.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "BROKER_"))}
    env.update(extra)
    return env


def test_quita_run_serves_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = _port()
    env = _env(QUITA_VAR_DIR=str(tmp_path))
    subprocess.run([QUITA, "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [QUITA, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        health = _wait_http(f"http://127.0.0.1:{port}/healthz")
        assert health.json()["status"] == "ok"
        assert _wait_http(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out.decode()[-2000:]


def test_production_refuses_to_start_with_the_default_secret(tmp_path):
    result = subprocess.run(
        [QUITA, "web", "--port", str(_port())],
        capture_output=True,
        timeout=60,
        env=_env(
            QUITA_ENV="production",
            DATABASE_URL="postgresql://x@127.0.0.1/x",
            QUITA_VAR_DIR=str(tmp_path),
        ),
    )
    assert result.returncode != 0
    assert b"SECRET_KEY must be set" in result.stderr


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL and RabbitMQ (CI)")
def test_separate_web_and_worker_processes_deliver_a_password_reset(tmp_path):
    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.content)
            return "250 OK"

    smtp_port = _port()
    smtp = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    name = f"quita_proc_{uuid.uuid4().hex[:8]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    db_url = f"{base}/{name}"
    web_port = _port()
    env = _env(
        QUITA_ENV="production",
        SECRET_KEY="p" * 40,
        CPF_HASH_KEY="c" * 40,
        QUITA_SECRETS_KEY=SecretsBox.new_key(),
        DATABASE_URL=db_url,
        BROKER_URL="amqp://guest:guest@127.0.0.1:5672/",
        BROKER_QUEUE_PREFIX=f"proc{uuid.uuid4().hex[:6]}-",
        SECURE_COOKIES="0",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        QUITA_VAR_DIR=str(tmp_path),
        BASE_URL=f"http://127.0.0.1:{web_port}",
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _run(
            asyncio.to_thread(
                migrate.upgrade, db_url.replace("postgresql://", "postgresql+asyncpg://")
            )
        )

        async def make_user() -> None:
            db = Database(db_url.replace("postgresql://", "postgresql+asyncpg://"))
            async with db.session(Scope.system()) as session:
                await ensure_user(
                    session, email="prod@example.test", name="Prod", password="a very long password"
                )
                await session.commit()
            await db.dispose()

        _run(make_user())
        for command in (
            [QUITA, "web", "--port", str(web_port)],
            [QUITA, "worker", "--threads", "2"],
        ):
            procs.append(
                subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            )
        assert _wait_http(f"http://127.0.0.1:{web_port}/healthz").json() == {
            "status": "ok",
            "database": "ok",
            "broker": "ok",
        }
        with httpx.Client(base_url=f"http://127.0.0.1:{web_port}") as client:
            page = client.get("/portal/password/forgot")
            token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            sent = client.post(
                "/portal/password/forgot", data={"email": "prod@example.test", "_csrf_token": token}
            )
            assert sent.status_code == 200
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            time.sleep(0.2)
        assert received, "the worker process did not deliver the e-mail"
        assert b"/portal/password/reset/" in received[0]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        smtp.stop()
        _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
