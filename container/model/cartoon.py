"""The preview style: a classic cartoon filter used when no GAN weights are installed.

Edge-preserving smoothing flattens skin and background, colour quantisation gives flat
cel-like regions, and dark outlines come from an adaptive threshold of the blurred
luminance. It is not U-GAT-IT and every output says so (see PREVIEW_FOOTER in the emails).
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from container.model.stylizer import PREVIEW_REASON_NO_WEIGHTS, STYLE_PREVIEW


class CartoonStylizer:
    """Cartoon filter with OpenCV; deterministic and CPU-only."""

    style = STYLE_PREVIEW

    def __init__(self, *, colours: int = 12, smoothing_passes: int = 4, reason: str = PREVIEW_REASON_NO_WEIGHTS) -> None:
        self.reason = reason
        self.description = f"preview style: {reason}"
        self.colours = colours
        self.smoothing_passes = smoothing_passes

    def stylize(self, faces: list[Image.Image]) -> list[Image.Image]:
        return [self._one(face) for face in faces]

    def _one(self, face: Image.Image) -> Image.Image:
        rgb = np.asarray(face.convert("RGB"))
        smooth = rgb.copy()
        for _ in range(self.smoothing_passes):
            smooth = cv2.bilateralFilter(smooth, d=7, sigmaColor=40, sigmaSpace=7)

        # Quantise with k-means on the colours; a fixed seed and initial centres keep it deterministic.
        pixels = smooth.reshape(-1, 3).astype(np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
        cv2.setRNGSeed(0)
        _, labels, centres = cv2.kmeans(pixels, self.colours, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        flat = centres.astype(np.uint8)[labels.flatten()].reshape(rgb.shape)

        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        gray = cv2.medianBlur(gray, 5)
        edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, blockSize=9, C=5)
        outlined = cv2.bitwise_and(flat, flat, mask=edges)
        return Image.fromarray(outlined, mode="RGB")
