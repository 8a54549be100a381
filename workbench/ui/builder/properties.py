"""The property editor: widgets generated from the catalogue's parameters of the selected layer.

Every edit goes straight to ``ProjectState.set_layer_param`` (one undo step per run of edits of the
same parameter). The editor is rebuilt only when the selected layer's type changes; otherwise the
values are refreshed in place so the widget being typed in keeps its focus and cursor.
"""

from __future__ import annotations

import math
import re
from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalogue import REGULARIZERS, Param, layer_type, regularizer
from workbench.core.inspect import format_shape
from workbench.ui.state import ProjectState

INT_LIMIT = 2**31 - 1
HELP_STYLE = "color: #666; font-size: 9pt;"
INVALID_STYLE = "QLineEdit { border: 1px solid #b3261e; background: #fde4e4; }"


class ParamEditor(QWidget):
    """One parameter's editor: ``set_value`` from the spec, ``edited(value)`` from the user."""

    edited = pyqtSignal(object)

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self.problem = QLabel(self)
        self.problem.setStyleSheet("color: #b3261e;")
        self.problem.hide()

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self, *_args) -> None:
        self.edited.emit(self.value())

    def show_problem(self, text: str | None) -> None:
        self.problem.setText(text or "")
        self.problem.setVisible(bool(text))


class _OptionalMixin:
    """A checkbox that switches an optional parameter between None ("auto") and a value."""

    def _add_optional(self, label: str) -> None:
        self.enabled_box = QCheckBox(label, self)
        self.enabled_box.setToolTip("Unticked: Keras's default (None)")
        self.row.addWidget(self.enabled_box)
        self.enabled_box.toggled.connect(self._on_enabled_toggled)

    def _on_enabled_toggled(self, on: bool) -> None:
        self._set_inner_enabled(on)
        self._emit()


class IntEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.spin = QSpinBox(self)
        lo = -INT_LIMIT if param.minimum is None else int(param.minimum)
        hi = INT_LIMIT if param.maximum is None else int(param.maximum)
        self.spin.setRange(lo, hi)
        self.spin.setGroupSeparatorShown(False)
        self.spin.setAccelerated(True)
        self.spin.setMinimumWidth(70)
        self.row.addWidget(self.spin)
        self.row.addStretch(1)
        self.spin.valueChanged.connect(self._emit)

    def value(self) -> int:
        return self.spin.value()

    def set_value(self, value: Any) -> None:
        if isinstance(value, int) and value != self.spin.value():
            self.spin.setValue(value)


def float_step(param: Param) -> float:
    """A step that suits the parameter: 0.05 for rates, a tenth of the default's decade for tiny
    values like epsilon."""
    default = param.default
    if isinstance(default, (int, float)) and 0 < abs(default) < 0.05:
        return 10 ** math.floor(math.log10(abs(default)))
    if param.maximum is not None and param.maximum <= 1:
        return 0.05
    return 0.1


class FloatEditor(ParamEditor, _OptionalMixin):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.spin = QDoubleSpinBox(self)
        self.spin.setDecimals(5)
        lo = -1e9 if param.minimum is None else float(param.minimum)
        hi = 1e9 if param.maximum is None else float(param.maximum)
        if param.exclusive_max:
            hi -= 10 ** -self.spin.decimals()
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(float_step(param))
        self.spin.setMinimumWidth(70)
        if param.optional:
            self._add_optional("set")
        self.row.addWidget(self.spin)
        self.row.addStretch(1)
        self.spin.valueChanged.connect(self._emit)

    def _set_inner_enabled(self, on: bool) -> None:
        self.spin.setEnabled(on)

    def value(self) -> float | None:
        if self.param.optional and not self.enabled_box.isChecked():
            return None
        return round(self.spin.value(), 10)

    def set_value(self, value: Any) -> None:
        if self.param.optional:
            self.enabled_box.blockSignals(True)
            self.enabled_box.setChecked(value is not None)
            self.enabled_box.blockSignals(False)
            self.spin.setEnabled(value is not None)
        if isinstance(value, (int, float)) and abs(value - self.spin.value()) > 1e-12:
            self.spin.setValue(float(value))


