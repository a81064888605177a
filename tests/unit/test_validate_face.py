"""validate_face against moto: S3 notification in, aligned face and inference message or rejection out."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from functions.core import keys
from tests.unit.events import context, receive_all, sqs_bodies_event, sqs_event


@pytest.fixture
def env(paused_stack):
    from functions.core import aws
    from functions.core.jobs import JobStore
    from functions.core.settings import Settings
    from functions.validate_face.handler import lambda_handler

    class Env:
        stack = paused_stack
        store = JobStore(Settings.from_env())
        s3 = aws.client("s3")
        bucket = paused_stack.resources.bucket

        def new_job(self) -> str:
            job_id = keys.new_job_id()
            self.store.create(job_id=job_id, email="validate@example.com", delete_token="t")
            return job_id

        def upload(self, job_id: str, data: bytes) -> None:
            self.s3.put_object(Bucket=self.bucket, Key=keys.upload_key(job_id), Body=data)

        def intake_event(self) -> dict:
            messages = [m for m in receive_all(paused_stack.resources.intake.url) if "s3:TestEvent" not in m["Body"]]
            return sqs_event(messages, paused_stack.resources.intake.arn)

        def handle(self, event: dict) -> dict:
            return lambda_handler(event, context("validate_face"))

    return Env()


def test_accepted_photo_is_aligned_and_queued(env, portrait_jpeg):
    job_id = env.new_job()
    env.upload(job_id, portrait_jpeg)

    result = env.handle(env.intake_event())

    assert result["batchItemFailures"] == []
    assert env.store.get(job_id).status == "QUEUED"
    face = Image.open(io.BytesIO(env.s3.get_object(Bucket=env.bucket, Key=keys.face_key(job_id))["Body"].read()))
    assert face.size == (256, 256)
    inference = receive_all(env.stack.resources.inference.url)
    assert [json.loads(m["Body"]) for m in inference] == [{"job_id": job_id}]
    assert env.s3.list_objects_v2(Bucket=env.bucket, Prefix=keys.upload_key(job_id)).get("KeyCount") == 0


def test_cat_photo_is_rejected_with_no_face(env, cat_jpeg):
    job_id = env.new_job()
    env.upload(job_id, cat_jpeg)

    env.handle(env.intake_event())

    job = env.store.get(job_id)
    assert job.status == "REJECTED"
    assert job.reason == "no_face"
    assert [json.loads(m["Body"]) for m in receive_all(env.stack.resources.notify.url)] == [{"job_id": job_id}]
    assert receive_all(env.stack.resources.inference.url, wait=0) == []


def test_oversized_upload_is_rejected_before_decoding(env):
    job_id = env.new_job()
    env.upload(job_id, b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024))

    env.handle(env.intake_event())

    job = env.store.get(job_id)
    assert job.status == "REJECTED"
    assert job.reason == "file_too_large"


def test_text_sent_as_jpeg_is_not_an_image(env):
    job_id = env.new_job()
    env.upload(job_id, b"hello, this is not a photo\n" * 10)

    env.handle(env.intake_event())

    assert env.store.get(job_id).reason == "not_an_image"


def test_upload_without_job_is_deleted(env, portrait_jpeg):
    job_id = keys.new_job_id()
    env.upload(job_id, portrait_jpeg)

    result = env.handle(env.intake_event())

    assert result["batchItemFailures"] == []
    assert env.s3.list_objects_v2(Bucket=env.bucket, Prefix=keys.upload_key(job_id)).get("KeyCount") == 0


def test_duplicate_event_keeps_one_outcome(env, cat_jpeg):
    job_id = env.new_job()
    env.upload(job_id, cat_jpeg)
    event = env.intake_event()

    env.handle(event)
    result = env.handle(event)

    assert result["batchItemFailures"] == []
    job = env.store.get(job_id)
    assert job.status == "REJECTED"
    assert list(job.history).count("REJECTED") == 1


def test_unreadable_record_fails_alone(env, cat_jpeg):
    job_id = env.new_job()
    env.upload(job_id, cat_jpeg)
    event = env.intake_event()
    broken = dict(event["Records"][0], messageId="broken-1", body="{not json")
    event["Records"].append(broken)

    result = env.handle(event)

    assert result["batchItemFailures"] == [{"itemIdentifier": "broken-1"}]
    assert env.store.get(job_id).status == "REJECTED"


def test_test_event_is_skipped(env):
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": env.bucket})
    event = sqs_bodies_event([body], prefix="t", queue_arn=env.stack.resources.intake.arn)

    assert env.handle(event) == {"batchItemFailures": []}


@pytest.mark.parametrize("key", ["uploads/my photo+1.jpg", "uploads/été ☀.jpg", "uploads/a+b c%20d.jpg"])
def test_odd_keys_are_decoded_and_removed(env, portrait_jpeg, key):
    env.s3.put_object(Bucket=env.bucket, Key=key, Body=portrait_jpeg)

    result = env.handle(env.intake_event())

    assert result["batchItemFailures"] == []
    # Deleting the object proves the handler decoded the URL-encoded key exactly.
    assert env.s3.list_objects_v2(Bucket=env.bucket, Prefix=key).get("KeyCount") == 0
