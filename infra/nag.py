"""Helpers to acknowledge cdk-nag findings by their exact finding ids.

cdk-nag 3 reports each wildcard in an IAM policy as its own finding, for example
`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::bucket/uploads/*]`. In those ids a
reference is written `<LogicalId>`, `<LogicalId.Attribute>` or `<AWS::PseudoParameter>`.
Acknowledging the ids one by one keeps any wildcard added later a visible finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def render_for_nag(value: Any) -> str:
    """Render a resolved CloudFormation value the way cdk-nag writes it in finding ids.

    Raises:
        ValueError: the value uses an intrinsic function other than Ref, Fn::GetAtt or Fn::Join.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(render_for_nag(part) for part in parts)
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding id")


def acknowledge_wildcard_resources(construct: IConstruct, resources: Iterable[str], *, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for exactly these resource patterns on `construct`."""
    stack = Stack.of(construct)
    acknowledgments = [
        Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{render_for_nag(stack.resolve(resource))}]", reason=reason)
        for resource in resources
    ]
    Validations.of(construct).acknowledge(*acknowledgments)
