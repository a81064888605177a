"""Reads the emails that moto's SES kept and writes each one as an .eml file."""

from __future__ import annotations

import email
import threading
from email.message import Message
from email.policy import default
from pathlib import Path

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends


class Outbox:
    """Writes every email SES accepted into a folder, named after its job, once."""

    def __init__(self, folder: Path, *, region: str) -> None:
        self.folder = folder
        self.region = region
        self._written: set[str] = set()
        self._lock = threading.Lock()

    def sent(self) -> list[Message]:
        """Return every message sent so far, parsed, in sending order."""
        backend = ses_backends[DEFAULT_ACCOUNT_ID][self.region]
        return [email.message_from_string(raw.raw_data, policy=default) for raw in list(backend.sent_messages) if hasattr(raw, "raw_data")]

    def flush(self) -> list[Path]:
        """Write the messages not yet written; return the new files."""
        backend = ses_backends[DEFAULT_ACCOUNT_ID][self.region]
        new_files = []
        with self._lock:
            for raw in list(backend.sent_messages):
                if raw.id in self._written or not hasattr(raw, "raw_data"):
                    continue
                message = email.message_from_string(raw.raw_data, policy=default)
                job_id = message.get("X-Selfie2Anime-Job", raw.id)
                self.folder.mkdir(parents=True, exist_ok=True)
                path = self.folder / f"{job_id}.eml"
                if path.exists():
                    # A second email for one job would break the product's promise; keep both for inspection.
                    path = self.folder / f"{job_id}-{raw.id}.eml"
                path.write_text(raw.raw_data, encoding="utf-8")
                self._written.add(raw.id)
                new_files.append(path)
        return new_files

    def path_for(self, job_id: str) -> Path | None:
        path = self.folder / f"{job_id}.eml"
        return path if path.exists() else None
