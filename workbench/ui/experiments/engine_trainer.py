"""A sweep's trials trained by the engine: the window's ``trainer`` for actions.sweep (the CLI's
is ``actions.sweep.InProcessTrainer``, with the same two methods).

The study, its storage and Optuna stay in the window's process (Optuna imports no TensorFlow);
each trial is one ``train`` request whose events come back to this thread (the sweep's task) in
order and drive the trial's listener: the live curves, and Optuna's pruner at each epoch's end.
A stop (the pruner's, the user's, the window closing) is sent as the engine's ``stop``, polled
every ``POLL_S``. Blocking: runs on the sweep's worker thread, never the GUI thread.
"""

from __future__ import annotations

import queue

from workbench.actions.sweep import TrialRun
from workbench.core.sweep_space import SpaceError
from workbench.core.training import TrainingResult
from workbench.engine.client import EngineError
from workbench.i18n import _
from workbench.ui.engine_data import sent_body

POLL_S = 0.1
# How long the engine may take to say whether a space builds (Keras builds each edge).
CHECK_TIMEOUT_S = 300.0


class EngineTrainer:
    """``engine``: the app's engine (``submit``/``request`` from any thread); the dataset as the
    window holds it: loaded as ``dataset_name`` with ``seed`` (and cut by its ``subset`` calls),
    named to the engine as the Training tab names it (ui/engine_data.py)."""

    def __init__(self, engine, dataset_name: str, dataset, seed: int | None):
        self.engine = engine
        self.dataset_name, self.dataset, self.seed = dataset_name, dataset, seed
        self._data: dict | None = None  # the dataset's part of each train request, once sent

    def check_builds(self, space, spec, config) -> None:
        problem = self.engine.request("check_space", {
            "spec": spec.to_dict(), "config": config.to_dict(), "space": space.to_dict()},
            timeout=CHECK_TIMEOUT_S)["problem"]
        if problem:
            raise SpaceError(problem)

    def train(self, spec, config, dataset, dataset_name, listener, control,
              run_id: int) -> TrialRun:
        if self._data is None:  # sent once for the whole sweep
            self._data = sent_body(self.engine, self.dataset, self.dataset_name, self.seed)
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        call = self.engine.submit("train", {
            "spec": spec.to_dict(), "config": config.to_dict(), **self._data,
            "dataset_name": dataset_name, "run_id": run_id, "weights": False,
            "title": f"sweep trial {run_id - 1}"},
            on_event=inbox.put, on_reply=inbox.put)
        stopped = False
        while True:
            try:
                message = inbox.get(timeout=POLL_S)
            except queue.Empty:
                message = None
            if control.stop_requested and not stopped:
                stopped = True
                try:
                    self.engine.submit("stop", {"request": call.id})
                except EngineError:
                    pass  # the engine is gone: the run's reply says so
            if message is None:
                continue
            if message.kind == "reply":
                if not message.ok:
                    raise EngineError(message.error or _("the engine could not train the trial"))
                body = message.body
                result = TrainingResult(body["status"], body.get("message", ""),
                                        int(body.get("epochs_completed") or 0),
                                        body.get("history") or {},
                                        float(body.get("duration") or 0.0))
                listener.on_train_end(result)
                return TrialRun(result.status, result.message, result.history, result.duration,
                                body.get("test"))
            _deliver(listener, message.name, message.body)


def _deliver(listener, name: str, body: dict) -> None:
    """One streamed training event to the trial's listener (actions.sweep's, which feeds the
    curves and the pruner)."""
    if name == "warning":
        listener.on_warning(body["text"])
    elif name == "train_begin":
        listener.on_train_begin(body["info"])
    elif name == "epoch_begin":
        listener.on_epoch_begin(body["epoch"])
    elif name == "batch_end":
        listener.on_batch_end(body["epoch"], body["batch"], body["logs"])
    elif name == "epoch_end":
        listener.on_epoch_end(body["epoch"], body["logs"])
    elif name == "partial_epoch_end":
        listener.on_partial_epoch_end(body["epoch"], body["batches"], body["logs"])
