"""Evaluation results as JSON records (one per clip, or per clip and portrait) and as markdown tables."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from typing import Any

from livepresenter.evaluate.derived import FACE_SHAPES
from livepresenter.evaluate.metrics import TARGETS, TURN_RANGE, TURNED, Targets, TurnScores
from livepresenter.evaluate.runner import ClipEvaluation, CrossIdentityRun

__all__ = ["markdown_report", "records", "report_document"]

_RECONSTRUCTION_KEYS = ("l1", "akd", "mouth_akd", "aed")


def records(evaluation: ClipEvaluation, targets: Targets = TARGETS) -> list[dict[str, Any]]:
    """Flat JSON-ready records: the clip's self-reconstruction and static-baseline scores, once per portrait with
    that portrait's cross-identity scores added (one record when there is no portrait). `checks` says which
    targets are met."""
    rec, static = evaluation.reconstruction, evaluation.static
    base: dict[str, Any] = {
        "driving": str(evaluation.driving),
        "mouth_truth": None if evaluation.mouth_truth is None else str(evaluation.mouth_truth),
        "engine": evaluation.engine,
        "frames": rec.frames,
        "frames_without_face": rec.frames_without_face,
        **{key: getattr(rec, key) for key in _RECONSTRUCTION_KEYS},
        "missing_faces": rec.missing_faces,
        **{f"static_{key}": getattr(static, key) for key in _RECONSTRUCTION_KEYS},
    }
    checks = targets.reconstruction(rec, static)
    if not evaluation.cross:
        return [{**base, "checks": checks}]
    return [{**base, **_cross_fields(run), **_driver_fields(run), **_turn_fields(run),
             "checks": {**checks, **targets.cross_identity(run.scores),
                        **(targets.turns(run.turns) if run.turns else {}),
                        **(targets.drivers(run.drivers) if run.drivers else {})}}
            for run in evaluation.cross]


def _driver_fields(run: CrossIdentityRun) -> dict[str, Any]:
    """The derived-driver scores, each None when they were not run."""
    keys = ("neutral_px", "neutral_id_dist", "reencoded_px", "reencoded_pixel_diff",
            *(f"{shape}_px" for shape in FACE_SHAPES))
    d = run.drivers
    if d is None:
        return dict.fromkeys(keys)
    values = (d.neutral_px, d.neutral_id_dist, d.reencoded_px, d.reencoded_pixel_diff,
              *(d.face_shape_px[shape] for shape in FACE_SHAPES))
    return dict(zip(keys, values, strict=True))


def _turn_fields(run: CrossIdentityRun) -> dict[str, Any]:
    """The head-turn scores (metrics.TurnScores), each None when they could not be measured."""
    keys = ("yaw_err_mean", "yaw_err_max", "yaw_frames", "driver_yaw_max", "turned_frames", "turned_id_dist",
            "turned_missing_faces", "head_only_id_dist", "driver_turned_id_dist")
    return {key: getattr(run.turns, key) if run.turns else None for key in keys}


def _cross_fields(run: CrossIdentityRun) -> dict[str, Any]:
    scores = run.scores
    return {
        "presenter": run.presenter.name,
        "portrait": str(run.presenter.source),
        "reference_frame": run.reference_frame,
        "id_dist": scores.id_dist,
        "mouth_corr": scores.mouth_corr,
        "mouth_amp": scores.mouth_amp,
        "presenter_missing_faces": scores.missing_faces,
        "mouth_frames": scores.mouth_frames,
    }


def markdown_report(evaluations: Sequence[ClipEvaluation], targets: Targets = TARGETS) -> str:
    """Two tables: self-reconstruction per clip against the static baseline, and cross-identity per portrait and
    clip, each row marked against the targets."""
    lines = [
        (
            "**Self-reconstruction** (frame 0 of the clip is the source and the reference; compared with the real"
            " frames at 256 px; static = frame 0 shown throughout). Targets: AKD <= "
            f"{targets.akd_vs_static:g}x static, mouth AKD <= {targets.mouth_akd_vs_static:g}x static."
        ),
        "",
        (
            "| clip | frames | L1 | static L1 | AKD px | static AKD | AKD ratio | mouth AKD | static mouth AKD "
            "| mouth ratio | AED | static AED | output frames without face | targets |"
        ),
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for ev in evaluations:
        rec, static = ev.reconstruction, ev.static
        checks = targets.reconstruction(rec, static)
        lines.append(
            f"| {ev.driving.name} | {rec.frames} | {_num(rec.l1)} | {_num(static.l1)} | {_num(rec.akd, 2)} "
            f"| {_num(static.akd, 2)} | {_ratio(rec.akd, static.akd)} | {_num(rec.mouth_akd, 2)} "
            f"| {_num(static.mouth_akd, 2)} | {_ratio(rec.mouth_akd, static.mouth_akd)} | {_num(rec.aed)} "
            f"| {_num(static.aed)} | {rec.missing_faces} | {_verdict(checks)} |"
        )
    runs = [(ev, run) for ev in evaluations for run in ev.cross]
    if runs:
        low, high = targets.mouth_amp_range
        lines += [
            "",
            (
                "**Cross-identity** (the portrait driven by the clip; reference frame picked from the first seconds as"
                f" in `render`). Targets: id_dist < {targets.max_id_dist:g}, mouth_corr >= {targets.min_mouth_corr:g},"
                f" {low:g} <= mouth_amp <= {high:g}."
            ),
            "",
            (
                "| portrait | clip | reference frame | id_dist | mouth_corr | mouth_amp | output frames without face "
                "| targets |"
            ),
            "|---|---|--:|--:|--:|--:|--:|---|",
        ]
        for ev, run in runs:
            s = run.scores
            lines.append(
                f"| {run.presenter.name} | {ev.driving.name} | {_num(run.reference_frame)} | {_num(s.id_dist)} "
                f"| {_num(s.mouth_corr, 2)} | {_num(s.mouth_amp, 2)} | {s.missing_faces} of {s.frames} "
                f"| {_verdict(targets.cross_identity(s))} |"
            )
    checks = [c for ev in evaluations for c in _all_checks(ev, targets)]
    lines += ["", f"{sum(checks)} of {len(checks)} target checks pass."]
    driven = [(ev, run, run.drivers) for ev, run in runs if run.drivers is not None]
    if driven:
        lines += [
            "",
            (
                "**Derived drivers** (each portrait driven again by drivers made from the clip's first seconds, seen in"
                " its 256-px face view; px: mean optical-flow distance at the 68 landmarks). Neutral: the clip's frame"
                " nearest the reference, held with camera noise, against the still portrait; re-encoded (x264 CRF"
                " 12), longer face (stretched 15 % tall), wider face (15 % wide): against the outputs under the clip"
                f" itself. Targets: neutral <= {targets.max_neutral_px:g} px and id <= {targets.max_neutral_id_dist:g};"
                f" re-encoded <= {targets.max_reencoded_px:g} px; each face shape <= {targets.max_face_shape_px:g} px."
            ),
            "",
            ("| portrait | clip | neutral px | neutral id | re-encoded px | re-encoded /255 | longer px | wider px "
             "| checks |"),
            "|---|---|--:|--:|--:|--:|--:|--:|---|",
        ]
        for ev, run, d in driven:
            lines.append(
                f"| {run.presenter.name} | {ev.driving.name} | {_num(d.neutral_px, 2)} | {_num(d.neutral_id_dist)} "
                f"| {_num(d.reencoded_px, 2)} | {_num(d.reencoded_pixel_diff, 2)} "
                f"| {_num(d.face_shape_px['longer_face'], 2)} | {_num(d.face_shape_px['wider_face'], 2)} "
                f"| {_verdict(targets.drivers(d))} |"
            )
        passed = [ok for _, _, d in driven for ok in targets.drivers(d).values()]
        lines += ["", f"{sum(passed)} of {len(passed)} derived-driver checks pass."]
    lines += _turn_table([(ev, run, run.turns) for ev, run in runs if run.turns is not None], targets)
    return "\n".join(lines) + "\n"


def _turn_table(turned: Sequence[tuple[ClipEvaluation, CrossIdentityRun, TurnScores]], targets: Targets) -> list[str]:
    """The head-turn table (metrics.TurnScores), with its own count of checks; no lines without turn scores."""
    if not turned:
        return []
    lines = [
        "",
        (
            "**Head turns** (yaw of driver and output, each from its own rest face by the weak-perspective fit of the"
            f" generic 3-D face, over frames with |driver yaw| <= {TURN_RANGE:g} degrees; identity and detector misses"
            f" over frames with |driver yaw| > {TURNED:g}). Targets: mean yaw error <= {targets.max_yaw_err:g} degrees,"
            f" turned id_dist < {targets.max_id_dist:g}. On the same turned frames, two floors: head only, the"
            " portrait moved by the driver's head pose alone, with no expression (what turning the photograph costs);"
            " driver itself, the driver's own frames against the driver's rest frame (what turn and expression cost a"
            " real face)."
        ),
        "",
        (
            "| portrait | clip | yaw error mean | yaw error max | driver max yaw | turned frames | turned id_dist "
            "| head only id_dist | driver itself id_dist | turned frames without face | checks |"
        ),
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for ev, run, t in turned:
        lines.append(
            f"| {run.presenter.name} | {ev.driving.name} | {_num(t.yaw_err_mean, 1)} | {_num(t.yaw_err_max, 1)} "
            f"| {_num(t.driver_yaw_max, 1)} | {t.turned_frames} | {_num(t.turned_id_dist)} | {_num(t.head_only_id_dist)} "
            f"| {_num(t.driver_turned_id_dist)} | {t.turned_missing_faces} "
            f"| {_verdict(targets.turns(t))} |"
        )
    passed = [ok for _, _, t in turned for ok in targets.turns(t).values()]
    return [*lines, "", f"{sum(passed)} of {len(passed)} head-turn checks pass."]


def _all_checks(evaluation: ClipEvaluation, targets: Targets) -> list[bool]:
    checks = list(targets.reconstruction(evaluation.reconstruction, evaluation.static).values())
    for run in evaluation.cross:
        checks += targets.cross_identity(run.scores).values()
    return checks


def _verdict(checks: dict[str, bool]) -> str:
    failed = [name for name, ok in checks.items() if not ok]
    return "pass" if not failed else "**fail**: " + ", ".join(failed)


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def _ratio(value: float | None, baseline: float | None) -> str:
    if value is None or not baseline:
        return "n/a"
    return f"{value / baseline:.2f}x"


def report_document(
    evaluations: Sequence[ClipEvaluation], command: str, machine: str, credits: Sequence[str], sheet_name: str
) -> str:
    """docs/eval.md: how and where it was measured, the tables, the contact sheet and its credits."""
    engine = evaluations[0].engine if evaluations else "?"
    credit_lines = "".join(f"- {credit}\n" for credit in credits)
    return (
        f"## Quality evaluation ({engine} engine)\n\n"
        f"Measured on {machine}, {datetime.date.today().isoformat()}, with\n\n```\n{command}\n```\n\n"
        "L1 is the mean absolute difference on [0, 1]; AKD the mean distance of dlib's 68 landmarks in pixels of the "
        "frame scaled to 256 px (mouth: points 48-67); AED and id_dist the distance between dlib 128-D face "
        "embeddings; landmarks are detected afresh on every frame. Output frames where no face is found are counted "
        "and left out of AKD/AED; mouth_corr and mouth_amp compare the lip opening (the three inner-lip "
        "pairs 61-67, 62-66, 63-65 along the face's down direction, over the outer eye corners 36-45) of output and "
        "driving frames over time. The landmarks are those of the dlib model the "
        "tracker uses, so an engine driven by them (the landmark engine) is judged by its own input's detector, "
        "which flatters its AKD; detection is also less reliable on lips under a beard or moustache. The derived "
        "drivers measure how far landmarks moved by optical flow instead (dlib's landmarks move by 0.6-1.1 px when a "
        "still portrait is shifted by a third of a pixel; the flow is right to 0.05 px): a driver holding a neutral "
        "face must leave the portrait within a pixel of itself with an identity distance near 0 (at most a third of "
        "the cross-identity target: the still portrait shifted by a third of a pixel already reads 0.03-0.05), and "
        "the same motion re-encoded or made by a longer or wider face must move it within a pixel of where the clip "
        "itself does (a 1-px shift of these portraits changes their face view by 4.8-7.2/255 on average; a reference "
        "that hinges on which frame wins moved the whole head by 2-3 px). Head turns: the yaw of driver and output is "
        "read by the landmark engine's own weak-perspective fit of a generic 3-D face (face/pose.py), each from its "
        "own rest face; the turned identity is shown beside two floors measured on the same frames (see the head-turn "
        "table).\n\n"
        f"{markdown_report(evaluations)}\n"
        f"![contact sheet: each portrait, then driving frames beside the animated output]({sheet_name})\n\n"
        + (f"Credits for the images shown:\n\n{credit_lines}" if credits else "")
    )
