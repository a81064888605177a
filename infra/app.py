"""CDK app entry point (`cdk.json` runs `python3 -m infra.app`).

Synthesis needs no Docker, no AWS credentials and no network: the two images (the GPU
worker and the Lambda functions) are staged as Docker build contexts and built by
`cdk deploy`, and nothing is bundled.
"""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import CONTEXT_KEY, DeploymentConfig, load_config
from infra.stack import Selfie2AnimeStack


def build_app(
    *, context: dict[str, Any] | None = None, outdir: str | None = None, nag: bool = True
) -> tuple[App, Selfie2AnimeStack]:
    """Build the app and its one stack; add the cdk-nag AwsSolutions checks unless `nag` is False.

    `context` replaces what the CLI passes (tests give cdk.json's context themselves).
    """
    app = App(context=context, outdir=outdir)
    config = _config(app)
    stack = Selfie2AnimeStack(
        app,
        config.stack_name,
        config=config,
        env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def _config(app: App) -> DeploymentConfig:
    """Read the config from the app's context (cdk.json through the CLI), or from cdk.json directly."""
    values = app.node.try_get_context(CONTEXT_KEY)
    if values is None:
        return load_config()
    return DeploymentConfig.from_context(values)


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
