"""The main window: composes the panels around one ProjectState; menus; status bar.

Left: the model builder and training settings. Right: tabs for training curves, the model's
graph, evaluation, weights and drawing. TensorFlow lives in the engine, a process of its own
(ui/engine_link.py), started as the window is made so its import overlaps the first paint; what
needs it is enabled when ``state.engine.ready`` fires. The status bar shows where the engine runs
and its device; the Engine menu (ui/engine_menu.py) moves the window to a remote engine and back.
"""

from __future__ import annotations

from PyQt5 import sip
from PyQt5.QtCore import QEvent, Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.project import Project
from workbench.core.templates import DEFAULT_TEMPLATE, load_template
from workbench.i18n import _
from workbench.ui.document import make_undo_actions
from workbench.ui.state import ProjectState
from workbench.ui.tasks import shutdown_within

APP_NAME = "Workbench"
BUILDER_SHARE = 0.36  # of the window's width, until the splitter is dragged


def initial_size(wanted: tuple[int, int] = (1400, 860)) -> tuple[int, int]:
    """The window's first size: ``wanted``, within the screen's free area (a 1024×700 screen
    gets a window that fits it, not one that runs off its edges)."""
    from PyQt5.QtWidgets import QApplication

    screen = QApplication.primaryScreen()
    if screen is None or QApplication.platformName() == "offscreen":  # no screen to fit
        return wanted
    room = screen.availableGeometry()
    return fitted(wanted, (room.width(), room.height()))


def fitted(wanted: tuple[int, int], room: tuple[int, int]) -> tuple[int, int]:
    return min(wanted[0], room[0]), min(wanted[1], room[1])


