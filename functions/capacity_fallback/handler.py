"""capacity_fallback: move the GPU worker service between its spot and on-demand capacity providers.

An EventBridge rule invokes this function when one of two CloudWatch alarms enters ALARM:

- the starved alarm (inference messages older than `worker_starved_minutes` and none deleted):
  spot capacity has not started the worker, so the service moves to the on-demand provider;
- the idle alarm (empty backlog for `worker_idle_minutes`, the moment the service scales to
  0): the service moves back to the spot provider, so that the next burst starts on spot.

ECS accepts a new capacity provider strategy only together with forceNewDeployment, so each
switch starts a deployment. Tasks waiting for spot capacity are stopped and started again on
on-demand hosts. A task under scale-in protection finishes its batch first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.core import aws
from functions.core.observability import logger, metrics, tracer

ALARM_STATE = "ALARM"
SWITCH_METRIC = "WorkerCapacitySwitches"
# Values of the metric's `capacity` dimension.
ON_DEMAND = "on_demand"
SPOT = "spot"


class ServiceNotFoundError(RuntimeError):
    """DescribeServices returned no service for the configured ARN."""


@dataclass(frozen=True, kw_only=True)
class FallbackSettings:
    """Names of the ECS resources and alarms this function works on, from its environment."""

    cluster: str
    service: str
    spot_provider: str
    on_demand_provider: str
    starved_alarm: str
    idle_alarm: str

    @classmethod
    def from_env(cls) -> FallbackSettings:
        """Read the variables the CDK app sets.

        Raises:
            KeyError: a variable is missing. The CapacityFallback construct in infra/ sets all of them.
        """
        return cls(
            cluster=os.environ["S2A_WORKER_CLUSTER"],
            service=os.environ["S2A_WORKER_SERVICE"],
            spot_provider=os.environ["S2A_SPOT_CAPACITY_PROVIDER"],
            on_demand_provider=os.environ["S2A_ON_DEMAND_CAPACITY_PROVIDER"],
            starved_alarm=os.environ["S2A_STARVED_ALARM"],
            idle_alarm=os.environ["S2A_IDLE_ALARM"],
        )


@dataclass(frozen=True, kw_only=True)
class Switch:
    """A capacity provider the service should move to, and why."""

    provider: str
    capacity: str
    reason: str


def switch_for_alarm(alarm_name: str, state: str, settings: FallbackSettings) -> Switch | None:
    """Return the switch that an alarm state change requests, or None for any other alarm or state."""
    if state != ALARM_STATE:
        return None
    if alarm_name == settings.starved_alarm:
        return Switch(
            provider=settings.on_demand_provider,
            capacity=ON_DEMAND,
            reason="inference messages are waiting and no task has deleted one, so spot capacity is not available",
        )
    if alarm_name == settings.idle_alarm:
        return Switch(
            provider=settings.spot_provider,
            capacity=SPOT,
            reason="the inference backlog has been empty long enough for the service to scale to 0",
        )
    return None


def describe_service(ecs: Any, settings: FallbackSettings) -> dict[str, Any]:
    """Return the worker service's description.

    Raises:
        ServiceNotFoundError: ECS reports the service missing, for example after the stack was deleted.
    """
    response = ecs.describe_services(cluster=settings.cluster, services=[settings.service])
    services = response.get("services", [])
    if not services:
        raise ServiceNotFoundError(
            f"DescribeServices found no service {settings.service} in cluster {settings.cluster}: "
            f"failures {response.get('failures', [])}; check S2A_WORKER_SERVICE and S2A_WORKER_CLUSTER"
        )
    service: dict[str, Any] = services[0]
    return service


def apply_switch(event: dict[str, Any], settings: FallbackSettings, ecs: Any) -> Switch | None:
    """Move the service to the capacity provider that the alarm in `event` selects.

    Idempotent: a service already on that provider is left alone, and so is a service with
    no task waiting for capacity when the starved alarm fires (with no weights installed,
    for example, the service stays at 0 tasks).

    Returns:
        The switch made, or None when nothing changed.

    Raises:
        ServiceNotFoundError: the service does not exist.
        botocore.exceptions.ClientError: DescribeServices or UpdateService failed.
    """
    detail = event.get("detail", {})
    alarm_name = str(detail.get("alarmName", ""))
    state = str(detail.get("state", {}).get("value", ""))
    switch = switch_for_alarm(alarm_name, state, settings)
    if switch is None:
        logger.info("ignoring an alarm state change that requests no switch", extra={"alarm": alarm_name, "state": state})
        return None

    service = describe_service(ecs, settings)
    current = sorted(item["capacityProvider"] for item in service.get("capacityProviderStrategy", []))
    context = {
        "alarm": alarm_name,
        "current_providers": current,
        "target_provider": switch.provider,
        "desired_count": service.get("desiredCount"),
        "running_count": service.get("runningCount"),
    }
    if current == [switch.provider]:
        logger.info("the service already uses the target capacity provider", extra=context)
        return None
    if switch.capacity == ON_DEMAND and service.get("desiredCount", 0) <= service.get("runningCount", 0):
        logger.info("no task is waiting for capacity, so the service stays on its capacity provider", extra=context)
        return None

    ecs.update_service(
        cluster=settings.cluster,
        service=settings.service,
        capacityProviderStrategy=[{"capacityProvider": switch.provider, "weight": 1}],
        forceNewDeployment=True,
    )
    # On-demand hosts cost more, so that switch is a warning. The way back is routine.
    log = logger.warning if switch.capacity == ON_DEMAND else logger.info
    log(f"moved the worker service to {switch.capacity} capacity: {switch.reason}", extra=context)
    return switch


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str | None]:
    switch = apply_switch(event, FallbackSettings.from_env(), aws.client("ecs"))
    if switch is None:
        return {"switched_to": None}
    metrics.add_dimension(name="capacity", value=switch.capacity)
    metrics.add_metric(name=SWITCH_METRIC, unit=MetricUnit.Count, value=1)
    return {"switched_to": switch.provider}
