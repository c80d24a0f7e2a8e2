"""`livepresenter train`: fine-tune FOMM on a lecturer's own footage (or train it from scratch).

One run: check the output and the inputs (each problem one line, before any work), cache the face crops of the
videos (frames.py), train the self-supervised objective — reconstruct one frame of a video from another, with the
perceptual, equivariance and optionally the GAN losses — saving a checkpoint in the official layout at every epoch
end and every ten minutes, then draw the loss curve and evaluate the starting weights and the result on the
held-back test videos.

Its first steps are timed, and the run says what the rest will take before going on. On a CUDA GPU the
networks run under autocast (bf16 where the GPU has it, else fp16 with a gradient scaler); the losses and the
equivariance algebra stay in float32. Every draw of a step (the pairs, their augmentation, the random warps) comes
from (seed, step), so a resumed run continues exactly as the uninterrupted one would have.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from livepresenter.errors import ConfigError, DeviceError, OutputError
from livepresenter.fomm import load_fomm
from livepresenter.fomm.checkpoint import build_models, load_weights, read_checkpoint
from livepresenter.outputs import check_output, create_output
from livepresenter.training.checkpoints import restore, save_atomically, training_checkpoint
from livepresenter.training.config import TrainConfig, read_train_config
from livepresenter.training.curve import write_loss_curve
from livepresenter.training.discriminator import MultiScaleDiscriminator, discriminator_loss, generator_gan_losses
from livepresenter.training.evaluation import SelfReconstruction
from livepresenter.training.frames import FrameSet, find_videos, prepare_frames
from livepresenter.training.losses import ImagePyramid, PerceptualLoss, RandomWarp, equivariance_losses, load_vgg19
from livepresenter.training.pairs import PairBatches

__all__ = ["TrainProgress", "TrainResult", "TrainSettings", "train"]

log = logging.getLogger(__name__)

SAVE_EVERY_S = 600.0
"""A checkpoint at least this often (and at every epoch end), so that a crash costs at most this much work."""
TIMED_STEPS = 3
"""The estimate is the mean time of the steps after the first (which warms up), checkpoint writes included."""
AVERAGE_OVER = 10
"""loss_first and loss_last are means over this many steps (fewer in short runs): one batch's loss is noisy."""
VGG_FALLBACK_NOTE = ("no VGG19 weights given (--vgg19, or train.vgg19 in config.toml): the perceptual loss is an L1 "
                     "loss on the image pyramid instead (torchvision's weights are never downloaded)")


@dataclass(frozen=True)
class TrainSettings:
    """The options of `livepresenter train` (see its --help). `init` None: from scratch; `steps` overrides `epochs`;
    `epochs`, `batch` None: the config's; `frames_dir` None: OUT's name + `-frames` beside it."""

    videos: tuple[Path, ...]
    out: Path
    init: Path | None = None
    config: str | None = None
    epochs: int | None = None
    steps: int | None = None
    batch: int | None = None
    device: str = "auto"
    resume: bool = False
    force: bool = False
    vgg19: Path | None = None
    adv: bool = False
    frames_dir: Path | None = None
    eval_frames: int = 100
    seed: int = 0


@dataclass(frozen=True)
class TrainProgress:
    """Where a run is: `stage` "frames" (finding faces; `step` counts frames read, `detail` names the video),
    "train" (steps of `total`) or "eval"."""

    stage: str
    step: int = 0
    total: int = 0
    loss: float | None = None
    seconds_per_step: float | None = None
    detail: str = ""

    @property
    def eta_s(self) -> float | None:
        return (self.total - self.step) * self.seconds_per_step if self.seconds_per_step is not None else None

    def text(self) -> str:
        if self.stage == "frames":
            return f"finding faces: {self.detail}, {self.step} frames read"
        if self.stage == "eval":
            return "evaluating the start and the result on the test videos…"
        loss = f", loss {self.loss:.4g}" if self.loss is not None else ""
        eta = f", {duration(self.eta_s)} left" if self.eta_s is not None else ""
        return f"step {self.step}/{self.total}{loss}{eta}"