class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.box = QCheckBox(self)
        self.row.addWidget(self.box)
        self.row.addStretch(1)
        self.box.toggled.connect(self._emit)

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        if bool(value) != self.box.isChecked():
            self.box.setChecked(bool(value))


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.combo = QComboBox(self)
        self.combo.addItems([str(c) for c in param.choices])
        self.combo.setMaxVisibleItems(16)
        self.combo.setMinimumWidth(100)
        self.row.addWidget(self.combo)
        self.row.addStretch(1)
        self.combo.currentIndexChanged.connect(self._emit)

    def value(self) -> Any:
        i = self.combo.currentIndex()
        return self.param.choices[i] if i >= 0 else None

    def set_value(self, value: Any) -> None:
        if value in self.param.choices:
            i = list(self.param.choices).index(value)
            if i != self.combo.currentIndex():
                self.combo.setCurrentIndex(i)


class IntsEditor(ParamEditor, _OptionalMixin):
    """A fixed number of whole numbers (kernel 3 × 3); optional ones can be left to Keras."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        if param.optional:
            self._add_optional("set")
        self.spins: list[QSpinBox] = []
        for i in range(max(1, param.length)):
            if i:
                self.row.addWidget(QLabel("×", self))
            spin = QSpinBox(self)
            spin.setRange(1, 4096)
            spin.setMinimumWidth(50)
            spin.valueChanged.connect(self._emit)
            self.row.addWidget(spin)
            self.spins.append(spin)
        self.row.addStretch(1)
        default = param.default or [2] * len(self.spins)
        self._set_numbers(default)

    def _set_inner_enabled(self, on: bool) -> None:
        for spin in self.spins:
            spin.setEnabled(on)

    def _set_numbers(self, numbers) -> None:
        for spin, n in zip(self.spins, numbers, strict=False):
            if n != spin.value():
                spin.setValue(int(n))

    def value(self) -> list[int] | None:
        if self.param.optional and not self.enabled_box.isChecked():
            return None
        return [spin.value() for spin in self.spins]

    def set_value(self, value: Any) -> None:
        if self.param.optional:
            self.enabled_box.blockSignals(True)
            self.enabled_box.setChecked(value is not None)
            self.enabled_box.blockSignals(False)
            self._set_inner_enabled(value is not None)
        if isinstance(value, int):
            value = [value] * len(self.spins)
        if isinstance(value, (list, tuple)):
            self._set_numbers(value)


def parse_shape(text: str) -> list[int] | None:
    """``"28, 28, 1"`` or ``"28×28×1"`` → [28, 28, 1]; None when it is not a list of integers."""
    cleaned = re.sub(r"(?<=\d)\s*[x×]\s*(?=\d)", ",", text).replace("(", "").replace(")", "")
    parts = [p.strip() for p in cleaned.replace(" ", ",").split(",") if p.strip()]
    try:
        return [int(p) for p in parts] if parts else None
    except ValueError:
        return None


class ShapeEditor(ParamEditor):
    """A shape of any length typed as ``28, 28, 1``, applied on Enter or when focus leaves;
    invalid text is marked and not applied."""

    def __init__(self, param: Param, parent: QWidget | None = None, allow_rest: bool = True):
        super().__init__(param, parent)
        self.allow_rest = allow_rest
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("e.g. 28, 28, 1")
        self.row.addWidget(self.edit, 1)
        self.edit.textEdited.connect(self._on_text_edited)
        self.edit.editingFinished.connect(self._on_editing_finished)
        self._value: list[int] | None = None

    def problem_with(self, numbers: list[int] | None) -> str | None:
        if numbers is None:
            return "type whole numbers separated by commas, e.g. 28, 28, 1"
        if not self.allow_rest and any(n < 1 for n in numbers):
            return "sizes must be whole numbers of at least 1"
        return self.param.check(numbers)

    def _on_text_edited(self, text: str) -> None:
        # Mark while typing; apply on Enter or leaving the field ("28," is not a shape yet).
        problem = self.problem_with(parse_shape(text))
        self.edit.setStyleSheet(INVALID_STYLE if problem else "")
        self.show_problem(f"{self.param.name} {problem}" if problem else None)

    def _on_editing_finished(self) -> None:
        numbers = parse_shape(self.edit.text())
        if self.problem_with(numbers) is None and numbers != self._value:
            self._value = numbers
            self.edited.emit(numbers)

    def value(self) -> list[int] | None:
        return self._value

    def set_value(self, value: Any) -> None:
        if value is None:
            return
        numbers = [int(v) for v in value]
        if numbers != parse_shape(self.edit.text()):
            self.edit.setText(", ".join(map(str, numbers)))
        self._value = numbers
        self.edit.setStyleSheet("")
        self.show_problem(None)


class RegularizerEditor(ParamEditor):
    """None / L1 / L2 / L1L2 and a factor, stored in Keras's serialised form."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.kind = QComboBox(self)
        self.kind.addItems(["none", *REGULARIZERS])
        self.factor = QDoubleSpinBox(self)
        self.factor.setDecimals(5)
        self.factor.setRange(0.0, 10.0)
        self.factor.setSingleStep(0.001)
        self.factor.setValue(0.01)
        self.factor.setEnabled(False)
        self.factor.setToolTip("Penalty factor (Keras's l1/l2 argument)")
        self.factor.setPrefix("× ")
        self.row.addWidget(self.kind)
        self.row.addWidget(self.factor)
        self.row.addStretch(1)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.factor.valueChanged.connect(self._emit)

    def _on_kind_changed(self, _index: int) -> None:
        self.factor.setEnabled(self.kind.currentIndex() > 0)
        self._emit()

    def value(self) -> dict | None:
        kind = self.kind.currentText()
        return None if kind == "none" else regularizer(kind, round(self.factor.value(), 10))

    def set_value(self, value: Any) -> None:
        kind = value.get("class_name") if isinstance(value, dict) else "none"
        if self.kind.currentText() != kind:
            self.kind.setCurrentText(kind)
        self.factor.setEnabled(kind != "none")
        if isinstance(value, dict):
            factors = list((value.get("config") or {}).values())
            if factors and abs(factors[0] - self.factor.value()) > 1e-12:
                self.factor.setValue(float(factors[0]))


