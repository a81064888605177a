"""Dead letters: the intake and inference DLQs -> the dead_letter Lambda, which fails the job.

The notify DLQ has no consumer: a message there means an email could not be sent, and only
its alarm reports it.
"""

from __future__ import annotations

from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DeploymentConfig
from infra.lambdas import HandlerFunction
from infra.queues import WorkQueue, require_lambda_visibility
from infra.storage import FACES, RESULTS, UPLOADS, Storage

DEAD_LETTER_BATCH_SIZE = 10


class DeadLetters(Construct):
    """Marks jobs whose messages exhausted their retries as FAILED, then queues their email."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        storage: Storage,
        environment: dict[str, str],
        sources: dict[str, WorkQueue],
        notify_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = HandlerFunction(
            self,
            "Handler",
            handler="functions.dead_letter.handler.lambda_handler",
            service_name="dead_letter",
            environment=environment,
            timeout_seconds=config.dead_letter_timeout_seconds,
            memory_mb=256,
            log_retention_days=config.log_retention_days,
        )
        role = self.handler.role
        storage.grant_table(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        storage.grant_objects(role, actions=["s3:DeleteObject"], prefixes=[UPLOADS, FACES, RESULTS])
        notify_queue.grant_send_messages(role)
        for name, work_queue in sources.items():
            require_lambda_visibility(
                queue_name=f"{name} dead-letter",
                visibility_seconds=work_queue.dead_letter_visibility_seconds,
                function_timeout_seconds=config.dead_letter_timeout_seconds,
            )
            self.handler.function.add_event_source(
                event_sources.SqsEventSource(
                    work_queue.dead_letter_queue, batch_size=DEAD_LETTER_BATCH_SIZE, report_batch_item_failures=True
                )
            )
