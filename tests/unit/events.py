"""Event factories: the events API Gateway and SQS deliver to the handlers."""

from __future__ import annotations

import json
from typing import Any

from selfie2anime.embedded.http_api import rest_event
from selfie2anime.embedded.lambda_runtime import LocalContext, sqs_event


def api_request(method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST proxy event; a non-string body is sent as JSON."""
    raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    return rest_event(method, path, {"Content-Type": "application/json", **(headers or {})}, data, host="api.test")


def sqs_bodies_event(bodies: list[str], *, prefix: str = "m", queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:test") -> dict[str, Any]:
    """An SQS event for message bodies that never were on a queue; message ids are `<prefix>-<index>`."""
    messages = [{"MessageId": f"{prefix}-{index}", "ReceiptHandle": "unused", "Body": body} for index, body in enumerate(bodies)]
    return sqs_event(messages, queue_arn)


def context(name: str = "test") -> LocalContext:
    return LocalContext(function_name=name)


def receive_all(queue_url: str, *, wait: int = 1) -> list[dict[str, Any]]:
    """Take every message currently on a queue (up to 50) off it, and return them.

    The messages are deleted, so none comes back later to surprise another test.
    """
    from functions.core import aws

    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    for _ in range(5):
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, AttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        sqs.delete_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(batch)]
        )
        messages.extend(batch)
    return messages


__all__ = ["api_request", "context", "receive_all", "sqs_bodies_event", "sqs_event"]
