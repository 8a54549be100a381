"""The Workbench deletes or replaces only what it can prove it wrote (#24, points 1-6 and 8).

A backup folder is ours when it holds our marker (``workbench-backup.json``), a SavedModel folder
when it holds our manifest (``workbench-export.json``) and nothing else; anything else is refused
with one line naming it, before anything is touched. A run's backup is removed only once its
trained ``.keras`` and project are in place, and a resume that fails keeps it.
"""

import json
import os

import numpy as np
import pytest

from workbench import cli_train
from workbench.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A small real-digit .npz (400 training, 100 test samples)."""
    folder = tmp_path_factory.mktemp("digits")
    with np.load(os.path.join(ROOT, "resources", "datasets", "mnist-10k.npz")) as data:
        x, y = data["x"], data["y"]
    pick = np.random.default_rng(0).permutation(len(x))[:500]
    path = folder / "digits.npz"
    np.savez(path, x_train=x[pick[:400]], y_train=y[pick[:400]], x_test=x[pick[400:]],
             y_test=y[pick[400:]])
    return path


def write_project(folder, digits, epochs=2, units=16, name="p"):
    with open(os.path.join(ROOT, "resources", "templates", "mnist-mlp.json")) as f:
        project = json.load(f)
    project["dataset"] = str(digits)
    project["training"]["epochs"] = epochs
    project["model"]["layers"][1]["config"]["units"] = units
    path = folder / f"{name}.json"
    path.write_text(json.dumps(project))
    return path


def one_line(capfd, *words):
    err = capfd.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def tree(folder):
    """Every file under ``folder`` with its content (what must survive untouched)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def user_folder(folder):
    (folder / "photos").mkdir(parents=True)
    (folder / "thesis.tex").write_text("\\chapter{Three years of work}\n")
    (folder / "photos" / "a.jpg").write_bytes(b"\xff\xd8 not really a picture")
    return tree(folder)


def interrupt_after(monkeypatch, epochs):
    """The next ``train`` is interrupted (as by Ctrl+C, or a kill) at the end of its epoch
    ``epochs`` (1-based), after that epoch's history is written and before its backup."""
    make = cli_train._terminal_listener

    def listener(*args, **kwargs):
        made = make(*args, **kwargs)
        ended = made.on_epoch_end

        def on_epoch_end(epoch, logs):
            ended(epoch, logs)
            if epoch + 1 == epochs:
                raise KeyboardInterrupt

        made.on_epoch_end = on_epoch_end
        return made

    monkeypatch.setattr(cli_train, "_terminal_listener", listener)


# 1 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--strategy", "multi-worker"], ["--devices", "2"]])
def test_train_never_deletes_a_backup_folder_it_did_not_write(digits, tmp_path, capfd, extra):
    project = write_project(tmp_path, digits)
    theirs = user_folder(tmp_path / "p.backup")
    assert main(["train", str(project), *extra]) == 2
    line = one_line(capfd)
    assert tree(tmp_path / "p.backup") == theirs
    if not extra:  # the arguments are right: the folder in the way is named
        assert "p.backup" in line and "not a Workbench backup" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.backup", "p.json"]


def test_train_out_never_deletes_a_backup_folder_it_did_not_write(digits, tmp_path, capfd):
    project = write_project(tmp_path, digits)
    out = tmp_path / "out"
    theirs = user_folder(out / "p.backup")
    assert main(["train", str(project), "--out", str(out)]) == 2
    one_line(capfd, str(out / "p.backup"))
    assert tree(out / "p.backup") == theirs


# 2 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inside", ["tf", "keras"])
def test_resume_refuses_a_folder_that_is_not_a_backup(digits, tmp_path, capfd, inside):
    project = write_project(tmp_path, digits)
    source = tmp_path / "src"
    (source / inside).mkdir(parents=True)
    (source / inside / "module.py").write_text("print('hello')\n")
    (source / "README.md").write_text("my code\n")
    before = tree(source)
    assert main(["train", str(project), "--resume", str(source)]) == 2
    one_line(capfd, str(source), "not a Workbench backup")
    assert tree(source) == before
    assert not (tmp_path / "p.keras").exists() and not (tmp_path / "p.trained.json").exists()


# 3 ------------------------------------------------------------------------------------------------


