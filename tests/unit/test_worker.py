"""The worker loop against moto: render, store, finish, and delete messages only after that."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from functions.core import keys
from tests.unit.events import receive_all


class CountingStylizer:
    """The preview style, counting the faces it renders."""

    style = "preview"
    description = "counting preview"

    def __init__(self, fail: bool = False) -> None:
        from container.model.cartoon import CartoonStylizer

        self.inner = CartoonStylizer()
        self.rendered = 0
        self.fail = fail

    def stylize(self, faces):
        if self.fail:
            raise RuntimeError("generator exploded")
        self.rendered += len(faces)
        return self.inner.stylize(faces)


@pytest.fixture
def env(paused_stack):
    from container.worker.loop import Worker, WorkerConfig
    from functions.core import aws
    from functions.core.jobs import JobStatus, JobStore
    from functions.core.settings import Settings

    class Env:
        settings = Settings.from_env()
        store = JobStore(settings)
        s3 = aws.client("s3")
        sqs = aws.client("sqs")
        stack = paused_stack

        def queued_job(self) -> str:
            job_id = keys.new_job_id()
            self.store.create(job_id=job_id, email="worker@example.com", delete_token="t")
            self.store.transition(job_id, JobStatus.VALIDATING)
            self.store.transition(job_id, JobStatus.QUEUED)
            buffer = io.BytesIO()
            Image.new("RGB", (256, 256), (180, 140, 120)).save(buffer, format="PNG")
            self.s3.put_object(Bucket=self.settings.bucket, Key=keys.face_key(job_id), Body=buffer.getvalue())
            return job_id

        def send(self, job_id: str) -> None:
            self.sqs.send_message(QueueUrl=self.settings.inference_queue_url, MessageBody=json.dumps({"job_id": job_id}))

        def worker(self, stylizer, *, visibility: int = 30) -> Worker:
            config = WorkerConfig(batch_size=10, wait_seconds=1, visibility_timeout=visibility, heartbeat_seconds=0.2, retry_delay_seconds=1)
            return Worker(self.settings, stylizer, config)

    return Env()


def test_batch_renders_stores_and_finishes(env):
    jobs = [env.queued_job() for _ in range(3)]
    for job_id in jobs:
        env.send(job_id)
    stylizer = CountingStylizer()

    report = env.worker(stylizer).run_once()

    assert sorted(report.done) == sorted(jobs)
    assert stylizer.rendered == 3
    for job_id in jobs:
        job = env.store.get(job_id)
        assert job.status == "DONE"
        assert job.style == "preview"
        result = env.s3.get_object(Bucket=env.settings.bucket, Key=keys.result_key(job_id))["Body"].read()
        assert Image.open(io.BytesIO(result)).size == (256, 256)
    assert receive_all(env.settings.inference_queue_url, wait=0) == []
    notified = sorted(json.loads(m["Body"])["job_id"] for m in receive_all(env.settings.notify_queue_url))
    assert notified == sorted(jobs)


def test_duplicate_messages_render_once(env):
    job_id = env.queued_job()
    env.send(job_id)
    env.send(job_id)
    stylizer = CountingStylizer()

    env.worker(stylizer).run_once()

    assert stylizer.rendered == 1
    assert receive_all(env.settings.inference_queue_url, wait=0) == []
    assert len(receive_all(env.settings.notify_queue_url)) == 1


def test_finished_job_message_is_dropped(env):
    job_id = env.queued_job()
    env.store.transition(job_id, "DONE")
    env.send(job_id)
    stylizer = CountingStylizer()

    report = env.worker(stylizer).run_once()

    assert report.skipped == [job_id]
    assert stylizer.rendered == 0
    assert receive_all(env.settings.inference_queue_url, wait=0) == []


def test_generator_failure_keeps_messages(env):
    job_id = env.queued_job()
    env.send(job_id)

    report = env.worker(CountingStylizer(fail=True), visibility=60).run_once()

    assert report.failed == [job_id]
    assert env.store.get(job_id).status == "QUEUED"
    import time

    time.sleep(1.5)
    assert [json.loads(m["Body"])["job_id"] for m in receive_all(env.settings.inference_queue_url)] == [job_id]


def test_heartbeat_extends_visibility_during_slow_batch(env):
    import time

    job_id = env.queued_job()
    env.send(job_id)
    seen_by_another_consumer = []

    class SlowStylizer(CountingStylizer):
        def stylize(self, faces):
            # Outlive the 1 s visibility timeout twice over, then look at the queue as a second worker would.
            time.sleep(2.5)
            seen_by_another_consumer.extend(receive_all(env.settings.inference_queue_url, wait=0))
            return super().stylize(faces)

    stylizer = SlowStylizer()
    report = env.worker(stylizer, visibility=1).run_once()

    assert report.done == [job_id]
    assert seen_by_another_consumer == []
    assert receive_all(env.settings.inference_queue_url, wait=0) == []


def test_batch_runs_under_scale_in_protection(env):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from container.worker.protection import TaskProtection

    calls = []

    class FakeAgent(BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802
            calls.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            return

    agent = ThreadingHTTPServer(("127.0.0.1", 0), FakeAgent)
    threading.Thread(target=agent.serve_forever, daemon=True).start()
    try:
        job_id = env.queued_job()
        env.send(job_id)
        worker = env.worker(CountingStylizer())
        worker.protection = TaskProtection(f"http://127.0.0.1:{agent.server_address[1]}", minutes=15)

        worker.run_once()
    finally:
        agent.shutdown()
        agent.server_close()

    assert [path for path, _ in calls] == ["/task-protection/v1/state"] * 2
    assert calls[0][1] == {"ProtectionEnabled": True, "ExpiresInMinutes": 15}
    assert calls[1][1] == {"ProtectionEnabled": False}
    assert env.store.get(job_id).status == "DONE"


def test_idle_poll_leaves_protection_alone(env):
    from container.worker.protection import TaskProtection

    class Recording(TaskProtection):
        def __init__(self):
            super().__init__("http://127.0.0.1:9")
            self.states = []

        def set(self, protected):
            self.states.append(protected)

    worker = env.worker(CountingStylizer())
    worker.protection = Recording()

    report = worker.run_once()

    assert report.received == 0
    assert worker.protection.states == []
