"""The face-geometry floor: face types (`Face`, `CropBox`, `TrackedFace`), the iBUG-68 point sets and measures
(`face.geometry`) and the engines' square crop (`face.crop`). It imports nothing else of livepresenter's, so every
stage above it (capture, engines, pipeline, evaluation) can share it."""

from livepresenter.face.types import CropBox, Face, TrackedFace

__all__ = ["CropBox", "Face", "TrackedFace"]
