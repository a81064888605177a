"""Twenty mixed uploads, duplicated deliveries and a worker killed mid-batch: one outcome and one email each."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.integration.pipeline import emails_for, submit, wait_notified
from tests.integration.workers import in_flight, queue_depth, start_worker_process, wait_until

pytestmark = pytest.mark.e2e


def variant(photo: bytes, index: int) -> bytes:
    """A slightly different copy of a photo (mirrored, brighter or darker), so uploads differ."""
    image = Image.open(io.BytesIO(photo)).convert("RGB")
    if index % 2:
        image = ImageOps.mirror(image)
    factor = 0.85 + 0.05 * (index % 4)
    array = np.clip(np.asarray(image, dtype=np.float32) * factor, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_mixed_batch_with_killed_worker(stack, portrait_jpeg, cat_jpeg):
    from functions.core import aws

    stack.stop_worker()
    worker = start_worker_process(seconds_per_batch=30, visibility=4, batch_size=10)
    try:
        expected: dict[str, tuple[str, str | None]] = {}
        jobs = []
        for index in range(8):
            job = submit(stack, variant(portrait_jpeg, index), email=f"good{index}@example.com")
            expected[job["job_id"]] = ("DONE", None)
            jobs.append(job)
        for index in range(5):
            job = submit(stack, cat_jpeg, email=f"cat{index}@example.com")
            expected[job["job_id"]] = ("REJECTED", "no_face")
            jobs.append(job)
        for index in range(3):
            job = submit(stack, b"%PDF-1.4 not a photo\n" * 20, email=f"pdf{index}@example.com")
            expected[job["job_id"]] = ("REJECTED", "not_an_image")
            jobs.append(job)
        for index in range(2):
            job = submit(stack, b"", email=f"empty{index}@example.com")
            expected[job["job_id"]] = ("REJECTED", "empty_file")
            jobs.append(job)
        # Two jobs whose photo is uploaded twice through the same form: two S3 events each.
        for index in range(2):
            job = submit(stack, portrait_jpeg, email=f"double{index}@example.com")
            from selfie2anime.demo import upload

            upload(job, portrait_jpeg, "again.jpg", "image/jpeg")
            expected[job["job_id"]] = ("DONE", None)
            jobs.append(job)
        # And the same S3 notification delivered twice more for one good job.
        duplicate = {"Records": [{"eventName": "ObjectCreated:Post", "s3": {"bucket": {"name": stack.resources.bucket},
                                                                              "object": {"key": f"uploads/{jobs[0]['job_id']}"}}}]}
        for _ in range(2):
            aws.client("sqs").send_message(QueueUrl=stack.resources.intake.url, MessageBody=json.dumps(duplicate))
        assert len(jobs) == 20

        # The worker process takes a batch, then dies in the middle of it.
        wait_until(lambda: in_flight(stack.resources.inference.url) > 0, timeout=60, message="the worker received a batch")
        worker.kill()
        worker.wait()
        stack.start_worker()

        for job in jobs:
            status = wait_notified(job, timeout=180)
            want_status, want_reason = expected[job["job_id"]]
            assert status["status"] == want_status, job["job_id"]
            assert status.get("reason") == want_reason, job["job_id"]
            terminal = [name for name in status["history"] if name in ("DONE", "REJECTED", "FAILED")]
            assert terminal == [want_status]
        stack.outbox.flush()
        for job in jobs:
            assert len(emails_for(stack, job["job_id"])) == 1, job["job_id"]
        for url in (stack.resources.inference.url, stack.resources.inference.dead_letter_url, stack.resources.intake.dead_letter_url):
            wait_until(lambda url=url: queue_depth(url) == 0, timeout=30, message=f"{url} is empty")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if stack.worker is None:
            stack.start_worker()
