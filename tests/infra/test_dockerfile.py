"""The worker image's Dockerfile: CUDA PyTorch base, pinned torch kept, non-root, the worker entry point."""

from __future__ import annotations

import importlib.util
import re
from fnmatch import fnmatch

from infra.worker import IMAGE_CONTEXT_EXCLUDE
from tests.infra.conftest import REPOSITORY_ROOT

DOCKERFILE = (REPOSITORY_ROOT / "container" / "Dockerfile").read_text(encoding="utf-8")


def instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def test_base_image_cuda_pytorch() -> None:
    (base,) = instructions("FROM")
    assert re.fullmatch(r"pytorch/pytorch:2\.13\.0-cuda\d+\.\d+-cudnn\d+-runtime", base), base


def test_installs_the_worker_extra_and_checks_cuda_torch() -> None:
    (run, *_) = instructions("RUN")
    assert 'pip install ".[worker]"' in run
    assert "torch.version.cuda" in run
    assert "import cv2, torch, container.worker.main, infra.weights_fetch" in run


def test_runs_as_non_root_user() -> None:
    users = instructions("USER")
    assert users and users[-1] not in ("0", "root")
    assert DOCKERFILE.rfind("USER") > DOCKERFILE.rfind("RUN")


def test_entry_point_is_the_worker_module() -> None:
    assert instructions("ENTRYPOINT") == ['["python", "-m", "container.worker"]']
    assert importlib.util.find_spec("container.worker.__main__") is not None
    assert importlib.util.find_spec("infra.weights_fetch") is not None


def test_build_context_contains_every_copied_path() -> None:
    def included(path: str) -> bool:
        keep = False
        for pattern in IMAGE_CONTEXT_EXCLUDE:
            negated = pattern.startswith("!")
            body = pattern.lstrip("!")
            if fnmatch(path, body) or fnmatch(path + "/x", body):
                keep = negated
        return keep

    for copy in instructions("COPY"):
        *sources, _destination = copy.split()
        for source in sources:
            assert included(source), source
            assert (REPOSITORY_ROOT / source).exists(), source
