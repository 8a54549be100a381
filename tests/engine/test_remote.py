"""The engine started on its own (``workbench engine --listen``), reached as a remote one is: its
connection file, ``train --engine`` end to end, and the faults that must each be one line with
nothing run (a wrong key, a refused port, another protocol, a busy engine, a link lost mid-run).
One real engine process for the module, on a free loopback port; the CLI runs in this process."""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workbench import cli_engine
from workbench.engine import remote
from workbench.engine.client import EngineClient
from workbench.engine.protocol import PROTOCOL

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux signals")


class Engine:
    def __init__(self, process, file: Path, line: str, lines: queue.SimpleQueue):
        self.process, self.file, self.line, self.lines = process, file, line, lines

    def connection(self) -> dict:
        return json.loads(self.file.read_text())

    def client(self) -> EngineClient:
        data = self.connection()
        return EngineClient(data["address"], bytes.fromhex(data["key"]))

    def variant(self, folder: Path, **changes) -> Path:
        """A copy of the connection file with ``changes`` (a wrong key, another port...)."""
        path = folder / f"variant-{len(list(folder.glob('variant-*')))}.json"
        path.write_text(json.dumps({**self.connection(), **changes}))
        return path


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine")
    file = folder / "engine.json"
    log = open(folder / "engine.log", "w")  # noqa: SIM115 - open as long as the engine runs
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench", "engine", "--listen", "127.0.0.1:0",
         "--connection-file", str(file)], stdout=subprocess.PIPE, stderr=log, text=True,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in process.stdout], daemon=True).start()
    try:
        line = lines.get(timeout=60)
        yield Engine(process, file, line, lines)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


@pytest.fixture
def project(tmp_path) -> Path:
    """The MLP template's Dense layers on the built-in ``random-classes`` (100 numbers in, 10
    classes), one epoch."""
    data = json.loads((TEMPLATES / "mnist-mlp.json").read_text())
    data["model"]["input_shape"] = [100]
    data["model"]["layers"] = data["model"]["layers"][1:]  # no Flatten
    data["dataset"], data["training"]["epochs"] = "random-classes", 1
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data))
    return path


def test_the_connection_line_and_file_are_its_owners_only(engine):
    match = re.fullmatch(r"workbench engine listening on tcp://127\.0\.0\.1:(\d+); "
                         r"connection file (.+)\n", engine.line)
    assert match and Path(match[2]) == engine.file
    assert engine.file.stat().st_mode & 0o777 == 0o600
    data = engine.connection()
    assert data["format"] == remote.CONNECTION_FORMAT and data["protocol"] == PROTOCOL
    assert data["address"] == f"tcp://127.0.0.1:{match[1]}" and data["port"] == int(match[1])
    assert data["host"] == "127.0.0.1" and data["pid"] == engine.process.pid
    assert len(bytes.fromhex(data["key"])) == 32 and data["workbench"]
    assert [p.name for p in engine.file.parent.iterdir() if p.name.startswith(".")] == []


def test_train_on_the_engine_writes_what_a_local_run_writes(engine, cli, project, tmp_path):
    remote_run = cli("train", project, "--engine", engine.file, "--json", "--out",
                     tmp_path / "remote")
    assert remote_run.returncode == 0, remote_run.stderr
    local_run = cli("train", project, "--json", "--out", tmp_path / "local")
    assert local_run.returncode == 0, local_run.stderr
    events = [json.loads(line) for line in remote_run.stdout.splitlines()]
    local = [json.loads(line) for line in local_run.stdout.splitlines()]
    assert [e["event"] for e in events] == [e["event"] for e in local] == ["epoch_end", "done"]
    done = events[-1]
    assert set(done) == set(local[-1])
    assert done["status"] == "completed" and done["epochs"] == 1 and done["replicas"] == 1
    assert done["model"] == str(tmp_path / "remote" / "tiny.keras")
    assert done["project"] == str(tmp_path / "remote" / "tiny.json")
    # The same seeded run, on the same built-in data: the same numbers.
    assert events[0]["logs"] == pytest.approx(local[0]["logs"], rel=1e-4)
    assert done["test_loss"] == pytest.approx(local[-1]["test_loss"], rel=1e-4)
    assert sorted(p.name for p in (tmp_path / "remote").iterdir()) == ["tiny.json", "tiny.keras"]
    from workbench.core.modelio import load_model

    model = load_model(done["model"])
    assert model.output_shape == (None, 10)
    saved = json.loads(Path(done["project"]).read_text())
    assert len(saved["runs"]) == 1 and saved["runs"][0]["status"] == "completed"
    assert saved["runs"][0]["test"]["loss"] == pytest.approx(done["test_loss"])


