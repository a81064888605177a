"""Runtime settings read from environment variables.

The CDK stack sets these variables on each Lambda function and on the worker's task
definition; the embedded stack sets the same variables before it calls the handlers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MIB = 1024 * 1024


class SettingsError(RuntimeError):
    """Raised when a required environment variable is missing or invalid."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is missing; the stack or the embedded runner must set it")
    return value


def _integer(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name}={raw!r} is not an integer") from None


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name}={raw!r} is not a number") from None


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Names of the AWS resources and the limits that the handlers and the worker apply."""

    bucket: str
    jobs_table: str
    inference_queue_url: str
    notify_queue_url: str
    sender: str
    configuration_set: str | None
    max_upload_bytes: int
    max_image_pixels: int
    upload_url_seconds: int
    result_days: int
    job_ttl_days: int
    min_face_fraction: float
    face_detector: str
    jobs_per_email_per_day: int
    web_origin: str | None
    api_base_url: str | None

    @classmethod
    def from_env(cls) -> Settings:
        """Read every setting; raise SettingsError naming the first missing variable."""
        return cls(
            bucket=_required("S2A_BUCKET"),
            jobs_table=_required("S2A_JOBS_TABLE"),
            inference_queue_url=_required("S2A_INFERENCE_QUEUE_URL"),
            notify_queue_url=_required("S2A_NOTIFY_QUEUE_URL"),
            sender=_required("S2A_SENDER"),
            configuration_set=os.environ.get("S2A_CONFIGURATION_SET") or None,
            max_upload_bytes=_integer("S2A_MAX_UPLOAD_BYTES", 10 * MIB),
            max_image_pixels=_integer("S2A_MAX_IMAGE_PIXELS", 50_000_000),
            upload_url_seconds=_integer("S2A_UPLOAD_URL_SECONDS", 15 * 60),
            result_days=_integer("S2A_RESULT_DAYS", 7),
            job_ttl_days=_integer("S2A_JOB_TTL_DAYS", 8),
            min_face_fraction=_number("S2A_MIN_FACE_FRACTION", 0.15),
            face_detector=os.environ.get("S2A_FACE_DETECTOR", "builtin"),
            jobs_per_email_per_day=_integer("S2A_JOBS_PER_EMAIL_PER_DAY", 20),
            web_origin=os.environ.get("S2A_WEB_ORIGIN") or None,
            api_base_url=(os.environ.get("S2A_API_BASE_URL") or "").rstrip("/") or None,
        )
