"""Job ids and the S3 keys derived from them."""

from __future__ import annotations

import re
import secrets

UPLOADS_PREFIX = "uploads/"
FACES_PREFIX = "faces/"
RESULTS_PREFIX = "results/"

# Side in pixels of the aligned face stored under face_key, which is the generator's input size.
FACE_SIZE = 256

# 24 random bytes in URL-safe base64: 192 bits, 32 characters, no padding.
_JOB_ID_BYTES = 24
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")


def new_job_id() -> str:
    """Return a fresh random job id (192 bits, URL-safe)."""
    return secrets.token_urlsafe(_JOB_ID_BYTES)


def new_delete_token() -> str:
    """Return a fresh random secret that authorises deleting one job's data."""
    return secrets.token_urlsafe(32)


def is_job_id(value: str) -> bool:
    return bool(JOB_ID_PATTERN.fullmatch(value))


def upload_key(job_id: str) -> str:
    return f"{UPLOADS_PREFIX}{job_id}"


def face_key(job_id: str) -> str:
    return f"{FACES_PREFIX}{job_id}.png"


def result_key(job_id: str) -> str:
    return f"{RESULTS_PREFIX}{job_id}.png"


def job_keys(job_id: str) -> list[str]:
    """Return every object key that can hold data of this job."""
    return [upload_key(job_id), face_key(job_id), result_key(job_id)]


def job_id_from_upload_key(key: str) -> str | None:
    """Return the job id for an `uploads/<job_id>` key, or None for any other key."""
    if not key.startswith(UPLOADS_PREFIX):
        return None
    candidate = key[len(UPLOADS_PREFIX):]
    return candidate if is_job_id(candidate) else None
