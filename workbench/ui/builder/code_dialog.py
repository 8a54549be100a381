"""A read-only window with the Keras script for the current project, kept up to date live."""

from __future__ import annotations

from PyQt5.QtGui import QFont, QFontDatabase, QFontInfo
from PyQt5.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from workbench.core.codegen import generate_script
from workbench.i18n import _
from workbench.ui.state import ProjectState


def monospace_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.FixedFont)
    if not QFontInfo(font).fixedPitch():  # some platforms answer with a proportional font
        font = QFont("monospace")
        font.setStyleHint(QFont.TypeWriter)
        font.setFixedPitch(True)
    return font


class CodeView(QDialog):
    def __init__(self, state: ProjectState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("codeView")
        self.setWindowTitle(_("Keras code for this model"))
        self.resize(760, 680)
        self.state = state
        self.text = QPlainTextEdit(self, objectName="codeText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.text.setFont(monospace_font())
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        self.copy_button = buttons.addButton(_("Copy"), QDialogButtonBox.ActionRole)
        self.copy_button.clicked.connect(self._on_copy)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        state.model_changed.connect(self._on_project_changed)
        state.training_changed.connect(self._on_project_changed)
        state.project_replaced.connect(self._on_project_changed)
        self.refresh()

    def _on_project_changed(self) -> None:
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.refresh()
        super().showEvent(event)

    def refresh(self) -> None:
        try:
            code = generate_script(self.state.project)
        except Exception as exc:  # noqa: BLE001 - show why instead of failing the dialog
            code = "# " + _("The code cannot be generated: {error}").format(error=exc)
        if code != self.text.toPlainText():
            bar = self.text.verticalScrollBar()
            position = bar.value()
            self.text.setPlainText(code)
            bar.setValue(position)

    def _on_copy(self) -> None:
        QApplication.clipboard().setText(self.text.toPlainText())
