"""Dense, smooth warp of a portrait at its own resolution from moved landmarks.

A backward thin-plate spline (TPS) is solved each frame with its control points at the *target*
positions, valued with where each comes from in the portrait. Backward, because an opening mouth
then stays well conditioned (the target lips are apart; the stretched gap is later covered by the
mouth fill) and `cv2.remap` needs exactly this map. Control points:
- the 68 landmarks, with companions riding rigidly under the brows and above the upper lids (so a
  blink slides the lash line down instead of smearing brow and lashes);
- a ring around the head that follows the head's affine motion, so hair and ears move with it;
- anchors on the border of the warped region, fixed, so background and frame edge stay still.
The spline is evaluated on a coarse grid (spacing follows the face size) and, where lids and lips
pull hard over short distances, on a fine patch over eyes and mouth; the offsets are upsampled
bilinearly to the region's pixels and applied with one `cv2.remap`. What depends only on the
portrait (region, grid, anchors and their kernels) is computed once.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from livepresenter.engine.landmark.transfer import open_closing_pairs
from livepresenter.face.geometry import CLOSING_PAIRS, STABLE_POINTS, eye_distance, face_down, fit_affine

_RING_POINTS = 20
_ANCHORS_PER_SIDE = 8
# A lid or lip pair never comes closer than this fraction of its gap in the portrait: two targets at
# one spot pulling from two different places would make the spline singular (a closed eye becomes
# a slit of compressed eye instead).
_MIN_GAP_FRACTION = 0.15
# Companion points ride rigidly with a landmark: under each brow (this fraction of the brow-to-lid
# distance down) and above each upper lid (this fraction up). A blink then slides the lash line down
# intact and stretches only the lid skin between them, not the brow or the lashes.
_BROW_DEPTH = 0.35
_LASH_HEIGHT = 0.3
_COMPANION_OF = np.array([17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 37, 38, 43, 44])
# The fine detail patch covers eyes, lid companions and mouth (indices into the moving targets),
# plus this margin in inter-ocular distances.
_DETAIL_POINTS = np.r_[36:68, 68 + np.flatnonzero(np.isin(_COMPANION_OF, [37, 38, 43, 44]))]
_DETAIL_MARGIN = 0.2


@dataclass(frozen=True)
class WarpSettings:
    """grid_step: coarse grid spacing, in inter-ocular distances (smaller: sharper, slower).
    detail_step: the same for the fine patch over eyes and mouth.
    ring_scale: size of the head ring relative to the face (1 = through the jaw line).
    margin: how far the warped region extends beyond the ring, in inter-ocular distances.
    smoothing: TPS regularization, a guard against near-coincident targets rippling the field.
    """

    grid_step: float = 0.08
    detail_step: float = 0.025
    ring_scale: float = 1.35
    margin: float = 1.5
    smoothing: float = 1e-6


@dataclass(frozen=True)
class _Grid:
    """Sample points in normalized coordinates, as (G, 1) columns, with their affine basis."""

    x: np.ndarray
    y: np.ndarray
    affine: np.ndarray
    cells: tuple[int, int]


@dataclass(frozen=True)
class _Spline:
    """A solved TPS: weights of the moving points and of the anchors, and the affine part."""

    moving: np.ndarray
    moving_weights: np.ndarray
    anchor_weights: np.ndarray
    affine: np.ndarray

    def offsets(self, grid: _Grid, anchor_kernel: np.ndarray) -> np.ndarray:
        """(G, 2) offsets at the grid's samples; `anchor_kernel` is the grid-to-anchor kernel."""
        out = _kernel_between(grid.x, grid.y, self.moving) @ self.moving_weights
        out += anchor_kernel @ self.anchor_weights
        out += grid.affine @ self.affine
        return out


