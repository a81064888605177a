"""Weights that load but cannot serve the pipeline, and interrupted or redirected installs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from container.weights import (
    DownloadError,
    ManifestError,
    TensorMismatchError,
    UnsupportedSourceError,
    WeightsFileError,
    install_weights,
    load_gan_stylizer,
    verify_weights,
)
from container.weights.manifest import ModelDescription
from container.worker.main import StylizerUnavailable, load_stylizer
from tests.model.factories import pytorch_checkpoint, save_pytorch_checkpoint, small_config

ROOT = Path(__file__).resolve().parents[2]


def _generator_b2a_only(
    path: Path, *, metadata_changes: dict[str, object] | None = None, network: str = "genB2A"
) -> Path:
    """Write a safetensors file with one valid generator (genB2A by default) and a header that describes it."""
    config = small_config(layout="pytorch")
    tensors = {f"{network}.{key}": value.contiguous() for key, value in pytorch_checkpoint(config)[network].items()}
    description = json.loads(ModelDescription.from_config(config, (network,)).header_metadata()["selfie2anime"])
    description.update(metadata_changes or {})
    save_file(tensors, str(path), metadata={"selfie2anime": json.dumps(description)})
    return path


def test_install_without_generator_keeps_previous(light_checkpoint: Path, tmp_path: Path) -> None:
    weights_dir = tmp_path / "weights"
    good = install_weights(str(light_checkpoint), weights_dir=weights_dir)

    with pytest.raises(ManifestError, match="no genA2B generator .networks: genB2A."):
        install_weights(str(_generator_b2a_only(tmp_path / "b2a.safetensors")), weights_dir=weights_dir)

    assert verify_weights(weights_dir).sha256 == good.sha256


def test_install_with_no_networks_rejected(tmp_path: Path) -> None:
    source = _generator_b2a_only(tmp_path / "empty.safetensors", metadata_changes={"networks": []})

    with pytest.raises(ManifestError, match=r"no genA2B generator \(networks: none\)"):
        install_weights(str(source), weights_dir=tmp_path / "weights")


def test_verify_rejects_manifest_without_generator(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["networks"] = ["genB2A"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(ManifestError, match="no genA2B generator"):
        verify_weights(tmp_path)


@pytest.mark.parametrize("folder", ["weights", "my weights"])
def test_errors_name_source_not_temporary_file(tmp_path: Path, folder: str) -> None:
    checkpoint = pytorch_checkpoint(small_config(layout="pytorch"))
    del checkpoint["genB2A"]["UpBlock1_3.norm2.rho"]
    source = tmp_path / "partial.pt"
    torch.save(checkpoint, source)

    with pytest.raises(TensorMismatchError) as caught:
        install_weights(str(source), weights_dir=tmp_path / folder)
    assert str(caught.value).startswith(f"{source} does not match")
    assert ".weights-" not in str(caught.value)


def test_redirect_to_ftp_rejected(file_server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, _ = file_server
    weights_dir = tmp_path / "weights"

    with pytest.raises(DownloadError, match="not an http or https URL"):
        install_weights(f"{base_url}/redirect/ftp://127.0.0.1:9/weights.pt", weights_dir=weights_dir)
    assert list(weights_dir.iterdir()) == []


def test_worker_refuses_weights_for_other_face_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Full mode records the image size in its MLP shapes, so these weights are for 32x32 faces.
    source = save_pytorch_checkpoint(tmp_path / "full.pt", small_config(layout="pytorch", mode="full"))
    install_weights(str(source), weights_dir=tmp_path / "weights")
    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(tmp_path / "weights"))

    with pytest.raises(StylizerUnavailable, match="for 32x32 faces, but the validator aligns faces to 256x256"):
        load_stylizer("auto")


def test_cli_warns_about_face_size(tmp_path: Path) -> None:
    source = save_pytorch_checkpoint(tmp_path / "full.pt", small_config(layout="pytorch", mode="full"))

    result = subprocess.run(
        [sys.executable, "-m", "selfie2anime", "model", "--weights-dir", str(tmp_path / "weights"), "install", str(source)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "warning: these weights are for 32x32 faces" in result.stderr
    assert "Traceback" not in result.stderr


def test_preview_style_states_its_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, light_checkpoint: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path / "weights")
    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(tmp_path / "weights"))

    assert load_stylizer("preview").description == "preview style: requested with style preview (S2A_STYLE or --style)"


def test_leftover_download_is_not_an_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    (weights_dir / ".weights-k1ll3d.download").write_bytes(b"partial")
    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(weights_dir))

    stylizer = load_stylizer("auto")

    assert stylizer.style == "preview"
    assert stylizer.description == "preview style: no GAN weights installed"


def test_install_removes_stale_temporary_files(light_checkpoint: Path, tmp_path: Path) -> None:
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    stale = weights_dir / ".weights-old.download"
    fresh = weights_dir / ".weights-new.download"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))

    install_weights(str(light_checkpoint), weights_dir=weights_dir)

    assert not stale.exists()
    assert fresh.exists()


class _SlowHandler(BaseHTTPRequestHandler):
    """Announces a large file, sends a little of it, then waits."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Length", str(10**9))
        self.end_headers()
        self.wfile.write(b"\0" * 4096)
        self.wfile.flush()
        time.sleep(30)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (signature of the base class)
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/weights.pt"
    finally:
        server.shutdown()
        server.server_close()