def test_a_failed_resume_keeps_its_backup_and_says_why(digits, tmp_path, capfd, monkeypatch):
    project = write_project(tmp_path, digits, epochs=3, units=16)
    interrupt_after(monkeypatch, 2)
    assert main(["train", str(project)]) == 130
    monkeypatch.undo()
    backup = tmp_path / "p.backup"
    kept = tree(backup)
    assert any(name.endswith(".weights.h5") for name in kept), kept
    capfd.readouterr()

    other = write_project(tmp_path, digits, epochs=3, units=24)  # another model, same name
    assert main(["train", str(other), "--resume", str(backup)]) == 1
    line = one_line(capfd, "backup", "do not fit", "expects", "found", str(backup))
    assert "<Dense" not in line and "[" not in line.split("found")[0], line
    assert tree(backup) == kept  # the run it was resuming is still there

    back = write_project(tmp_path, digits, epochs=3, units=16)  # its own model: it goes on
    assert main(["train", str(back), "--resume", str(backup), "--json"]) == 0
    events = [json.loads(ln) for ln in capfd.readouterr().out.splitlines()]
    # Epoch 2 was cut before its backup: it runs again (at most one epoch is lost).
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [1, 2]
    assert events[-1]["epochs"] == 3
    assert not backup.exists()


# 4 (the kill -9 loop itself: benchmarks/bench_kill_save.py) -------------------------------------


def test_a_run_stopped_in_its_final_save_keeps_its_backup(digits, tmp_path, capfd, monkeypatch):
    """The backup is removed only after the .keras and the project are in place: a run cut
    while it writes them (here: the project) goes on with --resume, and nothing is left over."""
    from workbench.core import project as project_module

    project = write_project(tmp_path, digits, epochs=2)
    out = tmp_path / "out"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(project_module, "save_project", killed)
    assert main(["train", str(project), "--out", str(out)]) == 130
    monkeypatch.undo()
    backup = out / "p.backup"
    assert backup.is_dir()
    capfd.readouterr()
    assert main(["train", str(project), "--out", str(out), "--resume", str(backup),
                 "--json"]) == 0
    done = json.loads(capfd.readouterr().out.splitlines()[-1])
    assert done["event"] == "done" and done["epochs"] == 2 and "test_accuracy" in done
    assert sorted(p.name for p in out.iterdir()) == ["p.json", "p.keras"]
    record = json.loads((out / "p.json").read_text())["runs"][-1]
    assert record["epochs"] == 2 and len(record["history"]["loss"]) == 2


def test_a_run_stopped_as_it_removes_its_backup_ends_with_resume(
        digits, tmp_path, capfd, monkeypatch):
    from workbench.core.backup import Backup

    project = write_project(tmp_path, digits, epochs=1)
    out = tmp_path / "out"

    def killed(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Backup, "discard", killed)
    assert main(["train", str(project), "--out", str(out)]) == 130
    monkeypatch.undo()
    saved = tree(out)
    assert {"p.json", "p.keras"} <= set(saved)
    capfd.readouterr()
    assert main(["train", str(project), "--out", str(out), "--resume",
                 str(out / "p.backup")]) == 0
    assert "was saved" in capfd.readouterr().out
    assert tree(out) == {k: v for k, v in saved.items() if k in ("p.json", "p.keras")}


