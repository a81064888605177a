"""Image stylisers the worker can run: the U-GAT-IT generator and the preview cartoon style."""
