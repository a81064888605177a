"""Powertools Logger, Metrics and Tracer shared by every handler in a process.

In AWS the logs go to standard output, where Lambda sends them to CloudWatch. The embedded
stack sets S2A_LOG_FILE so that JSON log lines go to a file and the demo's console stays
readable.
"""

from __future__ import annotations

import os
import warnings
from typing import IO

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "selfie2anime")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Selfie2Anime")


def _log_stream() -> IO[str] | None:
    path = os.environ.get("S2A_LOG_FILE")
    if not path:
        return None
    return open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as the process


logger = Logger(service=SERVICE, stream=_log_stream())
# The GPU worker is its own service. A Logger of another service name keeps its own keys, so
# in the embedded stack, where the worker shares a process with the handlers, a Lambda
# context's keys never label the worker's lines.
worker_logger = Logger(service="worker", stream=_log_stream())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

# A request that records no metric (a status read, say) is normal here; Powertools warns about each one.
warnings.filterwarnings("ignore", message="No application metrics to publish")
