"""Tests for functions.core.faces: the built-in detector, the face rules, alignment and prepare_face."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from functions.core.faces import (
    EYE_DISTANCE,
    EYE_LINE_Y,
    DetectedFace,
    FaceRules,
    RekognitionDetector,
    RetinaFaceDetector,
    align_face,
    detector_from_name,
    fraction_outside,
    prepare_face,
    select_face,
)
from functions.core.images import ImageRejected
from functions.core.reasons import Reason
from tests.unit import imagegen

pytest.importorskip("retinaface", reason="the built-in detector needs the `detect` extra")

MAX_PIXELS = 50_000_000
RULES = FaceRules()
REPO_ROOT = Path(__file__).resolve().parents[2]

# Where align_face puts the eyes in a 256 px crop.
EYE_TARGET = (128.0, EYE_LINE_Y * 256)
EYE_GAP = EYE_DISTANCE * 256


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector()


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    return imagegen.astronaut()


def only_face(detector: RetinaFaceDetector, image: Image.Image) -> DetectedFace:
    """Detect faces and return the single confident one."""
    faces = [face for face in detector.detect(image) if face.score >= RULES.min_score]
    assert len(faces) == 1, f"expected one face, found {len(faces)}"
    return faces[0]


def rejection_reason(data: bytes, detector: RetinaFaceDetector, rules: FaceRules = RULES) -> Reason:
    with pytest.raises(ImageRejected) as caught:
        prepare_face(data, detector=detector, rules=rules, max_pixels=MAX_PIXELS)
    return caught.value.reason


def face(
    box: tuple[float, float, float, float],
    *,
    score: float = 0.99,
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> DetectedFace:
    """Build a DetectedFace with eyes placed like the astronaut's inside `box`."""
    x0, y0, x1, y1 = box
    if eyes is None:
        width, height = x1 - x0, y1 - y0
        eyes = ((x0 + 0.28 * width, y0 + 0.37 * height), (x0 + 0.73 * width, y0 + 0.37 * height))
    return DetectedFace(box=box, score=score, left_eye=eyes[0], right_eye=eyes[1])


# --- RetinaFaceDetector ------------------------------------------------------------------


