"""Every panel runs on its own (``python -m workbench.ui.<panel>``), and so does the app: a
window of a real size appears (reported by make_application before its quit timer closes it)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.ui.application import NO_WINDOW_EXIT_CODE

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", [
    "workbench.ui.builder.panel", "workbench.ui.training.panel", "workbench.ui.evaluation.panel",
    "workbench.ui.weights.panel", "workbench.ui.draw.panel", "workbench.ui.draw.canvas",
    "workbench.ui.dataset.panel", "workbench.ui.experiments.panel",
    "workbench",
])
def test_opens_alone_and_closes_cleanly(module):
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_QUIT_AFTER_MS="4000",
               QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", module], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    shown = re.findall(r"^workbench: shown '(.*)' (\d+)x(\d+)$", proc.stdout, re.MULTILINE)
    assert shown, f"no window appeared: {proc.stdout!r} {proc.stderr!r}"
    assert all(int(w) >= 200 and int(h) >= 150 for _title, w, h in shown), shown
    assert "Traceback" not in proc.stderr
    assert "QThread: Destroyed" not in proc.stderr
    noise = [ln for ln in proc.stderr.splitlines()
             if "oneDNN" in ln or "absl::InitializeLog" in ln or "cpu_feature_guard" in ln]
    assert not noise, noise


def test_a_program_that_shows_no_window_fails_the_smoke_check():
    code = ("from workbench.ui.application import make_application\n"
            "app = make_application()\n"
            "raise SystemExit(app.exec_())\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_QUIT_AFTER_MS="300",
               QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == NO_WINDOW_EXIT_CODE
    assert "no window appeared" in proc.stderr
