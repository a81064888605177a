"""Web: a private bucket behind CloudFront for the upload page, and the page's config.json."""

from __future__ import annotations

from aws_cdk import Acknowledgment, DefaultStackSynthesizer, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.config import REPOSITORY_ROOT
from infra.lambdas import log_retention
from infra.nag import render_for_nag

WEB_DIR = REPOSITORY_ROOT / "web"
CONFIG_FILE = "config.json"
PLACEHOLDER_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>selfie2anime</title></head>
<body><p>selfie2anime is deployed, but web/index.html was missing when it was synthesized. The API URL is in /config.json.</p></body>
</html>
"""


class Web(Construct):
    """Serves web/ (or a placeholder page while web/index.html does not exist) over HTTPS.

    `publish` uploads the page with a config.json that names the API URL, which is only
    known at deploy time.
    """

    def __init__(self, scope: Construct, construct_id: str, *, log_bucket: s3.IBucket, log_retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self._log_retention_days = log_retention_days
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix="s3/web/",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="selfie2anime upload page",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
        )
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        Validations.of(self.distribution).acknowledge(
            Acknowledgment(
                id="AwsSolutions-CFR1",
                reason="The upload page is for anyone who wants a portrait; there is no country to exclude.",
            ),
            Acknowledgment(
                id="AwsSolutions-CFR2",
                reason=(
                    "The distribution serves static files only. The API, where requests cost money, has its own "
                    "regional WAF web ACL; a CloudFront web ACL would have to live in us-east-1."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions-CFR4",
                reason=(
                    "Without a custom domain the distribution uses the default *.cloudfront.net certificate, "
                    "whose TLS policy CloudFront sets; add a domain and ACM certificate to choose TLSv1.2_2021."
                ),
            ),
        )

    def publish(self, *, api_url: str, result_days: int, max_upload_bytes: int) -> s3deploy.BucketDeployment:
        """Upload the page (or the placeholder) and config.json, and invalidate the CloudFront cache.

        config.json has the fields the page reads (web/api.js): apiUrl, resultDays and
        maxUploadBytes. The repository's own web/config.json, for the embedded stack, is left out.
        """
        if (WEB_DIR / "index.html").is_file():
            page = s3deploy.Source.asset(str(WEB_DIR), exclude=[CONFIG_FILE, "**/tests", "**/__pycache__", "**/*.md"])
        else:
            page = s3deploy.Source.data("index.html", PLACEHOLDER_PAGE)
        settings = {"apiUrl": api_url, "resultDays": result_days, "maxUploadBytes": max_upload_bytes}
        deployment = s3deploy.BucketDeployment(
            self,
            "Deployment",
            destination_bucket=self.bucket,
            sources=[page, s3deploy.Source.json_data(CONFIG_FILE, settings)],
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=256,
            # Delete the page with the stack, so that `cdk destroy` can remove the bucket.
            retain_on_delete=False,
            log_group=logs.LogGroup(
                self, "DeploymentLogs", retention=log_retention(self._log_retention_days), removal_policy=RemovalPolicy.DESTROY
            ),
        )
        self._acknowledge_deployment_handler()
        return deployment

    def _acknowledge_deployment_handler(self) -> None:
        """Acknowledge the findings on CDK's BucketDeployment handler, a singleton at stack level."""
        stack = Stack.of(self)
        handlers = [child for child in stack.node.children if child.node.id.startswith("Custom::CDKBucketDeployment")]
        for handler in handlers:
            Validations.of(handler).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-L1",
                    reason="The BucketDeployment handler's runtime is chosen by aws-cdk-lib and updated with it.",
                ),
                Acknowledgment(
                    id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                    reason="aws-cdk-lib gives its BucketDeployment handler the basic Lambda logging policy.",
                ),
                *(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[{finding}]",
                        reason=(
                            "aws-cdk-lib's BucketDeployment handler copies the page from the CDK asset bucket into the web "
                            "bucket with these object-level grants; it runs only during deployments."
                        ),
                    )
                    for finding in (
                        "Action::s3:GetObject*",
                        "Action::s3:GetBucket*",
                        "Action::s3:List*",
                        "Action::s3:DeleteObject*",
                        "Action::s3:Abort*",
                        "Resource::*",
                        f"Resource::{render_for_nag(stack.resolve(self.bucket.bucket_arn))}/*",
                        f"Resource::arn:{render_for_nag(stack.resolve(stack.partition))}:s3:::{_asset_bucket_pattern(stack)}/*",
                    )
                ),
            )


def _asset_bucket_pattern(stack: Stack) -> str:
    """Return the CDK bootstrap asset bucket's name as cdk-nag renders it (default synthesizer and qualifier)."""
    qualifier = stack.node.try_get_context("@aws-cdk/core:bootstrapQualifier") or DefaultStackSynthesizer.DEFAULT_QUALIFIER
    account = render_for_nag(stack.resolve(stack.account))
    region = render_for_nag(stack.resolve(stack.region))
    return f"cdk-{qualifier}-assets-{account}-{region}"
