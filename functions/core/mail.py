"""The one email each job ends with, built with the standard library's `email` package.

A DONE email is multipart/alternative: a plain-text part and a multipart/related HTML part
that shows the portrait inline by Content-ID. REJECTED and FAILED emails say what happened
and what to try, in both parts. Every value placed in the HTML is escaped, and the only
header built from user input is To, from an address that passed email-validator.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from functions.core.jobs import JobStatus
from functions.core.reasons import explain

# The worker runs the preview style when no GAN weights are installed or when the operator chose it.
PREVIEW_FOOTER = "preview style: made with a simple cartoon filter, not the anime GAN"
SUBJECTS = {
    JobStatus.DONE: "Your anime portrait is ready",
    JobStatus.REJECTED: "We could not make your anime portrait",
    JobStatus.FAILED: "Sorry, your anime portrait could not be made",
}


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """Content of a job's email: the terminal status and everything the text refers to."""

    job_id: str
    status: JobStatus
    reason: str | None = None
    portrait_png: bytes | None = None
    portrait_url: str | None = None
    link_days: int = 7
    delete_url: str | None = None
    preview_style: bool = False


def _split_address(address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(username=local, domain=domain)


def build_email(outcome: Outcome, *, sender: str, recipient: str) -> EmailMessage:
    """Build the email for a finished job.

    Raises:
        ValueError: a DONE outcome without the portrait, or an unfinished status.
    """
    if outcome.status not in SUBJECTS:
        raise ValueError(f"no email for status {outcome.status}; expected DONE, REJECTED or FAILED")
    if outcome.status is JobStatus.DONE and not outcome.portrait_png:
        raise ValueError("a DONE email needs the portrait PNG")

    message = EmailMessage()
    message["Subject"] = SUBJECTS[outcome.status]
    message["From"] = sender
    message["To"] = _split_address(recipient)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="selfie2anime")
    message["X-Selfie2Anime-Job"] = outcome.job_id

    # make_msgid wraps the id in <>, as the Content-ID header needs; the HTML refers to it without them.
    # A short domain keeps the header on one line, unfolded.
    cid = make_msgid(domain="selfie2anime")
    text, body_html = _bodies(outcome, cid=cid[1:-1])
    message.set_content(text)
    message.add_alternative(body_html, subtype="html")
    if outcome.status is JobStatus.DONE and outcome.portrait_png:
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(outcome.portrait_png, maintype="image", subtype="png", cid=cid, filename="portrait.png", disposition="inline")
    return message


def _bodies(outcome: Outcome, *, cid: str) -> tuple[str, str]:
    lines: list[str] = []
    paragraphs: list[str] = []
    if outcome.status is JobStatus.DONE:
        lines.append("Here is your anime portrait. It is attached to this email.")
        paragraphs.append("<p>Here is your anime portrait:</p>")
        paragraphs.append(f'<p><img src="cid:{html.escape(cid)}" alt="Your anime portrait" width="256" height="256"></p>')
        if outcome.portrait_url:
            lines.append(f"You can also download it for the next {outcome.link_days} days: {outcome.portrait_url}")
            paragraphs.append(
                f'<p>You can also <a href="{html.escape(outcome.portrait_url)}">download it</a> '
                f"for the next {outcome.link_days} days.</p>"
            )
    else:
        explanation = explain(outcome.reason)
        lines.append(explanation.what)
        lines.append(explanation.advice)
        paragraphs.append(f"<p>{html.escape(explanation.what)}</p>")
        paragraphs.append(f"<p>{html.escape(explanation.advice)}</p>")

    if outcome.delete_url:
        # Rejected and failed photos are deleted already; only the job record remains then.
        what = "your portrait and our record of this job" if outcome.status is JobStatus.DONE else "our record of this job"
        lines.append(f"To delete {what} now, open: {outcome.delete_url}")
        paragraphs.append(f'<p>To delete {what} now, <a href="{html.escape(outcome.delete_url)}">open this link</a>.</p>')
    lines.append(f"Job reference: {outcome.job_id}")
    paragraphs.append(f"<p style=\"color:#666\">Job reference: {html.escape(outcome.job_id)}</p>")
    if outcome.preview_style:
        lines.append(PREVIEW_FOOTER)
        paragraphs.append(f'<p style="color:#666">{html.escape(PREVIEW_FOOTER)}</p>')

    text = "Hello,\n\n" + "\n\n".join(lines) + "\n\nselfie2anime\n"
    body_html = "<!DOCTYPE html><html><body>" + "".join(paragraphs) + "<p>selfie2anime</p></body></html>"
    return text, body_html
