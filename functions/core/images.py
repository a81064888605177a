"""Safe decoding of uploaded photos into upright RGB images.

Uploads are untrusted: the declared name and content type mean nothing, so the format is
read from the first bytes, and the pixel count is checked against the header before any
pixel is decoded. Every rejection raises ImageRejected with a reason code from
functions.core.reasons and a detail that is safe to log (sizes and format names, never
bytes of the file).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator

import numpy as np
import pillow_heif
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from functions.core.reasons import Reason

logger = logging.getLogger(__name__)

# Maximum long side of the photo that load_photo returns. At 2048x1536, a face at the
# default minimum size (15 % of the short side) is 230 px tall. That is about its height
# in the 256 px crop, so the downscale loses no detail that the crop would keep.
WORKING_LONG_SIDE = 2048

# JPEGs are decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, through Image.draft)
# when the reduced image still has a long side of at least this many pixels. A 4032x3024
# phone photo then decodes at 2016x1512: load_photo took 0.025 s, where a full-size decode
# alone took 0.08 s (measured on a 2-core x86 VM with Pillow 13).
DRAFT_MIN_LONG_SIDE = 1536

# Pillow's plugin name for each format that sniff_format reports.
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF", "heif": "HEIF"}

# ISO base media file brands (the `ftyp` box) of HEIF images coded with HEVC, and of
# generic HEIF files that libheif may decode.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# Modes that carry an alpha channel; they are composited onto white.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})

_WHITE = (255, 255, 255)


class ImageRejected(Exception):
    """Raised when an uploaded photo cannot be used; carries the reason code for the job.

    `detail` is meant for logs: it names sizes, formats and exception types, and never
    contains bytes of the upload or anything about the person in it.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def sniff_format(data: bytes) -> str | None:
    """Return the image format that the magic bytes at the start of `data` identify.

    Returns "jpeg", "png", "webp", "gif" or "heif", or None for anything else, including
    image formats that the service does not accept (AVIF, BMP, TIFF and others).
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    brands = _ftyp_brands(data)
    if brands & _HEIC_BRANDS:
        return "heif"
    if brands & _GENERIC_HEIF_BRANDS and not brands & _AVIF_BRANDS:
        return "heif"
    return None


def _ftyp_brands(data: bytes) -> set[bytes]:
    """Return the major and compatible brands of an ISO base media file, or an empty set."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return set()
    box_size = int.from_bytes(data[:4], "big")
    end = min(box_size, len(data), 256)
    brands = {data[8:12]}
    # Compatible brands follow the 4-byte minor version, 4 bytes each.
    for offset in range(16, end - 3, 4):
        brands.add(data[offset : offset + 4])
    return brands


def _unsupported_format_name(data: bytes) -> str | None:
    """Name a known image format that the service does not accept, or return None."""
    if _ftyp_brands(data) & _AVIF_BRANDS:
        return "AVIF"
    # BMP: "BM", the file size, then four reserved bytes that are zero.
    if data.startswith(b"BM") and len(data) >= 14 and data[6:10] == b"\x00\x00\x00\x00":
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or data.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG 2000"
    if data.startswith(b"\xff\x0a") or data.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JPEG XL"
    if data.startswith(b"8BPS"):
        return "PSD"
    return None


def load_photo(data: bytes, *, max_pixels: int, min_side: int = 64) -> Image.Image:
    """Decode an uploaded photo into an upright RGB image.

    The format comes from the magic bytes, never from a file name or content type, so a
    HEIC photo named `.jpg` decodes as HEIC. Animated GIF and WebP files give their first
    frame. The EXIF orientation is applied, but a malformed EXIF block leaves the photo
    unrotated instead of failing it. Transparent pixels are composited onto white. Photos whose long side
    exceeds WORKING_LONG_SIDE are downscaled to it (JPEGs partly while decoding, see
    DRAFT_MIN_LONG_SIDE), so callers get at most 2048 px on the long side.

    Raises:
        ImageRejected with one of these reasons:
            EMPTY_FILE: `data` is empty.
            NOT_AN_IMAGE: the bytes match no image format.
            UNSUPPORTED_FORMAT: a known image format other than JPEG, PNG, WebP, GIF
                and HEIF, such as AVIF, BMP or TIFF.
            TOO_MANY_PIXELS: the header declares more than `max_pixels` pixels. This
                is checked before any pixel is decoded.
            IMAGE_TOO_SMALL: a side is shorter than `min_side`.
            CORRUPT_IMAGE: the header or the pixel data cannot be decoded, for
                example in a truncated file.
    """
    if not data:
        raise ImageRejected(Reason.EMPTY_FILE, "the upload has 0 bytes")
    detected = sniff_format(data)
    if detected is None:
        unsupported = _unsupported_format_name(data)
        if unsupported is not None:
            raise ImageRejected(Reason.UNSUPPORTED_FORMAT, f"{unsupported} images are not accepted")
        raise ImageRejected(Reason.NOT_AN_IMAGE, f"the first bytes match no image format ({len(data)} bytes)")
    if detected == "heif":
        _register_heif_opener()

    with _pillow_pixel_limit(max_pixels):
        decoded = _open_header(data, detected, max_pixels)
        width, height = decoded.size
        if width * height > max_pixels:
            raise ImageRejected(
                Reason.TOO_MANY_PIXELS, f"{detected} declares {width}x{height} pixels, more than {max_pixels}"
            )
        if min(width, height) < min_side:
            raise ImageRejected(
                Reason.IMAGE_TOO_SMALL, f"{detected} is {width}x{height} pixels, a side is below {min_side}"
            )
        if detected == "jpeg":
            _draft_jpeg(decoded)
        _decode_pixels(decoded, detected)

    upright = _apply_exif_orientation(decoded)
    return _limit_long_side(_to_rgb(upright), WORKING_LONG_SIDE)


