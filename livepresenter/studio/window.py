"""The studio window (PySide6): pick a presenter, choose or record a lecture video, generate, watch, save.

A thin layer over `jobs`, `webcam` and `settings`: long work runs on their threads and a QTimer reads their state,
so the window stays responsive. Every failure shows as one line in the message bar, never as a crash.
"""

from __future__ import annotations

import datetime
import logging
import shutil
from pathlib import Path

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from livepresenter.errors import LivepresenterError
from livepresenter.media import VideoReader
from livepresenter.presenter.profiles import Profile, add_profile, list_profiles
from livepresenter.render import RenderSettings
from livepresenter.sinks.recorder import recording_path
from livepresenter.studio.jobs import (
    JobState,
    RenderJob,
    available_engines,
    describe_error,
    output_path,
)
from livepresenter.studio.player import VideoPlayer, show_rgb
from livepresenter.studio.settings import StudioSettings, load_settings, save_settings
from livepresenter.studio.training import TrainDialog
from livepresenter.studio.webcam import WebcamRecording
from livepresenter.tray.icons import presenter_icon

__all__ = ["AddPresenterDialog", "StudioWindow"]

log = logging.getLogger(__name__)

TICK_MS = 100
_VIDEO_FILTER = "Videos (*.mp4 *.mov *.m4v *.mkv *.webm *.avi);;All files (*)"
_LAYOUTS = {"stage": "stage: the live camera's frame (1280×720)", "portrait": "portrait: the portrait alone"}


