"""Monitoring: alarms on dead letters, backlog age, Lambda errors and throttles, worker errors; a dashboard."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import Synthesis


def incident_alarms(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    return {name: body["Properties"] for name, body in synthesis.of_type("AWS::CloudWatch::Alarm").items() if name.startswith("Monitoring")}


def test_every_incident_alarm_notifies_the_topic(synthesis: Synthesis, variant: Synthesis) -> None:
    # The errors and throttles alarms of capacity_fallback add two. The variant has no fallback.
    assert len(incident_alarms(variant)) == 13
    alarms = incident_alarms(synthesis)
    assert len(alarms) == 15
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": next(iter(synthesis.of_type("AWS::SNS::Topic")))}], name
        assert alarm["OKActions"] == alarm["AlarmActions"], name


def test_each_dead_letter_queue_has_an_alarm(synthesis: Synthesis) -> None:
    alarms = incident_alarms(synthesis)
    for queue in ("Intake", "Inference", "Notify"):
        alarm = next(alarm for name, alarm in alarms.items() if name.startswith(f"Monitoring{queue}DeadLetterAlarm"))
        queues = {
            json.dumps(dimension["Value"])
            for metric in alarm["Metrics"]
            if "MetricStat" in metric
            for dimension in metric["MetricStat"]["Metric"]["Dimensions"]
        }
        assert len(queues) == 1
        assert "DeadLetterQueue" in queues.pop()
        assert alarm["Threshold"] == 1


def test_inference_age_alarm(synthesis: Synthesis, config: Any) -> None:
    alarm = next(alarm for name, alarm in incident_alarms(synthesis).items() if name.startswith("MonitoringInferenceAgeAlarm"))
    assert alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert alarm["Threshold"] == config.inference_age_alarm_seconds


def test_errors_and_throttles_alarm_for_each_function(synthesis: Synthesis) -> None:
    alarms = incident_alarms(synthesis)
    for function in ("Api", "ValidateFace", "Notify", "DeadLetter", "CapacityFallback"):
        for metric in ("Errors", "Throttles"):
            alarm = next(alarm for name, alarm in alarms.items() if name.startswith(f"Monitoring{function}{metric}Alarm"))
            assert alarm["MetricName"] == metric
            assert alarm["Namespace"] == "AWS/Lambda"


def test_worker_errors_come_from_its_logs(synthesis: Synthesis, config: Any) -> None:
    metric_filter = synthesis.one("AWS::Logs::MetricFilter")
    assert metric_filter["FilterPattern"] == '{ $.level = "ERROR" }'
    transformation = metric_filter["MetricTransformations"][0]
    assert transformation["MetricNamespace"] == config.metrics_namespace
    alarm = next(alarm for name, alarm in incident_alarms(synthesis).items() if name.startswith("MonitoringWorkerErrorsAlarm"))
    assert alarm["MetricName"] == transformation["MetricName"]


def test_topic_is_encrypted_and_tls_only(synthesis: Synthesis) -> None:
    topic = synthesis.one("AWS::SNS::Topic")
    assert topic["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("MonitoringTopicKey")
    key = synthesis.one("AWS::KMS::Key")
    assert key["EnableKeyRotation"] is True
    policy = synthesis.one("AWS::SNS::TopicPolicy")["PolicyDocument"]["Statement"]
    assert any(statement["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(statement) for statement in policy)


def test_alarm_email_subscription(variant: Synthesis) -> None:
    subscription = variant.one("AWS::SNS::Subscription")
    assert subscription["Protocol"] == "email"
    assert subscription["Endpoint"] == "ops@example.org"


def test_dashboard_shows_depth_tasks_throughput_latency(synthesis: Synthesis) -> None:
    body = json.dumps(synthesis.one("AWS::CloudWatch::Dashboard")["DashboardBody"])
    for title in ("Queue depth", "Worker tasks", "Images per minute", "Job latency"):
        assert title in body
    assert "RunningTaskCount" in body
    assert "NumberOfMessagesDeleted" in body
    assert "JobLatency" in body
