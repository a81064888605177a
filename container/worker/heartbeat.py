"""Keeps a batch's SQS messages invisible while the generator works on them."""

from __future__ import annotations

import threading
from typing import Any

from functions.core.observability import worker_logger as logger


class VisibilityHeartbeat:
    """Extends the visibility timeout of in-flight messages every `interval` seconds.

    Use as a context manager around one batch. Messages removed with `release` (because they
    were deleted or given back) are no longer extended.
    """

    def __init__(self, sqs: Any, queue_url: str, receipts: dict[str, str], *, timeout: int, interval: float) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._receipts = dict(receipts)
        self._timeout = timeout
        self._interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="visibility-heartbeat", daemon=True)
        self.extensions = 0

    def __enter__(self) -> VisibilityHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def release(self, message_id: str) -> None:
        with self._lock:
            self._receipts.pop(message_id, None)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                entries = [
                    {"Id": message_id, "ReceiptHandle": receipt, "VisibilityTimeout": self._timeout}
                    for message_id, receipt in self._receipts.items()
                ]
            for start in range(0, len(entries), 10):
                try:
                    response = self._sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries[start:start + 10])
                except Exception:  # noqa: BLE001 - the next beat tries again; the batch must go on
                    logger.exception("visibility heartbeat failed")
                    continue
                for failed in response.get("Failed", []):
                    logger.warning("could not extend a message's visibility", extra={"message_id": failed.get("Id"), "code": failed.get("Code")})
            self.extensions += 1