class AddPresenterDialog(QDialog):
    """A new profile from an image, checked by `profiles.add_profile` (the rules of `livepresenter profiles add`).

    On success `profile` is set and the dialog accepted; otherwise the message stays in `error` and it stays open.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add presenter")
        self.profile: Profile | None = None
        self.warnings: list[str] = []
        self.name = QLineEdit(placeholderText="e.g. marie_curie")
        self.image = QLineEdit(placeholderText="a frontal portrait, JPEG or PNG")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        image_row = QHBoxLayout()
        image_row.addWidget(self.image, 1)
        image_row.addWidget(browse)
        self.display_name = QLineEdit(placeholderText="e.g. Marie Curie (default: from the name)")
        self.rights = QLineEdit(placeholderText="e.g. Public domain: photograph published before 1930")
        self.historical = QRadioButton("Historical figure, died in")
        self.living = QRadioButton("Living person who consented:")
        self.historical.setChecked(True)
        kinds = QButtonGroup(self)
        kinds.addButton(self.historical)
        kinds.addButton(self.living)
        self.died = QSpinBox(minimum=-3000, maximum=datetime.date.today().year, value=1900)
        self.consent = QLineEdit(placeholderText="who consented to being animated, and when")
        self.error = QLabel("", wordWrap=True, styleSheet="color: #b00020;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Profile name", self.name)
        form.addRow("Portrait image", image_row)
        form.addRow("Shown as", self.display_name)
        form.addRow("Rights of the image", self.rights)
        form.addRow(self.historical, self.died)
        form.addRow(self.living, self.consent)
        form.addRow(self.error)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Portrait image", "",
                                              "Images (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff)")
        if path:
            self.image.setText(path)

    def accept(self) -> None:
        historical = self.historical.isChecked()
        try:
            self.profile, self.warnings = add_profile(
                self.name.text(), Path(self.image.text().strip()), rights=self.rights.text(),
                died=self.died.value() if historical else None, consent=None if historical else self.consent.text(),
                display_name=self.display_name.text().strip() or None)
        except LivepresenterError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class StudioWindow(QMainWindow):
    """The whole studio. `camera` is what Record opens (a camera index; tests give a video file)."""

    def __init__(self, settings: StudioSettings | None = None, camera: str = "0") -> None:
        super().__init__()
        self.setWindowTitle("livepresenter studio")
        self.setAcceptDrops(True)
        self.settings = settings or load_settings()
        self.camera = camera
        self.video: Path | None = None
        self.job: RenderJob | None = None
        self.recording: WebcamRecording | None = None
        self.result: Path | None = None
        self.training: TrainDialog | None = None
        self.menuBar().addMenu("&Tools").addAction("Train on my videos…", self.train_on_videos)

        self.presenters = QListWidget()
        self.presenters.currentItemChanged.connect(lambda *_: self._remember())
        add_button = QPushButton("Add presenter…")
        add_button.clicked.connect(self.add_presenter)
        presenter_box = QGroupBox("1. Presenter")
        presenter_layout = QVBoxLayout(presenter_box)
        presenter_layout.addWidget(self.presenters, 1)
        presenter_layout.addWidget(add_button)

        self.video_label = QLabel("no video yet: choose a file, drop one on the window, or record one",
                                  wordWrap=True)
        self.choose_button = QPushButton("Choose video…")
        self.choose_button.clicked.connect(self.choose_video)
        self.record_button = QPushButton("Record from webcam")
        self.record_button.clicked.connect(self.toggle_recording)
        self.level = QProgressBar(maximum=100, textVisible=False, maximumHeight=10)
        self.level.setToolTip("microphone level")
        self.elapsed = QLabel("")
        video_box = QGroupBox("2. Lecture video")
        video_layout = QVBoxLayout(video_box)
        video_layout.addWidget(self.video_label)
        video_row = QHBoxLayout()
        for widget in (self.choose_button, self.record_button, self.level, self.elapsed):
            video_row.addWidget(widget)
        video_layout.addLayout(video_row)

        self.engine = QComboBox()
        self.engine.addItems(available_engines())
        self.layout_choice = QComboBox()
        for key, text in _LAYOUTS.items():
            self.layout_choice.addItem(text, key)
        self.output_label = QLabel()
        folder_button = QPushButton("Change…")
        folder_button.clicked.connect(self.choose_output_folder)
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(textVisible=True)
        self.progress_label = QLabel("")
        generate_box = QGroupBox("3. Generate")
        form = QFormLayout(generate_box)
        form.addRow("Engine", self.engine)
        form.addRow("Layout", self.layout_choice)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.output_label, 1)
        folder_row.addWidget(folder_button)
        form.addRow("Output folder", folder_row)
        run_row = QHBoxLayout()
        for widget in (self.generate_button, self.cancel_button, self.progress):
            run_row.addWidget(widget)
        form.addRow(run_row)
        form.addRow(self.progress_label)

        self.player = VideoPlayer()
        self.player.notice.connect(lambda text: self.show_message(text, error=False))
        self.save_button = QPushButton("Save as…", enabled=False)
        self.save_button.clicked.connect(self.save_as)
        self.folder_button = QPushButton("Show in folder", enabled=False)
        self.folder_button.clicked.connect(self.show_in_folder)
        result_box = QGroupBox("4. Result")
        result_layout = QVBoxLayout(result_box)
        result_layout.addWidget(self.player, 1)
        result_row = QHBoxLayout()
        result_row.addStretch(1)
        result_row.addWidget(self.save_button)
        result_row.addWidget(self.folder_button)
        result_layout.addLayout(result_row)

        self.message = QLabel("", wordWrap=True)
        right = QVBoxLayout()
        for box in (video_box, generate_box, result_box):
            right.addWidget(box)
        columns = QHBoxLayout()
        columns.addWidget(presenter_box, 1)
        columns.addLayout(right, 3)
        main = QVBoxLayout()
        main.addLayout(columns, 1)
        main.addWidget(self.message)
        central = QWidget()
        central.setLayout(main)
        self.setCentralWidget(central)

        self._restore()
        self.engine.currentIndexChanged.connect(lambda *_: self._remember())
        self.layout_choice.currentIndexChanged.connect(lambda *_: self._remember())
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(TICK_MS)

    # -- settings ---------------------------------------------------------------------------------------------
    def _restore(self) -> None:
        self.fill_presenters(self.settings.presenter)
        self.engine.setCurrentIndex(max(0, self.engine.findText(self.settings.engine)))
        self.layout_choice.setCurrentIndex(max(0, self.layout_choice.findData(self.settings.layout)))
        self.output_label.setText(str(self.settings.output_folder))

    def _remember(self) -> None:
        item = self.presenters.currentItem()
        self.settings = StudioSettings(presenter=item.data(256) if item else self.settings.presenter,
                                       engine=self.engine.currentText() or self.settings.engine,
                                       layout=self.layout_choice.currentData() or self.settings.layout,
                                       output_dir=self.settings.output_dir)
        save_settings(self.settings)

    # -- presenters -------------------------------------------------------------------------------------------
    def fill_presenters(self, select: str | None = None) -> None:
        self.presenters.blockSignals(True)
        self.presenters.clear()
        for profile in list_profiles():
            years = f" ({profile.years})" if profile.years else ""
            item = QListWidgetItem(presenter_icon(profile), f"{profile.display_name}{years}")
            item.setData(256, profile.name)  # Qt.UserRole
            item.setToolTip(profile.rights or "")
            self.presenters.addItem(item)
            if profile.name == select or self.presenters.currentItem() is None:
                self.presenters.setCurrentItem(item)
        self.presenters.blockSignals(False)

    @property
    def presenter(self) -> str | None:
        item = self.presenters.currentItem()
        return item.data(256) if item else None

    def select_presenter(self, name: str) -> None:
        for row in range(self.presenters.count()):
            if self.presenters.item(row).data(256) == name:
                self.presenters.setCurrentRow(row)

    def add_presenter(self) -> None:
        dialog = AddPresenterDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.profile is not None:
            self.fill_presenters(dialog.profile.name)
            self._remember()
            self.show_message("; ".join([f"added {dialog.profile.display_name}", *dialog.warnings]), error=False)

    # -- lecture video ----------------------------------------------------------------------------------------
    def choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Lecture video", "", _VIDEO_FILTER)
        if path:
            self.set_video(Path(path))

    def set_video(self, path: Path) -> bool:
        """Use `path` as the lecture video if it can be read; otherwise say why and keep the previous one."""
        try:
            reader = VideoReader(path)
        except LivepresenterError as exc:
            self.show_message(str(exc))
            return False
        self.video = path
        length = f", {float(reader.frame_count / reader.fps):.1f} s" if reader.frame_count else ""
        sound = "with sound" if reader.has_audio else "no sound"
        self.video_label.setText(f"{path.name} ({reader.size[0]}×{reader.size[1]}{length}, {sound})")
        self.show_message("")
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            self.set_video(Path(files[0]))
            event.acceptProposedAction()

    def toggle_recording(self) -> None:
        if self.recording is None:
            self.start_recording()
        else:
            self.stop_recording()

    def start_recording(self) -> None:
        try:
            name = f"lecture-{datetime.datetime.now():%Y%m%d-%H%M%S}.mp4"
            target = recording_path(self.settings.output_folder / name)
            self.recording = WebcamRecording(target, self.camera)
        except LivepresenterError as exc:
            self.show_message(str(exc))
            return
        self.player.pause()
        self.record_button.setText("Stop recording")
        self.generate_button.setEnabled(False)
        self.show_message(self.recording.note or f"recording to {target}", error=bool(self.recording.note))

    def stop_recording(self) -> None:
        recording, self.recording = self.recording, None
        assert recording is not None
        self.record_button.setText("Record from webcam")
        self.generate_button.setEnabled(self.job is None)
        self.level.setValue(0)
        try:
            path = recording.stop()
        except LivepresenterError as exc:
            self.show_message(str(exc))
            return
        if self.set_video(path):
            self.show_message(f"recorded {path.name}", error=False)

    # -- generating -------------------------------------------------------------------------------------------
    def choose_output_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", str(self.settings.output_folder))
        if folder:
            self.settings = StudioSettings(self.settings.presenter, self.settings.engine, self.settings.layout,
                                           folder)
            self.output_label.setText(folder)
            save_settings(self.settings)

    def generate(self) -> None:
        if self.presenter is None or self.video is None:
            self.show_message("choose a presenter and a lecture video first")
            return
        try:
            target = recording_path(output_path(self.settings.output_folder, self.presenter, self.video))
        except LivepresenterError as exc:
            self.show_message(str(exc))
            return
        render = RenderSettings(engine=self.engine.currentText(), layout=self.layout_choice.currentData())
        self.player.pause()
        self.job = RenderJob(self.presenter, self.video, target, render).start()
        self.generate_button.setEnabled(False)
        self.record_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first frame: the engine is loading
        self.progress_label.setText("preparing the presenter…")
        self.show_message("")

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText("cancelling…")

    def _tick(self) -> None:
        if self.job is not None:
            self._follow_job(self.job)
        if self.recording is not None:
            self.elapsed.setText(f"{self.recording.elapsed_s:.0f} s")
            self.level.setValue(round(100 * min(1.0, self.recording.level)))
            if self.recording.preview is not None:
                show_rgb(self.player.screen, self.recording.preview)

    def _follow_job(self, job: RenderJob) -> None:
        progress = job.progress
        if progress is not None and not job.finished:
            self.progress.setRange(0, progress.total or 0)
            self.progress.setValue(progress.done)
            self.progress_label.setText(progress.text())
        if not job.finished:
            return
        self.job = None
        self.generate_button.setEnabled(True)
        self.record_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if job.state is JobState.DONE else 0)
        if job.state is JobState.DONE:
            result = job.result
            assert result is not None
            self.progress_label.setText(f"{result.frames} frames in {result.elapsed_s:.0f} s "
                                        f"({result.engine} engine, {'with' if result.has_audio else 'no'} sound)")
            self.show_result(result.output)
            if result.cut_short:
                self.show_message(result.cut_short)
        elif job.state is JobState.CANCELLED:
            self.progress_label.setText("cancelled: no file was written")
        else:
            self.progress_label.setText("failed: no file was written")
            self.show_message(job.error or "the render failed")

    def train_on_videos(self) -> TrainDialog:
        """Open (or bring back) the training dialog: `livepresenter train` in the background."""
        if self.training is None:
            self.training = TrainDialog(self.settings.output_folder, self)
        self.training.show()
        self.training.raise_()
        return self.training

    # -- result -----------------------------------------------------------------------------------------------
    def show_result(self, path: Path) -> None:
        self.result = path
        try:
            self.player.load(path)
        except LivepresenterError as exc:
            self.show_message(str(exc))
            return
        self.save_button.setEnabled(True)
        self.folder_button.setEnabled(True)
        self.show_message(f"wrote {path}", error=False)

    def save_as(self) -> None:
        if self.result is None:
            return
        target, _ = QFileDialog.getSaveFileName(self, "Save video as", str(self.result), "MP4 video (*.mp4)")
        if not target:
            return
        try:
            shutil.copyfile(self.result, target)
        except OSError as exc:
            self.show_message(describe_error(exc, Path(target)))
            Path(target).unlink(missing_ok=True)
            return
        self.show_message(f"saved {target}", error=False)

    def show_in_folder(self) -> None:
        if self.result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result.parent)))

    def show_message(self, text: str, error: bool = True) -> None:
        if text:
            (log.warning if error else log.info)("%s", text)
        self.message.setStyleSheet("color: #b00020;" if error else "color: #205020;")
        self.message.setText(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Leave nothing half-written: a running render is cancelled (its file removed), a recording finished."""
        self._timer.stop()
        self.player.pause()
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
        if self.recording is not None:
            self.stop_recording()
        if self.training is not None:
            self.training.close()  # cancels a running training; its last checkpoint stays
        super().closeEvent(event)
