"""Face detection with Amazon Rekognition DetectFaces.

The photo is sent as JPEG bytes in the request, not as an S3 reference. Rekognition then
analyses the decoded, upright image that the rest of the pipeline uses, whatever the
upload's original format or EXIF orientation.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from PIL import Image

from functions.core.faces.types import DetectedFace, Point

logger = logging.getLogger(__name__)

# DetectFaces accepts at most 5 MB of image bytes in Image.Bytes.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
JPEG_QUALITY = 90

# Rekognition names landmarks from the viewer's side, like DetectedFace does: eyeLeft is
# the eye on the image's left. NOTE: the API reference does not say so in words; published
# DetectFaces responses for frontal faces have eyeLeft.X < eyeRight.X and
# upperJawlineRight on the image's right, and the mapping relies on that.
_LANDMARK_FIELDS = {
    "eyeLeft": "left_eye",
    "eyeRight": "right_eye",
    "nose": "nose",
    "mouthLeft": "mouth_left",
    "mouthRight": "mouth_right",
}


class RekognitionDetector:
    """Find faces with Rekognition DetectFaces and report them in pixels of the given image.

    `client` is a boto3 Rekognition client. Faces below `min_confidence` (percent, as
    Rekognition reports it) are dropped; the default is low on purpose so that
    FaceRules.min_score makes the final decision.
    """

    def __init__(self, client: Any, *, min_confidence: float = 50.0) -> None:
        self._client = client
        self._min_confidence = min_confidence

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Return the faces that DetectFaces finds in an RGB image.

        Raises:
            botocore.exceptions.ClientError: when Rekognition rejects the request or
                throttles it; the caller decides whether to retry.
        """
        payload = encode_for_request(image)
        response = self._client.detect_faces(Image={"Bytes": payload}, Attributes=["DEFAULT"])
        faces: list[DetectedFace] = []
        skipped = 0
        for detail in response.get("FaceDetails", []):
            if float(detail.get("Confidence", 0.0)) < self._min_confidence:
                continue
            face = _to_detected_face(detail, image.size)
            if face is None:
                skipped += 1
                continue
            faces.append(face)
        if skipped:
            logger.warning("ignored faces without both eye landmarks", extra={"count": skipped})
        return faces


def encode_for_request(image: Image.Image, *, max_bytes: int = MAX_REQUEST_BYTES) -> bytes:
    """Encode an image as JPEG that fits DetectFaces' size limit, downscaling while it does not."""
    rgb = image.convert("RGB")
    while True:
        buffer = io.BytesIO()
        rgb.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        payload = buffer.getvalue()
        if len(payload) <= max_bytes or min(rgb.size) <= 64:
            return payload
        # Landmarks come back as ratios of the image size, so a smaller copy maps back exactly.
        width, height = rgb.size
        rgb = rgb.resize((max(1, width * 3 // 4), max(1, height * 3 // 4)), Image.Resampling.BICUBIC)


def _to_detected_face(detail: dict[str, Any], image_size: tuple[int, int]) -> DetectedFace | None:
    """Map one FaceDetail to pixels of an image of `image_size`; None when an eye is missing."""
    width, height = image_size
    box = detail.get("BoundingBox", {})
    left = float(box.get("Left", 0.0)) * width
    top = float(box.get("Top", 0.0)) * height
    right = left + float(box.get("Width", 0.0)) * width
    bottom = top + float(box.get("Height", 0.0)) * height

    points: dict[str, Point] = {}
    for landmark in detail.get("Landmarks", []):
        field = _LANDMARK_FIELDS.get(landmark.get("Type", ""))
        if field is not None:
            points[field] = (float(landmark["X"]) * width, float(landmark["Y"]) * height)
    if "left_eye" not in points or "right_eye" not in points:
        return None

    return DetectedFace(
        box=(left, top, right, bottom),
        score=float(detail.get("Confidence", 0.0)) / 100.0,
        left_eye=points["left_eye"],
        right_eye=points["right_eye"],
        nose=points.get("nose"),
        mouth_left=points.get("mouth_left"),
        mouth_right=points.get("mouth_right"),
    )
