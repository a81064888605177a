"""Worker: GPU capacity from zero, backlog-driven scaling, task protection, safe hosts."""

from __future__ import annotations

import json
from typing import Any

from infra.scaling import desired_tasks
from tests.infra.conftest import Synthesis


def containers(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    task = synthesis.one("AWS::ECS::TaskDefinition")
    return {container["Name"]: container for container in task["ContainerDefinitions"]}


def environment(container: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in container["Environment"]}


def by_prefix(synthesis: Synthesis, resource_type: str, prefix: str) -> dict[str, Any]:
    """Return the properties of the only resource of `resource_type` whose logical id starts with `prefix`."""
    found = [body["Properties"] for name, body in synthesis.of_type(resource_type).items() if name.startswith(prefix)]
    assert len(found) == 1, (resource_type, prefix)
    return found[0]


def scaling_policies(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    return {name: body["Properties"] for name, body in synthesis.of_type("AWS::ApplicationAutoScaling::ScalingPolicy").items()}


def alarm_for_policy(synthesis: Synthesis, policy_name: str) -> dict[str, Any]:
    found = [
        body["Properties"]
        for body in synthesis.of_type("AWS::CloudWatch::Alarm").values()
        if {"Ref": policy_name} in body["Properties"].get("AlarmActions", [])
    ]
    assert len(found) == 1, policy_name
    return found[0]


def apply_scale_out_policy(policy: dict[str, Any], threshold: float, metric: float) -> int | None:
    """Application Auto Scaling's step lookup above the threshold: lower bound inclusive, upper exclusive."""
    offset = metric - threshold
    for step in policy["StepScalingPolicyConfiguration"]["StepAdjustments"]:
        lower = step.get("MetricIntervalLowerBound", float("-inf"))
        upper = step.get("MetricIntervalUpperBound", float("inf"))
        if lower <= offset < upper:
            return int(step["ScalingAdjustment"])
    return None


def test_task_requires_one_gpu(synthesis: Synthesis) -> None:
    worker = containers(synthesis)["Worker"]
    assert worker["ResourceRequirements"] == [{"Type": "GPU", "Value": "1"}]
    assert worker["Essential"] is True


def test_task_uses_ec2_bridge_networking(synthesis: Synthesis) -> None:
    task = synthesis.one("AWS::ECS::TaskDefinition")
    assert task["RequiresCompatibilities"] == ["EC2"]
    assert task["NetworkMode"] == "bridge"


def test_worker_environment(synthesis: Synthesis, config: Any) -> None:
    variables = environment(containers(synthesis)["Worker"])
    assert variables["S2A_STYLE"] == "gan"
    assert variables["S2A_DEVICE"] == "cuda"
    assert variables["S2A_WEIGHTS_DIR"] == "/opt/selfie2anime/weights"
    assert variables["S2A_BATCH_SIZE"] == str(config.worker_batch_size)
    assert variables["S2A_VISIBILITY_TIMEOUT"] == str(config.inference_queue.visibility_timeout_seconds)
    assert variables["POWERTOOLS_SERVICE_NAME"] == "worker"
    for name in ("S2A_BUCKET", "S2A_JOBS_TABLE", "S2A_INFERENCE_QUEUE_URL", "S2A_NOTIFY_QUEUE_URL", "S2A_SENDER"):
        assert name in variables


def test_weights_are_fetched_before_the_worker_starts(synthesis: Synthesis) -> None:
    by_name = containers(synthesis)
    fetch = by_name["FetchWeights"]
    assert fetch["Essential"] is False
    assert fetch["EntryPoint"] == ["python", "-m", "container.worker.weights_fetch"]
    assert environment(fetch)["S2A_WEIGHTS_PREFIX"] == "weights/"
    assert by_name["Worker"]["DependsOn"] == [{"Condition": "SUCCESS", "ContainerName": "FetchWeights"}]
    assert by_name["Worker"]["MountPoints"][0]["ReadOnly"] is True
    assert by_name["Worker"]["Image"] == fetch["Image"]


def test_stop_timeout_and_logs(synthesis: Synthesis, config: Any) -> None:
    worker = containers(synthesis)["Worker"]
    assert worker["StopTimeout"] == config.worker_stop_timeout_seconds <= 120
    assert worker["LogConfiguration"]["LogDriver"] == "awslogs"


def test_service_starts_at_zero(synthesis: Synthesis) -> None:
    service = synthesis.one("AWS::ECS::Service")
    assert service["DesiredCount"] == 0
    assert service["DeploymentConfiguration"]["MinimumHealthyPercent"] == 0
    assert service["DeploymentConfiguration"]["MaximumPercent"] == 100
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    strategy = service["CapacityProviderStrategy"]
    assert len(strategy) == 1
    assert strategy[0]["CapacityProvider"]["Ref"].startswith("WorkerGpuCapacity")


def test_service_waits_for_capacity_provider_association(synthesis: Synthesis) -> None:
    (association,) = synthesis.of_type("AWS::ECS::ClusterCapacityProviderAssociations")
    (service,) = synthesis.of_type("AWS::ECS::Service").values()
    assert association in service["DependsOn"]


def test_capacity_providers_scale_instances_from_zero(synthesis: Synthesis, config: Any) -> None:
    for capacity, hosts in (("WorkerGpuCapacity", "WorkerGpuHosts"), ("WorkerOnDemandGpuCapacity", "WorkerOnDemandGpuHosts")):
        provider = by_prefix(synthesis, "AWS::ECS::CapacityProvider", capacity)["AutoScalingGroupProvider"]
        assert provider["AutoScalingGroupArn"]["Ref"].startswith(hosts), capacity
        assert provider["ManagedScaling"]["Status"] == "ENABLED", capacity
        assert provider["ManagedScaling"]["TargetCapacity"] == 100, capacity
        assert provider["ManagedTerminationProtection"] == "ENABLED", capacity
        assert provider["ManagedDraining"] == "ENABLED", capacity
        group = by_prefix(synthesis, "AWS::AutoScaling::AutoScalingGroup", hosts)
        assert group["MinSize"] == "0", hosts
        assert group["MaxSize"] == str(config.worker_max_tasks), hosts
        assert group["NewInstancesProtectedFromScaleIn"] is True, hosts


def test_cluster_registers_both_capacity_providers(synthesis: Synthesis) -> None:
    association = synthesis.one("AWS::ECS::ClusterCapacityProviderAssociations")
    providers = sorted(provider["Ref"] for provider in association["CapacityProviders"])
    assert len(providers) == 2
    assert providers[0].startswith("WorkerGpuCapacity")
    assert providers[1].startswith("WorkerOnDemandGpuCapacity")
    assert association["DefaultCapacityProviderStrategy"] == []


def test_on_demand_hosts_match_spot_hosts(synthesis: Synthesis, config: Any) -> None:
    spot = by_prefix(synthesis, "AWS::AutoScaling::AutoScalingGroup", "WorkerGpuHosts")["MixedInstancesPolicy"]
    on_demand = by_prefix(synthesis, "AWS::AutoScaling::AutoScalingGroup", "WorkerOnDemandGpuHosts")["MixedInstancesPolicy"]
    assert on_demand["LaunchTemplate"] == spot["LaunchTemplate"]
    assert [override["InstanceType"] for override in on_demand["LaunchTemplate"]["Overrides"]] == list(config.worker_instance_types)
    distribution = on_demand["InstancesDistribution"]
    assert distribution["OnDemandBaseCapacity"] == 0
    assert distribution["OnDemandPercentageAboveBaseCapacity"] == 100
    assert distribution["OnDemandAllocationStrategy"] == "prioritized"
    assert "SpotAllocationStrategy" not in distribution


def test_fallback_off_keeps_one_capacity_provider(variant: Synthesis) -> None:
    (group,) = variant.of_type("AWS::AutoScaling::AutoScalingGroup")
    assert group.startswith("WorkerGpuHosts")
    (provider,) = variant.of_type("AWS::ECS::CapacityProvider")
    assert provider.startswith("WorkerGpuCapacity")
    association = variant.one("AWS::ECS::ClusterCapacityProviderAssociations")
    assert association["CapacityProviders"] == [{"Ref": provider}]


def test_hosts_are_gpu_spot_with_on_demand_setting(synthesis: Synthesis, config: Any) -> None:
    policy = by_prefix(synthesis, "AWS::AutoScaling::AutoScalingGroup", "WorkerGpuHosts")["MixedInstancesPolicy"]
    types = [override["InstanceType"] for override in policy["LaunchTemplate"]["Overrides"]]
    assert types == list(config.worker_instance_types)
    assert all(name.startswith(("g4dn.", "g5.", "g6.")) for name in types)
    distribution = policy["InstancesDistribution"]
    assert distribution["OnDemandPercentageAboveBaseCapacity"] == config.worker_on_demand_percentage
    assert distribution["OnDemandBaseCapacity"] == config.worker_on_demand_base_capacity
    assert distribution["SpotAllocationStrategy"] == "price-capacity-optimized"


def test_hosts_use_the_ecs_gpu_ami(synthesis: Synthesis) -> None:
    template = synthesis.template.to_json()
    parameters = [value["Default"] for value in template["Parameters"].values() if value.get("Type", "").startswith("AWS::SSM")]
    assert "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id" in parameters


def test_launch_template_hardens_hosts(synthesis: Synthesis, config: Any) -> None:
    data = synthesis.one("AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    assert data["MetadataOptions"] == {"HttpPutResponseHopLimit": 1, "HttpTokens": "required"}
    volume = data["BlockDeviceMappings"][0]["Ebs"]
    assert volume["Encrypted"] is True
    assert volume["VolumeSize"] == config.worker_root_volume_gb
    user_data = json.dumps(data["UserData"])
    assert "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true" in user_data
    assert "ECS_CLUSTER=" in user_data


def test_host_security_group_has_no_inbound_rules(synthesis: Synthesis) -> None:
    group = synthesis.one("AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in group
    assert not synthesis.of_type("AWS::EC2::SecurityGroupIngress")


def test_network_has_no_nat_gateway(synthesis: Synthesis) -> None:
    assert not synthesis.of_type("AWS::EC2::NatGateway")
    endpoints = synthesis.of_type("AWS::EC2::VPCEndpoint").values()
    assert sorted(endpoint["Properties"]["VpcEndpointType"] for endpoint in endpoints) == ["Gateway", "Gateway"]
    assert synthesis.one("AWS::EC2::FlowLog")["TrafficType"] == "ALL"


def test_cluster_has_container_insights(synthesis: Synthesis) -> None:
    cluster = synthesis.one("AWS::ECS::Cluster")
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]


def test_scalable_target_spans_zero_to_max(variant: Synthesis, config: Any) -> None:
    target = variant.one("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["MinCapacity"] == 0
    assert target["MaxCapacity"] == config.worker_max_tasks
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"


def test_worker_stays_at_zero_without_weights(synthesis: Synthesis) -> None:
    assert synthesis.one("AWS::ApplicationAutoScaling::ScalableTarget")["MaxCapacity"] == 0


def test_only_step_scaling_on_the_backlog(synthesis: Synthesis) -> None:
    policies = scaling_policies(synthesis)
    assert len(policies) == 2
    assert {policy["PolicyType"] for policy in policies.values()} == {"StepScaling"}
    template = json.dumps(synthesis.template.to_json())
    assert "CPUUtilization" not in template
    assert "ECSServiceAverageCPUUtilization" not in template


def test_one_message_starts_one_task(synthesis: Synthesis, config: Any) -> None:
    name, policy = next((name, policy) for name, policy in scaling_policies(synthesis).items() if name.startswith("WorkerScaleToBacklog"))
    alarm = alarm_for_policy(synthesis, name)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["EvaluationPeriods"] == 1
    assert policy["StepScalingPolicyConfiguration"]["AdjustmentType"] == "ExactCapacity"
    threshold = alarm["Threshold"]
    assert threshold <= 1
    for backlog in range(1, config.worker_images_per_task * (config.worker_max_tasks + 2)):
        expected = desired_tasks(backlog, images_per_task=config.worker_images_per_task, max_tasks=config.worker_max_tasks)
        assert apply_scale_out_policy(policy, threshold, backlog) == expected, backlog


def test_backlog_counts_visible_and_in_flight_messages(synthesis: Synthesis) -> None:
    name = next(name for name in scaling_policies(synthesis) if name.startswith("WorkerScaleToBacklog"))
    metrics = alarm_for_policy(synthesis, name)["Metrics"]
    expression = next(metric for metric in metrics if "Expression" in metric)
    assert expression["Expression"] == "visible + inflight"
    names = {metric["MetricStat"]["Metric"]["MetricName"] for metric in metrics if "MetricStat" in metric}
    assert names == {"ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible"}


def test_idle_queue_scales_to_zero(synthesis: Synthesis, config: Any) -> None:
    name, policy = next((name, policy) for name, policy in scaling_policies(synthesis).items() if name.startswith("WorkerScaleToZero"))
    alarm = alarm_for_policy(synthesis, name)
    assert alarm["ComparisonOperator"] == "LessThanOrEqualToThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["EvaluationPeriods"] == config.worker_idle_minutes
    assert alarm["TreatMissingData"] == "breaching"
    assert policy["StepScalingPolicyConfiguration"]["StepAdjustments"] == [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": 0}]


def test_task_role_can_protect_its_task(synthesis: Synthesis) -> None:
    statements = [
        statement
        for name, body in synthesis.of_type("AWS::IAM::Policy").items()
        if name.startswith("WorkerTaskDefinitionTaskRole")
        for statement in body["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    assert {"ecs:UpdateTaskProtection", "ecs:GetTaskProtection"} <= actions
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage"} <= actions
    assert {"s3:GetObject", "s3:PutObject", "dynamodb:GetItem", "dynamodb:UpdateItem"} <= actions
