"""Intake: S3 uploads/ -> SQS intake queue (with DLQ) -> the validate_face Lambda."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DeploymentConfig
from infra.lambdas import HandlerFunction
from infra.queues import WorkQueue, require_lambda_visibility
from infra.storage import FACES, UPLOADS, Storage

# One photo per invocation, so the timeout and memory in cdk.json are sized for one 12 MP
# phone photo (about 36 MB as 8-bit RGB, more while HEIC is decoded). A slow photo then
# cannot time out the others of a batch.
VALIDATE_BATCH_SIZE = 1
FACE_DETECTORS = ("builtin", "rekognition")


class Intake(Construct):
    """The intake queue fed by S3 notifications and the function that validates and aligns faces."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        storage: Storage,
        environment: dict[str, str],
        inference_queue: sqs.IQueue,
        notify_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        if config.face_detector not in FACE_DETECTORS:
            raise ValueError(f"face_detector={config.face_detector!r} is not one of {', '.join(FACE_DETECTORS)}; fix it in cdk.json")
        require_lambda_visibility(
            queue_name="intake",
            visibility_seconds=config.intake_queue.visibility_timeout_seconds,
            function_timeout_seconds=config.validate_timeout_seconds,
        )
        self.queues = WorkQueue(
            self,
            "IntakeQueue",
            config=config.intake_queue,
            dead_letter_visibility_seconds=6 * config.dead_letter_timeout_seconds,
        )
        storage.send_uploads_to(self.queues.queue)

        self.handler = HandlerFunction(
            self,
            "ValidateFace",
            handler="functions.validate_face.handler.lambda_handler",
            service_name="validate_face",
            environment=environment,
            timeout_seconds=config.validate_timeout_seconds,
            memory_mb=config.validate_memory_mb,
            log_retention_days=config.log_retention_days,
        )
        role = self.handler.role
        storage.grant_table(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        storage.grant_objects(role, actions=["s3:GetObject", "s3:DeleteObject"], prefixes=[UPLOADS])
        storage.grant_objects(role, actions=["s3:PutObject"], prefixes=[FACES])
        storage.grant_list(role)
        inference_queue.grant_send_messages(role)
        notify_queue.grant_send_messages(role)
        if config.face_detector == "rekognition":
            role.add_to_principal_policy(iam.PolicyStatement(actions=["rekognition:DetectFaces"], resources=["*"]))
            Validations.of(role).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="rekognition:DetectFaces on image bytes supports no resource-level permissions; X-Ray likewise.",
                )
            )

        self.handler.function.add_event_source(
            event_sources.SqsEventSource(
                self.queues.queue,
                batch_size=VALIDATE_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=config.validate_max_concurrency,
            )
        )
