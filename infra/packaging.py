"""Lambda code: a zip asset for the small functions and a container image for validate_face.

The zip has `functions/` at its root and the base dependencies from pyproject.toml next to
it, so handler paths such as `functions.api.handler.lambda_handler` resolve. Its wheels are
resolved for the Lambda runtime (CPython 3.12 on x86_64, glibc 2.34) by pip's `--platform`
options, so building on any Linux or macOS host gives the same files. When pip fails on the
host, CDK falls back to the same command in the AWS SAM build image (Docker).

validate_face also needs the face detector (onnxruntime, OpenCV), about 400 MB unpacked with
the base set, over Lambda's 250 MB limit for zip functions and layers. It is therefore a
container image function (up to 10 GB), built from infra/images/validate_face.Dockerfile
when the stack is deployed. Synthesis only stages the build context and needs no Docker.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_lambda as lambda_

from infra.config import REPOSITORY_ROOT
from infra.requirements import Requirements, read_requirements

RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = "3.12"
# Lambda's Python 3.12 runtime runs on Amazon Linux 2023 (glibc 2.34), which runs wheels built
# for glibc 2.5 to 2.34. pip 23 does not expand one --platform into the older compatible
# tags, so every one is listed, newest first (pip's order of preference).
GLIBC_MINOR = 34
PLATFORMS = tuple(f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MINOR, 4, -1))
FUNCTIONS_DIR = REPOSITORY_ROOT / "functions"
# Left out of the asset: caches, tests and anything that is not Python source or package data.
EXCLUDE = ["**/__pycache__", "**/*.pyc", "**/tests", "**/.pytest_cache", "**/.mypy_cache"]


def pip_arguments(requirements: tuple[str, ...], *, target: str, no_deps: bool = False) -> list[str]:
    """Return the `pip install` arguments that fetch Lambda-compatible wheels into `target`."""
    arguments = [
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        target,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
    ]
    for platform in PLATFORMS:
        arguments += ["--platform", platform]
    if no_deps:
        arguments.append("--no-deps")
    return arguments + list(requirements)


def docker_command(requirements: Requirements) -> list[str]:
    """Return the command for the Docker fallback, run in the SAM build image."""
    steps = ["pip " + shlex.join(pip_arguments(requirements.with_deps, target="/asset-output"))]
    if requirements.without_deps:
        steps.append("pip " + shlex.join(pip_arguments(requirements.without_deps, target="/asset-output", no_deps=True)))
    steps.append("mkdir -p /asset-output/functions && cp -R /asset-input/. /asset-output/functions/")
    return ["bash", "-c", " && ".join(steps)]


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Builds the asset on the host with this interpreter's pip; returns False to let CDK use Docker."""

    def __init__(self, requirements: Requirements, *, source: Path = FUNCTIONS_DIR) -> None:
        self._requirements = requirements
        self._source = source

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: object) -> bool:  # noqa: ARG002
        pip = [sys.executable, "-m", "pip"]
        try:
            subprocess.run([*pip, *pip_arguments(self._requirements.with_deps, target=output_dir)], check=True)
            if self._requirements.without_deps:
                no_deps = pip_arguments(self._requirements.without_deps, target=output_dir, no_deps=True)
                subprocess.run([*pip, *no_deps], check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            # CDK prints nothing when local bundling declines, so print why before Docker is tried.
            print(f"local Lambda bundling failed ({error}); falling back to Docker", file=sys.stderr)
            return False
        shutil.copytree(
            self._source,
            Path(output_dir) / "functions",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".pytest_cache", ".mypy_cache"),
            dirs_exist_ok=True,
        )
        return True


def function_code() -> lambda_.Code:
    """Return the zip asset for handlers that need only the base dependencies."""
    requirements = read_requirements()
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        exclude=EXCLUDE,
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            command=docker_command(requirements),
            local=PipLocalBundling(requirements),
        ),
    )


VALIDATE_DOCKERFILE = "infra/images/validate_face.Dockerfile"


def dockerignore_patterns(dockerfile: str) -> list[str]:
    """Read `<dockerfile>.dockerignore`, the build context's patterns for Docker and for CDK's staging."""
    path = REPOSITORY_ROOT / f"{dockerfile}.dockerignore"
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def detector_image_code(handler: str) -> lambda_.Code:
    """Return the container image code for `handler` with the base and `detect` dependencies."""
    return lambda_.Code.from_asset_image(
        str(REPOSITORY_ROOT),
        file=VALIDATE_DOCKERFILE,
        cmd=[handler],
        platform=ecr_assets.Platform.LINUX_AMD64,
        exclude=dockerignore_patterns(VALIDATE_DOCKERFILE),
    )
