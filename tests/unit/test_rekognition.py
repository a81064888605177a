"""Tests for RekognitionDetector against a real boto3 client with botocore's Stubber.

The Stubber returns its queued response before anything is sent, so no request leaves
the process. The fake credentials only let botocore sign the request that it builds.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from PIL import Image

from functions.core.faces import FaceRules, RekognitionDetector, prepare_face
from functions.core.faces.rekognition import encode_for_request
from functions.core.images import sniff_format
from tests.unit import imagegen


class CapturedBytes:
    """Stands in for Image.Bytes in the Stubber's expected parameters and keeps what was sent."""

    def __init__(self) -> None:
        self.value: bytes | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, bytes | bytearray):
            return False
        self.value = bytes(other)
        return True

    def __hash__(self) -> int:
        return id(self)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    return boto3.client("rekognition", region_name="us-east-1")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def landmark(kind: str, x: float, y: float) -> dict[str, Any]:
    return {"Type": kind, "X": x, "Y": y}


def face_detail(
    *,
    box: tuple[float, float, float, float],
    eyes: tuple[tuple[float, float], tuple[float, float]],
    confidence: float = 99.99,
    extra_landmarks: bool = True,
) -> dict[str, Any]:
    """A FaceDetail as DetectFaces returns it with Attributes=["DEFAULT"], all values as ratios."""
    left, top, width, height = box
    (left_x, left_y), (right_x, right_y) = eyes
    mid_x = (left_x + right_x) / 2
    landmarks = [
        landmark("eyeLeft", left_x, left_y),
        landmark("eyeRight", right_x, right_y),
        landmark("mouthLeft", left_x + 0.01, left_y + 0.35 * height),
        landmark("mouthRight", right_x - 0.01, right_y + 0.35 * height),
        landmark("nose", mid_x, left_y + 0.22 * height),
    ]
    if extra_landmarks:
        landmarks += [
            landmark("leftEyeBrowLeft", left_x - 0.03, left_y - 0.08 * height),
            landmark("rightPupil", right_x, right_y),
            landmark("chinBottom", mid_x, top + height),
            landmark("upperJawlineRight", left + width, top + 0.3 * height),
        ]
    return {
        "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
        "Landmarks": landmarks,
        "Pose": {"Roll": 2.19, "Yaw": 0.34, "Pitch": 11.06},
        "Quality": {"Brightness": 77.83, "Sharpness": 94.08},
        "Confidence": confidence,
    }


def expect_detect_faces(stubber: Stubber, details: list[dict[str, Any]]) -> CapturedBytes:
    captured = CapturedBytes()
    stubber.add_response(
        "detect_faces",
        {"FaceDetails": details},
        expected_params={"Image": {"Bytes": captured}, "Attributes": ["DEFAULT"]},
    )
    return captured


def test_rekognition_pixel_mapping(client: Any, stubber: Stubber) -> None:
    detail = face_detail(box=(0.25, 0.1, 0.3, 0.5), eyes=((0.33, 0.3), (0.47, 0.32)), confidence=99.9)
    expect_detect_faces(stubber, [detail])

    faces = RekognitionDetector(client).detect(Image.new("RGB", (800, 600), (90, 90, 90)))

    assert len(faces) == 1
    found = faces[0]
    assert found.box == pytest.approx((200.0, 60.0, 440.0, 360.0))
    assert found.left_eye == pytest.approx((264.0, 180.0))
    assert found.right_eye == pytest.approx((376.0, 192.0))
    assert found.mouth_left == pytest.approx((272.0, 285.0))
    assert found.mouth_right == pytest.approx((368.0, 297.0))
    assert found.nose == pytest.approx((320.0, 246.0))
    assert found.score == pytest.approx(0.999)


def test_rekognition_box_past_border(client: Any, stubber: Stubber) -> None:
    # Rekognition reports boxes of faces cut by the border with Left < 0.
    detail = face_detail(box=(-0.05, 0.2, 0.3, 0.45), eyes=((0.03, 0.35), (0.16, 0.35)))
    expect_detect_faces(stubber, [detail])

    found = RekognitionDetector(client).detect(Image.new("RGB", (1000, 800)))[0]

    assert found.box[0] == pytest.approx(-50.0)
    assert found.box[2] == pytest.approx(250.0)


