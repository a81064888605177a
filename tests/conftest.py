"""Fixtures shared by the test suite: one embedded stack per test session, and test photos."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """A folder for files a test run leaves for people to look at (emails, screenshots)."""
    folder = Path(os.environ.get("S2A_TEST_OUTPUT", "test-output")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def stack(output_dir: Path) -> Iterator[object]:
    """The embedded stack (moto on 127.0.0.1, pollers, worker on CPU in the preview style)."""
    from selfie2anime.embedded.stack import EmbeddedOptions, EmbeddedStack

    options = EmbeddedOptions(outbox=output_dir / "outbox", log_file=output_dir / "logs" / "stack.jsonl", style="preview")
    running = EmbeddedStack(options).start()
    yield running
    running.stop()


@pytest.fixture
def paused_stack(stack: object) -> Iterator[object]:
    """The embedded stack with its pollers and worker stopped and its queues empty, for driving handlers by hand."""
    stack.pause()  # type: ignore[attr-defined]
    stack.purge_queues()  # type: ignore[attr-defined]
    yield stack
    stack.purge_queues()  # type: ignore[attr-defined]
    stack.resume()  # type: ignore[attr-defined]


def jpeg_bytes(array: object, *, quality: int = 92) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.fixture(scope="session")
def portrait_jpeg() -> bytes:
    """scikit-image's public-domain astronaut portrait: one upright face."""
    from skimage import data

    return jpeg_bytes(data.astronaut())


@pytest.fixture(scope="session")
def cat_jpeg() -> bytes:
    """scikit-image's `chelsea`: a cat, no human face."""
    from skimage import data

    return jpeg_bytes(data.chelsea())
