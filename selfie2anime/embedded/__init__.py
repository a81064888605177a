"""The whole pipeline on one machine: moto on 127.0.0.1, local pollers, the API server, the worker."""

from selfie2anime.embedded.stack import EmbeddedStack

__all__ = ["EmbeddedStack"]
