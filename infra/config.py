"""The deployment's typed configuration, read from the `selfie2anime` key of cdk.json's context.

This module imports nothing from the CDK: the embedded stack reads the same values to
create its queues, bucket rules and limits, so a local run and a deployment cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

CONTEXT_KEY = "selfie2anime"
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, kw_only=True)
class QueueConfig:
    """Settings of one SQS queue and its dead-letter queue."""

    visibility_timeout_seconds: int
    max_receive_count: int
    retention_days: int = 4


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """Every value an operator can set; defaults are in cdk.json."""

    stack_name: str
    web_origin: str
    sender: str
    max_upload_bytes: int
    max_image_pixels: int
    upload_url_seconds: int
    upload_retention_days: int
    face_retention_days: int
    result_retention_days: int
    job_ttl_days: int
    min_face_fraction: float
    face_detector: str
    jobs_per_email_per_day: int
    validate_timeout_seconds: int
    validate_memory_mb: int
    notify_timeout_seconds: int
    intake_queue: QueueConfig
    inference_queue: QueueConfig
    notify_queue: QueueConfig

    @classmethod
    def from_context(cls, values: dict[str, Any]) -> DeploymentConfig:
        """Build the config from a context dictionary; raise ValueError naming missing or unknown keys."""
        names = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - names)
        missing = sorted(names - set(values))
        if unknown or missing:
            raise ValueError(
                f"cdk.json context '{CONTEXT_KEY}': unknown keys {unknown}, missing keys {missing}; "
                "see docs/deploy.md for the list of keys"
            )
        converted = dict(values)
        for queue in ("intake_queue", "inference_queue", "notify_queue"):
            converted[queue] = QueueConfig(**values[queue])
        return cls(**converted)


def load_config(cdk_json: Path | None = None, overrides: dict[str, Any] | None = None) -> DeploymentConfig:
    """Read cdk.json (the repository's by default) and apply overrides on top of its context."""
    path = cdk_json or REPOSITORY_ROOT / "cdk.json"
    context = json.loads(path.read_text(encoding="utf-8"))["context"][CONTEXT_KEY]
    return DeploymentConfig.from_context({**context, **(overrides or {})})
