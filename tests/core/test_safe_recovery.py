"""The recovery folder read at the window's start (#24, point 17): a FIFO where an autosave or a
checkpoint goes never blocks it, and a session folder that is a link is neither locked (no file
made in its target) nor read nor removed."""

from __future__ import annotations

import json
import os
import threading

import pytest

from workbench.core.project import Project
from workbench.core.recovery import RecoverySession, find_recoveries, recovery_root

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")


@pytest.fixture(autouse=True)
def own_data_folder(tmp_path, monkeypatch):
    """Each test's recovery folder is its own (the variable wins over a base folder)."""
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))


def _bounded(function, fifos):
    """``function()``'s result, or a failure if it blocks; a reader stuck on one of ``fifos``
    is then let go (a writer opens and closes it), so the test process can end."""
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=function()), daemon=True)
    thread.start()
    thread.join(30)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(30)
        pytest.fail(f"blocked on a FIFO in the recovery folder: {fifos}")
    return result["value"]


def _ended_session(base, project=None):
    session = RecoverySession(base)
    if project is not None:
        session.write_autosave(project, None)
    else:
        session.checkpoints.folder  # noqa: B018 - makes the folder
    session.abandon()
    return session.folder


def test_a_fifo_as_the_autosave_or_a_checkpoint_does_not_block(tmp_path):
    fifo_folder = _ended_session(tmp_path)
    os.mkfifo(fifo_folder / "autosave.json")
    with_weights = _ended_session(tmp_path, Project.from_dict(_project()))
    os.mkfifo(with_weights / "last.npz")
    fifos = [fifo_folder / "autosave.json", with_weights / "last.npz"]
    found = _bounded(lambda: find_recoveries(tmp_path), fifos)
    assert [r.folder for r in found] == [with_weights]
    assert "with the weights" not in _bounded(found[0].describe, fifos)
    assert found[0].checkpoint() is None
    assert (fifo_folder / "autosave.json").exists()  # not ours: left as it is


def test_a_linked_session_folder_is_not_locked_read_or_removed(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "autosave.json").write_text(json.dumps({"project": _project(), "origin": None,
                                                      "saved": 1}))  # old: would be removed
    (target / "notes.txt").write_text("mine")
    root = recovery_root(tmp_path)
    root.mkdir(parents=True)
    (root / "20250101-000000-1-abc").symlink_to(target, target_is_directory=True)
    assert find_recoveries(tmp_path) == []
    assert sorted(p.name for p in target.iterdir()) == ["autosave.json", "notes.txt"]
    assert (root / "20250101-000000-1-abc").is_symlink()


def test_a_lock_that_is_a_link_is_not_followed(tmp_path):
    folder = _ended_session(tmp_path, Project.from_dict(_project()))
    outside = tmp_path / "outside.txt"
    (folder / "lock").unlink()
    (folder / "lock").symlink_to(outside)
    assert find_recoveries(tmp_path) == []  # not a lock we made: as if an app held it
    assert not outside.exists()
    assert (folder / "autosave.json").exists()


def _project():
    return {"format": "workbench/1", "model": {"input_shape": [4], "layers": [
        {"class_name": "Dense", "config": {"units": 2}}]}}
