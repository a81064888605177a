"""Tests for functions.core.images: format sniffing and safe decoding of uploads."""

from __future__ import annotations

import io
import logging
import time
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from tests.unit import imagegen
from functions.core import images
from functions.core.images import ImageRejected, load_photo, sniff_format
from functions.core.reasons import Reason

MAX_PIXELS = 50_000_000


def rejection(data: bytes, **kwargs: int) -> ImageRejected:
    """Call load_photo and return the ImageRejected it raises."""
    with pytest.raises(ImageRejected) as caught:
        load_photo(data, max_pixels=kwargs.pop("max_pixels", MAX_PIXELS), **kwargs)
    return caught.value


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    return imagegen.astronaut()


# --- sniff_format -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "expected"),
    [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("HEIF", "heif")],
)
def test_sniff_format_encoded(portrait: Image.Image, image_format: str, expected: str) -> None:
    assert sniff_format(imagegen.encode(portrait.resize((64, 64)), image_format)) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is text",
        b"%PDF-1.7\n",
        b"PK\x03\x04",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
    ],
    ids=["empty", "text", "pdf", "zip", "wav", "avif", "mp4"],
)
def test_sniff_format_other(data: bytes) -> None:
    assert sniff_format(data) is None


def test_sniff_format_generic_heif_brand() -> None:
    data = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf"
    assert sniff_format(data) == "heif"


# --- accepted formats ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "params", "tolerance"),
    [
        ("JPEG", {"quality": 92}, 4.0),
        ("PNG", {}, 0.0),
        ("WEBP", {"quality": 90}, 6.0),
        ("HEIF", {"quality": 90}, 6.0),
        ("GIF", {}, 12.0),
    ],
)
def test_load_photo_formats(portrait: Image.Image, image_format: str, params: dict[str, object], tolerance: float) -> None:
    photo = load_photo(imagegen.encode(portrait, image_format, **params), max_pixels=MAX_PIXELS)

    assert photo.mode == "RGB"
    assert photo.size == portrait.size
    assert imagegen.mean_difference(photo, portrait) <= tolerance


def test_load_photo_heic_named_jpeg(portrait: Image.Image) -> None:
    # Only the bytes matter: a HEIC file uploaded as "selfie.jpg" with image/jpeg decodes as HEIC.
    data = imagegen.encode(portrait, "HEIF", quality=90)

    photo = load_photo(data, max_pixels=MAX_PIXELS)

    assert sniff_format(data) == "heif"
    assert photo.size == (512, 512)
    assert imagegen.mean_difference(photo, portrait) < 6.0


# --- not an image ---------------------------------------------------------------------


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("selfie.jpg", b"not really")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"Dear support, my photo is attached.\n" * 20,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
        _zip_bytes(),
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
        bytes(range(256)) * 4,
        b"BMW owners club: photos from the spring meeting",
    ],
    ids=["text", "pdf", "zip", "svg", "binary", "text-starting-bm"],
)
def test_load_photo_not_an_image(data: bytes) -> None:
    assert rejection(data).reason is Reason.NOT_AN_IMAGE


def test_load_photo_empty() -> None:
    assert rejection(b"").reason is Reason.EMPTY_FILE


@pytest.mark.parametrize(("image_format", "name"), [("BMP", "BMP"), ("TIFF", "TIFF")])
def test_load_photo_unsupported_format(portrait: Image.Image, image_format: str, name: str) -> None:
    error = rejection(imagegen.encode(portrait.resize((300, 300)), image_format))

    assert error.reason is Reason.UNSUPPORTED_FORMAT
    assert name in error.detail


def test_load_photo_avif_unsupported() -> None:
    avif_header = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64
    assert rejection(avif_header).reason is Reason.UNSUPPORTED_FORMAT


# --- damaged files ----------------------------------------------------------------------


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_load_photo_truncated_jpeg(portrait: Image.Image, keep: float) -> None:
    data = imagegen.encode(portrait, "JPEG", quality=92)
    assert rejection(data[: int(len(data) * keep)]).reason is Reason.CORRUPT_IMAGE


