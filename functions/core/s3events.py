"""Parsing of S3 event notifications as they arrive in SQS message bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class ObjectCreated:
    """One object-created record: the bucket, the decoded key and the eTag when S3 sent one."""

    bucket: str
    key: str
    etag: str | None
    size: int | None


def parse_notification(body: str) -> list[ObjectCreated]:
    """Return the object-created records in one SQS body; an `s3:TestEvent` yields none.

    Parses leniently: moto's records lack userIdentity, requestParameters and sequencer, so
    only the fields every sender fills are read. Keys arrive URL-encoded (spaces as `+`).

    Raises:
        ValueError: the body is not JSON or not an S3 notification.
    """
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("the SQS body is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise ValueError("the SQS body has no Records list")
    created = []
    for record in records:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        size = obj.get("size")
        created.append(
            ObjectCreated(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                etag=obj.get("eTag") or obj.get("etag"),
                size=int(size) if size is not None else None,
            )
        )
    return created
