"""`livepresenter train` on the tiny dev-small config (64 px) and short cuts of the test clips: the data it prepares,
the losses, that the loss falls, checkpoints that load_fomm and the official layout read, --resume that continues
exactly, Ctrl-C that keeps the last good checkpoint, one-line errors, and the studio's background job."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before pytest-qt starts Qt for the studio test

from livepresenter.cli.main import main
from livepresenter.errors import InputError
from livepresenter.fomm import load_fomm
from livepresenter.fomm.checkpoint import build_models
from livepresenter.fomm.config import load_config
from livepresenter.training import TrainSettings, train
from livepresenter.training.config import read_train_config
from livepresenter.training.discriminator import MultiScaleDiscriminator
from livepresenter.training.frames import prepare_frames
from livepresenter.training.losses import PerceptualLoss, RandomWarp, Vgg19, load_vgg19
from livepresenter.training.pairs import PairBatches
from tests.conftest import DRIVING, FIXTURES

INIT = FIXTURES / "dev-small-cpk.pth.tar"
OFFICIAL_KEYS = {"generator", "kp_detector", "discriminator", "optimizer_generator", "optimizer_kp_detector",
                 "optimizer_discriminator", "epoch"}


@pytest.fixture(autouse=True)
def no_configured_checkpoint(monkeypatch):
    monkeypatch.delenv("LIVEPRESENTER_FOMM_CHECKPOINT", raising=False)


@pytest.fixture(scope="module")
def videos(tmp_path_factory, ffmpeg) -> Path:
    """Three 0.6 s cuts of the test clips, a video without a face and a file that is no video."""
    folder = tmp_path_factory.mktemp("videos")
    for clip in sorted(DRIVING.glob("*.mp4")):
        subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(clip), "-frames:v", "15", "-an", "-c:v", "libx264",
                        str(folder / clip.name)], check=True)
    subprocess.run([ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "color=c=gray:s=128x128:d=0.4:r=25",
                    "-c:v", "libx264", str(folder / "wall.mp4")], check=True)
    (folder / "broken.mp4").write_bytes(b"not a video" * 50)
    return folder


@pytest.fixture(scope="module")
def frames_dir(videos, tmp_path_factory) -> Path:
    """The face crops, prepared once for every test of this module (each run reuses them)."""
    root = tmp_path_factory.mktemp("frames")
    prepare_frames(sorted(videos.iterdir()), root, 64, progress=False)
    return root


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Path:
    """dev-small.yaml with epochs of 2 steps at batch 2 (2 training videos x 2 repeats)."""
    data = yaml.safe_load((FIXTURES / "dev-small.yaml").read_text())
    data["train_params"].update(num_repeats=2, batch_size=2)
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def settings(videos: Path, frames_dir: Path, config: Path, out: Path, **options) -> TrainSettings:
    return TrainSettings(videos=(videos,), out=out, config=str(config), frames_dir=frames_dir, eval_frames=0,
                         **{"init": INIT, **options})


def state_of(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


# -- data ---------------------------------------------------------------------------------------------------------

def test_frames_are_cached_in_the_official_layout_and_bad_videos_named(videos, frames_dir, caplog):
    manifest = json.loads((frames_dir / "frames.json").read_text())
    assert sorted(manifest["videos"]) == sorted(p.stem for p in DRIVING.glob("*.mp4"))
    train_folders = sorted((frames_dir / "train").iterdir())
    test_folders = sorted((frames_dir / "test").iterdir())
    assert len(train_folders) == 2 and len(test_folders) == 1  # split by video
    frames = sorted(train_folders[0].glob("*.png"))
    assert len(frames) >= 5 and [int(f.stem) for f in frames][:3] == [0, 2, 4]  # 25 fps kept at ~10 per second
    assert PairBatches(train_folders, 1, 0)[0][0].shape == (1, 3, 64, 64)

    # A second run reuses every folder (no tracking) and names the unusable videos again.
    import livepresenter.training.frames as module

    class NoTracking:
        def __init__(self, *args, **kwargs):
            raise AssertionError("tracked a video whose frames were cached")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "FaceTracker", NoTracking)
        usable = sorted(p for p in videos.iterdir() if p.name not in ("wall.mp4", "broken.mp4"))
        again = prepare_frames(usable, frames_dir, 64, progress=False)
    assert sorted(again.train) == train_folders and list(again.test) == test_folders

    # Bad videos are named and skipped; the good ones go on.
    crop = frames_dir.parent / "single"
    result = prepare_frames([videos / "wall.mp4", videos / "broken.mp4", videos / "grid_bbaf2n_256.mp4"], crop, 64,
                            progress=False)
    assert [line.split(":")[0] for line in result.skipped] == [str(videos / "wall.mp4"), str(videos / "broken.mp4")]
    assert "no face found" in result.skipped[0]
    # One usable video is split in time: its last frames are the test set.
    (train_folder,), (test_folder,) = result.train, result.test
    assert max(int(f.stem) for f in train_folder.glob("*.png")) < min(int(f.stem) for f in test_folder.glob("*.png"))


def test_batches_depend_only_on_seed_and_step(frames_dir):
    folders = sorted((frames_dir / "train").iterdir())
    a, b = PairBatches(folders, 3, seed=1), PairBatches(folders, 3, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a[7], b[7], strict=True))
    assert not torch.equal(a[7][0], a[8][0])
    source, driving = a[7]
    assert source.shape == driving.shape == (3, 3, 64, 64) and 0 <= float(source.min()) <= float(source.max()) <= 1


# -- losses -------------------------------------------------------------------------------------------------------

def test_a_warp_without_noise_is_the_identity_and_its_jacobian_is_theta():
    rng = np.random.default_rng(0)
    still = RandomWarp(2, 0.0, 0.0, 5, rng, torch.device("cpu"))
    image = torch.rand(2, 3, 16, 16)
    assert torch.allclose(still.warp_image(image, align_corners=True), image, atol=1e-5)
    points = (torch.rand(2, 10, 2) * 2 - 1).requires_grad_()
    assert torch.allclose(still.jacobian(points), torch.eye(2).expand(2, 10, 2, 2), atol=1e-6)
    affine = RandomWarp(2, 0.05, 0.0, 5, rng, torch.device("cpu"))
    assert torch.allclose(affine.jacobian(points), affine.theta[:, None, :, :2].expand(2, 10, 2, 2), atol=1e-6)
    bent = RandomWarp(2, 0.0, 0.005, 5, rng, torch.device("cpu"))
    assert not torch.allclose(bent.warp_coordinates(points), points)


def test_vgg19_weights_load_from_a_local_torchvision_file(tmp_path):
    vgg = Vgg19()
    torchvision_layout = {k: torch.randn_like(v) * 0.01 for k, v in vgg.state_dict().items()}
    torchvision_layout["classifier.0.weight"] = torch.zeros(2, 2)  # the rest of the file is ignored
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(torchvision_layout, path)
    loaded = load_vgg19(path)
    assert torch.equal(loaded.features[0].weight, torchvision_layout["features.0.weight"])
    assert not any(p.requires_grad for p in loaded.parameters())
    loss = PerceptualLoss([1, 0.5], [10] * 5, loaded, 3)(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))
    assert torch.isfinite(loss) and loss > 0

    truncated = tmp_path / "cut.pth"
    truncated.write_bytes(path.read_bytes()[:1000])
    for bad, words in ((truncated, "truncated"), (tmp_path / "none.pth", "do not exist")):
        with pytest.raises(InputError, match=words):
            load_vgg19(bad)


@pytest.mark.parametrize("variant", ["vox-256", "vox-adv-256"])
def test_discriminator_names_match_the_official_checkpoints(variant):
    manifest = json.loads((FIXTURES / "vox-256-manifest.json").read_text())[variant]["discriminator"]
    config = read_train_config(variant, adv=True)
    params = {**config.discriminator_params, "sn": variant == "vox-256", "use_kp": variant == "vox-adv-256"}
    state = MultiScaleDiscriminator(**params).state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == {k: v["shape"] for k, v in manifest.items()}
    small = yaml.safe_load((FIXTURES / "dev-small.yaml").read_text())["model_params"]["discriminator_params"]
    MultiScaleDiscriminator(**small).load_state_dict(torch.load(INIT, weights_only=True)["discriminator"])


# -- training -----------------------------------------------------------------------------------------------------

def test_train_lowers_the_loss_writes_the_official_layout_and_evaluates(videos, frames_dir, tiny_config, tmp_path,
                                                                        capsys):
    out = tmp_path / "my-fomm.pth.tar"
    status = main(["train", "--videos", str(videos), "--out", str(out), "--init", str(INIT), "--config",
                   str(tiny_config), "--steps", "30", "--batch", "2", "--frames", str(frames_dir),
                   "--eval-frames", "3", "--json"])
    assert status == 0
    printed = capsys.readouterr().out.strip().splitlines()
    report = json.loads(printed[-1])
    assert report["steps"] == 30 and report["device"] == "cpu" and report["checkpoint"] == str(out)
    assert report["loss_last"] < 0.8 * report["loss_first"], report
    for side in ("init", "result"):
        assert set(report["eval"][side]) >= {"l1", "akd", "aed", "frames"} and report["eval"][side]["frames"] == 3
    assert any(line.startswith("| result |") for line in printed)
    assert Path(report["loss_curve"]) == tmp_path / "my-fomm-loss.png" and (tmp_path / "my-fomm-loss.png").stat().st_size

    data = state_of(out)
    assert OFFICIAL_KEYS <= set(data) and data["step"] == 30 and data["epoch"] == 15
    assert len(data["losses"]["total"]) == 30
    # The official Logger.load_cpk's way: strict load_state_dict of each module and each optimiser (the untrained
    # discriminator's too: the official train.py needs it to resume).
    kp_detector, generator = build_models(load_config(tiny_config))
    discriminator = MultiScaleDiscriminator(**yaml.safe_load(tiny_config.read_text())["model_params"][
        "discriminator_params"])
    for name, module in (("generator", generator), ("kp_detector", kp_detector), ("discriminator", discriminator)):
        module.load_state_dict(data[name])
        torch.optim.Adam(module.parameters()).load_state_dict(data[f"optimizer_{name}"])
    # load_fomm gives the same networks, hence identical outputs.
    model = load_fomm(out, tiny_config)
    image = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        kp_detector.eval(), generator.eval()
        ours, theirs = kp_detector(image), model.kp_detector(image)
        assert torch.equal(ours["value"], theirs["value"]) and torch.equal(ours["jacobian"], theirs["jacobian"])
        a = generator(image, kp_driving=ours, kp_source=ours)["prediction"]
        b = model.generator(image, kp_driving=theirs, kp_source=theirs)["prediction"]
    assert torch.equal(a, b)


def test_the_checkpoint_holds_the_trained_networks(videos, frames_dir, tiny_config, tmp_path):
    from livepresenter.training.trainer import Trainer

    run = settings(videos, frames_dir, tiny_config, tmp_path / "a.pth.tar", steps=3)
    frames = prepare_frames([videos / n for n in sorted(os.listdir(videos))], frames_dir, 64, progress=False)
    trainer = Trainer(read_train_config(str(tiny_config)), run, torch.device("cpu"), None)
    trainer.run(frames, progress=False, report=lambda _: None)
    model = load_fomm(run.out, tiny_config)
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        trainer.kp_detector.eval(), trainer.generator.eval()
        kp = trainer.kp_detector(image)
        assert torch.equal(kp["value"], model.kp_detector(image)["value"])
        assert torch.equal(trainer.generator(image, kp_driving=kp, kp_source=kp)["prediction"],
                           model.generator(image, kp_driving=kp, kp_source=kp)["prediction"])


def test_resume_continues_exactly_from_the_saved_step(videos, frames_dir, tiny_config, tmp_path):
    straight = train(settings(videos, frames_dir, tiny_config, tmp_path / "straight.pth.tar", steps=6),
                     progress=False)
    out = tmp_path / "resumed.pth.tar"
    train(settings(videos, frames_dir, tiny_config, out, steps=3), progress=False)
    assert state_of(out)["step"] == 3
    resumed = train(settings(videos, frames_dir, tiny_config, out, steps=6, resume=True), progress=False)
    assert resumed.steps == straight.steps == 6

    a, b = state_of(tmp_path / "straight.pth.tar"), state_of(out)
    assert b["optimizer_generator"]["state"][0]["step"] == 6  # Adam went on counting from the saved state
    assert np.allclose(a["losses"]["total"], b["losses"]["total"], rtol=0, atol=1e-5)
    for name in ("generator", "kp_detector"):
        for key, value in a[name].items():
            assert torch.allclose(value.float(), b[name][key].float(), rtol=0, atol=1e-6), f"{name}.{key}"


def test_ctrl_c_leaves_the_last_good_checkpoint(videos, frames_dir, tiny_config, tmp_path, monkeypatch, caplog):
    out = tmp_path / "cut.pth.tar"

    def interrupt_at_step_5(progress):
        if progress.stage == "train" and progress.step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(settings(videos, frames_dir, tiny_config, out, steps=8), progress=False, on_progress=interrupt_at_step_5)
    assert state_of(out)["step"] == 4  # the last epoch end before the interrupt
    assert f"{out} holds the checkpoint of step 4; --resume continues from it" in caplog.text
    good = out.read_bytes()

    # Ctrl-C in the middle of writing a checkpoint: the previous one stays, byte for byte, and no partial file.
    from livepresenter.training import checkpoints

    def interrupted_save(data, handle):
        handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.torch, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        train(settings(videos, frames_dir, tiny_config, out, steps=8, resume=True), progress=False)
    monkeypatch.undo()
    assert out.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    load_fomm(out, tiny_config)
    assert train(settings(videos, frames_dir, tiny_config, out, steps=6, resume=True), progress=False).steps == 6


def test_adversarial_training_saves_the_discriminator(videos, frames_dir, tiny_config, tmp_path):
    out = tmp_path / "adv.pth.tar"
    result = train(settings(videos, frames_dir, tiny_config, out, steps=2, adv=True), progress=False)
    data = state_of(out)
    assert {"discriminator", "optimizer_discriminator"} <= set(data)
    assert {"generator_gan", "feature_matching", "discriminator"} <= set(data["losses"])
    assert result.steps == 2 and bool(torch.isfinite(data["losses"]["total"]).all())
    MultiScaleDiscriminator(**read_train_config(str(tiny_config), adv=True).discriminator_params).load_state_dict(
        data["discriminator"])


def test_the_mixed_precision_step_runs(videos, frames_dir, tiny_config, tmp_path):
    """The GPU's bf16 autocast path, run on the CPU (no GPU here): every dtype meets, the GAN terms included."""
    from livepresenter.training.trainer import Trainer

    run = settings(videos, frames_dir, tiny_config, tmp_path / "bf16.pth.tar", steps=2, adv=True)
    frames = prepare_frames([videos / n for n in sorted(os.listdir(videos))], frames_dir, 64, progress=False)
    trainer = Trainer(read_train_config(str(tiny_config), adv=True), run, torch.device("cpu"), None)
    trainer.amp = torch.bfloat16
    trainer.run(frames, progress=False, report=lambda _: None)
    assert all(len(values) == 2 and np.isfinite(values).all() for values in trainer.losses.values())
    assert {"generator_gan", "feature_matching", "discriminator"} <= set(trainer.losses)


