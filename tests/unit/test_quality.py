"""Tests for functions.core.faces.quality: head pose, exposure and sharpness checks in prepare_face."""

from __future__ import annotations

import math

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageFilter

from functions.core.faces import (
    DetectedFace,
    Exposure,
    FaceRules,
    RetinaFaceDetector,
    align_face,
    check_exposure,
    check_pose,
    check_sharpness,
    eye_span,
    measure_exposure,
    prepare_face,
    sharpness,
    yaw_offset,
)
from functions.core.faces.quality import face_region
from functions.core.images import ImageRejected
from functions.core.reasons import EXPLANATIONS, Reason
from tests.unit import imagegen

pytest.importorskip("retinaface", reason="the built-in detector needs the `detect` extra")

MAX_PIXELS = 50_000_000
RULES = FaceRules()
QUALITY_REASONS = [Reason.FACE_TURNED, Reason.TOO_DARK, Reason.BACKLIT, Reason.TOO_BRIGHT, Reason.TOO_BLURRY]


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector()


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    return imagegen.astronaut()


def prepare(image: Image.Image, detector: RetinaFaceDetector, rules: FaceRules = RULES, image_format: str = "JPEG"):
    params = {"quality": 90} if image_format == "JPEG" else {}
    data = imagegen.encode(image, image_format, **params)
    return prepare_face(data, detector=detector, rules=rules, max_pixels=MAX_PIXELS)


def rejection_reason(image: Image.Image, detector: RetinaFaceDetector, rules: FaceRules = RULES) -> Reason:
    with pytest.raises(ImageRejected) as caught:
        prepare(image, detector, rules)
    return caught.value.reason


def landmarks(*, nose_shift: float = 0.0, angle: float = 0.0, box_width: float = 100.0) -> DetectedFace:
    """Build a face with eyes 40 px apart, the nose `nose_shift` eye distances to the side, rolled by `angle` degrees."""
    center = complex(300, 200)
    turn = complex(math.cos(math.radians(angle)), math.sin(math.radians(angle)))

    def point(x: float, y: float) -> tuple[float, float]:
        moved = center + turn * complex(x, y)
        return (moved.real, moved.imag)

    return DetectedFace(
        box=(300 - box_width / 2, 150, 300 + box_width / 2, 280),
        score=0.99,
        left_eye=point(-20, 0),
        right_eye=point(20, 0),
        nose=point(40 * nose_shift, 25),
        mouth_left=point(-17, 45),
        mouth_right=point(17, 45),
    )


def exposure(
    face_luma: float = 150.0, *, clipped: float = 0.0, surround: float = 120.0, highlight: float = 240.0
) -> Exposure:
    return Exposure(face_luma=face_luma, clipped_fraction=clipped, surround_luma=surround, photo_highlight=highlight)


def exposure_reason(measured: Exposure, rules: FaceRules = RULES) -> Reason | None:
    try:
        check_exposure(measured, rules)
    except ImageRejected as rejected:
        return rejected.reason
    return None


# --- reasons ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", QUALITY_REASONS, ids=str)
def test_quality_reason_explained(reason: Reason) -> None:
    explanation = EXPLANATIONS[reason]
    assert explanation.what.endswith(".")
    assert explanation.advice.startswith("Please ")


# --- pose from landmarks ------------------------------------------------------------------------


def test_yaw_offset_frontal() -> None:
    assert yaw_offset(landmarks()) == pytest.approx(0.0)


def test_yaw_offset_turned() -> None:
    assert yaw_offset(landmarks(nose_shift=0.5)) == pytest.approx(0.5)
    assert yaw_offset(landmarks(nose_shift=-0.5)) == pytest.approx(0.5)


def test_yaw_offset_ignores_roll() -> None:
    assert yaw_offset(landmarks(nose_shift=0.3, angle=35)) == pytest.approx(0.3)


def test_yaw_offset_without_nose() -> None:
    face = DetectedFace(box=(0, 0, 100, 100), score=0.99, left_eye=(30, 40), right_eye=(70, 40))
    assert yaw_offset(face) is None


def test_eye_span_ratio() -> None:
    assert eye_span(landmarks(box_width=100)) == pytest.approx(0.4)
    assert eye_span(landmarks(box_width=200)) == pytest.approx(0.2)


def test_check_pose_accepts_limit() -> None:
    check_pose(landmarks(nose_shift=RULES.max_yaw_offset), RULES)


def test_check_pose_rejects_nose_offset() -> None:
    with pytest.raises(ImageRejected) as caught:
        check_pose(landmarks(nose_shift=RULES.max_yaw_offset + 0.05), RULES)
    assert caught.value.reason is Reason.FACE_TURNED
    assert "eye distances" in caught.value.detail


def test_check_pose_rejects_narrow_eyes() -> None:
    with pytest.raises(ImageRejected) as caught:
        check_pose(landmarks(box_width=200), RULES)
    assert caught.value.reason is Reason.FACE_TURNED
    assert "face box width" in caught.value.detail


