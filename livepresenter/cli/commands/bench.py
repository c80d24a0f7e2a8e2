"""`livepresenter bench fomm|landmark|render|soak|serve`: speed and memory benchmarks (numbers for BENCHMARKS.md, not
tests)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", choices=["fomm", "landmark", "render", "soak", "serve"],
                        help="what to measure (render: memory over a long render; soak: memory over a long live run; "
                             "both need --presenter and --driving; serve: clients of a FOMM server on loopback)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--repeats", type=int, default=10, help="timed frames per variant (default 10)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--variants", default=None,
                        help="comma-separated FOMM variants (default: all this machine supports)")
    parser.add_argument("--presenter", default=None, help="render: portrait image or profile name")
    parser.add_argument("--driving", type=Path, default=None,
                        help="render: the (long) driving video; soak: the clip played, looping, as the camera")
    parser.add_argument("--minutes", type=float, default=20.0, help="soak: how long to run live (default 20)")
    parser.add_argument("--clients", default="2",
                        help="serve: lecturers at once (default 2); a list such as 1,8,16 measures each against one "
                             "server (one JSON line each)")
    parser.add_argument("--fps", type=float, default=30.0, help="serve: each client's camera rate (default 30)")
    parser.add_argument("--seconds", type=float, default=10.0, help="serve: how long to measure (default 10)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="serve: the FOMM checkpoint to serve")
    parser.add_argument("--fomm-config", default=None,
                        help="serve: an official-style YAML; without --checkpoint, random weights of its shape")
    parser.add_argument("--max-batch", type=int, default=16, help="serve: the server's largest batch (default 16)")


def run(args: argparse.Namespace) -> int:
    if args.target == "fomm":
        from livepresenter.bench.fomm import format_table, run_benchmark

        variants = args.variants.split(",") if args.variants else None
        result = run_benchmark(args.repeats, args.threads, variants,
                               progress=lambda name: print(f"bench fomm: {name} ...", file=sys.stderr, flush=True))
    elif args.target == "serve":
        from livepresenter.bench.serve import format_table, run_benchmark

        results = run_benchmark(_counts(args.clients), args.fps, args.seconds, args.checkpoint, args.fomm_config,
                                args.max_batch)
        for result in results:
            print(format_table(result))
            if args.json:
                print(json.dumps(result))
        return 0
    elif args.target == "landmark":
        from livepresenter.bench.landmark import format_table, run_benchmark

        result = run_benchmark(frames=max(args.repeats, 50))
    else:
        from livepresenter.errors import ConfigError

        if args.presenter is None or args.driving is None:
            raise ConfigError(f"bench {args.target} needs --presenter IMAGE_OR_PROFILE and --driving VIDEO")
        if args.target == "render":
            from livepresenter.bench.render import format_table, run_benchmark

            result = run_benchmark(args.presenter, args.driving)
        else:
            from livepresenter.bench.soak import format_table, run_benchmark

            result = run_benchmark(args.presenter, args.driving, minutes=args.minutes)
    print(format_table(result))
    if args.json:
        print(json.dumps(result))
    return 0


def _counts(text: str) -> list[int]:
    from livepresenter.errors import ConfigError

    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise ConfigError(f"--clients {text!r}: give a number of clients, or a list such as 1,8,16")
    return counts
