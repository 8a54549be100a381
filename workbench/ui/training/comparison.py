"""Which earlier runs are drawn faintly under the current curves, and which run is the current one.

The user ticks runs in the runs table; besides those, the run before the one training is drawn
for comparison on its own (``auto_shown``) and the next run replaces it, so only the runs the user
chose pile up under the current curves. Curves other panels put in ``state.overlays`` (a sweep's
trials, "trial N") are drawn the same way until they are taken out of it.
"""

from __future__ import annotations

from workbench.ui.training.runs import find_run, has_curves


class EarlierRuns:
    def __init__(self, state, curves, runs_table):
        self.state, self.curves, self.runs_table = state, curves, runs_table
        self.shown: set[int] = set()
        self.live_id: int | None = None  # the run whose curves are drawn in full
        self.auto_shown: int | None = None  # shown because it was the previous run
        self.overlaid: set = set()  # keys of state.overlays drawn here
        runs_table.run_toggled.connect(self._on_run_toggled)
        state.overlays.changed.connect(self._on_overlays_changed)
        self._on_overlays_changed()

    def has_curves(self, run_id: int | None) -> bool:
        return run_id is not None and has_curves(find_run(self.state.project.runs, run_id))

    def refresh(self, training: bool) -> None:
        """The project's runs changed: forget runs that are gone, fill the table again."""
        runs = self.state.project.runs
        ids = {int(r.get("id", 0)) for r in runs}
        if self.live_id not in ids and not training:
            self.live_id = None
        if self.auto_shown not in ids:
            self.auto_shown = None
        for run_id in list(self.shown - ids):
            self.shown.discard(run_id)
            self.curves.hide_earlier_run(run_id)
        self.runs_table.set_runs(runs, self.shown, self.live_id)

    def clear(self) -> None:
        for run_id in list(self.shown):
            self.curves.hide_earlier_run(run_id)
        self.shown.clear()
        self.live_id = self.auto_shown = None

    def draw(self, run_id: int) -> bool:
        runs = self.state.project.runs
        record = find_run(runs, run_id)
        if record is not None:
            self.curves.show_earlier_run(record, runs.index(record))
        return record is not None

    def prepare(self, run_id: int | None) -> None:
        """Make the faint curves of ``run_id`` (the run just drawn in full) ahead, hidden: the
        next run shows them from its first batch on, when the GUI thread has least time."""
        runs = self.state.project.runs
        record = find_run(runs, run_id) if run_id is not None else None
        if has_curves(record):
            self.curves.prepare_earlier_run(record, runs.index(record))

    def redraw_all(self) -> None:
        """Draw the shown runs again (for another metric)."""
        for run_id in list(self.shown):
            self.draw(run_id)
        for record in self.state.overlays.records().values():
            self.curves.show_earlier_run(record, record.get("color", 0))

    def show_previous(self, previous: int | None, training: bool) -> None:
        """A run's curves start: ``previous`` (the run drawn before) becomes its faint
        comparison, in place of the run that was shown that way before."""
        if not self.has_curves(previous):
            return
        earlier = self.auto_shown
        if earlier is not None and earlier != previous:
            self.shown.discard(earlier)
            self.curves.hide_earlier_run(earlier)
        self.refresh(training)
        if previous not in self.shown:
            self.runs_table.set_shown(previous, True)
            self.auto_shown = previous

    def _on_run_toggled(self, run_id: int, shown: bool) -> None:
        if run_id == self.auto_shown:
            self.auto_shown = None  # the user's choice from now on
        if shown and self.draw(run_id):
            self.shown.add(run_id)
        else:
            self.shown.discard(run_id)
            self.curves.hide_earlier_run(run_id)

    def _on_overlays_changed(self) -> None:
        records = self.state.overlays.records()
        for key in list(self.overlaid - records.keys()):
            self.overlaid.discard(key)
            self.curves.hide_earlier_run(key)
        for key, record in records.items():
            if key not in self.overlaid:
                self.overlaid.add(key)
                self.curves.show_earlier_run(record, record.get("color", 0))
