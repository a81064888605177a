"""Queues: every work queue has a DLQ and redrive; Lambda-fed queues outlast 6 x the function timeout."""

from __future__ import annotations

from typing import Any

import pytest

from infra.queues import VisibilityTimeoutTooShort, require_lambda_visibility
from tests.infra.conftest import Synthesis, synthesize


def queue_name(reference: dict[str, Any]) -> str:
    return reference["Fn::GetAtt"][0]


def test_each_work_queue_has_a_dead_letter_queue(synthesis: Synthesis, config: Any) -> None:
    queues = synthesis.of_type("AWS::SQS::Queue")
    work_queues = {name: body for name, body in queues.items() if "DeadLetter" not in name}
    dead_letter_queues = {name for name in queues if "DeadLetter" in name}
    assert len(work_queues) == 3
    assert len(dead_letter_queues) == 3
    expected = {
        "IntakeIntakeQueue": config.intake_queue.max_receive_count,
        "InferenceQueue": config.inference_queue.max_receive_count,
        "NotifyNotifyQueue": config.notify_queue.max_receive_count,
    }
    targets = set()
    for name, body in work_queues.items():
        redrive = body["Properties"]["RedrivePolicy"]
        prefix = next(prefix for prefix in expected if name.startswith(prefix))
        assert redrive["maxReceiveCount"] == expected[prefix], name
        target = queue_name(redrive["deadLetterTargetArn"])
        assert target in dead_letter_queues, name
        targets.add(target)
    assert targets == dead_letter_queues


def test_queues_are_encrypted_and_keep_dead_letters(synthesis: Synthesis) -> None:
    for name, body in synthesis.of_type("AWS::SQS::Queue").items():
        assert body["Properties"]["SqsManagedSseEnabled"] is True, name
        if "DeadLetter" in name:
            assert body["Properties"]["MessageRetentionPeriod"] == 14 * 86400, name


def test_queue_policies_deny_plain_http(synthesis: Synthesis) -> None:
    policies = synthesis.of_type("AWS::SQS::QueuePolicy")
    assert len(policies) == 6
    for name, body in policies.items():
        statements = body["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            statement["Effect"] == "Deny" and statement["Condition"]["Bool"]["aws:SecureTransport"] == "false"
            for statement in statements
            if "Condition" in statement and "Bool" in statement["Condition"]
        ), name


def test_lambda_fed_queues_outlast_six_timeouts(synthesis: Synthesis) -> None:
    functions = synthesis.of_type("AWS::Lambda::Function")
    queues = synthesis.of_type("AWS::SQS::Queue")
    mappings = synthesis.of_type("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 4
    for name, mapping in mappings.items():
        properties = mapping["Properties"]
        queue = queues[queue_name(properties["EventSourceArn"])]["Properties"]
        function = functions[properties["FunctionName"]["Ref"]]["Properties"]
        assert queue["VisibilityTimeout"] >= 6 * function["Timeout"], name


def test_mappings_report_batch_item_failures(synthesis: Synthesis) -> None:
    for name, mapping in synthesis.of_type("AWS::Lambda::EventSourceMapping").items():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name


def test_dead_letter_function_drains_intake_and_inference_dlqs(synthesis: Synthesis) -> None:
    sources = {
        queue_name(mapping["Properties"]["EventSourceArn"])
        for mapping in synthesis.of_type("AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["FunctionName"]["Ref"].startswith("DeadLetters")
    }
    assert len(sources) == 2
    assert any(source.startswith("IntakeIntakeQueueDeadLetter") for source in sources)
    assert any(source.startswith("InferenceQueueDeadLetter") for source in sources)


def test_visibility_rule_raises_with_fix() -> None:
    with pytest.raises(VisibilityTimeoutTooShort, match="at least 360"):
        require_lambda_visibility(queue_name="intake", visibility_seconds=359, function_timeout_seconds=60)
    require_lambda_visibility(queue_name="intake", visibility_seconds=360, function_timeout_seconds=60)


def test_synthesis_fails_on_short_visibility(tmp_path: Any) -> None:
    with pytest.raises(VisibilityTimeoutTooShort, match="queue notify"):
        synthesize(tmp_path, overrides={"notify_queue": {"visibility_timeout_seconds": 60, "max_receive_count": 5}})
