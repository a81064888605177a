"""Checks on the selected face that predict a distorted portrait: head pose, exposure and blur.

Pose comes from the detector's landmarks. Exposure and sharpness are measured on the central
face region of the aligned crop, so every face is judged at the same scale and framing.
Brightness is luma as Pillow's "L" mode computes it (ITU-R 601-2: 0.299 R + 0.587 G +
0.114 B on the gamma-encoded values), from 0 to 255.

Each check raises ImageRejected with its reason code. The thresholds, with the measurements
they were calibrated on, are fields of FaceRules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from functions.core.faces.align import EYE_DISTANCE, EYE_LINE_Y
from functions.core.faces.rules import FaceRules
from functions.core.faces.types import DetectedFace
from functions.core.images import ImageRejected
from functions.core.reasons import Reason

# The face region of the aligned crop that exposure and sharpness are measured on, in
# inter-ocular distances (IOD) from the midpoint between the eyes: eyebrows to lower lip,
# and between the outer corners of the eyes. It leaves out most hair and background.
_REGION_HALF_WIDTH = 0.75
_REGION_ABOVE_EYES = 0.5
_REGION_BELOW_EYES = 1.25

# Sharpness is measured on the crop shrunk to this side (the eyes about 20 px apart). At
# that scale, the upsampling that align_face applies to small faces and JPEG artefacts
# barely register and pixel noise is averaged down, while a blur of the whole face shows.
_SHARPNESS_SIDE = 64

# Variance of the Laplacian that rounding to whole luma levels alone produces. The rounding
# error is uniform over one level (variance 1/12), and the squared weights of the
# 4-neighbour kernel sum to 20. Subtracting it keeps a nearly uniform face from scoring
# as sharp.
_ROUNDING_LAPLACIAN_VARIANCE = 20 / 12

# Luma at or above which a pixel counts as clipped (blown out to white).
_CLIPPED_LUMA = 250

# The photo is shrunk to at most this long side before its surroundings are measured.
_SURROUND_LONG_SIDE = 512


@dataclass(frozen=True)
class Exposure:
    """Brightness measurements of one face and the photo around it, in luma (0-255).

    face_luma: median luma of the face region in the aligned crop.
    clipped_fraction: fraction of the face region at luma 250 or above.
    surround_luma: median luma of the photo outside the detector's face box.
    photo_highlight: 99th percentile of luma over the whole photo.
    """

    face_luma: float
    clipped_fraction: float
    surround_luma: float
    photo_highlight: float


def yaw_offset(face: DetectedFace) -> float | None:
    """Return how far the nose tip sits from the midpoint between the eyes, along the eye line.

    The offset is in inter-ocular distances and unsigned: about 0 for a frontal face and
    growing with yaw, because the nose tip is in front of the eyes and swings to the
    side as the head turns. It does not depend on roll. Returns None when the detector
    reported no nose or the eyes coincide.
    """
    if face.nose is None:
        return None
    left_x, left_y = face.left_eye
    right_x, right_y = face.right_eye
    eye_distance = math.hypot(right_x - left_x, right_y - left_y)
    if eye_distance < 1e-6:
        return None
    along_x = (right_x - left_x) / eye_distance
    along_y = (right_y - left_y) / eye_distance
    nose_dx = face.nose[0] - (left_x + right_x) / 2
    nose_dy = face.nose[1] - (left_y + right_y) / 2
    return abs(nose_dx * along_x + nose_dy * along_y) / eye_distance


def eye_span(face: DetectedFace) -> float:
    """Return the distance between the eyes as a fraction of the face box width (0 for an empty box).

    The eyes draw together as the head turns while the box stays about as wide, so a small
    span means a face seen from the side, even when its nose landmark is misplaced.
    """
    if face.width <= 0:
        return 0.0
    left_x, left_y = face.left_eye
    right_x, right_y = face.right_eye
    return math.hypot(right_x - left_x, right_y - left_y) / face.width


def check_pose(face: DetectedFace, rules: FaceRules) -> None:
    """Reject a face turned too far to the side.

    Roll is not checked because align_face levels the eyes. Pitch is not checked because
    the five landmarks do not measure it reliably. The nose tip lies 0.73 of the way from
    the eye line to the mouth line on the frontal astronaut portrait, but 0.50 in
    InsightFace's 5-point ArcFace template. By rough geometry (an estimate), a 30-degree
    pitch moves it by only about 0.2, so faces and detectors differ as much as pitch does.

    Raises:
        ImageRejected(FACE_TURNED): yaw_offset is above rules.max_yaw_offset, or
            eye_span is below rules.min_eye_span.
    """
    offset = yaw_offset(face)
    if offset is not None and offset > rules.max_yaw_offset:
        raise ImageRejected(
            Reason.FACE_TURNED,
            f"nose is {offset:.2f} eye distances to the side of the eyes' midpoint (limit {rules.max_yaw_offset:.2f})",
        )
    span = eye_span(face)
    if span < rules.min_eye_span:
        raise ImageRejected(
            Reason.FACE_TURNED, f"eyes are {span:.2f} of the face box width apart (minimum {rules.min_eye_span:.2f})"
        )


def face_region(size: int) -> tuple[int, int, int, int]:
    """Return the (left, top, right, bottom) pixel bounds of the face region in an aligned crop of `size`."""
    eye_distance = EYE_DISTANCE * size
    center_x = 0.5 * size
    eye_line = EYE_LINE_Y * size
    left = round(center_x - _REGION_HALF_WIDTH * eye_distance)
    right = round(center_x + _REGION_HALF_WIDTH * eye_distance)
    top = round(eye_line - _REGION_ABOVE_EYES * eye_distance)
    bottom = round(eye_line + _REGION_BELOW_EYES * eye_distance)
    return max(0, left), max(0, top), min(size, right), min(size, bottom)


def measure_exposure(photo: Image.Image, face: DetectedFace, crop: Image.Image) -> Exposure:
    """Measure the brightness of the face region in `crop` and of `photo` around `face`."""
    left, top, right, bottom = face_region(crop.width)
    face_pixels = np.asarray(crop.convert("L"), dtype=np.float64)[top:bottom, left:right]

    factor = max(1, math.ceil(max(photo.size) / _SURROUND_LONG_SIDE))
    small = photo.convert("L").reduce(factor) if factor > 1 else photo.convert("L")
    photo_pixels = np.asarray(small, dtype=np.float64)
    outside = np.ones(photo_pixels.shape, dtype=bool)
    x0, y0, x1, y1 = (round(value / factor) for value in face.box)
    outside[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
    # A face box that covers the whole photo leaves no surroundings, so the whole photo is used.
    surround = photo_pixels[outside] if outside.any() else photo_pixels.ravel()

    return Exposure(
        face_luma=float(np.median(face_pixels)),
        clipped_fraction=float((face_pixels >= _CLIPPED_LUMA).mean()),
        surround_luma=float(np.median(surround)),
        photo_highlight=float(np.percentile(photo_pixels, 99)),
    )


def check_exposure(exposure: Exposure, rules: FaceRules) -> None:
    """Reject a face that is too dark, lit from behind, or blown out.

    Raises:
        ImageRejected with one of these reasons, checked in this order:
            TOO_DARK: the face is darker than rules.dark_face_luma and nothing in the
                photo is brighter than rules.dark_photo_highlight (99th percentile).
            BACKLIT: the face is darker than rules.backlit_face_luma and its
                surroundings are at least rules.backlit_contrast times as bright.
            TOO_BRIGHT: more than rules.max_clipped_fraction of the face region is clipped.
    """
    if exposure.face_luma < rules.dark_face_luma and exposure.photo_highlight < rules.dark_photo_highlight:
        raise ImageRejected(
            Reason.TOO_DARK,
            f"face median luma {exposure.face_luma:.0f} (limit {rules.dark_face_luma:.0f}), "
            f"photo 99th percentile {exposure.photo_highlight:.0f} (limit {rules.dark_photo_highlight:.0f})",
        )
    if (
        exposure.face_luma < rules.backlit_face_luma
        and exposure.surround_luma >= rules.backlit_contrast * max(exposure.face_luma, 1.0)
    ):
        raise ImageRejected(
            Reason.BACKLIT,
            f"face median luma {exposure.face_luma:.0f} (limit {rules.backlit_face_luma:.0f}), "
            f"surroundings {exposure.surround_luma:.0f}",
        )
    if exposure.clipped_fraction > rules.max_clipped_fraction:
        raise ImageRejected(
            Reason.TOO_BRIGHT,
            f"{exposure.clipped_fraction:.0%} of the face region is clipped (limit {rules.max_clipped_fraction:.0%})",
        )


def sharpness(crop: Image.Image) -> float:
    """Return the variance of the Laplacian over the face region, divided by the region's luma variance.

    The crop is first shrunk to _SHARPNESS_SIDE pixels, and the Laplacian variance that
    rounding alone causes is subtracted. Dividing by the luma variance makes the score
    independent of exposure and skin tone: it is the share of the face's contrast that
    sits in the finest details. A face of uniform brightness scores 0.

    NOTE: noise counts as detail. The astronaut portrait blurred with radius 4 and given
    Gaussian noise of sigma 8 scored 0.20, above the default minimum, so a blurred photo
    with heavy sensor noise can pass.
    """
    factor = max(1, round(crop.width / _SHARPNESS_SIDE))
    small = crop.convert("L")
    if factor > 1:
        small = small.reduce(factor)
    luma = np.asarray(small, dtype=np.float64)

    # 4-neighbour Laplacian on the inner pixels, then cut to the face region.
    laplacian = np.zeros_like(luma)
    laplacian[1:-1, 1:-1] = luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:] - 4 * luma[1:-1, 1:-1]
    left, top, right, bottom = face_region(small.width)
    left, top = max(left, 1), max(top, 1)
    right, bottom = min(right, small.width - 1), min(bottom, small.height - 1)
    region = luma[top:bottom, left:right]
    variance = float(region.var())
    if variance == 0.0:
        return 0.0
    detail = float(laplacian[top:bottom, left:right].var()) - _ROUNDING_LAPLACIAN_VARIANCE
    return max(0.0, detail) / variance


def check_sharpness(crop: Image.Image, rules: FaceRules) -> None:
    """Reject a blurred face.

    Raises:
        ImageRejected(TOO_BLURRY): sharpness(crop) is below rules.min_sharpness.
    """
    score = sharpness(crop)
    if score < rules.min_sharpness:
        raise ImageRejected(Reason.TOO_BLURRY, f"sharpness {score:.3f} (minimum {rules.min_sharpness:.3f})")
