"""One app-data folder (platformdirs) and one numbering of runs, for the window and the CLI."""

from pathlib import Path

import platformdirs

from workbench.core import appdata
from workbench.core.recovery import RecoverySession, find_recoveries
from workbench.core.runs import next_run_id
from workbench.core.templates import load_template


def test_next_run_id_follows_the_largest_id_not_the_count():
    # A project whose runs 1-4 were deleted but 5 kept: the CLI used len+1 and wrote a second #2.
    assert next_run_id([]) == 1
    assert next_run_id([{"id": 5}]) == 6
    assert next_run_id([{"id": 2}, {"id": 9}, {"id": 3}]) == 10
    # entries of old files without an id count by their position, as the runs table reads them
    assert next_run_id([{}, {}, {"id": "x"}]) == 4


def test_data_dir_is_platformdirs_unless_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv(appdata.DATA_DIR_ENV, raising=False)
    expected = Path(platformdirs.user_data_dir("Workbench", appauthor=False, roaming=True))
    assert appdata.data_dir() == expected
    assert appdata.legacy_dirs() == [expected / "Workbench"]
    assert appdata.data_dir(tmp_path) == tmp_path and appdata.legacy_dirs(tmp_path) == []
    monkeypatch.setenv(appdata.DATA_DIR_ENV, str(tmp_path / "env"))
    assert appdata.data_dir("/elsewhere") == tmp_path / "env"
    assert appdata.legacy_dirs() == []


def test_a_recovery_left_in_the_old_qt_folder_is_still_offered(monkeypatch, tmp_path):
    # The window kept its recoveries in Qt's AppDataLocation (<data>/Workbench/Workbench) before.
    monkeypatch.delenv(appdata.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(appdata.platformdirs, "user_data_dir",
                        lambda *a, **k: str(tmp_path / "Workbench"))
    old = RecoverySession(tmp_path / "Workbench" / "Workbench")
    old.write_autosave(load_template("mnist-mlp"), tmp_path / "p.json")
    old.abandon()  # what a crash leaves: files, no lock
    found = find_recoveries()
    assert [r.origin for r in found] == [tmp_path / "p.json"]
