"""`livepresenter status [--json]`: what the running daemon is doing."""

from __future__ import annotations

import argparse
import json

_ROWS = (("presenter", "presenter"), ("engine", "engine"), ("frames", "engine_detail"), ("fps", "fps"),
         ("latency", "latency_ms"), ("recording", "recording"), ("vcam", "vcam"), ("realface", "realface"), ("paused", "paused"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the daemon's status object as JSON")


def _shown(key: str, value: object) -> str:
    if key == "engine_detail":  # the remote engine: where its frames come from now
        if value["on_server"]:
            return f"FOMM on {value['server']}, round trip {value['round_trip_ms']:.0f} ms"
        return f"local landmark engine: {value['server']}: {value['fallback_reason']}"
    if isinstance(value, bool) or value is None:
        return "on" if value else "off"
    return f"{value:.0f} ms" if key == "latency_ms" else str(value)


def run(args: argparse.Namespace) -> int:
    from livepresenter.control.client import request

    status = request("status")
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        width = max(len(label) for label, _ in _ROWS)
        for label, key in _ROWS:
            if key in status:
                print(f"{label:<{width}}  {_shown(key, status[key])}")
    return 0
