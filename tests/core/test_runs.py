"""RunRecord: the one shape of a run, reading and writing the project file's runs entries as
earlier versions did."""

import json

from workbench.core.export import history_table
from workbench.core.project import Project
from workbench.core.runs import RunRecord
from workbench.core.spec import TrainConfig
from workbench.core.training import TrainingResult

# A run as Workbench 0.1.0 wrote it (workbench train / the Train button), and the recovery copy of
# an interrupted run (no duration, no test scores).
FINISHED = {"id": 2, "started": "2026-11-30T10:01:02", "dataset": "mnist-embedded",
            "training": TrainConfig().to_dict(), "status": "completed", "message": "",
            "epochs": 2, "duration": 12.345,
            "history": {"loss": [0.5, 0.25], "val_loss": [0.6, 0.4]},
            "test": {"loss": 0.41, "accuracy": 0.9}}
INTERRUPTED = {"id": 3, "started": "2026-11-30T10:05:00", "dataset": "mnist-embedded",
               "training": TrainConfig().to_dict(), "status": "interrupted",
               "message": "The app ended during this run; recovered from the last checkpoint.",
               "epochs": 1, "history": {"loss": [0.7]}}


def test_entries_are_written_back_exactly_as_read():
    for entry in (FINISHED, INTERRUPTED):
        record = RunRecord.from_dict(json.loads(json.dumps(entry)))
        assert record.to_dict() == entry
        assert list(record.to_dict()) == list(entry)  # same keys, same order
    newer = {**FINISHED, "replicas": 2}
    assert RunRecord.from_dict(newer).to_dict() == newer  # a newer version's key is kept


def test_fields_read_as_their_types():
    record = RunRecord.from_dict(FINISHED)
    assert record.id == 2 and record.epochs == 2 and record.duration == 12.345
    assert record.history["val_loss"] == [0.6, 0.4] and record.test["accuracy"] == 0.9
    assert RunRecord.from_dict(INTERRUPTED).duration is None
    assert RunRecord.from_dict(INTERRUPTED).test is None


def test_a_sparse_old_entry_is_readable():
    # The first prototype kept little more than the history; ids follow the position.
    record = RunRecord.from_dict({"history": {"loss": [1, "x", None]}, "epochs": "3"}, index=4)
    assert record.id == 5 and record.epochs == 3 and record.status == "completed"
    assert record.history["loss"][0] == 1.0 and len(record.history["loss"]) == 3


def test_a_project_round_trip_keeps_the_runs():
    project = Project.from_dict({"format": "workbench/1", "model": {"input_shape": [4]},
                                 "runs": [FINISHED, INTERRUPTED]})
    assert project.to_dict()["runs"] == [FINISHED, INTERRUPTED]


def test_create_from_a_result_and_the_csv_reads_records():
    result = TrainingResult("stopped", "Stopped.", 1, {"loss": [0.5], "accuracy": [0.8]}, 3.21)
    record = RunRecord.create(TrainConfig(), "d", result, {"loss": 0.4, "accuracy": 0.85,
                                                           "val_x": 1.0}, run_id=7)
    assert record.test == {"loss": 0.4, "accuracy": 0.85} and record.epochs == 1
    header, rows = history_table([record.to_dict(), INTERRUPTED])
    assert header == ["run", "epoch", "loss", "accuracy"]
    assert rows == [[7, 1, 0.5, 0.8], [3, 1, 0.7, ""]]
