"""Job records in DynamoDB and the forward-only state machine that guards them.

Every status change is a conditional write: a job only moves forward, so a duplicate
event, a retried message or a late worker cannot send a second email or bring back a
job that was deleted.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from functions.core import aws
from functions.core.settings import Settings


class JobStatus(StrEnum):
    PENDING_UPLOAD = "PENDING_UPLOAD"
    VALIDATING = "VALIDATING"
    QUEUED = "QUEUED"
    DONE = "DONE"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    NOTIFIED = "NOTIFIED"


TERMINAL = frozenset({JobStatus.DONE, JobStatus.REJECTED, JobStatus.FAILED})

# The statuses each status may be entered from. VALIDATING may be entered again so that a
# validation retried after a crash can run once more.
ALLOWED_FROM: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.VALIDATING: frozenset({JobStatus.PENDING_UPLOAD, JobStatus.VALIDATING}),
    JobStatus.QUEUED: frozenset({JobStatus.VALIDATING}),
    JobStatus.DONE: frozenset({JobStatus.QUEUED}),
    JobStatus.REJECTED: frozenset({JobStatus.PENDING_UPLOAD, JobStatus.VALIDATING}),
    JobStatus.FAILED: frozenset({JobStatus.PENDING_UPLOAD, JobStatus.VALIDATING, JobStatus.QUEUED}),
    JobStatus.NOTIFIED: TERMINAL,
}


class JobNotFound(LookupError):
    """Raised when no record exists for a job id (never created, expired or deleted)."""


class TransitionRejected(RuntimeError):
    """Raised when a job is not in a status that the requested change may start from."""

    def __init__(self, job_id: str, target: JobStatus, current: JobStatus | None) -> None:
        super().__init__(f"job {job_id}: cannot move to {target} from {current}")
        self.job_id = job_id
        self.target = target
        self.current = current


def email_hash(address: str) -> str:
    """Return a stable hash of an email address; case variants of one address hash alike."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Job:
    """One job record as stored in the table."""

    job_id: str
    status: JobStatus
    created_at: float
    history: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    email: str | None = None
    email_hash: str | None = None
    delete_token_hash: str | None = None
    delete_token: str | None = None
    style: str | None = None
    notify_error: str | None = None
    expires_at: int | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Job:
        return cls(
            job_id=item["job_id"],
            status=JobStatus(item["status"]),
            created_at=float(item["created_at"]),
            history={key: float(value) for key, value in item.get("history", {}).items()},
            reason=item.get("reason"),
            email=item.get("email"),
            email_hash=item.get("email_hash"),
            delete_token_hash=item.get("delete_token_hash"),
            delete_token=item.get("delete_token"),
            style=item.get("style"),
            notify_error=item.get("notify_error"),
            expires_at=int(item["expires_at"]) if "expires_at" in item else None,
        )

    @property
    def outcome(self) -> JobStatus:
        """The terminal status, also once the job is NOTIFIED."""
        if self.status is JobStatus.NOTIFIED:
            for status in (JobStatus.DONE, JobStatus.REJECTED, JobStatus.FAILED):
                if status.value in self.history:
                    return status
        return self.status


def _decimal(value: float) -> Any:
    # DynamoDB numbers must be Decimal; going through a string keeps the float's digits.
    from decimal import Decimal

    return Decimal(repr(round(value, 3)))


