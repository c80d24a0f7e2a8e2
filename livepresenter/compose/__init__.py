"""Output frames: the animated portrait laid out (stage or portrait alone) with the disclosure label."""

from livepresenter.compose.label import Label
from livepresenter.compose.stage import LAYOUTS, Compositor, create_compositor

__all__ = ["LAYOUTS", "Compositor", "Label", "create_compositor"]
