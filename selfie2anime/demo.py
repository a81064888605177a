"""`selfie2anime demo`: one photo through the whole embedded pipeline, as a person's browser would send it."""

from __future__ import annotations

import io
import mimetypes
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TextIO

import requests

from functions.core.jobs import TERMINAL, JobStatus


class DemoError(RuntimeError):
    """Raised when the demo cannot go on; the message is for the person running it."""


@dataclass
class DemoResult:
    """Record of one demo run: the job, its states with times, and the files it wrote."""

    job_id: str
    status: str
    reason: str | None
    transitions: list[tuple[str, float]] = field(default_factory=list)
    portrait_path: Path | None = None
    eml_path: Path | None = None
    style: str | None = None


def sample_photo() -> tuple[bytes, str, str]:
    """Return scikit-image's public-domain `astronaut` portrait (Eileen Collins, NASA) as a JPEG."""
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue(), "astronaut.jpg", "image/jpeg"


def read_photo(path: Path) -> tuple[bytes, str, str]:
    if path.is_dir():
        raise DemoError(f"{path} is a folder; give the path of a photo file")
    if not path.is_file():
        raise DemoError(f"photo not found: {path}")
    content_type = mimetypes.guess_type(path.name)[0] or "image/jpeg"
    if not content_type.startswith("image/"):
        # The upload form only accepts image types; the validator reads the real type from the bytes.
        content_type = "image/jpeg"
    return path.read_bytes(), path.name, content_type


def create_job(api_url: str, email: str) -> dict[str, Any]:
    response = requests.post(f"{api_url}/jobs", json={"email": email, "consent": True}, timeout=30)
    if response.status_code != 201:
        raise DemoError(f"the API rejected the job: {response.json().get('message', response.text)}")
    return response.json()


def upload(job: dict[str, Any], data: bytes, filename: str, content_type: str) -> None:
    """POST the photo to the presigned form, as a browser's multipart form would."""
    form = dict(job["upload"]["fields"])
    form["Content-Type"] = content_type
    response = requests.post(job["upload"]["url"], data=form, files={"file": (filename, data, content_type)}, timeout=60)
    if response.status_code not in (200, 201, 204):
        raise DemoError(f"the upload failed with HTTP {response.status_code}")


def wait_for_email(stack: Any, job: dict[str, Any], *, timeout: float, out: TextIO) -> DemoResult:
    """Poll the status URL, print each change with its time, until the job's email is written."""
    started = time.monotonic()
    result = DemoResult(job_id=job["job_id"], status=JobStatus.PENDING_UPLOAD.value, reason=None)
    seen: set[str] = set()
    while time.monotonic() - started < timeout:
        status = requests.get(job["status_url"], timeout=30).json()
        history: dict[str, float] = status.get("history", {})
        for name, at in sorted(history.items(), key=lambda item: item[1]):
            if name not in seen:
                seen.add(name)
                elapsed = at - history[JobStatus.PENDING_UPLOAD.value]
                result.transitions.append((name, elapsed))
                out.write(f"  {elapsed:7.2f} s  {name}\n")
        result.status, result.reason, result.style = status["status"], status.get("reason"), status.get("style")
        stack.outbox.flush()
        eml = stack.outbox.path_for(result.job_id)
        if status.get("notified") and eml is not None:
            result.eml_path = eml
            if result.status == JobStatus.DONE.value:
                portrait = requests.get(status["result_url"], timeout=30)
                result.portrait_path = eml.with_name(f"{result.job_id}.png")
                result.portrait_path.write_bytes(portrait.content)
            return result
        time.sleep(0.25)
    raise DemoError(f"timed out after {timeout:.0f} s without an email; the job is {result.status}. See the log file for details.")


def inline_portrait(eml_path: Path) -> bytes | None:
    """Return the bytes of the image that the email's HTML shows by Content-ID, if any."""
    import email
    from email.policy import default

    message = email.message_from_bytes(eml_path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        if part.get_content_maintype() == "image" and part["Content-ID"]:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def finished(status: str) -> bool:
    return JobStatus(status) in TERMINAL
