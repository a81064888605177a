"""The API handler against moto: job creation, the presigned POST policy, status, deletion, quotas."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.unit.events import api_request, context


@pytest.fixture
def api(stack):
    from functions.api.handler import lambda_handler

    def call(method, path, **kwargs):
        response = lambda_handler(api_request(method, path, **kwargs), context("api"))
        body = json.loads(response["body"]) if response.get("body") else None
        return response["statusCode"], body

    return call


def test_create_job_returns_upload_form(api, stack):
    status, body = api("POST", "/jobs", body={"email": "someone@example.com", "consent": True})

    assert status == 201
    assert len(body["job_id"]) == 32
    assert body["status"] == "PENDING_UPLOAD"
    assert body["status_url"] == f"{stack.api.url}/jobs/{body['job_id']}"
    assert len(body["delete_token"]) >= 40
    assert body["upload"]["fields"]["key"] == f"uploads/{body['job_id']}"


def test_create_job_stores_record(api, stack):
    from functions.core import aws

    _, body = api("POST", "/jobs", body={"email": "Record@Example.com", "consent": True})

    item = aws.dynamodb_table(stack.resources.table).get_item(Key={"job_id": body["job_id"]})["Item"]
    assert item["status"] == "PENDING_UPLOAD"
    assert item["email"] == "Record@example.com"
    assert item["delete_token_hash"] != body["delete_token"]
    assert int(item["expires_at"]) > time.time() + 7 * 86400


def test_presigned_post_policy_conditions(api, stack):
    _, body = api("POST", "/jobs", body={"email": "policy@example.com", "consent": True})
    fields = body["upload"]["fields"]

    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]

    assert {"bucket": stack.resources.bucket} in conditions
    assert {"key": f"uploads/{body['job_id']}"} in conditions
    assert ["content-length-range", 1, 10 * 1024 * 1024] in conditions
    assert ["starts-with", "$Content-Type", "image/"] in conditions
    expires = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 14 * 60 < expires - time.time() <= 15 * 60 + 5
    covered = {next(iter(condition)).lower() for condition in conditions if isinstance(condition, dict)}
    for name in fields:
        if name not in ("policy", "x-amz-signature"):
            assert name.lower() in covered, f"form field {name} has no policy condition"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"email": "not-an-address", "consent": True}, "invalid_email"),
        ({"email": "a@example.com\r\nBcc: victim@example.com", "consent": True}, "invalid_email"),
        ({"email": "x" * 300 + "@example.com", "consent": True}, "invalid_email"),
        ({"email": "jösé@example.com", "consent": True}, "unsupported_email"),
        ({"email": "a@example.com", "consent": False}, "consent_required"),
        ({"email": "a@example.com", "consent": "yes"}, "consent_required"),
        ({"consent": True}, "missing_email"),
        (["a@example.com"], "invalid_json"),
        ("{not json", "invalid_json"),
    ],
)
def test_create_job_rejects_bad_input(api, payload, code):
    status, body = api("POST", "/jobs", body=payload)

    assert status == 400
    assert body["error"] == code
    assert "Traceback" not in body["message"]


def test_get_unknown_job_is_404(api):
    status, body = api("GET", "/jobs/" + "A" * 32)

    assert status == 404
    assert body["error"] == "job_not_found"


def test_get_malformed_job_id_is_404(api):
    status, _ = api("GET", "/jobs/..%2F..%2Fetc")

    assert status == 404


def test_get_job_hides_email(api):
    _, created = api("POST", "/jobs", body={"email": "private@example.com", "consent": True})

    status, body = api("GET", f"/jobs/{created['job_id']}")

    assert status == 200
    assert body["status"] == "PENDING_UPLOAD"
    assert "private@example.com" not in json.dumps(body)


def test_delete_needs_the_right_token(api):
    _, created = api("POST", "/jobs", body={"email": "deleter@example.com", "consent": True})
    path = f"/jobs/{created['job_id']}"

    status, body = api("DELETE", path, headers={"X-Delete-Token": "wrong"})

    assert status == 403
    assert body["error"] == "invalid_token"
    assert api("GET", path)[0] == 200


def test_delete_removes_record_and_objects(api, stack):
    from functions.core import aws

    _, created = api("POST", "/jobs", body={"email": "gone@example.com", "consent": True})
    job_id = created["job_id"]
    s3 = aws.client("s3")
    s3.put_object(Bucket=stack.resources.bucket, Key=f"results/{job_id}.png", Body=b"png")

    status, _ = api("DELETE", f"/jobs/{job_id}", headers={"X-Delete-Token": created["delete_token"]})

    assert status == 204
    assert api("GET", f"/jobs/{job_id}")[0] == 404
    listing = s3.list_objects_v2(Bucket=stack.resources.bucket, Prefix=f"results/{job_id}")
    assert listing.get("KeyCount", 0) == 0
    assert api("DELETE", f"/jobs/{job_id}", headers={"X-Delete-Token": created["delete_token"]})[0] == 404


def test_quota_counts_case_variants_as_one_address(api):
    limit = 20
    variants = ["Quota.Person@example.com", "quota.person@EXAMPLE.com", "QUOTA.PERSON@example.com"]
    for index in range(limit):
        status, _ = api("POST", "/jobs", body={"email": variants[index % 3], "consent": True})
        assert status == 201

    status, body = api("POST", "/jobs", body={"email": "quota.person@example.com", "consent": True})

    assert status == 429
    assert body["error"] == "quota_exceeded"


def test_international_domain_is_stored_as_punycode(api, stack):
    from functions.core import aws

    _, body = api("POST", "/jobs", body={"email": "user@exämple.com", "consent": True})

    item = aws.dynamodb_table(stack.resources.table).get_item(Key={"job_id": body["job_id"]})["Item"]
    assert item["email"] == "user@xn--exmple-cua.com"


@pytest.mark.parametrize(("method", "path"), [("GET", "/jobs"), ("DELETE", "/jobs"), ("POST", "/jobs/abc"), ("GET", "/jobs/a/b"), ("GET", "/nothing")])
def test_unknown_route_is_json_404(api, method, path):
    status, body = api(method, path)

    assert status == 404
    assert body["error"] == "route_not_found"
