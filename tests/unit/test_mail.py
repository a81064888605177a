"""Email building with the stdlib email package: parts, inline image, escaping, headers."""

from __future__ import annotations

import email
import io
import re
from email.policy import default

import pytest
from PIL import Image

from functions.core.jobs import JobStatus
from functions.core.mail import PREVIEW_FOOTER, Outcome, build_email

JOB_ID = "J" * 32


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 120, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def reparse(message):
    return email.message_from_bytes(message.as_bytes(), policy=default)


def test_done_email_has_inline_portrait():
    portrait = png_bytes()
    message = reparse(
        build_email(
            Outcome(job_id=JOB_ID, status=JobStatus.DONE, portrait_png=portrait, portrait_url="https://example.com/p.png?a=1&b=2"),
            sender="portraits@example.com",
            recipient="person@example.com",
        )
    )

    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    cid = re.search(r'src="cid:([^"]+)"', html).group(1)
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_payload(decode=True) == portrait
    assert image.get_content_disposition() == "inline"
    assert "https://example.com/p.png?a=1&amp;b=2" in html
    assert "https://example.com/p.png?a=1&b=2" in text
    assert PREVIEW_FOOTER not in text


def test_preview_footer_in_both_parts():
    message = reparse(
        build_email(
            Outcome(job_id=JOB_ID, status=JobStatus.DONE, portrait_png=png_bytes(), preview_style=True),
            sender="portraits@example.com",
            recipient="person@example.com",
        )
    )

    assert PREVIEW_FOOTER in message.get_body(preferencelist=("plain",)).get_content()
    assert PREVIEW_FOOTER in message.get_body(preferencelist=("html",)).get_content()


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        ("no_face", "We could not find a face in your photo."),
        ("multiple_faces", "We found more than one face in your photo."),
        ("not_an_image", "The file you uploaded is not a photo we can read."),
    ],
)
def test_rejection_email_explains_reason(reason, sentence):
    message = reparse(
        build_email(
            Outcome(job_id=JOB_ID, status=JobStatus.REJECTED, reason=reason),
            sender="portraits@example.com",
            recipient="person@example.com",
        )
    )

    assert message["Subject"] == "We could not make your anime portrait"
    assert sentence in message.get_body(preferencelist=("plain",)).get_content()
    assert sentence in message.get_body(preferencelist=("html",)).get_content()
    assert not [part for part in message.walk() if part.get_content_maintype() == "image"]


def test_failed_email_apologises():
    message = reparse(
        build_email(Outcome(job_id=JOB_ID, status=JobStatus.FAILED, reason="processing_failed"), sender="p@example.com", recipient="q@example.com")
    )

    assert "Sorry" in message["Subject"]
    assert "Something went wrong on our side" in message.get_body(preferencelist=("plain",)).get_content()


def test_delete_link_is_escaped_in_html():
    message = reparse(
        build_email(
            Outcome(job_id=JOB_ID, status=JobStatus.REJECTED, reason="no_face", delete_url='https://example.com/#job=x&delete="><script>'),
            sender="p@example.com",
            recipient="q@example.com",
        )
    )

    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html
    assert "&quot;&gt;&lt;script&gt;" in html


def test_recipient_header_cannot_carry_newlines():
    with pytest.raises(ValueError):
        build_email(
            Outcome(job_id=JOB_ID, status=JobStatus.REJECTED, reason="no_face"),
            sender="p@example.com",
            recipient="a@example.com\r\nBcc: victim@example.com",
        )


def test_done_email_needs_portrait():
    with pytest.raises(ValueError):
        build_email(Outcome(job_id=JOB_ID, status=JobStatus.DONE), sender="p@example.com", recipient="q@example.com")


def test_email_has_date_and_message_id():
    message = reparse(
        build_email(Outcome(job_id=JOB_ID, status=JobStatus.REJECTED, reason="no_face"), sender="p@example.com", recipient="q@example.com")
    )

    assert message["Date"].datetime is not None
    assert message["Message-ID"].startswith("<")


def test_rejection_offers_to_delete_the_record_only():
    message = reparse(
        build_email(
            Outcome(job_id=JOB_ID, status=JobStatus.REJECTED, reason="no_face", delete_url="https://example.com/#d"),
            sender="p@example.com",
            recipient="q@example.com",
        )
    )

    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "To delete our record of this job now" in text
    assert "portrait" not in text.split("To delete")[1]
