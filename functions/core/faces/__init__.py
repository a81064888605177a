"""Face detection, selection and alignment for uploaded photos.

The validator calls prepare_face; the other names are its parts, exported for tests and
for tools that need one step alone. The quality checks (pose, exposure, sharpness) are in
functions.core.faces.quality.
"""

from __future__ import annotations

from functions.core.faces.align import EYE_DISTANCE, EYE_LINE_Y, align_face
from functions.core.faces.builtin import RetinaFaceDetector
from functions.core.faces.factory import detector_from_name
from functions.core.faces.prepare import FACE_SIZE, MIN_PHOTO_SIDE, PreparedFace, prepare_face
from functions.core.faces.quality import (
    Exposure,
    check_exposure,
    check_pose,
    check_sharpness,
    eye_span,
    measure_exposure,
    sharpness,
    yaw_offset,
)
from functions.core.faces.rekognition import RekognitionDetector
from functions.core.faces.rules import FaceRules, fraction_outside, select_face
from functions.core.faces.types import DetectedFace, FaceDetector, Point

__all__ = [
    "EYE_DISTANCE",
    "EYE_LINE_Y",
    "FACE_SIZE",
    "MIN_PHOTO_SIDE",
    "DetectedFace",
    "Exposure",
    "FaceDetector",
    "FaceRules",
    "Point",
    "PreparedFace",
    "RekognitionDetector",
    "RetinaFaceDetector",
    "align_face",
    "check_exposure",
    "check_pose",
    "check_sharpness",
    "detector_from_name",
    "eye_span",
    "fraction_outside",
    "measure_exposure",
    "prepare_face",
    "select_face",
    "sharpness",
    "yaw_offset",
]
