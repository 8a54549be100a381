"""The engine's training jobs as a window asks for them (engine/runs.py): batches coalesced
with each batch's own values, a pause that says when it holds the loop, cancel, a failed outcome
instead of an error, and TensorBoard refused by a remote engine."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.conftest import tiny_spec, tiny_train
from workbench.engine.client import EngineError
from workbench.engine.plain import outcome_from_dict
from workbench.engine.runs import RunStream, TimedControl


class _Call:
    def __init__(self):
        self.events = []

    def emit(self, name, body=None):
        self.events.append((name, body or {}))


def test_batch_values_are_taken_out_of_keras_running_means():
    call = _Call()
    listener = RunStream(call, TimedControl(), False, "accuracy", interval=1e-9)
    listener.on_train_begin({"steps_per_epoch": 3, "samples": 5, "batch_size": 2, "epochs": 1})
    listener.on_epoch_begin(0)
    # batch losses 3, 1 and 2 (the last batch holds one sample): Keras reports running means
    for batch, mean in enumerate((3.0, 2.0, 2.0)):
        listener.on_batch_end(0, batch, {"loss": mean, "accuracy": 0.5})
    listener.on_train_end(None)
    chunks = [body for name, body in call.events if name == "batches"]
    points = np.concatenate([chunk["points"] for chunk in chunks])
    assert np.allclose(points[:, 0], [1 / 3, 2 / 3, 1.0])
    assert np.allclose(points[:, 1], [3.0, 1.0, 2.0])
    assert np.allclose(points[:, 2], 0.5)
    assert chunks[-1]["batch"] == 2 and chunks[-1]["steps"] == 3 and chunks[-1]["elapsed"] >= 0
    assert not any(name == "batch_end" for name, _ in call.events)


def test_a_window_gets_coalesced_batches_and_epoch_seconds(engine):
    messages = list(engine.stream("train", tiny_train(batch_interval=10.0, weights=False),
                                  timeout=300))
    names = [m.name for m in messages if m.kind == "event"]
    assert "batch_end" not in names
    chunks = [m.body for m in messages if m.name == "batches"]
    points = np.concatenate([np.asarray(c["points"]) for c in chunks])
    assert len(points) == 4  # 160 samples in batches of 50: every batch, in 1-2 chunks
    assert np.allclose(points[:, 0], [0.25, 0.5, 0.75, 1.0])
    epoch = next(m.body for m in messages if m.name == "epoch_end")
    assert epoch["elapsed"] > 0 and "val_loss" in epoch["logs"]


def test_pause_says_when_it_holds_the_loop_then_cancel_ends_without_test_scores(engine):
    import queue

    events: queue.SimpleQueue = queue.SimpleQueue()
    body = tiny_train(config={**tiny_train()["config"], "epochs": 50, "batch_size": 10},
                      batch_interval=0.01, weights=False)
    call = engine.submit("train", body, on_event=events.put, on_reply=events.put)
    first = events.get(timeout=300)
    while first.name != "batches":
        first = events.get(timeout=300)
    assert engine.request("pause", {"request": call.id}, timeout=10) == {"found": True}
    seen = [events.get(timeout=60)]
    while seen[-1].name != "paused":
        seen.append(events.get(timeout=60))
    with pytest.raises(queue.Empty):  # nothing more while held
        events.get(timeout=0.3)
    assert engine.request("cancel", {"request": call.id}, timeout=10) == {"found": True}
    reply = call.result(60)
    assert reply["status"] == "stopped" and reply["test"] is None


def test_a_run_that_cannot_start_is_a_failed_outcome_when_asked(engine):
    reply = engine.request("train", tiny_train(spec={"input_shape": [28, 28], "layers": []},
                                               run_id=3, outcome_on_error=True), timeout=120)
    outcome = outcome_from_dict(reply)
    assert outcome.result.status == "failed" and outcome.record.id == 3
    assert outcome.result.message.startswith("Training could not start: ")
    assert "no layers" in outcome.result.message and outcome.record.status == "failed"
    reply = engine.request("train", tiny_train(dataset="no-such-dataset", outcome_on_error=True),
                           timeout=60)
    assert reply["status"] == "failed" and "no-such-dataset" in reply["message"]


def test_a_remote_engine_refuses_tensorboard_files_in_one_line(tmp_path):
    from workbench.engine.inprocess import InProcessEngine

    with InProcessEngine() as remote:
        remote.engine_state.remote = True
        with pytest.raises(EngineError, match="TensorBoard files are written only by an engine "
                                              "on this machine"):
            remote.request("train", tiny_train(tensorboard=str(tmp_path / "tb")), timeout=120)
        assert not (tmp_path / "tb").exists()


def test_the_controls_of_an_unknown_run_find_nothing(engine):
    for name in ("stop", "pause", "resume", "cancel"):
        assert engine.request(name, {"request": "nope"}, timeout=10) == {"found": False}
    assert tiny_spec()["layers"]
