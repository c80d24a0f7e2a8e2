"""The live daemon: one process that runs the live pipeline, answers the control socket, stops cleanly on Ctrl-C or
SIGTERM, and shows the preview window when asked. It sits above the pipeline: the orchestrator knows nothing of the
control socket, the signals or the window."""

from livepresenter.daemon.process import answering, run_daemon, run_live

__all__ = ["answering", "run_daemon", "run_live"]
