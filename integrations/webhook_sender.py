"""The HTTP adapter of outbound webhooks: one POST, 10 s at most, no redirects."""

from __future__ import annotations

import httpx

from collection.services.outbound_webhooks import PostResult

TIMEOUT = httpx.Timeout(10.0)


class HttpxWebhookSender:
    """Posts signed bodies with httpx; any answer is a status, any failure an error text.

    Redirects are not followed: a receiver must answer at the address it registered (a
    redirect could also lead the request somewhere the tenant did not choose).
    """

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        try:
            async with httpx.AsyncClient(
                timeout=TIMEOUT, follow_redirects=False, transport=self._transport
            ) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return PostResult(None, "timeout")
        except httpx.HTTPError as exc:
            return PostResult(None, f"{type(exc).__name__}: {str(exc)[:200]}")
        return PostResult(
            response.status_code, "" if response.is_success else response.reason_phrase
        )