@dataclass(frozen=True)
class TrainResult:
    """What a run did. `eval_init` is None when it started from scratch, both evals None when there was no test
    video (or --eval-frames 0)."""

    steps: int
    loss_first: float | None
    loss_last: float | None
    checkpoint: Path
    device: str
    loss_curve: Path
    steps_per_epoch: int
    seconds_per_step: float | None
    frames: FrameSet
    eval_init: dict | None = None
    eval_result: dict | None = None

    def to_json(self) -> dict:
        return {"steps": self.steps, "loss_first": self.loss_first, "loss_last": self.loss_last,
                "checkpoint": str(self.checkpoint), "device": self.device,
                "eval": {"init": self.eval_init, "result": self.eval_result},
                "loss_curve": str(self.loss_curve), "steps_per_epoch": self.steps_per_epoch,
                "seconds_per_step": self.seconds_per_step}


def output_stem(out: Path) -> str:
    """`my-fomm.pth.tar` -> `my-fomm`: the name the run's other files (frames, curve) are called after."""
    name = out.name
    for suffix in (".pth.tar", ".tar", ".pth", ".pt"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return out.stem


def duration(seconds: float) -> str:
    """'45 s', '12 min', '3 h 20 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def train(settings: TrainSettings, *, progress: bool = True,
          on_progress: Callable[[TrainProgress], None] | None = None) -> TrainResult:
    """Run `livepresenter train` (module docstring). `on_progress` is called at every stage and step; an exception
    it raises (a GUI's cancel) stops the run like Ctrl-C: the last checkpoint written stays as it was."""
    report = on_progress or (lambda _: None)
    _check_numbers(settings)
    device = pick_device(settings.device)
    config = read_train_config(settings.config, settings.adv)
    videos = find_videos(list(settings.videos))
    _check_output(settings, videos)
    vgg = load_vgg19(settings.vgg19) if settings.vgg19 is not None else None
    if vgg is None:
        log.warning("%s", VGG_FALLBACK_NOTE)
    trainer = Trainer(config, settings, device, vgg)
    frames_dir = settings.frames_dir or settings.out.parent / f"{output_stem(settings.out)}-frames"

    def on_frame(video: str, read: int) -> None:
        report(TrainProgress("frames", read, detail=video))

    frames = prepare_frames(videos, frames_dir, config.model.image_size, progress=progress, on_frame=on_frame)
    log.info("training frames in %s: %d videos for training, %d held back for the test", frames_dir,
             len(frames.train), len(frames.test))
    trainer.run(frames, progress, report)
    trainer.write_curve()
    eval_init = eval_result = None
    if frames.test and settings.eval_frames:
        report(TrainProgress("eval"))
        check = SelfReconstruction(frames.test, settings.eval_frames)
        log.info("evaluating on %d frames of %d test videos", check.frames, len(frames.test))
        if settings.init is not None:
            eval_init = check.scores(load_fomm(settings.init, settings.config, device=device))
        eval_result = check.scores(load_fomm(settings.out, settings.config, device=device))
    elif not frames.test:
        log.warning("no test video (too few frames with a face): the evaluation is skipped")
    total = trainer.losses["total"]
    window = max(1, min(AVERAGE_OVER, len(total) // 4))
    return TrainResult(
        steps=trainer.step,
        loss_first=float(np.mean(total[:window])) if total else None,
        loss_last=float(np.mean(total[-window:])) if total else None,
        checkpoint=settings.out,
        device=str(device),
        loss_curve=trainer.curve,
        steps_per_epoch=trainer.steps_per_epoch,
        seconds_per_step=trainer.seconds_per_step,
        frames=frames,
        eval_init=eval_init,
        eval_result=eval_result,
    )


def pick_device(name: str) -> torch.device:
    """auto: the GPU when torch sees one, else the CPU."""
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device {name}: choose auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: torch sees no CUDA GPU here (a CPU build of torch, or no driver); "
                          "use --device cpu")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def _check_numbers(settings: TrainSettings) -> None:
    for option, value in (("--epochs", settings.epochs), ("--steps", settings.steps), ("--batch", settings.batch)):
        if value is not None and value < 1:
            raise ConfigError(f"{option} must be at least 1, got {value}")
    if settings.eval_frames < 0:
        raise ConfigError(f"--eval-frames must be 0 (no evaluation) or more, got {settings.eval_frames}")
    if settings.resume and settings.force:
        raise ConfigError("--resume continues OUT and --force starts it over: give one of them")


def _check_output(settings: TrainSettings, videos: list[Path]) -> None:
    """The checkpoint can be written, replaces nothing unasked, and is none of the run's inputs."""
    out = settings.out
    inputs = [("the --init checkpoint", settings.init), ("the VGG19 weights", settings.vgg19),
              ("the FOMM config", settings.config if settings.config and Path(settings.config).exists() else None),
              *(("a training video", video) for video in videos)]
    check_output(out, inputs, overwrite=True)
    if settings.resume and not out.is_file():
        raise ConfigError(f"--resume: {out} does not exist yet; start without --resume")
    if out.exists() and not (settings.resume or settings.force):
        raise OutputError(f"{out} exists: pass --resume to continue its training, --force to train a new one over "
                          "it, or choose another --out")
    probe = out.with_name(f".{out.name}.probe")
    create_output(probe, shown_as=out)
    probe.unlink()


class Trainer:
    """The networks, their optimisers and the loop; `losses` holds every step's terms."""

    def __init__(self, config: TrainConfig, settings: TrainSettings, device: torch.device,
                 vgg: torch.nn.Module | None) -> None:
        self.config, self.settings, self.device = config, settings, device
        params = config.train_params
        self.weights = params["loss_weights"]
        self.batch = settings.batch or params["batch_size"]
        common = config.model.model_params["common_params"]
        torch.manual_seed(settings.seed)  # from scratch, the starting weights come from the seed too
        self.kp_detector, self.generator = build_models(config.model)
        self.discriminator = MultiScaleDiscriminator(**config.discriminator_params, num_kp=common["num_kp"],
                                                     num_channels=common["num_channels"])
        self.modules: dict[str, torch.nn.Module] = {"generator": self.generator, "kp_detector": self.kp_detector,
                                                    "discriminator": self.discriminator}
        self._start_weights()
        for module in self.modules.values():
            module.to(device).train()
        self.optimizers = {
            name: torch.optim.Adam(module.parameters(), lr=params[f"lr_{name}"], betas=(0.5, 0.999))
            for name, module in self.modules.items()
        }
        self.perceptual = PerceptualLoss(params["scales"], self.weights["perceptual"], vgg,
                                         common["num_channels"]).to(device)
        self.reconstruction = "perceptual" if vgg is not None else "pyramid_l1"  # its name in the losses
        self.pyramid = ImagePyramid(params["scales"], common["num_channels"]).to(device)
        self.losses: dict[str, list[float]] = {}
        self.step = self.epoch = 0
        if settings.resume:
            self.epoch, self.step, self.losses = restore(self.modules, self.optimizers, read_checkpoint(settings.out),
                                                         settings.out, config.label)
            log.info("resuming %s at step %d", settings.out, self.step)
        self.steps_per_epoch = 1
        self.seconds_per_step: float | None = None
        self.curve = settings.out.parent / f"{output_stem(settings.out)}-loss.png"
        self.amp = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if device.type == "cuda" \
            else None
        torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed input sizes: let cuDNN pick its kernels
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp is torch.float16)
        self.discriminator_scaler = torch.amp.GradScaler("cuda", enabled=self.amp is torch.float16)

    def _start_weights(self) -> None:
        """--init's weights (a fine-tune), or the official training start: jacobians begin as the identity."""
        init = self.settings.init
        if self.settings.resume:
            return  # the checkpoint's weights replace these
        if init is None:
            jacobian = self.kp_detector.jacobian
            if jacobian is not None:
                jacobian.weight.data.zero_()
                jacobian.bias.data.copy_(torch.tensor([1.0, 0, 0, 1]).repeat(jacobian.out_channels // 4))
            return
        data = read_checkpoint(init)
        load_weights(self.kp_detector, "kp_detector", data, init, self.config.label)
        load_weights(self.generator, "generator", data, init, self.config.label)
        try:
            self.discriminator.load_state_dict(data.get("discriminator") or {})
        except RuntimeError:
            if self.config.adversarial:
                log.info("%s holds no discriminator of this shape: the discriminator starts fresh", init)

    def learning_rate_scale(self, step: int) -> float:
        """From scratch: x0.1 at each of the config's epoch milestones. Fine-tuning: constant, as the official
        vox-adv fine-tune."""
        if self.settings.init is not None:
            return 1.0
        epoch = step // self.steps_per_epoch
        return 0.1 ** sum(epoch >= m for m in self.config.train_params["epoch_milestones"])

    def run(self, frames: FrameSet, progress: bool, report: Callable[[TrainProgress], None]) -> None:
        params = self.config.train_params
        self.steps_per_epoch = max(1, math.ceil(params["num_repeats"] * len(frames.train) / self.batch))
        epochs = self.settings.epochs or params["num_epochs"]
        total = self.settings.steps or epochs * self.steps_per_epoch
        if self.step >= total:
            log.info("%s has done its %d steps already; nothing to train", self.settings.out, total)
            return
        log.info("training on %s, batch %d, %d steps per epoch (%d pairs), steps %d to %d%s", self.device, self.batch,
                 self.steps_per_epoch, params["num_repeats"] * len(frames.train), self.step + 1, total,
                 "" if self.amp is None else f", mixed precision ({str(self.amp).removeprefix('torch.')})")
        batches = _loader(PairBatches(frames.train, self.batch, self.settings.seed), range(self.step, total),
                          self.device)
        saved = self.step if self.settings.resume else None
        last_save = time.monotonic()
        start = self.step
        bar = _progress_bar(total, start, progress)
        try:
            warm_since = time.perf_counter()
            for source, driving in batches:
                terms = self._step(source.to(self.device, non_blocking=True),
                                   driving.to(self.device, non_blocking=True))
                self.step += 1
                for name, value in terms.items():
                    self.losses.setdefault(name, []).append(value)
                if self.step - start == 1:  # the first step warms up (allocations, kernel choices): not timed
                    warm_since = time.perf_counter()
                elif self.step - start == 1 + TIMED_STEPS:
                    self.seconds_per_step = (time.perf_counter() - warm_since) / TIMED_STEPS
                    self._say_estimate(total)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{terms['total']:.4g}", refresh=False)
                report(TrainProgress("train", self.step, total, terms["total"], self.seconds_per_step))
                epoch_end = self.step % self.steps_per_epoch == 0
                if epoch_end or self.step == total or time.monotonic() - last_save > SAVE_EVERY_S:
                    self._save()
                    saved, last_save = self.step, time.monotonic()
        except BaseException:
            where = f"{self.settings.out} holds the checkpoint of step {saved}; --resume continues from it" \
                if saved else "no checkpoint was written yet"
            log.warning("training stopped at step %d of %d: %s", self.step, total, where)
            raise
        finally:
            if bar is not None:
                bar.close()

    def _step(self, source: torch.Tensor, driving: torch.Tensor) -> dict[str, float]:
        """One optimisation step of the generator and keypoint detector (then of the discriminator); the terms."""
        scale = self.learning_rate_scale(self.step)
        params = self.config.train_params
        for name, optimizer in self.optimizers.items():
            for group in optimizer.param_groups:
                group["lr"] = params[f"lr_{name}"] * scale
        rng = np.random.default_rng([self.settings.seed, self.step, 1])
        autocast = torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None)
        with autocast:
            kp_source = self.kp_detector(source)
            kp_driving = self.kp_detector(driving)
            prediction = self.generator(source, kp_driving=kp_driving, kp_source=kp_source)["prediction"]
            terms = {self.reconstruction: self.perceptual(prediction, driving).float()}
        if self.config.adversarial:
            terms.update(self._gan_terms(prediction, driving, kp_driving, autocast))
        transform = params["transform_params"]
        warp = RandomWarp(len(driving), transform["sigma_affine"], transform["sigma_tps"], transform["points_tps"],
                          rng, self.device)
        warped = warp.warp_image(driving, self.generator.align_corners)
        with autocast:
            kp_warped = self.kp_detector(warped)
        terms.update(equivariance_losses(kp_driving, kp_warped, warp, self.weights["equivariance_value"],
                                         self.weights["equivariance_jacobian"]))
        total = sum(terms.values())
        for name in ("generator", "kp_detector"):
            self.optimizers[name].zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        for name in ("generator", "kp_detector"):
            self.scaler.step(self.optimizers[name])
        self.scaler.update()
        values = {name: float(value.detach()) for name, value in terms.items()}
        values["total"] = float(total.detach())
        if self.config.adversarial:
            values["discriminator"] = self._discriminator_step(prediction.detach(), driving, kp_driving, autocast)
        return values

    def _gan_terms(self, prediction: torch.Tensor, driving: torch.Tensor, kp_driving: dict,
                   autocast: torch.autocast) -> dict[str, torch.Tensor]:
        kp = {key: value.detach() for key, value in kp_driving.items()}
        with autocast:
            real = self.discriminator(dict(zip(self.discriminator.scales, self.pyramid(driving))), kp)
            fake = self.discriminator(dict(zip(self.discriminator.scales, self.pyramid(prediction))), kp)
        return generator_gan_losses(real, fake, self.weights["generator_gan"], self.weights["feature_matching"])

    def _discriminator_step(self, prediction: torch.Tensor, driving: torch.Tensor, kp_driving: dict,
                            autocast: torch.autocast) -> float:
        kp = {key: value.detach() for key, value in kp_driving.items()}
        optimizer = self.optimizers["discriminator"]
        optimizer.zero_grad(set_to_none=True)  # drops what the generator's backward left on it
        with autocast:
            real = self.discriminator(dict(zip(self.discriminator.scales, self.pyramid(driving))), kp)
            fake = self.discriminator(dict(zip(self.discriminator.scales, self.pyramid(prediction))), kp)
        loss = discriminator_loss(real, fake, self.weights["discriminator_gan"])
        self.discriminator_scaler.scale(loss).backward()
        self.discriminator_scaler.step(optimizer)
        self.discriminator_scaler.update()
        return float(loss.detach())

    def _say_estimate(self, total: int) -> None:
        """The measured time of a warm step, turned into what the run will take."""
        per_step = self.seconds_per_step or 0.0
        log.info("about %.2f s per step on %s (measured): %s per epoch of %d steps, %s for the %d steps left",
                 per_step, self.device.type, duration(per_step * self.steps_per_epoch), self.steps_per_epoch,
                 duration(per_step * (total - self.step)), total - self.step)

    def _save(self) -> None:
        """The checkpoint, then the loss curve so far (cheap, and it lets a long run be watched)."""
        self.epoch = self.step // self.steps_per_epoch
        data = training_checkpoint(self.modules, self.optimizers, epoch=self.epoch, step=self.step,
                                   losses=self.losses)
        save_atomically(data, self.settings.out)
        self.write_curve()

    def write_curve(self) -> None:
        title = (f"livepresenter train: {self.settings.out.name} ({Path(self.config.label).name}, batch {self.batch}, "
                 f"{self.device.type})")
        write_loss_curve(self.losses, self.curve, title)


def _loader(dataset: PairBatches, steps: range, device: torch.device) -> torch.utils.data.DataLoader:
    """Batches in step order; on a GPU, worker processes read and augment ahead of the networks (spawned, not
    forked: the studio trains from a thread of a Qt process, where a fork can deadlock)."""
    workers = 0 if device.type == "cpu" else min(8, max(1, (os.cpu_count() or 2) // 2))
    return torch.utils.data.DataLoader(dataset, batch_size=None, sampler=steps, num_workers=workers,
                                       pin_memory=device.type == "cuda", prefetch_factor=4 if workers else None,
                                       multiprocessing_context="spawn" if workers else None)


def _progress_bar(total: int, start: int, progress: bool):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, unit="step", desc="train", file=sys.stderr, dynamic_ncols=True,
                leave=False)
