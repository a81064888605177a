"""API: create a job, read its status, delete its data.

Routes, for API Gateway's REST API (the one that takes a WAF web ACL):
  POST   /jobs           {"email": str, "consent": true} -> 201 job id, status URL, delete token, upload form
  GET    /jobs/{job_id}  -> 200 status, reason and, when done, a short-lived link to the portrait
  DELETE /jobs/{job_id}  with header X-Delete-Token -> 204, every object and the record removed
Errors are JSON `{"error": code, "message": sentence}` and never carry exception text.
"""

from __future__ import annotations

import hmac
import json
import time
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from email_validator import EmailNotValidError, validate_email

from functions.api.uploads import presigned_upload
from functions.core import aws, keys
from functions.core.jobs import TERMINAL, JobNotFound, JobStatus, JobStore, email_hash, token_hash
from functions.core.observability import logger, metrics, tracer
from functions.core.reasons import explain
from functions.core.settings import Settings

SETTINGS = Settings.from_env()
STORE = JobStore(SETTINGS)
RESULT_LINK_SECONDS = 15 * 60
MAX_BODY_BYTES = 4096

_cors = CORSConfig(allow_origin=SETTINGS.web_origin, allow_headers=["X-Delete-Token"], max_age=600) if SETTINGS.web_origin else None
app = APIGatewayRestResolver(cors=_cors)


def _error(status: HTTPStatus, code: str, message: str) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type="application/json",
        body=json.dumps({"error": code, "message": message}),
    )


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status.value, content_type="application/json", body=json.dumps(body))


def _base_url() -> str:
    if SETTINGS.api_base_url:
        return SETTINGS.api_base_url
    context = app.current_event.request_context
    return f"https://{context.domain_name}/{context.stage}"


@app.post("/jobs")
@tracer.capture_method
def create_job() -> Response[str]:
    raw = app.current_event.body or ""
    if len(raw.encode("utf-8")) > MAX_BODY_BYTES:
        return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", "The request body is too large.")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return _error(HTTPStatus.BAD_REQUEST, "invalid_json", "The request body must be a JSON object.")
    if not isinstance(body, dict):
        return _error(HTTPStatus.BAD_REQUEST, "invalid_json", "The request body must be a JSON object.")

    address = body.get("email")
    if not isinstance(address, str) or not address.strip():
        return _error(HTTPStatus.BAD_REQUEST, "missing_email", "Please enter your email address.")
    address = address.strip()
    local_part = address.rpartition("@")[0]
    if not local_part.isascii():
        # NOTE: SES does not accept SMTPUTF8 addresses, so a non-ASCII local part could never be mailed.
        return _error(
            HTTPStatus.BAD_REQUEST,
            "unsupported_email",
            "We cannot send email to an address with non-ASCII characters before the @ sign. Please use another address.",
        )
    try:
        # Syntax only: a DNS lookup would slow every request and fail in closed networks.
        validated = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return _error(HTTPStatus.BAD_REQUEST, "invalid_email", "Please enter a valid email address.")
    if body.get("consent") is not True:
        return _error(
            HTTPStatus.BAD_REQUEST,
            "consent_required",
            "Please agree that we process your photo to make the portrait.",
        )

    # The ASCII form (an internationalised domain in punycode) is what SES can send to.
    normalized = validated.ascii_email or validated.normalized
    address_hash = email_hash(normalized)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    if STORE.count_recent_jobs(address_hash, day=day) > SETTINGS.jobs_per_email_per_day:
        # No hash of the address here: an unsalted hash of a known address can be matched.
        logger.info("daily quota reached")
        return _error(
            HTTPStatus.TOO_MANY_REQUESTS,
            "quota_exceeded",
            "You have made many portraits today. Please try again tomorrow.",
        )

    job_id = keys.new_job_id()
    delete_token = keys.new_delete_token()
    STORE.create(job_id=job_id, email=normalized, delete_token=delete_token)
    logger.thread_safe_append_keys(job_id=job_id)
    logger.info("job created")
    metrics.add_metric(name="JobsCreated", unit=MetricUnit.Count, value=1)
    return _json(
        HTTPStatus.CREATED,
        {
            "job_id": job_id,
            "status": JobStatus.PENDING_UPLOAD.value,
            "status_url": f"{_base_url()}/jobs/{job_id}",
            "delete_token": delete_token,
            "upload": presigned_upload(SETTINGS, job_id),
        },
    )


@app.get("/jobs/<job_id>")
@tracer.capture_method
def get_job(job_id: str) -> Response[str]:
    if not keys.is_job_id(job_id):
        return _not_found()
    try:
        job = STORE.get(job_id)
    except JobNotFound:
        return _not_found()
    outcome = job.outcome
    body: dict[str, Any] = {
        "job_id": job.job_id,
        "status": outcome.value,
        "notified": job.status is JobStatus.NOTIFIED,
        "history": job.history,
        "style": job.style,
    }
    if outcome in (JobStatus.REJECTED, JobStatus.FAILED):
        explanation = explain(job.reason)
        body.update(reason=job.reason, message=explanation.what, advice=explanation.advice)
    if outcome is JobStatus.DONE:
        body["result_url"] = aws.client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": SETTINGS.bucket, "Key": keys.result_key(job_id)},
            ExpiresIn=RESULT_LINK_SECONDS,
        )
        body["result_expires_in"] = RESULT_LINK_SECONDS
    body["finished"] = outcome in TERMINAL
    return _json(HTTPStatus.OK, body)


@app.delete("/jobs/<job_id>")
@tracer.capture_method
def delete_job(job_id: str) -> Response[str]:
    if not keys.is_job_id(job_id):
        return _not_found()
    token = app.current_event.headers.get("X-Delete-Token") or app.current_event.headers.get("x-delete-token") or ""
    try:
        job = STORE.get(job_id)
    except JobNotFound:
        return _not_found()
    if not job.delete_token_hash or not hmac.compare_digest(job.delete_token_hash, token_hash(token)):
        return _error(HTTPStatus.FORBIDDEN, "invalid_token", "This delete link is not valid for this job.")
    s3 = aws.client("s3")
    s3.delete_objects(
        Bucket=SETTINGS.bucket,
        Delete={"Objects": [{"Key": key} for key in keys.job_keys(job_id)], "Quiet": True},
    )
    STORE.delete(job_id)
    logger.info("job data deleted", extra={"job_id": job_id})
    metrics.add_metric(name="JobsDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.NO_CONTENT.value)


def _not_found() -> Response[str]:
    return _error(HTTPStatus.NOT_FOUND, "job_not_found", "No job with this id exists; it may have expired or been deleted.")


@app.not_found
def _no_route(error: NotFoundError) -> Response[str]:
    # Registered for Powertools' NotFoundError, so an unknown path or method is not caught
    # by the catch-all handler below as if it were a failure.
    return _error(HTTPStatus.NOT_FOUND, "route_not_found", "There is no such API endpoint. See POST /jobs and GET or DELETE /jobs/{job_id}.")


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[str]:
    logger.exception("unhandled error in the API")
    return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side. Please try again.")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.thread_safe_clear_keys()
    return app.resolve(event, context)
