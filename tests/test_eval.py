"""`livepresenter eval`: the metrics on synthetic landmark sequences, the report and contact sheet on synthetic
results, and one short real run of the landmark engine on a GRID clip."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from livepresenter.cli.main import main
from livepresenter.errors import ExitStatus
from livepresenter.evaluate.metrics import (
    NO_FACE,
    CrossIdentityScores,
    DriverScores,
    Observation,
    ReconstructionScores,
    Targets,
    TurnScores,
    amplitude_ratio,
    cross_identity_scores,
    keypoint_distance,
    l1_distance,
    pearson,
    reconstruction_scores,
    static_scores,
    turn_scores,
)
from livepresenter.evaluate.observe import to_eval_size
from livepresenter.evaluate.runner import ClipEvaluation, CrossIdentityRun, Snapshot
from livepresenter.face.geometry import MOUTH
from livepresenter.face.pose import relative_yaw, rest_model, rotation
from livepresenter.presenter import Presenter

RNG = np.random.default_rng(7)
FACE = RNG.uniform(60, 200, size=(68, 2))
EMBEDDING = RNG.normal(size=128)


def synthetic_face(gap: float = 0.0) -> np.ndarray:
    """A frontal-ish 68-point face: level eyes with outer corners 100 px apart, inner lips `gap` px apart."""
    points = FACE.copy()
    points[36:42] = np.linspace((78.0, 100.0), (108.0, 100.0), 6)
    points[42:48] = np.linspace((148.0, 100.0), (178.0, 100.0), 6)
    points[0], points[16], points[30] = (60.0, 130.0), (196.0, 130.0), (128.0, 130.0)
    points[61:64] = [(118.0, 170.0), (128.0, 170.0), (138.0, 170.0)]
    points[[67, 66, 65]] = points[61:64] + (0.0, gap)
    return points


def seen(points: np.ndarray, embedding: np.ndarray = EMBEDDING) -> Observation:
    return Observation(points.astype(np.float32), embedding)


# --- per-frame metrics ---------------------------------------------------------------------------------------


def test_keypoint_distance_is_zero_for_identical_and_the_shift_for_shifted_landmarks() -> None:
    assert keypoint_distance(FACE, FACE) == 0.0
    assert keypoint_distance(FACE + (3.0, 4.0), FACE) == pytest.approx(5.0)
    mouth_only = FACE.copy()
    mouth_only[MOUTH] += (0.0, 6.0)
    assert keypoint_distance(mouth_only, FACE, MOUTH) == pytest.approx(6.0)
    assert keypoint_distance(mouth_only, FACE) == pytest.approx(6.0 * 20 / 68)


def test_l1_is_on_the_unit_range() -> None:
    black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
    assert l1_distance(black, white) == pytest.approx(1.0)
    assert l1_distance(white, white) == 0.0
    with pytest.raises(ValueError, match="same size"):
        l1_distance(black, np.zeros((4, 5, 3), np.uint8))


def test_pearson_and_amplitude_on_known_series() -> None:
    t = np.linspace(0, 4 * np.pi, 100)
    assert pearson(np.sin(t), 2 * np.sin(t) + 1) == pytest.approx(1.0)
    assert pearson(np.sin(t), -np.sin(t)) == pytest.approx(-1.0)
    noisy = np.sin(t) + RNG.normal(0, 0.5, t.size)
    assert pearson(np.sin(t), noisy) == pytest.approx(np.corrcoef(np.sin(t), noisy)[0, 1])
    assert amplitude_ratio(2 * np.sin(t) + 1, np.sin(t)) == pytest.approx(2.0)
    # a mouth that never moves does not follow the speaker (and NaN never reaches the JSON)
    assert pearson(np.zeros(100), np.sin(t)) == 0.0
    assert amplitude_ratio(np.zeros(100), np.sin(t)) == 0.0
    assert amplitude_ratio(np.sin(t), np.zeros(100)) == 0.0


# --- aggregation ------------------------------------------------------------------------------------------------


def test_reconstruction_counts_missing_output_faces_and_skips_frames_without_a_real_face() -> None:
    reals = [seen(FACE), seen(FACE + (0.0, 2.0)), NO_FACE, seen(FACE)]
    outputs = [seen(FACE), seen(FACE), seen(FACE), NO_FACE]
    scores = reconstruction_scores([0.1, 0.2, 0.3, 0.4], outputs, reals)
    assert scores.frames == 4 and scores.frames_without_face == 1 and scores.missing_faces == 1
    assert scores.akd == pytest.approx(1.0)  # mean of 0 and 2 over the two frames both faces are in
    assert scores.mouth_akd == pytest.approx(1.0)
    assert scores.aed == 0.0
    assert scores.l1 == pytest.approx(0.25)  # L1 needs no face
    lost = reconstruction_scores([0.5], [NO_FACE], [seen(FACE)])
    assert lost.akd is None and lost.aed is None and lost.missing_faces == 1


def test_static_baseline_shows_frame_0_throughout() -> None:
    still = [seen(FACE)] * 5
    assert static_scores([0.0] * 5, still).akd == 0.0
    moving = [seen(FACE + (0.0, float(i))) for i in range(5)]
    static = static_scores([0.0] * 5, moving)
    assert static.akd == pytest.approx(np.mean(range(5)))
    assert static == reconstruction_scores([0.0] * 5, [moving[0]] * 5, moving)
    perfect = reconstruction_scores([0.0] * 5, moving, moving)
    assert Targets().reconstruction(perfect, static) == {"akd": True, "mouth_akd": True}
    assert Targets().reconstruction(static, static) == {"akd": False, "mouth_akd": False}


def test_cross_identity_follows_the_driving_mouth() -> None:
    gaps = 10 + 10 * np.sin(np.linspace(0, 6 * np.pi, 60))
    drivings = [seen(synthetic_face(g)) for g in gaps]
    away = EMBEDDING + 0.2 / np.sqrt(128)  # 0.2 from the portrait's embedding
    outputs = [seen(synthetic_face(0.5 * g), away) for g in gaps]
    outputs[3] = NO_FACE
    scores = cross_identity_scores(outputs, drivings, EMBEDDING)
    assert scores.mouth_corr == pytest.approx(1.0)
    assert scores.mouth_amp == pytest.approx(0.5, rel=0.02)
    assert scores.id_dist == pytest.approx(0.2)
    assert (scores.frames, scores.missing_faces, scores.mouth_frames) == (60, 1, 59)
    assert Targets().cross_identity(scores) == {"id_dist": True, "mouth_corr": True, "mouth_amp": True}
    shut = cross_identity_scores([seen(synthetic_face(0.0))] * 60, drivings, EMBEDDING)
    assert Targets().cross_identity(shut) == {"id_dist": True, "mouth_corr": False, "mouth_amp": False}


def test_geometry_helpers() -> None:
    assert to_eval_size(np.zeros((360, 360, 3), np.uint8)).shape == (256, 256, 3)
    assert to_eval_size(np.zeros((256, 512, 3), np.uint8)).shape == (128, 256, 3)
    frame = np.zeros((256, 256, 3), np.uint8)
    assert to_eval_size(frame) is frame


# --- report and contact sheet on synthetic results ------------------------------------------------------------


def synthetic_evaluation(name: str, akd: float) -> ClipEvaluation:
    rec = ReconstructionScores(l1=0.02, akd=akd, mouth_akd=akd, aed=0.1, frames=10, frames_without_face=0,
                               missing_faces=0)
    static = ReconstructionScores(l1=0.03, akd=2.0, mouth_akd=2.0, aed=0.1, frames=10, frames_without_face=0,
                                  missing_faces=0)
    image = np.full((300, 200, 3), 128, np.uint8)
    presenter = Presenter("Test Figure", "AI re-enactment of Test Figure", image, Path("figure.jpg"))
    cross = CrossIdentityScores(id_dist=0.2, mouth_corr=0.8, mouth_amp=1.1, frames=10, missing_faces=0,
                                mouth_frames=10)
    frame = np.zeros((256, 256, 3), np.uint8)
    snapshots = (Snapshot(4, "mouth open", 0.3, frame, (frame,)), Snapshot(7, "head turn", 0.2, frame, (frame,)))
    return ClipEvaluation(Path(f"{name}.mp4"), "landmark", rec, static,
                          (CrossIdentityRun(presenter, cross, 2, frame),), snapshots)


def test_report_marks_each_target() -> None:
    from livepresenter.evaluate.report import markdown_report, records

    good, bad = synthetic_evaluation("good", 0.5), synthetic_evaluation("bad", 1.5)
    table = markdown_report([good, bad])
    good_row = next(line for line in table.splitlines() if line.startswith("| good.mp4"))
    bad_row = next(line for line in table.splitlines() if line.startswith("| bad.mp4"))
    assert good_row.endswith("| pass |") and "0.25x" in good_row
    assert bad_row.endswith("**fail**: akd, mouth_akd |")
    assert "8 of 10 target checks pass." in table
    (record,) = records(bad)
    assert record["presenter"] == "Test Figure" and record["checks"]["akd"] is False
    json.dumps(record)


def test_contact_sheet_layout() -> None:
    from livepresenter.evaluate.contact_sheet import contact_sheet

    sheet = contact_sheet([synthetic_evaluation("a", 0.5), synthetic_evaluation("b", 0.5)], ["Credit line"])
    # two mouth-open columns and the strongest head turn, one portrait row
    assert sheet.shape[1] == 1600 and sheet.dtype == np.uint8
    assert 250 < sheet.shape[0] < 500


def _filled(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.full((256, 256, 3), rgb, np.uint8)


def _box_of(sheet: np.ndarray, rgb: tuple[int, int, int]) -> tuple[int, int, int, int, int]:
    """(pixel count, x0, y0, x1, y1) of the pixels of exactly this colour."""
    ys, xs = np.nonzero(np.all(sheet == rgb, axis=-1))
    return (len(xs), *((xs.min(), ys.min(), xs.max(), ys.max()) if len(xs) else (0, 0, 0, 0)))


def test_contact_sheet_shows_each_frame_beside_its_output_and_the_credits() -> None:
    """Every image lands in its cell: the portrait first, then (driving, output) pairs left to right."""
    from livepresenter.evaluate.contact_sheet import contact_sheet

    mouth_driving, mouth_output = (0, 200, 0), (0, 0, 200)
    turn_driving, turn_output = (200, 0, 0), (200, 200, 0)
    portrait_view = (200, 0, 200)
    evaluation = synthetic_evaluation("clip", 0.5)
    run = evaluation.cross[0]
    snapshots = (Snapshot(4, "mouth open", 0.3, _filled(mouth_driving), (_filled(mouth_output),)),
                 Snapshot(7, "head turn", 0.2, _filled(turn_driving), (_filled(turn_output),)))
    evaluation = ClipEvaluation(evaluation.driving, "landmark", evaluation.reconstruction, evaluation.static,
                                (CrossIdentityRun(run.presenter, run.scores, 2, _filled(portrait_view)),), snapshots)
    sheet = contact_sheet([evaluation], ["GRID corpus, CC BY 4.0"])
    boxes = {rgb: _box_of(sheet, rgb) for rgb in (portrait_view, mouth_driving, mouth_output, turn_driving,
                                                   turn_output)}
    for count, x0, y0, x1, y1 in boxes.values():
        assert count > 0.9 * (x1 - x0 + 1) * (y1 - y0 + 1) > 60 * 60  # a solid cell, not stray pixels
    lefts = [boxes[rgb][1] for rgb in (portrait_view, mouth_driving, mouth_output, turn_driving, turn_output)]
    assert lefts == sorted(lefts)  # portrait, then each driving frame just before its output
    assert boxes[mouth_output][1] - boxes[mouth_driving][3] < 10  # the pair sits side by side
    below = sheet[max(box[4] for box in boxes.values()) + 1:]
    assert (below.max(axis=-1) < 100).sum() > 50  # the credit line is written under the images


# --- the command -------------------------------------------------------------------------------------------------


def test_a_clip_that_starts_without_a_face_is_named(tmp_path: Path, ffmpeg: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    empty = tmp_path / "empty-room.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=256x256:r=25:d=0.4",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(empty)], check=True)
    assert main(["eval", "--driving", str(empty), "--engine", "landmark"]) == ExitStatus.BAD_INPUT
    assert f"no face in frame 0 of {empty}" in capsys.readouterr().err


def test_eval_command_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--driving", str(tmp_path / "none.mp4")]) == ExitStatus.BAD_INPUT
    assert "none.mp4 does not exist" in capsys.readouterr().err
    assert main(["eval", "--driving", str(tmp_path), "--report", str(tmp_path)]) == ExitStatus.USAGE
    assert "--report needs --presenter" in capsys.readouterr().err
    # A missing report folder is refused before any clip is read (the clip here does not even exist).
    missing = tmp_path / "no-such-folder"
    assert main(["eval", "--driving", str(tmp_path / "none.mp4"), "--presenter", str(tmp_path),
                 "--report", str(missing)]) == ExitStatus.USAGE
    assert f"report folder {missing} does not exist" in capsys.readouterr().err


def test_a_mouth_truth_of_another_length_is_named(tmp_path: Path, driving_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from livepresenter.evaluate.derived import write_clip
    from tests.capture_testdata import read_frames

    clip = driving_dir / "grid_bbaf2n_256.mp4"
    short = write_clip(read_frames(clip, 0, 3), tmp_path / "short.mp4", 25)
    assert main(["eval", "--driving", str(clip), "--mouth-truth", str(short), "--max-frames", "5",
                 "--engine", "landmark"]) == ExitStatus.BAD_INPUT
    assert f"mouth truth {short} has 3 frames, the driving clip 5" in capsys.readouterr().err


def test_landmark_engine_beats_the_static_baseline_on_a_grid_clip(
    driving_dir: Path, portraits_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 30 frames: the speaker starts talking after about frame 20; before that the mouth barely moves and the static
    # baseline's mouth AKD is about 1 px, too small to compare against.
    clip = driving_dir / "grid_bbaf2n_256.mp4"
    portrait = portraits_dir / "mona_lisa_leonardo.jpg"
    status = main(["eval", "--driving", str(clip), "--presenter", str(portrait), "--engine", "landmark",
                   "--json", "--max-frames", "30"])
    assert status == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = {"l1", "akd", "aed", "static_l1", "static_akd", "static_aed", "mouth_akd", "static_mouth_akd",
                "id_dist", "mouth_corr", "mouth_amp", "yaw_err_mean", "turned_id_dist", "turned_missing_faces"}
    assert expected <= result.keys()
    assert result["engine"] == "landmark" and result["frames"] == 30
    assert result["missing_faces"] == 0
    assert result["akd"] < 0.8 * result["static_akd"]
    assert result["mouth_akd"] < result["static_mouth_akd"]
    # issue 20's derived drivers: a held neutral face, the clip re-encoded, a longer and a wider face
    assert {"neutral_px", "neutral_id_dist", "reencoded_px", "longer_face_px", "wider_face_px"} <= result.keys()
    assert all(result["checks"][check] for check in ("neutral_driver", "reencoded_driver", "face_shape"))


def test_eval_measures_the_turn_floors_on_a_clip_with_turns(
    driving_dir: Path, portraits_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Pexels clip turns past 10 degrees by frame 67: the turned identity comes with the portrait moved by the head
    alone and with the driver's own turned frames, both measured (a real face reads 0.2-0.5 from itself)."""
    status = main(["eval", "--driving", str(driving_dir / "pexels_wolfganglanger_expressions_360.mp4"),
                   "--presenter", str(portraits_dir / "abraham_lincoln_1863_alexander_gardner.jpg"),
                   "--engine", "landmark", "--json", "--max-frames", "76", "--no-driver-checks"])
    assert status == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["turned_frames"] > 0
    assert 0.05 < result["head_only_id_dist"] < 0.5
    assert 0.1 < result["driver_turned_id_dist"] < 0.6


