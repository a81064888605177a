"""Creates the bucket, table, queues and email identity in moto, as the CDK stack does in AWS.

Names are local; settings (visibility timeouts, redrive, TTL, the S3 notification filter)
come from the same DeploymentConfig that the CDK app reads from cdk.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from functions.core import aws
from infra.config import DeploymentConfig, QueueConfig

# moto's default account; the region is the embedded stack's.
ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class QueuePair:
    url: str
    arn: str
    dead_letter_url: str
    dead_letter_arn: str


@dataclass(frozen=True)
class Resources:
    """Names and URLs of everything created, for the environment and the pollers."""

    bucket: str
    table: str
    intake: QueuePair
    inference: QueuePair
    notify: QueuePair


def _queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _create_queue_pair(sqs: Any, name: str, config: QueueConfig) -> QueuePair:
    retention = str(config.retention_days * 86400)
    dead_letter_url = sqs.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": str(14 * 86400)})["QueueUrl"]
    dead_letter_arn = _queue_arn(sqs, dead_letter_url)
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(config.visibility_timeout_seconds),
            "MessageRetentionPeriod": retention,
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": config.max_receive_count}),
        },
    )["QueueUrl"]
    return QueuePair(url=url, arn=_queue_arn(sqs, url), dead_letter_url=dead_letter_url, dead_letter_arn=dead_letter_arn)


def create_resources(config: DeploymentConfig) -> Resources:
    """Create every resource in the moto server that boto3 currently points at.

    The bucket gets the name the CDK storage unit gives it; CloudFormation names the table
    and queues in AWS, so here they get the stack name as a prefix.
    """
    prefix = config.stack_name.lower()
    bucket = f"{prefix}-data-{ACCOUNT}-{REGION}"
    table = f"{prefix}-jobs"
    s3 = aws.client("s3")
    sqs = aws.client("sqs")
    dynamodb = aws.client("dynamodb")

    intake = _create_queue_pair(sqs, f"{prefix}-intake", config.intake_queue)
    inference = _create_queue_pair(sqs, f"{prefix}-inference", config.inference_queue)
    notify = _create_queue_pair(sqs, f"{prefix}-notify", config.notify_queue)

    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {"ID": f"expire-{prefix.rstrip('/')}", "Filter": {"Prefix": prefix}, "Status": "Enabled", "Expiration": {"Days": days}}
                for prefix, days in (
                    ("uploads/", config.upload_retention_days),
                    ("faces/", config.face_retention_days),
                    ("results/", config.result_retention_days),
                )
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": intake.arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )

    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})

    aws.client("sesv2").create_email_identity(EmailIdentity=config.sender)
    return Resources(bucket=bucket, table=table, intake=intake, inference=inference, notify=notify)


def allow_web_origin(bucket: str, origin: str) -> None:
    """Give the bucket the CORS rule that the CDK storage unit sets, for the upload page's origin.

    The page POSTs the presigned upload form to moto's origin, which differs from its own.
    NOTE: moto 5.2 checks these rules on preflight (OPTIONS) requests only. Its server adds
    `Access-Control-Allow-Origin: <any request origin>` to every other response (flask-cors,
    unless MOTO_DISABLE_GLOBAL_CORS is set), so unlike S3 it accepts form POSTs from any origin.
    """
    aws.client("s3").put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [{"AllowedOrigins": [origin], "AllowedMethods": ["POST", "GET"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 3000}]
        },
    )
