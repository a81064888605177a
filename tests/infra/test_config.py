"""The deployment config in cdk.json: complete, documented, and the same variables Settings reads."""

from __future__ import annotations

import dataclasses
import json

import pytest

from functions.core.settings import Settings
from infra.config import CONTEXT_KEY, DeploymentConfig, QueueConfig, load_config
from tests.infra.conftest import REPOSITORY_ROOT, cdk_json_context


def test_cdk_json_sets_every_config_key() -> None:
    context = cdk_json_context()[CONTEXT_KEY]
    names = {field.name for field in dataclasses.fields(DeploymentConfig)}
    assert set(context) == names


def test_deploy_doc_describes_every_config_key() -> None:
    text = (REPOSITORY_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    undocumented = [field.name for field in dataclasses.fields(DeploymentConfig) if f"`{field.name}`" not in text]
    assert undocumented == []


def test_unknown_key_is_rejected() -> None:
    context = cdk_json_context()[CONTEXT_KEY]
    with pytest.raises(ValueError, match="unknown keys \\['worker_gpu'\\]"):
        DeploymentConfig.from_context({**context, "worker_gpu": 1})


def test_missing_optional_key_takes_default() -> None:
    context = dict(cdk_json_context()[CONTEXT_KEY])
    del context["worker_max_tasks"]
    assert DeploymentConfig.from_context(context).worker_max_tasks == 2


def test_missing_required_key_is_rejected() -> None:
    context = dict(cdk_json_context()[CONTEXT_KEY])
    del context["sender"]
    with pytest.raises(ValueError, match="missing keys \\['sender'\\]"):
        DeploymentConfig.from_context(context)


def test_lists_become_tuples() -> None:
    config = load_config()
    assert isinstance(config.worker_instance_types, tuple)
    assert isinstance(config.ses_sandbox_recipients, tuple)
    assert isinstance(config.intake_queue, QueueConfig)


def test_runtime_environment_satisfies_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config()
    environment = config.runtime_environment(
        bucket="bucket",
        jobs_table="table",
        inference_queue_url="https://sqs.example/inference",
        notify_queue_url="https://sqs.example/notify",
        configuration_set="selfie2anime",
    )
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.max_upload_bytes == config.max_upload_bytes
    assert settings.result_days == config.result_retention_days
    assert settings.job_ttl_days == config.job_ttl_days
    assert settings.min_face_fraction == config.min_face_fraction
    assert settings.jobs_per_email_per_day == config.jobs_per_email_per_day
    assert settings.configuration_set == "selfie2anime"


def test_cdk_json_turns_off_cli_network_features() -> None:
    cdk_json = json.loads((REPOSITORY_ROOT / "cdk.json").read_text(encoding="utf-8"))
    assert cdk_json["context"]["cli-telemetry"] is False
    assert cdk_json["notices"] is False
    assert cdk_json["versionReporting"] is False
