"""Copy the generator weights from S3 into the worker task and verify them before the worker starts.

The worker task runs this module in a non-essential init container of the worker image
(`python -m container.worker.weights_fetch`) that the worker container waits on. The
operator uploads the folder written by `selfie2anime model install` to
s3://<data bucket>/weights/ together with a SHA256SUMS file in `sha256sum` format, and pins
the SHA-256 of SHA256SUMS in cdk.json (`weights_manifest_sha256`). The manifest's hash is
checked first, then every file it lists, so a changed or truncated object in the bucket
stops the task instead of loading.

It uses only the standard library and boto3, which the worker image has.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = "SHA256SUMS"
CHUNK_BYTES = 8 * 1024 * 1024

logger = logging.getLogger("selfie2anime.weights_fetch")


class WeightsVerificationError(RuntimeError):
    """Raised when the manifest or a weights file does not match its SHA-256."""


def parse_manifest(text: str) -> dict[str, str]:
    """Parse `sha256sum` output into {relative path: hex digest}.

    Raises:
        WeightsVerificationError: a line is malformed, or a path is absolute or leaves the folder.
    """
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.partition(" ")
        # sha256sum writes two spaces, or " *" before the name in binary mode.
        name = name.lstrip(" ").removeprefix("*")
        path = PurePosixPath(name)
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest.lower()) or not name:
            raise WeightsVerificationError(f"{MANIFEST} line {number} is not '<sha256>  <file>': {line!r}")
        if path.is_absolute() or ".." in path.parts:
            raise WeightsVerificationError(f"{MANIFEST} line {number} names a path outside the weights folder: {name!r}")
        entries[str(path)] = digest.lower()
    if not entries:
        raise WeightsVerificationError(f"{MANIFEST} lists no files")
    return entries


def fetch_weights(s3: Any, *, bucket: str, prefix: str, destination: Path, manifest_sha256: str) -> list[Path]:
    """Download and verify every file listed in the manifest; return the paths written.

    Raises:
        WeightsVerificationError: the manifest or a file does not match its pinned SHA-256.
        botocore.exceptions.ClientError: an object is missing or not readable.
    """
    manifest_bytes = s3.get_object(Bucket=bucket, Key=prefix + MANIFEST)["Body"].read()
    actual = hashlib.sha256(manifest_bytes).hexdigest()
    if actual != manifest_sha256.lower():
        raise WeightsVerificationError(
            f"s3://{bucket}/{prefix}{MANIFEST} has SHA-256 {actual}, but cdk.json pins {manifest_sha256}; "
            "upload the matching manifest or update weights_manifest_sha256 and deploy"
        )
    entries = parse_manifest(manifest_bytes.decode("utf-8"))

    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for name, expected in entries.items():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        digest = hashlib.sha256()
        body = s3.get_object(Bucket=bucket, Key=prefix + name)["Body"]
        with partial.open("wb") as file:
            for chunk in iter(lambda: body.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                file.write(chunk)
        if digest.hexdigest() != expected:
            partial.unlink()
            raise WeightsVerificationError(
                f"s3://{bucket}/{prefix}{name} has SHA-256 {digest.hexdigest()}, but {MANIFEST} lists {expected}"
            )
        partial.replace(target)
        written.append(target)
        logger.info("verified %s (%s)", name, expected)
    (destination / MANIFEST).write_bytes(manifest_bytes)
    return written


def main() -> int:
    """Read the settings from the environment, fetch the weights, and return the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    names = ("S2A_BUCKET", "S2A_WEIGHTS_PREFIX", "S2A_WEIGHTS_DIR", "S2A_WEIGHTS_MANIFEST_SHA256")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        logger.error("environment variables %s are missing; set weights_manifest_sha256 in cdk.json and deploy", ", ".join(missing))
        return 1
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        written = fetch_weights(
            boto3.client("s3"),
            bucket=os.environ["S2A_BUCKET"],
            prefix=os.environ["S2A_WEIGHTS_PREFIX"],
            destination=Path(os.environ["S2A_WEIGHTS_DIR"]),
            manifest_sha256=os.environ["S2A_WEIGHTS_MANIFEST_SHA256"],
        )
    except WeightsVerificationError as error:
        logger.error("weights rejected: %s", error)
        return 1
    except (BotoCoreError, ClientError) as error:
        logger.error("could not read the weights from S3: %s", error)
        return 1
    logger.info("installed %d weights files into %s", len(written), os.environ["S2A_WEIGHTS_DIR"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