# --- derived drivers (issue 20) -------------------------------------------------------------------------------


def driver_scores_of(**overrides: float) -> DriverScores:
    values = {"neutral_px": 0.4, "neutral_id_dist": 0.06, "reencoded_px": 0.4, "reencoded_pixel_diff": 3.0}
    shapes = {"longer_face": overrides.pop("longer_face", 0.7), "wider_face": overrides.pop("wider_face", 0.7)}
    return DriverScores(**{**values, **overrides}, face_shape_px=shapes)


def test_driver_targets() -> None:
    targets = Targets()
    assert targets.drivers(driver_scores_of()) == {"neutral_driver": True, "reencoded_driver": True,
                                                   "face_shape": True}
    assert not targets.drivers(driver_scores_of(neutral_px=1.2))["neutral_driver"]
    assert not targets.drivers(driver_scores_of(neutral_id_dist=0.15))["neutral_driver"]
    assert not targets.drivers(driver_scores_of(reencoded_px=2.2))["reencoded_driver"]
    assert not targets.drivers(driver_scores_of(wider_face=1.5))["face_shape"]


def test_report_and_json_carry_the_derived_drivers() -> None:
    from livepresenter.evaluate.report import markdown_report, records

    evaluation = synthetic_evaluation("clip", 0.5)
    run = evaluation.cross[0]
    (plain,) = records(evaluation)
    assert plain["neutral_px"] is None and plain["longer_face_px"] is None and "neutral_driver" not in plain["checks"]
    assert "Derived drivers" not in markdown_report([evaluation])
    checked = replace(evaluation, cross=(replace(run, drivers=driver_scores_of(wider_face=1.5)),))
    (record,) = records(checked)
    assert record["wider_face_px"] == 1.5 and record["reencoded_pixel_diff"] == 3.0
    assert record["checks"]["face_shape"] is False and record["checks"]["neutral_driver"] is True
    table = markdown_report([checked])
    row = next(line for line in table.splitlines() if line.startswith("| Test Figure | clip.mp4 | 0.40"))
    assert row.endswith("**fail**: face_shape |")
    assert "2 of 3 derived-driver checks pass." in table and "5 of 5 target checks pass." in table
    assert plain["mouth_truth"] is None
    (truthful,) = records(replace(evaluation, mouth_truth=Path("clean.mp4")))
    assert truthful["mouth_truth"] == "clean.mp4"


