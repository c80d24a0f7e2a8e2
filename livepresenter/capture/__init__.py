"""Face capture: find the face, follow it through the driving video, and frame it for the engines."""

from livepresenter.capture.face import CropBox, Face, TrackedFace
from livepresenter.capture.reference import ReferencePicker
from livepresenter.capture.tracker import FaceTracker, TrackerSettings

__all__ = ["CropBox", "Face", "FaceTracker", "ReferencePicker", "TrackedFace", "TrackerSettings"]