_EDITORS = {
    "int": IntEditor, "float": FloatEditor, "bool": BoolEditor, "choice": ChoiceEditor,
    "initializer": ChoiceEditor, "ints": IntsEditor, "shape": ShapeEditor,
    "regularizer": RegularizerEditor,
}


def make_editor(param: Param, parent: QWidget | None = None) -> ParamEditor:
    return _EDITORS[param.kind](param, parent)


INPUT_PARAM = Param("input_shape", "shape", [28, 28],
                    "One sample's shape without the batch axis: (28, 28) for a grey image, "
                    "(784,) for a flat vector, (28, 28, 1) for an image with a channel axis")


class LayerPropertiesView(QScrollArea):
    """The selected layer's parameters (or the input shape when the input row is selected)."""

    def __init__(self, state: ProjectState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("layerProperties")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.state = state
        self.editors: dict[str, ParamEditor] = {}
        self._key: object = None  # what the form is built for: "input", a class name or None
        self._index = -1
        self._emitting: ParamEditor | None = None

        self._body = QWidget(self)
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(6, 4, 6, 4)
        self._layout.setSpacing(4)
        self.title = QLabel(self._body, objectName="propertiesTitle")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.RichText)
        self.title.setMinimumWidth(10)
        self._layout.addWidget(self.title)
        self._form_host = QWidget(self._body)
        self._layout.addWidget(self._form_host)
        self._layout.addStretch(1)
        self.setWidget(self._body)

        state.selection_changed.connect(self._on_selection_changed)
        state.model_changed.connect(self._on_model_changed)
        state.data.loaded.connect(self._on_model_changed)
        self.rebuild()

    # Building -----------------------------------------------------------------------------------

    def _current_key(self) -> tuple[object, int]:
        i = self.state.selected
        layers = self.state.spec.layers
        if 0 <= i < len(layers):
            return layers[i].class_name, i
        return "input", -1

    def rebuild(self) -> None:
        key, index = self._current_key()
        if key == self._key:
            self._index = index
            self._update_values()
            return
        self._key, self._index = key, index
        old = self._form_host
        self._form_host = QWidget(self._body)
        self._layout.replaceWidget(old, self._form_host)
        old.hide()
        old.deleteLater()
        self.editors = {}
        grid = QFormLayout(self._form_host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(1)
        # In a narrow column a wide editor goes under its name instead of being cut off.
        grid.setRowWrapPolicy(QFormLayout.WrapLongRows)
        grid.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        grid.setLabelAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        if key == "input":
            self._build_input(grid)
        else:
            self._build_layer(grid, key)
        self._update_values()

    def _add_row(self, form: QFormLayout, label: str, editor: QWidget, help_text: str) -> None:
        name = QLabel(label, self._form_host)
        name.setToolTip(help_text)
        form.addRow(name, editor)
        if isinstance(editor, ParamEditor):
            editor.problem.setWordWrap(True)
            form.addRow(editor.problem)
        hint = QLabel(help_text, self._form_host)
        hint.setWordWrap(True)
        hint.setStyleSheet(HELP_STYLE)
        hint.setMinimumWidth(10)
        hint.setContentsMargins(0, 0, 0, 5)
        form.addRow(hint)

    def _build_layer(self, grid: QFormLayout, class_name: str) -> None:
        ltype = layer_type(class_name)
        self.title.setText(f"<b>{class_name}</b> — {ltype.help}")
        if not ltype.params:
            note = QLabel("This layer has no settings.", self._form_host)
            note.setStyleSheet(HELP_STYLE)
            grid.addRow(note)
        for param in ltype.params:
            editor = make_editor(param, self._form_host)
            editor.setObjectName(f"param_{param.name}")
            editor.edited.connect(lambda value, e=editor: self._on_param_edited(e, value))
            self.editors[param.name] = editor
            self._add_row(grid, param.name, editor, param.help)

    def _build_input(self, grid: QFormLayout) -> None:
        self.title.setText("<b>Input</b> — the shape of one sample fed to the first layer")
        editor = ShapeEditor(INPUT_PARAM, self._form_host, allow_rest=False)
        editor.setObjectName("param_input_shape")
        editor.edited.connect(lambda value, e=editor: self._on_input_edited(e, value))
        self.editors["input_shape"] = editor
        self._add_row(grid, "input_shape", editor, INPUT_PARAM.help)
        self.dataset_button = QPushButton(self._form_host, objectName="inputFromDatasetButton")
        self.dataset_button.clicked.connect(self._on_use_dataset_shape)
        grid.addRow("", self.dataset_button)

    # State → widgets ----------------------------------------------------------------------------

    def _update_values(self) -> None:
        if self._key == "input":
            editor = self.editors["input_shape"]
            if editor is not self._emitting:
                editor.set_value(list(self.state.spec.input_shape))
            dataset = self.state.data.dataset
            same = dataset is not None and tuple(dataset.input_shape) == tuple(
                self.state.spec.input_shape)
            self.dataset_button.setVisible(dataset is not None and not same)
            if dataset is not None:
                self.dataset_button.setText(
                    f"Use the dataset's shape {format_shape(dataset.input_shape)}")
            return
        if not 0 <= self._index < len(self.state.spec.layers):
            return
        config = self.state.spec.layers[self._index].config
        for name, editor in self.editors.items():
            if editor is self._emitting:
                continue  # don't fight the user's typing with the value it just produced
            editor.blockSignals(True)
            for child in editor.findChildren(QWidget):
                child.blockSignals(True)
            try:
                editor.set_value(config.get(name, editor.param.default))
            finally:
                for child in editor.findChildren(QWidget):
                    child.blockSignals(False)
                editor.blockSignals(False)
            editor.show_problem(None)

    def _on_selection_changed(self, _index: int) -> None:
        self.rebuild()

    def _on_model_changed(self) -> None:
        self.rebuild()

    # Widgets → state ----------------------------------------------------------------------------

    def _on_param_edited(self, editor: ParamEditor, value: Any) -> None:
        problem = editor.param.check(value)
        if problem:
            editor.show_problem(f"{editor.param.name} {problem}")
            return
        editor.show_problem(None)
        index = self._index
        if not 0 <= index < len(self.state.spec.layers):
            return
        self._emitting = editor
        try:
            self.state.set_layer_param(index, editor.param.name, value)
        finally:
            self._emitting = None

    def _on_input_edited(self, editor: ParamEditor, value: Any) -> None:
        self._emitting = editor
        try:
            self.state.set_input_shape(tuple(value))
        finally:
            self._emitting = None

    def _on_use_dataset_shape(self) -> None:
        if self.state.data.dataset is not None:
            self.state.set_input_shape(tuple(self.state.data.dataset.input_shape))
