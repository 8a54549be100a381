"""Help ▸ Tutorials: opens each tutorial's project with its settings and keeps its card current.

The card lives in a dock beside the tabs. After each run the controller turns the run's record
(and its final weights, for figures such as D's prediction at x = 1) into the card's rows with
``core.tutorials``; tutorial H remembers the last run of each of its steps in this session, so
logistic regression and the hidden-layer models stand side by side.
"""

from __future__ import annotations

from PyQt5.QtCore import QEvent, QObject, Qt
from PyQt5.QtWidgets import (
    QDockWidget,
    QFrame,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QTabBar,
    QToolButton,
)

from workbench.core import tutorials
from workbench.core.spec import TrainConfig
from workbench.i18n import _
from workbench.ui.tutorials.card import TutorialCard

CARD_WIDTH = 420  # the card's width where the window has room
# Narrower windows show the card as a tab of the main tabs: beside them at 1024 px it had
# ~180 px, its texts cut and its buttons and table wider than the dock.
BESIDE_MIN = 1200


class TutorialsController(QObject):
    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.tutorial: tutorials.Tutorial | None = None
        self.template: str | None = None  # the template of the open tutorial project
        self.results: dict[str, dict] = {}  # template → its last run (this session)
        self.weights: dict[str, list] = {}  # template → that run's final weights
        self._opening = False
        self._card_sweep = self._card_trials = False  # the next / the last sweep is the card's

        self.card = TutorialCard()
        # The card scrolls down in whatever width the window has left: its own minimum width
        # made the window wider (1389 → 1516 → 1550 px) each time a tutorial opened.
        self.scroll = scroll = QScrollArea(objectName="tutorialScroll")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(self.card)
        self.dock = QDockWidget(_("Tutorial"), window, objectName="tutorialDock")
        self.dock.setWidget(scroll)
        self.dock.setAllowedAreas(Qt.LeftDockWidgetArea | Qt.RightDockWidgetArea)
        window.addDockWidget(Qt.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.card_open = False  # a tutorial's card is shown (in the dock or as a tab)
        self.dock.installEventFilter(self)  # its close button closes the card
        window.installEventFilter(self)  # a resize may move the card between dock and tab

        self.menu = QMenu(_("&Tutorials"), window.help_menu, objectName="tutorialsMenu")
        window.help_menu.insertMenu(window.help_menu.actions()[0], self.menu)  # first in Help
        self.actions = {}
        for item in tutorials.TUTORIALS:
            action = self.menu.addAction(f"&{item.key}  {_(item.title)}")
            action.setObjectName(f"tutorialAction_{item.key}")
            action.setStatusTip(_(item.did))
            action.triggered.connect(lambda _=False, key=item.key: self.open(key))
            self.actions[item.key] = action

        self.card.step_requested.connect(self._open_step)
        self.card.variant_requested.connect(self._train_variant)
        self.card.preset_requested.connect(self.run_preset)
        self.trials: dict[int, object] = {}  # the card's sweep trials (C), by number
        window.lazy_tabs.when_built("experiments_panel", self._follow_experiments)  # built late
        self.card.train_requested.connect(self.train)
        self.card.picture_requested.connect(self.show_picture)
        window.training_panel.training_finished.connect(self._on_run_finished)
        # H's accuracy chart follows its run epoch by epoch (it stayed empty until the end).
        self._live: dict | None = None  # the history of the run training now
        window.training_panel.training_started.connect(self._on_run_started)
        window.training_panel.epoch_ended.connect(self._on_epoch_ended)
        self.state.project_replaced.connect(self._on_project_replaced)

    def _follow_experiments(self, experiments) -> None:
        experiments.trial_shown.connect(self._on_trial)
        experiments.sweep_started.connect(self._on_sweep_started)

    # Opening ------------------------------------------------------------------------------------

    def open(self, key: str, template: str | None = None) -> bool:
        """Open tutorial ``key`` (optionally one of its steps); False when the user kept the
        project open (unsaved changes) or a run is training."""
        item = tutorials.tutorial(key)
        if self.state.busy:
            QMessageBox.information(self.window, _("Tutorial"), _("Stop the training first."))
            return False
        if not self.window.confirm_discard():
            return False
        self._opening = True
        try:
            self.state.replace_project(item.project(template))
        finally:
            self._opening = False
        self.tutorial, self.template = item, template or item.template
        self.card.show_tutorial(item)
        self.card_open = True
        self._place_card(select=True)
        self.refresh()
        return True

    def card_in_tab(self) -> bool:
        return self.window.tabs.indexOf(self.scroll) >= 0

    def _place_card(self, select: bool = False) -> None:
        """The card beside the tabs where the window has room (as wide as it leaves, never
        wider), else a tab of its own; ``select`` brings it to the front."""
        window, tabs = self.window, self.window.tabs
        if window.width() >= BESIDE_MIN:
            if self.card_in_tab():
                tabs.removeTab(tabs.indexOf(self.scroll))
                self.dock.setWidget(self.scroll)
            if not self.card_open:
                return
            shown = self.dock.isVisible()
            self.dock.show()
            self.dock.raise_()
            if not shown:
                room = window.width() - window.centralWidget().minimumSizeHint().width() - 12
                width = max(120, min(CARD_WIDTH, room, window.width() // 3))
                window.resizeDocks([self.dock], [width], Qt.Horizontal)
            return
        self.dock.hide()  # hidden, not closed: the card stays open
        if self.card_open and not self.card_in_tab():
            index = tabs.addTab(self.scroll, _("Tutorial"))
            close = QToolButton(tabs, objectName="tutorialTabClose", text="×", autoRaise=True)
            close.setToolTip(_("Close the tutorial's card (Help ▸ Tutorials opens it again)"))
            close.clicked.connect(self._close_card)
            tabs.tabBar().setTabButton(index, QTabBar.RightSide, close)
        if select and self.card_in_tab():
            tabs.setCurrentWidget(self.scroll)

    def _close_card(self) -> None:
        self.card_open = False
        if self.card_in_tab():
            self.window.tabs.removeTab(self.window.tabs.indexOf(self.scroll))
            self.dock.setWidget(self.scroll)
        self.dock.hide()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self.dock and event.type() == QEvent.Close:
            self.card_open = False
        elif watched is self.window and event.type() == QEvent.Resize and self.card_open:
            self._place_card()
        return super().eventFilter(watched, event)

    def _open_step(self, index: int) -> None:
        if self.tutorial is not None and self.tutorial.steps:
            self.open(self.tutorial.key, self.tutorial.steps[index].template)

    def _on_project_replaced(self) -> None:
        if not self._opening and self.tutorial is not None:
            self.template = None
            self.refresh()

    # Running ------------------------------------------------------------------------------------

    def train(self) -> bool:
        panel = self.window.training_panel
        if not panel.start_training():
            self.window.statusBar().showMessage(panel.train_blocker(), 10000)
            return False
        return True

    def _train_variant(self, index: int) -> None:
        if self.tutorial is None or self.template is None:
            return
        variant = self.tutorial.variants[index]
        config = self.state.training.to_dict()
        config.update(variant.training)
        self.state.set_training(TrainConfig.from_dict(config))
        self.train()

    def run_preset(self, preset: str) -> None:
        """C's four optimizers in one click: the Experiments tab's preset sweep on this
        project; its curves overlay there, each trial's accuracy joins the card's rows."""
        if self.tutorial is None or self.template is None or preset != "optimizers":
            return
        if self.state.busy:
            QMessageBox.information(self.window, _("Tutorial"), _("Stop the training first."))
            return
        experiments = self.window.experiments_panel
        self._card_sweep = True
        experiments.run_optimizer_preset()
        if experiments.running:
            self.window.tabs.setCurrentWidget(experiments)
        else:
            self._card_sweep = False
            self.window.statusBar().showMessage(experiments.status.text(), 10000)

    def _on_sweep_started(self) -> None:
        # Only the card's own sweep fills its rows (a sweep of the user's own leaves them).
        self._card_trials, self._card_sweep = self._card_sweep, False
        if self._card_trials:
            self.trials = {}
            self.refresh()

    def _on_trial(self, report) -> None:
        if self._card_trials and report.state != "running":
            self.trials[report.number] = report
            self.refresh()

    def _on_run_started(self, _run_id: int) -> None:
        shows_curves = self.tutorial is not None and "units" in self.tutorial.pictures
        self._live = {"history": {}} if self.template is not None and shows_curves else None

    def _on_epoch_ended(self, _epoch: int, logs: dict, _seconds: float) -> None:
        if self._live is None:
            return
        history = self._live["history"]
        for key in ("accuracy", "val_accuracy"):
            if key in logs:
                history.setdefault(key, []).append(float(logs[key]))
        self.card.show_figure(tutorials.accuracy_every(self._live), self.card.shown.get("units"))

    def _on_run_finished(self, outcome) -> None:
        self._live = None
        if self.template is None or outcome.record is None:
            return
        self.results[self.template] = outcome.record.to_dict()
        self.weights[self.template] = outcome.weights
        self.refresh()

    # Showing ------------------------------------------------------------------------------------

    def refresh(self) -> None:
        item = self.tutorial
        if item is None:
            return
        if self.template is None:
            self.card.show_status(_("The open project is not this tutorial's any more: open "
                                    "it again from Help ▸ Tutorials to compare."))
        else:
            self.card.show_status(_("Project: {name} (dataset {dataset}). Train it, then "
                                    "compare.").format(name=self.state.project.name,
                                                       dataset=self.state.project.dataset))
        run = self.results.get(self.template) if self.template else None
        weights = self.weights.get(self.template) if self.template else None
        if item.steps:
            rows = tutorials.fonts_rows(self.results)
            params = f"{sum(int(w.size) for w in weights):,}" if weights else ""
            rows.append((_("parameters (this step)"),
                         _("{count} (two hidden)").format(count=f"{item.params:,}"), params))
        elif item.variants:
            rows = tutorials.runs_rows(self.state.project.runs if self.template else [])
            rows += tutorials.sweep_rows(list(self.trials.values()) if self.template else [])
        else:
            rows = item.rows(run, weights)
        self.card.show_rows(rows)
        if "units" in item.pictures:
            every = tutorials.accuracy_every(run) if run else None
            units = tutorials.first_layer_units(weights)
            self.card.show_figure(every, units)

    def retranslate(self) -> None:
        """After Help ▸ Language: the menu's titles, the card's texts and rows."""
        for item in tutorials.TUTORIALS:
            action = self.actions[item.key]
            action.setText(f"&{item.key}  {_(item.title)}")
            action.setStatusTip(_(item.did))
        if self.tutorial is not None:
            self.card.show_tutorial(self.tutorial)
            self.refresh()

    def show_picture(self, key: str) -> None:
        w = self.window
        if key == "curves":
            w.tabs.setCurrentWidget(w.training_panel)
        elif key in ("confusion", "fit"):
            w.tabs.setCurrentWidget(w.evaluation_panel)
        elif key in ("units", "output"):
            w.tabs.setCurrentWidget(w.weights_panel)
            view = w.weights_panel.weights
            w.weights_panel.tabs.setCurrentWidget(view)
            view.choose(0 if key == "units" else -1, 0 if key == "units" else 1)