class DenseWarp:
    """Warps one portrait so its landmarks land on given targets."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray, settings: WarpSettings) -> None:
        self._image = image
        self._landmarks = landmarks.astype(np.float64)
        self._settings = settings
        down = face_down(self._landmarks)
        pairs = self._landmarks[CLOSING_PAIRS[:, 1]] - self._landmarks[CLOSING_PAIRS[:, 0]]
        self._min_gaps = _MIN_GAP_FRACTION * np.maximum(pairs @ down, 0.0)
        height, width = image.shape[:2]
        eye = eye_distance(self._landmarks)
        ring = _head_ring(self._landmarks, settings.ring_scale)
        margin = settings.margin * eye
        lo = np.maximum(np.floor(ring.min(0) - margin), 0).astype(int)
        hi = np.minimum(np.ceil(ring.max(0) + margin), [width, height]).astype(int)
        self.region = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        self._origin = lo.astype(np.float64)
        self._unit = float(max(hi - lo))
        keep = np.all((ring > lo + 0.25 * eye) & (ring < hi - 0.25 * eye), axis=1)
        self._ring = ring[keep]
        self._companion_offsets = _companion_offsets(self._landmarks, down)
        self._anchors = self._normalize(_border_anchors(lo, hi))
        self._anchor_kernel = _kernel(self._anchors, self._anchors)

        self._grid = self._make_grid(self.region, settings.grid_step * eye)
        self._grid_anchor_kernel = _kernel_between(self._grid.x, self._grid.y, self._anchors)
        # The outermost samples are pinned to zero offset; cv2.resize holds them constant out to the
        # region's edge, so the edge (and the image border, where the region reaches it) never moves.
        pinned = np.zeros(self._grid.cells[::-1], np.float32)
        pinned[1:-1, 1:-1] = 1.0
        self._unpinned = pinned.reshape(-1, 1)
        # Offsets, not absolute positions, are upsampled; these turn them into source positions.
        self._pixel_x, self._pixel_y = np.meshgrid(
            np.arange(lo[0], hi[0], dtype=np.float32), np.arange(lo[1], hi[1], dtype=np.float32)
        )

    def __call__(self, target_landmarks: np.ndarray) -> np.ndarray:
        """Portrait warped so landmark i moves to target_landmarks[i]; same shape and dtype."""
        map_x, map_y = self.backward_map(target_landmarks)
        out = self._image.copy()
        x0, y0, x1, y1 = self.region
        out[y0:y1, x0:x1] = cv2.remap(
            self._image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return out

    def backward_map(self, target_landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Source x and y (float32, region-sized) for every pixel of the warped region."""
        target = target_landmarks.astype(np.float64)
        head = fit_affine(self._landmarks[STABLE_POINTS], target[STABLE_POINTS])
        target = open_closing_pairs(target, face_down(target), self._min_gaps * head.scale)
        companions = target[_COMPANION_OF] + self._companion_offsets @ head.linear.T
        moving_source = np.vstack(
            [self._landmarks, self._landmarks[_COMPANION_OF] + self._companion_offsets, self._ring]
        )
        moving_target = np.vstack([target, companions, head.apply(self._ring)])
        spline = self._solve(self._normalize(moving_target), self._normalize(moving_source))

        coarse = spline.offsets(self._grid, self._grid_anchor_kernel) * self._unpinned
        x0, y0, x1, y1 = self.region
        dense = cv2.resize(coarse.reshape(*self._grid.cells[::-1], 2), (x1 - x0, y1 - y0))
        self._refine(dense, spline, moving_target[_DETAIL_POINTS], head.scale)
        dense *= np.float32(self._unit)
        return cv2.add(dense[..., 0], self._pixel_x), cv2.add(dense[..., 1], self._pixel_y)

    def _refine(self, dense: np.ndarray, spline: _Spline, detail: np.ndarray, scale: float) -> None:
        """Re-evaluate the spline on a fine grid around the eyes and mouth, where lids and lips pull
        hard over short distances, and blend it into `dense` (region offsets) with feathered edges."""
        eye = scale * eye_distance(self._landmarks)
        margin = _DETAIL_MARGIN * eye
        x0, y0, x1, y1 = self.region
        lo = np.maximum(np.floor(detail.min(0) - margin).astype(int), (x0 + 1, y0 + 1))
        hi = np.minimum(np.ceil(detail.max(0) + margin).astype(int), (x1 - 1, y1 - 1))
        if np.any(hi - lo < 4):
            return
        box = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        grid = self._make_grid(box, self._settings.detail_step * eye)
        fine = spline.offsets(grid, _kernel_between(grid.x, grid.y, self._anchors))
        fine = cv2.resize(fine.reshape(*grid.cells[::-1], 2), (box[2] - box[0], box[3] - box[1]))
        ramp = max(0.5 * margin, 1.0)
        weight = np.minimum.outer(_edge_ramp(box[3] - box[1], ramp), _edge_ramp(box[2] - box[0], ramp))
        patch = dense[box[1] - y0 : box[3] - y0, box[0] - x0 : box[2] - x0]
        patch += weight[..., None] * (fine - patch)

    def _make_grid(self, box: tuple[int, int, int, int], step: float) -> _Grid:
        """Samples over a pixel box, centred as cv2.resize(INTER_LINEAR) places them, so that
        upsampling the values to the box interpolates them exactly."""
        size = np.array([box[2] - box[0], box[3] - box[1]])
        cells = np.maximum(np.round(size / max(step, 1.0)), 2).astype(int)
        xs = box[0] + (np.arange(cells[0]) + 0.5) * size[0] / cells[0] - 0.5
        ys = box[1] + (np.arange(cells[1]) + 0.5) * size[1] / cells[1] - 0.5
        unit = self._normalize(np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)).astype(np.float32)
        return _Grid(
            x=np.ascontiguousarray(unit[:, :1]),
            y=np.ascontiguousarray(unit[:, 1:]),
            affine=np.hstack([np.ones((len(unit), 1), np.float32), unit]),
            cells=(int(cells[0]), int(cells[1])),
        )

    def _solve(self, moving: np.ndarray, moving_source: np.ndarray) -> _Spline:
        """The backward spline: offsets (source - target) at the moving points, zero at anchors."""
        points = np.vstack([moving, self._anchors])
        n, m = len(points), len(moving)
        system = np.zeros((n + 3, n + 3))
        system[:m, :m] = _kernel(moving, moving)
        cross = _kernel(moving, self._anchors)
        system[:m, m:n] = cross
        system[m:n, :m] = cross.T
        system[m:n, m:n] = self._anchor_kernel
        system[:n, :n] += self._settings.smoothing * np.eye(n)
        system[:n, n] = system[n, :n] = 1.0
        system[:n, n + 1 :] = points
        system[n + 1 :, :n] = points.T
        values = np.zeros((n + 3, 2))
        values[:m] = moving_source - moving
        solution = np.linalg.solve(system, values).astype(np.float32)
        return _Spline(moving, solution[:m], solution[m:n], solution[n:])

    def _normalize(self, points: np.ndarray) -> np.ndarray:
        return (points - self._origin) / self._unit


