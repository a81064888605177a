"""The upload page in Debian's Chromium, driven by Playwright against the embedded stack.

Playwright must not download a browser: the tests launch /usr/bin/chromium, which
scripts/test.sh installs with apt-get. Screenshots of each step go to
<output_dir>/screenshots/.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image, ImageOps

from tests.integration.pipeline import emails_for, submit, wait_notified

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and no traffic of the browser's own (updates, sync, safe browsing lists).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
# The preview style finishes a job in well under a second; the margin is for slow CI machines.
JOB_TIMEOUT_MS = 60_000
EMAIL_TIMEOUT_S = 60.0
MISSING_CHROMIUM = (
    f"Debian's Chromium is missing: {CHROMIUM} does not exist. Install it with "
    "`apt-get install chromium` (scripts/test.sh does this when it runs as root or with sudo); "
    "the browser tests never let Playwright download a browser."
)


# --- browser fixtures --------------------------------------------------------------------------


class BrowserSession:
    """Opens pages on the embedded stack and records JavaScript errors and CSP violations."""

    def __init__(self, browser: Any, base_url: str, screenshots: Path, test_name: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.screenshots = screenshots
        self.test_name = test_name
        self.errors: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self._contexts: list[Any] = []
        self._shots = 0

    def new_page(self, viewport: dict[str, int] = PHONE, **context_options: Any) -> Any:
        context = self.browser.new_context(viewport=viewport, **context_options)
        self._contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"uncaught error: {error}"))
        page.on("console", self._on_console)
        page.on("request", lambda request: self.requests.append((request.method, request.url)))
        return page

    def open(self, fragment: str = "", viewport: dict[str, int] = PHONE) -> Any:
        page = self.new_page(viewport)
        page.goto(f"{self.base_url}/{fragment}")
        return page

    def _on_console(self, message: Any) -> None:
        # Chromium logs every 4xx response as "Failed to load resource"; the tests expect some
        # (a deleted job returns 404), so only other errors count, CSP violations among them.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console error: {message.text}")

    def shoot(self, page: Any, step: str) -> Path:
        self._shots += 1
        path = self.screenshots / f"{self.test_name}-{self._shots:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def api_requests(self, method: str) -> list[str]:
        return [url for request_method, url in self.requests if request_method == method and "/jobs" in url]

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The Python package playwright is missing; install the test extra (scripts/test.sh does).", pytrace=False)
    from playwright.sync_api import expect

    # Page checks that follow a job step get JOB_TIMEOUT_MS; 15 s covers the rest on slow machines.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_session(chromium: Any, stack: Any, output_dir: Path, request: pytest.FixtureRequest) -> Iterator[BrowserSession]:
    screenshots = output_dir / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    session = BrowserSession(chromium, stack.api.url, screenshots, request.node.name.removeprefix("test_"))
    yield session
    session.close()


# --- photos -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(scope="session")
def astronaut_path(photo_dir: Path, portrait_jpeg: bytes) -> Path:
    path = photo_dir / "astronaut.jpg"
    path.write_bytes(portrait_jpeg)
    return path


@pytest.fixture(scope="session")
def cat_path(photo_dir: Path, cat_jpeg: bytes) -> Path:
    path = photo_dir / "chelsea.jpg"
    path.write_bytes(cat_jpeg)
    return path


def upright_landscape() -> Image.Image:
    """The astronaut photo cropped to 512×400 and scaled to 3072×2400, well above the page's 2048 limit."""
    from skimage import data

    return Image.fromarray(data.astronaut()).crop((0, 0, 512, 400)).resize((3072, 2400), Image.Resampling.BICUBIC)


@pytest.fixture(scope="session")
def rotated_large_path(photo_dir: Path) -> Path:
    """A 2400×3072 JPEG stored on its side with EXIF orientation 6, as phones save portrait shots."""
    stored = upright_landscape().rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    path = photo_dir / "rotated-large.jpg"
    stored.save(path, format="JPEG", quality=90, exif=exif)
    return path