def test_load_photo_truncated_png(portrait: Image.Image) -> None:
    data = imagegen.encode(portrait, "PNG")
    assert rejection(data[: len(data) // 2]).reason is Reason.CORRUPT_IMAGE


def test_load_photo_truncated_heic(portrait: Image.Image) -> None:
    data = imagegen.encode(portrait, "HEIF", quality=80)
    assert rejection(data[: len(data) // 2]).reason is Reason.CORRUPT_IMAGE


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0" + b"\x00" * 200,
        b"\xff\xd8\xff" + b"\xde\xad\xbe\xef" * 100,
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x00" * 30,
        b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x00" * 40,
        b"GIF89a" + b"\x00" * 6,
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
    ],
    ids=["jpeg", "jpeg-garbage", "png-bad-crc", "webp", "gif", "heic"],
)
def test_load_photo_corrupt_header(data: bytes) -> None:
    assert rejection(data).reason is Reason.CORRUPT_IMAGE


def test_load_photo_keeps_truncation_strict(portrait: Image.Image) -> None:
    data = imagegen.encode(portrait, "JPEG", quality=92)
    rejection(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --- pixel limits -------------------------------------------------------------------------


def test_load_photo_bomb_header(monkeypatch: pytest.MonkeyPatch) -> None:
    data = imagegen.png_declaring_size(20_000, 20_000)

    def decoding_forbidden(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data was decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoding_forbidden)
    error = rejection(data)

    assert len(data) < 200
    assert error.reason is Reason.TOO_MANY_PIXELS


def test_load_photo_bomb_below_pillow_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # 60 MP is under Pillow's default limit (89 MP) but above ours.
    data = imagegen.png_declaring_size(10_000, 6_000)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded a bomb"))

    error = rejection(data, max_pixels=50_000_000)

    assert error.reason is Reason.TOO_MANY_PIXELS
    assert "10000x6000" in error.detail


def test_load_photo_pixel_limit_boundary(portrait: Image.Image) -> None:
    data = imagegen.encode(portrait.resize((600, 500)), "PNG")

    assert load_photo(data, max_pixels=300_000).size == (600, 500)
    assert rejection(data, max_pixels=299_999).reason is Reason.TOO_MANY_PIXELS


def test_load_photo_restores_pillow_limit(portrait: Image.Image) -> None:
    before = Image.MAX_IMAGE_PIXELS
    load_photo(imagegen.encode(portrait, "PNG"), max_pixels=1_000_000)
    rejection(imagegen.png_declaring_size(20_000, 20_000), max_pixels=1_000)

    assert Image.MAX_IMAGE_PIXELS == before


def test_load_photo_tiny() -> None:
    data = imagegen.encode(imagegen.astronaut().resize((32, 32)), "PNG")
    assert rejection(data).reason is Reason.IMAGE_TOO_SMALL


def test_load_photo_min_side_argument(portrait: Image.Image) -> None:
    data = imagegen.encode(portrait.resize((300, 200)), "JPEG")

    assert load_photo(data, max_pixels=MAX_PIXELS, min_side=200).size == (300, 200)
    assert rejection(data, min_side=201).reason is Reason.IMAGE_TOO_SMALL


def test_load_photo_extreme_aspect() -> None:
    data = imagegen.encode(imagegen.noise((4000, 100)), "PNG")

    photo = load_photo(data, max_pixels=MAX_PIXELS)

    # Downscaled to the working size, keeping the 40:1 aspect ratio.
    assert photo.size == (2048, 51)
    assert rejection(data, min_side=256).reason is Reason.IMAGE_TOO_SMALL


def test_load_photo_12mp_jpeg_draft(portrait: Image.Image) -> None:
    canvas = imagegen.place(portrait, (4032, 3024), (600, 100), scale=5.5)
    data = imagegen.encode(canvas, "JPEG", quality=92)

    started = time.perf_counter()
    photo = load_photo(data, max_pixels=MAX_PIXELS)
    elapsed = time.perf_counter() - started

    # DCT scaling to 1/2 gives 2016x1512 directly; a full decode and resize would give 2048x1536.
    assert photo.size == (2016, 1512)
    assert imagegen.mean_difference(photo, canvas.resize((2016, 1512), Image.Resampling.BOX)) < 4.0
    # A full-size decode alone takes about 0.08 s here; the bound only catches gross regressions.
    assert elapsed < 2.0


def test_load_photo_large_png_downscaled(portrait: Image.Image) -> None:
    data = imagegen.encode(portrait.resize((3000, 2000)), "PNG", compress_level=1)
    assert load_photo(data, max_pixels=MAX_PIXELS).size == (2048, 1365)


# --- orientation -------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_load_photo_exif_orientation(orientation: int) -> None:
    upright = imagegen.astronaut().resize((400, 300))
    data = imagegen.jpeg_with_orientation(upright, orientation)
    stored = Image.open(io.BytesIO(data))

    photo = load_photo(data, max_pixels=MAX_PIXELS)

    if orientation in (5, 6, 7, 8):
        assert stored.size == (300, 400)
    assert photo.size == (400, 300)
    assert imagegen.mean_difference(photo, upright) < 4.0


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_load_photo_exif_orientation_other_formats(image_format: str) -> None:
    upright = imagegen.astronaut().resize((400, 300))
    exif = Image.Exif()
    exif[imagegen.EXIF_ORIENTATION_TAG] = 6
    data = imagegen.encode(imagegen.stored_for_orientation(upright, 6), image_format, exif=exif.tobytes())

    photo = load_photo(data, max_pixels=MAX_PIXELS)

    assert photo.size == (400, 300)
    assert imagegen.mean_difference(photo, upright) < 6.0


@pytest.mark.parametrize(
    "payload",
    [
        b"Exif\x00\x00" + b"\x13\x37 not a TIFF header",
        b"Exif\x00\x00II*\x00\xf0\xff\xff\x0f",
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x32\x01\x12",
        imagegen.tiff_exif([(0x0112, 2, 4, b"AAAA")]),
        imagegen.tiff_exif([(0x0112, 3, 1, b"\x63\x00")]),
        imagegen.tiff_exif([(0x0112, 3, 0, b"")]),
        imagegen.tiff_exif([(0x0112, 3, 1, b"\x06\x00"), (0x8769, 4, 1, b"\xff\xff\xff\x7f")]),
        imagegen.tiff_exif([(0x0112, 3, 1, b"\x06\x00")], next_ifd=8),
    ],
    ids=["no-tiff", "bad-offset", "short-ifd", "orientation-text", "orientation-99", "no-value", "bad-subifd", "ifd-loop"],
)
def test_load_photo_malformed_exif(payload: bytes) -> None:
    upright = imagegen.astronaut().resize((400, 300))
    photo = load_photo(imagegen.jpeg_with_app1(upright, payload), max_pixels=MAX_PIXELS)

    assert photo.mode == "RGB"
    assert sorted(photo.size) == [300, 400]


def test_load_photo_exif_parser_error(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    upright = imagegen.astronaut().resize((400, 300))
    data = imagegen.jpeg_with_orientation(upright, 6)

    def broken_transpose(image: Image.Image, **kwargs: object) -> Image.Image:
        raise SyntaxError("crafted EXIF")

    monkeypatch.setattr(ImageOps, "exif_transpose", broken_transpose)
    with caplog.at_level(logging.WARNING, logger=images.__name__):
        photo = load_photo(data, max_pixels=MAX_PIXELS)

    # Stored pixels, unrotated.
    assert photo.size == (300, 400)
    assert any("EXIF" in record.getMessage() for record in caplog.records)
    assert all("crafted" not in record.getMessage() for record in caplog.records)


# --- modes ---------------------------------------------------------------------------------


def test_load_photo_cmyk_jpeg() -> None:
    # Pillow writes CMYK JPEGs the way Photoshop does (Adobe APP14 marker, inverted values).
    cmyk = Image.new("CMYK", (300, 300), (0, 255, 255, 0))
    cmyk.paste((255, 0, 255, 0), (0, 0, 150, 300))
    data = imagegen.encode(cmyk, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"

    photo = load_photo(data, max_pixels=MAX_PIXELS)

    assert photo.mode == "RGB"
    assert np.allclose(np.asarray(photo)[150, 225], (255, 0, 0), atol=6)
    assert np.allclose(np.asarray(photo)[150, 75], (0, 255, 0), atol=6)


def test_load_photo_16bit_png() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (256, 1))
    data = imagegen.encode(Image.fromarray(ramp), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")

    photo = np.asarray(load_photo(data, max_pixels=MAX_PIXELS))

    # Scaled to 8 bits, not clipped at 255.
    assert photo[0, 0].tolist() == [0, 0, 0]
    assert photo[0, 128].tolist() == [round(ramp[0, 128] / 257)] * 3
    assert photo[0, 255].tolist() == [255, 255, 255]


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_load_photo_grayscale(portrait: Image.Image, image_format: str) -> None:
    gray = portrait.convert("L")
    photo = load_photo(imagegen.encode(gray, image_format), max_pixels=MAX_PIXELS)
    pixels = np.asarray(photo)

    assert photo.mode == "RGB"
    assert np.array_equal(pixels[..., 0], pixels[..., 1])
    assert np.array_equal(pixels[..., 0], pixels[..., 2])


def test_load_photo_palette_transparency() -> None:
    palette_image = Image.new("P", (200, 200), 0)
    palette_image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    palette_image.paste(1, (50, 50, 150, 150))
    data = imagegen.encode(palette_image, "PNG", transparency=0)

    photo = load_photo(data, max_pixels=MAX_PIXELS)

    assert photo.getpixel((10, 10)) == (255, 255, 255)
    assert photo.getpixel((100, 100)) == (200, 30, 30)


def test_load_photo_rgba_background(portrait: Image.Image) -> None:
    rgba = portrait.convert("RGBA")
    alpha = Image.new("L", rgba.size, 0)
    alpha.paste(255, (100, 100, 400, 400))
    alpha.paste(128, (0, 450, 512, 512))
    rgba.putalpha(alpha)
    rgba.paste((255, 0, 0, 128), (0, 450, 512, 512))

    photo = load_photo(imagegen.encode(rgba, "PNG"), max_pixels=MAX_PIXELS)

    assert photo.getpixel((10, 10)) == (255, 255, 255)
    assert photo.getpixel((250, 250)) == portrait.getpixel((250, 250))
    assert np.allclose(np.asarray(photo)[480, 256], (255, 127, 127), atol=1)


def test_load_photo_la_mode() -> None:
    gray_alpha = Image.new("LA", (200, 200), (0, 0))
    gray_alpha.paste((40, 255), (50, 50, 150, 150))
    photo = load_photo(imagegen.encode(gray_alpha, "PNG"), max_pixels=MAX_PIXELS)

    assert photo.getpixel((10, 10)) == (255, 255, 255)
    assert photo.getpixel((100, 100)) == (40, 40, 40)


def test_load_photo_transparent_webp(portrait: Image.Image) -> None:
    rgba = portrait.convert("RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 0))
    photo = load_photo(imagegen.encode(rgba, "WEBP", lossless=True), max_pixels=MAX_PIXELS)

    assert np.asarray(photo).min() >= 250


# --- animation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("image_format", "tolerance"), [("GIF", 12.0), ("WEBP", 6.0)])
def test_load_photo_animated_first_frame(portrait: Image.Image, image_format: str, tolerance: float) -> None:
    data = imagegen.animated([portrait, imagegen.noise(portrait.size, seed=1)], image_format)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2

    photo = load_photo(data, max_pixels=MAX_PIXELS)

    assert photo.size == portrait.size
    assert imagegen.mean_difference(photo, portrait) <= tolerance


# --- ImageRejected -----------------------------------------------------------------------------


def test_image_rejected_fields() -> None:
    error = ImageRejected(Reason.CORRUPT_IMAGE, "jpeg pixel data cannot be decoded (OSError)")

    assert error.reason is Reason.CORRUPT_IMAGE
    assert error.detail == "jpeg pixel data cannot be decoded (OSError)"
    assert "corrupt_image" in str(error)


def test_image_rejected_detail_no_bytes() -> None:
    secret = b"\xff\xd8\xff\xe0SECRET-PAYLOAD-1234567890"
    error = rejection(secret + b"\x00" * 100)

    assert "SECRET" not in error.detail
    assert "1234567890" not in error.detail
