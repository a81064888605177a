"""CDK app entry point (`cdk.json` runs `python3 -m infra.app`).

Context switches, passed with `cdk synth -c KEY=VALUE`:
  selfie2anime:skip-bundling=true  synthesize without building the Lambda assets (no pip, no
                                   Docker, no network). The template is for inspection only:
                                   a CloudFormation rule then makes every deployment of it fail.
"""

from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, CfnParameter, CfnRule, CfnRuleAssertion, Environment, Fn, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import CONTEXT_KEY, DeploymentConfig, load_config
from infra.stack import Selfie2AnimeStack

SKIP_BUNDLING = "selfie2anime:skip-bundling"
BUNDLING_STACKS = "aws:cdk:bundling-stacks"


def build_app(
    *, context: dict[str, Any] | None = None, outdir: str | None = None, nag: bool = True
) -> tuple[App, Selfie2AnimeStack]:
    """Build the app and its one stack; add the cdk-nag AwsSolutions checks unless `nag` is False.

    `context` replaces what the CLI passes (tests give cdk.json's context themselves).
    """
    app = App(context=context, outdir=outdir)
    skip_bundling = str(app.node.try_get_context(SKIP_BUNDLING)).lower() in ("true", "1")
    if skip_bundling:
        # The CLI requests bundling of every stack on `cdk synth` and `cdk deploy`, and this
        # replaces its value. Context can only be set while the app has no children yet.
        app.node.set_context(BUNDLING_STACKS, [])
    config = _config(app)
    stack = Selfie2AnimeStack(
        app,
        config.stack_name,
        config=config,
        env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    if skip_bundling or not stack.bundling_required:
        _refuse_deployment(stack)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def _config(app: App) -> DeploymentConfig:
    """Read the config from the app's context (cdk.json through the CLI), or from cdk.json directly."""
    values = app.node.try_get_context(CONTEXT_KEY)
    if values is None:
        return load_config()
    return DeploymentConfig.from_context(values)


def _refuse_deployment(stack: Selfie2AnimeStack) -> None:
    """Add a rule that fails every create or update: the Lambda assets of this synthesis hold no dependencies."""
    bundled = CfnParameter(
        stack,
        "LambdaAssetsBundled",
        type="String",
        default="false",
        description="false when the template was synthesized with selfie2anime:skip-bundling",
    )
    CfnRule(
        stack,
        "UnbundledAssetsRule",
        assertions=[
            CfnRuleAssertion(
                assert_=Fn.condition_equals(bundled.value_as_string, "true"),
                assert_description=(
                    "This template was synthesized with selfie2anime:skip-bundling, so its Lambda code has no "
                    "dependencies. Synthesize again without it before deploying."
                ),
            )
        ],
    )


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
