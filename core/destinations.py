"""Which network addresses a request made on a tenant's behalf may reach.

An outbound webhook is a request to an address the tenant typed, sent from inside our
network; without a check it reaches our database, the cloud's metadata service or a
neighbour's admin page (server-side request forgery). Only public unicast addresses
pass: loopback, private, link-local, CGNAT (shared), metadata, unspecified, multicast,
documentation and reserved ranges are refused, for IPv4 and IPv6 alike, and an IPv6
address that carries an IPv4 one (mapped, NAT64, 6to4) is judged by the IPv4 inside.

Host names are judged only by the addresses they resolve to (see
``integrations.webhook_sender``, which connects to the very address it checked); host
*literals* are parsed here the way resolvers parse them, so ``2130706433``, ``127.1``,
``0x7f.1`` and ``0`` are the loopback and unspecified addresses they really are.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges refused although Python counts some of them as global.
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local machine on Linux
        "100.64.0.0/10",  # CGNAT shared space (Alibaba's metadata is 100.100.100.200)
        "192.0.0.0/24",  # IETF protocol assignments (Oracle's metadata is 192.0.0.192)
        "168.63.129.16/32",  # Azure's host agent and metadata
        "198.18.0.0/15",  # benchmarking
        "240.0.0.0/4",  # reserved
        "fec0::/10",  # deprecated site-local
        "fc00::/7",  # unique local (AWS's IPv6 metadata is fd00:ec2::254)
        "2001::/23",  # IETF protocol assignments, Teredo included
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

# What inet_aton accepts: one to four parts, each decimal, octal (0...) or hex (0x...).
_IPV4_LITERAL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address a webhook may be sent to."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
        if int(address) >> 32 == 0:  # ::a.b.c.d (IPv4-compatible, deprecated) and ::, ::1
            return False
    if (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    return not any(address in net for net in _REFUSED_NETWORKS if net.version == address.version)


def may_connect(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """Whether a request may go to ``address``; loopback only when ``allow_loopback`` (a
    developer's own receiver, never outside development)."""
    return (allow_loopback and is_loopback(address)) or is_public(address)


def is_loopback(address: IPAddress) -> bool:
    """This machine (``127.0.0.0/8``, ``::1``, and IPv4 loopback mapped into IPv6)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def literal_address(host: str) -> IPAddress | None:
    """The address a host literal stands for (in any notation a resolver accepts), or None
    when ``host`` is a name."""
    host = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _IPV4_LITERAL.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def is_local_name(host: str) -> bool:
    """Names that never leave the machine or the private network."""
    host = host.lower().rstrip(".")
    return host in ("localhost", "localhost.localdomain") or host.endswith(
        (".localhost", ".internal", ".local", ".lan", ".home.arpa")
    )
