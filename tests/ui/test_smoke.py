"""Every panel runs on its own (``python -m workbench.ui.<panel>``), and so does the app: a
window of a real size appears (reported by make_application before its quit timer closes it), and
the process quits cleanly, also while TensorFlow is still loading, also on a busy machine.

The processes are started together (a few at a time) when the first of these tests needs them:
each spends most of its life importing TensorFlow, not waiting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from workbench.ui.application import NO_WINDOW_EXIT_CODE

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "workbench.ui.builder.panel", "workbench.ui.training.panel", "workbench.ui.evaluation.panel",
    "workbench.ui.weights.panel", "workbench.ui.draw.panel", "workbench.ui.draw.canvas",
    "workbench.ui.dataset.panel", "workbench.ui.experiments.panel",
    "workbench",
]
QUIT_AFTER_MS = 1500  # the window is shown before the event loop starts; this is the loop's time
AT_ONCE = 3


def start(module: str, quit_after_ms: int = QUIT_AFTER_MS) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_QUIT_AFTER_MS=str(quit_after_ms),
               QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", module], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=180)


def check_clean(proc: subprocess.CompletedProcess) -> None:
    """Exit 0 with a window of a real size shown, and nothing on stderr a user should not see."""
    assert proc.returncode == 0, proc.stderr  # (a negative code: killed by that signal)
    shown = re.findall(r"^workbench: shown '(.*)' (\d+)x(\d+)$", proc.stdout, re.MULTILINE)
    assert shown, f"no window appeared: {proc.stdout!r} {proc.stderr!r}"
    assert all(int(w) >= 200 and int(h) >= 150 for _title, w, h in shown), shown
    assert "Traceback" not in proc.stderr
    assert "QThread: Destroyed" not in proc.stderr
    assert "terminate called" not in proc.stderr
    noise = [ln for ln in proc.stderr.splitlines()
             if "oneDNN" in ln or "absl::InitializeLog" in ln or "cpu_feature_guard" in ln]
    assert not noise, noise


@pytest.fixture(scope="module")
def started(request):
    """module -> its finished process, for the modules of the tests selected in this session."""
    wanted = [item.callspec.params["module"] for item in request.session.items
              if item.module is request.module and hasattr(item, "callspec")
              and "module" in item.callspec.params]
    with ThreadPoolExecutor(AT_ONCE) as pool:
        futures = {module: pool.submit(start, module) for module in wanted}
        return {module: future.result() for module, future in futures.items()}


@pytest.mark.parametrize("module", MODULES)
def test_opens_alone_and_closes_cleanly(started, module):
    check_clean(started[module])


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
