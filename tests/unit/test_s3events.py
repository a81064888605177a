"""Parsing S3 notifications as AWS and moto put them in SQS bodies."""

from __future__ import annotations

import json

import pytest

from functions.core.s3events import parse_notification


def body(key: str, **extra) -> str:
    return json.dumps(
        {"Records": [{"eventName": "ObjectCreated:Post", "s3": {"bucket": {"name": "b"}, "object": {"key": key, **extra}}}]}
    )


def test_test_event_yields_nothing():
    assert parse_notification(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})) == []


def test_key_is_url_decoded():
    [created] = parse_notification(body("uploads%2Fmy+photo+%C3%A9t%C3%A9%2B1.jpg", size=12, eTag="abc"))

    assert created.key == "uploads/my photo été+1.jpg"
    assert created.size == 12
    assert created.etag == "abc"


def test_moto_record_without_optional_fields():
    [created] = parse_notification(body("uploads/x"))

    assert created.key == "uploads/x"
    assert created.etag is None


def test_removal_events_are_ignored():
    message = json.dumps({"Records": [{"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]})

    assert parse_notification(message) == []


@pytest.mark.parametrize("raw", ["not json", "[]", json.dumps({"Other": 1})])
def test_unreadable_body_raises(raw):
    with pytest.raises(ValueError):
        parse_notification(raw)
