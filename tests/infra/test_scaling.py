"""The worker's scaling rule: ceil(backlog / images_per_task) tasks, from zero, capped."""

from __future__ import annotations

import pytest

from infra.scaling import MAX_STEPS, desired_tasks, scale_out_steps, tasks_from_steps


@pytest.mark.parametrize(
    ("backlog", "expected"),
    [(0, 0), (1, 1), (16, 1), (17, 2), (32, 2), (33, 3), (64, 4), (65, 4), (10_000, 4)],
)
def test_desired_tasks_table(backlog: int, expected: int) -> None:
    assert desired_tasks(backlog, images_per_task=16, max_tasks=4) == expected


@pytest.mark.parametrize(("images_per_task", "max_tasks"), [(1, 1), (1, 5), (4, 3), (16, 2), (50, 20)])
def test_steps_match_rule(images_per_task: int, max_tasks: int) -> None:
    steps = scale_out_steps(images_per_task=images_per_task, max_tasks=max_tasks)
    for backlog in range(0, images_per_task * (max_tasks + 2)):
        expected = desired_tasks(backlog, images_per_task=images_per_task, max_tasks=max_tasks)
        assert tasks_from_steps(steps, backlog) == expected, backlog


def test_steps_are_contiguous() -> None:
    steps = scale_out_steps(images_per_task=8, max_tasks=3)
    assert steps[0].lower == 0
    for before, after in zip(steps, steps[1:], strict=False):
        assert before.upper == after.lower
    assert steps[-1].upper is None


def test_one_message_starts_one_task() -> None:
    steps = scale_out_steps(images_per_task=16, max_tasks=2)
    assert tasks_from_steps(steps, 1) == 1


@pytest.mark.parametrize(("images_per_task", "max_tasks"), [(0, 2), (4, 0), (4, MAX_STEPS + 1)])
def test_invalid_settings_raise(images_per_task: int, max_tasks: int) -> None:
    with pytest.raises(ValueError):
        scale_out_steps(images_per_task=images_per_task, max_tasks=max_tasks)
