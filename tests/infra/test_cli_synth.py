"""`npx cdk synth` with the pinned CLI, from the repository root: no Docker, credentials or network."""

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


@pytest.mark.skipif(not CLI.is_dir(), reason="node_modules/aws-cdk is missing; run `npm ci` (scripts/test.sh does)")
def test_npx_cdk_synth_offline(tmp_path: Path) -> None:
    assert shutil.which("npx"), "npx is not on PATH; install Node.js 20"
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "CDK_"))}
    environment.update(
        {
            # cdk.json runs `python3 -m infra.app`; use this interpreter's environment.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
            "CDK_DISABLE_VERSION_CHECK": "1",
            "CDK_DISABLE_CLI_TELEMETRY": "1",
            # Keep the SDK's credential chain off the instance metadata address.
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
    )
    outdir = tmp_path / "cdk.out"
    command = ["npx", "--no-install", "cdk", "synth", "--quiet", "-c", "selfie2anime:skip-bundling=true", "-o", str(outdir)]
    result = subprocess.run(command, cwd=REPOSITORY_ROOT, env=environment, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERROR" not in output, output
    assert "Synthesis finished with errors" not in output, output
    template = json.loads((outdir / "Selfie2Anime.template.json").read_text(encoding="utf-8"))
    assert "UnbundledAssetsRule" in template["Rules"]
    report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
    assert all(plugin.get("summary", {}).get("status") != "failure" for plugin in report.get("pluginReports", [])), report
