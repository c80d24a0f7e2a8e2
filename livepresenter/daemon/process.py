"""Running the live pipeline as a process: the control socket, the signals, the preview window."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

from livepresenter.control.server import ControlServer
from livepresenter.pipeline.orchestrator import LiveSettings, Orchestrator

__all__ = ["answering", "run_daemon", "run_live"]

log = logging.getLogger("livepresenter")

CONTROL_JOIN_S = 2.0


def run_daemon(settings: LiveSettings, *, realface: bool = False, preview: bool = False) -> dict:
    """`livepresenter run`: the live presenter answering its control socket until stopped; returns the summary."""
    control = ControlServer.listen()  # before the camera: a second daemon refuses to start here
    try:
        orchestrator = Orchestrator(settings)
    except BaseException:
        control.close()
        raise
    orchestrator.set_realface(realface)
    with answering(control, orchestrator):
        return run_live(orchestrator, preview)


@contextlib.contextmanager
def answering(control: ControlServer, orchestrator: Orchestrator) -> Iterator[None]:
    """Answer `control`'s requests with `orchestrator` on a "control" thread while the block runs (and until the
    orchestrator stops); then stop answering and close the socket."""
    thread = threading.Thread(target=control.serve, args=(orchestrator, orchestrator.stopping), name="control",
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        orchestrator.stop()
        thread.join(timeout=CONTROL_JOIN_S)
        control.close()


def run_live(orchestrator: Orchestrator, preview: bool) -> dict:
    """Run until Ctrl-C, SIGTERM, the preview closing or --max-seconds; returns the summary."""
    from livepresenter.daemon.preview import display_available, run_with_preview

    def on_signal(signum: int, _frame: object) -> None:
        log.info("stopping (%s)", signal.Signals(signum).name)
        orchestrator.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if preview and not display_available():
            log.warning("no display for --preview (set DISPLAY or run in a desktop session); running without it")
            preview = False
        if preview:
            run_with_preview(orchestrator)
            return orchestrator.summary()
        return orchestrator.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