def _head_ring(landmarks: np.ndarray, scale: float) -> np.ndarray:
    """Points on an ellipse around the head, in the face's own frame (follows its tilt)."""
    down = face_down(landmarks)
    right = np.array([down[1], -down[0]])
    centre = landmarks[STABLE_POINTS].mean(0)
    half_width = scale * np.abs((landmarks[:17] - centre) @ right).max()
    half_height = scale * float((landmarks[8] - centre) @ down)
    angles = np.linspace(0.0, 2.0 * np.pi, _RING_POINTS, endpoint=False)
    return (
        centre
        + np.cos(angles)[:, None] * half_width * right
        + np.sin(angles)[:, None] * half_height * down
    )


def _companion_offsets(landmarks: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Offsets from the _COMPANION_OF landmarks to their companions, along `down`."""
    brow_to_lid = [
        max(float((landmarks[lid].mean(0) - landmarks[brow].mean(0)) @ down), 0.0)
        for brow, lid in ((slice(17, 22), [37, 38]), (slice(22, 27), [43, 44]))
    ]
    along = np.concatenate(
        [
            np.full(5, _BROW_DEPTH * brow_to_lid[0]),
            np.full(5, _BROW_DEPTH * brow_to_lid[1]),
            np.full(2, -_LASH_HEIGHT * brow_to_lid[0]),
            np.full(2, -_LASH_HEIGHT * brow_to_lid[1]),
        ]
    )
    return along[:, None] * down


def _edge_ramp(length: int, width: float) -> np.ndarray:
    """1 in the middle, falling linearly to 0 at both ends over `width` pixels (float32)."""
    position = np.arange(length, dtype=np.float32)
    return np.clip(np.minimum(position + 0.5, length - 0.5 - position) / width, 0.0, 1.0)


def _border_anchors(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Evenly spaced points on the region's edge (pixel centres of the outermost rows/columns)."""
    x0, y0 = lo
    x1, y1 = hi - 1
    t = np.linspace(0.0, 1.0, _ANCHORS_PER_SIDE, endpoint=False)[:, None]
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    sides = [corners[i] + t * (corners[(i + 1) % 4] - corners[i]) for i in range(4)]
    return np.vstack(sides)


def _kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TPS kernel U = r^2 log r^2 (the factor 1/2 is absorbed by the weights), float64."""
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return d2 * np.log(np.maximum(d2, 1e-20))


def _kernel_between(grid_x: np.ndarray, grid_y: np.ndarray, points: np.ndarray) -> np.ndarray:
    """TPS kernel between grid columns (G, 1) and (N, 2) points, float32, in place for speed."""
    px = np.ascontiguousarray(points[:, 0], dtype=np.float32)
    py = np.ascontiguousarray(points[:, 1], dtype=np.float32)
    d2 = np.subtract(grid_x, px)
    np.square(d2, out=d2)
    dy = np.subtract(grid_y, py)
    np.square(dy, out=dy)
    d2 += dy
    np.maximum(d2, np.float32(1e-20), out=d2)
    np.log(d2, out=dy)
    d2 *= dy
    return d2
