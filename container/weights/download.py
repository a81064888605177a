"""Streaming download of a weights file into the weights directory."""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from container.weights.errors import ChecksumMismatchError, DownloadError
from container.weights.files import CHUNK_BYTES
from container.weights.paths import TEMPORARY_PREFIX

logger = logging.getLogger(__name__)

URL_SCHEMES = ("http", "https")
# Errors of writing the download locally, as opposed to network errors.
_LOCAL_WRITE_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EFBIG}
# Seconds to wait for the connection and for each read; not a limit on the whole download.
TIMEOUT_SECONDS = 60


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) URLs only; urllib would also follow them to ftp."""

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if not is_url(newurl):
            raise DownloadError(
                f"{redact_url(req.full_url)} redirects to {redact_url(newurl)}, which is not an http or https URL"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def is_url(source: str) -> bool:
    """True if `source` is an http(s) URL, well-formed or not."""
    return source.split(":", 1)[0].lower() in URL_SCHEMES and "://" in source


def has_credentials(url: str) -> bool:
    """True if `url` has a user name or password before its host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "@" in url.split("/", 3)[2] if url.count("/") >= 2 else False
    return parts.username is not None or parts.password is not None


def redact_url(url: str) -> str:
    """Return `url` without a user name or password, for messages and the manifest."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url if "@" not in url else "<URL with credentials>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def download(url: str, directory: Path, *, expected_sha256: str | None) -> tuple[Path, str]:
    """Stream `url` into a temporary file in `directory` and return its path and SHA-256.

    The file keeps a ".download" name, so it is never mistaken for installed
    weights; the caller moves it into place or deletes it. It is deleted here
    when the download fails or its hash differs from `expected_sha256`.

    Raises:
        DownloadError: the request failed, or the server sent fewer bytes than its Content-Length.
        ChecksumMismatchError: the SHA-256 of the bytes differs from `expected_sha256`.
    """
    display_url = redact_url(url)
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX, suffix=".download")
    path = Path(name)
    digest = hashlib.sha256()
    received = 0
    try:
        with os.fdopen(descriptor, "wb") as stream:
            request = urllib.request.Request(url, headers={"User-Agent": "selfie2anime-weights"})
            with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
                announced = response.headers.get("Content-Length")
                logger.info("downloading %s (%s bytes)", display_url, announced or "unknown")
                while chunk := response.read(CHUNK_BYTES):
                    digest.update(chunk)
                    stream.write(chunk)
                    received += len(chunk)
            stream.flush()
            os.fsync(stream.fileno())
        if announced is not None and announced.isdigit() and received != int(announced):
            raise DownloadError(
                f"download of {display_url} stopped after {received} of {announced} bytes; run the install again"
            )
        sha256 = digest.hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise ChecksumMismatchError(
                f"{display_url} has SHA-256 {sha256}, expected {expected_sha256}; the download is damaged or "
                "the URL serves another file. Check the URL and the --sha256 value"
            )
    except DownloadError:
        path.unlink(missing_ok=True)
        raise
    except ValueError as error:
        # urllib raises ValueError for malformed URLs, also when a redirect points to one.
        path.unlink(missing_ok=True)
        raise DownloadError(f"download of {display_url} failed: invalid URL ({error}); check the URL") from error
    except urllib.error.HTTPError as error:
        path.unlink(missing_ok=True)
        # urllib's reason for a redirect loop spans several lines; the message keeps to one.
        http_reason = " ".join(str(error.reason).split())
        raise DownloadError(f"download of {display_url} failed: HTTP {error.code} {http_reason}") from error
    except OSError as error:
        path.unlink(missing_ok=True)
        if error.errno in _LOCAL_WRITE_ERRORS:
            raise DownloadError(
                f"download of {display_url} failed: writing into {directory} failed ({error.strerror})"
            ) from error
        reason = " ".join(str(getattr(error, "reason", error)).split())
        raise DownloadError(f"download of {display_url} failed: {reason}; check the URL and the network") from error
    except http.client.IncompleteRead as error:
        path.unlink(missing_ok=True)
        raise DownloadError(
            f"download of {display_url} failed: the server closed the connection after {received} bytes; "
            "run the install again"
        ) from error
    except http.client.HTTPException as error:
        path.unlink(missing_ok=True)
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DownloadError(f"download of {display_url} failed: {reason}; check the URL and the server") from error
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, sha256