class MainWindow(QMainWindow):
    def __init__(self, project: Project | None = None, parent: QWidget | None = None,
                 engine=None, load_dataset: bool = True):
        """``engine``: an ``EngineLink``, an ``EngineHost`` or an engine (``InProcessEngine``, a
        started ``EngineProcess``); None: the app's shared engine, spawned on first use.
        ``load_dataset``: start loading the project's dataset now (False: a test sets it)."""
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.state = ProjectState(project or load_template(DEFAULT_TEMPLATE), self, engine)
        self.resize(*initial_size())

        self.tabs = QTabWidget(self, objectName="mainTabs")
        self.tabs.setDocumentMode(True)
        self._create_builder()
        self._create_training()
        from workbench.ui.lazy_tabs import LazyTabs

        # The hidden tabs: placeholders now, their panels after the first paint (or when asked).
        self.lazy_tabs = LazyTabs(self, self.tabs, [
            ("graph_panel", _("Graph"), self._create_graph),
            ("evaluation_panel", _("Evaluation"), self._create_evaluation),
            ("weights_panel", _("Weights"), self._create_weights),
            ("draw_panel", _("Draw"), self._create_draw),
            ("dataset_panel", _("Data"), self._create_dataset),
            ("experiments_panel", _("Experiments"), self._create_experiments),
        ])
        self.builder_panel.merge_offered.connect(self._on_merge_offered)
        # "Test this image" anywhere (e.g. the evaluation gallery) brings the Draw tab forward;
        # a Draw tab not built yet is built, then shown the image it missed.
        self.state.bus.test_image_requested.connect(self._on_test_image_requested)
        self._offer_early_exports()

        splitter = QSplitter(Qt.Horizontal, self)
        splitter.addWidget(self.builder_panel)
        right = QWidget(self)
        layout = QVBoxLayout(right)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.training_controls)
        layout.addWidget(self.tabs, 1)
        splitter.addWidget(right)
        splitter.setSizes([520, 880])
        self.setCentralWidget(splitter)
        # The builder keeps its share of the width as the window is resized (Qt's splitter took
        # all of a narrowing from the tabs, leaving them too narrow at 1024 px); dragging the
        # handle sets the share.
        self._splitter, self._builder_share = splitter, BUILDER_SHARE
        splitter.splitterMoved.connect(self._on_splitter_moved)
        splitter.installEventFilter(self)

        from workbench.ui.status_bar import StatusBarView

        self.setStatusBar(StatusBarView(self))  # long messages end in "…", not under the label
        self._create_menus()
        self._engine_label = QLabel(_("Engine: starting…"), self, objectName="engineStatus")
        self.statusBar().addPermanentWidget(self._engine_label)
        from workbench.ui.engine_menu import EngineMenu

        # Engine ▸ Connect / Use the local engine / Reattach / Watch; it keeps the label.
        self.engine_menu = EngineMenu(self, self._engine_label)
        self.state.engine.failed.connect(self._on_engine_failed)
        self.state.data.failed.connect(self._on_dataset_failed)
        for message in (self.state.bus.status_message, self.state.edit_refused):
            message.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.state.dirty_changed.connect(lambda _dirty: self._update_title())
        self.state.project_replaced.connect(self._update_title)
        self.state.model_changed.connect(self._update_title)  # Clear drops a template's title
        self._update_title()
        if load_dataset:
            self.state.data.load()  # numpy and image files only: it need not wait for the engine

    def _on_splitter_moved(self, _pos: int = 0, _index: int = 0) -> None:
        sizes = self._splitter.sizes()
        if sum(sizes) > 0:
            self._builder_share = sizes[0] / sum(sizes)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self._splitter and event.type() == QEvent.Resize:
            share = round(10_000 * self._builder_share)
            self._splitter.setSizes([share, 10_000 - share])  # scaled to the splitter's width
        return super().eventFilter(watched, event)

    def __getattr__(self, name: str):
        """A hidden tab's panel not built yet (``lazy_tabs``): built now."""
        lazy = self.__dict__.get("lazy_tabs")
        if lazy is not None and name in lazy.pending():
            return lazy.build(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def findChild(self, *args, **kwargs):  # noqa: N802 - Qt API
        """Qt's, over every panel: the hidden tabs not built yet are built first."""
        self.lazy_tabs.build_all()
        return super().findChild(*args, **kwargs)

    def findChildren(self, *args, **kwargs):  # noqa: N802 - Qt API
        self.lazy_tabs.build_all()
        return super().findChildren(*args, **kwargs)

    @property
    def engine_link(self):
        """The link to the engine the window works with (``state.engine``)."""
        return self.state.engine

    # Panels: each lives in its own module under workbench/ui/ ------------------------------------

    def _create_builder(self) -> None:
        from workbench.ui.builder.panel import BuilderPanel

        self.builder_panel = BuilderPanel(self.state, self)

    def _create_training(self) -> None:
        from workbench.ui.training.panel import TrainingPanel

        self.training_panel = TrainingPanel(self.state, self)
        self.training_controls = self.training_panel.controls
        self.tabs.addTab(self.training_panel, _("Training"))

    def _create_graph(self) -> QWidget:
        from workbench.ui.graph.panel import GraphPanel

        return GraphPanel(self.state, self)

    def _on_merge_offered(self, class_name: str, names: list) -> None:
        """A merge layer picked in the palette: done in the Graph tab (it takes two inputs)."""
        self.tabs.setCurrentWidget(self.graph_panel)
        self.graph_panel.offer_merge(class_name, names)

    def _create_evaluation(self) -> QWidget:
        from workbench.ui.evaluation.panel import EvaluationPanel

        return EvaluationPanel(self.state, self)

    def _create_weights(self) -> QWidget:
        from workbench.ui.weights.panel import WeightsPanel

        return WeightsPanel(self.state, self)

    def _create_draw(self) -> QWidget:
        from workbench.ui.draw.panel import DrawPanel

        return DrawPanel(self.state, self)

    def _offer_early_exports(self) -> None:
        """Models exported before the Draw tab is built: offered there once it is, as they would
        have been (those of a project replaced meanwhile forgotten, as there)."""
        exported: list[str] = []
        bus, replaced = self.state.bus.model_exported, self.state.project_replaced

        def keep(path: str) -> None:
            exported.append(path)

        def forget() -> None:
            exported.clear()

        def offer(panel) -> None:
            bus.disconnect(keep)
            replaced.disconnect(forget)
            for path in exported:
                panel._on_model_exported(path)

        bus.connect(keep)
        replaced.connect(forget)
        self.lazy_tabs.when_built("draw_panel", offer)

    def _on_test_image_requested(self, image) -> None:
        if "draw_panel" in self.lazy_tabs.pending():
            self.draw_panel.show_image(image)  # built now: it missed this request
        self.tabs.setCurrentWidget(self.draw_panel)

    def _create_dataset(self) -> QWidget:
        from workbench.ui.dataset.panel import DatasetPanel

        return DatasetPanel(self.state, self)

    def _create_experiments(self) -> QWidget:
        from workbench.ui.experiments.panel import ExperimentsPanel

        return ExperimentsPanel(self.state, self)

    # Menus --------------------------------------------------------------------------------------

    def _create_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu(_("&File"))
        self.templates_menu = self.file_menu.addMenu(_("New from &template"))
        from workbench.core.templates import templates

        for template in templates():
            action = self.templates_menu.addAction(_(template.title).replace("&", "&&"))
            action.setToolTip(_(template.description))
            action.setStatusTip(_(template.description))
            action.triggered.connect(lambda _=False, t=template: self.open_template(t.key))
        self.file_menu.addSeparator()
        quit_action = self.file_menu.addAction(_("&Quit"), self.close)
        quit_action.setShortcut(QKeySequence.Quit)
        from workbench.ui.project_actions import ProjectActions

        # New, Open, Recent, Save, Save As, Export around the templates; autosave and recovery.
        self.project_actions = ProjectActions(self)

        self.edit_menu = bar.addMenu(_("&Edit"))
        self.undo_action, self.redo_action = make_undo_actions(self.state, self)
        self.edit_menu.addAction(self.undo_action)
        self.edit_menu.addAction(self.redo_action)
        self.view_menu = bar.addMenu(_("&View"))
        self._create_train_menu(bar)
        self.help_menu = bar.addMenu(_("&Help"))
        self.quick_start_action = self.help_menu.addAction(_("&Quick start"), self.show_quick_start)
        self.quick_start_action.setShortcut(QKeySequence.HelpContents)
        self.shortcuts_action = self.help_menu.addAction(_("&Keyboard shortcuts"),
                                                         self.show_shortcuts)
        self.help_menu.addSeparator()
        self.help_menu.addAction(_("&About"), self._about)
        from workbench.ui.tutorials import install

        self.tutorials = install(self)  # Help ▸ Tutorials A–H and the tutorial card
        from workbench.ui.language import install_language_menu

        install_language_menu(self, self.help_menu)  # Help ▸ Language: English / 中文

    def _create_train_menu(self, bar) -> None:
        """Train, Pause/Resume, Stop: the training panel's own commands, with keys."""
        panel = self.training_panel
        self.train_menu = bar.addMenu(_("&Train"))
        self.train_action = self.train_menu.addAction(_("&Train"), self._train)
        self.train_action.setShortcut(QKeySequence("F5"))
        self.continue_action = self.train_menu.addAction(_("&Continue training"),
                                                         self._continue)
        self.continue_action.setShortcut(QKeySequence("Ctrl+F5"))
        self.pause_action = self.train_menu.addAction(_("&Pause / Resume"), panel.toggle_pause)
        self.pause_action.setShortcut(QKeySequence("F6"))
        self.stop_action = self.train_menu.addAction(_("&Stop"), panel.stop_training)
        self.stop_action.setShortcut(QKeySequence("Shift+F5"))
        self.train_menu.addSeparator()
        self.tensorboard_action = self.train_menu.addAction(_("Write &TensorBoard files"))
        self.tensorboard_action.setObjectName("tensorboardAction")
        self.tensorboard_action.setCheckable(True)
        self.tensorboard_action.setStatusTip(_("Each run also writes TensorBoard event files "
                                               "beside the project (workbench tensorboard "
                                               "PROJECT)"))
        self.tensorboard_action.toggled.connect(self._on_tensorboard_toggled)
        self.state.project_replaced.connect(lambda: self.tensorboard_action.setChecked(
            self.state.project.tensorboard))
        self.state.busy_changed.connect(self._on_busy_changed)
        self._on_busy_changed(self.state.busy)

    def _on_tensorboard_toggled(self, on: bool) -> None:
        """The project's option: on only where the engine (which trains and writes them) has
        the tensorboard package; it is asked, and the option set when it answers."""
        if on == self.state.project.tensorboard:
            return
        if on:
            self.state.engine.ask("device", {}, self._on_tensorboard_answer)
            return
        self._set_tensorboard(False)

    def _on_tensorboard_answer(self, body: dict | None, error: str) -> None:
        if sip.isdeleted(self) or not self.tensorboard_action.isChecked():
            return  # turned off again meanwhile
        problem = error or body.get("tensorboard", "")
        if problem:
            self.tensorboard_action.setChecked(False)
            self.statusBar().showMessage(problem, 15000)
            return
        self._set_tensorboard(True)

    def _set_tensorboard(self, on: bool) -> None:
        self.state.project.tensorboard = on
        self.state.mark_unsaved()
        if on:
            self.statusBar().showMessage(
                _("Each run writes TensorBoard files beside the project")
                if self.state.path is not None else
                _("Each run writes TensorBoard files beside the project once it is saved"), 10000)

    def _train(self) -> None:
        if not self.training_panel.start_training():
            self.statusBar().showMessage(self.training_panel.train_blocker(), 10000)

    def _continue(self) -> None:
        panel = self.training_panel
        if not panel.continue_training():
            self.statusBar().showMessage(panel.train_blocker()
                                         or panel.continue_button.toolTip(), 10000)

    def _on_busy_changed(self, busy: bool) -> None:
        self.train_action.setEnabled(not busy)
        self.continue_action.setEnabled(not busy)
        self.pause_action.setEnabled(busy)
        self.stop_action.setEnabled(busy)

    def show_quick_start(self):
        from workbench.ui.help import show_quick_start

        return show_quick_start(self, {
            "train": self.train_action, "pause": self.pause_action, "stop": self.stop_action,
            "save": self.project_actions.save_action, "undo": self.undo_action,
            "redo": self.redo_action})

    def show_shortcuts(self):
        from workbench.ui.help import show_shortcuts

        return show_shortcuts(self)

    def open_template(self, key: str) -> None:
        if self.state.busy:
            QMessageBox.information(self, APP_NAME, _("Stop the training first."))
            return
        if not self.confirm_discard():
            return
        self.state.replace_project(load_template(key))

    def confirm_discard(self) -> bool:
        """Before unsaved changes go: Save / Discard / Cancel; True when it is fine to go on."""
        return self.project_actions.maybe_save()

    def _about(self) -> None:
        QMessageBox.about(
            self, APP_NAME,
            _("Workbench: build a neural network by clicking, watch it train, look inside it, "
              "and draw a digit to test it.")
            + "\nPyQt5 · TensorFlow/Keras · pyqtgraph · numpy",  # not translated: names
        )

    # State ---------------------------------------------------------------------------------------

    def _update_title(self) -> None:
        name = self.state.project.name or _("Untitled")
        if self.state.path is not None:
            name = self.state.path.name
        # A visible mark of our own: Qt's "[*]" placeholder shows nothing on some platforms.
        self.setWindowTitle(f"{name}{' •' if self.state.dirty else ''} — {APP_NAME}")

    def retranslate(self) -> None:
        """After Help ▸ Language: the texts built here from the state."""
        self._update_title()  # the engine's label: EngineMenu.retranslate

    def _on_engine_failed(self, message: str) -> None:
        QMessageBox.critical(self, APP_NAME, message)

    def _on_dataset_failed(self, message: str) -> None:
        self.statusBar().showMessage(_("Dataset: {message}").format(message=message), 15000)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if not self.training_panel.confirm_close():
            event.ignore()
            return
        if not self.confirm_discard():
            event.ignore()
            return
        self.project_actions.finish_writes()  # the trained weights a Save is still writing
        self.training_panel.shutdown()
        shutdown_within(self)  # every other task of the window's panels: cancelled and joined
        self.state.engine.close()
        self.engine_menu.close()  # a remote engine: disconnected (its runs go on there)
        event.accept()


def run_gui(argv: list[str] | None = None) -> int:
    """The whole app: the QApplication, the engine (spawned first, so TensorFlow's import in its
    process overlaps the window's first paint) and the main window."""
    from workbench.ui.application import make_application
    from workbench.ui.engine_link import close_shared, shared_host

    app = make_application(argv)
    shared_host()
    app.aboutToQuit.connect(close_shared)
    window = MainWindow()
    window.show()
    from workbench.ui.language import startup_note

    if startup_note:  # no font for the system's Chinese: English, and which package gives one
        window.statusBar().showMessage(startup_note, 30000)
    return app.exec_()
