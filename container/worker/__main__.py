"""Entry point of the worker container: `python -m container.worker`."""

from __future__ import annotations

import sys

from container.worker.main import main

sys.exit(main())
