"""Relative keypoint motion (FOMM's `normalize_kp`): transfer the driver's motion, not its shape."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import ConvexHull

from livepresenter.fomm.dense_motion import inverse_2x2
from livepresenter.fomm.keypoint_detector import KeypointDict


def hull_area(value: torch.Tensor) -> float:
    """Area of the convex hull of the first batch element's keypoints (B, K, 2)."""
    return float(ConvexHull(value[0].detach().float().cpu().numpy().astype(np.float64)).volume)


def movement_scale_of(kp_source: KeypointDict, kp_driving_initial: KeypointDict) -> float:
    """sqrt(source hull area) / sqrt(reference hull area): adapts motion to the face size."""
    return float(np.sqrt(hull_area(kp_source["value"])) / np.sqrt(hull_area(kp_driving_initial["value"])))


def normalize_kp(kp_source: KeypointDict, kp_driving: KeypointDict, kp_driving_initial: KeypointDict,
                 adapt_movement_scale: bool = False, use_relative_movement: bool = False,
                 use_relative_jacobian: bool = False,
                 movement_scale: float | torch.Tensor | None = None) -> KeypointDict:
    """Keypoints to drive the source with, as in the official animate.py.

    Relative movement adds the driver's displacement since `kp_driving_initial` (optionally scaled
    by the ratio of keypoint-hull sizes) to the source keypoints; relative jacobian composes the
    driver's local change with the source jacobian. `movement_scale` lets a caller that already
    computed the hull ratio (it depends only on the source and the reference) skip recomputing it; a (B, 1, 1)
    tensor gives each row of a batch its own.
    """
    if adapt_movement_scale:
        scale = movement_scale if movement_scale is not None else movement_scale_of(kp_source, kp_driving_initial)
    else:
        scale = 1
    out = dict(kp_driving)
    if use_relative_movement:
        out["value"] = (kp_driving["value"] - kp_driving_initial["value"]) * scale + kp_source["value"]
        if use_relative_jacobian:
            change = kp_driving["jacobian"] @ inverse_2x2(kp_driving_initial["jacobian"])
            out["jacobian"] = change @ kp_source["jacobian"]
    return out
