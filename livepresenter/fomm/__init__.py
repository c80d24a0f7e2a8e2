"""First Order Motion Model (Siarohin et al., NeurIPS 2019), re-implemented from ../shared/fomm/SPEC.md.

Loads the official vox-256 checkpoints (vox-cpk.pth.tar, vox-adv-cpk.pth.tar; licence CC BY-NC 4.0,
not shipped). Needs only torch, numpy, scipy and PyYAML, so it runs on a bare GPU machine.
"""

from livepresenter.fomm.animator import Animator
from livepresenter.fomm.checkpoint import FommModel, load_fomm
from livepresenter.fomm.keypoints import normalize_kp

__all__ = ["Animator", "FommModel", "load_fomm", "normalize_kp"]