def test_check_pose_settings() -> None:
    turned = landmarks(nose_shift=0.6, box_width=200)
    check_pose(turned, FaceRules(max_yaw_offset=math.inf, min_eye_span=0.0))
    with pytest.raises(ImageRejected):
        check_pose(landmarks(nose_shift=0.2), FaceRules(max_yaw_offset=0.1))


# --- exposure and sharpness on constructed values ----------------------------------------------------


def test_check_exposure_good() -> None:
    assert exposure_reason(exposure()) is None


def test_check_exposure_dark_photo() -> None:
    assert exposure_reason(exposure(40, surround=30, highlight=60)) is Reason.TOO_DARK


def test_check_exposure_dark_face_bright_photo() -> None:
    # A very dark face in a photo whose highlights are bright: a skin tone, not underexposure.
    assert exposure_reason(exposure(30, surround=90, highlight=230)) is None


def test_check_exposure_backlit() -> None:
    assert exposure_reason(exposure(15, surround=180, highlight=250)) is Reason.BACKLIT


def test_check_exposure_backlit_needs_contrast() -> None:
    assert exposure_reason(exposure(15, surround=50, highlight=250)) is None


def test_check_exposure_clipped() -> None:
    assert exposure_reason(exposure(245, clipped=0.5, highlight=255)) is Reason.TOO_BRIGHT


def test_check_exposure_settings() -> None:
    relaxed = FaceRules(dark_face_luma=0, backlit_face_luma=0, max_clipped_fraction=1.0)
    assert exposure_reason(exposure(40, surround=30, highlight=60), relaxed) is None
    assert exposure_reason(exposure(15, surround=180, highlight=250), relaxed) is None
    assert exposure_reason(exposure(245, clipped=0.9, highlight=255), relaxed) is None


def test_face_region_in_crop() -> None:
    left, top, right, bottom = face_region(256)
    assert (left, top, right, bottom) == (67, 61, 189, 205)


def test_sharpness_photo_and_blur() -> None:
    photo = imagegen.coffee().resize((256, 256))
    assert sharpness(photo) > 1.0
    assert sharpness(imagegen.blurred(photo, 6)) < 0.05


def test_sharpness_ignores_rounding() -> None:
    # Blurred noise is nearly flat: its Laplacian is mostly rounding to whole levels.
    nearly_flat = imagegen.blurred(imagegen.noise((256, 256), seed=3), 12)
    assert sharpness(nearly_flat) < RULES.min_sharpness


def test_sharpness_uniform() -> None:
    assert sharpness(Image.new("RGB", (256, 256), (120, 100, 90))) == 0.0


def test_check_sharpness_settings() -> None:
    flat = Image.new("RGB", (256, 256), (120, 100, 90))
    check_sharpness(flat, FaceRules(min_sharpness=0.0))
    with pytest.raises(ImageRejected) as caught:
        check_sharpness(flat, RULES)
    assert caught.value.reason is Reason.TOO_BLURRY


# --- prepare_face: photos that must pass -----------------------------------------------------------

