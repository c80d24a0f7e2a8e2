"""`livepresenter serve`: FOMM for many lecturers' laptops from one GPU machine (NVIDIA Triton, through PyTriton).

Runs in the server's own environment (`bash scripts/setup.sh serve`): started from any other interpreter, the command
hands itself over to that one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from livepresenter.remote.protocol import DEFAULT_PORT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="FOMM checkpoint to serve (default: $LIVEPRESENTER_FOMM_CHECKPOINT, then fomm.checkpoint "
                             "in config.toml)")
    parser.add_argument("--fomm-config", default=None,
                        help="official-style YAML; alone, random weights of that shape (to measure a server only)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; any other needs --token-file)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"gRPC port (default {DEFAULT_PORT})")
    parser.add_argument("--token-file", type=Path, default=None,
                        help="file holding the token every request must carry (required off loopback)")
    parser.add_argument("--max-batch", type=int, default=16,
                        help="most frames, from any clients, animated in one pass (default 16)")
    parser.add_argument("--precision", default="auto",
                        help="FOMM precision (default auto: cuda_fp16 on a GPU, else the CPU's fastest)")
    parser.add_argument("--device", default=None, help="cuda, cuda:1 or cpu (default: the GPU when there is one)")
    parser.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate for gRPC over TLS")
    parser.add_argument("--tls-key", type=Path, default=None, help="PEM key for --tls-cert")
    parser.add_argument("--idle-expiry", type=float, default=300.0, metavar="SECONDS",
                        help="forget a lecturer's presenter after this long without frames (default 300)")
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="write {device, model, precision, port, pid} as JSON here once serving (for scripts)")
    parser.add_argument("--workspace", type=Path, default=None,
                        help="a new folder for Triton's model store (default: one in ~/.cache/pytriton, removed when "
                             "the server stops)")


def _forwarded(args: argparse.Namespace) -> list[str]:
    """These options again, for the server's interpreter."""
    out = []
    for name in ("checkpoint", "fomm_config", "host", "port", "token_file", "max_batch", "precision", "device",
                 "tls_cert", "tls_key", "idle_expiry", "ready_file", "workspace"):
        value = getattr(args, name)
        if value is not None:
            out += [f"--{name.replace('_', '-')}", str(value)]
    return out


def run(args: argparse.Namespace) -> int:
    from livepresenter.config import resolve_checkpoint
    from livepresenter.remote.environment import pytriton_here, server_command

    if not pytriton_here():
        command = server_command(*_forwarded(args))
        if args.debug:
            command.insert(3, "--debug")
        sys.stdout.flush()
        os.execv(command[0], command)
    from livepresenter.remote.server import ServeOptions, serve

    checkpoint = resolve_checkpoint(args.checkpoint) if args.checkpoint or not args.fomm_config else None
    return serve(ServeOptions(checkpoint=checkpoint, fomm_config=args.fomm_config, host=args.host, port=args.port,
                              token_file=args.token_file, max_batch=args.max_batch, precision=args.precision,
                              device=args.device, tls_cert=args.tls_cert, tls_key=args.tls_key,
                              idle_expiry_s=args.idle_expiry, ready_file=args.ready_file, workspace=args.workspace))
