"""Fine-tuning FOMM on a lecturer's own footage (`livepresenter train`): the face crops cached from the videos, the
self-supervised losses, checkpoints in the official layout, the loss curve and the before/after evaluation.

Imports torch and the FOMM networks: front ends import it only when a training runs.
"""

from livepresenter.training.trainer import TrainProgress, TrainResult, TrainSettings, train

__all__ = ["TrainProgress", "TrainResult", "TrainSettings", "train"]
