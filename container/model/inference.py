"""The inference path the worker runs: aligned faces in, anime portraits out."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import ContextManager, Literal

import numpy as np
import torch
from PIL import Image
from torch import nn

from container.model.cpu_allocator import keep_freed_memory
from container.model.outputs import GeneratorOutput
from container.model.stylizer import STYLE_GAN

logger = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# CUDA compute capability from which GPUs compute bf16 natively (Ampere).
_NATIVE_BF16_CAPABILITY = 8


@dataclass(frozen=True)
class StylizedFace:
    """One generated portrait and the generator's CAM logits for its input face."""

    portrait: Image.Image
    cam_logit: tuple[float, float]


def resolve_precision(precision: Precision, device: torch.device) -> str:
    """Return the concrete precision ("fp32", "bf16" or "fp16") for `precision` on `device`.

    "auto" picks bf16 on CUDA devices that support it, else fp16 on CUDA, and
    fp32 on CPU, where outputs then match the reference forward to float32
    rounding. bf16 is faster on CPUs with AMX or AVX-512 BF16 but changes
    pixels by about 1.5 levels of 255 on average.

    Raises:
        ValueError: unknown precision, or fp16 requested on CPU.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        if device.type == "cuda":
            # Emulated bf16 on pre-Ampere GPUs is slow, so those get fp16.
            native_bf16 = torch.cuda.get_device_capability(device)[0] >= _NATIVE_BF16_CAPABILITY
            return "bf16" if native_bf16 else "fp16"
        return "fp32"
    if precision == "fp16" and device.type == "cpu":
        raise ValueError("fp16 autocast is not supported on CPU; use precision bf16 or fp32")
    return precision


def _batches(items: Sequence[Image.Image], size: int) -> Iterator[Sequence[Image.Image]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class GanStylizer:
    """Runs a U-GAT-IT A->B generator on batches of aligned faces.

    Args:
        generator: a generator whose forward returns `GeneratorOutput`, with weights loaded.
        image_size: side in pixels the generator was trained on; inputs must have it.
        device: torch device string, e.g. "cpu" or "cuda:0".
        batch_size: faces per forward pass.
        threads: CPU threads for torch (`torch.set_num_threads`, which is
            process-wide); None leaves torch's default.
        precision: "auto", "fp32", "bf16" or "fp16"; see `resolve_precision`.
        description: text the worker shows for this style.
        keep_cpu_memory: on CPU, keep freed memory in the process so each pass reuses
            the previous pass's activations instead of faulting in new pages
            (`container.model.cpu_allocator`; process-wide, like threads).

    Raises:
        ValueError: batch_size or threads below 1, or an unsupported precision.
    """

    style = STYLE_GAN

    def __init__(
        self,
        generator: nn.Module,
        *,
        image_size: int,
        device: str = "cpu",
        batch_size: int = 4,
        threads: int | None = None,
        precision: Precision = "auto",
        description: str = "U-GAT-IT selfie2anime generator",
        keep_cpu_memory: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if threads is not None:
            if threads < 1:
                raise ValueError(f"threads must be at least 1, got {threads}")
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        if keep_cpu_memory and self.device.type == "cpu":
            keep_freed_memory()
        self.batch_size = batch_size
        self.image_size = image_size
        self.description = description
        # nn.Module.to accepts memory_format, but torch's type stubs do not list it.
        self.generator = generator.eval().to(self.device, memory_format=torch.channels_last)  # type: ignore[call-overload]
        # CPU autocast runs reflection padding in float32 (torch 2.13 puts it on the CPU
        # float32 list), so every padded activation is converted twice; bf16 weights avoid that.
        self._cast_dtype: torch.dtype | None = None
        if self.device.type == "cpu" and self.precision == "bf16":
            self._cast_dtype = torch.bfloat16
            self.generator.to(torch.bfloat16)
        logger.info(
            "generator ready on %s: precision %s, batch size %d, %d CPU threads",
            self.device,
            self.precision,
            batch_size,
            torch.get_num_threads(),
        )

    def stylize(self, faces: list[Image.Image]) -> list[Image.Image]:
        """Translate aligned RGB faces into portraits of the same size, in the same order.

        Raises:
            ValueError: a face is not image_size x image_size pixels.
        """
        return [result.portrait for result in self.stylize_with_scores(faces)]

    def stylize_with_scores(self, faces: list[Image.Image]) -> list[StylizedFace]:
        """Like `stylize`, and also return each input's CAM logits for ranking candidates.

        Raises:
            ValueError: a face is not image_size x image_size pixels.
        """
        results: list[StylizedFace] = []
        for batch in _batches(faces, self.batch_size):
            output = self.forward(self.to_tensor(batch))
            portraits = self.to_images(output.image)
            logits = output.cam_logit.float().cpu().tolist()
            results.extend(StylizedFace(portrait, (row[0], row[1])) for portrait, row in zip(portraits, logits))
        return results

    def forward(self, images: torch.Tensor) -> GeneratorOutput:
        """Run the generator on a [B, 3, H, W] batch in [-1, 1] under inference mode and autocast."""
        images = images.to(self.device, dtype=self._cast_dtype, memory_format=torch.channels_last)
        with torch.inference_mode(), self._autocast():
            return self.generator(images)

    def to_tensor(self, faces: Sequence[Image.Image]) -> torch.Tensor:
        """Stack faces into a float32 batch [B, 3, H, W] in [-1, 1], channels_last in memory.

        Raises:
            ValueError: a face is not image_size x image_size pixels.
        """
        arrays = []
        for index, face in enumerate(faces):
            if face.size != (self.image_size, self.image_size):
                raise ValueError(
                    f"face {index} is {face.size[0]}x{face.size[1]} pixels; the generator expects "
                    f"{self.image_size}x{self.image_size} aligned faces"
                )
            arrays.append(np.asarray(face.convert("RGB"), dtype=np.uint8))
        pixels = torch.from_numpy(np.stack(arrays))  # [B, H, W, 3]
        # permute keeps the NHWC storage, which is the channels_last layout of [B, 3, H, W].
        return pixels.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)

    @staticmethod
    def to_images(images: torch.Tensor) -> list[Image.Image]:
        """Convert a [B, 3, H, W] batch in [-1, 1] to RGB images."""
        pixels = ((images.float() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
        array = pixels.permute(0, 2, 3, 1).cpu().numpy()
        return [Image.fromarray(np.ascontiguousarray(frame)) for frame in array]

    def _autocast(self) -> ContextManager[object]:
        if self.precision == "fp32" or self._cast_dtype is not None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=_AUTOCAST_DTYPES[self.precision])
