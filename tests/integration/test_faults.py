"""Faults in the embedded stack: a stopped or killed worker, a poison message, duplicate deliveries."""

from __future__ import annotations

import json
import signal

import pytest
import requests

from tests.integration.pipeline import emails_for, submit, wait_notified
from tests.integration.workers import in_flight, queue_depth, start_worker_process, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def external_worker(stack):
    """The stack with its in-process worker stopped, so a worker process can take its place."""
    stack.stop_worker()
    processes = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    if stack.worker is None:
        stack.start_worker()


def wait_status(job, status, *, timeout=60.0):
    def reached():
        return requests.get(job["status_url"], timeout=30).json()["status"] == status

    wait_until(reached, timeout=timeout, message=f"job {job['job_id']} is {status}")


def test_sigterm_finishes_batch_in_flight(stack, external_worker, portrait_jpeg):
    jobs = [submit(stack, portrait_jpeg, email=f"term{index}@example.com") for index in range(2)]
    for job in jobs:
        wait_status(job, "QUEUED")
    process = start_worker_process(seconds_per_batch=3, visibility=30)
    external_worker.append(process)
    wait_until(lambda: in_flight(stack.resources.inference.url) == 2, timeout=30, message="the worker received both jobs")

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    for job in jobs:
        assert wait_notified(job)["status"] == "DONE"
        assert len(emails_for(stack, job["job_id"])) == 1
    assert in_flight(stack.resources.inference.url) == 0


def test_killed_worker_loses_no_job(stack, external_worker, portrait_jpeg):
    jobs = [submit(stack, portrait_jpeg, email=f"kill{index}@example.com") for index in range(3)]
    for job in jobs:
        wait_status(job, "QUEUED")
    process = start_worker_process(seconds_per_batch=30, visibility=3)
    external_worker.append(process)
    wait_until(lambda: in_flight(stack.resources.inference.url) == 3, timeout=30, message="the worker received the jobs")

    process.kill()
    process.wait()
    stack.start_worker()

    for job in jobs:
        status = wait_notified(job, timeout=60)
        assert status["status"] == "DONE"
        assert list(status["history"]).count("DONE") == 1
        assert len(emails_for(stack, job["job_id"])) == 1


def test_poison_message_ends_failed_with_apology(stack):
    from functions.core import aws
    from functions.core.jobs import JobStatus, JobStore
    from functions.core.settings import Settings

    # A job whose aligned face is missing: every delivery fails until the dead-letter queue.

    store = JobStore(Settings.from_env())
    created = requests.post(f"{stack.api.url}/jobs", json={"email": "poison2@example.com", "consent": True}, timeout=30).json()
    job_id = created["job_id"]
    store.transition(job_id, JobStatus.VALIDATING)
    store.transition(job_id, JobStatus.QUEUED)
    aws.client("sqs").send_message(QueueUrl=stack.resources.inference.url, MessageBody=json.dumps({"job_id": job_id}))

    status = wait_notified(created, timeout=90)

    assert status["status"] == "FAILED"
    assert status["reason"] == "processing_failed"
    [message] = emails_for(stack, job_id)
    assert "Something went wrong on our side" in message.get_body(preferencelist=("plain",)).get_content()


def test_duplicate_s3_event_sends_one_email(stack, portrait_jpeg):
    from functions.core import aws

    job = submit(stack, portrait_jpeg, email="twice@example.com")
    wait_notified(job)
    key = f"uploads/{job['job_id']}"
    duplicate = {
        "Records": [
            {"eventName": "ObjectCreated:Post", "s3": {"bucket": {"name": stack.resources.bucket}, "object": {"key": key, "size": len(portrait_jpeg)}}}
        ]
    }

    aws.client("sqs").send_message(QueueUrl=stack.resources.intake.url, MessageBody=json.dumps(duplicate))
    wait_until(lambda: queue_depth(stack.resources.intake.url) == 0, timeout=30, message="the duplicate was consumed")
    stack.outbox.flush()

    assert len(emails_for(stack, job["job_id"])) == 1


def test_upload_after_job_finished_changes_nothing(stack, portrait_jpeg, cat_jpeg):
    from functions.core import aws
    from selfie2anime.demo import upload

    job = submit(stack, portrait_jpeg, email="late@example.com")
    wait_notified(job)

    upload(job, cat_jpeg, "second.jpg", "image/jpeg")
    wait_until(lambda: queue_depth(stack.resources.intake.url) == 0, timeout=30, message="the late upload was consumed")
    stack.outbox.flush()

    status = requests.get(job["status_url"], timeout=30).json()
    assert status["status"] == "DONE"
    assert len(emails_for(stack, job["job_id"])) == 1
    listing = aws.client("s3").list_objects_v2(Bucket=stack.resources.bucket, Prefix=f"uploads/{job['job_id']}")
    assert listing.get("KeyCount", 0) == 0


def test_upload_after_delete_is_discarded(stack, portrait_jpeg):
    from functions.core import aws
    from selfie2anime.demo import create_job, upload

    job = create_job(stack.api.url, "deleted@example.com")
    deleted = requests.delete(job["status_url"], headers={"X-Delete-Token": job["delete_token"]}, timeout=30)
    assert deleted.status_code == 204

    upload(job, portrait_jpeg, "after-delete.jpg", "image/jpeg")
    wait_until(lambda: queue_depth(stack.resources.intake.url) == 0, timeout=30, message="the upload was consumed")

    assert requests.get(job["status_url"], timeout=30).status_code == 404
    listing = aws.client("s3").list_objects_v2(Bucket=stack.resources.bucket, Prefix=f"uploads/{job['job_id']}")
    assert listing.get("KeyCount", 0) == 0
    assert emails_for(stack, job["job_id"]) == []
