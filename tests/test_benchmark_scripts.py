"""What the benchmark scripts measure with, checked on this machine (the scripts themselves are
timed runs: BENCHMARKS.md)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILD = ("import resource; from benchmarks.peak_memory import peak_rss_mib; "
         "print(peak_rss_mib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="VmHWM is read from Linux's /proc")
def test_a_childs_peak_memory_is_its_own_not_its_parents():
    ballast = np.ones(400 * 2**20 // 8)  # 400 MiB resident in this (the parent) process
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True)
    own, inherited = map(float, out.stdout.split())
    assert own < 200, own  # a bare Python with the script's imports
    assert inherited > 400, inherited  # what ru_maxrss reports: the parent's size survives fork + exec
    assert ballast.sum() == ballast.size
