"""The selfie2anime stack: assembles the units and wires their permissions and environment."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.api import Api
from infra.config import DeploymentConfig
from infra.dead_letters import DeadLetters
from infra.intake import Intake
from infra.monitoring import Monitoring
from infra.notify import Notify
from infra.queues import WorkQueue
from infra.storage import Storage
from infra.web import Web
from infra.worker import Worker


class Selfie2AnimeStack(Stack):
    """Storage, API, intake, worker, notify, dead letters, web page and monitoring in one stack."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, description="selfie2anime: selfie to anime portrait by email", **kwargs)  # type: ignore[arg-type]
        self.config = config

        self.storage = Storage(self, "Storage", config=config)
        self.web = Web(self, "Web", log_bucket=self.storage.log_bucket, log_retention_days=config.log_retention_days)
        web_origin = config.cloud_web_origin or self.web.origin
        self.storage.allow_browser_uploads([web_origin])

        # Queues first: every function's environment names the inference and notify queues.
        self.notify = Notify(self, "Notify", config=config)
        self.inference_queues = WorkQueue(
            self,
            "InferenceQueue",
            config=config.inference_queue,
            dead_letter_visibility_seconds=6 * config.dead_letter_timeout_seconds,
        )
        environment = config.runtime_environment(
            bucket=self.storage.data_bucket_name,
            jobs_table=self.storage.table.table_name,
            inference_queue_url=self.inference_queues.queue.queue_url,
            notify_queue_url=self.notify.queues.queue.queue_url,
            configuration_set=self.notify.configuration_set.configuration_set_name,
        )

        self.api = Api(
            self,
            "Api",
            config=config,
            storage=self.storage,
            environment=environment,
            web_origin=web_origin,
        )
        self.intake = Intake(
            self,
            "Intake",
            config=config,
            storage=self.storage,
            environment=environment,
            inference_queue=self.inference_queues.queue,
            notify_queue=self.notify.queues.queue,
        )
        self.notify_function = self.notify.add_function(storage=self.storage, environment=environment)
        self.worker = Worker(
            self,
            "Worker",
            config=config,
            storage=self.storage,
            environment=environment,
            queues=self.inference_queues,
            notify_queue=self.notify.queues.queue,
        )
        self.dead_letters = DeadLetters(
            self,
            "DeadLetters",
            config=config,
            storage=self.storage,
            environment=environment,
            sources={"intake": self.intake.queues, "inference": self.inference_queues},
            notify_queue=self.notify.queues.queue,
        )
        self.web.publish(
            api_url=self.api.rest_api.url,
            result_days=config.result_retention_days,
            max_upload_bytes=config.max_upload_bytes,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            work_queues={"intake": self.intake.queues, "inference": self.inference_queues, "notify": self.notify.queues},
            functions={
                "api": self.api.handler.function,
                "validate_face": self.intake.handler.function,
                "notify": self.notify_function.function,
                "dead_letter": self.dead_letters.handler.function,
            },
            worker=self.worker,
        )
        self._outputs(web_origin)

    def _outputs(self, web_origin: str) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url, description="Base URL of the job API")
        CfnOutput(self, "WebUrl", value=web_origin, description="The upload page")
        CfnOutput(self, "DataBucketName", value=self.storage.data_bucket_name, description="Upload weights to weights/ here")
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn, description="Subscribe to receive alarms")
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
        identity = self.notify.identity
        if self.config.ses_domain:
            for index, record in enumerate(identity.dkim_records, start=1):
                CfnOutput(self, f"DkimRecord{index}", value=f"{record.name} CNAME {record.value}", description="Publish in DNS")
