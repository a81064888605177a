"""Notify: SQS notify queue (with DLQ) -> the notify Lambda -> SES v2, with a configuration set."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.config import DeploymentConfig
from infra.lambdas import HandlerFunction
from infra.queues import WorkQueue, require_lambda_visibility
from infra.storage import RESULTS, Storage

NOTIFY_BATCH_SIZE = 5


class Notify(Construct):
    """The notify queue, the SES identity and configuration set, and the function that sends the email.

    `queues` exists before the function so that other units can send to it. Call
    `add_function` once the shared environment (which names the configuration set) is known.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        require_lambda_visibility(
            queue_name="notify",
            visibility_seconds=config.notify_queue.visibility_timeout_seconds,
            function_timeout_seconds=config.notify_timeout_seconds,
        )
        self._config = config
        self.queues = WorkQueue(self, "NotifyQueue", config=config.notify_queue)

        # Bounces and complaints put the address on the account's suppression list, so the
        # service never writes to it again; TLS is required towards receiving servers.
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            reputation_metrics=True,
            sending_enabled=True,
        )
        self.identity = self._sender_identity(config)
        self.sandbox_recipients = [
            ses.EmailIdentity(self, f"SandboxRecipient{index}", identity=ses.Identity.email(address))
            for index, address in enumerate(config.ses_sandbox_recipients)
        ]

    def _sender_identity(self, config: DeploymentConfig) -> ses.EmailIdentity:
        if not config.ses_domain:
            # A single address: SES mails a verification link to it. Good for trying the service.
            return ses.EmailIdentity(
                self, "SenderIdentity", identity=ses.Identity.email(config.sender), configuration_set=self.configuration_set
            )
        if not config.sender.lower().endswith("@" + config.ses_domain.lower()):
            raise ValueError(
                f"sender {config.sender!r} is not an address of ses_domain {config.ses_domain!r}; "
                "SES only sends from a verified identity, so make them match in cdk.json"
            )
        # A domain: Easy DKIM signs every message, and a custom MAIL FROM domain aligns SPF.
        # The DNS records to publish are in the stack outputs and in the SES console.
        return ses.EmailIdentity(
            self,
            "SenderIdentity",
            identity=ses.Identity.domain(config.ses_domain),
            configuration_set=self.configuration_set,
            dkim_signing=True,
            mail_from_domain=f"{config.ses_mail_from_subdomain}.{config.ses_domain}",
            mail_from_behavior_on_mx_failure=ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
        )

    @property
    def configuration_set_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="ses", resource="configuration-set", resource_name=self.configuration_set.configuration_set_name
        )

    def add_function(self, *, storage: Storage, environment: dict[str, str]) -> HandlerFunction:
        """Create the notify function, its permissions and its queue subscription."""
        config = self._config
        handler = HandlerFunction(
            self,
            "Handler",
            handler="functions.notify.handler.lambda_handler",
            service_name="notify",
            environment=environment,
            timeout_seconds=config.notify_timeout_seconds,
            memory_mb=config.notify_memory_mb,
            log_retention_days=config.log_retention_days,
        )
        role = handler.role
        storage.grant_table(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        # The email carries the portrait inline and a presigned link signed with this role.
        storage.grant_objects(role, actions=["s3:GetObject"], prefixes=[RESULTS])
        storage.grant_list(role)
        # In the SES sandbox, SES also authorizes the send against each recipient's identity.
        identity_arns = [self.identity.email_identity_arn, *(recipient.email_identity_arn for recipient in self.sandbox_recipients)]
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ses:SendEmail"], resources=[*identity_arns, self.configuration_set_arn])
        )
        handler.function.add_event_source(
            event_sources.SqsEventSource(self.queues.queue, batch_size=NOTIFY_BATCH_SIZE, report_batch_item_failures=True)
        )
        return handler
