"""One synthesis of the CDK app per test session, shared by the infrastructure tests.

The app is built in-process with cdk.json's context, as the CLI would pass it. Synthesis
only stages the Docker build contexts, so no Docker, network or AWS credentials are needed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Synthesis:
    """The app, its stack, the template (as assertions.Template and as JSON) and the cloud assembly folder."""

    app: Any
    stack: Any
    template: Any
    resources: dict[str, dict[str, Any]]
    outdir: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Return the template's resources of one CloudFormation type, by logical id."""
        return {name: body for name, body in self.resources.items() if body["Type"] == resource_type}

    def one(self, resource_type: str) -> dict[str, Any]:
        """Return the properties of the only resource of `resource_type`."""
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.values()))["Properties"]


def cdk_json_context() -> dict[str, Any]:
    return json.loads((REPOSITORY_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]


def synthesize(outdir: Path, *, overrides: dict[str, Any] | None = None) -> Synthesis:
    """Synthesize the app with cdk.json's context, `overrides` applied to the selfie2anime key."""
    from aws_cdk.assertions import Template

    from infra.app import build_app

    context = cdk_json_context()
    context["selfie2anime"] = {**context["selfie2anime"], **(overrides or {})}
    app, stack = build_app(context=context, outdir=str(outdir), nag=False)
    app.synth()
    template = Template.from_stack(stack)
    return Synthesis(app=app, stack=stack, template=template, resources=template.to_json()["Resources"], outdir=outdir)


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    """The stack as cdk.json configures it."""
    yield synthesize(tmp_path_factory.mktemp("cdk-out"))


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    """The stack with the options cdk.json leaves off: an SES domain, Rekognition, installed weights.

    It also turns off the on-demand capacity fallback, which cdk.json turns on.
    """
    overrides = {
        "worker_fallback_to_on_demand": False,
        "ses_domain": "example.org",
        "sender": "portraits@example.org",
        "ses_sandbox_recipients": ["tester@example.net"],
        "face_detector": "rekognition",
        "weights_manifest_sha256": "a" * 64,
        "alarm_email": "ops@example.org",
        "cloud_web_origin": "https://portraits.example.org",
    }
    yield synthesize(tmp_path_factory.mktemp("cdk-out-variant"), overrides=overrides)


@pytest.fixture(scope="session")
def config() -> Any:
    from infra.config import load_config

    return load_config()
