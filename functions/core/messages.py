"""The `{"job_id": ...}` message bodies of the inference and notify queues."""

from __future__ import annotations

import json

from functions.core import keys


def job_id_from_body(body: str) -> str:
    """Return the job id of a queue message body.

    Raises:
        ValueError: the body is not a JSON object with a well-formed `job_id`.
    """
    message = json.loads(body)
    job_id = message.get("job_id") if isinstance(message, dict) else None
    if not isinstance(job_id, str) or not keys.is_job_id(job_id):
        raise ValueError("the message has no valid job_id")
    return job_id
