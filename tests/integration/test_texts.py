"""SMS and WhatsApp through the Twilio adapter, against a fake Twilio Messages API on
loopback that checks basic auth and the form like Twilio does; and the local channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from core.settings import TextSettings
from integrations.local_gateway import free_port
from integrations.texts import (
    LocalTextTransport,
    TextSendError,
    TwilioTransport,
    text_transport_for,
)
from tests.fake_twilio import (
    SID,
    SMS_FROM,
    TOKEN,
    WHATSAPP_FROM,
    FakeTwilio,
    serve_fake_twilio,
)


@pytest.fixture(scope="module")
def twilio_server() -> Iterator[FakeTwilio]:
    with serve_fake_twilio() as fake:
        yield fake


@pytest.fixture
def twilio(twilio_server: FakeTwilio) -> FakeTwilio:
    twilio_server.received.clear()
    twilio_server.answer = None
    twilio_server.delay = 0.0
    twilio_server.windows.clear()
    return twilio_server


def _settings(api_base: str, **changes: Any) -> TextSettings:
    values: dict[str, Any] = {
        "twilio_account_sid": SID,
        "twilio_auth_token": TOKEN,
        "sms_from": SMS_FROM,
        "whatsapp_from": WHATSAPP_FROM,
        "api_base": api_base,
        "timeout_seconds": 5,
    }
    return TextSettings(**(values | changes))


async def test_sms_reaches_twilio_with_number_sender_and_body(twilio: FakeTwilio):
    transport = TwilioTransport(_settings(twilio.api_base))
    sid = await transport.send_text("sms", "+5511987654321", "Sua parcela vence amanhã.", "m-1")
    assert sid.startswith("SM")
    assert twilio.received == [
        {"To": "+5511987654321", "From": SMS_FROM, "Body": "Sua parcela vence amanhã."}
    ]


async def test_whatsapp_prefixes_both_numbers(twilio: FakeTwilio):
    twilio.wrote_in("+5521998765432")  # inside the window: free text may go
    transport = TwilioTransport(_settings(twilio.api_base))
    sid = await transport.send_text("whatsapp", "+5521998765432", "Olá! Seu acordo: 3x", "m-2")
    assert sid.startswith("SM")
    assert twilio.received == [
        {
            "To": "whatsapp:+5521998765432",
            "From": f"whatsapp:{WHATSAPP_FROM}",
            "Body": "Olá! Seu acordo: 3x",
        }
    ]


async def test_brazilian_number_as_people_write_it_becomes_e164(twilio: FakeTwilio):
    transport = TwilioTransport(_settings(twilio.api_base))
    await transport.send_text("sms", "(11) 98765-4321", "Oi", "m-3")
    assert twilio.received[0]["To"] == "+5511987654321"


async def test_unparsable_number_is_refused_before_calling_twilio(twilio: FakeTwilio):
    transport = TwilioTransport(_settings(twilio.api_base))
    for number in ("não tenho", "123", "(11) 1234"):
        with pytest.raises(TextSendError) as caught:
            await transport.send_text("sms", number, "Oi", "m-4")
        assert caught.value.retryable is False
    assert twilio.received == []


async def test_invalid_number_answer_is_not_retryable_and_hides_the_number(twilio: FakeTwilio):
    twilio.answer = (
        400,
        {
            "code": 21211,
            "message": "The 'To' number +5511987654321 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )
    transport = TwilioTransport(_settings(twilio.api_base))
    with pytest.raises(TextSendError) as caught:
        await transport.send_text("sms", "+5511987654321", "Oi", "m-5")
    assert caught.value.retryable is False
    assert caught.value.code == 21211
    assert "400" in caught.value.message
    assert "987654321" not in caught.value.message


async def test_wrong_credentials_are_not_retryable(twilio: FakeTwilio):
    transport = TwilioTransport(_settings(twilio.api_base, twilio_auth_token="wrong"))
    with pytest.raises(TextSendError) as caught:
        await transport.send_text("sms", "+5511987654321", "Oi", "m-6")
    assert caught.value.retryable is False
    assert caught.value.code == 20003
    assert twilio.received == []


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limit_and_provider_outage_are_retryable(twilio: FakeTwilio, status: int):
    twilio.answer = (status, {"code": 20500, "message": "Service unavailable", "status": status})
    transport = TwilioTransport(_settings(twilio.api_base))
    with pytest.raises(TextSendError) as caught:
        await transport.send_text("whatsapp", "+5511987654321", "Oi", "m-7")
    assert caught.value.retryable is True


async def test_refused_connection_is_retryable():
    transport = TwilioTransport(_settings(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(TextSendError) as caught:
        await transport.send_text("sms", "+5511987654321", "Oi", "m-8")
    assert caught.value.retryable is True


async def test_timeout_is_retryable(twilio: FakeTwilio):
    twilio.delay = 1.0
    transport = TwilioTransport(_settings(twilio.api_base, timeout_seconds=0.2))
    with pytest.raises(TextSendError) as caught:
        await transport.send_text("sms", "+5511987654321", "Oi", "m-9")
    assert caught.value.retryable is True


async def test_missing_sender_or_unknown_channel_is_not_retryable(twilio: FakeTwilio):
    transport = TwilioTransport(_settings(twilio.api_base, whatsapp_from=""))
    for channel in ("whatsapp", "fax"):
        with pytest.raises(TextSendError) as caught:
            await transport.send_text(channel, "+5511987654321", "Oi", "m-10")
        assert caught.value.retryable is False
    assert twilio.received == []


async def test_logs_carry_neither_the_whole_number_nor_the_body(twilio: FakeTwilio):
    transport = TwilioTransport(_settings(twilio.api_base))
    with capture_logs() as logs:
        await transport.send_text("sms", "(11) 98765-4321", "segredo do acordo", "m-11")
        twilio.answer = (400, {"code": 21211, "message": "The 'To' number +5511987654321 bad"})
        with pytest.raises(TextSendError):
            await transport.send_text("sms", "(11) 98765-4321", "segredo do acordo", "m-12")
    assert logs
    text = repr(logs)
    assert "987654321" not in text and "98765-4321" not in text
    assert "segredo" not in text


async def test_local_channel_keeps_the_text_with_the_masked_number(tmp_path: Path):
    folder = tmp_path / "texts"
    transport = LocalTextTransport(folder)
    message_id = await transport.send_text("whatsapp", "+5511987654321", "segredo", "abc-123")
    assert message_id == "local-abc-123"
    (log_file,) = folder.iterdir()
    assert log_file.name == f"{datetime.now(UTC):%Y-%m-%d}.log"
    line = log_file.read_text(encoding="utf-8")
    assert "(11) *****-4321" in line and "local-abc-123" in line and "whatsapp" in line
    assert "987654321" not in line
    assert "segredo" in line  # the demo reads its one-time codes here


async def test_local_channel_without_folder_writes_nothing(tmp_path: Path):
    assert await LocalTextTransport().send_text("sms", "qualquer", "Oi", "r-1") == "local-r-1"


def test_twilio_is_chosen_only_with_account_and_token(tmp_path: Path):
    assert isinstance(text_transport_for(_settings("http://x"), tmp_path), TwilioTransport)
    local = text_transport_for(TextSettings(), tmp_path)
    assert isinstance(local, LocalTextTransport) and local.folder == tmp_path
    without_token = _settings("http://x", twilio_auth_token="")
    assert isinstance(text_transport_for(without_token, tmp_path), LocalTextTransport)
