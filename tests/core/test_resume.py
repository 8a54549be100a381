"""A run killed with SIGKILL goes on with ``train --resume DIR``, losing at most one epoch."""

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.core.test_cli import ROOT, assert_one_line_error, run

EPOCHS = 40


@pytest.mark.slow  # 40 epochs over three processes
def test_a_killed_run_resumes_from_its_backup(tiny, tmp_path):
    project = json.loads((tiny / "mlp.json").read_text())
    project["training"]["epochs"] = EPOCHS
    path = tmp_path / "long.json"
    path.write_text(json.dumps(project))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "train", str(path), "--json",
                             "--out", str(out)], stdout=subprocess.PIPE, text=True, env=env)
    printed = []
    for line in proc.stdout:
        event = json.loads(line)
        assert event["event"] == "epoch_end", event
        printed.append(event["epoch"])
        if event["epoch"] >= 2:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    backup = out / "long.backup"
    assert (backup / "history.json").exists()

    # Starting it again without --resume would throw the backup away: refused, in one line.
    assert_one_line_error(run("train", path, "--out", out), "--resume", "interrupted run")

    resumed = run("train", path, "--json", "--out", out, "--resume", backup)
    assert resumed.returncode == 0, resumed.stderr
    events = [json.loads(line) for line in resumed.stdout.splitlines()]
    epochs = [e["epoch"] for e in events if e["event"] == "epoch_end"]
    # It goes on after the last epoch backed up: at most the last one printed is trained again.
    assert printed[-1] <= epochs[0] + 1 and epochs[0] >= 2
    assert epochs == list(range(epochs[0], EPOCHS))
    done = events[-1]
    assert done["event"] == "done" and done["status"] == "completed" and done["epochs"] == EPOCHS
    record = json.loads((out / "long.json").read_text())["runs"][-1]
    assert record["epochs"] == EPOCHS and len(record["history"]["loss"]) == EPOCHS
    assert done["test_accuracy"] > 0.5
    assert not backup.exists()  # a finished run leaves no backup behind


def test_resume_from_a_folder_without_a_backup_is_one_line(tiny, tmp_path):
    assert_one_line_error(run("train", tiny / "mlp.json", "--resume", tmp_path),
                          "nothing to resume")
