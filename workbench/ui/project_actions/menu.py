"""The File menu's actions in their place around the window's own items, and Open Recent."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QMenu

from workbench.i18n import _
from workbench.ui.project_actions.deploy_dialog import CHOICES as DEPLOY_CHOICES
from workbench.ui.project_actions.exports import PLOTS

MAX_RECENT = 8


class MenuMixin:
    """Part of ProjectActions: builds the menu; remembers recent files and the last folder."""

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(shortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _create_actions(self) -> None:
        self.new_action = self._action(_("&New"), self.new_project, QKeySequence.New,
                                       _("A new project from the default template"))
        self.open_action = self._action(_("&Open…"), self.open_dialog, QKeySequence.Open,
                                        _("Open a project, or a Keras model (.keras, .h5)"))
        self.recent_menu = QMenu(_("Open &Recent"), self.window)
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.save_action = self._action(_("&Save"), self.save, QKeySequence.Save,
                                        _("Save the project and its trained weights"))
        self.save_as_action = self._action(_("Save &As…"), self.save_as,
                                           QKeySequence("Ctrl+Shift+S"),
                                           _("Save the project under a new name"))
        self.export_menu = QMenu(_("&Export"), self.window)
        self.export_menu.setObjectName("exportMenu")
        self.export_model_action = self._action(
            _("Trained &model (.keras)…"), self.export_model,
            tip=_("The trained Keras model, to use without the Workbench"))
        self.export_script_action = self._action(
            _("&Python script…"), self.export_script,
            tip=_("A standalone Keras script that builds and trains the same model"))
        self.export_menu.addAction(self.export_model_action)
        self.export_menu.addAction(self.export_script_action)
        self.export_menu.addSeparator()
        # Deployment formats: each opens the export dialog with that format chosen.
        self.export_deploy_actions: dict[tuple[str, str | None], QAction] = {}
        for fmt, quantize, title, help_text in DEPLOY_CHOICES:
            tip = _(help_text)
            action = self._action(f"{title}…", lambda f=fmt, q=quantize:
                                  self.export_deployment(f, q), tip=tip[0].upper() + tip[1:])
            self.export_deploy_actions[(fmt, quantize)] = action
            self.export_menu.addAction(action)
        self.export_menu.addSeparator()
        self.export_plot_actions: dict[str, QAction] = {}
        for name, title in PLOTS:
            action = self._action(_("{title} (PNG/SVG)…").format(
                title=_(title)), lambda n=name: self.export_plot(n))
            self.export_plot_actions[name] = action
            self.export_menu.addAction(action)
        self.export_menu.addSeparator()
        self.export_csv_action = self._action(
            _("Run &history (CSV)…"), self.export_history,
            tip=_("Every run's per-epoch loss and metrics as a spreadsheet"))
        self.export_menu.addAction(self.export_csv_action)
        self.export_report_action = self._action(
            _("Export &Report…"), self.export_report,
            tip=_("The last run as one HTML page: model, data, curves, confusion matrix, mistakes "
                  "and weights; opens offline, prints to PDF"))
        self.export_report_action.setObjectName("exportReportAction")

    def _insert_into(self, menu: QMenu) -> None:
        """New first, then the template submenu, then Open, Recent, Save, Save As, Export."""
        templates = getattr(self.window, "templates_menu", None)
        actions = menu.actions()
        anchor = templates.menuAction() if templates is not None else None
        if anchor in actions:
            menu.insertAction(anchor, self.new_action)
            index = actions.index(anchor)
            after = actions[index + 1] if index + 1 < len(actions) else None
        else:
            after = actions[0] if actions else None
            menu.insertAction(after, self.new_action)
        items: list[QAction] = [self.open_action, self.recent_menu.menuAction()]
        for action in items:
            menu.insertAction(after, action)
        menu.insertSeparator(after)
        for action in (self.save_action, self.save_as_action, self.export_menu.menuAction(),
                       self.export_report_action):
            menu.insertAction(after, action)

    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [], type=list)
        return [str(v) for v in value if v][:MAX_RECENT]

    def _remember(self, path: Path) -> None:
        self._remember_folder(path)
        path_text = str(Path(path).resolve())
        files = [f for f in self.recent_files() if f != path_text]
        self.settings.setValue("recentFiles", [path_text, *files][:MAX_RECENT])
        self.settings.sync()

    def _forget(self, path: str) -> None:
        self.settings.setValue("recentFiles", [f for f in self.recent_files() if f != path])

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.recent_files()
        for number, path in enumerate(files, 1):
            action = menu.addAction(f"&{number}  {Path(path).name.replace('&', '&&')}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_recent(p))
        if not files:
            menu.addAction(_("No recent projects")).setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction(_("Clear the list"), lambda: self.settings.setValue("recentFiles", []))

    # The folder the file dialogs start in ------------------------------------------------------

    def start_folder(self) -> Path:
        """The open project's folder, else the folder used last, else Documents (or home)."""
        if self.state.path is not None:
            return Path(self.state.path).parent
        last = self.settings.value("lastFolder", "", type=str)
        if last and Path(last).is_dir():
            return Path(last)
        documents = Path(platformdirs.user_documents_dir())
        return documents if documents.is_dir() else Path.home()

    def _remember_folder(self, path: Path) -> None:
        self.settings.setValue("lastFolder", str(Path(path).resolve().parent))
        self.settings.sync()