def test_retinaface_astronaut(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    found = only_face(detector, portrait)
    x0, y0, x1, y1 = found.box

    # The face is at about (177, 56)-(272, 176) in skimage's image.
    assert abs(x0 - 177) < 8
    assert abs(x1 - 272) < 8
    assert abs(y0 - 56) < 8
    assert abs(y1 - 176) < 8
    assert found.left_eye[0] < found.right_eye[0]
    for point in (found.left_eye, found.right_eye, found.nose, found.mouth_left, found.mouth_right):
        assert point is not None
        assert x0 <= point[0] <= x1
        assert y0 <= point[1] <= y1
    assert found.mouth_left is not None and found.mouth_right is not None
    assert found.mouth_left[0] < found.mouth_right[0]


def test_retinaface_maps_to_full_size(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    small = only_face(detector, portrait)
    # 2048 px is above the detector's 1024 px input, so it runs on a half-size copy.
    large = only_face(detector, portrait.resize((2048, 2048), Image.Resampling.BICUBIC))

    for small_value, large_value in zip(small.box, large.box, strict=True):
        assert abs(large_value - 4 * small_value) < 16
    assert abs(large.left_eye[0] - 4 * small.left_eye[0]) < 12
    assert abs(large.right_eye[1] - 4 * small.right_eye[1]) < 12


def test_retinaface_non_square_scaling(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    canvas = imagegen.place(portrait, (3000, 1500), (1200, 400), scale=2.0)
    found = only_face(detector, canvas)

    # Expected box: 1200 + 2 * (177, 272) horizontally, 400 + 2 * (56, 176) vertically.
    assert abs(found.box[0] - 1554) < 20
    assert abs(found.box[2] - 1744) < 20
    assert abs(found.box[1] - 512) < 20
    assert abs(found.box[3] - 752) < 20


@pytest.mark.parametrize("name", ["cat", "coffee", "rocket"])
def test_retinaface_no_human_face(detector: RetinaFaceDetector, name: str) -> None:
    image = getattr(imagegen, name)()
    assert [f for f in detector.detect(image) if f.score >= RULES.min_score] == []


def test_retinaface_extreme_aspect(detector: RetinaFaceDetector) -> None:
    assert detector.detect(imagegen.noise((4000, 100))) == []


def test_faces_import_without_retinaface() -> None:
    script = (
        "import sys; sys.modules['retinaface'] = None\n"
        "import functions.core.faces as faces\n"
        "try:\n"
        "    faces.RetinaFaceDetector()\n"
        "except ImportError:\n"
        "    print('import error raised')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "import error raised" in result.stdout


# --- detector_from_name ------------------------------------------------------------------


def test_detector_from_name_builtin() -> None:
    assert isinstance(detector_from_name("builtin"), RetinaFaceDetector)


def test_detector_from_name_rekognition() -> None:
    client = object()
    assert isinstance(detector_from_name("rekognition", rekognition_client=client), RekognitionDetector)


def test_detector_from_name_rekognition_no_client() -> None:
    with pytest.raises(ValueError, match="rekognition_client"):
        detector_from_name("rekognition")


def test_detector_from_name_unknown() -> None:
    with pytest.raises(ValueError, match="builtin, rekognition") as caught:
        detector_from_name("dlib")
    assert "S2A_FACE_DETECTOR" in str(caught.value)


# --- select_face: rules on constructed detections ---------------------------------------------


def test_select_face_none() -> None:
    with pytest.raises(ImageRejected) as caught:
        select_face([], (800, 600), RULES)
    assert caught.value.reason is Reason.NO_FACE


def test_select_face_low_score() -> None:
    with pytest.raises(ImageRejected) as caught:
        select_face([face((300, 150, 500, 400), score=0.6)], (800, 600), RULES)
    assert caught.value.reason is Reason.NO_FACE
    assert "0.60" in caught.value.detail


def test_select_face_single() -> None:
    subject = face((300, 150, 500, 400))
    assert select_face([subject], (800, 600), RULES) is subject


def test_select_face_rival_same_size() -> None:
    faces = [face((50, 150, 250, 400)), face((500, 150, 700, 400))]
    with pytest.raises(ImageRejected) as caught:
        select_face(faces, (800, 600), RULES)
    assert caught.value.reason is Reason.MULTIPLE_FACES


def test_select_face_rival_at_ratio() -> None:
    # Heights 200 and 100: exactly half counts as a second person.
    faces = [face((500, 300, 600, 400)), face((100, 150, 300, 350))]
    with pytest.raises(ImageRejected) as caught:
        select_face(faces, (800, 600), RULES)
    assert caught.value.reason is Reason.MULTIPLE_FACES


def test_select_face_dominant() -> None:
    subject = face((100, 150, 300, 350))
    background = face((600, 300, 690, 399))
    assert select_face([background, subject], (800, 600), RULES) is subject


def test_select_face_ignores_weak_rival() -> None:
    subject = face((100, 150, 300, 350))
    weak = face((500, 150, 700, 350), score=0.5)
    assert select_face([weak, subject], (800, 600), RULES) is subject


def test_select_face_too_small_fraction() -> None:
    # 80 px tall in a 600 px short side: 13 %, below 15 %.
    with pytest.raises(ImageRejected) as caught:
        select_face([face((360, 260, 440, 340))], (800, 600), RULES)
    assert caught.value.reason is Reason.FACE_TOO_SMALL


def test_select_face_fraction_boundary() -> None:
    subject = face((360, 255, 450, 345))
    assert select_face([subject], (800, 600), RULES) is subject


def test_select_face_too_small_pixels() -> None:
    # 50 px is 19 % of a 260 px photo but too few pixels for a 256 px crop.
    with pytest.raises(ImageRejected) as caught:
        select_face([face((100, 100, 150, 150))], (260, 260), RULES)
    assert caught.value.reason is Reason.FACE_TOO_SMALL


def test_select_face_cut_left() -> None:
    # The box stops at the border, but the eyes show that the face continues past it.
    cut = face((0, 150, 80, 400), eyes=((10, 250), (100, 250)))
    with pytest.raises(ImageRejected) as caught:
        select_face([cut], (800, 600), RULES)
    assert caught.value.reason is Reason.FACE_CUT_OFF


def test_select_face_edge_margin_setting() -> None:
    near_edge = face((0, 150, 200, 400), eyes=((40, 250), (130, 250)))
    outside = fraction_outside(near_edge, (800, 600))

    assert 0.0 < outside < 0.2
    assert select_face([near_edge], (800, 600), FaceRules(edge_margin=0.2)) is near_edge
    with pytest.raises(ImageRejected) as caught:
        select_face([near_edge], (800, 600), FaceRules(edge_margin=outside / 2))
    assert caught.value.reason is Reason.FACE_CUT_OFF


def test_fraction_outside_inside() -> None:
    assert fraction_outside(face((300, 150, 500, 400)), (800, 600)) == 0.0


def test_fraction_outside_rotated() -> None:
    # Eyes on a vertical line (a face lying on its side), chin towards the left border.
    sideways = face((0, 200, 150, 400), eyes=((60, 260), (60, 340)))
    upright = face((0, 200, 150, 400), eyes=((60, 260), (140, 260)))

    assert fraction_outside(sideways, (800, 600)) > 0.3
    assert fraction_outside(upright, (800, 600)) < fraction_outside(sideways, (800, 600))


# --- select_face through the detector -------------------------------------------------------


def test_rules_two_astronauts(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    pair = imagegen.place(portrait, (1024, 512), (0, 0))
    pair.paste(portrait, (512, 0))
    assert rejection_reason(imagegen.encode(pair, "JPEG"), detector) is Reason.MULTIPLE_FACES


def test_rules_small_background_face(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    scene = portrait.copy()
    scene.paste(portrait.resize((180, 180)), (332, 332))
    faces = detector.detect(scene)

    prepared = prepare_face(imagegen.encode(scene, "PNG"), detector=detector, rules=RULES, max_pixels=MAX_PIXELS)

    assert len([f for f in faces if f.score >= RULES.min_score]) == 2
    assert abs(prepared.face.box[0] - 177) < 8


def test_rules_face_too_small(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    # Face box about 240 px in a 2400 px short side: 10 %.
    scene = imagegen.place(portrait, (3000, 2400), (1000, 800), scale=2.0)
    assert rejection_reason(imagegen.encode(scene, "JPEG", quality=90), detector) is Reason.FACE_TOO_SMALL


@pytest.mark.parametrize("offset", [(-200, 0), (0, -80)], ids=["left", "top"])
def test_rules_face_cut_off(detector: RetinaFaceDetector, portrait: Image.Image, offset: tuple[int, int]) -> None:
    scene = imagegen.place(portrait, (512, 512), offset)
    assert rejection_reason(imagegen.encode(scene, "PNG"), detector) is Reason.FACE_CUT_OFF


@pytest.mark.parametrize("name", ["cat", "coffee", "rocket"])
def test_rules_no_face(detector: RetinaFaceDetector, name: str) -> None:
    image = getattr(imagegen, name)()
    if min(image.size) < 256:
        image = image.resize((image.width * 2, image.height * 2))
    assert rejection_reason(imagegen.encode(image, "JPEG"), detector) is Reason.NO_FACE


# --- align_face ----------------------------------------------------------------------------------


def eye_geometry(found: DetectedFace) -> tuple[float, float, float, float]:
    """Return the eye midpoint, the vertical offset between the eyes and their distance."""
    mid_x = (found.left_eye[0] + found.right_eye[0]) / 2
    mid_y = (found.left_eye[1] + found.right_eye[1]) / 2
    dy = found.right_eye[1] - found.left_eye[1]
    distance = math.hypot(found.right_eye[0] - found.left_eye[0], dy)
    return mid_x, mid_y, dy, distance


def assert_aligned(detector: RetinaFaceDetector, crop: Image.Image) -> None:
    """Re-detect the face in an aligned crop and check the eyes' position."""
    assert crop.size == (256, 256)
    assert crop.mode == "RGB"
    mid_x, mid_y, dy, distance = eye_geometry(only_face(detector, crop))
    # RetinaFace's landmarks are whole pixels and move by a pixel or two between crops of
    # the same face. The crop is about twice the source scale, so allow a few pixels.
    assert abs(dy) <= 4
    assert abs(mid_x - EYE_TARGET[0]) <= 8
    assert abs(mid_y - EYE_TARGET[1]) <= 8
    assert abs(distance - EYE_GAP) <= 0.1 * EYE_GAP


def test_align_face_astronaut(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    crop = align_face(portrait, only_face(detector, portrait))
    assert_aligned(detector, crop)


@pytest.mark.parametrize("angle", [-30, 20])
def test_align_face_rotated(detector: RetinaFaceDetector, portrait: Image.Image, angle: float) -> None:
    tilted = portrait.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    found = only_face(detector, tilted)
    _, _, dy, distance = eye_geometry(found)
    assert abs(dy) > 0.2 * distance

    assert_aligned(detector, align_face(tilted, found))


def test_align_face_large_source(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    # The face is about twice its size in the crop, so align_face reduces the source first.
    large = portrait.resize((2048, 2048), Image.Resampling.BICUBIC)
    assert_aligned(detector, align_face(large, only_face(detector, large)))


def test_align_face_geometry() -> None:
    # Two dots stand for eyes on a tilted line; the crop must put them at the target points.
    image = Image.new("RGB", (600, 500), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    left, right = (220.0, 260.0), (340.0, 200.0)
    for x, y in (left, right):
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=(255, 255, 255))

    crop = np.asarray(align_face(image, DetectedFace(box=(150, 120, 420, 420), score=1.0, left_eye=left, right_eye=right)))
    bright = crop[..., 0] > 128
    ys, xs = np.nonzero(bright)
    left_half = xs < 128

    assert abs(xs[left_half].mean() + 0.5 - (128 - EYE_GAP / 2)) < 1.0
    assert abs(xs[~left_half].mean() + 0.5 - (128 + EYE_GAP / 2)) < 1.0
    assert abs(ys[left_half].mean() + 0.5 - EYE_TARGET[1]) < 1.0
    assert abs(ys[~left_half].mean() + 0.5 - EYE_TARGET[1]) < 1.0


def test_align_face_edge_replication() -> None:
    # A face in the corner: most of the crop lies outside the photo and must repeat its edge.
    image = Image.new("RGB", (400, 300), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, 400, 2))
    corner = DetectedFace(box=(0, 0, 60, 70), score=1.0, left_eye=(8.0, 10.0), right_eye=(40.0, 10.0))

    crop = np.asarray(align_face(image, corner)).reshape(-1, 3)

    black = np.all(crop < 20, axis=1)
    assert not black.any()
    # Rows above the photo repeat its blue top rows.
    assert (crop[:, 2] > 150).mean() > 0.2


def test_align_face_matches_padded_reference() -> None:
    # Reference: pad the whole photo by repeating its edges and apply the similarity
    # transform in one Pillow call. The transform is written here with complex numbers.
    photo = imagegen.noise((300, 200), seed=4)
    left, right = complex(30, 150), complex(75, 170)
    found = DetectedFace(box=(0, 110, 110, 240), score=1.0, left_eye=(30.0, 150.0), right_eye=(75.0, 170.0))
    pad = 400
    padded = Image.fromarray(np.pad(np.asarray(photo), ((pad, pad), (pad, pad), (0, 0)), mode="edge"))
    scale = (right - left) / (EYE_DISTANCE * 256)
    origin = (left + right) / 2 - scale * complex(*EYE_TARGET) + complex(pad, pad)
    coefficients = (scale.real, -scale.imag, origin.real, scale.imag, scale.real, origin.imag)
    reference = padded.transform((256, 256), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BICUBIC)

    crop = align_face(photo, found)

    assert imagegen.mean_difference(crop, reference) < 0.5


def test_align_face_custom_size(portrait: Image.Image) -> None:
    found = DetectedFace(box=(177, 56, 272, 176), score=1.0, left_eye=(204, 100), right_eye=(247, 103))
    assert align_face(portrait, found, size=128).size == (128, 128)


def test_align_face_same_eyes(portrait: Image.Image) -> None:
    broken = DetectedFace(box=(177, 56, 272, 176), score=1.0, left_eye=(204, 100), right_eye=(204, 100))
    with pytest.raises(ValueError, match="eye"):
        align_face(portrait, broken)


# --- prepare_face -----------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_prepare_face_exif_orientation(detector: RetinaFaceDetector, portrait: Image.Image, orientation: int) -> None:
    upright = imagegen.place(portrait, (640, 480), (64, -16))
    data = imagegen.jpeg_with_orientation(upright, orientation)

    prepared = prepare_face(data, detector=detector, rules=RULES, max_pixels=MAX_PIXELS)

    assert prepared.source_size == (640, 480)
    _, _, dy, distance = eye_geometry(prepared.face)
    assert prepared.face.left_eye[0] < prepared.face.right_eye[0]
    assert abs(dy) < 0.15 * distance
    assert_aligned(detector, prepared.image)


def test_prepare_face_12mp(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    canvas = imagegen.place(portrait, (4032, 3024), (600, 100), scale=5.5)
    data = imagegen.encode(canvas, "JPEG", quality=92)

    prepared = prepare_face(data, detector=detector, rules=RULES, max_pixels=MAX_PIXELS)

    assert prepared.source_size == (2016, 1512)
    assert prepared.detected_format == "jpeg"
    # The face box is at 600 + 5.5 * 177 = 1573 px in the original, 787 px at half scale.
    assert abs(prepared.face.box[0] - 787) < 25
    assert_aligned(detector, prepared.image)


def test_prepare_face_heic_as_jpg(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    data = imagegen.encode(portrait, "HEIF", quality=85)

    prepared = prepare_face(data, detector=detector, rules=RULES, max_pixels=MAX_PIXELS)

    assert prepared.detected_format == "heif"
    assert prepared.image.size == (256, 256)


@pytest.mark.parametrize("image_format", ["GIF", "WEBP"])
def test_prepare_face_animated(detector: RetinaFaceDetector, portrait: Image.Image, image_format: str) -> None:
    data = imagegen.animated([portrait, imagegen.noise(portrait.size, seed=2)], image_format)

    prepared = prepare_face(data, detector=detector, rules=RULES, max_pixels=MAX_PIXELS)

    assert prepared.detected_format == image_format.lower()
    assert abs(prepared.face.box[0] - 177) < 8


def test_prepare_face_photo_too_small(detector: RetinaFaceDetector, portrait: Image.Image) -> None:
    # The reason's text promises people 256 px per side, so 200 px is rejected.
    data = imagegen.encode(portrait.resize((200, 200)), "PNG")
    assert rejection_reason(data, detector) is Reason.IMAGE_TOO_SMALL


def test_prepare_face_extreme_aspect(detector: RetinaFaceDetector) -> None:
    data = imagegen.encode(imagegen.noise((4000, 100)), "PNG")
    assert rejection_reason(data, detector) is Reason.IMAGE_TOO_SMALL


def test_prepare_face_not_an_image(detector: RetinaFaceDetector) -> None:
    assert rejection_reason(b"%PDF-1.4\n%%EOF\n", detector) is Reason.NOT_AN_IMAGE