@contextlib.contextmanager
def _pillow_pixel_limit(max_pixels: int) -> Iterator[None]:
    """Make Pillow's own decompression bomb check use `max_pixels` while decoding.

    Pillow checks the declared size when a file is opened: it warns above
    Image.MAX_IMAGE_PIXELS and raises DecompressionBombError above twice that. The warning
    is silenced because load_photo compares the size with the same limit right after
    opening and reports the exact dimensions. The previous limit and warning filters are
    restored afterwards, because both are process-wide.
    NOTE: the limit is global to the process, so concurrent threads that decode images
    with different limits would interfere. A Lambda execution environment runs one
    invocation at a time.
    """
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _open_header(data: bytes, detected: str, max_pixels: int) -> ImageFile.ImageFile:
    """Parse the header with the plugin for the sniffed format; decode no pixels yet."""
    try:
        image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[detected]])
    except Image.DecompressionBombError as exc:
        raise ImageRejected(
            Reason.TOO_MANY_PIXELS, f"{detected} header declares more than twice the limit of {max_pixels} pixels"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(Reason.CORRUPT_IMAGE, f"{detected} header cannot be read ({type(exc).__name__})") from exc
    if not isinstance(image, ImageFile.ImageFile):
        raise ImageRejected(Reason.CORRUPT_IMAGE, f"{detected} header cannot be read")
    return image


def _draft_jpeg(image: ImageFile.ImageFile) -> None:
    """Ask libjpeg for the strongest reduction (1/8, 1/4 or 1/2) that keeps DRAFT_MIN_LONG_SIDE."""
    width, height = image.size
    long_side = max(width, height)
    for scale in (8, 4, 2):
        if long_side // scale >= DRAFT_MIN_LONG_SIDE:
            # draft() picks the largest scale whose result is at least the requested size.
            image.draft(None, (width // scale, height // scale))
            return


def _decode_pixels(image: ImageFile.ImageFile, detected: str) -> None:
    """Decode the first frame; truncated or damaged data raises instead of being padded."""
    # ImageFile.LOAD_TRUNCATED_IMAGES stays False, so a short file is an error here.
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise ImageRejected(Reason.TOO_MANY_PIXELS, f"a {detected} frame exceeds the pixel limit") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        # pillow-heif reports damaged HEIF data as ValueError; Pillow uses OSError.
        raise ImageRejected(Reason.CORRUPT_IMAGE, f"{detected} pixel data cannot be decoded ({type(exc).__name__})") from exc


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    """Rotate or flip the image as its EXIF Orientation tag requires, or keep it when EXIF is broken.

    HEIF files need nothing here: pillow-heif applies the container's rotation while
    decoding and reports orientation 1.
    """
    try:
        transposed = ImageOps.exif_transpose(image)
    except Exception as exc:  # noqa: BLE001
        # Pillow does not document which exceptions its EXIF code raises on malformed
        # input. Orientation is a nicety, so any of them means no rotation rather than a
        # rejected photo.
        logger.warning("ignoring malformed EXIF orientation", extra={"error_type": type(exc).__name__})
        return image
    return transposed if transposed is not None else image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any decoded mode to 8-bit RGB, compositing transparency onto white."""
    if image.mode == "RGB":
        return image
    if image.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own conversion clips 16-bit values at 255 instead of scaling them.
        values = np.asarray(image, dtype=np.float64)
        scaled = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, mode="L").convert("RGB")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    # L, 1, P, YCbCr, LAB, HSV, F and CMYK. Pillow reads every CMYK JPEG as inverted, the
    # convention of Adobe's APP14 marker that Photoshop writes.
    # NOTE: embedded ICC profiles are not applied, so wide-gamut (Display P3) and CMYK
    # photos come out with approximate colours.
    return image.convert("RGB")


def _limit_long_side(image: Image.Image, long_side: int) -> Image.Image:
    """Downscale so that neither side exceeds `long_side`, keeping the aspect ratio."""
    width, height = image.size
    if max(width, height) <= long_side:
        return image
    scale = long_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


_heif_registered = False


def _register_heif_opener() -> None:
    """Register pillow-heif's HEIF plugin with Pillow, once per process."""
    global _heif_registered
    if not _heif_registered:
        pillow_heif.register_heif_opener()
        _heif_registered = True