# Variants of the astronaut portrait that FaceRules' calibration notes cite as accepted.
ACCEPTED: dict[str, Callable[[Image.Image], Image.Image]] = {
    "brightness_0.33": lambda photo: imagegen.brightened(photo, 0.33),
    "brightness_0.75": lambda photo: imagegen.brightened(photo, 0.75),
    "brightness_0.9": lambda photo: imagegen.brightened(photo, 0.9),
    "brightness_1.15": lambda photo: imagegen.brightened(photo, 1.15),
    "brightness_1.3": lambda photo: imagegen.brightened(photo, 1.3),
    "mirrored": lambda photo: photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "median_filter_5": lambda photo: photo.filter(ImageFilter.MedianFilter(5)),
    "motion_blur_15": lambda photo: imagegen.motion_blurred(photo, 15),
    "gaussian_blur_1.5": lambda photo: imagegen.blurred(photo, 1.5),
    "darker_skin_0.3": lambda photo: imagegen.darker_skin(photo, 0.3),
    "darker_skin_dim": lambda photo: imagegen.brightened(imagegen.darker_skin(photo, 0.15), 0.5),
    "darker_skin_wall": lambda photo: imagegen.backlit(
        imagegen.darker_skin(photo, 0.15), 1.0, surround=Image.new("RGB", photo.size, (235, 235, 235))
    ),
    "backlit_0.15": lambda photo: imagegen.backlit(photo, 0.15),
    "backlit_0.3": lambda photo: imagegen.backlit(photo, 0.3),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_prepare_variant_accepted(detector: RetinaFaceDetector, portrait: Image.Image, name: str) -> None:
    prepared = prepare(ACCEPTED[name](portrait), detector)
    assert prepared.image.size == (256, 256)


@pytest.mark.parametrize("quality", [30, 15])
def test_prepare_jpeg_quality(detector: RetinaFaceDetector, portrait: Image.Image, quality: int) -> None:
    data = imagegen.encode(portrait, "JPEG", quality=quality)
    prepared = prepare_face(data, detector=detector, rules=RULES, max_pixels=MAX_PIXELS)
    assert sharpness(prepared.image) > 3 * RULES.min_sharpness


def test_prepare_downscaled(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    # 0.6 puts the face box at about 72 px, just above FaceRules.min_face_pixels.
    small = portrait.resize((307, 307), Image.Resampling.LANCZOS)
    prepared = prepare(small, detector)
    assert sharpness(prepared.image) > 3 * RULES.min_sharpness


def test_prepare_sharp_margin(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    prepared = prepare(portrait, detector, image_format="PNG")
    offset = yaw_offset(prepared.face)
    measured = measure_exposure(portrait, prepared.face, prepared.image)

    assert offset is not None
    assert offset < 0.25 * RULES.max_yaw_offset
    assert eye_span(prepared.face) > 1.5 * RULES.min_eye_span
    assert sharpness(prepared.image) > 5 * RULES.min_sharpness
    assert measured.face_luma > 2 * RULES.dark_face_luma
    assert measured.clipped_fraction < 0.1 * RULES.max_clipped_fraction


@pytest.mark.parametrize("angle", [-25, 20])
def test_prepare_rolled_accepted(detector: RetinaFaceDetector, portrait: Image.Image, angle: float) -> None:
    tilted = portrait.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    prepared = prepare(tilted, detector)
    offset = yaw_offset(prepared.face)

    assert offset is not None
    assert offset < 0.25 * RULES.max_yaw_offset


@pytest.mark.parametrize("factor", [0.2, 0.15])
def test_prepare_darker_skin(detector: RetinaFaceDetector, portrait: Image.Image, factor: float) -> None:
    scene = imagegen.darker_skin(portrait, factor)
    prepared = prepare(scene, detector)
    measured = measure_exposure(scene, prepared.face, prepared.image)
    # The face must be darker than the too-dark limit, or this test would prove nothing.
    assert measured.face_luma < RULES.dark_face_luma


# --- prepare_face: photos that must be rejected ---------------------------------------------------------

# Variants of the astronaut portrait that FaceRules' calibration notes cite as rejected.
REJECTED: dict[str, tuple[Callable[[Image.Image], Image.Image], Reason]] = {
    "brightness_0.25": (lambda photo: imagegen.brightened(photo, 0.25), Reason.TOO_DARK),
    "brightness_0.2": (lambda photo: imagegen.brightened(photo, 0.2), Reason.TOO_DARK),
    "brightness_1.4": (lambda photo: imagegen.brightened(photo, 1.4), Reason.TOO_BRIGHT),
    "brightness_1.5": (lambda photo: imagegen.brightened(photo, 1.5), Reason.TOO_BRIGHT),
    "brightness_2.0": (lambda photo: imagegen.brightened(photo, 2.0), Reason.TOO_BRIGHT),
    "backlit_0.1": (lambda photo: imagegen.backlit(photo, 0.1), Reason.BACKLIT),
    "gaussian_blur_2.5": (lambda photo: imagegen.blurred(photo, 2.5), Reason.TOO_BLURRY),
    "gaussian_blur_4": (lambda photo: imagegen.blurred(photo, 4), Reason.TOO_BLURRY),
    "gaussian_blur_6": (lambda photo: imagegen.blurred(photo, 6), Reason.TOO_BLURRY),
    "gaussian_blur_2.5_noise": (lambda photo: imagegen.with_noise(imagegen.blurred(photo, 2.5), 4), Reason.TOO_BLURRY),
    "gaussian_blur_4_noise": (lambda photo: imagegen.with_noise(imagegen.blurred(photo, 4), 4), Reason.TOO_BLURRY),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_prepare_variant_rejected(detector: RetinaFaceDetector, portrait: Image.Image, name: str) -> None:
    make, reason = REJECTED[name]
    assert rejection_reason(make(portrait), detector) is reason


def test_prepare_profile_turned(detector: RetinaFaceDetector) -> None:
    # Without the pose check this near-profile face is accepted and cropped to a nose.
    assert rejection_reason(imagegen.camera(), detector) is Reason.FACE_TURNED


def test_prepare_blur_setting(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    prepared = prepare(imagegen.blurred(portrait, 4), detector, FaceRules(min_sharpness=0.0))
    assert prepared.image.size == (256, 256)


def test_measure_exposure_surround(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    scene = imagegen.backlit(portrait, 0.1)
    found = max(detector.detect(scene), key=lambda face: face.score)
    measured = measure_exposure(scene, found, align_face(scene, found))

    assert measured.face_luma < RULES.backlit_face_luma
    assert measured.surround_luma > RULES.backlit_contrast * measured.face_luma
    assert measured.photo_highlight > RULES.dark_photo_highlight


def test_measure_exposure_large_photo(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    # The surroundings are measured on a reduced copy, so the face box must shrink with it.
    large = imagegen.place(portrait, (2000, 1500), (700, 400), scale=2.0, background=(250, 250, 250))
    found = max(detector.detect(large), key=lambda face: face.score)
    measured = measure_exposure(large, found, align_face(large, found))
    assert measured.surround_luma == pytest.approx(250, abs=2)
    assert np.isclose(measured.face_luma, 188, atol=8)
