"""A Python Lambda function with its own role, log group and X-Ray tracing."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import packaging


class HandlerFunction(Construct):
    """One handler from the `functions` package, run from the shared functions image.

    The role starts empty (no AWS managed policy) and gets write access to this function's
    log group only. Each unit grants the data access its handler needs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        service_name: str,
        environment: dict[str, str],
        timeout_seconds: int,
        memory_mb: int,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention(log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            code=packaging.function_image_code(handler),
            architecture=lambda_.Architecture.X86_64,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            environment={**environment, "POWERTOOLS_SERVICE_NAME": service_name},
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which "
                    "support no resource-level permissions; every other statement names its resources."
                ),
            )
        )


# The day counts CloudWatch Logs accepts (PutRetentionPolicy), by CDK enum member.
RETENTION_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
}


def log_retention(days: int) -> logs.RetentionDays:
    """Map log_retention_days from cdk.json to the CDK value; raise ValueError for a count CloudWatch rejects."""
    if days not in RETENTION_DAYS:
        raise ValueError(f"log_retention_days={days} is not a CloudWatch Logs retention period; use one of {sorted(RETENTION_DAYS)}")
    return RETENTION_DAYS[days]
