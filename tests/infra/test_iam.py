"""IAM: no `*` action anywhere, and `*` resources only for actions that have no resource-level permissions."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesis

# Actions that IAM can only grant on "*": X-Ray segments, Rekognition on image bytes, the ECS
# container agent's registration and polling (ecs:Poll and ecs:StartTelemetrySession are
# narrowed by an ecs:cluster condition), ECR login, CloudFront invalidations (BucketDeployment).
ACTIONS_WITHOUT_RESOURCES = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "rekognition:DetectFaces",
    "ecs:DiscoverPollEndpoint",
    "ecs:Poll",
    "ecs:StartTelemetrySession",
    "ecr:GetAuthorizationToken",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "cloudfront:CreateInvalidation",
    "cloudfront:GetInvalidation",
}
# Wildcard actions from aws-cdk-lib's own grants: the ECS agent's ecs:Submit* on this cluster
# and the BucketDeployment handler's object grants on the asset and web buckets.
CDK_WILDCARD_ACTIONS = {"ecs:Submit*", "s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"}


def statements(synthesis: Synthesis) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, body in synthesis.resources.items():
        if body["Type"] == "AWS::IAM::Policy":
            found += [(name, statement) for statement in body["Properties"]["PolicyDocument"]["Statement"]]
        if body["Type"] == "AWS::IAM::Role":
            for policy in body["Properties"].get("Policies", []):
                found += [(name, statement) for statement in policy["PolicyDocument"]["Statement"]]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_wildcard_actions(synthesis: Synthesis, variant: Synthesis) -> None:
    for stack in (synthesis, variant):
        for name, statement in statements(stack):
            for action in as_list(statement["Action"]):
                assert action != "*", name
                assert not action.endswith(":*"), (name, action)
                if "*" in action:
                    assert action in CDK_WILDCARD_ACTIONS, (name, action)


def test_star_resources_only_for_actions_without_resource_permissions(synthesis: Synthesis, variant: Synthesis) -> None:
    for stack in (synthesis, variant):
        for name, statement in statements(stack):
            if "*" in as_list(statement["Resource"]):
                actions = set(as_list(statement["Action"]))
                assert actions <= ACTIONS_WITHOUT_RESOURCES, (name, actions - ACTIONS_WITHOUT_RESOURCES)


def test_rekognition_only_when_configured(synthesis: Synthesis, variant: Synthesis) -> None:
    def grants_rekognition(stack: Synthesis) -> bool:
        return any("rekognition:DetectFaces" in as_list(statement["Action"]) for _, statement in statements(stack))

    assert not grants_rekognition(synthesis)
    assert grants_rekognition(variant)


def test_functions_touch_only_their_prefixes(synthesis: Synthesis) -> None:
    expected = {
        "ApiHandlerRole": {"uploads/", "faces/", "results/"},
        "IntakeValidateFaceRole": {"uploads/", "faces/"},
        "NotifyHandlerRole": {"results/"},
        "DeadLettersHandlerRole": {"uploads/", "faces/", "results/"},
        "WorkerTaskDefinitionTaskRole": {"faces/", "results/", "weights/"},
    }
    for role, prefixes in expected.items():
        seen = set()
        for name, statement in statements(synthesis):
            if not name.startswith(role):
                continue
            for resource in as_list(statement["Resource"]):
                text = str(resource)
                for prefix in ("uploads/", "faces/", "results/", "weights/"):
                    if f"/{prefix}*" in text:
                        seen.add(prefix)
        assert seen == prefixes, role
