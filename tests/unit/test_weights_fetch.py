"""The worker's init container: weights copied from S3 only when every SHA-256 matches."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from container.worker.weights_fetch import MANIFEST, WeightsVerificationError, fetch_weights, main, parse_manifest

BUCKET = "weights-test"
PREFIX = "weights/"
FILES = {"manifest.json": b'{"file": "genA2B.safetensors"}', "genA2B.safetensors": b"\x00" * 4096}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_for(files: dict[str, bytes]) -> bytes:
    return "".join(f"{sha256(data)}  {name}\n" for name, data in files.items()).encode()


@pytest.fixture
def s3(stack: Any) -> Iterator[Any]:
    """An empty bucket on the embedded stack's moto server on 127.0.0.1.

    NOTE: moto's in-process mock_aws would reset the backends that the session's moto
    server shares, so these tests use that server instead.
    """
    from functions.core import aws

    client = aws.client("s3")
    if BUCKET not in {bucket["Name"] for bucket in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    yield client


def upload(s3: Any, files: dict[str, bytes], manifest: bytes) -> None:
    for name, data in files.items():
        s3.put_object(Bucket=BUCKET, Key=PREFIX + name, Body=data)
    s3.put_object(Bucket=BUCKET, Key=PREFIX + MANIFEST, Body=manifest)


def test_fetch_writes_verified_files(s3: Any, tmp_path: Path) -> None:
    manifest = manifest_for(FILES)
    upload(s3, FILES, manifest)
    written = fetch_weights(s3, bucket=BUCKET, prefix=PREFIX, destination=tmp_path, manifest_sha256=sha256(manifest))
    assert sorted(path.name for path in written) == sorted(FILES)
    for name, data in FILES.items():
        assert (tmp_path / name).read_bytes() == data
    assert (tmp_path / MANIFEST).read_bytes() == manifest


def test_pinned_hash_mismatch_rejects_manifest(s3: Any, tmp_path: Path) -> None:
    upload(s3, FILES, manifest_for(FILES))
    with pytest.raises(WeightsVerificationError, match="cdk.json pins"):
        fetch_weights(s3, bucket=BUCKET, prefix=PREFIX, destination=tmp_path, manifest_sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_tampered_file_is_rejected_and_removed(s3: Any, tmp_path: Path) -> None:
    manifest = manifest_for(FILES)
    upload(s3, {**FILES, "genA2B.safetensors": b"\x01" * 4096}, manifest)
    with pytest.raises(WeightsVerificationError, match="genA2B.safetensors has SHA-256"):
        fetch_weights(s3, bucket=BUCKET, prefix=PREFIX, destination=tmp_path, manifest_sha256=sha256(manifest))
    assert not (tmp_path / "genA2B.safetensors").exists()
    assert not (tmp_path / "genA2B.safetensors.partial").exists()


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/../../b"])
def test_manifest_path_outside_folder_is_rejected(name: str) -> None:
    with pytest.raises(WeightsVerificationError, match="outside the weights folder"):
        parse_manifest(f"{'a' * 64}  {name}\n")


def test_manifest_accepts_binary_marker() -> None:
    assert parse_manifest(f"{'B' * 64} *model.safetensors\n") == {"model.safetensors": "b" * 64}


@pytest.mark.parametrize("line", ["not-a-digest  file", f"{'a' * 64}", ""])
def test_malformed_manifest_is_rejected(line: str) -> None:
    with pytest.raises(WeightsVerificationError):
        parse_manifest(line)


def test_main_without_pinned_hash_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("S2A_BUCKET", "S2A_WEIGHTS_PREFIX", "S2A_WEIGHTS_DIR"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("S2A_WEIGHTS_MANIFEST_SHA256", "")
    assert main() == 1


def test_main_reports_missing_object(s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("S2A_BUCKET", BUCKET)
    monkeypatch.setenv("S2A_WEIGHTS_PREFIX", PREFIX)
    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("S2A_WEIGHTS_MANIFEST_SHA256", "a" * 64)
    assert main() == 1
