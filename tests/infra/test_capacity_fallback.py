"""Capacity fallback: the starved alarm, the rule on both alarms, and the function that switches providers."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.app import build_app
from tests.infra.conftest import Synthesis, cdk_json_context

PREFIX = "WorkerCapacityFallback"


def logical_id(synthesis: Synthesis, resource_type: str, prefix: str) -> str:
    (found,) = [name for name in synthesis.of_type(resource_type) if name.startswith(prefix)]
    return found


def test_starved_alarm_condition(synthesis: Synthesis, config: Any) -> None:
    name = logical_id(synthesis, "AWS::CloudWatch::Alarm", f"{PREFIX}StarvedAlarm")
    alarm = synthesis.resources[name]["Properties"]
    (expression,) = [metric["Expression"] for metric in alarm["Metrics"] if "Expression" in metric]
    assert f"FILL(age, 0) >= {config.worker_starved_minutes * 60}" in expression
    assert "FILL(visible, 0) + FILL(inflight, 0) > 0" in expression
    assert "FILL(deleted, 0) == 0" in expression
    metrics = {metric["Id"]: metric["MetricStat"]["Metric"]["MetricName"] for metric in alarm["Metrics"] if "MetricStat" in metric}
    assert metrics == {
        "age": "ApproximateAgeOfOldestMessage",
        "visible": "ApproximateNumberOfMessagesVisible",
        "inflight": "ApproximateNumberOfMessagesNotVisible",
        "deleted": "NumberOfMessagesDeleted",
    }
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 3
    assert alarm["TreatMissingData"] == "notBreaching"
    # The alarm drives automation only. The inference age alarm notifies people.
    assert "AlarmActions" not in alarm


def test_rule_matches_both_alarms(synthesis: Synthesis) -> None:
    starved = logical_id(synthesis, "AWS::CloudWatch::Alarm", f"{PREFIX}StarvedAlarm")
    idle = logical_id(synthesis, "AWS::CloudWatch::Alarm", "WorkerIdleAlarm")
    function = logical_id(synthesis, "AWS::Lambda::Function", f"{PREFIX}Handler")
    synthesis.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "detail": {"alarmName": [{"Ref": starved}, {"Ref": idle}], "state": {"value": ["ALARM"]}},
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [function, "Arn"]},
                        "RetryPolicy": {"MaximumEventAgeInSeconds": 120, "MaximumRetryAttempts": 2},
                    }
                )
            ],
        },
    )
    synthesis.template.has_resource_properties(
        "AWS::Lambda::Permission", {"FunctionName": {"Fn::GetAtt": [function, "Arn"]}, "Principal": "events.amazonaws.com"}
    )


def test_function_environment(synthesis: Synthesis) -> None:
    synthesis.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "ImageConfig": {"Command": ["functions.capacity_fallback.handler.lambda_handler"]},
            "Environment": {
                "Variables": {
                    "S2A_WORKER_CLUSTER": {"Ref": logical_id(synthesis, "AWS::ECS::Cluster", "WorkerCluster")},
                    "S2A_WORKER_SERVICE": {"Ref": logical_id(synthesis, "AWS::ECS::Service", "WorkerService")},
                    "S2A_SPOT_CAPACITY_PROVIDER": {"Ref": logical_id(synthesis, "AWS::ECS::CapacityProvider", "WorkerGpuCapacity")},
                    "S2A_ON_DEMAND_CAPACITY_PROVIDER": {
                        "Ref": logical_id(synthesis, "AWS::ECS::CapacityProvider", "WorkerOnDemandGpuCapacity")
                    },
                    "S2A_STARVED_ALARM": {"Ref": logical_id(synthesis, "AWS::CloudWatch::Alarm", f"{PREFIX}StarvedAlarm")},
                    "S2A_IDLE_ALARM": {"Ref": logical_id(synthesis, "AWS::CloudWatch::Alarm", "WorkerIdleAlarm")},
                    "POWERTOOLS_SERVICE_NAME": "capacity_fallback",
                    "POWERTOOLS_METRICS_NAMESPACE": "Selfie2Anime",
                }
            },
            "TracingConfig": {"Mode": "Active"},
            "PackageType": "Image",
        },
    )


def test_function_drops_stale_events(synthesis: Synthesis) -> None:
    function = logical_id(synthesis, "AWS::Lambda::Function", f"{PREFIX}Handler")
    synthesis.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"FunctionName": {"Ref": function}, "MaximumEventAgeInSeconds": 120, "MaximumRetryAttempts": 2},
    )


def test_function_policy_scoped_to_service(synthesis: Synthesis) -> None:
    service = logical_id(synthesis, "AWS::ECS::Service", "WorkerService")
    policy = logical_id(synthesis, "AWS::IAM::Policy", f"{PREFIX}HandlerRole")
    statements = synthesis.resources[policy]["Properties"]["PolicyDocument"]["Statement"]
    ecs_statements = [statement for statement in statements if any(action.startswith("ecs:") for action in statement["Action"])]
    assert ecs_statements == [
        {"Action": ["ecs:DescribeServices", "ecs:UpdateService"], "Effect": "Allow", "Resource": {"Ref": service}}
    ]
    actions = {action for statement in statements for action in statement["Action"]}
    assert actions == {
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
    role = logical_id(synthesis, "AWS::IAM::Role", f"{PREFIX}HandlerRole")
    assert "ManagedPolicyArns" not in synthesis.resources[role]["Properties"]


def test_fallback_off_creates_nothing(variant: Synthesis) -> None:
    names = list(variant.resources)
    assert [name for name in names if name.startswith(PREFIX)] == []
    assert [name for name in names if name.startswith("WorkerOnDemand")] == []
    assert variant.of_type("AWS::Events::Rule") == {}


def test_short_starved_minutes_rejected(tmp_path: Any) -> None:
    context = cdk_json_context()
    context["selfie2anime"] = {**context["selfie2anime"], "worker_starved_minutes": 2}
    with pytest.raises(ValueError, match="worker_starved_minutes=2 is below 5"):
        build_app(context=context, outdir=str(tmp_path), nag=False)
