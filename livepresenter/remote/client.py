"""The laptop's side of remote mode: one session on the FOMM server over tritonclient's gRPC stream.

`animate(crop)` never blocks longer than the deadline: it answers None when the server is unreachable, refuses, or
is late, and the engine shows the landmark engine's frame instead. While answers are missing it sends one probe
frame at a time without waiting, and reconnects at most once a second; the first probe answered in time makes the
server usable again. A server that forgot the session (expired, restarted) is sent the presenter again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from livepresenter.errors import ConfigError
from livepresenter.remote.protocol import (
    ANIMATE_MODEL,
    OK,
    REFERENCE,
    SETUP_MODEL,
    SOURCE,
    TOKEN_HEADER,
    UNKNOWN_SESSION,
    decode_jpeg,
    encode_jpeg,
    parse_server,
)

log = logging.getLogger(__name__)

DEADLINE_S = 0.25        # a frame later than this is shown from the local engine
RECONNECT_EVERY_S = 1.0  # at most one new connection attempt per second
NOT_CONNECTED, SENDING = "not connected yet", "presenter being sent"


@dataclass
class Reply:
    """One request's answer, filled in by the stream's thread."""

    sent: float
    done: threading.Event = field(default_factory=threading.Event)
    status: bytes = b""
    image: bytes = b""
    error: str | None = None


class Inbox:
    """Requests in flight by id, answered from tritonclient's stream thread. Separate from the client object so the
    stream's callback does not keep the client alive (its finalizer closes the stream)."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.broken: str | None = None  # why the stream ended, until a reconnect
        self.lock = threading.Lock()

    def add(self, request_id: str, now: float) -> Reply:
        with self.lock:
            reply = self.replies[request_id] = Reply(now)
            return reply

    def callback(self, result, error) -> None:
        if error is not None:  # the stream is over (server gone, token refused): every open request with it
            with self.lock:
                self.broken = str(error)
                replies, self.replies = list(self.replies.values()), {}
            for reply in replies:
                reply.error = self.broken
                reply.done.set()
            return
        response = result.get_response()
        with self.lock:
            reply = self.replies.pop(response.id, None)
        if reply is None:
            return  # an answer nobody waits for any more
        reply.status = bytes(result.as_numpy("status").reshape(-1)[0])
        if response.model_name == ANIMATE_MODEL:
            reply.image = bytes(result.as_numpy("image").reshape(-1)[0])
        reply.done.set()


def _bytes_input(grpc, name: str, value: bytes):
    tensor = grpc.InferInput(name, [1, 1], "BYTES")
    tensor.set_data_from_numpy(np.array([[value]], dtype=np.object_))
    return tensor


def describe_refusal(message: str) -> str:
    """A short reason for the user from a gRPC error (the token is never in it)."""
    if "restricted" in message:
        return "the server refused the token (check --token-file)"
    if any(word in message.lower() for word in ("unavailable", "connect", "no longer in valid state")):
        return "server unreachable"
    return message.splitlines()[0][:200]


