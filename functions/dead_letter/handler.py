"""dead_letter: end every job whose message ran out of retries as FAILED, with one apology email.

It reads the intake DLQ (S3 notifications for photos the validator kept failing on) and the
inference DLQ (`{"job_id"}` messages the worker kept failing on). The job's photo and face
are deleted, since nothing will use them any more.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.core import aws, keys
from functions.core.jobs import JobStatus, JobStore
from functions.core.messages import job_id_from_body
from functions.core.observability import logger, metrics, tracer
from functions.core.outcomes import finish
from functions.core.reasons import Reason
from functions.core.s3events import parse_notification
from functions.core.settings import Settings

SETTINGS = Settings.from_env()
STORE = JobStore(SETTINGS)
processor = BatchProcessor(event_type=EventType.SQS)


def job_ids_in(body: str) -> list[str]:
    """Return the job ids that a dead letter refers to, from either queue's message format."""
    message = json.loads(body)
    if isinstance(message, dict) and "job_id" in message:
        return [job_id_from_body(body)]
    found = []
    for created in parse_notification(body):
        job_id = keys.job_id_from_upload_key(created.key)
        if job_id is not None:
            found.append(job_id)
    return found


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    logger.thread_safe_clear_keys()
    try:
        job_ids = job_ids_in(record.body)
    except (ValueError, KeyError, TypeError):
        # A message we cannot read will never become readable: log it and let it go.
        logger.error("dropping an unreadable dead letter", extra={"message_id": record.message_id})
        return
    for job_id in job_ids:
        logger.warning("job ran out of retries; marking it FAILED", extra={"job_id": job_id})
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
        finish(STORE, SETTINGS, job_id, JobStatus.FAILED, reason=Reason.PROCESSING_FAILED.value)
        aws.client("s3").delete_objects(
            Bucket=SETTINGS.bucket,
            Delete={"Objects": [{"Key": keys.upload_key(job_id)}, {"Key": keys.face_key(job_id)}], "Quiet": True},
        )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
