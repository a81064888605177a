"""Storage: the data bucket (uploads/, faces/, results/, weights/), the log bucket and the jobs table."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DeploymentConfig
from infra.nag import acknowledge_wildcard_resources

UPLOADS = "uploads/"
FACES = "faces/"
RESULTS = "results/"
WEIGHTS = "weights/"
JOB_KEY = "job_id"
TTL_ATTRIBUTE = "expires_at"
# S3 bucket names are at most 63 characters: the name adds 36 to the stack name
# ("-data-", a 12-digit account id, "-" and a region of up to 15 characters).
MAX_STACK_NAME_FOR_BUCKET = 27
LOG_BUCKET_DAYS = 90


class Storage(Construct):
    """The data bucket, the bucket for access logs, and the DynamoDB jobs table.

    The data bucket has a fixed name built from the stack name, account and region. The S3
    notification to the intake queue is then plain CloudFormation: the queue policy can name
    the bucket before the bucket exists, so no custom resource is needed to break the cycle.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        if len(config.stack_name) > MAX_STACK_NAME_FOR_BUCKET:
            raise ValueError(
                f"stack_name {config.stack_name!r} has {len(config.stack_name)} characters; the data bucket's "
                f"name needs it to have at most {MAX_STACK_NAME_FOR_BUCKET}"
            )
        stack = Stack.of(self)

        # --- log bucket: S3 server access logs and CloudFront standard logs
        self.log_bucket = s3.Bucket(
            self,
            "LogBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            # CloudFront standard logging writes with an ACL, which needs ACLs enabled.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(LOG_BUCKET_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.log_bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This bucket is the access-log destination; logging it into itself would log every log delivery.",
            )
        )

        # --- data bucket
        self.data_bucket_name = f"{config.stack_name.lower()}-data-{stack.account}-{stack.region}"
        self.data_bucket = s3.Bucket(
            self,
            "DataBucket",
            bucket_name=self.data_bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/data/",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-uploads", prefix=UPLOADS, expiration=Duration.days(config.upload_retention_days)),
                s3.LifecycleRule(id="expire-faces", prefix=FACES, expiration=Duration.days(config.face_retention_days)),
                s3.LifecycleRule(id="expire-results", prefix=RESULTS, expiration=Duration.days(config.result_retention_days)),
                s3.LifecycleRule(id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            # Stored photos expire within days. `cdk destroy` fails on a bucket that still has
            # objects, so docs/deploy.md empties it first.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.data_bucket_arn = f"arn:{stack.partition}:s3:::{self.data_bucket_name}"

        # --- jobs table: job rows and per-email quota rows (keys "quota#...")
        self.table = dynamodb.Table(
            self,
            "JobsTable",
            partition_key=dynamodb.Attribute(name=JOB_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def allow_browser_uploads(self, origins: Sequence[str]) -> None:
        """Allow the upload page's origins to POST the presigned form (and GET results) cross-origin."""
        self.data_bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.GET],
            allowed_origins=list(origins),
            allowed_headers=["*"],
            max_age=3000,
        )

    def object_arn(self, prefix: str) -> str:
        """Return the ARN pattern of every object under `prefix` in the data bucket."""
        return f"{self.data_bucket_arn}/{prefix}*"

    def grant_objects(self, grantee: iam.IGrantable, *, actions: Sequence[str], prefixes: Sequence[str]) -> None:
        """Allow `actions` on the objects under each prefix, and nothing else in the bucket."""
        resources = [self.object_arn(prefix) for prefix in prefixes]
        principal = grantee.grant_principal
        principal.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=resources))
        if isinstance(principal, Construct):
            acknowledge_wildcard_resources(
                principal,
                resources,
                reason="Limited to the objects under one prefix of the data bucket; keys hold job ids, which are created at run time.",
            )

    def grant_list(self, grantee: iam.IGrantable) -> None:
        """Allow s3:ListBucket, so that reading a missing key returns 404 NoSuchKey instead of 403.

        A handler that reads an object deleted meanwhile (DELETE /jobs, or expiry) must see
        "not found" to finish the job instead of retrying an access error. S3 only reports the
        missing key to principals that may list the bucket.
        """
        grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.data_bucket_arn]))

    def grant_table(self, grantee: iam.IGrantable, *actions: str) -> None:
        """Allow the given DynamoDB actions on the jobs table."""
        self.table.grant(grantee, *actions)

    def send_uploads_to(self, queue: sqs.Queue) -> None:
        """Send an S3 ObjectCreated notification for every key under uploads/ to `queue`."""
        stack = Stack.of(self)
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowDataBucketNotifications",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": self.data_bucket_arn},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        bucket = self.data_bucket.node.default_child
        assert isinstance(bucket, s3.CfnBucket)
        bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event="s3:ObjectCreated:*",
                    queue=queue.queue_arn,
                    filter=s3.CfnBucket.NotificationFilterProperty(
                        s3_key=s3.CfnBucket.S3KeyFilterProperty(rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=UPLOADS)])
                    ),
                )
            ]
        )
        # S3 checks that it may write to the queue when the notification is created, so the
        # bucket waits for the queue policy, which CDK keeps as the queue's child "Policy".
        queue_policy = queue.node.find_child("Policy")
        bucket.node.add_dependency(queue_policy)
