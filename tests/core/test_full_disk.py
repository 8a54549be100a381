"""A full disk under ``train --out`` (#24, point 7): one line, no crash, no half-written backup,
and the run goes on with ``--resume`` once there is room.

A real full disk: a small tmpfs, mounted where the test may (root, as in the project's CI
container); elsewhere the test is skipped. In a subprocess, because the crash (h5py's segfault,
exit 139) is the point.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.core.test_never_delete import ROOT, digits, write_project

__all__ = ["digits"]  # the fixture, used by name


def train(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "workbench", "train", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of 2,000 KB: room for one backup of the 101,770-parameter MLP (1.25 MB with its
    optimizer), not for the next one beside it."""
    folder = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2000k", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.slow  # a training process on a full tmpfs: 12-18 s
def test_a_full_disk_is_one_line_and_the_run_goes_on(digits, tmp_path, small_disk):
    project = write_project(tmp_path, digits, epochs=4, units=128)
    proc = train(project, "--out", small_disk, "--json")
    assert proc.returncode == 1, proc.stderr  # not 139 (h5py's segfault)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no room for the backup" in lines[0], proc.stderr
    backup = small_disk / "p.backup"
    assert f"--resume {backup}" in lines[0]
    epochs = [json.loads(ln)["epoch"] for ln in proc.stdout.splitlines()]
    assert epochs[:1] == [0]
    # Whole files only: the last epoch that fitted, nothing half-written beside it.
    names = sorted(p.relative_to(backup).as_posix() for p in backup.rglob("*"))
    assert names == ["history.json", "keras", "keras/latest.weights.h5",
                     "keras/training_metadata.json", "workbench-backup.json"]

    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    resumed = train(project, "--out", small_disk, "--resume", backup, "--json")
    assert resumed.returncode == 0, resumed.stderr
    done = json.loads(resumed.stdout.splitlines()[-1])
    assert done["epochs"] == 4 and done["status"] == "completed"
    assert sorted(p.name for p in small_disk.iterdir()) == ["p.json", "p.keras"]


def test_no_room_for_the_first_backup_leaves_nothing(digits, tmp_path, small_disk):
    subprocess.run(["mount", "-o", "remount,size=1000k", str(small_disk)], check=True)
    project = write_project(tmp_path, digits, epochs=2, units=128)
    proc = train(project, "--out", small_disk)
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no room for the backup" in lines[0], proc.stderr
    assert list(small_disk.iterdir()) == []
