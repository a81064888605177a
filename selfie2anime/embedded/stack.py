"""Starts and stops the embedded stack: moto, the resources, the pollers, the worker, the API server."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.config import REPOSITORY_ROOT, DeploymentConfig, load_config

REGION = "us-east-1"


@dataclass
class EmbeddedOptions:
    """Options of the embedded stack: the worker's style, the mail and log folders, the API port."""

    outbox: Path = field(default_factory=lambda: Path("outbox"))
    log_file: Path | None = None
    style: str = "auto"
    api_port: int = 0
    retry_delay_seconds: int = 1
    worker: bool = True
    config_overrides: dict[str, Any] = field(default_factory=dict)


class EmbeddedStack:
    """The whole pipeline in one process, against a moto server on 127.0.0.1.

    Only one stack may run per process: the handlers read their settings from the
    environment when first imported, as they do in Lambda.
    """

    _running: EmbeddedStack | None = None

    def __init__(self, options: EmbeddedOptions | None = None) -> None:
        self.options = options or EmbeddedOptions()
        self.config: DeploymentConfig = load_config(overrides=self.options.config_overrides)
        self._parts: list[Any] = []
        self.stylizer: Any = None
        self.worker: Any = None
        self._worker_thread: threading.Thread | None = None

    def start(self) -> EmbeddedStack:
        if EmbeddedStack._running is not None:
            raise RuntimeError("an embedded stack is already running in this process; stop it first")
        from moto.server import ThreadedMotoServer

        # moto's server logs every request through werkzeug; keep that off the console.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._configure_aws_environment()

        from functions.core import aws
        from selfie2anime.embedded.resources import allow_web_origin, create_resources

        aws.reset_clients()
        self.resources = create_resources(self.config)
        self._configure_runtime_environment()
        self._start_api()
        allow_web_origin(self.resources.bucket, self.api.url)
        self._start_pollers()
        if self.options.worker:
            self.start_worker()
        from selfie2anime.embedded.outbox import Outbox

        self.outbox = Outbox(self.options.outbox, region=REGION)
        EmbeddedStack._running = self
        return self

    def _configure_aws_environment(self) -> None:
        # Fake credentials and a local endpoint: nothing can reach AWS from here.
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "embedded",
                "AWS_SECRET_ACCESS_KEY": "embedded",
                "AWS_SESSION_TOKEN": "embedded",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_SERVICE_NAME": "selfie2anime",
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        if self.options.log_file:
            self.options.log_file.parent.mkdir(parents=True, exist_ok=True)
            os.environ["S2A_LOG_FILE"] = str(self.options.log_file)

    def _configure_runtime_environment(self) -> None:
        resources = self.resources
        # The same variables, from the same function, as the CDK app sets on each Lambda function.
        os.environ.update(
            self.config.runtime_environment(
                bucket=resources.bucket,
                jobs_table=resources.table,
                inference_queue_url=resources.inference.url,
                notify_queue_url=resources.notify.url,
            )
        )
        os.environ["S2A_FACE_DETECTOR"] = "builtin"
        os.environ.pop("S2A_CONFIGURATION_SET", None)

    def _start_api(self) -> None:
        from selfie2anime.embedded.http_api import LocalApiServer

        # The API server's URL is only known once it is bound, and the handler reads it at
        # import, so bind first and import the handler on the first request.
        def call_api(event: dict[str, Any], context: Any) -> dict[str, Any]:
            from functions.api.handler import lambda_handler

            return lambda_handler(event, context)

        self.api = LocalApiServer(call_api, web_root=REPOSITORY_ROOT / "web", port=self.options.api_port)
        os.environ["S2A_API_BASE_URL"] = self.api.url
        os.environ["S2A_WEB_ORIGIN"] = self.api.url
        self.api.start()
        self._parts.append(self.api)

    def _start_pollers(self) -> None:
        from functions.dead_letter.handler import lambda_handler as dead_letter
        from functions.notify.handler import lambda_handler as notify
        from functions.validate_face.handler import lambda_handler as validate_face
        from selfie2anime.embedded.lambda_runtime import SqsPoller

        resources, delay = self.resources, self.options.retry_delay_seconds
        pollers = [
            SqsPoller(name="validate_face", queue_url=resources.intake.url, queue_arn=resources.intake.arn, handler=validate_face, retry_delay_seconds=delay),
            SqsPoller(name="notify", queue_url=resources.notify.url, queue_arn=resources.notify.arn, handler=notify, retry_delay_seconds=delay),
            SqsPoller(name="dead_letter_intake", queue_url=resources.intake.dead_letter_url, queue_arn=resources.intake.dead_letter_arn, handler=dead_letter, retry_delay_seconds=delay),
            SqsPoller(name="dead_letter_inference", queue_url=resources.inference.dead_letter_url, queue_arn=resources.inference.dead_letter_arn, handler=dead_letter, retry_delay_seconds=delay),
        ]
        for poller in pollers:
            poller.start()
            self._parts.append(poller)
        self.pollers = {poller.name: poller for poller in pollers}

    def start_worker(self) -> None:
        """Start the GPU worker's loop on the CPU in a background thread."""
        from container.worker.loop import Worker, WorkerConfig
        from container.worker.main import load_stylizer
        from functions.core.settings import Settings

        if self.stylizer is None:
            self.stylizer = load_stylizer(self.options.style)
        config = WorkerConfig(
            batch_size=4, wait_seconds=1, visibility_timeout=60, heartbeat_seconds=20, retry_delay_seconds=self.options.retry_delay_seconds
        )
        self.worker = Worker(Settings.from_env(), self.stylizer, config)
        self._worker_thread = threading.Thread(target=self.worker.run, name="worker", daemon=True)
        self._worker_thread.start()

    def stop_worker(self) -> None:
        if self.worker is not None and self._worker_thread is not None:
            self.worker.stopping.set()
            self._worker_thread.join(timeout=120)
            self.worker = None
            self._worker_thread = None

    def pause(self) -> None:
        """Stop the pollers and the worker after their batches in flight, so a caller can drive the handlers."""
        for poller in self.pollers.values():
            poller.pause()
        self.stop_worker()

    def resume(self) -> None:
        for poller in self.pollers.values():
            poller.resume()
        if self.options.worker:
            self.start_worker()

    def purge_queues(self) -> None:
        """Delete every visible message from every queue and dead-letter queue.

        Receives and deletes instead of calling PurgeQueue, which SQS (and moto) allow once a minute.
        """
        from functions.core import aws

        sqs = aws.client("sqs")
        for pair in (self.resources.intake, self.resources.inference, self.resources.notify):
            for url in (pair.url, pair.dead_letter_url):
                while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
                    entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(messages)]
                    sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def stop(self) -> None:
        self.stop_worker()
        for part in reversed(self._parts):
            part.stop()
        self._parts.clear()
        self.moto.stop()
        EmbeddedStack._running = None

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
