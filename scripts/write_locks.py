"""Write requirements/runtime.lock and requirements/test.lock (or, with --serve, requirements/serve.lock) from the
versions installed in this environment.

Run by scripts/lock.sh with the venv's Python (the server environment's Python for --serve) after the suite passed. pip resolves livepresenter (without and
with its test extra) again, constrained to exactly the installed versions, and reports the file it would take for each
package with that file's sha256: the lock pins the version and the hash of the file this machine kind installs.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

HEADER = """\
# Exact versions and hashes that the test suite passed with, for Linux x86_64 and Python 3.11.
# Installed by scripts/setup.sh ({mode}); refreshed by scripts/lock.sh (see README, "Dependencies"). Do not edit.
"""


def _sha256(info: dict) -> str:
    archive = info.get("archive_info", {})
    hashes = archive.get("hashes") or {}
    if "sha256" in hashes:
        return hashes["sha256"]
    if archive.get("hash", "").startswith("sha256="):
        return archive["hash"].removeprefix("sha256=")
    url = urlparse(info["url"])
    if url.scheme != "file":
        raise SystemExit(f"write_locks: pip reported no sha256 for {info['url']}")
    return hashlib.sha256(Path(unquote(url.path)).read_bytes()).hexdigest()  # a local wheel (find-links)


def resolved(target: list[str], pins: Path) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "-qq", "--dry-run", "--ignore-installed",
                        "--report", str(report), "-c", str(pins), *target], check=True)
        items = json.loads(report.read_text())["install"]
    return sorted((item["metadata"]["name"].lower(), item["metadata"]["version"], _sha256(item["download_info"]))
                  for item in items if item["metadata"]["name"].lower() != "livepresenter")


LOCKS = {"runtime": ["."], "test": [".[test]"], "serve": ["-r", "requirements/serve.in"]}


def main(out_dir: str, modes: tuple[str, ...]) -> None:
    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    freeze = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                            capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as pins:
        pins.write(freeze)
        pins.flush()
        for mode in modes:
            lines = [f"{name}=={version} \\\n    --hash=sha256:{digest}" for name, version, digest in
                     resolved(LOCKS[mode], Path(pins.name))]
            (out / f"{mode}.lock").write_text(HEADER.format(mode="plain" if mode == "runtime" else mode)
                                              + "\n".join(lines) + "\n")
            print(f"write_locks: {out / f'{mode}.lock'}: {len(lines)} packages")


if __name__ == "__main__":
    serve = "--serve" in sys.argv[1:]
    folders = [a for a in sys.argv[1:] if a != "--serve"]
    main(folders[0] if folders else "requirements", ("serve",) if serve else ("runtime", "test"))
