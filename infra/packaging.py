"""Lambda code: one container image, built from infra/images/functions.Dockerfile, for every handler.

The image contains the `functions` package with the base dependencies and the `detect` extra
of pyproject.toml. Those packages take about 430 MB installed, 270 MB of it onnxruntime and
OpenCV (measured in the development virtualenv), over Lambda's 250 MB limit for a zip
function with its layers, so the functions are container image functions (up to 10 GB).
Each function runs its own handler, set as the image's CMD.

Synthesis only copies the build context into the cloud assembly, so it needs no Docker, no
pip and no network. `cdk deploy` builds the image with Docker and pushes it to the
bootstrap ECR repository. All functions share one image asset: the CMD is part of the
function's configuration, not of the image, so the asset hash and the build are the same.
"""

from __future__ import annotations

from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_

from infra.config import REPOSITORY_ROOT

FUNCTIONS_DOCKERFILE = "infra/images/functions.Dockerfile"


def dockerignore_patterns(dockerfile: str) -> list[str]:
    """Read `<dockerfile>.dockerignore`, the build context's patterns for Docker and for CDK's staging."""
    path = REPOSITORY_ROOT / f"{dockerfile}.dockerignore"
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def function_image_code(handler: str) -> lambda_.DockerImageCode:
    """Return the functions image with `handler` (a dotted path such as `functions.api.handler.lambda_handler`) as CMD."""
    return lambda_.DockerImageCode.from_image_asset(
        str(REPOSITORY_ROOT),
        file=FUNCTIONS_DOCKERFILE,
        cmd=[handler],
        platform=ecr_assets.Platform.LINUX_AMD64,
        exclude=dockerignore_patterns(FUNCTIONS_DOCKERFILE),
    )