class RemoteAnimator:
    """A presenter session on a `livepresenter serve` server: `set_source`, `set_reference`, `animate`.

    `deadline_s` bounds each `animate` call, the wait for a presenter just sent included when `offline` (render,
    eval, benchmarks: frames are not shown live, so waiting beats missing one).
    """

    def __init__(self, server: str, token: str | None = None, tls_ca: Path | None = None,
                 deadline_s: float = DEADLINE_S, offline: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        try:
            import tritonclient.grpc as grpc
        except ImportError as exc:
            raise ConfigError(f"remote mode needs tritonclient ({exc}): pip install 'tritonclient[grpc]'") from None
        host, port = parse_server(server)
        self.server = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        self._grpc = grpc
        self._headers = {TOKEN_HEADER: token} if token else None
        self._tls_ca = str(tls_ca) if tls_ca else None
        self.deadline_s = deadline_s
        self.offline = offline
        self._clock = clock
        self.session = uuid.uuid4().hex
        self._inbox = Inbox()
        self._client = None
        self._last_connect = -1e9
        self._count = 0
        self._setup: dict[bytes, bytes] = {}      # kind -> JPEG, re-sent after a reconnect or a lost session
        self._setup_replies: list[Reply] = []
        self._probe: Reply | None = None           # the one frame in flight while the server is not answering
        self.reason: str | None = NOT_CONNECTED  # why the last frame did not come from the server
        self.rtt_ms: float | None = None
        self.sending_presenter = False  # the last frame was missed only because the presenter is on its way
        self._client_box: list = []  # the open client, for the finalizer (which must not hold `self`)
        self._finalizer = weakref.finalize(self, _close_client, self._client_box)

    # -- setup ---------------------------------------------------------------------------------------------------------
    def set_source(self, crop: np.ndarray) -> None:
        self._setup[SOURCE] = encode_jpeg(crop)
        self._update((SOURCE, REFERENCE))

    def set_reference(self, crop: np.ndarray) -> None:
        self._setup[REFERENCE] = encode_jpeg(crop)
        self._update((REFERENCE,))

    def _update(self, kinds: tuple[bytes, ...]) -> None:
        """Send changed setup on the open stream; a new connection sends all of it anyway."""
        if self._client is not None and self._inbox.broken is None:
            self._send_setup(kinds)
        else:
            self._connected()

    def _send_setup(self, kinds: tuple[bytes, ...] = (SOURCE, REFERENCE)) -> None:
        """Send what the server must hold (on the stream, ahead of any frame sent after it)."""
        replies = [self._send(SETUP_MODEL, [_bytes_input(self._grpc, "session", self.session.encode()),
                                            _bytes_input(self._grpc, "kind", kind),
                                            _bytes_input(self._grpc, "image", self._setup[kind])])
                   for kind in kinds if kind in self._setup]
        self._setup_replies = [r for r in (*self._setup_replies, *replies) if r is not None]

    def _setup_state(self) -> str:
        """"ok", "pending", "broken" (the stream ended) or "lost" (an answer said the server forgot the session, or a
        setup failed)."""
        state = "ok"
        for reply in self._setup_replies:
            if not reply.done.is_set():
                state = "pending"
            elif reply.error:
                return "broken"
            elif reply.status != OK:
                return "lost"
        self._setup_replies = [r for r in self._setup_replies if not r.done.is_set()]
        return state

    # -- frames --------------------------------------------------------------------------------------------------------
    def animate(self, crop: np.ndarray) -> np.ndarray | None:
        """The animated face crop, or None (with `reason` set) when the server cannot give it within the deadline."""
        started = self._clock()
        if not self._connected():
            return self._miss(self.reason or NOT_CONNECTED)
        if self.offline:  # nobody watches: wait for the presenter to reach the server rather than miss the frame
            for reply in list(self._setup_replies):
                reply.done.wait(max(0.0, self.deadline_s - (self._clock() - started)))
        setup = self._setup_state()
        if setup == "broken" or self._inbox.broken is not None:  # the stream ended: say why, reconnect later
            return self._miss(describe_refusal(self._inbox.broken or "stream ended"))
        if setup == "lost":
            self._send_setup()
            return self._miss("the server lost this session: presenter sent again")
        if setup == "pending" or SOURCE not in self._setup:
            self.reason = self.reason or SENDING
            self.sending_presenter = True
            return None
        # Wait for this frame when the server answered the last one in time, or has just confirmed the presenter.
        waiting = self.reason is None or self.sending_presenter
        if self._probe is not None:
            if not self._probe.done.is_set():
                return self._miss(self.reason or "server too slow")
            probe, self._probe = self._probe, None
            if self._answered(probe) is not None:
                waiting = True  # the probe came back: try this frame in full
        reply = self._send(ANIMATE_MODEL, [_bytes_input(self._grpc, "session", self.session.encode()),
                                           _bytes_input(self._grpc, "image", encode_jpeg(crop))])
        if reply is None:
            return self._miss(self.reason or NOT_CONNECTED)
        if not waiting:
            self._probe = reply
            return self._miss(self.reason or "server too slow")
        if not reply.done.wait(max(0.0, self.deadline_s - (self._clock() - started))):
            self._probe = reply
            return self._miss(f"server later than {self.deadline_s * 1000:.0f} ms")
        return self._answered(reply)

    def _answered(self, reply: Reply) -> np.ndarray | None:
        elapsed = self._clock() - reply.sent
        if reply.error:
            return self._miss(describe_refusal(reply.error))
        if reply.status == UNKNOWN_SESSION:
            self._send_setup()
            return self._miss("the server lost this session: presenter sent again")
        if reply.status != OK:
            return self._miss(reply.status.decode(errors="replace"))
        if elapsed > self.deadline_s:
            return self._miss(f"server later than {self.deadline_s * 1000:.0f} ms")
        self.rtt_ms = elapsed * 1000
        self.reason = None
        self.sending_presenter = False
        return decode_jpeg(reply.image)

    def _miss(self, reason: str) -> None:
        self.reason = reason
        self.sending_presenter = False
        return None

    # -- connection ----------------------------------------------------------------------------------------------------
    def _connected(self) -> bool:
        """A live stream, opening a new one (and re-sending the presenter) at most once a second."""
        if self._client is not None and self._inbox.broken is None:
            return True
        if self._inbox.broken is not None:
            self.reason = describe_refusal(self._inbox.broken)
            self._close()
        now = self._clock()
        if now - self._last_connect < RECONNECT_EVERY_S:
            return False
        self._last_connect = now
        self._inbox = Inbox()  # answers to the old stream are not waited for
        try:
            client = self._grpc.InferenceServerClient(self.server, ssl=self._tls_ca is not None,
                                                      root_certificates=self._tls_ca)
            client.start_stream(callback=self._inbox.callback, headers=self._headers)
        except Exception as exc:  # noqa: BLE001 - any failure to connect means: try again in a second
            self.reason = describe_refusal(str(exc))
            return False
        self._client = client
        self._client_box[:] = [client]
        self._probe = None
        self._setup_replies = []
        if self.reason in (None, NOT_CONNECTED):  # a failure's reason stays until the server answers
            self.reason = SENDING
        self.sending_presenter = True
        self._send_setup()
        return True

    def _send(self, model: str, inputs: list) -> Reply | None:
        if self._client is None:
            return None
        self._count += 1
        request_id = f"{self._count}"
        reply = self._inbox.add(request_id, self._clock())
        try:
            self._client.async_stream_infer(model, inputs, request_id=request_id)
        except Exception as exc:  # noqa: BLE001 - a dead stream: reconnect on a later frame
            self._inbox.broken = self._inbox.broken or str(exc)  # the stream's own error says more
            self.reason = describe_refusal(self._inbox.broken)
            return None
        return reply

    def _close(self) -> None:
        _close_client(self._client_box)
        self._client = None

    def close(self) -> None:
        self._finalizer()


def _close_client(box: list) -> None:
    """Stop the stream's thread and the channel (also when the animator is collected without `close`)."""
    for client in box:
        try:
            client.stop_stream(cancel_requests=True)
            client.close()
        except Exception:  # noqa: BLE001 - closing a connection that already failed
            pass
    box.clear()
