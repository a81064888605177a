"""notify against moto's SES v2: one email per job, MessageRejected recorded, duplicates ignored."""

from __future__ import annotations

import json

import pytest

from functions.core import keys
from tests.unit.events import context, sqs_bodies_event


@pytest.fixture
def env(paused_stack):
    from functions.core import aws
    from functions.core.jobs import JobStatus, JobStore
    from functions.core.settings import Settings
    from functions.notify.handler import lambda_handler

    class Env:
        stack = paused_stack
        store = JobStore(Settings.from_env())

        def rejected_job(self, address: str = "notify@example.com") -> str:
            job_id = keys.new_job_id()
            self.store.create(job_id=job_id, email=address, delete_token="secret-token")
            self.store.transition(job_id, JobStatus.REJECTED, reason="multiple_faces")
            return job_id

        def notify(self, *job_ids: str) -> dict:
            bodies = [json.dumps({"job_id": job_id}) for job_id in job_ids]
            return lambda_handler(sqs_bodies_event(bodies, queue_arn=paused_stack.resources.notify.arn), context("notify"))

        def emails(self, job_id: str) -> list:
            return [m for m in paused_stack.outbox.sent() if m["X-Selfie2Anime-Job"] == job_id]

    env = Env()
    env.sesv2 = aws.client("sesv2")
    return env


def test_rejected_job_gets_one_email(env):
    job_id = env.rejected_job()

    result = env.notify(job_id)

    assert result == {"batchItemFailures": []}
    [message] = env.emails(job_id)
    assert message["To"] == "notify@example.com"
    assert "more than one face" in message.get_body(preferencelist=("plain",)).get_content()
    job = env.store.get(job_id)
    assert job.status == "NOTIFIED"
    assert job.email is None
    assert job.delete_token is None


def test_email_carries_delete_link(env):
    job_id = env.rejected_job()

    env.notify(job_id)

    text = env.emails(job_id)[0].get_body(preferencelist=("plain",)).get_content()
    assert f"#job={job_id}&delete=secret-token" in text


def test_duplicate_messages_send_one_email(env):
    job_id = env.rejected_job()

    env.notify(job_id, job_id)
    env.notify(job_id)

    assert len(env.emails(job_id)) == 1


def test_message_rejected_is_final(env):
    from functions.core.settings import Settings

    sender = Settings.from_env().sender
    job_id = env.rejected_job()
    env.sesv2.delete_email_identity(EmailIdentity=sender)
    try:
        result = env.notify(job_id)
    finally:
        env.sesv2.create_email_identity(EmailIdentity=sender)

    assert result == {"batchItemFailures": []}
    job = env.store.get(job_id)
    assert job.status == "NOTIFIED"
    assert job.notify_error == "MessageRejected"
    assert env.emails(job_id) == []


def test_unfinished_job_gets_no_email(env):
    job_id = keys.new_job_id()
    env.store.create(job_id=job_id, email="early@example.com", delete_token="t")

    env.notify(job_id)

    assert env.emails(job_id) == []
    assert env.store.get(job_id).status == "PENDING_UPLOAD"
