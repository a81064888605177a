"""Lambda functions: image and handler paths, sizing, tracing and the environment Settings reads."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesis

SETTINGS_VARIABLES = {
    "S2A_BUCKET",
    "S2A_JOBS_TABLE",
    "S2A_INFERENCE_QUEUE_URL",
    "S2A_NOTIFY_QUEUE_URL",
    "S2A_SENDER",
    "S2A_CONFIGURATION_SET",
    "S2A_MAX_UPLOAD_BYTES",
    "S2A_MAX_IMAGE_PIXELS",
    "S2A_UPLOAD_URL_SECONDS",
    "S2A_RESULT_DAYS",
    "S2A_JOB_TTL_DAYS",
    "S2A_MIN_FACE_FRACTION",
    "S2A_FACE_DETECTOR",
    "S2A_JOBS_PER_EMAIL_PER_DAY",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
}


def handler_functions(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    """The four project functions by logical-id prefix (CDK's own handlers left out)."""
    prefixes = ("ApiHandler", "IntakeValidateFace", "NotifyHandler", "DeadLettersHandler")
    found = {}
    for name, body in synthesis.of_type("AWS::Lambda::Function").items():
        prefix = next((prefix for prefix in prefixes if name.startswith(prefix)), None)
        if prefix:
            found[prefix] = body["Properties"]
    assert sorted(found) == sorted(prefixes)
    return found


HANDLERS = {
    "ApiHandler": "functions.api.handler.lambda_handler",
    "IntakeValidateFace": "functions.validate_face.handler.lambda_handler",
    "NotifyHandler": "functions.notify.handler.lambda_handler",
    "DeadLettersHandler": "functions.dead_letter.handler.lambda_handler",
}


def test_functions_are_image_functions(synthesis: Synthesis) -> None:
    for name, function in handler_functions(synthesis).items():
        assert function["PackageType"] == "Image", name
        assert function["ImageConfig"]["Command"] == [HANDLERS[name]], name
        # The image provides the runtime and ImageConfig the handler, so neither property is set.
        assert "Runtime" not in function, name
        assert "Handler" not in function, name
        assert function["Architectures"] == ["x86_64"], name


def test_validate_face_sizing(synthesis: Synthesis, config: Any) -> None:
    function = handler_functions(synthesis)["IntakeValidateFace"]
    assert function["MemorySize"] == config.validate_memory_mb
    assert function["Timeout"] == config.validate_timeout_seconds


def test_validate_face_takes_one_photo_per_invocation(synthesis: Synthesis, config: Any) -> None:
    mapping = next(
        body["Properties"]
        for body in synthesis.of_type("AWS::Lambda::EventSourceMapping").values()
        if body["Properties"]["FunctionName"]["Ref"].startswith("IntakeValidateFace")
    )
    assert mapping["BatchSize"] == 1
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": config.validate_max_concurrency}


def test_every_function_gets_the_settings_environment(synthesis: Synthesis) -> None:
    for name, function in handler_functions(synthesis).items():
        variables = function["Environment"]["Variables"]
        assert SETTINGS_VARIABLES <= set(variables), name


def test_service_names_and_api_origin(synthesis: Synthesis) -> None:
    functions = handler_functions(synthesis)
    services = {name: function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] for name, function in functions.items()}
    assert services == {
        "ApiHandler": "api",
        "IntakeValidateFace": "validate_face",
        "NotifyHandler": "notify",
        "DeadLettersHandler": "dead_letter",
    }
    assert "S2A_WEB_ORIGIN" in functions["ApiHandler"]["Environment"]["Variables"]


def test_functions_trace_and_log_to_their_own_group(synthesis: Synthesis) -> None:
    for name, function in handler_functions(synthesis).items():
        assert function["TracingConfig"] == {"Mode": "Active"}, name
        assert function["LoggingConfig"]["LogFormat"] == "JSON", name
        assert function["LoggingConfig"]["LogGroup"]["Ref"].startswith(name), name


def test_log_groups_have_retention(synthesis: Synthesis, config: Any) -> None:
    groups = synthesis.of_type("AWS::Logs::LogGroup")
    assert groups
    for name, body in groups.items():
        assert body["Properties"]["RetentionInDays"] == config.log_retention_days, name


def test_no_function_role_uses_managed_policies(synthesis: Synthesis) -> None:
    for name, body in synthesis.of_type("AWS::IAM::Role").items():
        if name.startswith(("ApiHandler", "IntakeValidateFace", "NotifyHandler", "DeadLettersHandler")):
            assert "ManagedPolicyArns" not in body["Properties"], name