def test_stretched_and_reencoded_frames(tmp_path: Path, driving_dir: Path) -> None:
    from livepresenter.evaluate.derived import stretched, write_clip
    from livepresenter.media import VideoReader
    from tests.capture_testdata import read_frames

    frames = read_frames(driving_dir / "grid_bbaf2n_256.mp4", 0, 8)
    dot = np.zeros((100, 100, 3), np.uint8)
    dot[59:62, 39:42] = 255  # a bright dot at (40, 60)
    longer = stretched(dot, (40.0, 40.0), (1.0, 1.5))
    ys, xs = np.nonzero(longer[..., 0] > 100)
    assert xs.mean() == pytest.approx(40.0, abs=0.5) and ys.mean() == pytest.approx(70.0, abs=0.5)
    clip = write_clip(frames, tmp_path / "again.mp4", 25)
    again = [frame.image for frame in VideoReader(clip)]
    assert len(again) == len(frames)
    change = np.mean([np.abs(a.astype(np.int16) - b).mean() for a, b in zip(again, frames, strict=True)])
    assert 0.3 < change < 3.0  # a high-quality re-encode: close, not identical


def test_displacement_measures_sub_pixel_motion(portraits_dir: Path) -> None:
    """Optical flow at the landmarks reads a third of a pixel as such (dlib's landmarks cannot)."""
    import cv2

    from livepresenter.evaluate.observe import FaceObserver
    from livepresenter.media.image import load_image_rgb

    observer = FaceObserver()
    portrait = to_eval_size(load_image_rgb(portraits_dir / "einstein_1947_orren_jack_turner.jpg"))
    face = observer.face(portrait)
    assert face is not None
    h, w = portrait.shape[:2]
    for dx, dy in ((0.3, 0.0), (0.0, -1.0), (2.0, 1.0)):
        moved = cv2.warpAffine(portrait, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
        motion = observer.displacement(portrait, moved, face.landmarks)
        assert np.allclose(motion.mean(axis=0), (dx, dy), atol=0.06)


def _mona_driver_scores(driving_dir: Path, portraits_dir: Path, frames: int = 50) -> DriverScores:
    """The derived-driver checks of Mona Lisa on the first `frames` of a GRID clip (the reference window is 2 s)."""
    import functools
    import tempfile
    from itertools import islice

    from livepresenter.capture import FaceTracker
    from livepresenter.evaluate.derived import write_clip
    from livepresenter.evaluate.driver_checks import ClipDrivers, PortraitView, driver_scores
    from livepresenter.evaluate.observe import EVAL_SIDE, FaceObserver
    from livepresenter.face.crop import crop_box_from_landmarks, crop_image
    from livepresenter.media import VideoReader
    from livepresenter.pipeline.frame_path import FramePath
    from livepresenter.presenter.preparation import prepare_presenter

    observer = FaceObserver()
    prepared = prepare_presenter(str(portraits_dir / "mona_lisa_leonardo.jpg"), FaceTracker(), engine="landmark",
                                 layout="portrait", label=False)
    view = functools.partial(crop_image, box=crop_box_from_landmarks(prepared.face.landmarks), size=EVAL_SIDE)
    image = view(prepared.presenter.portrait_rgb)
    face = observer.face(image)
    assert face is not None
    seen = PortraitView(view, image, face.box, observer.landmarks_in(image, face.box), observer.embedding(image, face))
    reader = VideoReader(driving_dir / "grid_bbaf2n_256.mp4")

    def start() -> list:
        return list(islice(reader, frames))

    path = FramePath(prepared, FaceTracker(), reference_window=frames, when_lost="hold")
    reference = path.pick_reference(start())
    assert reference is not None
    originals = [view(path.step(frame, frame.time_s)) for frame in start()]
    with tempfile.TemporaryDirectory() as tmp:
        reencoded = write_clip((f.image for f in start()), Path(tmp) / "again.mp4", reader.fps)
        first = start()[0].image
        centre = FaceTracker().detect(first).landmarks.mean(axis=0)  # type: ignore[union-attr]
        clip = ClipDrivers(start, reencoded, (float(centre[0]), float(centre[1])), frames, reader.fps)
        return driver_scores(prepared, seen, originals, reference.index, clip, observer)


def test_a_reference_resting_off_its_pose_fails_the_neutral_driver(
    driving_dir: Path, portraits_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deliberately broken reference, 3 px below where the driver rests: a held neutral face then moves the
    portrait off its own landmarks for the whole clip, and the neutral-driver check says so."""
    from livepresenter.capture import reference as reference_module

    estimate = reference_module.neutral_landmarks
    monkeypatch.setattr(reference_module, "neutral_landmarks", lambda *a, **k: estimate(*a, **k) + (0.0, 3.0))
    scores = _mona_driver_scores(driving_dir, portraits_dir, frames=20)
    assert scores.neutral_px > 2.0
    assert Targets().drivers(scores)["neutral_driver"] is False


def test_a_reference_posed_by_its_best_frames_fails_the_reencoded_driver(
    driving_dir: Path, portraits_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier reference: frames matched to the portrait on every landmark, within 0.01, and the estimate posed at
    the mean of those frames only. On bbaf2n the re-encode changes which frames those are, and the portrait's whole
    head rests about 1.5 px elsewhere (the real reference: 0.3-0.6 px; its checks pass in
    test_landmark_engine_beats_the_static_baseline_on_a_grid_clip)."""
    from livepresenter.capture import reference as reference_module

    estimate = reference_module.neutral_reference
    monkeypatch.setattr(reference_module, "neutral_reference",
                        lambda candidates, weights, posed_by=None: estimate(candidates, weights))
    monkeypatch.setattr(reference_module, "MATCHED_POINTS", np.arange(68))
    monkeypatch.setattr(reference_module, "NEUTRAL_MARGIN", 0.01)
    broken = _mona_driver_scores(driving_dir, portraits_dir)
    assert broken.reencoded_px > 1.2  # measured 1.49
    assert Targets().drivers(broken)["reencoded_driver"] is False
    assert Targets().drivers(broken)["reencoded_driver"] is False


# --- head turns (issue 20) -------------------------------------------------------------------------------------


def turned_face(yaw: float) -> np.ndarray:
    """synthetic_face lifted with the generic depth and turned by `yaw` degrees."""
    model = rest_model(synthetic_face())
    centre = model.mean(0)
    return (model - centre) @ rotation(yaw, 0.0, 0.0)[:2].T + centre[:2]


def test_turn_scores_follow_the_yaw_and_count_turned_frames() -> None:
    rest = synthetic_face()
    yaws = [0.0, 5.0, 15.0, 25.0, 40.0]
    drivings = [seen(turned_face(yaw)) for yaw in yaws]
    # the output turns 2 degrees less; at 25 degrees the detector misses it; identity drifts on turned frames
    outputs = [seen(turned_face(yaw - 2.0), EMBEDDING + (0.02 if yaw > 10 else 0.0)) for yaw in yaws]
    outputs[3] = NO_FACE
    scores = turn_scores(outputs, drivings, rest, rest, EMBEDDING)
    assert scores.yaw_frames == 3  # 0, 5, 15: 25 has no output face, 40 is beyond the measured range
    assert scores.yaw_err_mean == pytest.approx(2.0, abs=0.05) and scores.yaw_err_max == pytest.approx(2.0, abs=0.05)
    assert scores.driver_yaw_max == pytest.approx(15.0, abs=0.05)
    assert scores.turned_frames == 3 and scores.turned_missing_faces == 1
    assert scores.turned_id_dist == pytest.approx(0.02 * np.sqrt(128))
    assert scores.head_only_id_dist is None and scores.driver_turned_id_dist is None  # no floors asked for


def test_turn_floors_are_measured_on_the_turned_frames_alone() -> None:
    rest = synthetic_face()
    yaws = [0.0, 15.0, 25.0, 40.0]
    drivings = [seen(turned_face(yaw), EMBEDDING + 0.01 * yaw) for yaw in yaws]
    outputs = [seen(turned_face(yaw)) for yaw in yaws]
    asked: list[float] = []

    def head_only(landmarks: np.ndarray) -> Observation:
        """The portrait moved by the head alone: the embedding drifts 0.03 per component, and at 40 degrees the
        detector misses it."""
        yaw = relative_yaw(rest, landmarks)
        asked.append(yaw)
        return NO_FACE if yaw > 30 else seen(landmarks, EMBEDDING + 0.03)

    scores = turn_scores(outputs, drivings, rest, rest, EMBEDDING, driver_rest_embedding=drivings[0].embedding,
                         head_only=head_only)
    assert asked == pytest.approx([15.0, 25.0, 40.0], abs=0.1)  # the turned frames, each once
    assert scores.head_only_id_dist == pytest.approx(0.03 * np.sqrt(128))  # over the two it could be seen on
    assert scores.driver_turned_id_dist == pytest.approx(np.mean([0.15, 0.25, 0.40]) * np.sqrt(128))


def test_report_and_json_carry_the_head_turns() -> None:
    from livepresenter.evaluate.report import markdown_report, records

    evaluation = synthetic_evaluation("clip", 0.5)
    turns = TurnScores(yaw_err_mean=6.0, yaw_err_max=11.0, yaw_frames=10, driver_yaw_max=24.0, turned_frames=4,
                       turned_id_dist=0.25, turned_missing_faces=1)
    checked = replace(evaluation, cross=(replace(evaluation.cross[0], turns=turns),))
    (record,) = records(checked)
    assert record["yaw_err_mean"] == 6.0 and record["turned_missing_faces"] == 1
    assert record["checks"]["yaw"] is False and record["checks"]["turned_id_dist"] is True
    table = markdown_report([checked])
    assert "| Test Figure | clip.mp4 | 6.0 | 11.0 | 24.0 | 4 | 0.250 | n/a | n/a | 1 | **fail**: yaw |" in table
    floors = replace(turns, head_only_id_dist=0.27, driver_turned_id_dist=0.33)
    (record,) = records(replace(evaluation, cross=(replace(evaluation.cross[0], turns=floors),)))
    assert record["head_only_id_dist"] == 0.27 and record["driver_turned_id_dist"] == 0.33
    assert "1 of 2 head-turn checks pass." in table
    (plain,) = records(evaluation)
    assert plain["yaw_err_mean"] is None and "yaw" not in plain["checks"]
