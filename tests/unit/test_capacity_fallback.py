"""capacity_fallback with botocore's Stubber on a real ECS client: which alarm moves the service where.

moto 5.2 ignores capacityProviderStrategy in CreateService, so these tests stub ECS's
responses instead, in the shapes the ECS API documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functions.capacity_fallback import handler
from functions.capacity_fallback.handler import FallbackSettings, ServiceNotFoundError, apply_switch
from selfie2anime.embedded.lambda_runtime import LocalContext

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = "Selfie2Anime-WorkerCluster89E4DD17-AbCdEf123456"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/Selfie2Anime-WorkerService3F60922A-GhIjKl789012"
SPOT = "Selfie2Anime-WorkerGpuCapacityA4EF90B8-MnOpQr345678"
ON_DEMAND = "Selfie2Anime-WorkerOnDemandGpuCapacityC16B5014-StUvWx901234"
STARVED = "Selfie2Anime-WorkerCapacityFallbackStarvedAlarm66FDEBA7-YzAbCd567890"
IDLE = "Selfie2Anime-WorkerIdleAlarmFF632AE1-EfGhIj123456"
SETTINGS = FallbackSettings(
    cluster=CLUSTER,
    service=SERVICE_ARN,
    spot_provider=SPOT,
    on_demand_provider=ON_DEMAND,
    starved_alarm=STARVED,
    idle_alarm=IDLE,
)
ENVIRONMENT = {
    "S2A_WORKER_CLUSTER": CLUSTER,
    "S2A_WORKER_SERVICE": SERVICE_ARN,
    "S2A_SPOT_CAPACITY_PROVIDER": SPOT,
    "S2A_ON_DEMAND_CAPACITY_PROVIDER": ON_DEMAND,
    "S2A_STARVED_ALARM": STARVED,
    "S2A_IDLE_ALARM": IDLE,
}


def alarm_event(alarm_name: str, state: str = "ALARM", previous: str = "OK") -> dict[str, Any]:
    """A "CloudWatch Alarm State Change" event as EventBridge delivers it to a Lambda target."""
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "time": "2026-12-04T17:04:40Z",
        "region": REGION,
        "resources": [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm_name}"],
        "detail": {
            "alarmName": alarm_name,
            "state": {
                "value": state,
                "reason": "Threshold Crossed: 3 out of the last 3 datapoints were greater than or equal to the threshold (1.0).",
                "timestamp": "2026-12-04T17:04:40.985+0000",
            },
            "previousState": {"value": previous, "reason": "", "timestamp": "2026-12-04T16:50:40.985+0000"},
            "configuration": {"metrics": []},
        },
    }


def service_description(*, provider: str, desired: int, running: int) -> dict[str, Any]:
    """A DescribeServices `services` entry for the worker service on one capacity provider."""
    created = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)
    strategy = [{"capacityProvider": provider, "weight": 1, "base": 0}]
    return {
        "serviceArn": SERVICE_ARN,
        "serviceName": SERVICE_ARN.rsplit("/", 1)[1],
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "status": "ACTIVE",
        "desiredCount": desired,
        "runningCount": running,
        "pendingCount": 0,
        "capacityProviderStrategy": strategy,
        "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/Selfie2AnimeWorkerTaskDefinition:7",
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 100,
            "minimumHealthyPercent": 0,
        },
        "deployments": [
            {
                "id": "ecs-svc/1234567890123456789",
                "status": "PRIMARY",
                "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/Selfie2AnimeWorkerTaskDefinition:7",
                "desiredCount": desired,
                "pendingCount": 0,
                "runningCount": running,
                "failedTasks": 0,
                "createdAt": created,
                "updatedAt": created,
                "capacityProviderStrategy": strategy,
                "rolloutState": "COMPLETED",
            }
        ],
        "createdAt": created,
        "schedulingStrategy": "REPLICA",
    }


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    """A real ECS client whose every call must have a stubbed response, so it never reaches the network."""
    client = boto3.client("ecs", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_describe(stubber: Stubber, *, provider: str, desired: int, running: int) -> None:
    stubber.add_response(
        "describe_services",
        {"services": [service_description(provider=provider, desired=desired, running=running)], "failures": []},
        {"cluster": CLUSTER, "services": [SERVICE_ARN]},
    )


def expect_update(stubber: Stubber, *, provider: str, desired: int) -> None:
    stubber.add_response(
        "update_service",
        {"service": service_description(provider=provider, desired=desired, running=0)},
        {
            "cluster": CLUSTER,
            "service": SERVICE_ARN,
            "capacityProviderStrategy": [{"capacityProvider": provider, "weight": 1}],
            "forceNewDeployment": True,
        },
    )


def test_starved_alarm_moves_to_on_demand(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    expect_describe(stubber, provider=SPOT, desired=1, running=0)
    expect_update(stubber, provider=ON_DEMAND, desired=1)

    switch = apply_switch(alarm_event(STARVED), SETTINGS, client)

    assert switch is not None
    assert switch.provider == ON_DEMAND
    assert switch.capacity == "on_demand"


def test_idle_alarm_moves_back_to_spot(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    expect_describe(stubber, provider=ON_DEMAND, desired=0, running=1)
    expect_update(stubber, provider=SPOT, desired=0)

    switch = apply_switch(alarm_event(IDLE), SETTINGS, client)

    assert switch is not None
    assert switch.provider == SPOT
    assert switch.capacity == "spot"


@pytest.mark.parametrize(("alarm", "provider"), [(STARVED, ON_DEMAND), (IDLE, SPOT)])
def test_service_on_target_is_left_alone(ecs: tuple[Any, Stubber], alarm: str, provider: str) -> None:
    client, stubber = ecs
    expect_describe(stubber, provider=provider, desired=1, running=0)

    # Stubber raises on any call without a queued response, so an UpdateService would fail here.
    assert apply_switch(alarm_event(alarm), SETTINGS, client) is None


def test_starved_without_waiting_task_ignored(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    # With no weights installed the service's maximum is 0 tasks, so messages wait but no task does.
    expect_describe(stubber, provider=SPOT, desired=0, running=0)

    assert apply_switch(alarm_event(STARVED), SETTINGS, client) is None


def test_unknown_alarm_is_ignored(ecs: tuple[Any, Stubber]) -> None:
    client, _ = ecs

    assert apply_switch(alarm_event("Selfie2Anime-MonitoringApiErrorsAlarm-0123"), SETTINGS, client) is None


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_states_other_than_alarm_are_ignored(ecs: tuple[Any, Stubber], state: str) -> None:
    client, _ = ecs

    assert apply_switch(alarm_event(STARVED, state=state, previous="ALARM"), SETTINGS, client) is None


def test_missing_service_raises(ecs: tuple[Any, Stubber]) -> None:
    client, stubber = ecs
    stubber.add_response(
        "describe_services",
        {"services": [], "failures": [{"arn": SERVICE_ARN, "reason": "MISSING"}]},
        {"cluster": CLUSTER, "services": [SERVICE_ARN]},
    )

    with pytest.raises(ServiceNotFoundError, match="MISSING"):
        apply_switch(alarm_event(STARVED), SETTINGS, client)


def test_handler_logs_and_counts_switch(
    ecs: tuple[Any, Stubber],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, stubber = ecs
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    # The embedded stack, when another test started it in this process, turns metrics off.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setattr(handler.aws, "client", lambda service: client)
    expect_describe(stubber, provider=SPOT, desired=2, running=0)
    expect_update(stubber, provider=ON_DEMAND, desired=2)

    result = handler.lambda_handler(alarm_event(STARVED), LocalContext(function_name="capacity_fallback"))

    assert result == {"switched_to": ON_DEMAND}
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (metric,) = [record for record in records if handler.SWITCH_METRIC in record]
    assert metric[handler.SWITCH_METRIC] == [1.0]
    assert metric["capacity"] == "on_demand"
    # Powertools' Logger writes to the stdout it found at import, so the log records are read from caplog.
    (switch_log,) = [record for record in caplog.records if record.getMessage().startswith("moved the worker service")]
    assert switch_log.levelname == "WARNING"
    assert "spot capacity is not available" in switch_log.getMessage()
    assert switch_log.alarm == STARVED  # type: ignore[attr-defined]
    assert switch_log.target_provider == ON_DEMAND  # type: ignore[attr-defined]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_handler_no_metric_without_switch(
    ecs: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, _ = ecs
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(handler.aws, "client", lambda service: client)

    result = handler.lambda_handler(alarm_event(STARVED, state="OK", previous="ALARM"), LocalContext(function_name="capacity_fallback"))

    assert result == {"switched_to": None}
    assert handler.SWITCH_METRIC not in capsys.readouterr().out


def test_settings_missing_variable_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("S2A_IDLE_ALARM")

    with pytest.raises(KeyError, match="S2A_IDLE_ALARM"):
        FallbackSettings.from_env()
