"""A local fake of the payment gateway (localstripe) on loopback, for the demo and tests.

``quita run`` without Stripe keys starts one and points the app at it, so the demo
completes a card payment end to end; the debtor site says it is a test gateway. The
fake signs its webhooks with a secret chosen here, like Stripe does.

    python -m integrations.local_gateway --port 8420
"""

from __future__ import annotations

import argparse
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from core.settings import PaymentSettings

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalGateway:
    """A running localstripe process and the settings that reach it."""

    process: subprocess.Popen[bytes]
    settings: PaymentSettings

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck child
            self.process.kill()

    def send_webhooks_to(self, url: str) -> None:
        """Have the fake deliver its (signed) events to ``url``."""
        response = httpx.post(
            f"{self.settings.api_base}/_config/webhooks/quita",
            data={"url": url, "secret": self.settings.webhook_secret},
            timeout=10,
        )
        response.raise_for_status()


def start(port: int | None = None) -> LocalGateway:
    """Start localstripe on loopback and wait until it answers."""
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "integrations.local_gateway", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://{HOST}:{port}"
    settings = PaymentSettings(
        secret_key="sk_test_local_gateway",  # noqa: S106 - the fake's fixed test key
        publishable_key="pk_test_local_gateway",
        webhook_secret="whsec_" + secrets.token_hex(16),
        api_base=base,
        js_url=f"{base}/js.stripe.com/v3/",
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{base}/js.stripe.com/v3/", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the local payment gateway did not start") from None
            time.sleep(0.1)
    return LocalGateway(process, settings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="localstripe on loopback")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args(argv)
    from aiohttp import web
    from localstripe.server import app  # type: ignore[import-untyped]

    web.run_app(app, host=HOST, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
