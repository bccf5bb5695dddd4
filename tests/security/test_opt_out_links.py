"""The opt-out link needs no login and no CSRF token, so the signed token is all that
authorises it: an altered, re-addressed or foreign-key token stops and undoes nothing."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from collection.models import Channel, ChannelOptOut
from collection.regua import opt_out
from core.db import Scope
from tests.conftest import TEST_SECRET


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _rows(db, world) -> list[ChannelOptOut]:
    people = [*world.a.debtor_ids, *world.b.debtor_ids]
    async with db.session(Scope.system()) as session:
        return list(
            await session.scalars(select(ChannelOptOut).where(ChannelOptOut.debtor_id.in_(people)))
        )


def _forgeries(world) -> dict[str, str]:
    good = opt_out.sign(TEST_SECRET, world.a.id, world.a.debtor_ids[0], Channel.EMAIL)
    raw = _raw(good)
    flipped = bytes([raw[-1] ^ 1])
    # Same MAC, another person (at the other creditor), another channel.
    other_person = world.b.debtor_ids[0].bytes + raw[16:]
    other_channel = raw[:16] + b"w" + raw[17:]
    return {
        "altered mac": _token(raw[:-1] + flipped),
        "other person": _token(other_person),
        "other channel": _token(other_channel),
        "other key": opt_out.sign("another-key", world.a.id, world.a.debtor_ids[0], Channel.EMAIL),
        "other creditor in the mac": opt_out.sign(
            TEST_SECRET, world.b.id, world.a.debtor_ids[0], Channel.EMAIL
        ),
        "garbage": "x" * 39,
        "truncated": good[:-3],
    }


@pytest.mark.parametrize("method", ["get", "post", "undo"])
async def test_a_forged_opt_out_link_stops_nothing(client, db, world, method):
    for name, token in _forgeries(world).items():
        if method == "get":
            answer = await client.get(f"/parar/{token}")
        elif method == "post":
            answer = await client.post(f"/parar/{token}", data={"List-Unsubscribe": "One-Click"})
        else:
            answer = await client.post(f"/parar/{token}/desfazer")
        assert answer.status_code == 404, (name, answer.status_code)
        assert "Este link não é válido" in answer.text, name
    assert await _rows(db, world) == []


async def test_undo_needs_the_same_signed_link(client, db, world):
    good = opt_out.sign(TEST_SECRET, world.a.id, world.a.debtor_ids[0], Channel.EMAIL)
    assert (await client.post(f"/parar/{good}")).status_code == 200
    (row,) = await _rows(db, world)
    assert row.debtor_id == world.a.debtor_ids[0] and row.channel == Channel.EMAIL
    forged = _forgeries(world)["altered mac"]
    assert (await client.post(f"/parar/{forged}/desfazer")).status_code == 404
    assert len(await _rows(db, world)) == 1
    assert (await client.post(f"/parar/{good}/desfazer")).status_code == 200
    assert await _rows(db, world) == []


async def test_the_opt_out_pages_are_not_cached_and_other_posts_still_need_csrf(client, world):
    good = opt_out.sign(TEST_SECRET, world.a.id, world.a.debtor_ids[0], Channel.SMS)
    page = await client.get(f"/parar/{good}")
    assert "no-store" in page.headers.get("cache-control", "")
    # The exemption is anchored to /parar/: the debtor site's own forms keep their check.
    assert (await client.post("/direitos/parar", data={"channel": "email"})).status_code == 403
