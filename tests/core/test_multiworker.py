"""``train --strategy multi-worker``: the cluster's set-up checks without TensorFlow, and two worker
processes on this machine as a user starts them on two (one command each, free local ports)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.core.test_cli import ROOT, assert_one_line_error, run
from workbench.core.distribute import StrategyError, check_port_free, parse_workers, tf_config


def test_workers_and_tf_config():
    workers = parse_workers("10.0.0.1:2222, gpu-box:2223")
    assert workers == [("10.0.0.1", 2222), ("gpu-box", 2223)]
    assert tf_config(workers, 1) == {"cluster": {"worker": ["10.0.0.1:2222", "gpu-box:2223"]},
                                     "task": {"type": "worker", "index": 1}}
    for bad, words in [("host", "not HOST:PORT"), ("h:0,h:1", "not HOST:PORT"),
                       ("h:1", "at least two"), ("h:1,h:1", "twice"), ("h:x,h:2", "HOST:PORT")]:
        with pytest.raises(StrategyError, match=words):
            parse_workers(bad)
    with pytest.raises(StrategyError, match="from 0 to 1"):
        tf_config(workers, 2)


def test_a_port_in_use_is_refused_before_tensorflow(tiny, free_ports):
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StrategyError, match=f"port {port} .* in use"):
            check_port_free(port)
        other = free_ports(1)[0]
        assert_one_line_error(
            run("train", tiny / "mlp.json", "--strategy", "multi-worker", "--workers",
                f"127.0.0.1:{port},127.0.0.1:{other}", "--worker-index", "0"),
            f"port {port}", "in use")
    assert_one_line_error(run("train", tiny / "mlp.json", "--strategy", "multi-worker",
                              "--workers", "127.0.0.1:1,127.0.0.1:2"), "--worker-index")


@pytest.mark.slow  # a multi-worker process that waits for its peer
def test_a_worker_that_never_comes_is_one_line_after_the_wait(tiny, tmp_path, free_ports):
    ports = free_ports(2)
    proc = run("train", tiny / "mlp.json", "--out", tmp_path, "--strategy", "multi-worker",
               "--workers", f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}", "--worker-index", "0",
               "--wait", "2")
    assert_one_line_error(proc, f"127.0.0.1:{ports[1]}", "did not join within 2 s")


def start(project, out, workers, index, *more):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "train", str(project), "--json", "--out", str(out),
         "--strategy", "multi-worker", "--workers", workers, "--worker-index", str(index),
         *map(str, more)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def events(proc):
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.slow  # four TensorFlow processes and a heartbeat timeout: ~60 s on 2 cores
def test_two_workers_survive_a_killed_one_and_end_with_the_same_weights(tiny, tmp_path,
                                                                       free_ports):
    project = json.loads((tiny / "mlp.json").read_text())
    project["training"]["epochs"] = 3
    path = tmp_path / "mlp.json"
    path.write_text(json.dumps(project))
    outs = [tmp_path / "chief", tmp_path / "worker"]
    ports = free_ports(2)
    workers = f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    procs = [start(path, outs[i], workers, i) for i in range(2)]
    first = json.loads(procs[1].stdout.readline())  # worker 1 ended its first epoch
    assert first["event"] == "epoch_end" and first["epoch"] == 0
    procs[1].send_signal(signal.SIGKILL)
    procs[1].wait(timeout=30)
    killed_at = time.monotonic()
    _, err = procs[0].communicate(timeout=120)
    # The chief notices within TensorFlow's heartbeat/collective timeouts (60 s at most), and
    # says which worker was lost and how to go on, in one line.
    assert time.monotonic() - killed_at < 90
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert procs[0].returncode == 1 and len(lines) == 1, err
    assert f"worker 1 (127.0.0.1:{ports[1]})" in lines[0] and "--resume" in lines[0], lines[0]
    backups = [outs[0] / "mlp.backup", outs[1] / "mlp.worker-1.backup"]
    assert all((b / "tf").is_dir() for b in backups)

    ports = free_ports(2)  # (the old ones may still be closing)
    workers = f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    procs = [start(path, outs[i], workers, i, "--resume", backups[i]) for i in range(2)]
    chief, other = events(procs[0]), events(procs[1])
    # Both go on after the last epoch every worker backed up, and report the same figures.
    assert chief == [{**e, **({"model": c["model"], "project": c["project"], "worker": 0,
                               "duration": c["duration"]} if e["event"] == "done" else {})}
                     for e, c in zip(other, chief)]
    epochs = [e["epoch"] for e in chief if e["event"] == "epoch_end"]
    assert epochs[-1] == 2 and epochs[0] <= 1
    done = chief[-1]
    assert done["status"] == "completed" and done["epochs"] == 3 and done["replicas"] == 2
    assert done["weights_digest"] == other[-1]["weights_digest"]
    # Each worker trained on its half of the (90 %) training split.
    assert done["shard_samples"] + other[-1]["shard_samples"] == 360
    assert abs(done["shard_samples"] - other[-1]["shard_samples"]) <= 64
    assert done["test_accuracy"] > 0.3
    # Only the chief wrote the trained project, with the whole run in its record.
    record = json.loads((outs[0] / "mlp.json").read_text())["runs"][-1]
    assert record["replicas"] == 2 and len(record["history"]["loss"]) == 3
    assert (outs[0] / "mlp.keras").exists() and other[-1]["model"] is None
    assert not any(outs[1].iterdir()) and not backups[0].exists()


def test_tensorflows_words_for_a_lost_worker_become_one_line_naming_it():
    from workbench.core.multiworker import _describe

    class UnavailableError(Exception):  # TensorFlow's, as far as the text goes
        pass

    workers = ["10.0.0.1:2222", "10.0.0.2:2222"]
    heartbeat = UnavailableError(
        "{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:0/"
        "device:CPU:0}} Collective ops is aborted by: Error reported from /job:worker/task:1: "
        "The following tasks are unhealthy (stopped sending heartbeats):\n"
        "/job:worker/replica:0/task:1\nThe tasks have crashed. [Op:CollectiveReduceV2]")
    line = _describe(heartbeat, workers)
    assert "heartbeats of worker 1 (10.0.0.2:2222)" in line and "--resume" in line
    assert "\n" not in line and "worker 0" not in line
    closed = UnavailableError(
        "{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:1/"
        "device:CPU:0}} Collective ops is aborted by: Socket closed\nAdditional GRPC error "
        "information from remote target /job:worker/replica:0/task:0 while calling "
        "/tensorflow.WorkerService/RecvBuf: [Op:CollectiveReduceV2]")
    assert "connection of worker 0 (10.0.0.1:2222)" in _describe(closed, workers)
    assert _describe(ValueError("bad\nthing"), workers) == "Training failed: thing"


@pytest.mark.slow  # two multi-worker TensorFlow processes
def test_workers_started_with_other_settings_stop_in_one_line(tiny, tmp_path, free_ports):
    ports = free_ports(2)
    workers = f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    procs = [start(tiny / "mlp.json", tmp_path / str(i), workers, i, "--epochs", 1 + i)
             for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert proc.returncode == 1 and len(lines) == 1, err
        assert "the workers differ in their epochs" in lines[0] and "--resume" not in lines[0]
    assert not (tmp_path / "0" / "mlp.json").exists()
