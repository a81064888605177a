"""The local API Gateway stand-in: malformed requests get a JSON error and never desynchronise."""

from __future__ import annotations

import json
import socket

import pytest

from selfie2anime.embedded.http_api import LocalApiServer


@pytest.fixture
def server(tmp_path):
    calls = []

    def api(event, context):
        calls.append((event["httpMethod"], event["path"], event["body"]))
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"ok": True})}

    (tmp_path / "index.html").write_text("<!DOCTYPE html><title>t</title>")
    running = LocalApiServer(api, web_root=tmp_path, port=0)
    running.start()
    running.calls = calls
    yield running
    running.stop()


def exchange(server, raw: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection, return what came back."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_bad_content_length_is_400(server):
    reply = exchange(server, b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n")

    assert reply.startswith(b"HTTP/1.1 400")
    assert b'"invalid_content_length"' in reply
    assert server.calls == []


def test_oversized_body_cannot_smuggle_a_request(server):
    smuggled = b"DELETE /jobs/SMUGGLED HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    request = b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + smuggled

    reply = exchange(server, request)

    assert reply.startswith(b"HTTP/1.1 413")
    assert reply.count(b"HTTP/1.1 ") == 1
    assert server.calls == []


def test_chunked_body_needs_length(server):
    reply = exchange(server, b"POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")

    assert reply.startswith(b"HTTP/1.1 411")
    assert server.calls == []


def test_put_on_page_is_json_405(server):
    reply = exchange(server, b"PUT /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")

    assert reply.startswith(b"HTTP/1.1 405")
    assert b'"method_not_allowed"' in reply


def test_api_request_reaches_handler(server):
    reply = exchange(server, b'POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}')

    assert reply.startswith(b"HTTP/1.1 200")
    assert server.calls == [("POST", "/jobs", "{}")]


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd"])
def test_page_paths_stay_in_web_root(server, path):
    reply = exchange(server, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())

    assert reply.startswith(b"HTTP/1.1 404")
    assert b"root:" not in reply
