"""Test photos generated in code from scikit-image's sample images.

No photo files are committed. The only frontal face is in skimage.data.astronaut(), a NASA
portrait in the public domain. skimage.data.camera() shows a man at a camera with his face
seen almost from the side. The cat, coffee and rocket images contain no human face.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import numpy as np
import pillow_heif
from PIL import Image, ImageEnhance, ImageFilter
from skimage import data

EXIF_ORIENTATION_TAG = 0x0112

# For each EXIF orientation, the transpose that turns an upright picture into the pixels
# a camera stores with that tag, the inverse of what a viewer applies.
_STORED_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def astronaut() -> Image.Image:
    """Return the 512x512 astronaut portrait; her face box is about (177, 56)-(272, 176)."""
    return Image.fromarray(data.astronaut())


def camera() -> Image.Image:
    """Return the 512x512 grayscale photo of a man at a camera, his face in near profile."""
    return Image.fromarray(data.camera()).convert("RGB")


def cat() -> Image.Image:
    """Return the 451x300 photo of a cat, which has no human face."""
    return Image.fromarray(data.chelsea())


def coffee() -> Image.Image:
    """Return the 600x400 photo of a coffee cup."""
    return Image.fromarray(data.coffee())


def rocket() -> Image.Image:
    """Return the 640x427 photo of a rocket on its launch pad."""
    return Image.fromarray(data.rocket())


def noise(size: tuple[int, int], *, seed: int = 0) -> Image.Image:
    """Return an RGB image of uniform random noise."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    """Encode an image with Pillow (or pillow-heif for "HEIF") and return the bytes."""
    if image_format == "HEIF":
        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def place(
    image: Image.Image,
    canvas_size: tuple[int, int],
    position: tuple[int, int],
    *,
    scale: float = 1.0,
    background: tuple[int, int, int] = (128, 128, 128),
) -> Image.Image:
    """Paste `image`, resized by `scale`, onto a plain canvas with its top-left at `position`.

    Positions may be negative or run past the canvas, which cuts the image off.
    """
    canvas = Image.new("RGB", canvas_size, background)
    if scale != 1.0:
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.BICUBIC)
    canvas.paste(image, position)
    return canvas


def brightened(image: Image.Image, factor: float) -> Image.Image:
    """Return `image` with every channel multiplied by `factor`, clipped at 255."""
    return ImageEnhance.Brightness(image).enhance(factor)


def blurred(image: Image.Image, radius: float) -> Image.Image:
    """Return `image` after a Gaussian blur of `radius` pixels (Pillow's GaussianBlur)."""
    return image.filter(ImageFilter.GaussianBlur(radius))


def motion_blurred(image: Image.Image, length: int) -> Image.Image:
    """Return `image` averaged over `length` pixels along each row, like a camera moved sideways."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    before = (length - 1) // 2
    padded = np.pad(pixels, ((0, 0), (before, length - 1 - before), (0, 0)), mode="edge")
    total = np.zeros_like(pixels)
    for shift in range(length):
        total += padded[:, shift : shift + pixels.shape[1]]
    return Image.fromarray(np.clip(total / length, 0, 255).round().astype(np.uint8))


def with_noise(image: Image.Image, sigma: float, *, seed: int = 0) -> Image.Image:
    """Return `image` with Gaussian noise of standard deviation `sigma` levels added to each channel."""
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    noisy = pixels + rng.normal(0.0, sigma, pixels.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8))


def darker_skin(image: Image.Image, factor: float) -> Image.Image:
    """Return `image` with skin-coloured pixels multiplied by `factor`, the rest unchanged.

    Skin is a box in YCbCr (Cb 77-127, Cr 133-173), softened at its edges. On the
    astronaut it also darkens her hair and eyes, but not her teeth or the background. The
    result approximates a person with darker skin in the same light.
    """
    ycbcr = np.asarray(image.convert("YCbCr"), dtype=np.int16)
    chroma_blue, chroma_red = ycbcr[..., 1], ycbcr[..., 2]
    skin = (chroma_blue > 77) & (chroma_blue < 127) & (chroma_red > 133) & (chroma_red < 173)
    mask_image = Image.fromarray(skin.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(2))
    mask = np.asarray(mask_image, dtype=np.float64)[..., None] / 255
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    darkened = pixels * (1 - (1 - factor) * mask)
    return Image.fromarray(np.clip(darkened, 0, 255).round().astype(np.uint8))


def backlit(
    image: Image.Image,
    face_factor: float,
    *,
    center: tuple[float, float] = (225, 120),
    radius: float = 90,
    surround: Image.Image | None = None,
) -> Image.Image:
    """Return `image` multiplied by `face_factor` inside a disc and bright outside it.

    Outside the disc, each pixel becomes 160 + 0.4 times its value, or the pixel of
    `surround` when one is given. A band of 80 px blends the two. The defaults put the
    disc on the astronaut's face, as if she stood before a bright window.
    """
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    rows, columns = np.mgrid[0 : pixels.shape[0], 0 : pixels.shape[1]]
    distance = np.hypot(columns - center[0], rows - center[1])
    outside = np.clip((distance - radius) / 80, 0, 1)[..., None]
    if surround is None:
        bright = np.minimum(255, 160 + 0.4 * pixels)
    else:
        bright = np.asarray(surround.convert("RGB"), dtype=np.float64)
    mixed = pixels * face_factor * (1 - outside) + bright * outside
    return Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))


def stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """Return the pixels a camera would store for `upright` when it tags them with `orientation`."""
    if orientation == 1:
        return upright.copy()
    return upright.transpose(_STORED_FOR_ORIENTATION[orientation])


def jpeg_with_orientation(upright: Image.Image, orientation: int) -> bytes:
    """Encode a JPEG whose stored pixels and EXIF Orientation tag display as `upright`."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = orientation
    return encode(stored_for_orientation(upright, orientation), "JPEG", quality=92, exif=exif.tobytes())


def jpeg_with_app1(image: Image.Image, payload: bytes) -> bytes:
    """Encode a JPEG and insert an APP1 segment with `payload` right after the SOI marker."""
    plain = encode(image, "JPEG", quality=90)
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return plain[:2] + segment + plain[2:]


def tiff_exif(entries: Sequence[tuple[int, int, int, bytes]], *, next_ifd: int = 0) -> bytes:
    """Build an "Exif" APP1 payload with one little-endian IFD of raw entries.

    Each entry is (tag, type, count, 4-byte value field). Nothing is validated, so the
    result can be as malformed as a test needs.
    """
    body = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, field_type, count, value in entries:
        body += struct.pack("<HHI", tag, field_type, count) + value.ljust(4, b"\x00")[:4]
    body += struct.pack("<I", next_ifd)
    return b"Exif\x00\x00" + body


def png_declaring_size(width: int, height: int) -> bytes:
    """Build a tiny PNG whose IHDR chunk declares `width` x `height` RGB pixels.

    The IDAT chunk holds only a few compressed rows, so decoding it would fail, but a
    safe loader rejects the file on its header alone.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", checksum)


def animated(frames: Sequence[Image.Image], image_format: str) -> bytes:
    """Encode an animated GIF or WebP with the given frames, 100 ms each."""
    return encode(frames[0], image_format, save_all=True, append_images=list(frames[1:]), duration=100, loop=0)


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    """Return the mean absolute difference of two same-size RGB images, in 0-255 levels."""
    a = np.asarray(first.convert("RGB"), dtype=np.float64)
    b = np.asarray(second.convert("RGB"), dtype=np.float64)
    return float(np.abs(a - b).mean())
