"""Installing, verifying and loading weights: strict, checksummed, and never partial."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from container.weights import (
    ChecksumMismatchError,
    ConversionError,
    DownloadError,
    InvalidSha256Error,
    ManifestError,
    ModeMismatchError,
    TensorMismatchError,
    UnsupportedSourceError,
    WeightsFileError,
    WeightsNotInstalledError,
    install_weights,
    load_gan_stylizer,
    load_installed_network,
    verify_weights,
    weights_info,
    weights_installed,
)
from container.weights.files import sha256_file
from container.weights.manifest import read_manifest
from tests.model.factories import pytorch_checkpoint, small_config


def _installed_file(weights_dir: Path) -> Path:
    return weights_dir / read_manifest(weights_dir).file


def _edit_manifest(weights_dir: Path, **changes: object) -> None:
    path = weights_dir / "manifest.json"
    values = json.loads(path.read_text())
    values.update(changes)
    path.write_text(json.dumps(values))


# --- install ---------------------------------------------------------------------------------------


def test_install_pytorch_checkpoint(light_checkpoint: Path, tmp_path: Path) -> None:
    weights_dir = tmp_path / "weights"
    manifest = install_weights(str(light_checkpoint), weights_dir=weights_dir)

    assert manifest.format == "ugatit-pytorch"
    assert manifest.mode == "light"
    assert manifest.channels == 4
    assert manifest.networks == ("genA2B", "genB2A", "disGA", "disGB", "disLA", "disLB")
    assert manifest.sha256 == sha256_file(weights_dir / manifest.file)
    assert manifest.source == str(light_checkpoint.resolve())
    assert weights_installed(weights_dir)


def test_installed_tensors_equal_checkpoint(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path / "weights")
    original = torch.load(light_checkpoint, weights_only=True)
    stored = load_file(_installed_file(tmp_path / "weights"))
    for network, state in original.items():
        for key, tensor in state.items():
            assert torch.equal(stored[f"{network}.{key}"], tensor), f"{network}.{key}"


def test_install_full_mode_records_image_size(full_checkpoint: Path, tmp_path: Path) -> None:
    manifest = install_weights(str(full_checkpoint), weights_dir=tmp_path / "weights")
    assert manifest.mode == "full"
    assert manifest.image_size == 32


def test_install_checks_sha256(light_checkpoint: Path, tmp_path: Path) -> None:
    digest = sha256_file(light_checkpoint)
    install_weights(str(light_checkpoint), sha256=digest.upper(), weights_dir=tmp_path / "ok")

    with pytest.raises(ChecksumMismatchError, match=f"expected {'0' * 64}"):
        install_weights(str(light_checkpoint), sha256="0" * 64, weights_dir=tmp_path / "bad")
    assert not weights_installed(tmp_path / "bad")


def test_install_rejects_malformed_sha256(light_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidSha256Error, match="64 hexadecimal digits"):
        install_weights(str(light_checkpoint), sha256="abc", weights_dir=tmp_path)


def test_install_missing_path(tmp_path: Path) -> None:
    with pytest.raises(WeightsFileError, match="not found"):
        install_weights(str(tmp_path / "nowhere.pt"), weights_dir=tmp_path / "weights")


def test_install_rejects_unknown_file(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("not weights")
    with pytest.raises(UnsupportedSourceError, match="neither a safetensors file nor a torch checkpoint"):
        install_weights(str(source), weights_dir=tmp_path / "weights")


def test_install_tf_directory_needs_tensorflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import tensorflow` raise ImportError.
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    (tmp_path / "checkpoint" / "run").mkdir(parents=True)
    (tmp_path / "checkpoint" / "run" / "UGATIT.model-1000.index").write_bytes(b"")
    with pytest.raises(ConversionError, match=r"pip install -e '\.\[convert\]'"):
        install_weights(str(tmp_path / "checkpoint"), weights_dir=tmp_path / "weights")


def test_install_rejects_other_url_schemes(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedSourceError, match="only http:// and https://"):
        install_weights("ftp://127.0.0.1/weights.pt", weights_dir=tmp_path)


def test_install_rejects_torch_file_with_code(tmp_path: Path) -> None:
    source = tmp_path / "pickled.pt"
    torch.save({"genA2B": {"x": torch.zeros(1)}, "callback": print}, source)
    with pytest.raises(WeightsFileError, match="objects other than tensors, which are not loaded for safety"):
        install_weights(str(source), weights_dir=tmp_path / "weights")


def test_install_rejects_checkpoint_without_generator(tmp_path: Path) -> None:
    source = tmp_path / "discriminators.pt"
    torch.save({"disGA": {"x": torch.zeros(1)}}, source)
    with pytest.raises(ConversionError, match="genA2B"):
        install_weights(str(source), weights_dir=tmp_path / "weights")


def test_install_names_missing_tensor(tmp_path: Path) -> None:
    checkpoint = pytorch_checkpoint(small_config(layout="pytorch"))
    del checkpoint["genB2A"]["UpBlock1_3.norm2.rho"]
    torch.save(checkpoint, tmp_path / "partial.pt")

    with pytest.raises(TensorMismatchError, match=r"missing tensors: genB2A\.UpBlock1_3\.norm2\.rho"):
        install_weights(str(tmp_path / "partial.pt"), weights_dir=tmp_path / "weights")
    assert not weights_installed(tmp_path / "weights")


def test_install_names_unexpected_and_misshapen_tensors(tmp_path: Path) -> None:
    checkpoint = pytorch_checkpoint(small_config(layout="pytorch"))
    checkpoint["genA2B"]["extra.weight"] = torch.zeros(3)
    checkpoint["genA2B"]["conv1x1.bias"] = torch.zeros(7)
    torch.save(checkpoint, tmp_path / "odd.pt")

    with pytest.raises(TensorMismatchError) as caught:
        install_weights(str(tmp_path / "odd.pt"), weights_dir=tmp_path / "weights")
    message = str(caught.value)
    assert "unexpected tensors: genA2B.extra.weight" in message
    assert "genA2B.conv1x1.bias is [7], expected [16]" in message


def test_failed_install_keeps_previous_weights(light_checkpoint: Path, tmp_path: Path) -> None:
    weights_dir = tmp_path / "weights"
    first = install_weights(str(light_checkpoint), weights_dir=weights_dir)
    broken = pytorch_checkpoint(small_config(layout="pytorch"))
    del broken["genA2B"]["gamma.weight"]
    torch.save(broken, tmp_path / "broken.pt")

    with pytest.raises(TensorMismatchError):
        install_weights(str(tmp_path / "broken.pt"), weights_dir=weights_dir)

    assert verify_weights(weights_dir).sha256 == first.sha256
    leftovers = [path.name for path in weights_dir.iterdir() if path.name not in ("manifest.json", first.file)]
    assert leftovers == []


def test_reinstall_replaces_previous_file(light_checkpoint: Path, full_checkpoint: Path, tmp_path: Path) -> None:
    weights_dir = tmp_path / "weights"
    first = install_weights(str(light_checkpoint), weights_dir=weights_dir)
    second = install_weights(str(full_checkpoint), weights_dir=weights_dir)
    assert sorted(path.name for path in weights_dir.iterdir()) == sorted(["manifest.json", second.file])
    assert first.file != second.file


def test_install_safetensors_with_manifest_beside(light_checkpoint: Path, tmp_path: Path) -> None:
    exported = install_weights(str(light_checkpoint), weights_dir=tmp_path / "export")
    manifest = install_weights(str(tmp_path / "export" / exported.file), weights_dir=tmp_path / "weights")
    assert manifest.sha256 == exported.sha256
    assert manifest.mode == "light"


def test_install_safetensors_reads_header_without_manifest(light_checkpoint: Path, tmp_path: Path) -> None:
    exported = install_weights(str(light_checkpoint), weights_dir=tmp_path / "export")
    alone = tmp_path / "alone"
    alone.mkdir()
    (tmp_path / "export" / exported.file).rename(alone / "model.safetensors")

    manifest = install_weights(str(alone / "model.safetensors"), weights_dir=tmp_path / "weights")
    assert (manifest.format, manifest.mode, manifest.channels) == ("ugatit-pytorch", "light", 4)


def test_install_safetensors_without_description(tmp_path: Path) -> None:
    save_file({"genA2B.x": torch.zeros(2)}, str(tmp_path / "bare.safetensors"))
    with pytest.raises(ManifestError, match="no manifest.json beside it"):
        install_weights(str(tmp_path / "bare.safetensors"), weights_dir=tmp_path / "weights")


def test_install_safetensors_checks_manifest_hash(light_checkpoint: Path, tmp_path: Path) -> None:
    exported = install_weights(str(light_checkpoint), weights_dir=tmp_path / "export")
    _edit_manifest(tmp_path / "export", sha256="f" * 64)
    with pytest.raises(ChecksumMismatchError, match="damaged or was replaced"):
        install_weights(str(tmp_path / "export" / exported.file), weights_dir=tmp_path / "weights")


# --- install from a URL (served on 127.0.0.1) ------------------------------------------------------


def test_install_from_url(light_checkpoint: Path, file_server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, folder = file_server
    (folder / "params.pt").write_bytes(light_checkpoint.read_bytes())
    weights_dir = tmp_path / "weights"

    manifest = install_weights(f"{base_url}/params.pt", sha256=sha256_file(light_checkpoint), weights_dir=weights_dir)

    assert manifest.source == f"{base_url}/params.pt"
    assert verify_weights(weights_dir).sha256 == manifest.sha256
    assert sorted(path.name for path in weights_dir.iterdir()) == sorted(["manifest.json", manifest.file])


def test_install_safetensors_from_url(light_checkpoint: Path, file_server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, folder = file_server
    exported = install_weights(str(light_checkpoint), weights_dir=tmp_path / "export")
    (folder / "model.safetensors").write_bytes((tmp_path / "export" / exported.file).read_bytes())

    manifest = install_weights(f"{base_url}/model.safetensors", sha256=exported.sha256, weights_dir=tmp_path / "weights")
    assert manifest.sha256 == exported.sha256


def test_url_checksum_mismatch_leaves_nothing(light_checkpoint: Path, file_server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, folder = file_server
    (folder / "params.pt").write_bytes(light_checkpoint.read_bytes())
    weights_dir = tmp_path / "weights"

    with pytest.raises(ChecksumMismatchError, match="Check the URL and the --sha256 value"):
        install_weights(f"{base_url}/params.pt", sha256="1" * 64, weights_dir=weights_dir)
    assert list(weights_dir.iterdir()) == []


def test_url_not_found(file_server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, _ = file_server
    with pytest.raises(DownloadError, match="HTTP 404"):
        install_weights(f"{base_url}/missing.pt", weights_dir=tmp_path / "weights")


def test_truncated_download_rejected(light_checkpoint: Path, file_server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, folder = file_server
    (folder / "params.pt").write_bytes(light_checkpoint.read_bytes())
    weights_dir = tmp_path / "weights"

    with pytest.raises(DownloadError, match="download of .* failed|stopped after"):
        install_weights(f"{base_url}/truncated/params.pt", weights_dir=weights_dir)
    assert list(weights_dir.iterdir()) == []


# --- info, verify and load -------------------------------------------------------------------------


def test_info_reports_manifest(light_checkpoint: Path, tmp_path: Path) -> None:
    manifest = install_weights(str(light_checkpoint), weights_dir=tmp_path)
    info = weights_info(tmp_path)
    assert info["mode"] == "light"
    assert info["format"] == "ugatit-pytorch"
    assert info["sha256"] == manifest.sha256
    assert info["file_present"] is True
    assert info["path"] == str(tmp_path / manifest.file)


def test_info_without_weights(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotInstalledError, match="selfie2anime model install"):
        weights_info(tmp_path)
    assert not weights_installed(tmp_path)


def test_weights_dir_from_environment(light_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(tmp_path / "from-env"))
    install_weights(str(light_checkpoint))
    assert (tmp_path / "from-env" / "manifest.json").is_file()
    assert weights_installed()


def test_load_refuses_truncated_file(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    path = _installed_file(tmp_path)
    path.write_bytes(path.read_bytes()[:-1000])

    with pytest.raises(WeightsFileError, match="truncated"):
        load_gan_stylizer(tmp_path)
    assert not weights_installed(tmp_path)


def test_load_refuses_changed_bytes(light_checkpoint: Path, tmp_path: Path) -> None:
    manifest = install_weights(str(light_checkpoint), weights_dir=tmp_path)
    path = _installed_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(ChecksumMismatchError, match=f"records {manifest.sha256}"):
        load_gan_stylizer(tmp_path)
    with pytest.raises(ChecksumMismatchError):
        verify_weights(tmp_path)


def test_load_refuses_missing_file(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    _installed_file(tmp_path).unlink()
    with pytest.raises(WeightsFileError, match="is missing"):
        load_gan_stylizer(tmp_path)


def test_load_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotInstalledError, match="no weights installed"):
        load_gan_stylizer(tmp_path)


def test_load_refuses_invalid_manifest(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid UTF-8 JSON"):
        load_gan_stylizer(tmp_path)


def test_mode_mismatch_names_file_mode(full_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(full_checkpoint), weights_dir=tmp_path)
    _edit_manifest(tmp_path, mode="light")

    with pytest.raises(ModeMismatchError, match="contains full-mode U-GAT-IT weights for 32px images") as caught:
        load_gan_stylizer(tmp_path)
    assert "but its description says light mode at 32px" in str(caught.value)


def test_requested_mode_must_match(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    with pytest.raises(ModeMismatchError, match="are light mode but full mode was requested"):
        load_gan_stylizer(tmp_path, mode="full")


def test_loaded_generator_has_no_meta_tensors(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    stylizer = load_gan_stylizer(tmp_path, batch_size=2)
    tensors = list(stylizer.generator.parameters()) + list(stylizer.generator.buffers())
    assert tensors
    assert all(tensor.device.type == "cpu" for tensor in tensors)


def test_loaded_generator_equals_checkpoint(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    stylizer = load_gan_stylizer(tmp_path)
    original = torch.load(light_checkpoint, weights_only=True)["genA2B"]
    loaded = stylizer.generator.state_dict()
    assert set(loaded) == set(original)
    for key, tensor in original.items():
        assert torch.equal(loaded[key], tensor), key


def test_loaded_stylizer_makes_portraits(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    stylizer = load_gan_stylizer(tmp_path, batch_size=2)
    faces = [Image.new("RGB", (256, 256), color) for color in ((200, 150, 120), (40, 60, 90), (255, 255, 255))]

    portraits = stylizer.stylize(faces)

    assert stylizer.style == "gan"
    assert "light mode" in stylizer.description
    assert [portrait.size for portrait in portraits] == [(256, 256)] * 3
    assert all(portrait.mode == "RGB" for portrait in portraits)


def test_load_installed_discriminator(light_checkpoint: Path, tmp_path: Path) -> None:
    install_weights(str(light_checkpoint), weights_dir=tmp_path)
    discriminator = load_installed_network("disGB", tmp_path)
    with torch.inference_mode():
        output = discriminator(torch.zeros(1, 3, 128, 128))
    assert tuple(output.cam_logit.shape) == (1, 2)
    original = torch.load(light_checkpoint, weights_only=True)["disGB"]
    loaded = discriminator.state_dict()
    assert all(torch.equal(loaded[key], tensor) for key, tensor in original.items())


def test_load_installed_network_rejects_absent_network(tmp_path: Path) -> None:
    checkpoint = pytorch_checkpoint(small_config(layout="pytorch"), networks=("genA2B",))
    torch.save(checkpoint, tmp_path / "generator_only.pt")
    install_weights(str(tmp_path / "generator_only.pt"), weights_dir=tmp_path / "weights")

    with pytest.raises(ManifestError, match="have no disGA"):
        load_installed_network("disGA", tmp_path / "weights")
    with pytest.raises(ValueError, match="unknown network"):
        load_installed_network("disGC", tmp_path / "weights")
