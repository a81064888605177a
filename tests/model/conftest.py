"""Fixtures for the model and weights tests: checkpoints on disk and a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.model.factories import save_pytorch_checkpoint, small_config


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from the test's folder; /truncated/NAME announces more bytes than it sends.

    /redirect/URL returns a redirect to URL.
    """

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.startswith("/redirect/"):
            # /redirect/URL returns 302 with Location URL.
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not self.path.startswith("/truncated/"):
            super().do_GET()
            return
        data = (Path(self.directory) / self.path.removeprefix("/truncated/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (signature of the base class)
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 (free port) serving a fresh folder; yields (base URL, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def light_checkpoint(tmp_path: Path) -> Path:
    """A small light-mode UGATIT-pytorch checkpoint with all six networks."""
    return save_pytorch_checkpoint(tmp_path / "light_params_0001000.pt", small_config(layout="pytorch", mode="light"))


@pytest.fixture
def full_checkpoint(tmp_path: Path) -> Path:
    """A small full-mode UGATIT-pytorch checkpoint (32px images) with all six networks."""
    return save_pytorch_checkpoint(tmp_path / "full_params_0001000.pt", small_config(layout="pytorch", mode="full"), seed=100)
