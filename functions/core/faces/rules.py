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
    """

    min_face_fraction: float = 0.15
    min_face_pixels: float = 64.0
    min_score: float = 0.9
    max_other_face_ratio: float = 0.5
    edge_margin: float = 0.1


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
