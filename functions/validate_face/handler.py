"""validate_face: check each uploaded photo, align its face, and queue it for the generator.

Input: an SQS batch whose bodies are S3 ObjectCreated notifications for `uploads/<job_id>`.
A photo that breaks a rule ends the job REJECTED with a reason code; an error on our side
fails only that record, so SQS retries it and, after the last retry, the intake DLQ marks
the job FAILED.
"""

from __future__ import annotations

import functools
import io
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.core import aws, keys
from functions.core.faces import FaceDetector, FaceRules, detector_from_name, prepare_face
from functions.core.images import ImageRejected
from functions.core.jobs import TERMINAL, JobNotFound, JobStatus, JobStore, TransitionRejected
from functions.core.observability import logger, metrics, tracer
from functions.core.outcomes import finish, queue_for_inference
from functions.core.reasons import Reason
from functions.core.s3events import ObjectCreated, parse_notification
from functions.core.settings import Settings

SETTINGS = Settings.from_env()
STORE = JobStore(SETTINGS)
RULES = FaceRules(min_face_fraction=SETTINGS.min_face_fraction)
processor = BatchProcessor(event_type=EventType.SQS)

# Uploads can arrive a little after the form's expiry while S3 finishes receiving them.
EXPIRY_GRACE_SECONDS = 120


@functools.cache
def detector() -> FaceDetector:
    """Build the configured face detector once per process (the built-in one loads an ONNX model)."""
    rekognition = aws.client("rekognition") if SETTINGS.face_detector == "rekognition" else None
    return detector_from_name(SETTINGS.face_detector, rekognition_client=rekognition)


def _reject(job_id: str, reason: Reason, detail: str) -> None:
    logger.info("photo rejected", extra={"job_id": job_id, "reason": reason.value, "detail": detail})
    metrics.add_metric(name="PhotosRejected", unit=MetricUnit.Count, value=1)
    finish(STORE, SETTINGS, job_id, JobStatus.REJECTED, reason=reason.value)


def validate_upload(created: ObjectCreated) -> None:
    """Validate one uploaded object and move its job on; raise only for errors worth retrying."""
    job_id = keys.job_id_from_upload_key(created.key)
    if job_id is None:
        # Only presigned forms write here, each for one job's key, so this object belongs to no job.
        logger.warning("deleting an upload whose key is not uploads/<job_id>", extra={"key_length": len(created.key)})
        if created.key.startswith(keys.UPLOADS_PREFIX):
            aws.client("s3").delete_object(Bucket=SETTINGS.bucket, Key=created.key)
        return
    logger.thread_safe_append_keys(job_id=job_id)
    try:
        job = STORE.transition(job_id, JobStatus.VALIDATING)
    except JobNotFound:
        # No record: never created, expired, or deleted by its owner. No one gets an email, so delete the photo.
        logger.warning("upload for a job that does not exist; deleting the object")
        aws.client("s3").delete_object(Bucket=SETTINGS.bucket, Key=created.key)
        return
    except TransitionRejected as rejected:
        _resume(job_id, rejected.current)
        return

    s3 = aws.client("s3")
    head = s3.head_object(Bucket=SETTINGS.bucket, Key=created.key)
    size = int(head["ContentLength"])
    uploaded_at = head["LastModified"].timestamp()
    if uploaded_at > job.created_at + SETTINGS.upload_url_seconds + EXPIRY_GRACE_SECONDS:
        _reject(job_id, Reason.UPLOAD_EXPIRED, f"uploaded {uploaded_at - job.created_at:.0f} s after creation")
    elif size == 0:
        _reject(job_id, Reason.EMPTY_FILE, "object is empty")
    elif size > SETTINGS.max_upload_bytes:
        # NOTE: S3 enforces the POST policy's content-length-range, moto does not; check again here.
        _reject(job_id, Reason.FILE_TOO_LARGE, f"object has {size} bytes")
    else:
        data = s3.get_object(Bucket=SETTINGS.bucket, Key=created.key)["Body"].read()
        _prepare_and_queue(job_id, data, etag=head.get("ETag"))
    s3.delete_object(Bucket=SETTINGS.bucket, Key=created.key)


def _prepare_and_queue(job_id: str, data: bytes, *, etag: str | None) -> None:
    try:
        prepared = prepare_face(data, detector=detector(), rules=RULES, max_pixels=SETTINGS.max_image_pixels)
    except ImageRejected as rejected:
        _reject(job_id, rejected.reason, rejected.detail)
        return
    buffer = io.BytesIO()
    prepared.image.save(buffer, format="PNG")
    aws.client("s3").put_object(
        Bucket=SETTINGS.bucket, Key=keys.face_key(job_id), Body=buffer.getvalue(), ContentType="image/png"
    )
    logger.info(
        "face accepted",
        extra={"format": prepared.detected_format, "source_size": list(prepared.source_size), "score": round(prepared.face.score, 3)},
    )
    metrics.add_metric(name="PhotosAccepted", unit=MetricUnit.Count, value=1)
    queue_for_inference(STORE, SETTINGS, job_id, extra={"upload_etag": etag or ""})


def _resume(job_id: str, current: JobStatus | None) -> None:
    """Redo the hand-off of a job that an earlier delivery already validated.

    The earlier delivery may have died between the status write and the message to the next
    queue; sending that message again is safe because its consumer is idempotent.
    """
    logger.info("upload for a job past validation", extra={"status": str(current)})
    if current is JobStatus.QUEUED:
        queue_for_inference(STORE, SETTINGS, job_id)
    elif current in TERMINAL:
        finish(STORE, SETTINGS, job_id, current)
    # Past validation the photo is no longer needed, whether this is the same upload or a later one.
    aws.client("s3").delete_object(Bucket=SETTINGS.bucket, Key=keys.upload_key(job_id))


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    logger.thread_safe_clear_keys()
    """Handle one SQS message, which may carry several S3 records."""
    for created in parse_notification(record.body):
        if created.bucket != SETTINGS.bucket:
            logger.warning("ignoring a notification for another bucket")
            continue
        validate_upload(created)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