def _one_line(run, ran: bool = False) -> str:
    """The one line on stderr of a command that failed (and printed nothing, unless it ``ran``)."""
    assert run.returncode != 0 and (ran or run.stdout == "")
    assert run.stderr.count("\n") == 1, run.stderr
    return run.stderr.strip()


def test_a_wrong_key_is_one_line_and_nothing_runs(engine, cli, project, tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "PING_TIMEOUT_S", 2.0)
    wrong = engine.variant(tmp_path, key="ab" * 32)
    line = _one_line(cli("train", project, "--engine", wrong, "--out", tmp_path / "out"))
    assert line == (f"workbench: the engine at 127.0.0.1:{engine.connection()['port']} did not "
                    f"answer a signed ping: wrong key in {wrong}, or not a Workbench engine")
    assert not (tmp_path / "out").exists()


def test_a_refused_port_and_another_protocol_are_one_line(engine, cli, project, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = engine.variant(tmp_path, port=port)
    line = _one_line(cli("train", project, "--engine", refused, "--out", tmp_path / "out"))
    assert line == (f"workbench: cannot reach the engine at 127.0.0.1:{port}: connection "
                    "refused (is `workbench engine` running there?)")
    other = engine.variant(tmp_path, protocol="workbench-engine/2")
    line = _one_line(cli("train", project, "--engine", other, "--out", tmp_path / "out"))
    assert "speaks workbench-engine/2, this Workbench speaks workbench-engine/1" in line
    line = _one_line(cli("train", project, "--engine", project, "--out", tmp_path / "out"))
    assert line.endswith("tiny.json: exists and is not a Workbench engine's connection file")
    assert not (tmp_path / "out").exists()


def test_the_engine_command_refuses_in_one_line(engine, cli, tmp_path):
    port = engine.connection()["port"]
    line = _one_line(cli("engine", "--listen", f"127.0.0.1:{port}", "--connection-file",
                         tmp_path / "second.json"))
    assert line == (f"workbench: 127.0.0.1:{port} is in use (another engine or program listens "
                    "there): choose another port")
    assert not (tmp_path / "second.json").exists()
    line = _one_line(cli("engine", "--listen", "0.0.0.0:5555"))
    assert "not a loopback address" in line and "--allow-remote" in line
    theirs = tmp_path / "notes.json"
    theirs.write_text('{"mine": true}')
    line = _one_line(cli("engine", "--listen", "127.0.0.1:0", "--connection-file", theirs))
    assert "is not a Workbench engine's connection file; it was left as it is" in line
    assert theirs.read_text() == '{"mine": true}'
    line = _one_line(cli("engine", "--listen", "127.0.0.1:0", "--connection-file", engine.file))
    assert f"belongs to a running engine (pid {engine.process.pid})" in line


def test_trains_checks_are_the_engines_and_read_as_a_local_runs(engine, cli, project, tmp_path):
    data = json.loads(project.read_text())
    data["model"]["layers"][-1]["config"]["units"] = 3  # 3 outputs for 10 classes
    project.write_text(json.dumps(data))
    there = cli("train", project, "--engine", engine.file, "--out", tmp_path / "remote")
    here = cli("train", project, "--out", tmp_path / "local")
    assert there.returncode == here.returncode == 2
    assert _one_line(there) == _one_line(here)
    assert "the model's output does not fit the labels" in there.stderr
    assert not (tmp_path / "remote").exists()


def test_an_npz_dataset_is_sent_once_then_named_by_its_content(engine, cli, project, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "noise.npz", x_train=rng.uniform(size=(300, 100)).astype("float32"),
             y_train=rng.integers(0, 10, 300), x_test=rng.uniform(size=(50, 100)).astype("float32"),
             y_test=rng.integers(0, 10, 50))
    data = json.loads(project.read_text())
    data["dataset"] = str(tmp_path / "noise.npz")
    project.write_text(json.dumps(data))
    size = (tmp_path / "noise.npz").stat().st_size
    first = cli("train", project, "--engine", engine.file, "--out", tmp_path / "one")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"Sent noise.npz to the engine ({size / 1e6:.1f} MB)\n")
    second = cli("train", project, "--engine", engine.file, "--out", tmp_path / "two")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("The engine has noise.npz already (by its content): "
                                    "0 bytes sent\n")
    runs = [json.loads((tmp_path / n / "tiny.json").read_text())["runs"] for n in ("one", "two")]
    assert runs[0][0]["dataset"] == runs[1][0]["dataset"] == str(tmp_path / "noise.npz")
    assert runs[0][0]["test"] == runs[1][0]["test"]  # the same data, the same seeded run


