"""notify: send the one email a finished job ends with, then mark the job NOTIFIED.

Input: an SQS batch of `{"job_id"}` messages from the notify queue. Duplicates are
harmless: a job already NOTIFIED is skipped, and a lease on the record keeps two
concurrent deliveries from both sending. SES's MessageRejected is final and is recorded
on the job; throttling is retried by botocore with backoff, then by SQS.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from functions.core import aws, keys
from functions.core.jobs import TERMINAL, Job, JobNotFound, JobStatus, JobStore, TransitionRejected
from functions.core.mail import Outcome, build_email
from functions.core.messages import job_id_from_body
from functions.core.observability import logger, metrics, tracer
from functions.core.settings import Settings

SETTINGS = Settings.from_env()
STORE = JobStore(SETTINGS)
processor = BatchProcessor(event_type=EventType.SQS)

# Longer than one SES call with botocore's retries, shorter than the queue's visibility timeout.
LEASE_SECONDS = 120
# SigV4 presigned URLs live at most 7 days.
MAX_LINK_SECONDS = 7 * 86400
# SES errors that no retry can fix.
FINAL_SES_ERRORS = frozenset({"MessageRejected", "BadRequestException", "MailFromDomainNotVerifiedException"})


class NotificationBusy(RuntimeError):
    """Raised when another delivery of the same job's message holds the sending lease."""


def _outcome(job: Job) -> Outcome:
    outcome = job.outcome
    delete_url = None
    if SETTINGS.web_origin and job.delete_token:
        # The fragment never reaches a server, so the token stays out of access logs.
        delete_url = f"{SETTINGS.web_origin}/#job={job.job_id}&delete={job.delete_token}"
    if outcome is not JobStatus.DONE:
        return Outcome(job_id=job.job_id, status=outcome, reason=job.reason, delete_url=delete_url)

    s3 = aws.client("s3")
    key = keys.result_key(job.job_id)
    portrait = s3.get_object(Bucket=SETTINGS.bucket, Key=key)["Body"].read()
    link_seconds = min(SETTINGS.result_days * 86400, MAX_LINK_SECONDS)
    # NOTE: a URL signed with temporary role credentials stops working when they expire,
    # which can be sooner than link_seconds; the status page always signs a fresh one.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": SETTINGS.bucket, "Key": key}, ExpiresIn=link_seconds)
    return Outcome(
        job_id=job.job_id,
        status=outcome,
        portrait_png=portrait,
        portrait_url=url,
        link_days=link_seconds // 86400,
        delete_url=delete_url,
        preview_style=job.style == "preview",
    )


def notify_job(job_id: str) -> None:
    """Send the job's email unless it was sent already; raise to have SQS retry later."""
    logger.thread_safe_append_keys(job_id=job_id)
    try:
        job = STORE.get(job_id)
    except JobNotFound:
        logger.info("job no longer exists; no email to send")
        return
    if job.status is JobStatus.NOTIFIED:
        logger.info("email already sent for this job")
        return
    if job.status not in TERMINAL:
        logger.error("notify message for an unfinished job; dropping it", extra={"status": job.status.value})
        return
    if not STORE.claim_notification(job_id, lease_seconds=LEASE_SECONDS):
        raise NotificationBusy(f"job {job_id}: another delivery is sending this email")

    notify_error = None
    if job.email:
        message = build_email(_outcome(job), sender=SETTINGS.sender, recipient=job.email)
        request: dict[str, Any] = {
            "FromEmailAddress": SETTINGS.sender,
            "Destination": {"ToAddresses": [job.email]},
            "Content": {"Raw": {"Data": message.as_bytes()}},
        }
        if SETTINGS.configuration_set:
            request["ConfigurationSetName"] = SETTINGS.configuration_set
        try:
            aws.client("sesv2").send_email(**request)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code not in FINAL_SES_ERRORS:
                # Throttling that outlasted botocore's retries, or an outage: SQS delivers the message again.
                logger.warning("SES send failed; the message will be retried", extra={"error_code": code})
                STORE.release_notification(job_id)
                raise
            notify_error = code
            logger.warning("SES rejected the email; not retrying", extra={"error_code": code})
    else:
        notify_error = "NoAddress"
        logger.error("job has no email address to send to")

    extra = {"notify_error": notify_error} if notify_error else None
    try:
        STORE.transition(job_id, JobStatus.NOTIFIED, extra=extra, remove=("email", "delete_token", "notify_lease_until"))
    except (JobNotFound, TransitionRejected):
        logger.info("job changed while its email was sent; leaving it as it is")
        return
    metrics.add_metric(name="EmailsSent" if notify_error is None else "EmailsRejected", unit=MetricUnit.Count, value=1)
    # From job creation to the email, as the person waits for it; the operations dashboard graphs it.
    metrics.add_metric(name="JobLatency", unit=MetricUnit.Seconds, value=round(time.time() - job.created_at, 3))
    logger.info("job notified", extra={"outcome": job.outcome.value, "notify_error": notify_error})


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    logger.thread_safe_clear_keys()
    try:
        job_id = job_id_from_body(record.body)
    except ValueError:
        logger.error("dropping an unreadable notify message", extra={"message_id": record.message_id})
        return
    notify_job(job_id)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
