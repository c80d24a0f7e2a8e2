"""Quality evaluation of the engines (`livepresenter eval`): FOMM-style self-reconstruction against a static
baseline, identity and mouth following for portraits driven by real clips, a markdown report and a contact sheet."""

from livepresenter.evaluate.metrics import (
    CrossIdentityScores,
    Observation,
    ReconstructionScores,
    Targets,
)
from livepresenter.evaluate.runner import ClipEvaluation, EvalSettings, evaluate_clip

__all__ = [
    "ClipEvaluation",
    "CrossIdentityScores",
    "EvalSettings",
    "Observation",
    "ReconstructionScores",
    "Targets",
    "evaluate_clip",
]
