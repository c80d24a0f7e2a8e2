"""`livepresenter serve`: FOMM for many laptops from one GPU, as two models of NVIDIA Triton (through PyTriton).

Triton owns the network side: gRPC streaming, dynamic batching across clients (several lecturers' frames in one
forward pass), access tokens on its restricted protocols, TLS. This module binds the `SessionAnimator` to it. PyTriton
needs numpy < 2, so it lives in its own environment (`bash scripts/setup.sh serve`); only this module imports it.
"""

from __future__ import annotations

import json
import logging
import os
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livepresenter.errors import ConfigError
from livepresenter.fomm.sessions import SessionAnimator
from livepresenter.remote.protocol import (
    ANIMATE_MODEL,
    OK,
    REFERENCE,
    SETUP_MODEL,
    SOURCE,
    UNKNOWN_SESSION,
    decode_jpeg,
    encode_jpeg,
    free_port,
    is_loopback,
    read_token,
)

log = logging.getLogger(__name__)

# Every Triton endpoint but the health check needs the token when one is set (PyTriton's names).
TOKEN_PROTECTED = ["metadata", "inference", "shared-memory", "model-config", "model-repository", "statistics",
                   "trace", "logging"]


@dataclass(frozen=True)
class ServeOptions:
    checkpoint: Path | None = None
    fomm_config: str | None = None
    host: str = "127.0.0.1"
    port: int = 8001
    token_file: Path | None = None
    max_batch: int = 16
    batch_delay_us: int = 500     # how long Triton may hold a frame for others to join its batch
    precision: str = "auto"
    device: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    log_file: Path | None = None  # Triton's own log (default: a file in the temporary folder)
    idle_expiry_s: float = 300.0
    ready_file: Path | None = None  # JSON {device, model, precision, port, pid} written once serving
    workspace: Path | None = None   # Triton's model store and its copy of the server (default: in ~/.cache/pytriton)


def server_precision(device: str) -> str:
    """The fastest accurate precision for batches: the animator's choice without CUDA graphs (a graph holds one
    session's constants) or OpenVINO (not in the server's environment)."""
    from livepresenter.fomm.animator import cpu_has_bf16

    if device.startswith("cuda"):
        return "cuda_fp16"
    return "bf16_mixed" if cpu_has_bf16() else "fp32_channels_last"


def load_model(options: ServeOptions):
    """The FOMM model to serve: the checkpoint, or random weights of `fomm_config` for measuring only."""
    from livepresenter.fomm import load_fomm
    from livepresenter.fomm.random_weights import random_model, synthetic_frames

    if options.checkpoint is not None:
        return load_fomm(options.checkpoint, options.fomm_config), str(options.checkpoint)
    if options.fomm_config is None:
        raise ConfigError("serve needs a model: pass --checkpoint vox-cpk.pth.tar (or --fomm-config YAML for random "
                          "weights, to measure a server only)")
    log.warning("no checkpoint: serving random weights of %s (for measuring only, not for presenting)",
                options.fomm_config)
    from livepresenter.fomm.config import load_config

    size = load_config(options.fomm_config).image_size
    model = random_model(synthetic_frames(4, size), config=options.fomm_config)
    return model, f"random weights ({options.fomm_config})"


class FommService:
    """The two Triton models' functions over one SessionAnimator (PyTriton calls each on its own thread)."""

    def __init__(self, animator: SessionAnimator) -> None:
        self.animator = animator

    def setup(self, session: np.ndarray, kind: np.ndarray, image: np.ndarray) -> dict[str, np.ndarray]:
        status = [self._setup_one(bytes(s[0]).decode(errors="replace"), bytes(k[0]), bytes(i[0]))
                  for s, k, i in zip(session, kind, image)]
        return {"status": np.array([[s] for s in status], dtype=np.object_)}

    def _setup_one(self, session: str, kind: bytes, data: bytes) -> bytes:
        try:
            crop = decode_jpeg(data)
        except ValueError as exc:
            return f"{kind.decode(errors='replace')} image: {exc}".encode()
        if kind == SOURCE:
            self.animator.set_source(session, crop)
            return OK
        if kind == REFERENCE:
            return OK if self.animator.set_reference(session, crop) else UNKNOWN_SESSION
        return f"unknown setup kind {kind!r}: send 'source' or 'reference'".encode()

    def animate(self, session: np.ndarray, image: np.ndarray) -> dict[str, np.ndarray]:
        keys = [bytes(s[0]).decode(errors="replace") for s in session]
        crops, status = [], []
        for row in image:
            try:
                crops.append(decode_jpeg(bytes(row[0])))
                status.append(OK)
            except ValueError as exc:
                crops.append(None)
                status.append(f"driving image: {exc}".encode())
        usable = [i for i, crop in enumerate(crops) if crop is not None]
        animated = self.animator.animate([keys[i] for i in usable], [crops[i] for i in usable])
        frames = [b""] * len(keys)
        for i, result in zip(usable, animated):
            if result is None:
                status[i] = UNKNOWN_SESSION
            else:
                frames[i] = encode_jpeg(result)
        return {"image": np.array([[f] for f in frames], dtype=np.object_),
                "status": np.array([[s] for s in status], dtype=np.object_)}


