"""A kill -9 of the window leaves no engine behind (#26): the real app (``python -m workbench``)
spawns its engine at start; killed without a chance to clean up, its engine ends by itself
(the kernel's parent-death signal, its parent watch, or its heartbeat timeout)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.test_process import gone, wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def engine_children(parent: int) -> list[int]:
    """The pids of ``parent``'s children running ``workbench.engine``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and "workbench.engine" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_window_leaves_no_engine(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_QUIT_AFTER_MS": "120000"}
    window = subprocess.Popen([sys.executable, "-m", "workbench"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        engines: list[int] = []
        deadline = time.monotonic() + 60
        while not engines and time.monotonic() < deadline and window.poll() is None:
            engines = engine_children(window.pid)
            time.sleep(0.1)
        ended = window.poll() is not None
        assert engines, f"no engine started: {window.stderr.read().decode() if ended else ''}"
        time.sleep(3)  # the engine is importing TensorFlow, the window painting
        os.kill(window.pid, signal.SIGKILL)
        window.wait(10)
        wait_for(lambda: all(gone(pid) for pid in engines), 20, "the engine ends with its window")
    finally:
        if window.poll() is None:
            window.kill()
        window.wait()