# -- bad input: one line ------------------------------------------------------------------------------------------

def error_of(capsys, *argv: str) -> tuple[int, str]:
    status = main(["train", *argv])
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return status, err.splitlines()[-1]


def test_bad_input_is_one_line(videos, frames_dir, tiny_config, tmp_path, capsys):
    common = ["--config", str(tiny_config), "--steps", "1", "--frames", str(frames_dir)]
    empty = tmp_path / "empty"
    empty.mkdir()
    status, line = error_of(capsys, "--videos", str(empty), "--out", str(tmp_path / "a.pth.tar"), *common)
    assert status == 3 and "no video files in" in line

    status, line = error_of(capsys, "--videos", str(videos / "wall.mp4"), str(videos / "broken.mp4"),
                            "--out", str(tmp_path / "a.pth.tar"), "--frames", str(tmp_path / "f"), "--config",
                            str(tiny_config), "--steps", "1")
    assert status == 3 and "none of the 2 videos can be used" in line and "wall.mp4: no face found" in line

    status, line = error_of(capsys, "--videos", str(videos), "--out", str(tmp_path / "missing" / "a.pth.tar"),
                            *common)
    assert status == 3 and "does not exist" in line and "missing" in line

    truncated = tmp_path / "cut-cpk.pth.tar"
    truncated.write_bytes(INIT.read_bytes()[:5000])
    status, line = error_of(capsys, "--videos", str(videos), "--out", str(tmp_path / "a.pth.tar"), "--init",
                            str(truncated), *common)
    assert status == 3 and "truncated" in line and str(truncated) in line

    existing = tmp_path / "old.pth.tar"
    existing.write_bytes(b"x")
    status, line = error_of(capsys, "--videos", str(videos), "--out", str(existing), *common)
    assert status == 3 and "--resume" in line and "--force" in line
    init = tmp_path / "init.pth.tar"
    init.write_bytes(INIT.read_bytes())
    status, line = error_of(capsys, "--videos", str(videos), "--init", str(init), "--out", str(init), "--force",
                            *common)
    assert status == 3 and "is the --init checkpoint" in line and init.read_bytes() == INIT.read_bytes()


