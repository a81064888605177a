"""Steps that move a job forward and hand it to the next queue.

Each step is safe to repeat: when the status change was already made by an earlier
delivery of the same message, the step sends the follow-up message again instead of
failing, so a crash between the write and the send loses nothing. The consumers of those
messages are idempotent on the job id.
"""

from __future__ import annotations

import json
from typing import Any

from functions.core import aws
from functions.core.jobs import Job, JobNotFound, JobStatus, JobStore, TransitionRejected
from functions.core.observability import logger
from functions.core.settings import Settings


def _send(queue_url: str, job_id: str) -> None:
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps({"job_id": job_id}))


def queue_for_inference(store: JobStore, settings: Settings, job_id: str, *, extra: dict[str, Any] | None = None) -> bool:
    """Mark the job QUEUED and send it to the inference queue; return False if the job is gone or past that step."""
    try:
        store.transition(job_id, JobStatus.QUEUED, extra=extra)
    except JobNotFound:
        logger.warning("job record missing; not queueing it", extra={"job_id": job_id})
        return False
    except TransitionRejected as rejected:
        if rejected.current is not JobStatus.QUEUED:
            logger.info("job already past validation", extra={"job_id": job_id, "status": str(rejected.current)})
            return False
        logger.info("job already QUEUED; sending its inference message again", extra={"job_id": job_id})
    _send(settings.inference_queue_url, job_id)
    return True


def finish(store: JobStore, settings: Settings, job_id: str, status: JobStatus, *, reason: str | None = None,
           extra: dict[str, Any] | None = None) -> Job | None:
    """Move the job to a terminal status and queue its one email.

    Returns the job record, or None when the job no longer exists or already ended in a
    different way (then nothing is sent, because that outcome has its own email).
    """
    try:
        job = store.transition(job_id, status, reason=reason, extra=extra)
    except JobNotFound:
        logger.warning("job record missing; nothing to finish", extra={"job_id": job_id, "status": str(status)})
        return None
    except TransitionRejected as rejected:
        if rejected.current is not status:
            logger.info(
                "job already ended differently; keeping that outcome",
                extra={"job_id": job_id, "requested": str(status), "status": str(rejected.current)},
            )
            return None
        logger.info("job already finished; sending its notify message again", extra={"job_id": job_id})
        job = store.get(job_id)
    _send(settings.notify_queue_url, job_id)
    return job
