"""What Lambda's SQS event source mapping does, on one machine: poll, build the event, call the handler.

The event has the shape Lambda sends (Records with messageId, receiptHandle, body,
attributes, eventSource, eventSourceARN), and the poller honours the handler's
`batchItemFailures` the way Lambda does with ReportBatchItemFailures: it deletes the
other messages and leaves the failed ones on the queue for a retry.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.core import aws
from functions.core.observability import logger

Handler = Callable[[dict[str, Any], Any], dict[str, Any] | None]

# Powertools keeps the Lambda context's log keys in process-wide state. Lambda runs one
# invocation at a time per execution environment, so one lock here does the same and keeps
# each local invocation's log lines labelled with its own function.
_INVOCATION_LOCK = threading.Lock()


def invoke(handler: Handler, event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    """Call a handler as Lambda would, one invocation at a time, and clear its log keys after."""
    with _INVOCATION_LOCK:
        try:
            return handler(event, context)
        finally:
            logger.clear_state()


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    timeout_seconds: int = 60

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Build the event Lambda passes to a function for a batch of received SQS messages."""
    records = []
    for message in messages:
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": queue_arn.split(":")[3],
            }
        )
    return {"Records": records}


class SqsPoller:
    """Feeds one queue to one handler in a background thread."""

    def __init__(
        self,
        *,
        name: str,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        batch_size: int = 10,
        wait_seconds: int = 1,
        retry_delay_seconds: int = 1,
    ) -> None:
        self.name = name
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        # Lambda leaves a failed message invisible for the queue's whole visibility timeout.
        # On one machine a short delay keeps retries quick, and the receive count still rises.
        self.retry_delay_seconds = retry_delay_seconds
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._busy = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"poller-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.wait_seconds + 30)

    def pause(self) -> None:
        """Stop receiving after the batch in flight, which this call waits for."""
        self._paused.set()
        with self._busy:
            pass

    def resume(self) -> None:
        self._paused.clear()

    def poll_once(self) -> int:
        """Receive one batch, run the handler and settle the messages; return how many were received."""
        sqs = aws.client("sqs")
        response = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        failed_ids: set[str] = set()
        try:
            result = invoke(self.handler, sqs_event(messages, self.queue_arn), LocalContext(function_name=self.name)) or {}
            failed_ids = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - as in Lambda, a raising function fails the whole batch
            logger.exception("local function raised; the whole batch will be retried", extra={"function": self.name})
            failed_ids = {message["MessageId"] for message in messages}
        for message in messages:
            if message["MessageId"] in failed_ids:
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self.retry_delay_seconds
                )
            else:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._paused.is_set():
                self._stop.wait(0.1)
                continue
            try:
                with self._busy:
                    if not self._paused.is_set():
                        self.poll_once()
            except Exception:  # noqa: BLE001 - keep polling, as the event source mapping does
                logger.exception("local poller failed to receive", extra={"function": self.name})
                self._stop.wait(1)
