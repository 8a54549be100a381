"""``workbench sweep``: two processes on one SQLite study and resume, as run by users; bad input."""

import json
import os
import subprocess
import sys

import pytest

from tests.core.test_cli import ROOT, assert_one_line_error, run


def sweep_cmd(folder, *extra):
    return [sys.executable, "-m", "workbench", "sweep", str(folder / "mlp.json"), "--space",
            str(folder / "space.json"), "--epochs", "1", "--study", "shared", "--json", *extra]


@pytest.fixture(scope="module")
def space(tiny):
    (tiny / "space.json").write_text(json.dumps({
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
        "2.units": {"choices": [8, 16, 32]}}))
    return tiny


def events(stdout):
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [e for e in lines if e["event"] == "trial"], lines[-1]


@pytest.mark.slow  # two TensorFlow processes side by side, then a third: ~30 s on 2 free cores
def test_two_processes_share_one_sqlite_study_without_duplicates_and_resume(space):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen(sweep_cmd(space, "--trials", "4"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    assert all(err == "" for _, err in outputs)  # no TensorFlow or Optuna noise
    numbers = []
    for out, _ in outputs:
        trials, best = events(out)
        assert trials, "each process ran trials of its own"
        numbers += [t["number"] for t in trials]
        assert all(t["state"] in ("complete", "pruned") for t in trials)
        assert set(trials[0]) == {"event", "number", "params", "value", "state"}
        assert best["event"] == "best" and best["number"] is not None
    assert len(numbers) == len(set(numbers))  # no trial ran twice
    # Four trials; one more only if both processes began the last at the same moment.
    assert sorted(numbers) == list(range(len(numbers))) and len(numbers) in (4, 5)
    db = space / "mlp.sweeps.db"
    assert db.is_file()  # the default storage: beside the project
    # Resumed: the same command with more trials runs only the ones missing.
    proc = run(*sweep_cmd(space, "--trials", str(len(numbers) + 1))[3:])
    assert proc.returncode == 0, proc.stderr
    trials, best = events(proc.stdout)
    assert [t["number"] for t in trials] == [len(numbers)]
    assert best["trials"] == len(numbers) + 1


@pytest.mark.parametrize("space_text, words", [
    ('{"lr": {"low": 0.1, "high": 1}}', "unknown setting 'lr'"),
    ('{"learning_rate": {"low": 0.1, "high": 0.01}}', "low (0.1) is more than high"),
    ('{"2.units": {"choices": []}}', "choices must be a non-empty list"),
    ('{"2.units": {"low": 0, "high": 4}}', "2.units: 0 is refused"),
    ('{"learning_rate": ', "not valid JSON"),
])
def test_a_bad_space_is_one_line_before_any_trial(cli, tiny, tmp_path, space_text, words):
    path = tmp_path / "bad.json"
    path.write_text(space_text)
    proc = cli("sweep", tiny / "mlp.json", "--space", path, "--storage",
               f"sqlite:///{tmp_path / 's.db'}")
    assert_one_line_error(proc, words)
    assert proc.stdout == ""


def test_unreachable_storage_is_one_line(cli, space, tmp_path):
    proc = cli("sweep", space / "mlp.json", "--space", space / "space.json", "--storage",
               "sqlite:////no/such/folder/sweeps.db")
    assert_one_line_error(proc, "cannot open the sweep storage", "/no/such/folder")
    assert proc.stdout == ""  # said before anything else (and before TensorFlow loads)
    # A server URL: its password is never printed, whatever fails (no driver, no server).
    proc = cli("sweep", space / "mlp.json", "--space", space / "space.json", "--storage",
               "postgresql://me:secret@127.0.0.1:9/sweeps")
    assert_one_line_error(proc, "cannot open the sweep storage postgresql://me:***@127.0.0.1")
    assert "secret" not in proc.stdout + proc.stderr