def test_rekognition_request_bytes(client: Any, stubber: Stubber) -> None:
    captured = expect_detect_faces(stubber, [])
    photo = imagegen.astronaut().resize((640, 480))

    assert RekognitionDetector(client).detect(photo) == []

    assert captured.value is not None
    assert sniff_format(captured.value) == "jpeg"
    sent = Image.open(io.BytesIO(captured.value))
    assert sent.format == "JPEG"
    assert sent.size == (640, 480)
    assert imagegen.mean_difference(sent, photo) < 4.0


def test_rekognition_min_confidence(client: Any, stubber: Stubber) -> None:
    strong = face_detail(box=(0.1, 0.1, 0.3, 0.4), eyes=((0.17, 0.25), (0.32, 0.25)), confidence=98.0)
    weak = face_detail(box=(0.6, 0.1, 0.2, 0.3), eyes=((0.65, 0.2), (0.75, 0.2)), confidence=40.0)
    expect_detect_faces(stubber, [strong, weak])

    faces = RekognitionDetector(client).detect(Image.new("RGB", (500, 500)))

    assert [round(face.score, 2) for face in faces] == [0.98]


def test_rekognition_missing_eyes(client: Any, stubber: Stubber) -> None:
    complete = face_detail(box=(0.1, 0.1, 0.3, 0.4), eyes=((0.17, 0.25), (0.32, 0.25)))
    partial = face_detail(box=(0.6, 0.1, 0.3, 0.4), eyes=((0.67, 0.25), (0.82, 0.25)), extra_landmarks=False)
    partial["Landmarks"] = [item for item in partial["Landmarks"] if item["Type"] != "eyeRight"]
    expect_detect_faces(stubber, [complete, partial])

    faces = RekognitionDetector(client).detect(Image.new("RGB", (500, 500)))

    assert len(faces) == 1
    assert faces[0].left_eye == pytest.approx((85.0, 125.0))


def test_rekognition_client_error(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "detect_faces", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )

    with pytest.raises(ClientError) as caught:
        RekognitionDetector(client).detect(Image.new("RGB", (300, 300)))
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"


def test_rekognition_prepare_face(client: Any, stubber: Stubber) -> None:
    # A response that places the eyes where they are in skimage's astronaut portrait.
    portrait = imagegen.astronaut()
    detail = face_detail(
        box=(177 / 512, 56 / 512, 95 / 512, 120 / 512),
        eyes=((204 / 512, 100 / 512), (247 / 512, 103 / 512)),
    )
    expect_detect_faces(stubber, [detail])

    prepared = prepare_face(
        imagegen.encode(portrait, "JPEG", quality=92),
        detector=RekognitionDetector(client),
        rules=FaceRules(),
        max_pixels=50_000_000,
    )

    assert prepared.face.left_eye == pytest.approx((204.0, 100.0))
    assert prepared.image.size == (256, 256)
    # The crop matches the one made from the same eye positions found by RetinaFace.
    retinaface = pytest.importorskip("retinaface")
    found = retinaface.detect_faces(np.asarray(prepared.image))
    assert len(found) == 1
    left, right = found[0].landmarks[0], found[0].landmarks[1]
    assert abs(left.y - right.y) <= 4


def test_encode_for_request_limit() -> None:
    photo = imagegen.noise((1200, 900), seed=3)
    unlimited = encode_for_request(photo)

    payload = encode_for_request(photo, max_bytes=len(unlimited) // 3)

    assert len(payload) <= len(unlimited) // 3
    assert Image.open(io.BytesIO(payload)).width < 1200


def test_encode_for_request_small_photo() -> None:
    payload = encode_for_request(imagegen.astronaut())
    assert len(payload) < 5 * 1024 * 1024
    assert Image.open(io.BytesIO(payload)).size == (512, 512)
