"""Helpers that drive the embedded stack the way a browser does."""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Any

import requests

from selfie2anime.demo import create_job, upload


def submit(stack: Any, photo: bytes, *, email: str, content_type: str = "image/jpeg", filename: str = "photo.jpg") -> dict[str, Any]:
    """Create a job through the HTTP API and upload the photo with its presigned POST."""
    job = create_job(stack.api.url, email)
    upload(job, photo, filename, content_type)
    return job


def wait_notified(job: dict[str, Any], *, timeout: float = 120.0) -> dict[str, Any]:
    """Poll the status URL until the job's email was sent; return the last status document."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = requests.get(job["status_url"], timeout=30).json()
        if status.get("notified"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job['job_id']} not notified after {timeout} s; last status {status}")


def emails_for(stack: Any, job_id: str) -> list[EmailMessage]:
    """Every email moto's SES accepted for one job."""
    return [message for message in stack.outbox.sent() if message["X-Selfie2Anime-Job"] == job_id]  # type: ignore[misc]
