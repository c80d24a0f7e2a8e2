"""livepresenter: teach live as a historical figure.

Webcam → face tracking → animation engine (FOMM or the weightless landmark engine) → virtual camera,
recording and offline rendering. See README.md.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
