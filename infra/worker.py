"""Worker: the GPU service on ECS (EC2 capacity) that drains the inference queue, scaled on its backlog.

Network: the GPU hosts live in public subnets with public IPv4 addresses and a security
group without inbound rules, and reach SQS, ECR, ECS and CloudWatch Logs at their public
endpoints over TLS. S3 and DynamoDB traffic goes through gateway endpoints, which cost
nothing. There is no NAT gateway (about USD 33 a month each, before data) and there are no
interface endpoints (about USD 7 a month each per AZ). The network therefore costs nothing
while the service is scaled to zero, and each running host pays for its public IPv4 address.
"""

from __future__ import annotations

import jsii
from aws_cdk import (
    Acknowledgment,
    Annotations,
    AspectPriority,
    Aspects,
    CfnResource,
    Duration,
    IAspect,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from infra import scaling
from infra.capacity_fallback import CapacityFallback
from infra.config import REPOSITORY_ROOT, DeploymentConfig
from infra.lambdas import log_retention
from infra.packaging import dockerignore_patterns
from infra.nag import acknowledge_wildcard_resources
from infra.queues import WorkQueue
from infra.storage import FACES, RESULTS, WEIGHTS, Storage

WEIGHTS_DIR = "/opt/selfie2anime/weights"
WEIGHTS_VOLUME = "weights"
# ECS on EC2 waits at most this long between SIGTERM and SIGKILL (task definition stopTimeout).
MAX_STOP_TIMEOUT_SECONDS = 120
WORKER_DOCKERFILE = "container/Dockerfile"
# Module of the init container that copies and verifies the weights, run from the worker image.
WEIGHTS_FETCH_MODULE = "container.worker.weights_fetch"
ERROR_METRIC = "WorkerErrors"


class Worker(Construct):
    """The VPC, ECS cluster, GPU capacity providers, task definition and service that drain `queues`.

    The inference queue is created by the stack, before this unit, because every function's
    environment names it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        storage: Storage,
        environment: dict[str, str],
        queues: WorkQueue,
        notify_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= config.worker_stop_timeout_seconds <= MAX_STOP_TIMEOUT_SECONDS:
            raise ValueError(
                f"worker_stop_timeout_seconds={config.worker_stop_timeout_seconds} must be between 1 and "
                f"{MAX_STOP_TIMEOUT_SECONDS}, the most ECS allows on EC2"
            )
        if not 0 <= config.worker_on_demand_percentage <= 100:
            raise ValueError(f"worker_on_demand_percentage={config.worker_on_demand_percentage} must be between 0 and 100")
        if not config.worker_instance_types:
            raise ValueError("worker_instance_types is empty; list at least one GPU instance type such as g4dn.xlarge")
        if not isinstance(config.worker_fallback_to_on_demand, bool):
            raise ValueError(
                f"worker_fallback_to_on_demand={config.worker_fallback_to_on_demand!r} must be a JSON true or false"
            )
        self.steps = scaling.scale_out_steps(images_per_task=config.worker_images_per_task, max_tasks=config.worker_max_tasks)

        self.queues = queues
        self.vpc = self._vpc(config, storage)
        self.cluster = ecs.Cluster(self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        self.capacity_provider, self.on_demand_capacity_provider = self._capacity_providers(config)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention(config.log_retention_days), removal_policy=RemovalPolicy.DESTROY
        )
        self.task_definition = self._task_definition(config, storage, environment, notify_queue)
        self.service = ecs.Ec2Service(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=0,
            # One GPU per host: a deployment stops the old task before it starts the new one,
            # instead of launching a second GPU host. Scale-in protection delays the stop until
            # the batch in flight is done.
            min_healthy_percent=0,
            max_healthy_percent=100,
            capacity_provider_strategies=[
                ecs.CapacityProviderStrategy(capacity_provider=self.capacity_provider.capacity_provider_name, weight=1)
            ],
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        )
        Aspects.of(self.cluster).add(_ServiceAfterCapacityProviders(self.service), priority=AspectPriority.DEFAULT)
        self.idle_alarm = self._scaling(config)
        self.error_metric = self._error_metric(config)
        self.capacity_fallback: CapacityFallback | None = None
        if self.on_demand_capacity_provider is not None:
            self.capacity_fallback = CapacityFallback(
                self,
                "CapacityFallback",
                config=config,
                queue=self.queues.queue,
                cluster=self.cluster,
                service=self.service,
                spot_provider=self.capacity_provider,
                on_demand_provider=self.on_demand_capacity_provider,
                idle_alarm=self.idle_alarm,
            )

    # --- network and capacity

    def _vpc(self, config: DeploymentConfig, storage: Storage) -> ec2.Vpc:
        return ec2.Vpc(
            self,
            "Vpc",
            max_azs=config.max_azs,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
            flow_logs={
                "FlowLogs": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_s3(storage.log_bucket, "vpc-flow-logs/"),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )

    def _launch_template(self, config: DeploymentConfig, role: iam.Role) -> ec2.LaunchTemplate:
        security_group = ec2.SecurityGroup(
            self,
            "HostSecurityGroup",
            vpc=self.vpc,
            description="GPU worker hosts: no inbound traffic",
            allow_all_outbound=True,
        )
        user_data = ec2.UserData.for_linux()
        # Drain the host on a spot interruption notice, so that its task gets SIGTERM and its
        # stop timeout within the two-minute warning. CDK adds this line only for groups with
        # a spot price, not for a mixed instances policy.
        user_data.add_commands("echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config")
        return ec2.LaunchTemplate(
            self,
            "HostLaunchTemplate",
            machine_image=ecs.EcsOptimizedImage.amazon_linux2023(ecs.AmiHardwareType.GPU),
            user_data=user_data,
            role=role,
            security_group=security_group,
            # IMDSv2 only, with a hop limit of 1, so containers on the Docker bridge (one hop
            # further) cannot read the host role's credentials. Tasks use their task role.
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        config.worker_root_volume_gb, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
                    ),
                )
            ],
        )

    def _capacity_providers(
        self, config: DeploymentConfig
    ) -> tuple[ecs.AsgCapacityProvider, ecs.AsgCapacityProvider | None]:
        """Create the spot capacity provider, and the on-demand one when the fallback is on.

        Both groups launch hosts from one launch template over the same instance types.
        """
        role = iam.Role(self, "HostRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
        launch_template = self._launch_template(config, role)
        spot_group = self._gpu_group(
            "GpuHosts",
            config,
            launch_template,
            autoscaling.InstancesDistribution(
                on_demand_base_capacity=config.worker_on_demand_base_capacity,
                on_demand_percentage_above_base_capacity=config.worker_on_demand_percentage,
                on_demand_allocation_strategy=autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
                spot_allocation_strategy=autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
            ),
            # Capacity rebalancing replaces spot hosts at an elevated risk of interruption.
            capacity_rebalance=True,
        )
        spot_provider = self._asg_capacity_provider("GpuCapacity", spot_group)
        on_demand_provider = None
        if config.worker_fallback_to_on_demand:
            # NOTE: CDK appends the ECS_CLUSTER line to the shared launch template's user data
            # once per group, so ecs.config gets the same line twice, which the agent accepts.
            on_demand_group = self._gpu_group(
                "OnDemandGpuHosts",
                config,
                launch_template,
                autoscaling.InstancesDistribution(
                    on_demand_base_capacity=0,
                    on_demand_percentage_above_base_capacity=100,
                    on_demand_allocation_strategy=autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
                ),
                capacity_rebalance=False,
            )
            on_demand_provider = self._asg_capacity_provider("OnDemandGpuCapacity", on_demand_group)

        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "The ECS container agent's actions ecs:DiscoverPollEndpoint, ecs:Poll, ecs:StartTelemetrySession, "
                    "ecr:GetAuthorizationToken and its log writes support no resource-level permissions; CDK limits "
                    "ecs:Poll with an ecs:cluster condition and scopes the rest to this cluster."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Action::ecs:Submit*]",
                reason="The ECS container agent reports container and task state with the ecs:Submit* actions.",
            ),
        )
        return spot_provider, on_demand_provider

    def _gpu_group(
        self,
        construct_id: str,
        config: DeploymentConfig,
        launch_template: ec2.LaunchTemplate,
        distribution: autoscaling.InstancesDistribution,
        *,
        capacity_rebalance: bool,
    ) -> autoscaling.AutoScalingGroup:
        group = autoscaling.AutoScalingGroup(
            self,
            construct_id,
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_capacity=0,
            max_capacity=config.worker_max_tasks,
            mixed_instances_policy=autoscaling.MixedInstancesPolicy(
                launch_template=launch_template,
                launch_template_overrides=[
                    autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType(name)) for name in config.worker_instance_types
                ],
                instances_distribution=distribution,
            ),
            capacity_rebalance=capacity_rebalance,
        )
        Validations.of(group).acknowledge(
            Acknowledgment(
                id="AwsSolutions-EC26",
                reason=(
                    "cdk-nag 3.0 reads only LaunchTemplate, not MixedInstancesPolicy, and fails on this group; "
                    "the launch template encrypts the root volume, which tests/infra asserts."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions-AS3",
                reason=(
                    "The group scales to zero and back for every burst of work; a notification per launch and "
                    "termination would bury real alarms. Scaling activity stays in the group's history."
                ),
            ),
        )
        return group

    def _asg_capacity_provider(self, construct_id: str, group: autoscaling.AutoScalingGroup) -> ecs.AsgCapacityProvider:
        provider = ecs.AsgCapacityProvider(
            self,
            construct_id,
            auto_scaling_group=group,
            enable_managed_scaling=True,
            enable_managed_termination_protection=True,
            enable_managed_draining=True,
            target_capacity_percent=100,
            # The Amazon Linux 2 setting also configures Amazon Linux 2023 hosts (same ecs.config).
            machine_image_type=ecs.MachineImageType.AMAZON_LINUX_2,
        )
        self.cluster.add_asg_capacity_provider(provider)
        return provider

    # --- task definition

    def _task_definition(
        self, config: DeploymentConfig, storage: Storage, environment: dict[str, str], notify_queue: sqs.IQueue
    ) -> ecs.Ec2TaskDefinition:
        task_definition = ecs.Ec2TaskDefinition(self, "TaskDefinition", network_mode=ecs.NetworkMode.BRIDGE)
        task_definition.add_volume(name=WEIGHTS_VOLUME)
        image = ecs.ContainerImage.from_asset(
            str(REPOSITORY_ROOT),
            file=WORKER_DOCKERFILE,
            platform=ecr_assets.Platform.LINUX_AMD64,
            exclude=dockerignore_patterns(WORKER_DOCKERFILE),
        )
        logging = ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=self.log_group)

        fetch = task_definition.add_container(
            "FetchWeights",
            image=image,
            essential=False,
            entry_point=["python", "-m", WEIGHTS_FETCH_MODULE],
            memory_reservation_mib=256,
            # Root, because Docker creates the fresh task volume's mount point owned by root.
            # The worker reads the files as its non-root user.
            user="0",
            environment={
                "S2A_BUCKET": storage.data_bucket_name,
                "S2A_WEIGHTS_PREFIX": WEIGHTS,
                "S2A_WEIGHTS_DIR": WEIGHTS_DIR,
                "S2A_WEIGHTS_MANIFEST_SHA256": config.weights_manifest_sha256,
            },
            logging=logging,
        )
        fetch.add_mount_points(ecs.MountPoint(container_path=WEIGHTS_DIR, source_volume=WEIGHTS_VOLUME, read_only=False))

        worker = task_definition.add_container(
            "Worker",
            image=image,
            essential=True,
            gpu_count=1,
            memory_reservation_mib=config.worker_memory_reservation_mb,
            stop_timeout=Duration.seconds(config.worker_stop_timeout_seconds),
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": "worker",
                "S2A_STYLE": "gan",
                "S2A_DEVICE": "cuda",
                "S2A_WEIGHTS_DIR": WEIGHTS_DIR,
                "S2A_BATCH_SIZE": str(config.worker_batch_size),
                "S2A_VISIBILITY_TIMEOUT": str(config.inference_queue.visibility_timeout_seconds),
            },
            logging=logging,
        )
        worker.add_mount_points(ecs.MountPoint(container_path=WEIGHTS_DIR, source_volume=WEIGHTS_VOLUME, read_only=True))
        worker.add_container_dependencies(
            ecs.ContainerDependency(container=fetch, condition=ecs.ContainerDependencyCondition.SUCCESS)
        )

        role = task_definition.task_role
        storage.grant_table(role, "dynamodb:GetItem", "dynamodb:UpdateItem")
        storage.grant_objects(role, actions=["s3:GetObject", "s3:DeleteObject"], prefixes=[FACES])
        storage.grant_objects(role, actions=["s3:PutObject", "s3:DeleteObject"], prefixes=[RESULTS])
        storage.grant_objects(role, actions=["s3:GetObject"], prefixes=[WEIGHTS])
        storage.grant_list(role)
        self.queues.queue.grant_consume_messages(role)
        notify_queue.grant_send_messages(role)
        # The ECS agent's scale-in protection endpoint ($ECS_AGENT_URI/task-protection/v1/state)
        # calls UpdateTaskProtection and GetTaskProtection with the task role's credentials.
        self.cluster.grant_task_protection(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ecs:GetTaskProtection"], resources=[self.cluster.arn_for_tasks("*")])
        )
        acknowledge_wildcard_resources(
            role,
            [self.cluster.arn_for_tasks("*")],
            reason="Task ids exist only at run time; the pattern limits task protection to tasks of this cluster.",
        )
        Validations.of(task_definition.obtain_execution_role()).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken, which pulls the worker image, supports no resource-level permissions.",
            )
        )

        Validations.of(task_definition).acknowledge(
            Acknowledgment(
                id="AwsSolutions-ECS2",
                reason="The environment holds resource names, limits and the weights checksum; there are no secrets in it.",
            ),
        )
        return task_definition

    # --- scaling

    def _scaling(self, config: DeploymentConfig) -> cloudwatch.Alarm:
        """Create the step scaling policies and their alarms, and return the idle alarm."""
        max_tasks = config.worker_max_tasks
        if not config.weights_manifest_sha256:
            # Without weights every task would fail at start, so the service stays at zero
            # instead of launching GPU hosts for nothing. Inference messages wait (and alarm).
            max_tasks = 0
            Annotations.of(self).add_warning_v2(
                "selfie2anime:worker-disabled",
                "weights_manifest_sha256 is empty in cdk.json, so the GPU worker cannot scale above 0 tasks; "
                "install the weights as docs/deploy.md describes, then deploy again",
            )
        stack = Stack.of(self)
        target = appscaling.ScalableTarget(
            self,
            "TaskCount",
            service_namespace=appscaling.ServiceNamespace.ECS,
            resource_id=f"service/{self.cluster.cluster_name}/{self.service.service_name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=0,
            max_capacity=max_tasks,
            role=iam.Role.from_role_arn(
                self,
                "ScalingRole",
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role/aws-service-role/ecs.application-autoscaling.amazonaws.com",
                    resource_name="AWSServiceRoleForApplicationAutoScaling_ECSService",
                ),
            ),
        )
        target.node.add_dependency(self.service)

        self.backlog = cloudwatch.MathExpression(
            expression="visible + inflight",
            using_metrics={
                "visible": self.queues.queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic="Maximum"
                ),
                "inflight": self.queues.queue.metric_approximate_number_of_messages_not_visible(
                    period=Duration.minutes(1), statistic="Maximum"
                ),
            },
            label="Inference backlog (visible + in flight)",
            period=Duration.minutes(1),
        )

        scale_out = appscaling.StepScalingAction(
            self,
            "ScaleToBacklog",
            scaling_target=target,
            adjustment_type=appscaling.AdjustmentType.EXACT_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
            cooldown=Duration.minutes(1),
        )
        for step in self.steps:
            scale_out.add_adjustment(adjustment=step.tasks, lower_bound=step.lower, upper_bound=step.upper)
        scale_out_alarm = cloudwatch.Alarm(
            self,
            "BacklogAlarm",
            alarm_description="Sets the worker task count from the inference backlog (scaling only, not an incident)",
            metric=self.backlog,
            threshold=scaling.SCALE_OUT_THRESHOLD,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        scale_out_alarm.add_alarm_action(cloudwatch_actions.ApplicationScalingAction(scale_out))

        scale_in = appscaling.StepScalingAction(
            self,
            "ScaleToZero",
            scaling_target=target,
            adjustment_type=appscaling.AdjustmentType.EXACT_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
            cooldown=Duration.minutes(1),
        )
        scale_in.add_adjustment(adjustment=0, upper_bound=0)
        idle_alarm = cloudwatch.Alarm(
            self,
            "IdleAlarm",
            alarm_description="Stops the worker after the inference queue has been empty for a while (scaling only)",
            metric=self.backlog,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=config.worker_idle_minutes,
            datapoints_to_alarm=config.worker_idle_minutes,
            # SQS publishes these metrics only while the queue is active, so no data means an
            # empty queue.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        idle_alarm.add_alarm_action(cloudwatch_actions.ApplicationScalingAction(scale_in))
        return idle_alarm

    def _error_metric(self, config: DeploymentConfig) -> cloudwatch.Metric:
        """Count the worker's JSON log records at level ERROR (Powertools' `level` field)."""
        logs.MetricFilter(
            self,
            "ErrorFilter",
            log_group=self.log_group,
            filter_pattern=logs.FilterPattern.string_value("$.level", "=", "ERROR"),
            metric_namespace=config.metrics_namespace,
            metric_name=ERROR_METRIC,
            metric_value="1",
        )
        return cloudwatch.Metric(
            namespace=config.metrics_namespace, metric_name=ERROR_METRIC, statistic="Sum", period=Duration.minutes(5)
        )

    def running_tasks_metric(self) -> cloudwatch.Metric:
        """Container Insights' count of running worker tasks."""
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={"ClusterName": self.cluster.cluster_name, "ServiceName": self.service.service_name},
            statistic="Maximum",
            period=Duration.minutes(1),
        )


@jsii.implements(IAspect)
class _ServiceAfterCapacityProviders:
    """Make the service wait for the cluster's capacity provider association.

    ECS rejects a service whose strategy names a capacity provider that is not yet associated
    with the cluster. CDK creates the association in an aspect during synthesis and
    does not order the two, so this aspect, which runs after it, adds the dependency.
    """

    def __init__(self, service: ecs.Ec2Service) -> None:
        self._service = service

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, ecs.Cluster):
            return
        for child in node.node.children:
            if isinstance(child, CfnResource) and child.cfn_resource_type == "AWS::ECS::ClusterCapacityProviderAssociations":
                self._service.node.add_dependency(child)
