"""The studio's "Train on my videos…": `livepresenter train` as a background job, and the dialog that runs it.

The job is a `BackgroundJob` like the render (jobs.py): a daemon thread, progress read by a QTimer, a cancel that takes
effect at the next frame or step, and an outcome that is a result or one line. A cancelled or failed run leaves the
last checkpoint it wrote as it was, so it can be continued later. The dialog is not modal: training takes hours,
and the studio stays usable meanwhile.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from livepresenter.config import resolve_checkpoint
from livepresenter.studio.jobs import BackgroundJob, JobState, describe_error

if TYPE_CHECKING:
    from livepresenter.training import TrainProgress, TrainResult, TrainSettings

__all__ = ["TrainDialog", "TrainJob", "checkpoint_path"]

TICK_MS = 200
_VIDEO_FILTER = "Videos (*.mp4 *.mov *.m4v *.mkv *.webm *.avi);;All files (*)"


def checkpoint_path(folder: Path, name: str = "my-fomm") -> Path:
    """`NAME.pth.tar` in `folder`, numbered so that an earlier checkpoint is never overwritten."""
    path, number = folder / f"{name}.pth.tar", 2
    while path.exists():
        path, number = folder / f"{name}-{number}.pth.tar", number + 1
    return path


class TrainJob(BackgroundJob):
    """`livepresenter.training.train` in the background; `progress` is a TrainProgress, `result` a TrainResult."""

    thread_name = "studio-train"

    def __init__(self, settings: TrainSettings) -> None:
        self.settings = settings
        super().__init__()

    def _work(self) -> TrainResult:
        from livepresenter.training import train  # torch: loaded when a training starts, not with the window

        return train(self.settings, progress=False, on_progress=self._on_progress)

    def _error_path(self) -> Path:
        return self.settings.out

    def _on_progress(self, progress: TrainProgress) -> None:
        self._check_cancel()
        self.progress = progress


class TrainDialog(QDialog):
    """Videos, the checkpoint to write and the number of epochs; Start, Cancel, and the outcome in one line."""

    def __init__(self, output_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train on my videos")
        self.job: TrainJob | None = None
        self.videos = QListWidget()
        add_files = QPushButton("Add videos…")
        add_files.clicked.connect(self.add_videos)
        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self.add_folder)
        self.out = QLineEdit(str(checkpoint_path(output_folder)))
        choose = QPushButton("Choose…")
        choose.clicked.connect(self.choose_out)
        self.resume = QCheckBox("continue its training if the file exists")
        self.epochs = QSpinBox(minimum=1, maximum=10_000, value=100)
        init = resolve_checkpoint(None)
        self.init = init if init is not None and init.is_file() else None
        start_text = f"fine-tune {self.init.name}" if self.init else "from scratch (no FOMM checkpoint configured)"
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(textVisible=True)
        self.status = QLabel("", wordWrap=True)

        video_buttons = QHBoxLayout()
        video_buttons.addWidget(add_files)
        video_buttons.addWidget(add_folder)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(choose)
        run_row = QHBoxLayout()
        for widget in (self.start_button, self.cancel_button, self.progress):
            run_row.addWidget(widget)
        form = QFormLayout()
        form.addRow("Videos of your face", self.videos)
        form.addRow("", video_buttons)
        form.addRow("Checkpoint to write", out_row)
        form.addRow("", self.resume)
        form.addRow("Start from", QLabel(start_text))
        form.addRow("Epochs", self.epochs)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(run_row)
        layout.addWidget(self.status)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(TICK_MS)

    def video_paths(self) -> list[Path]:
        return [Path(self.videos.item(row).text()) for row in range(self.videos.count())]

    def add_video(self, path: Path) -> None:
        if path not in self.video_paths():
            self.videos.addItem(str(path))

    def add_videos(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Videos of your face", "", _VIDEO_FILTER)
        for path in paths:
            self.add_video(Path(path))

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of videos")
        if folder:
            self.add_video(Path(folder))

    def choose_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Checkpoint to write", self.out.text(),
                                              "FOMM checkpoint (*.pth.tar)")
        if path:
            self.out.setText(path)

    def start(self) -> None:
        from livepresenter.training import TrainSettings

        if not self.video_paths():
            self.say("add at least one video of your face first", error=True)
            return
        out = Path(self.out.text().strip()).expanduser()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)  # the studio's output folder may not exist yet
        except OSError as exc:
            self.say(describe_error(exc, out), error=True)
            return
        settings = TrainSettings(videos=tuple(self.video_paths()), out=out, init=self.init,
                                 epochs=self.epochs.value(), resume=self.resume.isChecked() and out.is_file())
        self.job = TrainJob(settings).start()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first step
        self.say("checking the inputs…")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.say("cancelling…")

    def say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b00020;" if error else "")
        self.status.setText(text)

    def _tick(self) -> None:
        job = self.job
        if job is None:
            return
        progress = job.progress
        if progress is not None and not job.finished:
            if progress.stage == "train":
                self.progress.setRange(0, progress.total)
                self.progress.setValue(progress.step)
            else:
                self.progress.setRange(0, 0)
            self.say(progress.text())
        if job.finished:
            self._finish(job)

    def _finish(self, job: TrainJob) -> None:
        self.job = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if job.state is JobState.DONE else 0)
        kept = (f"{job.settings.out} keeps the last checkpoint; tick 'continue' to go on from it"
                if job.settings.out.is_file() else "no checkpoint was written")
        if job.state is JobState.DONE and job.result is not None:
            self.say(_outcome(job.result))
        elif job.state is JobState.CANCELLED:
            self.say(f"cancelled: {kept}")
        else:
            self.say(f"{job.error or 'the training failed'} ({kept})", error=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        """A running training is cancelled; its last checkpoint stays."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
        self._timer.stop()
        super().closeEvent(event)


def _outcome(result: TrainResult) -> str:
    """One line: what was written and whether it reconstructs the test videos better than the start."""
    line = f"wrote {result.checkpoint} ({result.steps} steps)"
    before, after = result.eval_init, result.eval_result
    if before is not None and after is not None:
        line += f"; test L1 {before['l1']:.4f} → {after['l1']:.4f}"
    line += "; use it with --checkpoint, or as fomm.checkpoint in config.toml"
    return line
