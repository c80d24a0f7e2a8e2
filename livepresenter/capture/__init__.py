"""Capture: driving frames from a camera or a file, sound from a microphone or a file, and the face in them found,
followed and framed for the engines (the face types themselves live in `livepresenter.face`)."""

from livepresenter.capture.reference import ReferencePicker
from livepresenter.capture.tracker import FaceTracker, TrackerSettings

__all__ = ["FaceTracker", "ReferencePicker", "TrackerSettings"]
