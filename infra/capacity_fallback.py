"""Capacity fallback: move the worker service to on-demand GPU hosts when spot capacity does not come.

Neither EC2 Auto Scaling nor ECS does this by itself: a task whose capacity provider cannot
launch a host stays in PROVISIONING. The starved alarm detects that from the inference
queue. An EventBridge rule sends its ALARM transition, and the idle alarm's, to the
capacity_fallback function, which changes the service's capacity provider strategy.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DeploymentConfig
from infra.lambdas import HandlerFunction

HANDLER = "functions.capacity_fallback.handler.lambda_handler"
# Launching a GPU host takes 3 to 5 minutes and pulling the worker image 2 to 4, so a lower
# threshold would move nearly every burst to on-demand hosts.
MIN_STARVED_MINUTES = 5
# The starved condition must hold for this many consecutive 1-minute datapoints, so that one
# minute without a deleted message while a worker runs does not trigger a switch.
STARVED_DATAPOINTS = 3
# EventBridge and Lambda each drop an alarm event older than this instead of retrying it.
# Both limits together (4 minutes) are shorter than the least time from an idle alarm to the
# next starved alarm (MIN_STARVED_MINUTES, then STARVED_DATAPOINTS minutes), so a late retry
# of the idle event cannot move a newer fallback back to spot.
MAX_EVENT_AGE = Duration.minutes(2)


class CapacityFallback(Construct):
    """The starved alarm, the capacity_fallback function, and the rule that connects them to both alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        queue: sqs.IQueue,
        cluster: ecs.ICluster,
        service: ecs.Ec2Service,
        spot_provider: ecs.AsgCapacityProvider,
        on_demand_provider: ecs.AsgCapacityProvider,
        idle_alarm: cloudwatch.IAlarm,
    ) -> None:
        super().__init__(scope, construct_id)
        if config.worker_starved_minutes < MIN_STARVED_MINUTES:
            raise ValueError(
                f"worker_starved_minutes={config.worker_starved_minutes} is below {MIN_STARVED_MINUTES}, "
                "less than a GPU host needs to start; set at least that in cdk.json"
            )
        self.starved_alarm = self._starved_alarm(config, queue)

        self.handler = HandlerFunction(
            self,
            "Handler",
            handler=HANDLER,
            service_name="capacity_fallback",
            environment={
                "S2A_WORKER_CLUSTER": cluster.cluster_name,
                "S2A_WORKER_SERVICE": service.service_arn,
                "S2A_SPOT_CAPACITY_PROVIDER": spot_provider.capacity_provider_name,
                "S2A_ON_DEMAND_CAPACITY_PROVIDER": on_demand_provider.capacity_provider_name,
                "S2A_STARVED_ALARM": self.starved_alarm.alarm_name,
                "S2A_IDLE_ALARM": idle_alarm.alarm_name,
                "POWERTOOLS_METRICS_NAMESPACE": config.metrics_namespace,
            },
            timeout_seconds=30,
            memory_mb=256,
            log_retention_days=config.log_retention_days,
        )
        self.handler.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ecs:DescribeServices", "ecs:UpdateService"], resources=[service.service_arn])
        )
        self.handler.function.configure_async_invoke(retry_attempts=2, max_event_age=MAX_EVENT_AGE)

        self.rule = events.Rule(
            self,
            "AlarmRule",
            description="Sends the worker's starved and idle alarms to the capacity_fallback function",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                detail={
                    "alarmName": [self.starved_alarm.alarm_name, idle_alarm.alarm_name],
                    "state": {"value": ["ALARM"]},
                },
            ),
            targets=[targets.LambdaFunction(self.handler.function, retry_attempts=2, max_event_age=MAX_EVENT_AGE)],
        )

    def _starved_alarm(self, config: DeploymentConfig, queue: sqs.IQueue) -> cloudwatch.Alarm:
        minute = Duration.minutes(1)
        threshold_seconds = config.worker_starved_minutes * 60
        # Only the worker deletes inference messages, so no deletion for a whole minute while
        # old messages wait means that no task is running. SQS sends no datapoints for an
        # idle queue, hence FILL.
        starved = cloudwatch.MathExpression(
            expression=(
                f"IF(FILL(age, 0) >= {threshold_seconds} AND FILL(visible, 0) + FILL(inflight, 0) > 0 "
                "AND FILL(deleted, 0) == 0, 1, 0)"
            ),
            using_metrics={
                "age": queue.metric_approximate_age_of_oldest_message(period=minute, statistic="Maximum"),
                "visible": queue.metric_approximate_number_of_messages_visible(period=minute, statistic="Maximum"),
                "inflight": queue.metric_approximate_number_of_messages_not_visible(period=minute, statistic="Maximum"),
                "deleted": queue.metric_number_of_messages_deleted(period=minute, statistic="Sum"),
            },
            label="Worker starved (1 = old messages waiting, none deleted)",
            period=minute,
        )
        return cloudwatch.Alarm(
            self,
            "StarvedAlarm",
            alarm_description=(
                f"Inference messages have waited {config.worker_starved_minutes} minutes and no worker task deletes any: "
                "moves the worker service to on-demand hosts (automation, not an incident)"
            ),
            metric=starved,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=STARVED_DATAPOINTS,
            datapoints_to_alarm=STARVED_DATAPOINTS,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
