"""Notify: SES v2 from the configured identity, a configuration set that suppresses bad addresses."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesis


def notify_statements(synthesis: Synthesis) -> list[dict[str, Any]]:
    return [
        statement
        for name, body in synthesis.of_type("AWS::IAM::Policy").items()
        if name.startswith("NotifyHandlerRole")
        for statement in body["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_configuration_set_suppresses_bounces_and_complaints(synthesis: Synthesis) -> None:
    configuration_set = synthesis.one("AWS::SES::ConfigurationSet")
    assert sorted(configuration_set["SuppressionOptions"]["SuppressedReasons"]) == ["BOUNCE", "COMPLAINT"]
    assert configuration_set["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"


def test_single_address_identity_by_default(synthesis: Synthesis, config: Any) -> None:
    identity = synthesis.one("AWS::SES::EmailIdentity")
    assert identity["EmailIdentity"] == config.sender
    assert identity["ConfigurationSetAttributes"]["ConfigurationSetName"]["Ref"].startswith("NotifyConfigurationSet")


def test_domain_identity_has_dkim_and_mail_from(variant: Synthesis) -> None:
    identities = {body["Properties"]["EmailIdentity"]: body["Properties"] for body in variant.of_type("AWS::SES::EmailIdentity").values()}
    domain = identities["example.org"]
    assert domain["DkimAttributes"] == {"SigningEnabled": True}
    assert domain["MailFromAttributes"]["MailFromDomain"] == "mail.example.org"
    assert "tester@example.net" in identities


def test_notify_sends_only_from_its_identity(synthesis: Synthesis) -> None:
    statement = next(statement for statement in notify_statements(synthesis) if statement["Action"] == "ses:SendEmail")
    resources = statement["Resource"]
    assert len(resources) == 2
    rendered = str(resources)
    assert "configuration-set/" in rendered
    assert "identity/" in rendered
    assert "*" not in rendered


def test_sandbox_recipients_are_authorized(variant: Synthesis) -> None:
    statement = next(statement for statement in notify_statements(variant) if statement["Action"] == "ses:SendEmail")
    assert len(statement["Resource"]) == 3


def test_notify_reads_results_only(synthesis: Synthesis) -> None:
    reads = [statement for statement in notify_statements(synthesis) if statement["Action"] == "s3:GetObject"]
    assert len(reads) == 1
    assert str(reads[0]["Resource"]).endswith("/results/*']]}")


def test_notify_function_sizing(synthesis: Synthesis, config: Any) -> None:
    function = next(
        body["Properties"] for name, body in synthesis.of_type("AWS::Lambda::Function").items() if name.startswith("NotifyHandler")
    )
    assert function["Timeout"] == config.notify_timeout_seconds
    assert function["MemorySize"] == config.notify_memory_mb
    assert "S2A_CONFIGURATION_SET" in function["Environment"]["Variables"]