def test_a_folder_dataset_is_sent_once_and_trains_as_it_does_here(engine, cli, tmp_path):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(1)
    for name in ("circle", "square"):
        (tmp_path / "shapes" / name / "more").mkdir(parents=True)
        for i in range(12):
            where = tmp_path / "shapes" / name / ("more" if i % 3 == 0 else "") / f"{i}.png"
            Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(where)
    (tmp_path / "shapes" / "notes.txt").write_text("not an image, not sent")
    data = json.loads((TEMPLATES / "mnist-mlp.json").read_text())
    data["dataset"], data["training"]["epochs"] = str(tmp_path / "shapes"), 1
    data["model"]["layers"][-1]["config"]["units"] = 2
    project = tmp_path / "shapes.json"
    project.write_text(json.dumps(data))
    first = cli("train", project, "--engine", engine.file, "--json", "--out", tmp_path / "one")
    assert first.returncode == 0, first.stderr
    second = cli("train", project, "--engine", engine.file, "--out", tmp_path / "two")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("The engine has shapes already (by its content): 0 bytes")
    here = cli("train", project, "--json", "--out", tmp_path / "here")
    assert here.returncode == 0, here.stderr
    there, local = (json.loads(run.stdout.splitlines()[-1]) for run in (first, here))
    assert there["test_loss"] == pytest.approx(local["test_loss"], rel=1e-4)


def test_data_that_does_not_match_its_hash_is_refused_and_not_kept(engine):
    import numpy as np

    client = engine.client()
    try:
        body = {"hash": "0" * 64, "offset": 0, "total": 3,
                "chunk": np.frombuffer(b"abc", dtype=np.uint8)}
        with pytest.raises(Exception, match="does not match its hash"):
            client.request("put_data", body, timeout=30)
        assert client.request("has_data", {"hash": "0" * 64}, timeout=30) == {"present": False}
        with pytest.raises(Exception, match="64 lowercase hex digits"):
            client.request("has_data", {"hash": "../../etc/passwd"}, timeout=30)
    finally:
        client.close()


def _long_run(project: Path, epochs: int) -> dict:
    data = json.loads(project.read_text())
    return {"spec": data["model"], "config": {**data["training"], "epochs": epochs},
            "dataset": "random-classes", "weights": False, "title": "theirs (run 4)"}


def test_an_engine_busy_with_another_clients_run_says_so(engine, cli, project, tmp_path):
    other = engine.client()
    try:
        started = threading.Event()
        call = other.submit("train", _long_run(project, 5000),
                            on_event=lambda m: m.name == "epoch_end" and started.set())
        assert started.wait(120)
        line = _one_line(cli("train", project, "--engine", engine.file, "--out", tmp_path))
        assert re.fullmatch(r"workbench: busy: training theirs \(run 4\) for another window "
                            r"since \d\d:\d\d", line)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json"]  # nothing written
        assert other.request("stop", {"request": call.id}, timeout=10)["found"]
        assert call.result(60)["status"] == "stopped"
    finally:
        other.close()