# --- helpers ------------------------------------------------------------------------------------


def fill_form(page: Any, *, email: str, photo: Path | dict[str, Any]) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("I agree").check()
    page.get_by_label("Choose a photo").set_input_files(photo)


def wait_for_emails(stack: Any, job_id: str, *, timeout: float = EMAIL_TIMEOUT_S) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while not (emails := emails_for(stack, job_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return emails


def job_id_on(page: Any) -> str:
    from playwright.sync_api import expect

    expect(page.locator("#job-id")).to_have_text(re.compile(r"^[A-Za-z0-9_-]{32}$"))
    return page.locator("#job-id").inner_text()


def focused_id(page: Any) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def job_objects(stack: Any, job_id: str) -> list[str]:
    from functions.core import aws

    listing = aws.client("s3").list_objects_v2(Bucket=stack.resources.bucket)
    return [item["Key"] for item in listing.get("Contents", []) if job_id in item["Key"]]


def delete_link(message: EmailMessage) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"https?://\S+/#job=\S+", text)
    assert match, f"no delete link in the email:\n{text}"
    return match.group(0)


# --- tests --------------------------------------------------------------------------------------


def test_chromium_is_installed() -> None:
    assert CHROMIUM.is_file(), MISSING_CHROMIUM


def test_portrait_upload_on_phone(browser_session: BrowserSession, stack: Any, astronaut_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_session.open(viewport=PHONE)
    expect(page.get_by_role("heading", name="Selfie to anime portrait")).to_be_visible()
    browser_session.shoot(page, "empty-form")

    fill_form(page, email="page.portrait@example.com", photo=astronaut_path)
    expect(page.locator("#preview-image")).to_be_visible()
    browser_session.shoot(page, "photo-chosen")
    page.get_by_role("button", name="Make my portrait").click()

    job_id = job_id_on(page)
    expect(page.locator("#result-image")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#job-status")).to_have_text("Your portrait is ready.")
    expect(page.locator("#result-expiry")).to_have_text("(this link works for 15 minutes, and the one in your email for longer)")
    expect(page.locator("#style-note")).to_be_visible()
    expect(page.locator("#style-note")).to_contain_text("Preview style: this server makes portraits with a simple cartoon filter")
    expect(page.locator("#email-note")).to_have_text(
        re.compile("The email with your portrait is on its way.|We have sent the portrait to your email address.")
    )
    browser_session.shoot(page, "portrait-shown")

    assert page.locator("#result-image").evaluate("image => [image.naturalWidth, image.naturalHeight]") == [256, 256]
    from functions.core import aws

    stored = aws.client("s3").get_object(Bucket=stack.resources.bucket, Key=f"results/{job_id}.png")["Body"].read()
    displayed = requests.get(page.locator("#result-image").get_attribute("src"), timeout=30).content
    assert displayed == stored
    assert focused_id(page) == "result"

    emails = wait_for_emails(stack, job_id)
    assert len(emails) == 1
    assert emails[0]["To"] == "page.portrait@example.com"
    expect(page.locator("#email-note")).to_have_text("We have sent the portrait to your email address.")
    time.sleep(1.0)
    assert len(emails_for(stack, job_id)) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    browser_session.shoot(page, "email-sent")
    assert browser_session.errors == []


def test_cat_photo_shows_no_face_reason(browser_session: BrowserSession, stack: Any, cat_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_session.open(viewport=PHONE)
    fill_form(page, email="page.cat@example.com", photo=cat_path)
    browser_session.shoot(page, "cat-chosen")
    page.get_by_role("button", name="Make my portrait").click()

    job_id = job_id_on(page)
    outcome = page.locator("#outcome")
    expect(outcome).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#job-status")).to_have_text("We could not make a portrait from this photo.")
    expect(page.locator("#outcome-title")).to_have_text("Why we could not use this photo")
    expect(page.locator("#outcome-message")).to_have_text("We could not find a face in your photo.")
    expect(page.locator("#outcome-advice")).to_have_text("Please upload a well-lit photo that shows your face from the front.")
    expect(page.locator("#result")).to_be_hidden()
    assert focused_id(page) == "outcome"
    browser_session.shoot(page, "no-face-reason")

    emails = wait_for_emails(stack, job_id)
    assert len(emails) == 1
    expect(page.locator("#email-note")).to_have_text("We have also sent this explanation to your email address.")
    assert browser_session.errors == []


def test_delete_my_data_after_portrait(browser_session: BrowserSession, stack: Any, astronaut_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_session.open(viewport=PHONE)
    fill_form(page, email="page.delete@example.com", photo=astronaut_path)
    page.get_by_role("button", name="Make my portrait").click()
    job_id = job_id_on(page)
    expect(page.locator("#result-image")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#email-note")).to_have_text("We have sent the portrait to your email address.")
    assert job_objects(stack, job_id) == [f"results/{job_id}.png"]
    browser_session.shoot(page, "before-delete")

    page.get_by_role("button", name="Delete my data").click()

    expect(page.locator("#delete-status")).to_have_text("Your data is deleted: the photo, the portrait and the job record are gone.")
    expect(page.locator("#job-heading")).to_have_text("Your data is deleted")
    expect(page.locator("#job-status")).to_have_text("This job no longer exists.")
    expect(page.locator("#result")).to_be_hidden()
    expect(page.get_by_role("button", name="Delete my data")).to_be_hidden()
    assert focused_id(page) == "delete-status"
    assert page.evaluate("window.sessionStorage.getItem('selfie2anime.job')") is None
    browser_session.shoot(page, "after-delete")

    assert requests.get(f"{stack.api.url}/jobs/{job_id}", timeout=30).status_code == 404
    assert job_objects(stack, job_id) == []
    assert len(browser_session.api_requests("DELETE")) == 1
    assert browser_session.errors == []


def test_email_delete_link_opens_job(browser_session: BrowserSession, stack: Any, portrait_jpeg: bytes) -> None:
    from playwright.sync_api import expect

    job = submit(stack, portrait_jpeg, email="page.link@example.com")
    wait_notified(job)
    emails = wait_for_emails(stack, job["job_id"])
    assert len(emails) == 1
    link = delete_link(emails[0])
    assert link.startswith(f"{stack.api.url}/#job={job['job_id']}&delete=")

    page = browser_session.new_page(PHONE)
    page.goto(link)

    expect(page.locator("#result-image")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#job-id")).to_have_text(job["job_id"])
    assert "#" not in page.url
    expect(page.locator("#upload-form")).to_be_hidden()
    browser_session.shoot(page, "opened-from-email")

    page.get_by_role("button", name="Delete my data").click()

    expect(page.locator("#job-status")).to_have_text("This job no longer exists.")
    assert requests.get(job["status_url"], timeout=30).status_code == 404
    browser_session.shoot(page, "deleted-from-email")

    # The same link opened again finds nothing and offers no delete button.
    again = browser_session.new_page(PHONE)
    again.goto(link)
    expect(again.locator("#job-heading")).to_have_text("Job not found")
    expect(again.locator("#job-status")).to_have_text("This job no longer exists. It was deleted, or it expired.")
    expect(again.get_by_role("button", name="Delete my data")).to_be_hidden()
    browser_session.shoot(again, "link-after-delete")
    assert browser_session.errors == []


def test_phone_offers_front_camera(browser_session: BrowserSession) -> None:
    from playwright.sync_api import expect

    page = browser_session.new_page(PHONE, has_touch=True, is_mobile=True)
    page.goto(f"{browser_session.base_url}/")

    camera = page.get_by_label("Or take a selfie now")
    expect(camera).to_be_visible()
    assert camera.get_attribute("capture") == "user"
    assert camera.get_attribute("accept") == "image/*"
    assert page.get_by_label("Choose a photo").get_attribute("capture") is None
    browser_session.shoot(page, "camera-offered")


def test_desktop_hides_camera_picker(browser_session: BrowserSession) -> None:
    from playwright.sync_api import expect

    page = browser_session.open(viewport=DESKTOP)

    expect(page.get_by_label("Choose a photo")).to_be_visible()
    expect(page.locator("#camera-field")).to_be_hidden()


def test_api_rejects_email_next_to_field(browser_session: BrowserSession, astronaut_path: Path) -> None:
    """The browser accepts `name@localhost`; the API's validator does not, and its message goes next to the field."""
    from playwright.sync_api import expect

    page = browser_session.open(viewport=PHONE)
    fill_form(page, email="someone@localhost", photo=astronaut_path)
    page.get_by_role("button", name="Make my portrait").click()

    expect(page.locator("#email-error")).to_have_text("Please enter a valid email address.")
    assert focused_id(page) == "email"
    assert page.locator("#email").get_attribute("aria-invalid") == "true"
    expect(page.locator("#job")).to_be_hidden()
    assert len(browser_session.api_requests("POST")) == 1
    browser_session.shoot(page, "email-rejected-by-api")
    assert browser_session.errors == []


def test_missing_fields_are_named(browser_session: BrowserSession) -> None:
    from playwright.sync_api import expect

    page = browser_session.open(viewport=PHONE)
    page.get_by_role("button", name="Make my portrait").click()

    expect(page.locator("#email-error")).to_have_text("Please enter your email address.")
    expect(page.locator("#consent-error")).to_have_text("Please tick this box to agree; we cannot make a portrait without it.")
    expect(page.locator("#photo-error")).to_have_text("Please choose a photo.")
    assert focused_id(page) == "email"
    assert browser_session.api_requests("POST") == []
    browser_session.shoot(page, "missing-fields")
    assert browser_session.errors == []


def test_missing_config_disables_form(browser_session: BrowserSession) -> None:
    from playwright.sync_api import expect

    page = browser_session.new_page(PHONE)
    page.route("**/config.json", lambda route: route.fulfill(status=404, body="not found"))
    page.goto(f"{browser_session.base_url}/")

    expect(page.locator("#page-error")).to_have_text(
        "This page is not set up correctly, so it cannot take photos right now. Please try again later."
    )
    expect(page.get_by_role("button", name="Make my portrait")).to_be_disabled()
    assert focused_id(page) == "page-error"
    assert browser_session.errors == []


def test_text_file_is_not_a_photo(browser_session: BrowserSession) -> None:
    from playwright.sync_api import expect

    page = browser_session.open(viewport=PHONE)
    notes = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo\n"}
    fill_form(page, email="page.text@example.com", photo=notes)

    error = page.locator("#photo-error")
    expect(error).to_have_text("This file is not a photo we can read. Please choose a JPEG, PNG, WebP or HEIC photo.")
    expect(page.locator("#preview")).to_be_hidden()
    page.get_by_role("button", name="Make my portrait").click()
    expect(error).to_be_visible()
    assert focused_id(page) == "photo"
    assert page.locator("#photo").get_attribute("aria-invalid") == "true"
    assert browser_session.api_requests("POST") == []
    browser_session.shoot(page, "not-a-photo")
    assert browser_session.errors == []


def test_unreadable_image_is_not_a_photo(browser_session: BrowserSession) -> None:
    from playwright.sync_api import expect

    page = browser_session.open(viewport=PHONE)
    broken = {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0 this is not really a JPEG"}
    fill_form(page, email="page.broken@example.com", photo=broken)
    page.get_by_role("button", name="Make my portrait").click()

    expect(page.locator("#photo-error")).to_have_text("This file is not a photo we can read. Please choose a JPEG, PNG, WebP or HEIC photo.")
    assert browser_session.api_requests("POST") == []
    browser_session.shoot(page, "unreadable-image")
    assert browser_session.errors == []


def test_oversized_heic_is_too_big(browser_session: BrowserSession, photo_dir: Path) -> None:
    """A HEIC file that Chromium cannot decode is sent unchanged, so its size is checked as it is."""
    from playwright.sync_api import expect

    heic = photo_dir / "big.heic"
    heic.write_bytes(os.urandom(11 * 1024 * 1024))
    page = browser_session.open(viewport=PHONE)
    fill_form(page, email="page.big@example.com", photo=heic)
    expect(page.locator("#preview-caption")).to_contain_text("cannot show a preview")
    page.get_by_role("button", name="Make my portrait").click()

    expect(page.locator("#photo-error")).to_have_text(
        "This photo is 11 MB, more than the 10 MB we accept. "
        "Please choose a smaller photo, or export it from your photo app at a lower resolution."
    )
    assert focused_id(page) == "photo"
    assert browser_session.api_requests("POST") == []
    browser_session.shoot(page, "too-big")
    assert browser_session.errors == []


def test_large_photo_is_downscaled_upright(browser_session: BrowserSession, paused_stack: Any, rotated_large_path: Path) -> None:
    """With the pollers paused the upload stays in S3, so the test can read what the page sent."""
    from playwright.sync_api import expect

    from functions.core import aws

    stored = Image.open(rotated_large_path)
    assert stored.size == (2400, 3072)
    assert ImageOps.exif_transpose(stored).size == (3072, 2400)

    page = browser_session.open(viewport=PHONE)
    fill_form(page, email="page.large@example.com", photo=rotated_large_path)
    page.get_by_role("button", name="Make my portrait").click()
    job_id = job_id_on(page)
    expect(page.locator("#job-status")).to_have_text("Waiting for your photo to arrive.")
    browser_session.shoot(page, "large-photo-uploaded")

    sent = aws.client("s3").get_object(Bucket=paused_stack.resources.bucket, Key=f"uploads/{job_id}")
    assert sent["ContentType"] == "image/jpeg"
    uploaded = Image.open(io.BytesIO(sent["Body"].read()))
    assert uploaded.format == "JPEG"
    assert uploaded.size == (2048, 1600)
    assert uploaded.getexif().get(0x0112, 1) == 1

    expected = np.asarray(upright_landscape().resize((2048, 1600)).convert("L"), dtype=np.float32)
    pixels = np.asarray(uploaded.convert("L"), dtype=np.float32)
    assert float(np.abs(pixels - expected).mean()) < 8.0
    assert browser_session.errors == []


def test_api_text_is_not_html(browser_session: BrowserSession) -> None:
    from playwright.sync_api import expect

    job_id, token = "X" * 32, "T" * 43
    message = '<img src=x onerror="window.injected = 1">'
    advice = "<script>window.injected = 2</script><b>bold</b>"
    status = {
        "job_id": job_id,
        "status": "REJECTED",
        "finished": True,
        "notified": True,
        "reason": "no_face",
        "message": message,
        "advice": advice,
        "history": {"PENDING_UPLOAD": 1.0, "VALIDATING": 2.0, "REJECTED": 3.0, "NOTIFIED": 4.0},
        "style": None,
    }
    page = browser_session.new_page(PHONE)
    page.route(f"**/jobs/{job_id}", lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(status)))
    page.goto(f"{browser_session.base_url}/#job={job_id}&delete={token}")

    expect(page.locator("#outcome-message")).to_have_text(message)
    expect(page.locator("#outcome-advice")).to_have_text(advice)
    assert page.locator("#outcome img, #outcome script, #outcome b").count() == 0
    assert page.evaluate("window.injected") is None
    browser_session.shoot(page, "api-text-as-text")
    assert browser_session.errors == []


def test_every_rejection_reason_is_shown(browser_session: BrowserSession) -> None:
    """Each reason code's sentences, as the API sends them, appear on the page as written."""
    from playwright.sync_api import expect

    from functions.core.reasons import EXPLANATIONS, Reason

    statuses = {}
    for index, (reason, explanation) in enumerate(EXPLANATIONS.items()):
        job_id = f"reason{index:02d}".ljust(32, "R")
        statuses[job_id] = {
            "job_id": job_id,
            "status": "FAILED" if reason is Reason.PROCESSING_FAILED else "REJECTED",
            "finished": True,
            "notified": False,
            "reason": reason.value,
            "message": explanation.what,
            "advice": explanation.advice,
            "history": {"PENDING_UPLOAD": 1.0, "VALIDATING": 2.0},
            "style": None,
        }
    page = browser_session.new_page(PHONE)
    page.route(
        "**/jobs/*",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(statuses[route.request.url.rsplit("/", 1)[1]])),
    )

    for job_id, status in statuses.items():
        # After the first job, only the fragment changes, so the page's hashchange handler runs.
        page.goto(f"{browser_session.base_url}/#job={job_id}")
        expect(page.locator("#job-id")).to_have_text(job_id)
        expect(page.locator("#outcome-message")).to_have_text(status["message"])
        expect(page.locator("#outcome-advice")).to_have_text(status["advice"])
        expect(page.locator("#email-note")).to_have_text("An email with this explanation is on its way.")
    assert len(statuses) == len(Reason)
    browser_session.shoot(page, "last-reason")
    assert browser_session.errors == []


def test_content_security_policy_blocks_inline_script(browser_session: BrowserSession) -> None:
    page = browser_session.open(viewport=PHONE)
    page.wait_for_load_state("load")

    page.evaluate(
        "() => { const script = document.createElement('script');"
        " script.textContent = 'window.inlineRan = true'; document.head.append(script); }"
    )

    assert page.evaluate("window.inlineRan") is None
    assert any("Content Security Policy" in error for error in browser_session.errors)


def test_result_url_must_be_http(browser_session: BrowserSession) -> None:
    from playwright.sync_api import expect

    job_id = "Y" * 32
    status = {
        "job_id": job_id,
        "status": "DONE",
        "finished": True,
        "notified": True,
        "history": {},
        "style": "preview",
        "result_url": "javascript:window.injected = 3",
    }
    page = browser_session.new_page(PHONE)
    page.route(f"**/jobs/{job_id}", lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(status)))
    page.goto(f"{browser_session.base_url}/#job={job_id}")

    expect(page.locator("#outcome-title")).to_have_text("Your portrait is ready, but this page cannot show it.")
    assert page.locator("#result-image").get_attribute("src") is None
    assert page.locator("#result-link").get_attribute("href") is None
    expect(page.get_by_role("button", name="Delete my data")).to_be_hidden()
    assert page.evaluate("window.injected") is None
    assert browser_session.errors == []


def test_keyboard_only_flow(browser_session: BrowserSession, stack: Any, astronaut_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_session.open(viewport=DESKTOP)
    expect(page.locator("#email")).to_be_visible()

    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(focused_id(page))
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", f"no visible focus on #{order[-1]}"
    assert order == ["email", "consent", "photo", "submit"]
    browser_session.shoot(page, "focus-on-submit")

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused_id(page) == "email"
    page.keyboard.type("page.keyboard@example.com")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    assert page.locator("#consent").is_checked()
    page.keyboard.press("Tab")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(astronaut_path)
    page.keyboard.press("Tab")
    assert focused_id(page) == "submit"
    page.keyboard.press("Enter")

    expect(page.locator("#result-image")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    assert focused_id(page) == "result"
    browser_session.shoot(page, "portrait-by-keyboard")

    for _ in range(5):
        page.keyboard.press("Tab")
        if focused_id(page) == "delete":
            break
    assert focused_id(page) == "delete"
    page.keyboard.press("Enter")
    expect(page.locator("#job-status")).to_have_text("This job no longer exists.")
    assert focused_id(page) == "delete-status"
    browser_session.shoot(page, "deleted-by-keyboard")
    assert browser_session.errors == []
