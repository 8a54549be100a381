"""One training run on the engine: the ``train`` request, and what it streams back as the
training panel's events. The window never imports Keras for it.

The run is sent as plain data (the spec, the settings, the dataset as ``ui/engine_data`` names
it: its name, the seed it was loaded with and the subset calls that cut the window's copy, and
for a file or folder of the user's its content hash, sent once by a task, never on the GUI
thread), with the weights it goes on from (Continue), the devices it is mirrored over and a
TensorBoard folder. Its events come to ``on_event(kind, payload)`` on the GUI
thread: ``started`` (run info), ``batches`` (a chunk of batch points and progress figures, at
most ~30 a second), ``epoch`` (epoch, logs, active seconds), ``weights`` (epoch, arrays); its
``RunOutcome`` to ``on_finished`` exactly once. Stop, Pause and Resume are requests of their own.
A run the engine could not finish because it died (or the link to it broke) ends as a stopped
run of the epochs it had reported (``cut_short``), so nothing trained is lost: Continue goes on
from the last epoch's weights.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PyQt5.QtCore import QEventLoop, QObject, QTimer

from workbench.actions.train import (
    RunOutcome,
    cut_short_outcome,
    display_metric,
    failed_outcome,
)
from workbench.engine.plain import outcome_from_dict
from workbench.i18n import _, ngettext
from workbench.ui.engine_data import EngineData

EMIT_INTERVAL_S = 1 / 30  # the engine sends batch points at most this often


class EngineRun(QObject):
    """A run of ``spec`` on the engine behind ``link`` (an EngineLink)."""

    def __init__(self, link, spec: dict, config: dict, dataset, dataset_name: str,
                 run_id: int = 1, start=None, devices: int = 1, tensorboard=None,
                 title: str = "", seed: int = 0, parent: QObject | None = None):
        """``dataset``: the window's, loaded as ``dataset_name`` with ``seed``."""
        super().__init__(parent)
        self.dataset, self.seed = dataset, seed
        self.link = link
        self.spec, self.config, self.dataset_name, self.run_id = spec, config, dataset_name, run_id
        self.start_from = start  # a Continuation, or None: a fresh model
        self.metric = display_metric(getattr(dataset, "task", "classification"))
        self.body = {"spec": spec, "config": config, "dataset": dataset_name,
                     "dataset_name": dataset_name, "run_id": run_id, "devices": int(devices),
                     "title": title or _("run {id}").format(id=run_id),
                     "batch_interval": EMIT_INTERVAL_S, "outcome_on_error": True}
        if start is not None:
            self.body.update(initial_weights=[np.asarray(w) for w in start.weights],
                             continues=start.run, initial_epoch=int(start.initial_epoch))
        if tensorboard is not None:
            self.body["tensorboard"] = str(tensorboard)
        self.request: str | None = None  # the train request's id, once sent
        self.held = False  # a pause holds the engine's loop (every batch before it reported)
        self.cut_short = ""  # why the engine could not finish the run (it died), if so
        self._data = EngineData(self)  # names the dataset (sends a file first)
        self._epoch_logs: list[dict] = []
        self._with_weights = 0  # the epochs whose weights the window holds
        self._seconds = 0.0
        self._began = False
        self._started = time.time()
        self._ended = False
        self._stop = ""  # "stop" or "cancel" once asked
        self._pause = False  # Pause asked (and no Resume since)
        self._on_event: Callable | None = None
        self._on_finished: Callable | None = None

    # Starting --------------------------------------------------------------------------------

    def start(self, on_event, on_finished) -> None:
        """Name the dataset (a file the engine lacks is sent first, by a task), then send the
        run; ``on_event``/``on_finished`` as the module says."""
        self._on_event, self._on_finished = on_event, on_finished
        if os.path.exists(self.dataset_name):  # a file or folder of the user's, not a built-in
            self._event("sending", _("Sending the dataset to the engine…"))
        self._data.ensure(self.link, self.dataset, self.dataset_name, self.seed, self._on_named)

    def _on_named(self, fields: dict | None, error: str) -> None:
        if self._ended or self._stop:
            return  # stopped meanwhile: ended already
        if fields is None:
            self._finish_failed(_("Training could not start: sending the dataset to the "
                                  "engine failed: {reason}").format(reason=error))
            return
        self.body.update(fields)
        self._submit()

    def _submit(self) -> None:
        self.request = self.link.ask("train", self.body, self._on_reply, self._on_engine_event)

    # What the engine sends -------------------------------------------------------------------

    def _event(self, kind: str, payload) -> None:
        if self._on_event is not None and not self._ended:
            self._on_event(kind, payload)

    def _on_engine_event(self, name: str, body: dict) -> None:
        if name == "train_begin":
            self._began = True
            # A control sent before the engine took the run up (queued behind another job)
            # found no run to control: sent again now that it has.
            if self._stop or self._pause:
                self._control(self._stop or "pause")
            self._event("started", body.get("info") or {})
        elif name == "batches":
            self.held = False
            self._seconds = float(body.get("elapsed", self._seconds))
            self._event("batches", body)
        elif name == "epoch_end":
            self._epoch_logs.append(dict(body["logs"]))
            self._seconds = float(body.get("elapsed", self._seconds))
            self._event("epoch", (int(body["epoch"]), dict(body["logs"]), self._seconds))
        elif name == "weights":
            self._with_weights = max(self._with_weights, int(body["epoch"]) + 1)
            self._event("weights", (int(body["epoch"]), list(body["weights"])))
        elif name == "paused":
            self.held = True

    def _on_reply(self, reply: dict | None, error: str) -> None:
        if reply is None:
            if self._began:  # the engine went away mid-run: keep the epochs it reported
                self.cut_short = error
                self._finish(self._kept(error))
            else:
                self._finish_failed(_("Training could not start: {reason}").format(
                    reason=error))
            return
        outcome = outcome_from_dict(reply)
        result = outcome.result
        restored = result.status == "early_stopped" and (
            self.config.get("early_stopping") or {}).get("restore_best_weights", True)
        if outcome.weights is not None and (result.partial_batches or restored):
            # The weights reached (mid-epoch, or restored by early stopping) for the views.
            self._event("weights", (result.epochs_completed, outcome.weights))
        self._finish(outcome)

    # Ending ----------------------------------------------------------------------------------

    def _kept(self, why: str) -> RunOutcome:
        """The run as far as the window holds it: the epochs whose weights came (an epoch's
        logs come just before its weights: one whose weights were lost is left out)."""
        start = self.start_from
        kept = self._epoch_logs[:self._with_weights]
        message = ngettext("{why}; the run's {n} finished epoch is kept",
                           "{why}; the run's {n} finished epochs are kept", len(kept)).format(
            why=why.rstrip("."), n=len(kept)) if kept else why
        return cut_short_outcome(self.spec, self.config, self.dataset_name, self.run_id,
                                 self._started, kept, self._seconds, message,
                                 self.metric, start.run if start else None,
                                 start.initial_epoch if start else None)

    def _stopped_before_start(self) -> RunOutcome:
        outcome = self._kept(_("Stopped before the first batch."))
        result = replace(outcome.result, status="stopped")
        record = replace(outcome.record, status="stopped")
        return replace(outcome, result=result, record=record)

    def _finish_failed(self, message: str) -> None:
        self._finish(failed_outcome(self.config, self.dataset_name, message, self.run_id,
                                    self._started, self.metric))

    def _finish(self, outcome: RunOutcome) -> None:
        if self._ended:
            return
        self._ended = True
        if self._on_finished is not None:
            self._on_finished(outcome)

    # Controls (the GUI thread) ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._ended

    def _control(self, name: str) -> None:
        if self.request is not None:
            self.link.ask(name, {"request": self.request})

    def pause(self) -> None:
        self._pause = True
        self._control("pause")

    def resume(self) -> None:
        self.held = self._pause = False
        self._control("resume")

    def stop(self) -> None:
        """Stop after the current batch and keep the weights reached."""
        self._stop = self._stop or "stop"
        self._stop_now()

    def cancel(self) -> None:
        """Stop as fast as possible: the window is closing, skip the test scores."""
        self._stop = "cancel"
        self._stop_now()

    def _stop_now(self) -> None:
        if self.request is None:  # still naming the dataset: nothing trains yet
            self._data.close()
            self._finish(self._stopped_before_start())
        else:
            self._control(self._stop)

    def give_up(self, why: str) -> None:
        """End the run here with the epochs it reported (the engine no longer answers)."""
        if self.request is not None:
            self.link.forget_ask(self.request)
        self.cut_short = why
        self._finish(self._kept(why) if self._began else self._stopped_before_start())

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Until the run has ended (its outcome delivered), the GUI's own input held back;
        False when it had not after ``timeout_s``."""
        if self._ended:
            return True
        loop = QEventLoop()
        timer = QTimer(singleShot=True, timeout=loop.quit)
        timer.start(int(timeout_s * 1000))
        finished = self._on_finished

        def ended(outcome):
            if finished is not None:
                finished(outcome)
            loop.quit()

        self._on_finished = ended
        while not self._ended and timer.isActive():
            loop.exec_(QEventLoop.ExcludeUserInputEvents)
        self._on_finished = finished
        return self._ended

