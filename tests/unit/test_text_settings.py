"""The SMS/WhatsApp (Twilio) settings as read from the environment."""

from __future__ import annotations

from core.settings import Settings, TextSettings


def test_texts_stay_local_without_twilio_credentials():
    settings = Settings.from_env({})
    assert settings.text == TextSettings()
    assert settings.text.api_base == "https://api.twilio.com"
    assert settings.text.timeout_seconds == 10
    assert not settings.text.enabled
    assert Settings().text == TextSettings()


def test_twilio_settings_are_read_from_the_environment():
    settings = Settings.from_env(
        {
            "TWILIO_ACCOUNT_SID": "AC123",
            "TWILIO_AUTH_TOKEN": "token",
            "TWILIO_SMS_FROM": "+5511900000001",
            "TWILIO_WHATSAPP_FROM": "+5511900000002",
            "TWILIO_API_BASE": "http://127.0.0.1:9999/",
        }
    )
    assert settings.text == TextSettings(
        twilio_account_sid="AC123",
        twilio_auth_token="token",
        sms_from="+5511900000001",
        whatsapp_from="+5511900000002",
        api_base="http://127.0.0.1:9999",
    )
    assert settings.text.enabled


def test_twilio_needs_both_account_and_token():
    assert not Settings.from_env({"TWILIO_ACCOUNT_SID": "AC123"}).text.enabled
    assert not Settings.from_env({"TWILIO_AUTH_TOKEN": "token"}).text.enabled
    assert Settings.from_env({"TWILIO_API_BASE": ""}).text.api_base == "https://api.twilio.com"
