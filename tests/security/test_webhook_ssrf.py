"""Outbound webhooks cannot be aimed inside the network (issue 26 item 7).

The probe reached loopback through ``https://2130706433/``, ``https://127.1/``,
``https://0/``, the CGNAT range and names that resolve to private addresses, and the
delivery log told open ports from closed ones. Every resolved address is checked when a
delivery is sent, the connection goes to the address checked (no second look-up), no
redirect is followed, and the log says only "refused" or "no answer". The resolver is
replaced here: nothing leaves this machine.
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import pytest

from collection.webhooks import outbound as webhooks
from core.destinations import is_public, literal_address
from integrations.webhook_sender import HttpWebhookSender

REFUSED_TEXT = "Destino recusado"
NO_ANSWER_TEXT = "Sem resposta do destino"
HEADERS = {"content-type": "application/json"}

BYPASSES = [
    "https://2130706433/",
    "https://127.1/",
    "https://0/",
    "https://100.64.0.1/",
    "https://0x7f.1/hook",
    "https://017700000001/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/",
    "https://100.100.100.200/",
    "https://192.0.0.192/",
    "https://10.0.0.5/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://[fe80::1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:7f00:1::]/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://240.0.0.1/",
]


class RecordingNetwork(httpcore.AsyncMockBackend):
    """Answers 204 to whatever it is asked to connect to, and records where that was."""

    def __init__(self) -> None:
        super().__init__([b"HTTP/1.1 204 No Content\r\n", b"\r\n"])
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await super().connect_tcp(host, port, timeout, local_address, socket_options)


class FakeDns:
    """``socket.getaddrinfo`` for a few names; counts look-ups, refuses everything else."""

    def __init__(self, names: dict[str, list[list[str]]]) -> None:
        self.names = names  # name -> the answers of successive look-ups (last repeats)
        self.lookups: list[str] = []

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.lookups.append(name)
        if name not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = self.names[name]
        addresses = answers[min(len(self.lookups) - 1, len(answers) - 1)]
        result: list[Any] = []
        for address in addresses:
            if ":" in address:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return result


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(
        {
            "loopback.example.com": [["127.0.0.1"]],
            "metadata.example.com": [["169.254.169.254"]],
            "mapped.example.com": [["::ffff:10.1.2.3"]],
            "mixed.example.com": [["93.184.215.14", "10.0.0.7"]],
            "public.example.com": [["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]],
            # Answers a public address first and loopback after: a second look-up at
            # connection time would be steered inside.
            "rebind.example.com": [["93.184.215.14"], ["127.0.0.1"]],
        }
    )
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.mark.parametrize("url", BYPASSES)
async def test_internal_address_literals_in_any_notation_are_refused_at_send_time(url, dns):
    network = RecordingNetwork()
    result = await HttpWebhookSender(network=network).post(url, b"{}", HEADERS)
    assert (result.status, result.error) == (None, REFUSED_TEXT)
    assert network.connected == []


@pytest.mark.parametrize(
    "name", ["loopback.example.com", "metadata.example.com", "mapped.example.com"]
)
async def test_a_name_that_resolves_to_an_internal_address_is_refused(name, dns):
    network = RecordingNetwork()
    result = await HttpWebhookSender(network=network).post(f"https://{name}/h", b"{}", HEADERS)
    assert (result.status, result.error) == (None, REFUSED_TEXT)
    assert network.connected == []
    assert dns.lookups == [name]


async def test_one_internal_address_among_public_ones_refuses_the_name(dns):
    network = RecordingNetwork()
    result = await HttpWebhookSender(network=network).post(
        "https://mixed.example.com/h", b"{}", HEADERS
    )
    assert result.error == REFUSED_TEXT and network.connected == []


async def test_the_connection_goes_to_the_address_checked_without_a_second_lookup(dns):
    network = RecordingNetwork()
    result = await HttpWebhookSender(network=network).post(
        "https://rebind.example.com/h", b"{}", HEADERS
    )
    assert result.status == 204 and result.ok
    assert network.connected == [("93.184.215.14", 443)]
    assert dns.lookups == ["rebind.example.com"]


async def test_a_public_name_is_delivered_to_its_public_address(dns):
    network = RecordingNetwork()
    result = await HttpWebhookSender(network=network).post(
        "https://public.example.com:8443/h", b"{}", HEADERS
    )
    assert result.status == 204
    assert network.connected == [("93.184.215.14", 8443)]


async def test_an_unknown_name_is_no_answer_not_a_crash(dns):
    result = await HttpWebhookSender(network=RecordingNetwork()).post(
        "https://nowhere.example.com/h", b"{}", HEADERS
    )
    assert (result.status, result.error) == (None, NO_ANSWER_TEXT)


# -- against real sockets on loopback (allowed only for a developer's own receiver) -------


@pytest.fixture
def redirecting_receiver() -> Iterator[tuple[str, list[str]]]:
    """A receiver that answers every POST with a redirect to a second path of its own."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(307)
            self.send_header("location", "/followed")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/first", seen
    server.shutdown()
    server.server_close()


async def test_loopback_is_refused_unless_allowed_and_redirects_are_not_followed(
    redirecting_receiver,
):
    url, seen = redirecting_receiver
    strict = await HttpWebhookSender().post(url, b"{}", HEADERS)
    assert (strict.status, strict.error) == (None, REFUSED_TEXT)
    assert seen == []
    allowed = await HttpWebhookSender(allow_loopback=True).post(url, b"{}", HEADERS)
    assert allowed.status == 307 and not allowed.ok
    assert seen == ["/first"]  # the redirect's target was never asked


async def test_the_log_does_not_tell_a_closed_port_from_a_silent_one():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    sender = HttpWebhookSender(allow_loopback=True)
    result = await sender.post(f"http://127.0.0.1:{closed}/x", b"{}", HEADERS)
    assert (result.status, result.error) == (None, NO_ANSWER_TEXT)
    assert str(closed) not in result.error


async def test_the_development_allowance_is_loopback_only(dns):
    network = RecordingNetwork()
    sender = HttpWebhookSender(allow_loopback=True, network=network)
    for url in ("https://0/", "https://100.64.0.1/", "https://10.0.0.5/", "https://[fe80::1]/"):
        assert (await sender.post(url, b"{}", HEADERS)).error == REFUSED_TEXT, url
    assert network.connected == []


# -- the form refuses the same literals when an endpoint is saved -------------------------


LOOPBACK = {
    "https://2130706433/",
    "https://127.1/",
    "https://0x7f.1/hook",
    "https://017700000001/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
}


@pytest.mark.parametrize("url", BYPASSES)
def test_the_endpoint_form_refuses_internal_literals(url):
    form = webhooks.EndpointForm(url, ("payment.received",))
    assert "url" in webhooks.check_endpoint(form, development=False)
    # In development this machine itself passes (a developer's receiver), nothing else.
    refused_in_development = "url" in webhooks.check_endpoint(form, development=True)
    assert refused_in_development is (url not in LOOPBACK)


def test_address_classification():
    def public(text: str) -> bool:
        address = literal_address(text)
        assert address is not None, text
        return is_public(address)

    for text in ("93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"):
        assert public(text), text
    for text in (
        "127.0.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "100.127.255.254",
        "168.63.129.16",
        "198.18.0.1",
        "::ffff:192.168.0.1",
        "64:ff9b::7f00:1",
        "2002:a00:1::",
        "fec0::1",
        "ff02::1",
        "::127.0.0.1",
        "2001:db8::1",
    ):
        assert not public(text), text
    assert literal_address("2130706433") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("127.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_address("hooks.example.com") is None
    assert literal_address("123.example.com") is None
