"""Storage: private, encrypted, TLS-only buckets with expiry; the jobs table; the upload notification."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesis


def bucket_named(synthesis: Synthesis, prefix: str) -> dict[str, Any]:
    found = [body["Properties"] for name, body in synthesis.of_type("AWS::S3::Bucket").items() if name.startswith(prefix)]
    assert len(found) == 1, prefix
    return found[0]


def test_every_bucket_blocks_public_access(synthesis: Synthesis) -> None:
    buckets = synthesis.of_type("AWS::S3::Bucket")
    assert len(buckets) == 3
    for name, body in buckets.items():
        block = body["Properties"]["PublicAccessBlockConfiguration"]
        assert block == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name


def test_every_bucket_is_encrypted(synthesis: Synthesis) -> None:
    for name, body in synthesis.of_type("AWS::S3::Bucket").items():
        rules = body["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", name


def test_every_bucket_policy_denies_plain_http(synthesis: Synthesis) -> None:
    policies = synthesis.of_type("AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for name, body in policies.items():
        statements = body["Properties"]["PolicyDocument"]["Statement"]
        denies = [
            statement
            for statement in statements
            if statement["Effect"] == "Deny"
            and statement["Action"] == "s3:*"
            and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert len(denies) == 1, name


def test_data_bucket_expires_each_prefix(synthesis: Synthesis, config: Any) -> None:
    rules = {rule["Id"]: rule for rule in bucket_named(synthesis, "StorageDataBucket")["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-uploads"]["Prefix"] == "uploads/"
    assert rules["expire-uploads"]["ExpirationInDays"] == config.upload_retention_days
    assert rules["expire-faces"]["Prefix"] == "faces/"
    assert rules["expire-faces"]["ExpirationInDays"] == config.face_retention_days
    assert rules["expire-results"]["Prefix"] == "results/"
    assert rules["expire-results"]["ExpirationInDays"] == config.result_retention_days
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert all(rule["Status"] == "Enabled" for rule in rules.values())


def test_data_bucket_logs_access(synthesis: Synthesis) -> None:
    logging = bucket_named(synthesis, "StorageDataBucket")["LoggingConfiguration"]
    assert logging["DestinationBucketName"]["Ref"].startswith("StorageLogBucket")
    assert logging["LogFilePrefix"] == "s3/data/"


def test_data_bucket_cors_allows_web_origin_only(synthesis: Synthesis) -> None:
    rules = bucket_named(synthesis, "StorageDataBucket")["CorsConfiguration"]["CorsRules"]
    assert len(rules) == 1
    assert rules[0]["AllowedMethods"] == ["POST", "GET"]
    assert len(rules[0]["AllowedOrigins"]) == 1
    assert "*" not in rules[0]["AllowedOrigins"]


def test_configured_web_origin_is_used(variant: Synthesis) -> None:
    rules = bucket_named(variant, "StorageDataBucket")["CorsConfiguration"]["CorsRules"]
    assert rules[0]["AllowedOrigins"] == ["https://portraits.example.org"]


def test_uploads_notify_intake_queue(synthesis: Synthesis) -> None:
    name, body = next((name, body) for name, body in synthesis.of_type("AWS::S3::Bucket").items() if name.startswith("StorageDataBucket"))
    configurations = body["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert len(configurations) == 1
    assert configurations[0]["Event"] == "s3:ObjectCreated:*"
    assert configurations[0]["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}}
    queue, attribute = configurations[0]["Queue"]["Fn::GetAtt"]
    assert queue.startswith("IntakeIntakeQueue")
    assert "DeadLetter" not in queue
    assert attribute == "Arn"
    queue_policies = [
        policy_name
        for policy_name, policy in synthesis.of_type("AWS::SQS::QueuePolicy").items()
        if any(statement.get("Sid") == "AllowDataBucketNotifications" for statement in policy["Properties"]["PolicyDocument"]["Statement"])
    ]
    assert len(queue_policies) == 1
    assert queue_policies[0] in body["DependsOn"]


def test_notification_policy_names_bucket_and_account(synthesis: Synthesis) -> None:
    statement = next(
        statement
        for policy in synthesis.of_type("AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "AllowDataBucketNotifications"
    )
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert "aws:SourceArn" in statement["Condition"]["ArnEquals"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_jobs_table(synthesis: Synthesis) -> None:
    table = synthesis.one("AWS::DynamoDB::Table")
    assert table["KeySchema"] == [{"AttributeName": "job_id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "job_id", "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
