"""Crop and align a face to the framing of the selfie2anime training images.

The training faces are tight, upright crops with the eyes level, centred horizontally and
about 40 % from the top. align_face reproduces that with a similarity transform (rotation,
uniform scale, translation) computed from the two eye positions.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from functions.core.faces.types import DetectedFace

# Eye positions in the aligned crop, as fractions of its side: the midpoint between the
# eyes at (0.5, EYE_LINE_Y), the eyes EYE_DISTANCE apart. The crop then spans about 3.1
# inter-ocular distances, from the top of the forehead to just below the chin.
# NOTE: EYE_DISTANCE was chosen by looking at crops of skimage's astronaut portrait next
# to the tight framing of the selfie2anime training faces, not measured on that data.
EYE_LINE_Y = 0.40
EYE_DISTANCE = 0.32

# Source pixels read around the crop so that bicubic sampling at its border has neighbours.
_SAMPLING_PAD = 3


def align_face(image: Image.Image, face: DetectedFace, *, size: int = 256) -> Image.Image:
    """Return a `size` x `size` RGB crop of `face` with the eyes level and in the training position.

    Parts of the crop that fall outside the photo repeat the photo's edge pixels rather
    than showing black. Raises ValueError when the two eyes are at the same point.
    """
    left_x, left_y = face.left_eye
    right_x, right_y = face.right_eye
    eye_dx = right_x - left_x
    eye_dy = right_y - left_y
    eye_distance = math.hypot(eye_dx, eye_dy)
    if eye_distance < 1e-6:
        raise ValueError("cannot align a face whose two eye positions coincide")

    # Source pixels per crop pixel, and the source direction of the crop's x axis.
    step = eye_distance / (EYE_DISTANCE * size)
    cos_a = eye_dx / eye_distance
    sin_a = eye_dy / eye_distance
    center_x = (left_x + right_x) / 2
    center_y = (left_y + right_y) / 2
    target_x = 0.5 * size
    target_y = EYE_LINE_Y * size

    # Inverse map, crop (u, v) -> source (x, y) = center + step * R(angle) @ (u - target_x, v - target_y).
    a = step * cos_a
    b = -step * sin_a
    d = step * sin_a
    e = step * cos_a
    c = center_x - a * target_x - b * target_y
    f = center_y - d * target_x - e * target_y

    # Shrink the source first when the crop is much smaller than the face, because the
    # affine transform samples without a low-pass filter and would alias.
    reduction = max(1, int(step))
    source = image.convert("RGB")
    if reduction > 1:
        source = source.reduce(reduction)
        a, b, c, d, e, f = (value / reduction for value in (a, b, c, d, e, f))

    region, offset_x, offset_y = _edge_padded_region(source, (a, b, c, d, e, f), size)
    coefficients = (a, b, c - offset_x, d, e, f - offset_y)
    return region.transform((size, size), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BICUBIC)


def _edge_padded_region(
    image: Image.Image, coefficients: tuple[float, ...], size: int
) -> tuple[Image.Image, int, int]:
    """Cut out the source area that the crop reads, padding it by repeating the photo's edges.

    Returns the region and the source coordinates of its top-left pixel.
    """
    a, b, c, d, e, f = coefficients
    corners = [(0, 0), (size, 0), (0, size), (size, size)]
    xs = [a * u + b * v + c for u, v in corners]
    ys = [d * u + e * v + f for u, v in corners]
    x0 = math.floor(min(xs)) - _SAMPLING_PAD
    y0 = math.floor(min(ys)) - _SAMPLING_PAD
    x1 = math.ceil(max(xs)) + _SAMPLING_PAD
    y1 = math.ceil(max(ys)) + _SAMPLING_PAD

    # Clamping the indices repeats the nearest edge pixel for coordinates outside the photo.
    width, height = image.size
    columns = np.clip(np.arange(x0, x1), 0, width - 1)
    rows = np.clip(np.arange(y0, y1), 0, height - 1)
    pixels = np.asarray(image)
    region = pixels[np.ix_(rows, columns)]
    return Image.fromarray(np.ascontiguousarray(region), mode="RGB"), x0, y0
