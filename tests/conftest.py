from __future__ import annotations

import os
from pathlib import Path

import pytest

# Hypothesis keeps a cache directory; keep it out of the working tree.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(__file__).parent / ".hypothesis"))
# The fuzz corpus cache (checks/corpus.py) too: never the user's ~/.cache from a test run.
os.environ.setdefault("OMS_CONFORMANCE_CACHE", str(Path(__file__).parent / ".corpus-cache"))

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def seed_page() -> str:
    # A copy of shared/seed/StopTaskGroup.txt, so the traceability tests run from any clone.
    return (ROOT / "tests" / "data" / "StopTaskGroup.txt").read_text(encoding="utf-8")
