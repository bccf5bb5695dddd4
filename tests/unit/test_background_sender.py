"""Jobs of a web process go out from a thread of their own, in order, never lost on close."""

from __future__ import annotations

import threading

from workers.sending import BackgroundTaskSender


class _Recorder:
    def __init__(self, fail_on: str = "") -> None:
        self.sent: list[tuple[str, tuple[str | int, ...]]] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on

    def send(self, actor_name: str, *args: str | int) -> None:
        self.threads.add(threading.current_thread().name)
        if actor_name == self.fail_on:
            raise ConnectionError("broker restarting")
        self.sent.append((actor_name, args))


def test_jobs_are_sent_in_order_off_the_callers_thread_and_close_sends_what_is_queued():
    recorder = _Recorder()
    sender = BackgroundTaskSender(recorder)
    for n in range(200):
        sender.send("payments.apply_event", str(n), n)
    sender.close()
    assert recorder.sent == [("payments.apply_event", (str(n), n)) for n in range(200)]
    assert recorder.threads == {"task-sender"}


def test_a_job_the_broker_refuses_does_not_stop_the_ones_after_it():
    recorder = _Recorder(fail_on="bad")
    sender = BackgroundTaskSender(recorder)
    sender.send("bad", "1")
    sender.send("good", "2")
    sender.close()
    assert recorder.sent == [("good", ("2",))]
