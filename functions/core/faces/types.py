"""Detected faces and the interface that every face detector implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from PIL import Image

Point = tuple[float, float]


@dataclass(frozen=True)
class DetectedFace:
    """One face found in an image, in pixel coordinates of that image.

    `left_eye` and `right_eye` are named from the viewer's side: in an upright face,
    left_eye.x < right_eye.x, so left_eye is the person's right eye. The same holds for
    the mouth corners. `box` is (x0, y0, x1, y1) and may extend past the image border
    when the detector reports it that way. `score` is the detector's confidence in [0, 1].
    """

    box: tuple[float, float, float, float]
    score: float
    left_eye: Point
    right_eye: Point
    nose: Point | None = None
    mouth_left: Point | None = None
    mouth_right: Point | None = None

    @property
    def width(self) -> float:
        """Width of the box in pixels."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        """Height of the box in pixels."""
        return self.box[3] - self.box[1]


class FaceDetector(Protocol):
    """Anything that finds faces in an RGB image."""

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Return every face found in `image`, in its pixel coordinates, in no particular order."""
        ...