class _Link:
    """A TCP forward to the engine (as ``ssh -L`` is). Once the engine sends a message whose
    header holds each of some ``patterns``, that message is lost and every connection dropped:
    for good (``for_good``: the forward's port is closed too), or only then (zmq reconnects)."""

    def __init__(self, port: int, patterns: list[tuple[bytes, ...]], for_good: bool):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port, self.target, self.cut = self.listener.getsockname()[1], port, threading.Event()
        self.patterns, self.for_good, self.drops = list(patterns), for_good, 0
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.cut.is_set():
            try:
                near, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                near.close()
                return
            far = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [near, far]
            threading.Thread(target=self._pipe, args=(near, far, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(far, near, True), daemon=True).start()

    def _pipe(self, source, sink, watch):
        try:
            while data := source.recv(65536):
                if watch and self.patterns and all(p in data for p in self.patterns[0]):
                    self.patterns.pop(0)
                    self.drop()  # this message is lost with the link
                    return
                sink.sendall(data)
        except OSError:
            pass

    def drop(self):
        self.drops += 1
        if self.for_good:
            self.cut.set()
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
            except OSError:
                pass
            self.listener.close()
        sockets, self.sockets = self.sockets, []
        for each in sockets:
            try:
                each.shutdown(socket.SHUT_RDWR)
                each.close()
            except OSError:
                pass


EPOCH_END = (b'"kind":"event"', b'"name":"epoch_end"')
TRAIN_REPLY = (b'"kind":"reply"', b'"name":"train"')


def test_a_link_that_drops_and_comes_back_loses_nothing(engine, cli, project, tmp_path,
                                                        monkeypatch):
    monkeypatch.setattr(cli_engine, "QUIET_S", 1.0)
    data = json.loads(project.read_text())
    data["training"].update(epochs=2, batch_size=2)  # epochs long enough to reconnect in
    project.write_text(json.dumps(data))
    link = _Link(engine.connection()["port"], [EPOCH_END, TRAIN_REPLY], for_good=False)
    forwarded = engine.variant(tmp_path, port=link.port)
    run = cli("train", project, "--engine", forwarded, "--json", "--out", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert link.drops == 2  # epoch 0's end and the run's reply were lost on the way
    events = [json.loads(line) for line in run.stdout.splitlines()]
    # Epoch 1 came live after the reconnect (the same identity: routed to this client), then
    # the reply was asked for again, and the epoch missed shown from the run's history.
    assert [(e["event"], e.get("epoch")) for e in events] == [
        ("epoch_end", 1), ("epoch_end", 0), ("done", None)]
    assert events[1]["logs"]["loss"] > 0 and events[-1]["status"] == "completed"
    assert Path(events[-1]["model"]).is_file()


@pytest.mark.timeout(120)
def test_a_link_lost_mid_run_is_one_line_and_the_run_goes_on(engine, cli, project, tmp_path,
                                                              monkeypatch):
    monkeypatch.setattr(cli_engine, "LOST_S", 2.0)
    data = json.loads(project.read_text())
    data["training"]["epochs"] = 5000
    project.write_text(json.dumps(data))
    link = _Link(engine.connection()["port"], [EPOCH_END], for_good=True)
    forwarded = engine.variant(tmp_path, port=link.port)
    run = cli("train", project, "--engine", forwarded, "--out", tmp_path / "out")
    line = _one_line(run, ran=True)
    assert run.stdout == f"Training on the engine at 127.0.0.1:{link.port}\n"
    assert line == (f"workbench: lost the connection to the engine at 127.0.0.1:{link.port}; "
                    "the run goes on there, but its results will not come back here")
    assert link.cut.is_set()
    other = engine.client()
    try:  # still training: another client is told so
        with pytest.raises(Exception, match=r"busy: training tiny \(run 1\)"):
            other.request("train", _long_run(project, 1), timeout=30)
    finally:
        other.close()


def test_sigterm_ends_the_engine_in_one_line_and_removes_its_file(engine):
    os.kill(engine.process.pid, signal.SIGTERM)  # a run of the test above may still be going
    assert engine.process.wait(30) == 0
    assert engine.lines.get(timeout=5) == (f"workbench engine stopped (SIGTERM); removed "
                                           f"{engine.file}\n")
    time.sleep(0.2)
    assert engine.lines.empty() and not engine.file.exists()
