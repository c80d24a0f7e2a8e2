"""A `livepresenter serve` in a child process, on loopback: for `bench serve` and the tests, which start servers and
stop them by PID."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from livepresenter.errors import DeviceError
from livepresenter.remote.environment import server_command
from livepresenter.remote.protocol import free_port

START_TIMEOUT_S = 180.0


class ServerProcess:
    """`with ServerProcess(...) as server:` a started server; `server.address`, `.token`, `.facts` (device, model,
    precision), `kill()` to end it abruptly, `start()` for a new one on the same port. `token`: True for a new random
    one, a string for that one, False for none (loopback only)."""

    def __init__(self, checkpoint: Path | None = None, fomm_config: str | Path | None = None, *,
                 port: int | None = None, token: bool | str = True, max_batch: int = 16,
                 extra: tuple[str, ...] = ()) -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._folder = tempfile.TemporaryDirectory(prefix="livepresenter-serve-")
        folder = Path(self._folder.name)
        self.token = (token if isinstance(token, str) else secrets.token_urlsafe(24)) if token else None
        self.token_file = folder / "token" if token else None
        if self.token_file is not None:
            self.token_file.write_text(self.token + "\n")
            self.token_file.chmod(0o600)
        self._ready = folder / "ready.json"
        self.log = folder / "serve.log"
        self._workspace = folder / "triton"  # a killed server leaves it: the folder's clean-up takes it
        arguments = ["--port", str(self.port), "--max-batch", str(max_batch), "--ready-file", str(self._ready),
                     "--workspace", str(self._workspace),
                     *(["--checkpoint", str(checkpoint)] if checkpoint else []),
                     *(["--fomm-config", str(fomm_config)] if fomm_config else []),
                     *(["--token-file", str(self.token_file)] if self.token_file else []), *extra]
        self._command = server_command(*arguments)
        self.process: subprocess.Popen | None = None
        self.facts: dict = {}

    def start(self) -> ServerProcess:
        self._ready.unlink(missing_ok=True)
        shutil.rmtree(self._workspace, ignore_errors=True)  # what a killed predecessor left (Triton wants it new)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self._command, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # its Triton children are stopped with it
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
                raise DeviceError(f"the FOMM server did not start: {' / '.join(tail) or 'no output'}")
            time.sleep(0.1)
        self.facts = json.loads(self._ready.read_text())
        return self

    def kill(self) -> None:
        """End the server at once (SIGKILL to its whole process group), as a crash would."""
        if self.process is not None:
            self._end_group(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """End the server cleanly (SIGINT), then whatever of its process group is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._end_group(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def _end_group(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._folder.cleanup()
