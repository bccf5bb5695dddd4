"""The DNS look-up behind ``tenants.services.sso_domains.TxtResolver`` (dnspython)."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.resolver

TIMEOUT_SECONDS = 5.0


async def txt_records(name: str) -> list[str]:
    """The TXT strings at ``name`` ([] when the name has none); LookupError when the
    DNS cannot answer (timeout, no server, malformed name)."""
    try:
        resolver = dns.asyncresolver.Resolver()  # reads /etc/resolv.conf
        resolver.lifetime = TIMEOUT_SECONDS
        answer = await resolver.resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise LookupError(str(exc)) from exc
    records: list[str] = []
    for rdata in answer:
        # One record may be split in several character-strings: they are joined.
        parts = getattr(rdata, "strings", ())
        records.append(b"".join(parts).decode("utf-8", "replace"))
    return records
