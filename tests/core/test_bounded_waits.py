"""Waits that had no end (#24, point 14): ``--wait nan``, ``--devices 100000``, and a chief
waiting for its workers that ignored Ctrl+C and SIGTERM. The signal tests run the command as a
user does, in a process of its own: the signals are the point."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(random_classes_project):
    return random_classes_project


@pytest.mark.parametrize("args, words", [
    (["--strategy", "multi-worker", "--workers", "127.0.0.1:1,127.0.0.1:2", "--worker-index", "0",
      "--wait", "nan"], "--wait must be more than 0 and at most 86,400 seconds (a day), got nan"),
    (["--strategy", "multi-worker", "--workers", "127.0.0.1:1,127.0.0.1:2", "--worker-index", "0",
      "--wait", "inf"], "--wait must be more than 0"),
    (["--strategy", "mirrored", "--devices", "100000"],
     "--devices must be at least 1 and at most 64, got 100000"),
])
def test_unbounded_waits_are_refused_at_once(project, tmp_path, capfd, args, words):
    from workbench.cli import main

    capfd.readouterr()
    assert main(["train", str(project), "--out", str(tmp_path / "out"), *args]) == 2
    _, err = capfd.readouterr()
    assert err.count("\n") == 1 and words in err, err


def _waiting_chief(project, tmp_path, free_ports):
    """The chief of two workers, the other never started, once it waits for it (its
    TensorFlow server answers on its port)."""
    ports = free_ports(2)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "train", str(project), "--out", str(tmp_path / "out"),
         "--strategy", "multi-worker", "--workers",
         f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}", "--worker-index", "0", "--wait", "300"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True)  # its own process group, as a terminal's foreground job
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", ports[0]), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the chief never listened: {proc.communicate()[1]}")


def _one_line(proc, words):
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the signal did not end the wait")
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], err
    return proc.returncode


@pytest.mark.slow
def test_ctrl_c_ends_a_chief_waiting_for_its_workers_in_one_line(project, tmp_path, free_ports):
    proc = _waiting_chief(project, tmp_path, free_ports)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl+C does: the whole foreground group
    assert _one_line(proc, "interrupted while worker 0 waited for the other workers") == \
        -signal.SIGINT


@pytest.mark.slow
def test_sigterm_ends_a_chief_waiting_for_its_workers_in_one_line(project, tmp_path,
                                                                  free_ports):
    proc = _waiting_chief(project, tmp_path, free_ports)
    proc.terminate()  # to the process alone
    assert _one_line(proc, "terminated (SIGTERM) while worker 0 waited") != 0
