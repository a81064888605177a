"""Web: the upload page from a private bucket through CloudFront, with config.json for the API URL."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.infra.conftest import Synthesis


def test_distribution_serves_bucket_over_https(synthesis: Synthesis) -> None:
    distribution = synthesis.one("AWS::CloudFront::Distribution")["DistributionConfig"]
    assert distribution["DefaultRootObject"] == "index.html"
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert distribution["Origins"][0]["OriginAccessControlId"]["Fn::GetAtt"][0].startswith("WebDistribution")
    assert distribution["Logging"]["Prefix"] == "cloudfront/"
    assert synthesis.of_type("AWS::CloudFront::OriginAccessControl")


def test_config_json_names_the_api(synthesis: Synthesis, config: Any) -> None:
    deployment = synthesis.one("Custom::CDKBucketDeployment")
    assert deployment["DistributionPaths"] == ["/*"]
    sources = [synthesis.outdir / f"asset.{key.removesuffix('.zip')}" for key in deployment["SourceObjectKeys"]]
    page, settings_source = sources
    assert (page / "index.html").is_file()
    assert not (page / "config.json").exists()
    # The deployment handler replaces the marker with the quoted API URL at deploy time.
    text = (settings_source / "config.json").read_text(encoding="utf-8")
    (marker_name,) = re.findall(r"<<marker:[^>]+>>", text)
    settings = json.loads(text.replace(marker_name, '"API"'))
    assert settings["apiUrl"] == "API"
    assert settings["resultDays"] == config.result_retention_days
    assert settings["maxUploadBytes"] == config.max_upload_bytes
    marker = deployment["SourceMarkers"][1][marker_name]
    assert any(isinstance(part, dict) and part.get("Ref", "").startswith("ApiRestApi") for part in marker["Fn::Join"][1])
