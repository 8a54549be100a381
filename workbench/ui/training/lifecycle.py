"""A training run's life in the panel: Train / Continue, Pause, Stop, what the run reports, its end.

Train sends the run to the engine (``EngineRun``: the spec, settings and dataset as plain data);
the engine's process alone builds and trains the model, and everything the GUI learns comes back
as its events on the GUI thread. Closing the window asks first, then stops the run and waits for
its end. An engine that dies mid-run leaves the run's epochs in the project (Continue goes on).
``RunLifecycle`` is a part of ``TrainingPanel`` (ui/training/panel.py), which builds the widgets
it updates.
"""
from __future__ import annotations

import math
from dataclasses import replace

from PyQt5.QtCore import QTimer

from workbench.actions.train import RunOutcome
from workbench.core.runs import next_run_id
from workbench.i18n import _
from workbench.ui.training.closing import end_run_for_close
from workbench.ui.training.continuation import continuation
from workbench.ui.training.controls import format_lr, format_seconds
from workbench.ui.training.engine_run import EngineRun
from workbench.ui.training.runs import STATUS_TEXT, outcome_summary

PREPARE_DELAY_MS = 400  # after a run's end, see _finish
SETTLE_MS = 80  # the previous run is drawn faintly a frame after Train, see _begin_curves
CLOSE_WAIT_S = 60.0  # closing: how long the engine may take to end the run within a batch


