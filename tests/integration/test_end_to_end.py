"""The whole pipeline on the embedded stack: HTTP API, presigned POST, validation, worker, email."""

from __future__ import annotations

import io
import re

import pytest
import requests
from PIL import Image

from tests.integration.pipeline import emails_for, submit, wait_notified

pytestmark = pytest.mark.e2e


def test_portrait_job_ends_with_one_email(stack, portrait_jpeg):
    job = submit(stack, portrait_jpeg, email="Ada.Lovelace@example.com")

    status = wait_notified(job)

    assert status["status"] == "DONE"
    assert list(status["history"]) == ["PENDING_UPLOAD", "VALIDATING", "QUEUED", "DONE", "NOTIFIED"]
    portrait_bytes = requests.get(status["result_url"], timeout=30).content
    portrait = Image.open(io.BytesIO(portrait_bytes))
    assert portrait.size == (256, 256)
    assert portrait.mode == "RGB"

    emails = emails_for(stack, job["job_id"])
    assert len(emails) == 1
    message = emails[0]
    assert message["To"] == "Ada.Lovelace@example.com"
    assert message["Subject"] == "Your anime portrait is ready"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Here is your anime portrait" in text
    assert "preview style: made with a simple cartoon filter, not the anime GAN" in text
    cid = re.search(r'src="cid:([^"]+)"', html).group(1)
    images = [part for part in message.walk() if part.get_content_maintype() == "image"]
    assert len(images) == 1
    assert images[0]["Content-ID"].strip("<>") == cid
    assert images[0].get_payload(decode=True) == portrait_bytes


def test_cat_photo_is_rejected_with_one_email(stack, cat_jpeg):
    job = submit(stack, cat_jpeg, email="cat.owner@example.com")

    status = wait_notified(job)

    assert status["status"] == "REJECTED"
    assert status["reason"] == "no_face"
    assert "result_url" not in status
    emails = emails_for(stack, job["job_id"])
    assert len(emails) == 1
    assert emails[0]["To"] == "cat.owner@example.com"
    text = emails[0].get_body(preferencelist=("plain",)).get_content()
    assert "We could not find a face in your photo." in text
    assert not [part for part in emails[0].walk() if part.get_content_maintype() == "image"]


def test_uploads_and_faces_are_deleted_after_the_job(stack, portrait_jpeg):
    from functions.core import aws

    job = submit(stack, portrait_jpeg, email="tidy@example.com")
    wait_notified(job)

    listing = aws.client("s3").list_objects_v2(Bucket=stack.resources.bucket)
    job_keys = [item["Key"] for item in listing.get("Contents", []) if job["job_id"] in item["Key"]]
    assert job_keys == [f"results/{job['job_id']}.png"]
