"""Reason codes for rejected and failed jobs, with the sentences people read.

Every code that a job can end with is listed here, so the API, the web page and the
emails explain the same outcome with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Reason code of a job that ended without a portrait, or of a problem around it."""

    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_PIXELS = "too_many_pixels"
    IMAGE_TOO_SMALL = "image_too_small"
    CORRUPT_IMAGE = "corrupt_image"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"
    FACE_CUT_OFF = "face_cut_off"
    FACE_TURNED = "face_turned"
    TOO_DARK = "too_dark"
    BACKLIT = "backlit"
    TOO_BRIGHT = "too_bright"
    TOO_BLURRY = "too_blurry"
    UPLOAD_EXPIRED = "upload_expired"
    PROCESSING_FAILED = "processing_failed"


@dataclass(frozen=True)
class Explanation:
    """Explanation for the person: one sentence on what happened and one on what to do."""

    what: str
    advice: str


EXPLANATIONS: dict[Reason, Explanation] = {
    Reason.NOT_AN_IMAGE: Explanation(
        "The file you uploaded is not a photo we can read.",
        "Please upload a JPEG, PNG, WebP, HEIC or GIF photo.",
    ),
    Reason.UNSUPPORTED_FORMAT: Explanation(
        "Your photo is in an image format we do not support.",
        "Please upload a JPEG, PNG, WebP, HEIC or GIF photo.",
    ),
    Reason.EMPTY_FILE: Explanation(
        "The file you uploaded was empty.",
        "Please pick the photo again and upload it once more.",
    ),
    Reason.FILE_TOO_LARGE: Explanation(
        "Your photo is larger than the size limit.",
        "Please upload a smaller photo, for example one saved at a lower resolution.",
    ),
    Reason.TOO_MANY_PIXELS: Explanation(
        "Your photo has more pixels than we can process.",
        "Please upload a photo of at most 50 megapixels.",
    ),
    Reason.IMAGE_TOO_SMALL: Explanation(
        "Your photo is too small to make a portrait from.",
        "Please upload a photo of at least 256 pixels on each side.",
    ),
    Reason.CORRUPT_IMAGE: Explanation(
        "Your photo appears to be damaged or incomplete.",
        "Please upload it again, or export it again from your photo app.",
    ),
    Reason.NO_FACE: Explanation(
        "We could not find a face in your photo.",
        "Please upload a well-lit photo that shows your face from the front.",
    ),
    Reason.MULTIPLE_FACES: Explanation(
        "We found more than one face in your photo.",
        "Please upload a photo that shows only you, or crop it to your face.",
    ),
    Reason.FACE_TOO_SMALL: Explanation(
        "The face in your photo is too small.",
        "Please upload a closer photo in which your face fills more of the frame.",
    ),
    Reason.FACE_CUT_OFF: Explanation(
        "The face in your photo is cut off by the edge of the picture.",
        "Please upload a photo that shows your whole face with some space around it.",
    ),
    Reason.FACE_TURNED: Explanation(
        "The face in your photo is turned too far to the side.",
        "Please upload a photo in which you look straight into the camera.",
    ),
    Reason.TOO_DARK: Explanation(
        "Your photo is too dark to make a portrait from.",
        "Please upload a photo taken in brighter light, for example near a window during the day.",
    ),
    Reason.BACKLIT: Explanation(
        "Your face is in shadow because the light comes from behind you.",
        "Please upload a photo taken facing the light, not with a window or lamp behind you.",
    ),
    Reason.TOO_BRIGHT: Explanation(
        "Much of the face in your photo is washed out to pure white.",
        "Please upload a photo taken in softer light, without the flash or direct sunlight on your face.",
    ),
    Reason.TOO_BLURRY: Explanation(
        "The face in your photo is too blurry.",
        "Please upload a sharp photo: hold the camera still and let it focus on your face.",
    ),
    Reason.UPLOAD_EXPIRED: Explanation(
        "Your photo arrived after the upload link had expired.",
        "Please start again from the upload page.",
    ),
    Reason.PROCESSING_FAILED: Explanation(
        "Something went wrong on our side while we made your portrait.",
        "We are sorry. Please try again later; your photo has not been kept.",
    ),
}


def explain(reason: str | None) -> Explanation:
    """Return the explanation for a reason code; an unknown code reads as a failure on our side."""
    if reason is None or reason not in Reason.__members__.values():
        return EXPLANATIONS[Reason.PROCESSING_FAILED]
    return EXPLANATIONS[Reason(reason)]
