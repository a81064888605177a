"""The interface between the worker loop and whatever turns aligned faces into portraits."""

from __future__ import annotations

from typing import Protocol

from PIL import Image

# Names the worker records on each job and shows in the email footer.
STYLE_GAN = "gan"
STYLE_PREVIEW = "preview"


class Stylizer(Protocol):
    """Turns a batch of aligned 256x256 RGB faces into portraits of the same size, in order."""

    style: str
    description: str

    def stylize(self, faces: list[Image.Image]) -> list[Image.Image]: ...

# The usual reason for the preview style, which the demo follows with install advice.
PREVIEW_REASON_NO_WEIGHTS = "no GAN weights installed"
