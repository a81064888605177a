"""API: API Gateway REST API -> the `api` Lambda (create, status, delete), behind a WAF web ACL.

A REST API, not an HTTP API: only REST API stages can be associated with an AWS WAF web
ACL, and per-IP rate limiting is a WAF rate-based rule. Stage throttling adds a global
ceiling on top of it.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import DeploymentConfig
from infra.lambdas import HandlerFunction, log_retention
from infra.storage import FACES, RESULTS, UPLOADS, Storage

STAGE = "v1"
DELETE_TOKEN_HEADER = "X-Delete-Token"
# WAF's smallest allowed limit for a rate-based rule, per evaluation window.
WAF_MIN_RATE_LIMIT = 10


class Api(Construct):
    """The public job API: POST /jobs, GET /jobs/{job_id}, DELETE /jobs/{job_id}."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        storage: Storage,
        environment: dict[str, str],
        web_origin: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if config.waf_requests_per_ip_per_5_minutes < WAF_MIN_RATE_LIMIT:
            raise ValueError(
                f"waf_requests_per_ip_per_5_minutes={config.waf_requests_per_ip_per_5_minutes} is below "
                f"WAF's minimum of {WAF_MIN_RATE_LIMIT}; raise it in cdk.json"
            )

        self.handler = HandlerFunction(
            self,
            "Handler",
            handler="functions.api.handler.lambda_handler",
            service_name="api",
            environment={**environment, "S2A_WEB_ORIGIN": web_origin},
            timeout_seconds=config.api_timeout_seconds,
            memory_mb=config.api_memory_mb,
            log_retention_days=config.log_retention_days,
        )
        role = self.handler.role
        storage.grant_table(role, "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
        # The presigned POST for uploads/<job_id> is signed with this role, so the role needs PutObject there.
        storage.grant_objects(role, actions=["s3:PutObject"], prefixes=[UPLOADS])
        # GET /jobs/{job_id} returns a presigned link to the portrait.
        storage.grant_objects(role, actions=["s3:GetObject"], prefixes=[RESULTS])
        # DELETE /jobs/{job_id} removes every object of the job.
        storage.grant_objects(role, actions=["s3:DeleteObject"], prefixes=[UPLOADS, FACES, RESULTS])

        self.rest_api = self._rest_api(config, web_origin)
        self._routes()
        self.web_acl = self._web_acl(config)

    def _rest_api(self, config: DeploymentConfig, web_origin: str) -> apigw.RestApi:
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention(config.log_retention_days), removal_policy=RemovalPolicy.DESTROY
        )
        api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.stack_name}-api",
            description="selfie2anime job API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution logging needs the account-wide API Gateway CloudWatch role.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=config.api_rate_limit_per_second,
                throttling_burst_limit=config.api_burst_limit,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Request bodies carry email addresses; they never go to the logs.
                data_trace_enabled=False,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=[web_origin],
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["Content-Type", DELETE_TOKEN_HEADER],
                max_age=Duration.minutes(10),
            ),
        )
        # Errors produced by API Gateway itself (WAF blocks, throttling, unknown routes) also
        # need the CORS header, or the browser hides their status from the page.
        for response_type, name in ((apigw.ResponseType.DEFAULT_4_XX, "Default4xx"), (apigw.ResponseType.DEFAULT_5_XX, "Default5xx")):
            api.add_gateway_response(
                name,
                type=response_type,
                response_headers={"Access-Control-Allow-Origin": f"'{web_origin}'"},
            )
        # The same error body as the handler's response to a body that is not a JSON object.
        api.add_gateway_response(
            "BadRequestBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            status_code="400",
            response_headers={"Access-Control-Allow-Origin": f"'{web_origin}'"},
            templates={"application/json": '{"error": "invalid_json", "message": "The request body must be a JSON object."}'},
        )
        Validations.of(api).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                reason=(
                    "API Gateway's account-level CloudWatch role uses the AWS managed policy that the "
                    "API Gateway documentation prescribes; it is needed for stage execution logging."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions-APIG4",
                reason=(
                    "The job API is anonymous by design: a person creates a job with an email address. "
                    "Abuse is limited by the WAF rate rule, stage throttling and the per-email daily quota; "
                    "DELETE requires the job's delete token, checked by the handler."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions-COG4",
                reason="There are no user accounts, so there is no Cognito user pool to authorize against (see APIG4).",
            ),
        )
        return api

    def _routes(self) -> None:
        integration = apigw.LambdaIntegration(self.handler.function)
        validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        # Only the body's type is checked here. The handler checks the fields and responds with
        # messages a person can act on.
        json_object = self.rest_api.add_model(
            "JobRequest",
            content_type="application/json",
            schema=apigw.JsonSchema(schema=apigw.JsonSchemaVersion.DRAFT4, title="JobRequest", type=apigw.JsonSchemaType.OBJECT),
        )
        jobs = self.rest_api.root.add_resource("jobs")
        jobs.add_method(
            "POST",
            integration,
            request_models={"application/json": json_object},
            request_validator=validator,
        )
        job = jobs.add_resource("{job_id}")
        for method in ("GET", "DELETE"):
            job.add_method(
                method,
                integration,
                request_parameters={"method.request.path.job_id": True},
                request_validator=validator,
            )

    def _web_acl(self, config: DeploymentConfig) -> wafv2.CfnWebACL:
        metric_prefix = config.stack_name.replace("-", "")
        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=f"{metric_prefix}Api", sampled_requests_enabled=True
            ),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-limit-per-ip",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=config.waf_requests_per_ip_per_5_minutes,
                            evaluation_window_sec=300,
                        )
                    ),
                    visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                        cloud_watch_metrics_enabled=True, metric_name=f"{metric_prefix}RatePerIp", sampled_requests_enabled=True
                    ),
                )
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=web_acl.attr_arn,
        )
        return web_acl
