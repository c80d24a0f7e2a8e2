"""Shared test fixtures: where ../shared is, and skips with a reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LIVEPRESENTER_SHARED", REPO.parent / "shared"))
FIXTURES = SHARED / "fomm" / "fixtures"
MEDIA = SHARED / "media"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is not beside this clone; CI has it)")
    return path


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """../shared/fomm/fixtures: golden FOMM parity data."""
    return _require(FIXTURES)


@pytest.fixture(scope="session")
def driving_dir() -> Path:
    """../shared/media/driving: real talking-head clips."""
    return _require(MEDIA / "driving")


@pytest.fixture(scope="session")
def portraits_dir() -> Path:
    """../shared/media/portraits: public-domain portraits."""
    return _require(MEDIA / "portraits")
