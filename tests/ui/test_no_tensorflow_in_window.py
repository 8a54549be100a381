"""The window's process never imports TensorFlow, Keras, onnxruntime or LiteRT (#26): a whole GUI
session (open, edit, train, evaluate, draw, export .keras and ONNX, sweep) in a fresh
interpreter, with the real spawned engine doing all of it, leaves none of them in the window's
``sys.modules``.
(The static half is tests/test_architecture.py's ``test_the_window_reaches_no_tensorflow``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("session")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               WORKBENCH_DATA_DIR=str(folder / "appdata"))
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ui" / "gui_session.py"),
                           str(folder)], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("SESSION ")]
    assert proc.returncode == 0 and lines, (proc.returncode, proc.stdout[-2000:],
                                            proc.stderr[-4000:])
    return json.loads(lines[-1][len("SESSION "):])


def test_the_whole_session_runs_through_the_engine(session):
    assert not session["failed"], (session["failed"], session.get("traceback"))
    assert session["steps"] == ["engine", "open", "edit", "train", "evaluate", "draw",
                                "export keras", "export onnx", "sweep"]


def test_the_window_never_imported_tensorflow_keras_or_their_runtimes(session):
    assert session["heavy"] == [], session["first_import"]  # where each was first imported
