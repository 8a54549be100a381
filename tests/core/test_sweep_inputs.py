"""Sweep inputs that cost memory, leaked a password or ended in "unexpected error" (#24, points
15, 16, 18): a grid counted before it is listed, storage URLs checked before anything is opened
and printed without their password, deep or over-long inputs named in one line."""

from __future__ import annotations

import json

import pytest

from workbench.actions.sweep import InProcessTrainer, SweepError, SweepSettings, prepare_sweep
from workbench.actions.sweep_storage import check_storage_url, shown_url
from workbench.cli import main
from workbench.core.datasets import load_dataset
from workbench.core.sweep_space import SpaceError, parse_space

HUGE = list(range(1, 10_001))  # the most one list of choices may hold (MAX_CHOICES)


@pytest.fixture
def project(random_classes_project):
    return random_classes_project


def _one_line(capfd, *words):
    out, err = capfd.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "unexpected error" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_a_grid_is_counted_before_it_is_listed(project):
    from workbench.core.project import load_project

    loaded = load_project(project)
    space = parse_space({"batch_size": {"choices": HUGE}, "epochs": {"choices": HUGE}},
                        loaded.model, loaded.training)
    assert space.grid_size() == 10**8
    with pytest.raises(SpaceError, match=r"10,000 × 10,000 = 100,000,000 settings is too"):
        space.grid()
    with pytest.raises(SpaceError, match=r"batch_size: 10,001 choices, at most 10,000"):
        parse_space({"batch_size": {"choices": [*HUGE, 10_001]}}, loaded.model, loaded.training)
    # A range is counted without listing it either (1e9 values would take gigabytes).
    ranged = parse_space({"batch_size": {"low": 1, "high": 1_000_000, "step": 1},
                          "epochs": {"low": 1, "high": 100_000}},
                         loaded.model, loaded.training)
    assert ranged.grid_size() == 10**11
    with pytest.raises(SweepError, match="too many to list"):
        prepare_sweep(loaded.model, loaded.training, load_dataset("random-classes"),
                      "random-classes", {"batch_size": {"choices": HUGE},
                                         "epochs": {"choices": HUGE}},
                      SweepSettings(sampler="grid"), project, trainer=InProcessTrainer())


@pytest.mark.parametrize("url, shown", [
    ("postgresql://me:s3cretpw@[::1/db", "postgresql://me…"),
    ("postgresql://me:s3cret@pw@host/db", "postgresql://me…"),
    ("mysql://me:pw9@host:notaport/db", "mysql://me…"),
    ("postgresql://me:s3cret@host/db", "postgresql://me:***@host/db"),
    ("me:s3cret@host", "me…"),
])
def test_a_storage_url_is_never_shown_with_its_password(url, shown):
    assert shown_url(url) == shown
    if "***" not in shown:
        with pytest.raises(SweepError) as refused:
            check_storage_url(url)
        assert "s3cret" not in str(refused.value) and "pw" not in str(refused.value)
        assert shown in str(refused.value)


def test_a_refused_sweep_makes_no_database_file(project, tmp_path, capfd):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"no_such_setting": {"choices": [1, 2]}}))
    for storage in (tmp_path / "new.db", tmp_path / "query.db"):
        url = f"sqlite:///{storage}" + ("?foo=1" if storage.name == "query.db" else "")
        capfd.readouterr()
        assert main(["sweep", str(project), "--space", str(space), "--storage", url]) == 2
        line = _one_line(capfd)  # SQLAlchemy's two warning lines of ignored arguments: gone
        assert not storage.exists()
        if "?foo" in url:
            assert "SQLite does not take 'foo'" in line
    check_storage_url(f"sqlite:///{tmp_path / 'fine.db'}?timeout=5")  # one SQLite takes


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_a_storage_in_memory_is_refused(project, tmp_path, capfd, url):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"batch_size": {"choices": [8, 16]}}))
    capfd.readouterr()
    assert main(["sweep", str(project), "--space", str(space), "--storage", url]) == 2
    _one_line(capfd, "names no database file", "lost when the sweep ends")


def test_deep_and_over_long_inputs_are_named_in_one_line(project, tmp_path, capfd):
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    capfd.readouterr()
    assert main(["sweep", str(project), "--space", str(deep)]) == 2
    _one_line(capfd, "deep.json: nested too deeply to be a search space")
    long = str(tmp_path / ("abcd/" * 1000)) + "x"  # 5,000 bytes: beyond PATH_MAX
    small = tmp_path / "small.json"
    small.write_text(json.dumps({"batch_size": {"choices": [8, 16]}}))
    for argv in (["sweep", str(project), "--space", str(small), "--dataset", long + ".npz"],
                 ["train", str(project), "--out", long],
                 ["dataset", long]):
        assert main(argv) != 0
        _one_line(capfd, "File name too long")