class RunLifecycle:
    """Starts, pauses, stops and ends the panel's run on the engine."""

    # Train / pause / stop ------------------------------------------------------------------------

    def continue_training(self) -> bool:
        """Start a run from the trained weights (see continuation); False when it cannot."""
        return self.start_training(continue_from=True)

    def start_training(self, continue_from: bool = False) -> bool:
        """Start a run on the engine (a fresh model, or ``continue_from`` the trained weights);
        False (and nothing happens) when Train (or Continue) is blocked. While Keras checks the
        newest edit, the run starts when it has (if the model passes), and this says True."""
        if self._checking_only(self.train_blocker()):
            self._deferred = continue_from
            return True
        start = None
        if not self.train_blocker() and continue_from:
            start, _why_not = continuation(self.state)
        if self.train_blocker() or (continue_from and start is None):
            self._update_enabled()
            return False
        initial_epoch = self._initial_epoch = start.initial_epoch if start is not None else 0
        if start is not None:  # the run's own copy of the weights it goes on from
            start.weights = [w.copy() for w in start.weights]
        state = self.state
        run_id = next_run_id(state.project.runs)
        spec = self._spec_dict = state.spec.to_dict()
        title = _("{project} (run {id})").format(
            project=state.path.stem if state.path else _("Untitled"), id=run_id)
        run = EngineRun(state.engine, spec, state.training.to_dict(), state.data.dataset,
                        state.data.name or state.project.dataset, run_id, start,
                        devices=state.devices, tensorboard=state.tensorboard_folder(),
                        title=title, seed=state.data.seed, parent=self)
        self.engine_run, self._run_id = run, run_id
        self._paused = self._stopping = False
        self.pause_button.setText(_("Pause"))

        self.banner.hide()
        self._earlier_timer.stop()
        self._curves_pending = (run.metric, self.earlier.live_id, initial_epoch)
        self._steps_per_epoch = 100
        self._run_epochs = int(state.training.epochs) or None  # the run's "started" confirms
        self.earlier.live_id = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(_("Building the model…"))
        self.lr_label.setText(f"lr {format_lr(state.training.learning_rate)}")  # not translated
        self.epochs_done = 0
        state.set_busy(True)
        run.start(self._on_run_event, self._on_run_finished)
        self._begin_curves()  # while the engine builds the model
        self._update_enabled()
        self.training_started.emit(run_id)
        return True

    def _begin_curves(self) -> None:
        """Clear the curves for the run in progress; the previous run becomes a faint comparison
        (in place of the run that was shown that way before)."""
        if self._curves_pending is None:
            return
        metric, previous, initial_epoch = self._curves_pending
        self._curves_pending = None
        metric_changed = metric != self.curves.metric
        self.curves.start_run(metric, self._steps_per_epoch, initial_epoch, self._run_epochs)
        if metric_changed:  # earlier runs drawn for the other metric: draw them again
            self.earlier.redraw_all()
        self._previous_run = previous  # a frame later: two short frames, not one long
        QTimer.singleShot(SETTLE_MS // 4, self._show_previous)

    def _show_previous(self) -> None:
        if self.is_training:
            self.earlier.show_previous(self._previous_run, True)

    def toggle_pause(self) -> None:
        if self.engine_run is None or self._stopping:
            return
        self._paused = not self._paused
        if self._paused:
            self.engine_run.pause()
            self.pause_button.setText(_("Resume"))
            self.pause_button.setToolTip(_("Go on training"))
            self.progress.setFormat(_("Paused · ") + self.progress.format())
        else:
            self.engine_run.resume()
            self.pause_button.setText(_("Pause"))
            self.pause_button.setToolTip(_("Pause training after the current batch"))
            text = self.progress.format()
            self.progress.setFormat(text.removeprefix(_("Paused · ")))

    @property
    def paused(self) -> bool:
        return self._paused

    def stop_training(self) -> None:
        if self.engine_run is None:
            return
        self._stopping = True
        self.engine_run.stop()
        self.pause_button.setText(_("Pause"))
        self._update_enabled()

    # What the run reports (delivered on the GUI thread) ------------------------------------------

    def _on_run_event(self, kind: str, payload) -> None:
        if kind == "started":
            self._on_run_started(payload)
        elif kind == "batches":
            self._on_batches_arrived(payload)
        elif kind == "epoch":
            self._on_epoch_ended(*payload)
        elif kind == "weights":
            self._on_weights_arrived(*payload)
        elif kind == "sending" and not self._closing:  # the dataset, to the engine first
            self.progress.setFormat(payload)

    def _on_run_started(self, info: dict) -> None:
        if self._closing:
            return
        steps = int(info.get("steps_per_epoch", 1))
        self._progress_total = max(1, steps * int(info.get("epochs", 1)))
        self.progress.setRange(0, self._progress_total)
        self.progress.setValue(0)
        self.progress.setFormat(
            _("epoch 1/{epochs} · starting ({samples} samples, {validation} for validation)…")
            .format(epochs=info.get("epochs"), samples=f"{info.get('samples', 0):,}",
                    validation=f"{info.get('validation_samples', 0):,}"))
        self._steps_per_epoch = steps
        self._run_epochs = int(info.get("epochs", 0)) or None
        self.curves.run_started(steps, self._run_epochs)

    def _on_batches_arrived(self, chunk: dict) -> None:
        if self._closing:
            return
        self.curves.add_batches(chunk["points"])
        epoch, batch, steps = chunk["epoch"], chunk["batch"], chunk["steps"]
        done = epoch * steps + batch + 1
        elapsed = chunk["elapsed"]
        eta = elapsed / done * (self._progress_total - done) if done else math.nan
        text = _("epoch {epoch}/{epochs} · batch {batch}/{steps}").format(
            epoch=epoch + 1, epochs=chunk["epochs"], batch=batch + 1, steps=steps)
        self.speed_label.setText(
            _("{speed} samples/s · {elapsed} elapsed · ETA {eta}").format(
                speed=f"{chunk['samples_per_s']:,.0f}", elapsed=format_seconds(elapsed),
                eta=format_seconds(eta) if math.isfinite(eta) else "—"))
        if self._paused:
            text = _("Paused · ") + text
        self.progress.setValue(min(done, self._progress_total))
        self.progress.setFormat(text)

    def _prepare_earlier(self) -> None:
        if not self.is_training and self.earlier.live_id is not None:  # no run started since
            self.earlier.prepare(self.earlier.live_id)

    def _on_epoch_ended(self, epoch: int, logs: dict, elapsed: float) -> None:
        self.epoch_ended.emit(self._initial_epoch + epoch, logs, elapsed)  # even when closing
        self.epochs_done += 1
        if self._closing:
            return
        self.curves.add_epoch(epoch, logs)
        if "learning_rate" in logs:
            self.lr_label.setText(f"lr {format_lr(logs['learning_rate'])}")  # not translated

    def _on_weights_arrived(self, epoch: int, weights: list) -> None:
        # Even while closing: the weights reached are kept (checkpoint, autosave). Weights past
        # the last full epoch after Stop are those reached inside the broken-off epoch.
        if epoch < 0:  # the run's initial weights, before its first batch
            self.state.trained.set_initial_weights(weights, self._run_id, self._initial_epoch - 1)
            return
        partial = self._stopping and epoch >= len(self.curves.history.epochs)
        self.state.trained.set_weights(self._initial_epoch + epoch, weights, self._spec_dict,
                                       run=self._run_id, partial=partial)

    def _on_run_finished(self, outcome: RunOutcome) -> None:
        run, self.engine_run = self.engine_run, None
        if run is not None:
            run.deleteLater()
        self._paused = self._stopping = False
        self.pause_button.setText(_("Pause"))
        if self.discard_run:  # closing, the user chose to discard it
            self.discard_run = False
            outcome = replace(outcome, record=None)
        self.last_outcome = outcome
        if not self._closing:
            self._finish(outcome, bool(run is not None and run.cut_short))
        elif outcome.record is not None:  # closing: keep the run in the project all the same
            self.state.add_run(outcome.record.to_dict())
        self.state.set_busy(False)
        if not self._closing:
            self._update_enabled()
        self.training_finished.emit(outcome)

    def _finish(self, outcome: RunOutcome, cut_short: bool = False) -> None:
        result = outcome.result
        self.curves.finish_run()
        if outcome.record is not None:
            self.earlier.live_id = outcome.record.id
            self.state.add_run(outcome.record.to_dict())
            # Its faint curves for the next run: a moment later, out of the run end's frame.
            self._earlier_timer.start(PREPARE_DELAY_MS // 4)
        status_text = _(STATUS_TEXT.get(result.status, result.status))
        summary = outcome_summary(result.status, result.epochs_completed, outcome.test,
                                  result.duration, (result.partial_batches, self._steps_per_epoch),
                                  self._initial_epoch)
        self.progress.setValue(self._progress_total if result.status == "completed"
                               else self.progress.value())
        self.progress.setFormat(summary)
        self.progress.setToolTip(summary)
        self.speed_label.setText("")
        if result.status in ("nan", "failed") or cut_short:  # (cut short: the engine died)
            self.show_banner(result.message or status_text)
            self.state.bus.status_message.emit(result.message or status_text)
        else:
            message = summary if result.status == "stopped" else (result.message or summary)
            self.state.bus.status_message.emit(
                _("Run {id}: {message}").format(id=self.earlier.live_id, message=message))

    # Closing -------------------------------------------------------------------------------------

    def confirm_close(self) -> bool:
        """Before the window closes while a run trains: keep or discard it (ui/training/
        closing.py); False: Cancel, the run goes on."""
        return end_run_for_close(self)

    def finish_run(self, cancel: bool = False) -> bool:
        """Stop the run in progress and wait for its end (the engine ends it within a batch;
        ``cancel``: and skips its test scores); its outcome is delivered before this returns.
        Should the engine not answer in time, the run ends with the epochs it had reported."""
        run = self.engine_run
        if run is None:
            return True
        self._stopping = True
        run.cancel() if cancel else run.stop()
        if not run.wait(CLOSE_WAIT_S):
            run.give_up(_("the engine did not end the run in time"))
        return True

    def shutdown(self) -> None:
        """Cancel the run and wait for its end (within a batch); the run still ends in the
        project's runs, with the weights it reached."""
        self._closing = True
        self.curves.finish_run()
        self.finish_run(cancel=True)
        self.state.set_busy(False)
