"""boto3 clients shared by every handler in a process.

Clients are built once per process (outside the handler, so warm Lambda invocations reuse
them) with botocore's standard retry mode. The endpoint comes from boto3's own
configuration, so the embedded stack points every client at moto by setting
AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5, read_timeout=30)
# Presigned POSTs and URLs must use SigV4: botocore still signs them with SigV2 by default
# in some regions, and SigV2 forms carry an AWSAccessKeyId field that no policy condition covers.
S3_CONFIG = RETRY_CONFIG.merge(Config(signature_version="s3v4"))


@functools.cache
def client(service: str) -> Any:
    """Return the process-wide boto3 client for a service."""
    config = S3_CONFIG if service == "s3" else RETRY_CONFIG
    return boto3.client(service, config=config)


@functools.cache
def dynamodb_table(name: str) -> Any:
    """Return the process-wide DynamoDB Table resource for a table name."""
    return boto3.resource("dynamodb", config=RETRY_CONFIG).Table(name)


def reset_clients() -> None:
    """Forget every cached client, so that the next call reads the endpoint and credentials again."""
    client.cache_clear()
    dynamodb_table.cache_clear()
