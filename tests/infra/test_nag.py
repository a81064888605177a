"""cdk-nag AwsSolutions: no finding left unacknowledged, and every acknowledgment gives a reason."""

from __future__ import annotations

from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from tests.infra.conftest import Synthesis


def findings(synthesis: Synthesis) -> list[str]:
    report = AwsSolutionsChecks().validate_scope(synthesis.app)
    return [
        f"{violation.rule_name} at {resource.construct_path}: {violation.description}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]


def test_default_stack_has_no_findings(synthesis: Synthesis) -> None:
    assert findings(synthesis) == []


def test_variant_stack_has_no_findings(variant: Synthesis) -> None:
    assert findings(variant) == []


def test_acknowledgments_name_a_rule_and_a_reason(synthesis: Synthesis, variant: Synthesis) -> None:
    acknowledged = []
    for stack in (synthesis, variant):
        for construct in stack.app.node.find_all():
            for entry in construct.node.metadata:
                if entry.type != Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    continue
                for rule, reason in entry.data.items():
                    if "AwsSolutions-" in rule:
                        acknowledged.append((construct.node.path, rule, reason))
    assert acknowledged
    for path, rule, reason in acknowledged:
        assert len(reason) >= 40, (path, rule, reason)
        assert rule.removeprefix("Annotation::").startswith("AwsSolutions-"), (path, rule)
