"""ECS task scale-in protection, so that scale-in never stops a task in the middle of a batch.

The ECS agent serves the endpoint at $ECS_AGENT_URI/task-protection/v1/state (see the ECS
developer guide, "Protect your Amazon ECS tasks from being terminated by scale-in events").
Outside ECS the variable is unset and protection is a no-op.
"""

from __future__ import annotations

import json
import os
import urllib.request

from functions.core.observability import worker_logger as logger


class TaskProtection:
    """Turns scale-in protection on while a batch runs and off when the worker is idle."""

    def __init__(self, agent_uri: str | None = None, *, minutes: int = 30) -> None:
        self._uri = agent_uri if agent_uri is not None else os.environ.get("ECS_AGENT_URI")
        self._minutes = minutes

    @property
    def enabled(self) -> bool:
        return bool(self._uri)

    def set(self, protected: bool) -> None:
        """Ask the ECS agent to set protection; log and carry on if the agent refuses."""
        if not self._uri:
            return
        body: dict[str, object] = {"ProtectionEnabled": protected}
        if protected:
            body["ExpiresInMinutes"] = self._minutes
        request = urllib.request.Request(
            f"{self._uri}/task-protection/v1/state",
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the ECS agent's own URI
                response.read()
        except OSError:
            logger.exception("could not set ECS task scale-in protection", extra={"protected": protected})
