"""Hostile and unusual uploads through the whole embedded pipeline: one outcome and one email each."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from functions.core.reasons import explain
from tests.integration.pipeline import emails_for, submit, wait_notified
from tests.unit import imagegen

pytestmark = pytest.mark.e2e


def _portrait() -> Image.Image:
    return imagegen.astronaut()


def _jpeg(image: Image.Image) -> bytes:
    return imagegen.encode(image.convert("RGB"), "JPEG", quality=90)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", _jpeg(_portrait()))
    return buffer.getvalue()


def _corrupt_header() -> bytes:
    data = bytearray(_jpeg(_portrait()))
    data[20:400] = bytes(range(256)) + bytes(range(124))
    return bytes(data)


def _sixteen_bit_png() -> bytes:
    gray = np.asarray(_portrait().convert("L"), dtype=np.uint16) * 257
    image = Image.fromarray(gray)
    assert image.mode == "I;16"
    return imagegen.encode(image, "PNG")


def _palette_with_transparency() -> bytes:
    image = _portrait().quantize(colors=200)
    return imagegen.encode(image, "PNG", transparency=0)


def _rgba_transparent_background() -> bytes:
    canvas = Image.new("RGBA", (700, 700), (0, 0, 0, 0))
    canvas.paste(_portrait().convert("RGBA"), (94, 94))
    return imagegen.encode(canvas, "PNG")


def _animated(image_format: str) -> bytes:
    return imagegen.animated([_portrait(), imagegen.noise((512, 512))], image_format)


def _two_faces() -> bytes:
    pair = imagegen.place(_portrait(), (1024, 512), (0, 0))
    pair.paste(_portrait(), (512, 0))
    return _jpeg(pair)


def _phone_sized() -> bytes:
    return _jpeg(imagegen.place(_portrait(), (4032, 3024), (1000, 200), scale=5.0))


# name, photo factory, the status and reason the job must end with
CASES: list[tuple[str, Callable[[], bytes], str, str | None]] = [
    ("text", lambda: b"this is a text file, not a photo\n" * 30, "REJECTED", "not_an_image"),
    ("pdf", lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" * 20, "REJECTED", "not_an_image"),
    ("zip", _zip, "REJECTED", "not_an_image"),
    ("empty", lambda: b"", "REJECTED", "empty_file"),
    ("truncated_jpeg", lambda: _jpeg(_portrait())[:9000], "REJECTED", "corrupt_image"),
    ("corrupt_header", _corrupt_header, "REJECTED", "corrupt_image"),
    ("decompression_bomb", lambda: imagegen.png_declaring_size(20000, 20000), "REJECTED", "too_many_pixels"),
    ("tiny", lambda: _jpeg(_portrait().resize((32, 32))), "REJECTED", "image_too_small"),
    ("extreme_aspect", lambda: _jpeg(imagegen.noise((4000, 100))), "REJECTED", "image_too_small"),
    ("over_size_limit", lambda: b"\xff\xd8\xff\xe0" + bytes(10 * 1024 * 1024 + 10), "REJECTED", "file_too_large"),
    ("no_face_cat", lambda: _jpeg(imagegen.cat()), "REJECTED", "no_face"),
    ("no_face_landscape", lambda: _jpeg(imagegen.rocket()), "REJECTED", "no_face"),
    ("two_faces", _two_faces, "REJECTED", "multiple_faces"),
    ("face_too_small", lambda: _jpeg(imagegen.place(_portrait(), (3000, 2400), (1000, 800), scale=2.0)), "REJECTED", "face_too_small"),
    ("face_cut_off", lambda: imagegen.encode(imagegen.place(_portrait(), (512, 512), (-200, 0)), "PNG"), "REJECTED", "face_cut_off"),
    ("turned_head", lambda: _jpeg(imagegen.camera()), "REJECTED", "face_turned"),
    ("too_dark", lambda: _jpeg(imagegen.brightened(_portrait(), 0.25)), "REJECTED", "too_dark"),
    ("too_bright", lambda: _jpeg(imagegen.brightened(_portrait(), 1.5)), "REJECTED", "too_bright"),
    ("backlit", lambda: _jpeg(imagegen.backlit(_portrait(), 0.1)), "REJECTED", "backlit"),
    ("too_blurry", lambda: _jpeg(imagegen.blurred(_portrait(), 4)), "REJECTED", "too_blurry"),
    ("heic_named_jpeg", lambda: imagegen.encode(_portrait(), "HEIF", quality=90), "DONE", None),
    ("exif_orientation_3", lambda: imagegen.jpeg_with_orientation(_portrait(), 3), "DONE", None),
    ("exif_orientation_6", lambda: imagegen.jpeg_with_orientation(_portrait(), 6), "DONE", None),
    ("exif_orientation_8", lambda: imagegen.jpeg_with_orientation(_portrait(), 8), "DONE", None),
    ("malformed_exif", lambda: imagegen.jpeg_with_app1(_portrait(), b"Exif\x00\x00II*\x00\xff\xff\xff\x7f garbage"), "DONE", None),
    ("phone_12mp", _phone_sized, "DONE", None),
    ("cmyk_jpeg", lambda: imagegen.encode(_portrait().convert("CMYK"), "JPEG", quality=90), "DONE", None),
    ("sixteen_bit_png", _sixteen_bit_png, "DONE", None),
    ("grayscale", lambda: imagegen.encode(_portrait().convert("L"), "JPEG", quality=90), "DONE", None),
    ("palette_transparency", _palette_with_transparency, "DONE", None),
    ("rgba_transparent", _rgba_transparent_background, "DONE", None),
    ("animated_gif", lambda: _animated("GIF"), "DONE", None),
    ("animated_webp", lambda: _animated("WEBP"), "DONE", None),
]


@pytest.mark.parametrize(("name", "make", "status", "reason"), CASES, ids=[case[0] for case in CASES])
def test_upload_ends_with_one_email(stack, name, make, status, reason):
    address = f"hostile.{name}@example.com"

    job = submit(stack, make(), email=address, filename=f"{name}.jpg")
    result = wait_notified(job, timeout=120)

    assert result["status"] == status
    assert result.get("reason") == reason
    emails = emails_for(stack, job["job_id"])
    assert len(emails) == 1
    assert emails[0]["To"] == address
    text = emails[0].get_body(preferencelist=("plain",)).get_content()
    if status == "DONE":
        assert "Here is your anime portrait" in text
    else:
        assert explain(reason).what in text
        assert explain(reason).advice in text


def test_logs_hold_no_addresses_or_pixels(stack, output_dir, portrait_jpeg, cat_jpeg):
    for photo in (portrait_jpeg, cat_jpeg):
        wait_notified(submit(stack, photo, email="hostile.logcheck@example.com"))

    log_text = (output_dir / "logs" / "stack.jsonl").read_text(encoding="utf-8")

    assert log_text.strip()
    assert "@example.com" not in log_text
    assert "hostile." not in log_text
    assert "JFIF" not in log_text
    assert "\\xff\\xd8" not in log_text