def security(options: ServeOptions):
    """Triton's access restriction: the token on every endpoint but health when a token file is given; binding
    anything but loopback without one is refused."""
    from pytriton.triton import TritonSecurityConfig

    token = read_token(options.token_file)
    if token is None and not is_loopback(options.host):
        raise ConfigError(f"serving on {options.host} needs a token: pass --token-file FILE (a long random line, e.g. "
                          "`python -c 'import secrets; print(secrets.token_urlsafe(32))' > FILE`), or bind 127.0.0.1")
    if (options.tls_cert is None) != (options.tls_key is None):
        raise ConfigError("TLS needs both --tls-cert and --tls-key")
    if not is_loopback(options.host) and options.tls_cert is None:
        log.warning("serving on %s without TLS: face crops and the token cross the network unencrypted (pass "
                    "--tls-cert and --tls-key)", options.host)
    if token is None:
        return TritonSecurityConfig()  # PyTriton's default: a random token on the management endpoints
    return TritonSecurityConfig(access_token=token, restricted_endpoints=list(TOKEN_PROTECTED))


def link_own_libpython() -> None:
    """Triton's Python backend stub must load this interpreter's libpython: put its folder first on the library
    path that the server's processes inherit (else it can link another Python's)."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    paths = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p]
    if libdir and libdir not in paths:
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join([libdir, *paths])


def start(options: ServeOptions):
    """A started Triton with both models bound (the caller serves or stops it); returns (triton, description)."""
    try:
        from pytriton.decorators import batch
        from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
        from pytriton.triton import Triton, TritonConfig
    except ImportError as exc:
        raise ConfigError(f"the server needs PyTriton ({exc}): run `bash scripts/setup.sh serve` once") from None
    import torch

    security_config = security(options)  # a refused setting fails before the model loads
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    precision = server_precision(device) if options.precision == "auto" else options.precision
    model, model_name = load_model(options)
    animator = SessionAnimator(model, precision=precision, idle_expiry_s=options.idle_expiry_s)
    animator.warm_up((1, 2, options.max_batch))
    service = FommService(animator)
    link_own_libpython()
    log_file = options.log_file or Path(tempfile.gettempdir()) / f"livepresenter-serve-{options.port}.log"
    tls = {}
    if options.tls_cert is not None:
        tls = {"grpc_use_ssl": True, "grpc_server_cert": str(options.tls_cert), "grpc_server_key": str(options.tls_key)}
    config = TritonConfig(grpc_address=options.host, grpc_port=options.port, http_address="127.0.0.1",
                          http_port=free_port(), allow_metrics=False, log_verbose=0, log_file=log_file, **tls)
    triton = Triton(config=config, security_config=security_config, workspace=options.workspace)
    triton.__enter__()
    try:
        batching = ModelConfig(max_batch_size=options.max_batch,
                               batcher=DynamicBatcher(max_queue_delay_microseconds=options.batch_delay_us))
        as_bytes = dict(dtype=np.bytes_, shape=(1,))
        triton.bind(model_name=SETUP_MODEL, infer_func=batch(service.setup), config=batching,
                    inputs=[Tensor(name="session", **as_bytes), Tensor(name="kind", **as_bytes),
                            Tensor(name="image", **as_bytes)],
                    outputs=[Tensor(name="status", **as_bytes)])
        triton.bind(model_name=ANIMATE_MODEL, infer_func=batch(service.animate), config=batching,
                    inputs=[Tensor(name="session", **as_bytes), Tensor(name="image", **as_bytes)],
                    outputs=[Tensor(name="image", **as_bytes), Tensor(name="status", **as_bytes)])
    except BaseException:
        triton.stop()
        raise
    description = (f"FOMM ({model_name}, {animator.precision} on {animator.device}) on grpc "
                   f"{options.host}:{options.port}, batches up to {options.max_batch}, "
                   f"{'token required' if options.token_file else 'no token (loopback only)'}"
                   f"{', TLS' if tls else ''}; Triton's log: {log_file}")
    if options.ready_file is not None:
        facts = {"device": str(animator.device), "model": model_name, "precision": animator.precision,
                 "port": options.port, "pid": os.getpid()}
        partial = options.ready_file.with_name(options.ready_file.name + ".partial")
        partial.write_text(json.dumps(facts) + "\n")
        partial.replace(options.ready_file)
    return triton, description


def serve(options: ServeOptions) -> int:
    """Serve until Ctrl-C or SIGTERM."""
    for name in ("pytriton", "tritonclient"):
        logging.getLogger(name).setLevel(logging.WARNING)
    triton, description = start(options)
    try:
        log.info("serving %s", description)
        triton.serve()
    finally:
        triton.stop()
    return 0
