"""What the layer stack says under its rows: the training settings' warnings, the model's totals,
whether the dataset's samples fit the input shape, and the model's error with its fix button.

The view only shows what it is given; ``LayerStackView`` (ui/builder/stack.py) decides when, and
acts on the two buttons (``fix_button``, ``input_hint_button``).
"""

from __future__ import annotations

import math

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.core.compatibility import OutputProblem
from workbench.core.fixes import Fix
from workbench.core.inspect import ModelInspection, format_shape
from workbench.core.spec import LayerSpec
from workbench.i18n import _

WARNING_STYLE = "color: #8a4b00; background: #fff3e0; border: 1px solid #f0c27b; padding: 4px;"
ERROR_STYLE = "color: #b3261e; background: #fde4e4; border: 1px solid #f2b8b5; padding: 4px;"
NOTE_STYLE = "color: #555; padding: 2px 4px;"


class StackNoticesView(QWidget):
    """The warnings, totals, input-shape hint and error (with its fix) under the layer list."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.input_hint = QLabel(self, objectName="inputShapeHint")
        self.input_hint.setWordWrap(True)
        self.input_hint_button = QPushButton(self, objectName="useDatasetShapeButton")
        self.input_frame = self._frame(self.input_hint, self.input_hint_button, vertical=False)

        self.error_label = QLabel(self, objectName="layerErrorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.fix_button = QPushButton(_("Insert Reshape to fix"), self, objectName="fixButton")
        self.error_frame = self._frame(self.error_label, self.fix_button, vertical=True)

        self.totals = QLabel(self, objectName="modelTotals")
        self.totals.setStyleSheet("padding: 2px 4px;")
        self.totals.setWordWrap(True)

        # The builder's copy of the training settings' warnings (the loss or the output does not
        # fit the labels): right under the list, so that only the list's bottom edge moves.
        self.warnings = QLabel(self, objectName="modelWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet(WARNING_STYLE)
        self.warnings.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for widget in (self.warnings, self.totals, self.input_frame, self.error_frame):
            layout.addWidget(widget)

    def _frame(self, label: QLabel, button: QPushButton, vertical: bool) -> QFrame:
        frame = QFrame(self)
        row = QVBoxLayout(frame) if vertical else QHBoxLayout(frame)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        row.addWidget(label, 1)
        row.addWidget(button, 0, Qt.AlignLeft if vertical else Qt.AlignTop)
        frame.hide()
        return frame

    def show_totals(self, text: str, tip: str) -> None:
        self.totals.setText(text)
        self.totals.setToolTip(tip)

    def show_model_error(self, report: ModelInspection | None, problem: OutputProblem | None,
                         layers: list[LayerSpec], stale: bool) -> None:
        """The output's misfit with the labels (``problem``), else Keras's error in ``report``;
        while ``stale`` (Keras has not checked the newest edit) the last message stays."""
        if problem is not None:
            where = _("Layer {number} ({name}): ").format(number=len(layers),
                                                          name=layers[-1].class_name)
            self._show_error(f"{where}{_(problem.message)}", problem.fix, problem.fix_index,
                             _("Insert {name} before layer {number}").format(
                                 name=problem.fix.class_name,
                                 number=(problem.fix_index or 0) + 1) if problem.fix else "")
            return
        if report is None or report.ok or stale and report.error_index is None:
            self.error_frame.hide()
            return
        if stale:
            return  # keep the last message until Keras has checked the new model
        where = ""
        fix = None
        if report.error_index is not None:
            info = report.layers[report.error_index]
            where = _("Layer {number} ({name}): ").format(number=report.error_index + 1,
                                                          name=info.class_name)
            fix = info.repair
        self._show_error(f"{where}{_(report.error)}", fix, report.error_index,
                         _(fix.label) if fix is not None else "")
        self.error_label.setToolTip(report.error_text())

    def _show_error(self, text: str, fix: LayerSpec | Fix | None, index: int | None,
                    button: str) -> None:
        self.error_label.setText(f"⚠ {text}")
        self.error_label.setToolTip(text)
        if isinstance(fix, Fix):
            self.fix_button.setText(button)
            self.fix_button.setToolTip(
                _(fix.text) if fix.layer is None or fix.source else
                _("Insert {name} before layer {number}").format(name=fix.layer.summary(),
                                                                number=(index or 0) + 1))
        elif fix is not None:
            self.fix_button.setText(button)
            self.fix_button.setToolTip(_("Insert {name} before layer {number}").format(
                name=fix.summary(), number=(index or 0) + 1))
        self.fix_button.setVisible(fix is not None)
        self.error_frame.show()

    def show_input_hint(self, data_shape: tuple | None, shape: tuple) -> None:
        """Whether the dataset's samples (``data_shape``; None: no dataset) fit the input."""
        if data_shape is None or data_shape == shape:
            self.input_frame.hide()
            return
        if math.prod(data_shape) == math.prod(shape):
            self.input_hint.setText(
                _("The dataset's samples are {data}; they are reshaped to the input {shape} "
                  "automatically.").format(data=format_shape(data_shape),
                                           shape=format_shape(shape)))
            self.input_hint.setStyleSheet(NOTE_STYLE)
            self.input_hint_button.hide()
        else:
            self.input_hint.setText(
                _("⚠ The dataset's samples are {data} but the input is {shape}: training would "
                  "fail.").format(data=format_shape(data_shape), shape=format_shape(shape)))
            self.input_hint.setStyleSheet(WARNING_STYLE)
            self.input_hint_button.setText(_("Use {shape}").format(shape=format_shape(data_shape)))
            self.input_hint_button.show()
        self.input_frame.show()