# -- the studio ---------------------------------------------------------------------------------------------------

def test_the_studio_trains_in_the_background_and_cancels(qtbot, videos, frames_dir, tiny_config, tmp_path,
                                                         monkeypatch):
    from livepresenter.studio.jobs import JobState
    from livepresenter.studio.settings import StudioSettings
    from livepresenter.studio.training import TrainJob
    from livepresenter.studio.window import StudioWindow

    monkeypatch.setenv("LIVEPRESENTER_CONFIG_DIR", str(tmp_path / "config"))
    window = StudioWindow(StudioSettings(output_dir=str(tmp_path / "out")))
    qtbot.addWidget(window)
    (action,) = [a for menu in window.menuBar().actions() for a in menu.menu().actions()
                 if a.text() == "Train on my videos…"]
    action.trigger()
    dialog = window.training
    assert dialog is not None and dialog.isVisible()
    dialog.start()
    assert "add at least one video" in dialog.status.text()

    out = tmp_path / "studio.pth.tar"
    job = TrainJob(settings(videos, frames_dir, tiny_config, out, steps=200)).start()
    dialog.job = job
    qtbot.waitUntil(lambda: job.progress is not None and job.progress.stage == "train" and job.progress.step >= 3,
                    timeout=120_000)
    assert "step " in job.progress.text()
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=120_000)
    assert job.state is JobState.CANCELLED and state_of(out)["step"] >= 2
    assert dialog.status.text().startswith(f"cancelled: {out} keeps the last checkpoint")
