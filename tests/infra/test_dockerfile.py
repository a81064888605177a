"""The worker image's Dockerfile: CUDA PyTorch base, pinned torch kept, non-root, the worker entry point."""

from __future__ import annotations

import importlib.util
import json
import re
from fnmatch import fnmatch

from infra.packaging import dockerignore_patterns
from tests.infra.conftest import REPOSITORY_ROOT, Synthesis

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
    assert "import cv2, torch, container.worker.main, container.worker.weights_fetch" in run


def test_runs_as_non_root_user() -> None:
    users = instructions("USER")
    assert users and users[-1] not in ("0", "root")
    assert DOCKERFILE.rfind("USER") > DOCKERFILE.rfind("RUN")


def test_entry_point_is_the_worker_module() -> None:
    assert instructions("ENTRYPOINT") == ['["python", "-m", "container.worker"]']
    assert importlib.util.find_spec("container.worker.__main__") is not None
    assert importlib.util.find_spec("container.worker.weights_fetch") is not None


def test_build_context_contains_every_copied_path() -> None:
    def included(path: str) -> bool:
        keep = False
        for pattern in dockerignore_patterns("container/Dockerfile"):
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


def test_staged_contexts_hold_dockerfile_and_sources(synthesis: Synthesis) -> None:
    manifest = json.loads((synthesis.outdir / f"{synthesis.stack.stack_name}.assets.json").read_text(encoding="utf-8"))
    images = manifest["dockerImages"].values()
    assert sorted(image["source"]["dockerFile"] for image in images) == ["container/Dockerfile", "infra/images/functions.Dockerfile"]
    for image in images:
        context = synthesis.outdir / image["source"]["directory"]
        dockerfile = context / image["source"]["dockerFile"]
        assert dockerfile.is_file(), dockerfile
        for copy in re.findall(r"^COPY (.+)$", dockerfile.read_text(encoding="utf-8"), flags=re.MULTILINE):
            *sources, _destination = copy.split()
            for source in sources:
                assert (context / source).exists(), (image["source"]["dockerFile"], source)
        assert not list(context.rglob("__pycache__"))
        assert not (context / ".venv").exists()


def test_worker_context_leaves_out_cdk_app(synthesis: Synthesis) -> None:
    manifest = json.loads((synthesis.outdir / f"{synthesis.stack.stack_name}.assets.json").read_text(encoding="utf-8"))
    (worker,) = [image for image in manifest["dockerImages"].values() if image["source"]["dockerFile"] == "container/Dockerfile"]
    context = synthesis.outdir / worker["source"]["directory"]
    assert (context / "container" / "worker" / "weights_fetch.py").is_file()
    for left_out in ("infra", "tests", "node_modules", "web", "cdk.json"):
        assert not (context / left_out).exists(), left_out
