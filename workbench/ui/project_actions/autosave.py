"""Autosave, training checkpoints, and the offer to restore what a crashed session left."""

from __future__ import annotations

import time
from typing import Any

from workbench.core.project import ProjectError
from workbench.core.recovery import LAST, Recovery, RecoverySession, find_recoveries
from workbench.core.runs import RunRecord, next_run_id, timestamp
from workbench.i18n import _


def end_session(session: RecoverySession, *_args) -> None:
    """When the window goes: a session with nothing unsaved leaves nothing behind."""
    if session.has_autosave():
        session.abandon()  # unsaved work nobody resolved: keep it to offer next time
    else:
        session.close()


class AutosaveMixin:
    """Part of ProjectActions: the recovery copy of unsaved work and of the run in progress."""

    def autosave_now(self) -> bool:
        """Write the recovery copy when there is something unsaved (or a run in progress).
        During a run it is written by the checkpoint task (True: asked for; ``autosaved`` follows
        once it is on disk): on the GUI thread its fsync stalled the window at every epoch."""
        state = self.state
        if not state.dirty and not (state.busy and self._run_logs):
            return False
        data = state.project.to_dict()
        partial = self._partial_run()
        if partial is not None:
            data["runs"] = [*data["runs"], partial]
        recovery, origin = self.recovery, state.path
        if state.busy:
            generation = recovery.generation
            self.checkpoints.submit_autosave(
                lambda: recovery.write_autosave(data, origin, generation), self._autosave_done)
            return True
        try:
            recovery.write_autosave(data, origin)
        except OSError as exc:
            self._autosave_done(str(exc.strerror or exc))
            return False
        self._autosave_done("")
        return True

    def _autosave_done(self, error: str) -> None:
        if error:
            self._status(_("Autosave failed: {error}").format(error=error))
        else:
            self.autosaved.emit(str(self.recovery.autosave_path))

    def _partial_run(self) -> dict[str, Any] | None:
        """The run in progress, as far as it got, for the recovery copy."""
        if not self.state.busy or not self._run_logs:
            return None
        history: dict[str, list[float]] = {}
        for epoch in sorted(self._run_logs):
            for key, value in self._run_logs[epoch].items():
                history.setdefault(key, []).append(float(value))
        return RunRecord(
            id=next_run_id(self.state.project.runs),  # the id the run will have (core/runs.py)
            started=timestamp(self._run_started),
            dataset=self.state.project.dataset,
            training=self._run_training or self.state.training.to_dict(),
            status="interrupted",
            message="The app ended during this run; recovered from the last checkpoint.",
            epochs=len(self._run_logs),
            duration=round(self._run_seconds, 3),
            history=history,
            # A continued run's epochs count on from where it started (core/run_text.py).
            extra={"initial_epoch": min(self._run_logs)} if min(self._run_logs) else {},
        ).to_dict()

    def _on_runs_changed(self) -> None:
        self._run_logs = {}  # a finished run is in the project now, no longer a partial one
        self.autosave_now()

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            self._run_logs = {}
            self._run_seconds = 0.0
            self._run_started = time.time()
            self._run_training = self.state.training.to_dict()
            self.checkpoints.begin_run()

    def _on_epoch_ended(self, epoch: int, logs: dict, elapsed: float = 0.0) -> None:
        if self.state.busy:
            self._run_logs[epoch] = {k: float(v) for k, v in logs.items()
                                     if isinstance(v, (int, float))}
            self._run_seconds = float(elapsed)  # the run's active seconds so far

    def _on_weights_updated(self, epoch: int) -> None:
        """After each epoch of a run: checkpoint its weights (written by a task, after the
        autosave that lists the epoch: a crash never leaves weights newer than the run's log)."""
        state = self.state
        if not state.busy or state.trained.weights is None:
            return
        self.autosave_now()
        self.checkpoints.submit(epoch, state.trained.weights, state.trained.trained_spec,
                                self._run_logs.get(epoch))

    # Recovery ------------------------------------------------------------------------------------

    def offer_recovery(self) -> bool:
        """Offer what a crashed session left; True when something was restored (synchronously)."""
        found = find_recoveries(self.data_dir, exclude=self.recovery.folder)
        if not found:
            return False
        recovery = found[0]  # the newest; older ones are offered at later starts
        answer = self.ask_restore(recovery)
        if answer is None:
            return False
        return self._on_restore_answer(recovery, answer)

    def _on_restore_answer(self, recovery: Recovery, restore: bool) -> bool:
        self._restore_box = None
        if not restore:
            recovery.discard()
            return False
        if self.state.busy:
            self.inform(_("Stop the training first, then restore from File ▸ Open."))
            return False
        try:
            project = recovery.project()
        except ProjectError as exc:
            self.warn(_("The autosaved project could not be restored.\n\n{exc}").format(exc=exc))
            recovery.discard()
            return False
        checkpoint = recovery.checkpoint(LAST)
        origin = recovery.origin
        self.state.replace_project(project, origin)
        self.state.mark_unsaved()
        text = f"Restored {recovery.name}"
        if checkpoint is not None and checkpoint.spec:
            self.state.trained.set_weights(checkpoint.epoch, checkpoint.weights, checkpoint.spec)
            # Keep them safe in this session too, until the project is saved.
            self.checkpoints.submit(checkpoint.epoch, checkpoint.weights, checkpoint.spec,
                                    checkpoint.logs)
            text += f" with the weights of epoch {checkpoint.epoch + 1}"
        self.autosave_now()
        recovery.discard()
        self._status(_("{text}; save it to keep it").format(text=text), 20_000)
        return True
