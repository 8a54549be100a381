"""The real engine process, end to end: spawn, handshake, ping, a tiny run, the device; a kill -9
of the engine (one line, restarted, bounded), and a kill -9 of its parent (no orphan). The one
test file that starts TensorFlow in a process of its own."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.engine.conftest import tiny_train
from workbench.engine.client import EngineError
from workbench.engine.lifecycle import EngineProcess

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="kill -9 and /proc are Linux's")


def gone(pid: int) -> bool:
    """No such process, or only its zombie (reaped by whoever adopted it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


@pytest.fixture
def states():
    return []


@pytest.fixture
def engine(tmp_path, states):
    process = EngineProcess(on_state=lambda s, d: states.append((s, d)),
                            log_path=tmp_path / "engine.log", max_restarts=2)
    process.start(wait=60)
    yield process
    process.close()
    assert gone(process.pid)


def test_spawn_ping_a_tiny_run_and_the_device(engine, states):
    ping = engine.request("ping", timeout=30)
    assert ping["pid"] == engine.pid != os.getpid()
    messages = list(engine.stream("train", tiny_train(), timeout=300))
    assert messages[-1].body["status"] == "completed"
    weights = [m.body for m in messages if m.name == "weights"]
    assert weights[-1]["epoch"] == 0 and weights[-1]["weights"][0].shape == (784, 8)
    wait_for(lambda: engine.state == "ready", 300, "the device reported")
    assert states[0] == ("starting", "")
    assert engine.detail.startswith(("CPU (", "GPU ("))  # e.g. "GPU (NVIDIA H100 80GB HBM3)"
    assert engine.device["kind"] in ("CPU", "GPU")
    # What the window's Devices offers: with no GPU, TensorFlow started with its CPU split in two.
    choices = engine.device["choices"]
    assert choices[0] == ["One device", 1]
    if engine.device["kind"] == "CPU":
        assert choices[-1] == ["Mirrored over 2 logical CPU devices", 2]


def test_a_killed_engine_is_one_line_and_restarted(engine, states):
    first = engine.pid
    epoch_done = threading.Event()
    call = engine.submit("train", tiny_train(config={**tiny_train()["config"], "epochs": 500}),
                         on_event=lambda m: m.name == "epoch_end" and epoch_done.set())
    assert epoch_done.wait(300)
    os.kill(first, signal.SIGKILL)
    with pytest.raises(EngineError) as info:  # the run's caller hears it at once
        call.result(10)
    line = str(info.value)
    assert line.startswith("The engine stopped (killed by SIGKILL)") and "\n" not in line
    wait_for(lambda: engine.state == "ready" and engine.pid != first, 120, "a new engine")
    assert any(s == "restarting" and "killed by SIGKILL" in d and "1 of 2" in d
               for s, d in states)
    assert engine.request("ping", timeout=30)["pid"] == engine.pid
    assert gone(first)


def test_a_crash_shows_the_tail_of_its_stderr_and_restarts_are_bounded(tmp_path):
    states = []
    engine = EngineProcess(on_state=lambda s, d: states.append((s, d)),
                           log_path=tmp_path / "engine.log", max_restarts=1)
    try:
        engine.start(wait=60)
        first = engine.pid
        # After TensorFlow's import (which points fd 2 elsewhere while it runs: tf_loader).
        wait_for(lambda: engine.state == "ready", 300, "the device reported")
        os.kill(first, signal.SIGSEGV)  # as a crash inside TensorFlow or LiteRT would
        wait_for(lambda: engine.client is not None and engine.pid != first, 60, "a restart")
        restarting = [d for s, d in states if s == "restarting" and d]
        assert "killed by SIGSEGV" in restarting[0] and "Segmentation fault" in restarting[0]
        os.kill(engine.pid, signal.SIGKILL)
        wait_for(lambda: engine.state == "failed", 60, "no more restarts")
        assert "not restarted again (1 restarts)" in engine.detail
        with pytest.raises(EngineError, match="The engine stopped"):
            engine.request("ping", timeout=5)
    finally:
        engine.close()


PARENT = textwrap.dedent("""
    import json, sys, time
    from workbench.engine.lifecycle import EngineProcess
    engine = EngineProcess(log_path=sys.argv[1]).start(wait=60)
    engine.request("device", timeout=300)  # TensorFlow imported: its lines went somewhere
    print(json.dumps({"engine": engine.pid}), flush=True)
    time.sleep(600)
""")


def test_a_killed_parent_leaves_no_orphan_and_tensorflow_never_writes_to_its_terminal(
        tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "engine.log")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT),
                                   "TF_CPP_MIN_LOG_LEVEL": "0"})  # TensorFlow at its loudest
    try:
        line = parent.stdout.readline()
        assert line, parent.stderr.read().decode()
        engine = json.loads(line)["engine"]
        assert not gone(engine)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        wait_for(lambda: gone(engine), 20, "the engine ends with its parent")
        assert parent.stderr.read().decode().strip() == ""  # nothing of the engine's stderr
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()


