"""The presigned POST that lets a browser upload one photo straight to S3."""

from __future__ import annotations

from typing import Any

from functions.core import aws, keys
from functions.core.settings import Settings


def presigned_upload(settings: Settings, job_id: str) -> dict[str, Any]:
    """Return `{"url", "fields", "expires_in"}` for a POST of exactly `uploads/<job_id>`.

    The policy pins the key, limits the size to 1 byte .. max_upload_bytes and requires a
    Content-Type starting with `image/`. The browser adds the `Content-Type` field and the
    file; every other field is fixed here, and botocore adds a condition for each of them.
    NOTE: moto enforces none of these conditions, so the validator checks size and bytes again.
    """
    conditions: list[Any] = [
        ["content-length-range", 1, settings.max_upload_bytes],
        ["starts-with", "$Content-Type", "image/"],
    ]
    post = aws.client("s3").generate_presigned_post(
        Bucket=settings.bucket,
        Key=keys.upload_key(job_id),
        Conditions=conditions,
        ExpiresIn=settings.upload_url_seconds,
    )
    return {"url": post["url"], "fields": post["fields"], "expires_in": settings.upload_url_seconds}
