"""Monitoring: an SNS topic for alarms, the alarms themselves, and one dashboard."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import DeploymentConfig
from infra.queues import WorkQueue
from infra.worker import Worker

PERIOD = Duration.minutes(5)
# Custom metric that the notify function publishes (Powertools EMF, dimension service=notify):
# seconds from job creation to the email being sent.
JOB_LATENCY_METRIC = "JobLatency"


class Monitoring(Construct):
    """Alarms on every dead-letter queue, the inference backlog's age, Lambda errors and throttles,
    and worker errors, all sent to one encrypted SNS topic. Also the operations dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        work_queues: Mapping[str, WorkQueue],
        functions: Mapping[str, lambda_.IFunction],
        worker: Worker,
    ) -> None:
        super().__init__(scope, construct_id)
        # CloudWatch can only publish to an encrypted topic whose key policy lets it use the
        # key, which rules out the AWS managed key for SNS.
        key = kms.Key(self, "TopicKey", description="Encrypts the selfie2anime alarm topic", enable_key_rotation=True)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(self, "AlarmTopic", display_name="selfie2anime alarms", master_key=key, enforce_ssl=True)
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self._action = cloudwatch_actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        for name, work_queue in work_queues.items():
            self._dead_letter_alarm(name, work_queue)
        self._alarm(
            "InferenceAgeAlarm",
            description=f"The oldest inference message is older than {config.inference_age_alarm_seconds} s: the worker is not keeping up or not starting",
            metric=work_queues["inference"].queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
            threshold=config.inference_age_alarm_seconds,
        )
        if worker.capacity_fallback is not None:
            functions = {**functions, "capacity_fallback": worker.capacity_fallback.handler.function}
        for name, function in functions.items():
            self._alarm(
                f"{_pascal(name)}ErrorsAlarm",
                description=f"The {name} function raised errors",
                metric=function.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
            )
            self._alarm(
                f"{_pascal(name)}ThrottlesAlarm",
                description=f"Invocations of the {name} function were throttled",
                metric=function.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
            )
        self._alarm(
            "WorkerErrorsAlarm",
            description="The GPU worker logged errors",
            metric=worker.error_metric,
            threshold=1,
        )
        self.dashboard = self._dashboard(config, work_queues, worker)

    def _alarm(self, construct_id: str, *, description: str, metric: cloudwatch.IMetric, threshold: float) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _dead_letter_alarm(self, name: str, work_queue: WorkQueue) -> None:
        # The dead_letter function drains the intake and inference DLQs within seconds, so
        # their depth alone would rarely show. Messages received from a DLQ count too.
        dead_letter_queue = work_queue.dead_letter_queue
        arrivals = cloudwatch.MathExpression(
            expression="FILL(visible, 0) + FILL(received, 0)",
            using_metrics={
                "visible": dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                "received": dead_letter_queue.metric_number_of_messages_received(period=PERIOD, statistic="Sum"),
            },
            label=f"{name} dead letters",
            period=PERIOD,
        )
        self._alarm(
            f"{_pascal(name)}DeadLetterAlarm",
            description=f"Messages reached the {name} dead-letter queue",
            metric=arrivals,
            threshold=1,
        )

    def _dashboard(self, config: DeploymentConfig, work_queues: Mapping[str, WorkQueue], worker: Worker) -> cloudwatch.Dashboard:
        minute = Duration.minutes(1)
        depth = [
            queue.metric_approximate_number_of_messages_visible(period=minute, statistic="Maximum", label=f"{name} {kind}")
            for name, work_queue in work_queues.items()
            for kind, queue in (("queue", work_queue.queue), ("DLQ", work_queue.dead_letter_queue))
        ]
        inference = work_queues["inference"].queue
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.stack_name}-operations")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Queue depth (messages visible)", left=depth, width=12),
            cloudwatch.GraphWidget(
                title="Worker tasks",
                left=[worker.running_tasks_metric(), worker.backlog],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Images per minute (inference messages completed)",
                left=[inference.metric_number_of_messages_deleted(period=minute, statistic="Sum", label="images")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Job latency",
                left=[
                    cloudwatch.Metric(
                        namespace=config.metrics_namespace,
                        metric_name=JOB_LATENCY_METRIC,
                        dimensions_map={"service": "notify"},
                        statistic="p90",
                        period=PERIOD,
                        label="created to emailed, p90 (s)",
                    ),
                    inference.metric_approximate_age_of_oldest_message(
                        period=minute, statistic="Maximum", label="oldest inference message (s)"
                    ),
                ],
                width=12,
            ),
        )
        # The starved alarm only triggers the capacity fallback and notifies no one. The widget
        # shows when it fired.
        status = list(self.alarms)
        if worker.capacity_fallback is not None:
            status.append(worker.capacity_fallback.starved_alarm)
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=status, width=24))
        return dashboard


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
