"""The `selfie2anime` command in a child process, as a person runs it."""

from __future__ import annotations

import email
import re
import subprocess
import sys
from email.policy import default
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selfie2anime", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.e2e
def test_demo_prints_portrait_and_email(tmp_path):
    result = run("demo", "--email", "demo.person@example.com", "--outbox", str(tmp_path / "outbox"), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert re.search(r"^Job [A-Za-z0-9_-]{32}$", result.stdout, re.MULTILINE)
    for state in ("PENDING_UPLOAD", "VALIDATING", "QUEUED", "DONE", "NOTIFIED"):
        assert re.search(rf"^\s+\d+\.\d\d s  {state}$", result.stdout, re.MULTILINE), state
    assert "preview style: no GAN weights installed; see README" in result.stdout
    portrait_path = Path(re.search(r"portrait\s+(\S+\.png)", result.stdout).group(1))
    eml_path = Path(re.search(r"email\s+(\S+\.eml)", result.stdout).group(1))
    portrait_path = portrait_path if portrait_path.is_absolute() else tmp_path / portrait_path
    eml_path = eml_path if eml_path.is_absolute() else tmp_path / eml_path
    assert Image.open(portrait_path).size == (256, 256)
    message = email.message_from_bytes(eml_path.read_bytes(), policy=default)
    assert message["To"] == "demo.person@example.com"
    inline = next(part for part in message.walk() if part.get_content_maintype() == "image")
    assert inline.get_payload(decode=True) == portrait_path.read_bytes()
    assert "Traceback" not in result.stderr


@pytest.mark.e2e
def test_demo_with_cat_reports_rejection(tmp_path):
    from skimage import data

    Image.fromarray(data.chelsea()).save(tmp_path / "cat.jpg")

    result = run("demo", "cat.jpg", "--outbox", "outbox", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Result: REJECTED (no_face)" in result.stdout
    assert "We could not find a face in your photo." in result.stdout
    assert list((tmp_path / "outbox").glob("*.eml"))


def test_demo_with_missing_photo_fails_cleanly(tmp_path):
    result = run("demo", "missing.jpg", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.strip() == "error: photo not found: missing.jpg"


@pytest.mark.parametrize("command", [[], ["demo"], ["serve"], ["model"]])
def test_every_command_has_help(command, tmp_path):
    result = run(*command, "--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert len(result.stdout.splitlines()) > 3


@pytest.mark.parametrize(("args", "message"), [
    (["demo", "--timeout", "0"], "not a positive number of seconds"),
    (["demo", "--timeout", "nan"], "not a positive number of seconds"),
    (["serve", "--port", "70000"], "outside 0-65535"),
    (["serve", "--port", "-1"], "outside 0-65535"),
])
def test_invalid_options_are_rejected(tmp_path, args, message):
    result = run(*args, cwd=tmp_path)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_with_folder_fails_cleanly(tmp_path):
    (tmp_path / "photos").mkdir()

    result = run("demo", "photos", cwd=tmp_path)

    assert result.returncode == 1
    assert "is a folder" in result.stderr


@pytest.mark.e2e
def test_serve_stops_cleanly_on_sigterm(tmp_path):
    import signal
    import time

    import requests

    process = subprocess.Popen([sys.executable, "-m", "selfie2anime", "serve", "--port", "0", "--outbox", "outbox"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/", first_line).group(1)
        assert requests.get(f"{url}/", timeout=10).status_code == 200
        time.sleep(0.5)

        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0
    assert "Stopping." in stdout
    assert "Traceback" not in stderr