def test_requests_fail_at_once_while_there_is_no_engine(tmp_path):
    """A window never waits for an engine that is starting or restarting: one line at once."""
    engine = EngineProcess(log_path=tmp_path / "engine.log")
    with pytest.raises(EngineError, match="the engine is stopped"):
        engine.request("ping")
    engine.state = "restarting"
    with pytest.raises(EngineError, match="the engine is restarting"):
        engine.submit("predict", {})


def test_a_log_made_for_the_engine_is_removed_when_it_closes_cleanly():
    engine = EngineProcess().start(wait=60)
    log = engine.log_path
    assert log.exists()
    engine.close()
    assert not log.exists() and gone(engine.pid)


def test_a_hung_engine_is_killed_and_restarted(tmp_path):
    """An engine that stops answering (here: stopped by SIGSTOP) is given up after the silence
    limit: killed, said in one line, and another started."""
    states = []
    engine = EngineProcess(on_state=lambda s, d: states.append((s, d)),
                           log_path=tmp_path / "engine.log", silence_s=3)
    try:
        engine.start(wait=60)
        first = engine.pid
        os.kill(first, signal.SIGSTOP)
        wait_for(lambda: engine.client is not None and engine.pid != first, 60, "a restart")
        assert any(s == "restarting" and "no answer for 3 s" in d for s, d in states)
        assert engine.request("ping", timeout=30)["pid"] == engine.pid
        wait_for(lambda: gone(first), 10, "the hung engine killed")
    finally:
        engine.close()


def test_the_engine_side_gives_up_a_silent_or_gone_window():
    """Without a message for ``parent_timeout`` the server stops; the parent watch calls its
    callback once the parent pid is not the one it was given."""
    from workbench.engine.lifecycle import watch_parent
    from workbench.engine.protocol import new_key
    from workbench.engine.server import Server

    server = Server(new_key(), {}, "inproc://silent-window", parent_timeout=0.5)
    serving = threading.Thread(target=server.serve, daemon=True)
    serving.start()
    serving.join(10)
    assert not serving.is_alive()  # it stopped by itself
    gone_called = []
    watch_parent(os.getppid() + 1, lambda: gone_called.append(True), interval=0.01)
    assert gone_called == [True]


@pytest.mark.skipif(not hasattr(os, "nice"), reason="Unix niceness")
def test_a_window_engine_runs_nicer_than_its_window(tmp_path):
    """The window's engine yields the CPU to the window where both want it (TensorFlow's import
    as the window first paints, a run as the curves redraw): it runs ``WINDOW_NICENESS``
    lower. Alone on the CPU it runs at full speed."""
    from workbench.engine.lifecycle import WINDOW_NICENESS

    with EngineProcess(log_path=tmp_path / "engine.log", niceness=WINDOW_NICENESS) as engine:
        engine.start(wait=60)
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, engine.pid) == min(ours + WINDOW_NICENESS, 19)
