"""Every panel runs on its own (``python -m workbench.ui.<panel>``), and so does the app."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", [
    "workbench.ui.builder.panel", "workbench.ui.training.panel", "workbench.ui.evaluation.panel",
    "workbench.ui.weights.panel", "workbench.ui.draw.panel", "workbench.ui.draw.canvas",
    "workbench",
])
def test_opens_alone_and_closes_cleanly(module):
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_QUIT_AFTER_MS="4000",
               QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", module], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "QThread: Destroyed" not in proc.stderr
    noise = [ln for ln in proc.stderr.splitlines()
             if "oneDNN" in ln or "absl::InitializeLog" in ln or "cpu_feature_guard" in ln]
    assert not noise, noise
