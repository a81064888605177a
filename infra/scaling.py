"""The worker's scaling rule as plain numbers: desired tasks = ceil(backlog / images_per_task).

Application Auto Scaling's target tracking computes the new capacity in proportion to the
current one, so a service at 0 tasks stays at 0 whatever the backlog per task. The worker
therefore uses step scaling with exact capacities. An alarm on the inference backlog
(messages visible + in flight) sets the task count to the band the backlog falls in, so one
message starts one task. CloudWatch repeats Auto Scaling actions every minute while an
alarm stays in ALARM, so the count follows the backlog as it grows or shrinks. A second
alarm returns the service to 0 after the backlog has been empty for `worker_idle_minutes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The scale-out alarm fires when the backlog is at least this many messages; step bounds
# are relative to it.
SCALE_OUT_THRESHOLD = 1
# Application Auto Scaling allows 20 step adjustments per policy by default (an adjustable quota).
MAX_STEPS = 20


@dataclass(frozen=True)
class Step:
    """One band of the scale-out policy: backlog - threshold in [lower, upper) gives `tasks`."""

    lower: int
    upper: int | None
    tasks: int


def desired_tasks(backlog: int, *, images_per_task: int, max_tasks: int) -> int:
    """Return the task count for `backlog` messages: ceil(backlog / images_per_task), capped at max_tasks."""
    if backlog <= 0:
        return 0
    return min(max_tasks, math.ceil(backlog / images_per_task))


def scale_out_steps(*, images_per_task: int, max_tasks: int) -> list[Step]:
    """Return the exact-capacity steps that implement `desired_tasks` for a backlog of 1 or more.

    Raises:
        ValueError: images_per_task or max_tasks is below 1, or max_tasks needs more steps than
            Application Auto Scaling allows.
    """
    if images_per_task < 1:
        raise ValueError(f"worker_images_per_task={images_per_task} must be at least 1")
    if not 1 <= max_tasks <= MAX_STEPS:
        raise ValueError(f"worker_max_tasks={max_tasks} must be between 1 and {MAX_STEPS} (one scaling step per task count)")
    steps = []
    for tasks in range(1, max_tasks + 1):
        lower = (tasks - 1) * images_per_task
        upper = tasks * images_per_task if tasks < max_tasks else None
        steps.append(Step(lower=lower, upper=upper, tasks=tasks))
    return steps


def tasks_from_steps(steps: list[Step], backlog: int) -> int:
    """Evaluate the steps the way Application Auto Scaling does, for tests and docs (0 below the threshold)."""
    offset = backlog - SCALE_OUT_THRESHOLD
    if offset < 0:
        return 0
    for step in steps:
        if step.lower <= offset and (step.upper is None or offset < step.upper):
            return step.tasks
    raise ValueError(f"no step covers a backlog of {backlog}")
