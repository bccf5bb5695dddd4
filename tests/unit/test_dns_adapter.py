"""The real TXT look-up (integrations/dns.py), with dnspython's resolver replaced: no network."""

from __future__ import annotations

import dns.asyncresolver
import dns.resolver
import pytest

from integrations.dns import txt_records


class _Rdata:
    def __init__(self, *strings: bytes) -> None:
        self.strings = strings


async def test_split_txt_strings_are_joined_and_missing_names_give_nothing(monkeypatch):
    async def resolve(self, name, rdtype, search=False):
        if name == "nada.example":
            raise dns.resolver.NXDOMAIN()
        assert (name, rdtype, search) == ("empresa.example", "TXT", False)
        return [_Rdata(b"quita-verification=", b"abc"), _Rdata(b"v=spf1 -all")]

    monkeypatch.setattr(dns.asyncresolver.Resolver, "resolve", resolve)
    assert await txt_records("empresa.example") == ["quita-verification=abc", "v=spf1 -all"]
    assert await txt_records("nada.example") == []


async def test_a_failing_dns_is_a_lookup_error(monkeypatch):
    async def resolve(self, name, rdtype, search=False):
        raise dns.resolver.LifetimeTimeout(timeout=5.0, errors=[])

    monkeypatch.setattr(dns.asyncresolver.Resolver, "resolve", resolve)
    with pytest.raises(LookupError):
        await txt_records("lento.example")
