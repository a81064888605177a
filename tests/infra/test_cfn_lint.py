"""cfn-lint on every synthesized template: no errors, no warnings but CDK's W3005."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infra.conftest import Synthesis

# W3005: CDK adds DependsOn entries that a Ref or GetAtt already implies.
ALLOWED = {"W3005"}
REGIONS = ["us-east-1", "eu-west-1"]


def templates(outdir: Path) -> list[Path]:
    found = sorted(outdir.glob("*.template.json"))
    assert found, f"no templates in {outdir}"
    return found


@pytest.mark.parametrize("which", ["synthesis", "variant"])
def test_templates_pass_cfn_lint(which: str, request: pytest.FixtureRequest) -> None:
    synthesis: Synthesis = request.getfixturevalue(which)
    for template in templates(synthesis.outdir):
        matches = lint_file(template, config=ManualArgs(regions=REGIONS))
        problems = [
            f"{match.rule.id} {match.linenumber}: {match.message}" for match in matches if match.rule.id not in ALLOWED
        ]
        assert problems == [], template.name
