"""A fake of Twilio's Messages API on loopback: checks basic auth and the form like Twilio
does, and, like WhatsApp, refuses free text to a number outside the 24-hour window the
person opened by writing in (only an approved template, ``ContentSid``, goes there). With
``StatusCallback`` it prepares the status callbacks Twilio would post, signed with the
auth token (sent, delivered, and read on WhatsApp), for the test to deliver."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from integrations.texts import twilio_signature

WINDOW = timedelta(hours=24)
FREEFORM_REFUSED = (
    "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template."
)

SID = "AC" + "0" * 32
TOKEN = "twilio-test-token"
SMS_FROM = "+5511900000001"
WHATSAPP_FROM = "+5511900000002"
MESSAGES_PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


@dataclass
class FakeTwilio:
    """What the fake received, and the answer it gives next (Twilio's success by default)."""

    port: int
    received: list[dict[str, str]] = field(default_factory=list)
    answer: tuple[int, dict[str, Any]] | None = None
    delay: float = 0.0
    # WhatsApp's customer-service window: when each number last wrote in, on the clock
    # the test gives (the régua's frozen clock, or real time).
    windows: dict[str, datetime] = field(default_factory=dict)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # Status callbacks Twilio would post (URL, form, X-Twilio-Signature), signed with the
    # auth token like the real ones; the test delivers them to the app.
    callbacks: list[tuple[str, dict[str, str], str]] = field(default_factory=list)

    def _callback(self, url: str, sid: str, status: str) -> None:
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": SID}
        self.callbacks.append((url, form, twilio_signature(TOKEN, url, form)))

    def wrote_in(self, number: str) -> None:
        """The person wrote to the WhatsApp sender from ``number`` (E.164)."""
        self.windows[number] = self.now()

    def outside_window(self, to: str) -> bool:
        opened = self.windows.get(to.removeprefix("whatsapp:"))
        return opened is None or not opened <= self.now() < opened + WINDOW

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class TwilioHandler(http.server.BaseHTTPRequestHandler):
    fake: FakeTwilio

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        # The client may have given up first (the timeout test).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def do_POST(self) -> None:
        fake = self.fake
        answer, delay = fake.answer, fake.delay
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if self.headers.get("authorization") != expected:
            self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        if self.path != MESSAGES_PATH:
            self._reply(404, {"code": 20404, "message": "Not found", "status": 404})
            return
        if self.headers.get("content-type") != "application/x-www-form-urlencoded":
            self._reply(400, {"code": 21000, "message": "Bad form", "status": 400})
            return
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if not {"To", "From"} <= form.keys() or not {"Body", "ContentSid"} & form.keys():
            self._reply(400, {"code": 21604, "message": "A field is required", "status": 400})
            return
        fake.received.append(form)
        if delay:
            time.sleep(delay)
        if answer is not None:
            self._reply(*answer)
            return
        whatsapp = form["To"].startswith("whatsapp:")
        if whatsapp and "ContentSid" not in form and fake.outside_window(form["To"]):
            # Free text outside the 24-hour window (Twilio reports it as error 63016).
            self._reply(400, {"code": 63016, "message": FREEFORM_REFUSED, "status": 400})
            return
        sid = "SM" + uuid.uuid4().hex
        if form.get("StatusCallback"):
            statuses = ("sent", "delivered", "read") if whatsapp else ("sent", "delivered")
            for status in statuses:
                fake._callback(form["StatusCallback"], sid, status)
        self._reply(
            201,
            {
                "sid": sid,
                "account_sid": SID,
                "status": "queued",
                "to": form["To"],
                "from": form["From"],
                "body": form.get("Body", ""),
                "num_segments": "1",
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "date_created": "Thu, 05 Nov 2026 12:00:00 +0000",
                "uri": f"{MESSAGES_PATH[:-5]}/SM0.json",
            },
        )

    def log_message(self, *_: Any) -> None:
        pass


@contextlib.contextmanager
def serve_fake_twilio() -> Iterator[FakeTwilio]:
    """The fake on a free loopback port, for as long as the block runs."""

    class Handler(TwilioHandler):
        pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.fake = FakeTwilio(port=server.server_port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Handler.fake
    finally:
        server.shutdown()
        server.server_close()