def test_sigterm_during_download_cleans_up(slow_server: str, tmp_path: Path) -> None:
    weights_dir = tmp_path / "weights"
    process = subprocess.Popen(
        [sys.executable, "-m", "selfie2anime", "model", "--weights-dir", str(weights_dir), "install", slow_server],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(weights_dir.glob(".weights-*.download")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(weights_dir.glob(".weights-*.download"))

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 130
    assert "error: interrupted" in stderr
    assert "Traceback" not in stderr
    assert list(weights_dir.iterdir()) == []


def test_info_into_closed_pipe_is_quiet(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)

    result = subprocess.run(
        [sys.executable, "-m", "selfie2anime", "model", "--weights-dir", str(tmp_path), "info"],
        cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, check=False,
    )  # fmt: skip
    os.close(write_end)

    assert result.returncode == 0
    assert result.stderr == ""


def test_half_precision_checkpoint_loads_as_float32(tmp_path: Path) -> None:
    checkpoint = pytorch_checkpoint(small_config(layout="pytorch"))
    half = {network: {key: value.half() for key, value in state.items()} for network, state in checkpoint.items()}
    torch.save(half, tmp_path / "half.pt")
    install_weights(str(tmp_path / "half.pt"), weights_dir=tmp_path / "weights")

    stylizer = load_gan_stylizer(tmp_path / "weights", precision="fp32")
    output = stylizer.forward(torch.zeros(1, 3, stylizer.image_size, stylizer.image_size))

    assert {parameter.dtype for parameter in stylizer.generator.parameters()} == {torch.float32}
    assert torch.isfinite(output.image).all()


def test_integer_tensors_rejected(tmp_path: Path) -> None:
    checkpoint = pytorch_checkpoint(small_config(layout="pytorch"))
    checkpoint["genA2B"] = {key: value.to(torch.int32) for key, value in checkpoint["genA2B"].items()}
    torch.save(checkpoint, tmp_path / "ints.pt")

    with pytest.raises(TensorMismatchError, match="not floating point: genA2B.*torch.int32") as caught:
        install_weights(str(tmp_path / "ints.pt"), weights_dir=tmp_path / "weights")
    assert len(str(caught.value)) < 600


def test_stray_tensor_rejected(tmp_path: Path) -> None:
    source = _generator_b2a_only(tmp_path / "stray.safetensors", network="genA2B")
    tensors = load_file(str(source))
    tensors["evil.payload"] = torch.zeros(3)
    save_file(tensors, str(source), metadata=safe_open_metadata(source))

    with pytest.raises(TensorMismatchError, match="tensors outside its networks .genA2B.: evil.payload"):
        install_weights(str(source), weights_dir=tmp_path / "weights")


def safe_open_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as reader:
        return reader.metadata()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channels": 10**12}, "channels must be 1 to 1024"),
        ({"n_res": 200000}, "n_res 1 to 64"),
        ({"image_size": 4 * 10**9}, "image_size must be a multiple of 4 from 8 to 2048"),
        ({"networks": ["genA2B", "genA2B"]}, "lists a network twice"),
        ({"channels": "8"}, "channels must be an integer, got '8'"),
    ],
)
def test_implausible_header_rejected(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    source = _generator_b2a_only(tmp_path / "odd.safetensors", metadata_changes=changes, network="genA2B")

    with pytest.raises(ManifestError, match=message):
        install_weights(str(source), weights_dir=tmp_path / "weights")


def test_malformed_url_rejected(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="invalid URL"):
        install_weights("http://[::1", weights_dir=tmp_path / "weights")
    assert list((tmp_path / "weights").iterdir()) == []


def test_fifo_rejected(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")

    with pytest.raises(UnsupportedSourceError, match="not a regular file"):
        install_weights(str(tmp_path / "pipe"), weights_dir=tmp_path / "weights")


def test_manifest_naming_itself_rejected(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["file"] = "manifest.json"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(ManifestError, match="name of a .safetensors file"):
        verify_weights(tmp_path)
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    assert verify_weights(tmp_path).file.endswith(".safetensors")


def test_weights_dir_after_command(light_checkpoint: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "selfie2anime", "model", "install", "--weights-dir", str(tmp_path / "w"), str(light_checkpoint)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert verify_weights(tmp_path / "w").format == "ugatit-pytorch"


def test_non_empty_folder_without_manifest_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "README.txt").write_text("notes")
    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(tmp_path))

    with pytest.raises(StylizerUnavailable, match="is not empty, so the preview style is not used either"):
        load_stylizer("auto")


def test_redirect_loop_error_is_one_line(file_server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, _ = file_server
    url = f"{base_url}/weights.pt"
    for _ in range(12):
        url = f"{base_url}/redirect/{url}"

    with pytest.raises(DownloadError, match="HTTP 302") as caught:
        install_weights(url, weights_dir=tmp_path / "weights")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("content", [b"\xff\xfe{", b"[" * 100_000], ids=["not-utf8", "deep-nesting"])
def test_unreadable_manifest_is_replaced_by_install(light_checkpoint: Path, tmp_path: Path, content: bytes) -> None:
    tmp_path.joinpath("manifest.json").write_bytes(content)

    with pytest.raises(ManifestError, match="is not valid UTF-8 JSON"):
        verify_weights(tmp_path)
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    assert verify_weights(tmp_path).format == "ugatit-pytorch"


def test_weights_dir_that_is_a_file(light_checkpoint: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")

    with pytest.raises(WeightsFileError, match="is not a directory"):
        install_weights(str(light_checkpoint), weights_dir=tmp_path / "afile")


def test_url_with_credentials_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedSourceError, match="carries a user name or password") as caught:
        install_weights("http://bob:secret@127.0.0.1:9/w.pt", weights_dir=tmp_path / "weights")
    assert "secret" not in str(caught.value)


def test_failed_write_keeps_previous(light_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = install_weights(str(light_checkpoint), weights_dir=tmp_path)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr("container.weights.install.save_file", disk_full)
    with pytest.raises(WeightsFileError, match=f"writing the weights into {tmp_path} failed: .*No space left"):
        install_weights(str(light_checkpoint), weights_dir=tmp_path)

    assert verify_weights(tmp_path).sha256 == good.sha256
    assert not list(tmp_path.glob(".weights-*"))


def test_manifest_write_failure_leaves_no_orphan(light_checkpoint: Path, tmp_path: Path) -> None:
    weights_dir = tmp_path / "weights"
    (weights_dir / "manifest.json").mkdir(parents=True)

    with pytest.raises(OSError):
        install_weights(str(light_checkpoint), weights_dir=weights_dir)

    assert sorted(path.name for path in weights_dir.iterdir()) == ["manifest.json"]


def test_cli_rejects_empty_weights_dir(light_checkpoint: Path, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "selfie2anime", "model", "install", "--weights-dir", "", str(light_checkpoint)],
        cwd=tmp_path / "work", capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip

    assert result.returncode == 2
    assert "the weights directory must not be empty" in result.stderr
    assert list((tmp_path / "work").iterdir()) == []


def test_os_error_names_directory_not_temporary_file(tmp_path: Path) -> None:
    from container.weights.cli import _where

    assert _where(str(tmp_path / ".weights-e4x1kxcr.safetensors.tmp")) == f" (weights directory {tmp_path})"
    assert _where(str(tmp_path / ".manifest.json.uklk2_n0.tmp")) == f" (weights directory {tmp_path})"
    assert _where(str(tmp_path / "model.pt")) == f" ({tmp_path / 'model.pt'})"
    assert _where(None) == ""
