"""The deployment's typed configuration, read from the `selfie2anime` key of cdk.json's context.

This module imports nothing from the CDK: the embedded stack reads the same values to
create its queues, bucket rules and limits, so a local run and a deployment cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, fields
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
    # Settings read only by the CDK app. Each has a default so that older cdk.json files and
    # the embedded stack keep working; docs/deploy.md describes every key.
    api_timeout_seconds: int = 10
    api_memory_mb: int = 512
    notify_memory_mb: int = 512
    dead_letter_timeout_seconds: int = 30
    validate_max_concurrency: int = 5
    api_rate_limit_per_second: int = 10
    api_burst_limit: int = 20
    waf_requests_per_ip_per_5_minutes: int = 100
    cloud_web_origin: str = ""
    ses_domain: str = ""
    ses_mail_from_subdomain: str = "mail"
    ses_sandbox_recipients: tuple[str, ...] = ()
    alarm_email: str = ""
    log_retention_days: int = 30
    metrics_namespace: str = "Selfie2Anime"
    max_azs: int = 2
    worker_instance_types: tuple[str, ...] = ("g4dn.xlarge", "g5.xlarge", "g6.xlarge")
    worker_on_demand_base_capacity: int = 0
    worker_on_demand_percentage: int = 0
    worker_max_tasks: int = 2
    worker_images_per_task: int = 16
    worker_idle_minutes: int = 10
    worker_batch_size: int = 4
    worker_memory_reservation_mb: int = 12288
    worker_stop_timeout_seconds: int = 120
    worker_root_volume_gb: int = 60
    worker_fallback_to_on_demand: bool = True
    worker_starved_minutes: int = 10
    weights_manifest_sha256: str = ""
    inference_age_alarm_seconds: int = 1800

    @classmethod
    def from_context(cls, values: dict[str, Any]) -> DeploymentConfig:
        """Build the config from a context dictionary; raise ValueError naming missing or unknown keys."""
        names = {field.name for field in fields(cls)}
        required = {field.name for field in fields(cls) if field.default is MISSING and field.default_factory is MISSING}
        unknown = sorted(set(values) - names)
        missing = sorted(required - set(values))
        if unknown or missing:
            raise ValueError(
                f"cdk.json context '{CONTEXT_KEY}': unknown keys {unknown}, missing keys {missing}; "
                "see docs/deploy.md for the list of keys"
            )
        converted = dict(values)
        for queue in ("intake_queue", "inference_queue", "notify_queue"):
            converted[queue] = QueueConfig(**values[queue])
        # JSON has only lists; the frozen dataclass stores tuples so that it stays hashable.
        for name in ("ses_sandbox_recipients", "worker_instance_types"):
            if name in converted:
                converted[name] = tuple(converted[name])
        return cls(**converted)

    def runtime_environment(
        self,
        *,
        bucket: str,
        jobs_table: str,
        inference_queue_url: str,
        notify_queue_url: str,
        configuration_set: str = "",
    ) -> dict[str, str]:
        """Return the S2A_* variables that functions.core.settings.Settings reads, from this config.

        The CDK app passes resource names (CloudFormation tokens there); the embedded stack can
        pass its local names. The function-specific variables (Powertools service name, web
        origin, worker style) are added by each caller.
        """
        environment = {
            "S2A_BUCKET": bucket,
            "S2A_JOBS_TABLE": jobs_table,
            "S2A_INFERENCE_QUEUE_URL": inference_queue_url,
            "S2A_NOTIFY_QUEUE_URL": notify_queue_url,
            "S2A_SENDER": self.sender,
            "S2A_MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
            "S2A_MAX_IMAGE_PIXELS": str(self.max_image_pixels),
            "S2A_UPLOAD_URL_SECONDS": str(self.upload_url_seconds),
            "S2A_RESULT_DAYS": str(self.result_retention_days),
            "S2A_JOB_TTL_DAYS": str(self.job_ttl_days),
            "S2A_MIN_FACE_FRACTION": str(self.min_face_fraction),
            "S2A_FACE_DETECTOR": self.face_detector,
            "S2A_JOBS_PER_EMAIL_PER_DAY": str(self.jobs_per_email_per_day),
            "POWERTOOLS_METRICS_NAMESPACE": self.metrics_namespace,
        }
        if configuration_set:
            environment["S2A_CONFIGURATION_SET"] = configuration_set
        return environment


def load_config(cdk_json: Path | None = None, overrides: dict[str, Any] | None = None) -> DeploymentConfig:
    """Read cdk.json (the repository's by default) and apply overrides on top of its context."""
    path = cdk_json or REPOSITORY_ROOT / "cdk.json"
    context = json.loads(path.read_text(encoding="utf-8"))["context"][CONTEXT_KEY]
    return DeploymentConfig.from_context({**context, **(overrides or {})})
