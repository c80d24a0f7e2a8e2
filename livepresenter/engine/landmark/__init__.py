"""The weightless landmark engine: works on any CPU with no downloaded model weights."""

from livepresenter.engine.landmark.engine import LandmarkEngine, LandmarkEngineSettings

__all__ = ["LandmarkEngine", "LandmarkEngineSettings"]
