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
