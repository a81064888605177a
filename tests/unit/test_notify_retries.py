"""notify against a throttling SES v2 endpoint on 127.0.0.1: retried with backoff, never lost."""

from __future__ import annotations

import base64
import email
import json
import threading
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from functions.core import keys
from tests.unit.events import context, sqs_bodies_event


class FakeSes:
    """An SES v2 SendEmail endpoint that throttles the first `throttle` requests."""

    def __init__(self, throttle: int) -> None:
        self.throttle = throttle
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                if len(fake.requests) <= fake.throttle:
                    payload, status = b'{"message": "Maximum sending rate exceeded."}', 429
                    self.send_response(status)
                    self.send_header("x-amzn-ErrorType", "TooManyRequestsException")
                else:
                    payload = b'{"MessageId": "fake-message-id"}'
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def fake_ses(paused_stack, monkeypatch):
    from functions.core import aws

    servers = []

    def start(throttle: int) -> FakeSes:
        fake = FakeSes(throttle)
        fake.thread.start()
        servers.append(fake)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", fake.url)
        aws.reset_clients()
        return fake

    yield start
    monkeypatch.delenv("AWS_ENDPOINT_URL_SESV2", raising=False)
    aws.reset_clients()
    for fake in servers:
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture
def rejected_job(paused_stack):
    from functions.core.jobs import JobStatus, JobStore
    from functions.core.settings import Settings

    store = JobStore(Settings.from_env())
    job_id = keys.new_job_id()
    store.create(job_id=job_id, email="throttled@example.com", delete_token="t")
    store.transition(job_id, JobStatus.REJECTED, reason="no_face")
    return store, job_id


def notify_event(job_id: str) -> dict:
    return sqs_bodies_event([json.dumps({"job_id": job_id})], prefix="n")


def test_throttled_send_is_retried(fake_ses, rejected_job):
    from functions.notify.handler import lambda_handler

    store, job_id = rejected_job
    fake = fake_ses(throttle=2)

    result = lambda_handler(notify_event(job_id), context("notify"))

    assert result == {"batchItemFailures": []}
    assert len(fake.requests) == 3
    sent = email.message_from_bytes(base64.b64decode(fake.requests[-1]["Content"]["Raw"]["Data"]), policy=default)
    assert sent["To"] == "throttled@example.com"
    assert store.get(job_id).status == "NOTIFIED"


def test_lasting_throttling_fails_record_for_retry(fake_ses, rejected_job):
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from functions.notify.handler import lambda_handler

    store, job_id = rejected_job
    fake = fake_ses(throttle=100)

    # A batch whose every record failed raises, so Lambda (and the local poller) retry all of it.
    with pytest.raises(BatchProcessingError):
        lambda_handler(notify_event(job_id), context("notify"))

    assert len(fake.requests) == 5
    assert store.get(job_id).status == "REJECTED"
    assert store.claim_notification(job_id, lease_seconds=60) is True
