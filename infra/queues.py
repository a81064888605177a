"""A work queue with its dead-letter queue, and the visibility rule for Lambda consumers."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import QueueConfig

DEAD_LETTER_RETENTION = Duration.days(14)
# AWS recommends a visibility timeout of at least six times the function timeout for SQS
# event sources, so that a batch retried after throttling is not delivered twice.
LAMBDA_VISIBILITY_FACTOR = 6


class VisibilityTimeoutTooShort(ValueError):
    """Raised at synthesis when a Lambda-fed queue would redeliver messages still being processed."""


def require_lambda_visibility(*, queue_name: str, visibility_seconds: int, function_timeout_seconds: int) -> None:
    """Raise VisibilityTimeoutTooShort unless visibility >= 6 x the consuming function's timeout."""
    minimum = LAMBDA_VISIBILITY_FACTOR * function_timeout_seconds
    if visibility_seconds < minimum:
        raise VisibilityTimeoutTooShort(
            f"queue {queue_name}: visibility timeout {visibility_seconds} s is shorter than "
            f"{LAMBDA_VISIBILITY_FACTOR} x the consuming function's timeout ({function_timeout_seconds} s); "
            f"set its visibility_timeout_seconds to at least {minimum} in cdk.json"
        )


class WorkQueue(Construct):
    """An SQS queue that moves a message to its dead-letter queue after `max_receive_count` receives.

    Both queues use SQS-managed encryption (SSE-SQS), which S3 event notifications can write
    to without a KMS key policy, and both reject requests that do not use TLS.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: QueueConfig,
        dead_letter_visibility_seconds: int = 30,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_visibility_seconds = dead_letter_visibility_seconds
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
            visibility_timeout=Duration.seconds(dead_letter_visibility_seconds),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(config.retention_days),
            visibility_timeout=Duration.seconds(config.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=config.max_receive_count),
        )
