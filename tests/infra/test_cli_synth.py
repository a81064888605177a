"""A plain `npx cdk synth` with the pinned CLI, from the repository root: no Docker, credentials or network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import REPOSITORY_ROOT

CLI = REPOSITORY_ROOT / "node_modules" / "aws-cdk"
STACK = "Selfie2Anime"
DOCKERFILES = ["container/Dockerfile", "infra/images/functions.Dockerfile"]


def offline_prefix() -> list[str]:
    """Return `unshare` arguments that run a command in a new network namespace, or [] where that is not allowed.

    Inside the namespace only a loopback device exists and it is down, so any network
    access by the CLI, the app or a package fails instead of going unnoticed.
    """
    unshare = shutil.which("unshare")
    if not unshare:
        return []
    probe = subprocess.run([unshare, "--user", "--map-root-user", "--net", "true"], capture_output=True, timeout=30)
    return [unshare, "--user", "--map-root-user", "--net"] if probe.returncode == 0 else []


def offline_environment(tmp_path: Path) -> dict[str, str]:
    """Return this environment without AWS or CDK variables, with a fake region and no credential source."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "CDK_"))}
    environment.update(
        {
            # cdk.json runs `python3 -m infra.app`; use this interpreter's environment.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            # No credentials anywhere: empty config files and no instance metadata lookup.
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "CDK_DISABLE_VERSION_CHECK": "1",
            "CDK_DISABLE_CLI_TELEMETRY": "1",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
    )
    # A Docker client would fail here: no daemon socket is reachable.
    environment["DOCKER_HOST"] = f"unix://{tmp_path / 'no-docker.sock'}"
    return environment


@pytest.mark.skipif(not CLI.is_dir(), reason="node_modules/aws-cdk is missing; run `npm ci` (scripts/test.sh does)")
def test_plain_cdk_synth_offline(tmp_path: Path) -> None:
    assert shutil.which("npx"), "npx is not on PATH; install Node.js 20"
    outdir = tmp_path / "cdk.out"
    command = [*offline_prefix(), "npx", "--no-install", "cdk", "synth", "--quiet", "-o", str(outdir)]
    result = subprocess.run(
        command, cwd=REPOSITORY_ROOT, env=offline_environment(tmp_path), capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERROR" not in output, output
    assert "Synthesis finished with errors" not in output, output

    template = json.loads((outdir / f"{STACK}.template.json").read_text(encoding="utf-8"))
    functions = [
        body["Properties"]
        for body in template["Resources"].values()
        if body["Type"] == "AWS::Lambda::Function" and "ImageConfig" in body["Properties"]
    ]
    # api, validate_face, notify, dead_letter and capacity_fallback, all from the functions image.
    assert len(functions) == 5
    # Only CDK's bootstrap version check, and no rule that rejects every deployment.
    assert sorted(template["Rules"]) == ["CheckBootstrapVersion"]

    assets = json.loads((outdir / f"{STACK}.assets.json").read_text(encoding="utf-8"))
    images = assets["dockerImages"].values()
    assert sorted(image["source"]["dockerFile"] for image in images) == DOCKERFILES
    for image in images:
        context = outdir / image["source"]["directory"]
        assert (context / image["source"]["dockerFile"]).is_file(), image["source"]

    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    assert all(plugin.get("summary", {}).get("status") != "failure" for plugin in report.get("pluginReports", [])), report
