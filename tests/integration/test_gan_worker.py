"""The worker with installed U-GAT-IT weights: strict loading, the GAN style, and no preview footer.

The weights are a small randomly initialised U-GAT-IT-pytorch checkpoint that this test writes
on purpose; the product itself never runs the GAN on weights it did not load from a file.
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from functions.core import keys
from tests.model.factories import save_pytorch_checkpoint, small_config
from tests.unit.events import context, receive_all, sqs_bodies_event


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    from container.weights import install_weights

    checkpoint = save_pytorch_checkpoint(tmp_path / "light_params_0001000.pt", small_config(layout="pytorch", mode="light", channels=8))
    directory = tmp_path / "weights"
    install_weights(str(checkpoint), weights_dir=directory)
    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(directory))
    return directory


def test_auto_style_picks_installed_gan(weights_dir):
    from container.worker.main import load_stylizer

    assert load_stylizer("auto").style == "gan"


def test_auto_style_without_weights_is_preview(tmp_path, monkeypatch):
    from container.worker.main import load_stylizer

    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(tmp_path / "empty"))

    assert load_stylizer("auto").style == "preview"


def test_gan_style_without_weights_refuses_to_start(tmp_path, monkeypatch):
    from container.worker.main import StylizerUnavailable, load_stylizer, main

    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("S2A_STYLE", "gan")

    with pytest.raises(StylizerUnavailable):
        load_stylizer("gan")
    assert main() == 1


def test_truncated_weights_refuse_to_start(weights_dir):
    from container.worker.main import StylizerUnavailable, load_stylizer

    weights_file = next(weights_dir.glob("*.safetensors"))
    weights_file.write_bytes(weights_file.read_bytes()[:1000])

    with pytest.raises(StylizerUnavailable, match="could not load the GAN weights"):
        load_stylizer("auto")


def test_gan_portrait_email_has_no_preview_footer(paused_stack, weights_dir, portrait_jpeg):
    from container.worker.loop import Worker, WorkerConfig
    from container.worker.main import load_stylizer
    from functions.core import aws
    from functions.core.faces import FaceRules, RetinaFaceDetector, prepare_face
    from functions.core.jobs import JobStatus, JobStore
    from functions.core.mail import PREVIEW_FOOTER
    from functions.core.settings import Settings
    from functions.notify.handler import lambda_handler as notify

    settings = Settings.from_env()
    store = JobStore(settings)
    job_id = keys.new_job_id()
    store.create(job_id=job_id, email="gan@example.com", delete_token="t")
    store.transition(job_id, JobStatus.VALIDATING)
    store.transition(job_id, JobStatus.QUEUED)
    face = prepare_face(portrait_jpeg, detector=RetinaFaceDetector(), rules=FaceRules(), max_pixels=settings.max_image_pixels).image
    buffer = io.BytesIO()
    face.save(buffer, format="PNG")
    aws.client("s3").put_object(Bucket=settings.bucket, Key=keys.face_key(job_id), Body=buffer.getvalue())
    aws.client("sqs").send_message(QueueUrl=settings.inference_queue_url, MessageBody=json.dumps({"job_id": job_id}))

    worker = Worker(settings, load_stylizer("gan"), WorkerConfig(batch_size=4, wait_seconds=1, visibility_timeout=60))
    report = worker.run_once()

    assert report.done == [job_id]
    job = store.get(job_id)
    assert job.status == "DONE"
    assert job.style == "gan"
    portrait = Image.open(io.BytesIO(aws.client("s3").get_object(Bucket=settings.bucket, Key=keys.result_key(job_id))["Body"].read()))
    assert portrait.size == (256, 256)

    messages = receive_all(settings.notify_queue_url)
    notify(sqs_bodies_event([message["Body"] for message in messages]), context("notify"))
    [email] = [m for m in paused_stack.outbox.sent() if m["X-Selfie2Anime-Job"] == job_id]
    assert PREVIEW_FOOTER not in email.get_body(preferencelist=("plain",)).get_content()
