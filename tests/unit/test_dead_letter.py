"""dead_letter against moto: jobs whose messages ran out of retries end FAILED, once."""

from __future__ import annotations

import json

import pytest

from functions.core import keys
from tests.unit.events import context, receive_all, sqs_bodies_event


@pytest.fixture
def env(paused_stack):
    from functions.core import aws
    from functions.core.jobs import JobStore
    from functions.core.settings import Settings
    from functions.dead_letter.handler import lambda_handler

    class Env:
        stack = paused_stack
        store = JobStore(Settings.from_env())
        s3 = aws.client("s3")

        def job(self) -> str:
            job_id = keys.new_job_id()
            self.store.create(job_id=job_id, email="dlq@example.com", delete_token="t")
            return job_id

        def handle(self, *bodies: str) -> dict:
            return lambda_handler(sqs_bodies_event(list(bodies), prefix="d"), context("dead_letter"))

    return Env()


def test_inference_dead_letter_fails_job(env):
    from functions.core.jobs import JobStatus

    job_id = env.job()
    env.store.transition(job_id, JobStatus.VALIDATING)
    env.store.transition(job_id, JobStatus.QUEUED)
    env.s3.put_object(Bucket=env.stack.resources.bucket, Key=keys.face_key(job_id), Body=b"face")

    result = env.handle(json.dumps({"job_id": job_id}))

    assert result == {"batchItemFailures": []}
    job = env.store.get(job_id)
    assert job.status == "FAILED"
    assert job.reason == "processing_failed"
    assert [json.loads(m["Body"]) for m in receive_all(env.stack.resources.notify.url)] == [{"job_id": job_id}]
    assert env.s3.list_objects_v2(Bucket=env.stack.resources.bucket, Prefix=keys.face_key(job_id)).get("KeyCount") == 0


def test_intake_dead_letter_fails_job(env):
    job_id = env.job()
    body = json.dumps({"Records": [{"eventName": "ObjectCreated:Post",
                                    "s3": {"bucket": {"name": env.stack.resources.bucket}, "object": {"key": f"uploads%2F{job_id}"}}}]})

    env.handle(body)

    assert env.store.get(job_id).status == "FAILED"


def test_dead_letter_for_finished_job_changes_nothing(env):
    from functions.core.jobs import JobStatus

    job_id = env.job()
    env.store.transition(job_id, JobStatus.REJECTED, reason="no_face")

    env.handle(json.dumps({"job_id": job_id}))

    job = env.store.get(job_id)
    assert job.status == "REJECTED"
    assert job.reason == "no_face"
    assert receive_all(env.stack.resources.notify.url, wait=0) == []


def test_unreadable_dead_letter_is_dropped(env):
    assert env.handle("garbage") == {"batchItemFailures": []}
