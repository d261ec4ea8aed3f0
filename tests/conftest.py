"""Test set-up: quiet TensorFlow, repository root on the path, real data located."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "ZOO_DATA_DIR" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
    os.environ["ZOO_DATA_DIR"] = str(ROOT.parent / "shared" / "data")


@pytest.fixture
def no_local_data(tmp_path, monkeypatch):
    """Nowhere the zoo looks holds data: ZOO_DATA_DIR an empty folder (which also stops the look beside
    the checkout), no ../shared/data beside the working directory (tmp_path). Returns tmp_path."""
    monkeypatch.setenv("ZOO_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
