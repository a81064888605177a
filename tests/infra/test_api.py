"""API: a regional REST API with throttling, logging and CORS, behind a per-IP WAF rate rule."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesis


def test_rest_api_is_regional(synthesis: Synthesis) -> None:
    api = synthesis.one("AWS::ApiGateway::RestApi")
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


def test_stage_throttles_logs_and_traces(synthesis: Synthesis, config: Any) -> None:
    stage = synthesis.one("AWS::ApiGateway::Stage")
    assert stage["StageName"] == "v1"
    assert stage["TracingEnabled"] is True
    settings = stage["MethodSettings"][0]
    assert settings["HttpMethod"] == "*"
    assert settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] == config.api_rate_limit_per_second
    assert settings["ThrottlingBurstLimit"] == config.api_burst_limit
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    assert "DestinationArn" in stage["AccessLogSetting"]


def test_routes(synthesis: Synthesis) -> None:
    methods = synthesis.of_type("AWS::ApiGateway::Method").values()
    verbs = sorted(method["Properties"]["HttpMethod"] for method in methods)
    assert verbs == ["DELETE", "GET", "OPTIONS", "OPTIONS", "OPTIONS", "POST"]
    paths = sorted(resource["Properties"]["PathPart"] for resource in synthesis.of_type("AWS::ApiGateway::Resource").values())
    assert paths == ["jobs", "{job_id}"]


def test_job_routes_use_lambda_proxy_and_validation(synthesis: Synthesis) -> None:
    for method in synthesis.of_type("AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        if properties["HttpMethod"] == "OPTIONS":
            continue
        assert properties["Integration"]["Type"] == "AWS_PROXY"
        assert "RequestValidatorId" in properties
        if properties["HttpMethod"] in ("GET", "DELETE"):
            assert properties["RequestParameters"] == {"method.request.path.job_id": True}
    validator = synthesis.one("AWS::ApiGateway::RequestValidator")
    assert validator["ValidateRequestBody"] is True
    assert validator["ValidateRequestParameters"] is True


def test_cors_is_limited_to_web_origin(synthesis: Synthesis) -> None:
    for method in synthesis.of_type("AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        if properties["HttpMethod"] != "OPTIONS":
            continue
        headers = properties["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        origin = headers["method.response.header.Access-Control-Allow-Origin"]
        assert origin != "'*'"
        assert "X-Delete-Token" in headers["method.response.header.Access-Control-Allow-Headers"]


def test_variant_cors_origin_is_configured_origin(variant: Synthesis) -> None:
    api_function = next(
        body["Properties"] for name, body in variant.of_type("AWS::Lambda::Function").items() if name.startswith("ApiHandler")
    )
    assert api_function["Environment"]["Variables"]["S2A_WEB_ORIGIN"] == "https://portraits.example.org"
    for method in variant.of_type("AWS::ApiGateway::Method").values():
        if method["Properties"]["HttpMethod"] == "OPTIONS":
            headers = method["Properties"]["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
            assert headers["method.response.header.Access-Control-Allow-Origin"] == "'https://portraits.example.org'"


def test_gateway_errors_carry_cors_header(synthesis: Synthesis) -> None:
    responses = {body["Properties"]["ResponseType"] for body in synthesis.of_type("AWS::ApiGateway::GatewayResponse").values()}
    assert responses == {"DEFAULT_4XX", "DEFAULT_5XX", "BAD_REQUEST_BODY"}
    for body in synthesis.of_type("AWS::ApiGateway::GatewayResponse").values():
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in body["Properties"]["ResponseParameters"]


def test_waf_rate_limits_each_ip(synthesis: Synthesis, config: Any) -> None:
    acl = synthesis.one("AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = acl["Rules"]
    assert len(rules) == 1
    assert rules[0]["Action"] == {"Block": {}}
    statement = rules[0]["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"
    assert statement["Limit"] == config.waf_requests_per_ip_per_5_minutes
    assert statement["EvaluationWindowSec"] == 300


def test_waf_is_attached_to_the_stage(synthesis: Synthesis) -> None:
    association = synthesis.one("AWS::WAFv2::WebACLAssociation")
    assert association["WebACLArn"]["Fn::GetAtt"][0].startswith("ApiWebAcl")
    parts = association["ResourceArn"]["Fn::Join"][1]
    assert any(isinstance(part, dict) and part.get("Ref", "").startswith("ApiRestApi") for part in parts)
    assert any(isinstance(part, str) and "/stages/" in part for part in parts)