def test_a_finished_run_leaves_only_its_results(digits, tmp_path, capfd):
    project = write_project(tmp_path, digits, epochs=1)
    out = tmp_path / "out"
    assert main(["train", str(project), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["p.json", "p.keras"]


def test_a_run_that_fails_before_its_first_epoch_leaves_no_backup(digits, tmp_path, capfd):
    project = json.loads(write_project(tmp_path, digits).read_text())
    project["model"]["layers"][-1]["config"]["units"] = 3  # labels 0..9 do not fit
    (tmp_path / "p.json").write_text(json.dumps(project))
    out = tmp_path / "out"
    assert main(["train", str(tmp_path / "p.json"), "--out", str(out)]) != 0
    capfd.readouterr()
    assert not out.exists() or not any(out.iterdir())


# 6 ------------------------------------------------------------------------------------------------


def test_a_linked_backup_folder_is_refused(digits, tmp_path, capfd):
    project = write_project(tmp_path, digits)
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "history.json").write_text('{"mine": [1.0]}')
    (tmp_path / "p.backup").symlink_to(target)
    assert main(["train", str(project)]) == 2
    one_line(capfd, str(tmp_path / "p.backup"), "link")
    assert (target / "history.json").read_text() == '{"mine": [1.0]}'
    assert sorted(p.name for p in target.iterdir()) == ["history.json"]


# 5 ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    path = tmp_path_factory.mktemp("model") / "m.keras"
    model.save(path)
    return path


def test_saved_model_export_never_replaces_a_folder_it_did_not_write(
        small_model, digits, tmp_path, capfd):
    target = tmp_path / "served"
    (target / "data").mkdir(parents=True)
    (target / "saved_model.pb").write_bytes(b"an old model of mine")
    (target / "NOTES.md").write_text("what I learned\n")
    (target / "data" / "train.csv").write_text("x,y\n1,2\n")
    before = tree(target)
    args = ["export", str(small_model), "--saved-model", str(target), "--dataset", str(digits)]
    assert main(args) == 2
    one_line(capfd, str(target))
    assert tree(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]  # no temporary folder left

    ours = tmp_path / "ours"
    args = ["export", str(small_model), "--saved-model", str(ours), "--dataset", str(digits)]
    assert main(args) == 0
    assert (ours / "saved_model.pb").is_file() and (ours / "workbench-export.json").is_file()
    assert main(args) == 0  # our own export is replaced
    capfd.readouterr()
    (ours / "NOTES.md").write_text("added by hand\n")
    before = tree(ours)
    assert main(args) == 2
    one_line(capfd, str(ours), "NOTES.md")
    assert tree(ours) == before


# 8 ------------------------------------------------------------------------------------------------


def big_project(megabytes):
    from workbench.core.project import Project
    from workbench.core.spec import ModelSpec

    with open(os.path.join(ROOT, "resources", "templates", "mnist-mlp.json")) as f:
        model = ModelSpec.from_dict(json.load(f)["model"])
    # Losses as a person rounds them: short numbers, which indenting makes twice as long.
    count = megabytes * 1_000_000 // 6 // 4
    values = np.round(np.random.default_rng(0).random(count), 3).tolist()
    history = {k: values for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    return Project(model, runs=[{"id": 1, "status": "completed", "history": history}])


def test_a_project_is_written_within_the_size_it_is_read_with(tmp_path):
    from workbench.core.project import load_project, save_project
    from workbench.core.safe_io import SIZE_LIMITS

    path = tmp_path / "big.json"
    save_project(big_project(32), path)
    assert path.stat().st_size <= SIZE_LIMITS["project"]
    assert len(load_project(path).runs[0]["history"]["loss"]) > 1_000_000


@pytest.mark.slow  # ~64 MB project files: 15-35 s on 2 cores
def test_a_project_too_large_to_read_back_is_not_written(tmp_path):
    from workbench.core.project import ProjectError, save_project

    path = tmp_path / "huge.json"
    path.write_text("{}")
    with pytest.raises(ProjectError, match="64 MB"):
        save_project(big_project(70), path)
    assert path.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.json"]


@pytest.mark.slow  # ~64 MB project files: 15-35 s on 2 cores
def test_a_project_with_no_room_for_its_run_is_refused_before_it(digits, tmp_path, capfd):
    from workbench.core.project import project_text

    project = big_project(50)
    project.dataset = str(digits)
    project.description = "x" * (63_998_000 - len(project_text(project, tmp_path / "p.json")))
    text = project_text(project, tmp_path / "p.json")
    assert len(text) < 64_000_000  # it opens; with one more run it would not
    (tmp_path / "p.json").write_text(text)
    assert main(["train", str(tmp_path / "p.json"), "--epochs", "1"]) == 2
    one_line(capfd, "64 MB", "remove some of its runs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_a_folder_where_a_result_goes_is_refused_before_the_run(digits, tmp_path, capfd):
    project = write_project(tmp_path, digits, epochs=1)
    out = tmp_path / "out"
    theirs = user_folder(out / "p.keras")
    assert main(["train", str(project), "--out", str(out)]) == 2
    one_line(capfd, str(out / "p.keras"), "nothing was changed")
    assert tree(out / "p.keras") == theirs
    assert sorted(p.name for p in out.iterdir()) == ["p.keras"]


def test_an_empty_backup_folder_holds_nothing_to_lose(digits, tmp_path, capfd):
    """What a run killed between removing its marker and its folder leaves: a new run uses it,
    --resume removes it (and nothing else: another empty folder is named, not removed)."""
    project = write_project(tmp_path, digits, epochs=1)
    (tmp_path / "p.backup").mkdir()
    assert main(["train", str(project), "--resume", str(tmp_path / "p.backup")]) == 2
    one_line(capfd, "nothing to resume", "removed")
    assert not (tmp_path / "p.backup").exists()
    (tmp_path / "empty").mkdir()
    assert main(["train", str(project), "--resume", str(tmp_path / "empty")]) == 2
    one_line(capfd, "nothing to resume", "empty")
    assert (tmp_path / "empty").is_dir()
    (tmp_path / "p.backup").mkdir()
    assert main(["train", str(project)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "empty", "p.json", "p.trained.json", "p.trained.keras"]
