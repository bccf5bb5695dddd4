"""The HTTP adapter of outbound webhooks: one POST to a vetted public address, 10 s at
most, no redirects, no proxy.

The host is resolved when the request is sent, every address it resolves to is checked
(``core.destinations``), and the connection is made to the checked address itself, so a
name cannot answer a public address to the check and a private one to the connection
(DNS rebinding). TLS still verifies the certificate against the host name typed.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable

import httpcore

from collection.webhooks.outbound import PostResult
from core.destinations import IPAddress, literal_address, may_connect
from core.i18n import gettext as _

TIMEOUT = 10.0  # each of connect, write and read
TOTAL_TIMEOUT = 20.0  # a receiver that answers a byte at a time is cut off too

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class DestinationRefused(Exception):
    """The host has (or resolves to) an address webhooks may not reach."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` stands for: a literal as itself, a name through the system
    resolver (each address once, in the resolver's order)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_rest, sockaddr in infos:
        address = literal_address(str(sockaddr[0]))
        if address is not None and address not in found:
            found.append(address)
    return found


class VettedNetwork(httpcore.AsyncNetworkBackend):
    """Connects only to addresses that pass the check, and only to the address checked."""

    def __init__(
        self,
        resolver: Resolver,
        *,
        allow_loopback: bool,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolve = resolver
        self._allow_loopback = allow_loopback
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError("name not resolved") from exc
        # One refused address refuses the host: the resolver may hand out any of them.
        if not addresses or not all(
            may_connect(a, allow_loopback=self._allow_loopback) for a in addresses
        ):
            raise DestinationRefused(host)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused(path)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


_NO_ANSWER = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    OSError,
    ssl.SSLError,
    ValueError,
)


class HttpWebhookSender:
    """Posts signed bodies; any answer is a status, any failure one of two plain texts.

    The log a tenant reads says "destination refused" or "no answer" and nothing more:
    telling a closed port from a silent one, or echoing the receiver's reason phrase,
    would let the log probe networks. Redirects are never followed (httpcore does not
    follow them) and the answer's body is not read.
    """

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        resolver: Resolver | None = None,
        network: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._network = VettedNetwork(
            resolver or resolve, allow_loopback=allow_loopback, inner=network
        )
        self._ssl_context = ssl_context

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        timeouts = {"connect": TIMEOUT, "read": TIMEOUT, "write": TIMEOUT, "pool": TIMEOUT}
        try:
            async with (
                asyncio.timeout(TOTAL_TIMEOUT),
                httpcore.AsyncConnectionPool(
                    ssl_context=self._ssl_context,
                    network_backend=self._network,
                    max_connections=1,
                    retries=0,
                ) as pool,
                pool.stream(
                    "POST",
                    url,
                    headers=list(headers.items()),
                    content=body,
                    extensions={"timeout": timeouts},
                ) as response,
            ):
                status = response.status
        except DestinationRefused:
            return PostResult(None, _("Destination refused"))
        except _NO_ANSWER:
            return PostResult(None, _("No answer from the destination"))
        return PostResult(status)