class JobStore:
    """Reads and writes job records, with every status change made conditional."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._table = aws.dynamodb_table(settings.jobs_table)

    def create(self, *, job_id: str, email: str, delete_token: str, now: float | None = None) -> Job:
        """Store a new job in PENDING_UPLOAD; raise if the id is already taken."""
        now = time.time() if now is None else now
        job = Job(
            job_id=job_id,
            status=JobStatus.PENDING_UPLOAD,
            created_at=now,
            history={JobStatus.PENDING_UPLOAD.value: now},
            email=email,
            email_hash=email_hash(email),
            delete_token_hash=token_hash(delete_token),
            delete_token=delete_token,
            expires_at=int(now) + self._settings.job_ttl_days * 86400,
        )
        self._table.put_item(
            Item={
                "job_id": job.job_id,
                "status": job.status.value,
                "created_at": _decimal(now),
                "history": {key: _decimal(value) for key, value in job.history.items()},
                "email": email,
                "email_hash": job.email_hash,
                "delete_token_hash": job.delete_token_hash,
                # Kept in clear only until the email that carries the delete link is sent.
                "delete_token": delete_token,
                "expires_at": job.expires_at,
            },
            ConditionExpression="attribute_not_exists(job_id)",
        )
        return job

    def get(self, job_id: str) -> Job:
        """Return the job; raise JobNotFound when there is no record."""
        item = self._table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        if item is None or "status" not in item:
            raise JobNotFound(job_id)
        return Job.from_item(item)

    def transition(
        self,
        job_id: str,
        target: JobStatus,
        *,
        reason: str | None = None,
        extra: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
        now: float | None = None,
    ) -> Job:
        """Move a job to `target` if its current status allows it, and return the new record.

        Raises:
            JobNotFound: the record does not exist (or was deleted).
            TransitionRejected: the job's status does not allow the change. Its `current`
                attribute is the job's status, so callers can treat a repeated step as done.
        """
        now = time.time() if now is None else now
        target = JobStatus(target)
        allowed = sorted(status.value for status in ALLOWED_FROM[target])
        names = {"#status": "status", "#history": "history", "#target": target.value}
        values: dict[str, Any] = {":target": target.value, ":now": _decimal(now)}
        placeholders = []
        for index, status in enumerate(allowed):
            values[f":from{index}"] = status
            placeholders.append(f":from{index}")
        sets = ["#status = :target", "#history.#target = :now"]
        if reason is not None:
            names["#reason"] = "reason"
            values[":reason"] = reason
            sets.append("#reason = :reason")
        for index, (key, value) in enumerate((extra or {}).items()):
            names[f"#extra{index}"] = key
            values[f":extra{index}"] = value
            sets.append(f"#extra{index} = :extra{index}")
        expression = "SET " + ", ".join(sets)
        if remove:
            for index, key in enumerate(remove):
                names[f"#remove{index}"] = key
            expression += " REMOVE " + ", ".join(f"#remove{index}" for index in range(len(remove)))
        try:
            response = self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists(job_id) AND #status IN ({', '.join(placeholders)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item")
            if not old:
                raise JobNotFound(job_id) from None
            current = _deserialize_status(old)
            raise TransitionRejected(job_id, target, current) from None
        return Job.from_item(response["Attributes"])

    def set_attributes(self, job_id: str, values: dict[str, Any]) -> None:
        """Set plain attributes on an existing job without changing its status."""
        names = {f"#a{index}": key for index, key in enumerate(values)}
        placeholders = {f":a{index}": value for index, value in enumerate(values.values())}
        expression = "SET " + ", ".join(f"#a{index} = :a{index}" for index in range(len(values)))
        try:
            self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(job_id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise JobNotFound(job_id) from None
            raise

    def claim_notification(self, job_id: str, *, lease_seconds: int, now: float | None = None) -> bool:
        """Claim the right to send this job's email for a while; return False while another sender has it.

        The lease stops two concurrent deliveries of one notification from sending two emails,
        yet lets a retry send the email when the first sender died before it could.
        """
        now = time.time() if now is None else now
        try:
            self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET notify_lease_until = :until",
                ConditionExpression=(
                    "attribute_exists(job_id) AND #status IN (:done, :rejected, :failed) "
                    "AND (attribute_not_exists(notify_lease_until) OR notify_lease_until < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":until": _decimal(now + lease_seconds),
                    ":now": _decimal(now),
                    ":done": JobStatus.DONE.value,
                    ":rejected": JobStatus.REJECTED.value,
                    ":failed": JobStatus.FAILED.value,
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_notification(self, job_id: str) -> None:
        """Give up the sending lease after a failed send, so that the next delivery can try at once."""
        try:
            self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="REMOVE notify_lease_until",
                ConditionExpression="attribute_exists(job_id)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def count_recent_jobs(self, address_hash: str, *, day: str) -> int:
        """Count one more job for an address on a UTC day and return the new total."""
        response = self._table.update_item(
            Key={"job_id": f"quota#{address_hash}#{day}"},
            UpdateExpression="ADD job_count :one SET expires_at = if_not_exists(expires_at, :expires)",
            ExpressionAttributeValues={":one": 1, ":expires": int(time.time()) + 2 * 86400},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["job_count"])

    def delete(self, job_id: str) -> None:
        self._table.delete_item(Key={"job_id": job_id})


def _deserialize_status(item: dict[str, Any]) -> JobStatus | None:
    # ReturnValuesOnConditionCheckFailure comes back in the low-level format even through
    # the Table resource: {"status": {"S": "DONE"}}.
    raw = item.get("status")
    if isinstance(raw, dict):
        raw = raw.get("S")
    return JobStatus(raw) if raw else None


def notify_message(job_id: str) -> str:
    return json.dumps({"job_id": job_id})
