"""The model builder: palette, layer stack, property editor and training settings in one column.

Run alone with ``python -m workbench.ui.builder.panel``.
"""

from __future__ import annotations

import sys

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QAction,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalogue import merges
from workbench.core.spec import LayerSpec
from workbench.i18n import _
from workbench.ui.builder.palette import LayerPaletteView
from workbench.ui.builder.properties import LayerPropertiesView
from workbench.ui.builder.settings import TrainingSettingsPanel
from workbench.ui.builder.stack import LayerStackView
from workbench.ui.state import ProjectState

BUSY_STYLE = "color: #6b4e00; background: #fff8d6; border: 1px solid #e8d48b; padding: 4px;"


class BuilderPanel(QWidget):
    """Left column of the main window: build the model (Model tab) and set up training.

    ``merge_offered(class_name, names)``: a merge layer was picked in the palette; the window
    offers it in the Graph tab with ``names`` selected (without a listener: a message says how).
    """

    merge_offered = pyqtSignal(str, list)

    def __init__(self, state: ProjectState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("builderPanel")
        self.state = state
        self._code_view = None

        # While the document is not editable (a run trains, a read-only model): say why, grey out.
        self.busy_note = QLabel("", self, objectName="builderBusyNote")
        self.busy_note.setStyleSheet(BUSY_STYLE)
        self.busy_note.setWordWrap(True)
        self.busy_note.hide()

        self.palette_view = LayerPaletteView(self)
        self.stack = LayerStackView(state, self)
        self.properties = LayerPropertiesView(state, self)
        self.settings = TrainingSettingsPanel(state, self)

        self.view_code_action = QAction(_("View &code…"), self)
        self.view_code_action.setObjectName("viewCodeAction")
        self.view_code_action.setStatusTip(_("The equivalent Keras Python script, updated live"))
        self.view_code_action.triggered.connect(self.show_code)
        self.clear_action = QAction(_("Clear"), self)
        self.clear_action.setObjectName("clearModelAction")
        self.clear_action.setToolTip(_("Remove all layers (keeps the input; undo brings them "
                                       "back)"))
        self.clear_action.triggered.connect(self.clear_model)

        palette_box = QGroupBox(_("Layers"), self)
        palette_layout = QVBoxLayout(palette_box)
        palette_layout.setContentsMargins(4, 4, 4, 4)
        palette_layout.addWidget(self.palette_view)

        stack_box = QGroupBox(_("Model"), self)
        stack_layout = QVBoxLayout(stack_box)
        stack_layout.setContentsMargins(4, 4, 4, 4)
        stack_layout.addWidget(self.stack)
        tools = QHBoxLayout()
        for action in (self.clear_action, self.view_code_action):
            button = QToolButton(stack_box)
            button.setDefaultAction(action)
            tools.addWidget(button)
        tools.addStretch(1)
        stack_layout.addLayout(tools)

        properties_box = QGroupBox(_("Properties"), self)
        properties_layout = QVBoxLayout(properties_box)
        properties_layout.setContentsMargins(2, 4, 2, 2)
        properties_layout.addWidget(self.properties)

        # The stack gets the full width (its shapes and counts need it); below it, the palette to
        # pick from beside the selected layer's properties.
        bottom = QSplitter(Qt.Horizontal, self)
        bottom.addWidget(palette_box)
        bottom.addWidget(properties_box)
        bottom.setStretchFactor(0, 0)
        bottom.setStretchFactor(1, 1)
        bottom.setChildrenCollapsible(False)
        palette_box.setMinimumWidth(130)
        bottom.setSizes([170, 350])

        model_split = QSplitter(Qt.Vertical, self)
        model_split.addWidget(stack_box)
        model_split.addWidget(bottom)
        model_split.setStretchFactor(0, 5)
        model_split.setStretchFactor(1, 4)
        model_split.setChildrenCollapsible(False)
        model_split.setSizes([450, 360])
        self.model_splitter = model_split

        # The Model tab says what the training settings' warnings say (it said nothing while
        # the hint above the tabs said "Ready"); under the layer list, whose bottom edge is all
        # that moves.
        self.settings.warnings_changed.connect(self._on_warnings_changed)
        self._on_warnings_changed(self.settings.warnings.text())

        self.tabs = QTabWidget(self, objectName="builderTabs")
        self.tabs.addTab(model_split, _("Model"))
        self.tabs.addTab(self.settings, _("Training settings"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.tabs, 1)
        # No minimum width of its own: at 470 px the main splitter could not narrow the builder
        # in a 1024-pixel window (the stack's layer column elides instead; its tooltip is whole).

        self.palette_view.layer_chosen.connect(self.add_layer)
        state.editable_changed.connect(self._on_editable_changed)
        state.project_replaced.connect(self._on_project_replaced)
        self._on_editable_changed(state.editable)

    def sizeHint(self):  # noqa: N802 - Qt API
        hint = super().sizeHint()
        hint.setWidth(520)
        return hint

    # Commands ------------------------------------------------------------------------------------

    def add_layer(self, class_name: str) -> None:
        """Add a layer with the catalogue's defaults after the selected one (or the input); a
        merge layer is offered in the Graph tab instead (it needs two inputs)."""
        if merges(class_name):
            if self.receivers(self.merge_offered):
                from workbench.ui.graph.panel import merge_nodes

                self.merge_offered.emit(class_name, merge_nodes(self.state, class_name))
            else:
                from workbench.core.fixes import merge_hint

                self.state.edit_refused.emit(
                    _("Not added: {reason}").format(reason=_(merge_hint(class_name))))
            return
        self.state.insert_layer(self.state.selected + 1, LayerSpec.create(class_name))
        self.stack.tree.setFocus()

    def clear_model(self) -> None:
        if self.state.spec.layers:
            self.state.clear_model()
            self.state.select(-1)

    def show_code(self) -> None:
        from workbench.ui.builder.code_dialog import CodeView

        if self._code_view is None:
            self._code_view = CodeView(self.state, self)
        self._code_view.show()
        self._code_view.raise_()
        self._code_view.activateWindow()

    # State ---------------------------------------------------------------------------------------

    def _on_editable_changed(self, editable: bool) -> None:
        reason = _(self.state.not_editable_reason)
        self.busy_note.setText(reason[:1].upper() + reason[1:])
        self.busy_note.setVisible(not editable)
        self._place_busy_note()
        for widget in (self.palette_view, self.stack, self.properties, self.settings):
            widget.setEnabled(editable)
        self.clear_action.setEnabled(editable)

    def _place_busy_note(self) -> None:
        """Over the top of the tabs' page, under the tab bar (what it covers is greyed out while
        it shows): in the layout, it pushed the whole builder down 31 px as each run began and
        back up as it ended."""
        if not self.busy_note.isVisible():
            return
        top = self.tabs.geometry().top() + self.tabs.tabBar().height()
        width = self.tabs.width()
        height = self.busy_note.heightForWidth(width)
        if height <= 0:
            height = self.busy_note.sizeHint().height()
        self.busy_note.setGeometry(self.tabs.x(), top, width, height)
        self.busy_note.raise_()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_busy_note()

    def retranslate(self) -> None:
        """After Help ▸ Language: the note built from the state."""
        self._on_editable_changed(self.state.editable)

    def _on_warnings_changed(self, text: str) -> None:
        shown = bool(text) and self.stack.output_problem() is None  # not said twice
        self.stack.warnings.setText(text)
        self.stack.warnings.setVisible(shown)

    def _on_project_replaced(self) -> None:
        self.tabs.setCurrentIndex(0)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        # The main window builds its View menu after the panels; join it on first show.
        menu = getattr(self.window(), "view_menu", None)
        if menu is not None and self.view_code_action not in menu.actions():
            menu.addAction(self.view_code_action)
        super().showEvent(event)


def main() -> int:
    """Open the model builder alone, on the default template."""
    from workbench.ui.application import run_panel

    return run_panel(BuilderPanel, _("Model builder"), (560, 820))


if __name__ == "__main__":
    sys.exit(main())
