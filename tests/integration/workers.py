"""A worker in its own process, slowed down so that tests can stop or kill it mid-batch."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

# Runs the real worker entry point with the preview style made slow by a fixed sleep per batch.
SLOW_WORKER = """
import sys, time
from container.model import cartoon
original = cartoon.CartoonStylizer.stylize
def slow(self, faces):
    time.sleep(float(sys.argv[1]))
    return original(self, faces)
cartoon.CartoonStylizer.stylize = slow
from container.worker.main import main
raise SystemExit(main())
"""


def start_worker_process(*, seconds_per_batch: float, visibility: int, batch_size: int = 10) -> subprocess.Popen[bytes]:
    """Start `container.worker` in a child process against the embedded stack's moto server."""
    env = dict(
        os.environ,
        S2A_STYLE="preview",
        S2A_WAIT_SECONDS="1",
        S2A_VISIBILITY_TIMEOUT=str(visibility),
        S2A_HEARTBEAT_SECONDS="1",
        S2A_RETRY_DELAY_SECONDS="1",
        S2A_BATCH_SIZE=str(batch_size),
    )
    return subprocess.Popen([sys.executable, "-c", SLOW_WORKER, str(seconds_per_batch)], env=env, cwd=REPOSITORY_ROOT)


def in_flight(queue_url: str) -> int:
    """Messages received by a consumer and not yet deleted or returned."""
    from functions.core import aws

    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"])


def queue_depth(queue_url: str) -> int:
    """Messages on a queue, visible or in flight."""
    from functions.core import aws

    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def wait_until(condition: Any, *, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting until {message}")
