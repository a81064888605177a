"""From uploaded bytes to the aligned 256x256 face that the generator takes."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from functions.core.faces.align import align_face
from functions.core.faces.quality import check_exposure, check_pose, check_sharpness, measure_exposure
from functions.core.faces.rules import FaceRules, select_face
from functions.core.faces.types import DetectedFace, FaceDetector
from functions.core.images import load_photo, sniff_format
from functions.core.keys import FACE_SIZE

# Photos with a shorter side are rejected as IMAGE_TOO_SMALL; the reason's text promises
# people a limit of 256 px, and smaller photos cannot fill the crop without upscaling.
MIN_PHOTO_SIDE = 256


@dataclass(frozen=True)
class PreparedFace:
    """An accepted photo's aligned face and what was found on the way.

    image: the aligned FACE_SIZE x FACE_SIZE RGB crop.
    face: the selected face, in pixels of the decoded photo.
    source_size: (width, height) of the decoded photo that `face` refers to: after the
        EXIF orientation and after any downscale to images.WORKING_LONG_SIDE.
    detected_format: the format read from the file's magic bytes ("jpeg", "heif", ...).
    """

    image: Image.Image
    face: DetectedFace
    source_size: tuple[int, int]
    detected_format: str


def prepare_face(
    data: bytes,
    *,
    detector: FaceDetector,
    rules: FaceRules,
    max_pixels: int,
    min_side: int = MIN_PHOTO_SIDE,
) -> PreparedFace:
    """Decode a photo, find its one usable face and align it to the training framing.

    Raises:
        ImageRejected: any reason from images.load_photo (the photo), then
            rules.select_face (its faces), then from functions.core.faces.quality:
            check_pose (FACE_TURNED), check_exposure (TOO_DARK, BACKLIT, TOO_BRIGHT)
            and check_sharpness (TOO_BLURRY).
        Exception: whatever the detector raises (for Rekognition, botocore's ClientError),
            which is a failure on our side rather than a problem with the photo.
    """
    photo = load_photo(data, max_pixels=max_pixels, min_side=min_side)
    faces = detector.detect(photo)
    face = select_face(faces, photo.size, rules)
    check_pose(face, rules)
    aligned = align_face(photo, face, size=FACE_SIZE)
    check_exposure(measure_exposure(photo, face, aligned), rules)
    check_sharpness(aligned, rules)
    detected_format = sniff_format(data) or "unknown"
    return PreparedFace(image=aligned, face=face, source_size=photo.size, detected_format=detected_format)
