"""A local stand-in for API Gateway: turns HTTP requests into REST API proxy events.

Requests under /jobs go to the API handler as API Gateway (REST, v1 payload) events;
other GET requests are served from the web/ folder, so the upload page and the API share
one origin on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import sys
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from functions.core.observability import logger
from selfie2anime.embedded.lambda_runtime import LocalContext, invoke

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_BODY_BYTES = 64 * 1024
STAGE = "local"


def rest_event(method: str, target: str, headers: dict[str, str], body: bytes, *, host: str) -> dict[str, Any]:
    """Build the event API Gateway's REST API sends to a Lambda proxy integration."""
    split = urlsplit(target)
    path = split.path
    query = parse_qs(split.query, keep_blank_values=True)
    segments = [segment for segment in path.split("/") if segment]
    path_parameters = None
    resource = path
    if len(segments) == 2 and segments[0] == "jobs":
        path_parameters = {"job_id": segments[1]}
        resource = "/jobs/{job_id}"
    try:
        text, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "domainName": host,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text if body else None,
        "isBase64Encoded": is_base64,
    }


class _QuietServer(ThreadingHTTPServer):
    """A threading server that treats a client hanging up early as normal, not as an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        logger.exception("local API server failed on a request")


class LocalApiServer:
    """Serves the API handler and the web page on 127.0.0.1 in a background thread."""

    def __init__(self, handler: Handler, *, web_root: Path | None, port: int = 0) -> None:
        self._api_handler = handler
        self._web_root = web_root.resolve() if web_root else None
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Seconds a connection may stay silent, e.g. a body shorter than its Content-Length.
            timeout = 30

            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                server._dispatch(self)

            def do_POST(self) -> None:  # noqa: N802
                server._dispatch(self)

            def do_DELETE(self) -> None:  # noqa: N802
                server._dispatch(self)

            def do_OPTIONS(self) -> None:  # noqa: N802
                server._dispatch(self)

            def do_PUT(self) -> None:  # noqa: N802
                server._dispatch(self)

            def do_PATCH(self) -> None:  # noqa: N802
                server._dispatch(self)

            def do_HEAD(self) -> None:  # noqa: N802
                server._dispatch(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep access logs off the console
                return

        self._httpd = _QuietServer(("127.0.0.1", port), RequestHandler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="local-api", daemon=True)

    @property
    def url(self) -> str:
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _dispatch(self, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        if path == "/jobs" or path.startswith("/jobs/"):
            self._call_api(request)
        elif request.command in ("GET", "HEAD"):
            self._serve_file(request, path)
        else:
            self._refuse(request, 405, "method_not_allowed", "The page only answers GET; the API is under /jobs.")

    def _refuse(self, request: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        """Send a JSON error and close the connection, because the request body was not read."""
        request.close_connection = True
        body = json.dumps({"error": code, "message": message}).encode()
        self._send(request, status, body, {"Content-Type": "application/json", "Connection": "close"})

    def _call_api(self, request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("Transfer-Encoding"):
            self._refuse(request, 411, "length_required", "Send the request body with a Content-Length header.")
            return
        raw_length = request.headers.get("Content-Length") or "0"
        if not raw_length.isdigit():
            self._refuse(request, 400, "invalid_content_length", "The Content-Length header must be a non-negative integer.")
            return
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            self._refuse(request, 413, "body_too_large", "The request body is too large.")
            return
        body = request.rfile.read(length) if length else b""
        headers = {name: value for name, value in request.headers.items()}
        event = rest_event(request.command, request.path, headers, body, host=request.headers.get("Host", "127.0.0.1"))
        response = invoke(self._api_handler, event, LocalContext(function_name="api")) or {}
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
        out_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[name] = ", ".join(values)
        self._send(request, int(response["statusCode"]), data, out_headers)

    def _serve_file(self, request: BaseHTTPRequestHandler, path: str) -> None:
        if self._web_root is None:
            self._send(request, 404, b"not found\n", {"Content-Type": "text/plain"})
            return
        relative = path.lstrip("/") or "index.html"
        target = (self._web_root / relative).resolve()
        if not target.is_relative_to(self._web_root) or not target.is_file():
            self._send(request, 404, b"not found\n", {"Content-Type": "text/plain"})
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self._send(request, 200, target.read_bytes(), {"Content-Type": content_type, "Cache-Control": "no-store"})

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]) -> None:
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(data)
