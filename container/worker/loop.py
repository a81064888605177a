"""The worker's queue loop: receive a batch of jobs, render their portraits, store, finish.

A message is deleted only after its job's portrait is stored and the job is DONE (or when
the job needs no work any more). A job that fails is left on the queue, so SQS delivers it
again after the visibility timeout and, after the last retry, moves it to the dead-letter
queue, which ends the job FAILED with an apology email.
"""

from __future__ import annotations

import io
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from container.model.stylizer import PREVIEW_REASON_NO_WEIGHTS, STYLE_PREVIEW, Stylizer
from container.worker.heartbeat import VisibilityHeartbeat
from container.worker.protection import TaskProtection
from functions.core import aws, keys
from functions.core.jobs import JobNotFound, JobStatus, JobStore
from functions.core.messages import job_id_from_body
from functions.core.observability import worker_logger as logger
from functions.core.outcomes import finish
from functions.core.settings import Settings


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """Polling and batching settings of the worker loop."""

    batch_size: int = 4
    wait_seconds: int = 20
    visibility_timeout: int = 300
    heartbeat_seconds: float = 60.0
    retry_delay_seconds: int = 30
    idle_exit_seconds: float | None = None


@dataclass
class BatchReport:
    """Outcome of one batch, for logs and tests."""

    received: int = 0
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Worker:
    """Polls the inference queue and runs the stylizer on each batch."""

    def __init__(self, settings: Settings, stylizer: Stylizer, config: WorkerConfig, *, protection: TaskProtection | None = None) -> None:
        self.settings = settings
        self.stylizer = stylizer
        self.config = config
        self.store = JobStore(settings)
        self.protection = protection or TaskProtection()
        self.stopping = threading.Event()

    def install_signal_handlers(self) -> None:
        """Stop after the batch in flight on SIGTERM or SIGINT (ECS sends SIGTERM before it kills a task)."""
        def request_stop(signum: int, _frame: object) -> None:
            logger.info("stop requested; finishing the batch in flight", extra={"signal": signal.Signals(signum).name})
            self.stopping.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    def run(self) -> None:
        """Process batches until asked to stop (or idle for idle_exit_seconds, when set)."""
        logger.info("worker started", extra={"style": self.stylizer.style, "batch_size": self.config.batch_size})
        if self.stylizer.style == STYLE_PREVIEW:
            if getattr(self.stylizer, "reason", None) == PREVIEW_REASON_NO_WEIGHTS:
                logger.warning(f"degraded mode: {self.stylizer.description}; see README")
            else:
                logger.info(f"running the {self.stylizer.description}")
        idle_since = time.monotonic()
        while not self.stopping.is_set():
            report = self.run_once()
            if report.received:
                idle_since = time.monotonic()
            elif self.config.idle_exit_seconds is not None and time.monotonic() - idle_since > self.config.idle_exit_seconds:
                logger.info("idle; exiting")
                break
        logger.info("worker stopped")

    def run_once(self) -> BatchReport:
        """Receive one batch and process it."""
        sqs = aws.client("sqs")
        response = sqs.receive_message(
            QueueUrl=self.settings.inference_queue_url,
            MaxNumberOfMessages=min(self.config.batch_size, 10),
            WaitTimeSeconds=self.config.wait_seconds,
            VisibilityTimeout=self.config.visibility_timeout,
            AttributeNames=["ApproximateReceiveCount"],
        )
        messages = response.get("Messages", [])
        report = BatchReport(received=len(messages))
        if not messages:
            return report
        self.protection.set(True)
        try:
            receipts = {message["MessageId"]: message["ReceiptHandle"] for message in messages}
            with VisibilityHeartbeat(
                sqs,
                self.settings.inference_queue_url,
                receipts,
                timeout=self.config.visibility_timeout,
                interval=self.config.heartbeat_seconds,
            ) as heartbeat:
                self._process(messages, report, heartbeat)
        finally:
            self.protection.set(False)
        logger.info(
            "batch finished",
            extra={"received": report.received, "done": len(report.done), "skipped": len(report.skipped), "failed": len(report.failed)},
        )
        return report

    def _process(self, messages: list[dict[str, Any]], report: BatchReport, heartbeat: VisibilityHeartbeat) -> None:
        sqs = aws.client("sqs")
        s3 = aws.client("s3")
        runnable: dict[str, tuple[Image.Image, list[dict[str, Any]]]] = {}
        finished: list[dict[str, Any]] = []

        for message in messages:
            try:
                job_id = job_id_from_body(message["Body"])
            except ValueError:
                logger.error("deleting an unreadable inference message", extra={"message_id": message["MessageId"]})
                finished.append(message)
                continue
            if job_id in runnable:
                # The same job twice in one batch (an at-least-once duplicate): render it once.
                runnable[job_id][1].append(message)
                continue
            try:
                job = self.store.get(job_id)
            except JobNotFound:
                logger.info("job no longer exists; dropping its message", extra={"job_id": job_id})
                report.skipped.append(job_id)
                finished.append(message)
                continue
            if job.status is not JobStatus.QUEUED:
                logger.info("job not waiting for inference; dropping its message", extra={"job_id": job_id, "status": job.status.value})
                report.skipped.append(job_id)
                finished.append(message)
                continue
            try:
                data = s3.get_object(Bucket=self.settings.bucket, Key=keys.face_key(job_id))["Body"].read()
                face = Image.open(io.BytesIO(data)).convert("RGB")
            except Exception:  # noqa: BLE001 - one bad job must not stop the batch
                logger.exception("could not read the aligned face; leaving the message for a retry", extra={"job_id": job_id})
                report.failed.append(job_id)
                self._give_back(sqs, [message], heartbeat)
                continue
            runnable[job_id] = (face, [message])

        self._delete(sqs, finished, heartbeat)
        if not runnable:
            return

        job_ids = list(runnable)
        started = time.monotonic()
        try:
            portraits = self.stylizer.stylize([runnable[job_id][0] for job_id in job_ids])
        except Exception:  # noqa: BLE001 - the messages return after the visibility timeout
            logger.exception("the generator failed on a batch; leaving its messages for a retry", extra={"job_ids": job_ids})
            report.failed.extend(job_ids)
            self._give_back(sqs, [message for job_id in job_ids for message in runnable[job_id][1]], heartbeat)
            return
        seconds = time.monotonic() - started
        logger.info("batch rendered", extra={"jobs": len(job_ids), "seconds": round(seconds, 3), "style": self.stylizer.style})

        for job_id, portrait in zip(job_ids, portraits, strict=True):
            messages_for_job = runnable[job_id][1]
            try:
                buffer = io.BytesIO()
                portrait.save(buffer, format="PNG")
                s3.put_object(Bucket=self.settings.bucket, Key=keys.result_key(job_id), Body=buffer.getvalue(), ContentType="image/png")
                finished_job = finish(self.store, self.settings, job_id, JobStatus.DONE, extra={"style": self.stylizer.style})
                s3.delete_object(Bucket=self.settings.bucket, Key=keys.face_key(job_id))
                if finished_job is None:
                    # Deleted by its owner or failed meanwhile: keep no portrait of it.
                    s3.delete_object(Bucket=self.settings.bucket, Key=keys.result_key(job_id))
            except Exception:  # noqa: BLE001 - leave this job's message for a retry, go on with the rest
                logger.exception("could not store the portrait; leaving the message for a retry", extra={"job_id": job_id})
                report.failed.append(job_id)
                self._give_back(sqs, messages_for_job, heartbeat)
                continue
            logger.info("portrait stored", extra={"job_id": job_id})
            report.done.append(job_id)
            self._delete(sqs, messages_for_job, heartbeat)

    def _give_back(self, sqs: Any, messages: list[dict[str, Any]], heartbeat: VisibilityHeartbeat) -> None:
        """Stop extending failed messages and let SQS deliver them again after the retry delay.

        Each delivery counts towards the queue's maxReceiveCount, so a job that fails every
        time reaches the dead-letter queue, which ends it FAILED with an apology email.
        """
        for message in messages:
            heartbeat.release(message["MessageId"])
            try:
                sqs.change_message_visibility(
                    QueueUrl=self.settings.inference_queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.config.retry_delay_seconds,
                )
            except Exception:  # noqa: BLE001 - the message still returns, after the full visibility timeout
                logger.exception("could not shorten a failed message's visibility", extra={"message_id": message["MessageId"]})

    def _delete(self, sqs: Any, messages: list[dict[str, Any]], heartbeat: VisibilityHeartbeat) -> None:
        for message in messages:
            heartbeat.release(message["MessageId"])
        for start in range(0, len(messages), 10):
            chunk = messages[start:start + 10]
            entries = [{"Id": message["MessageId"], "ReceiptHandle": message["ReceiptHandle"]} for message in chunk]
            response = sqs.delete_message_batch(QueueUrl=self.settings.inference_queue_url, Entries=entries)
            for failed in response.get("Failed", []):
                # The message will come back; the job is already DONE, so it will be dropped then.
                logger.warning("could not delete a message", extra={"message_id": failed.get("Id"), "code": failed.get("Code")})
