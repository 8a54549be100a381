"""One editor widget per catalogue parameter kind (int, float, choice, shape, regularizer, ...).

Each shows a value (``set_value``) and reports the user's edits (``edited(value)``); the property
editor (properties.py) wires them to the document.
"""

from __future__ import annotations

import math
import re
from typing import Any

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from workbench.core.catalogue import REGULARIZERS, Param, regularizer
from workbench.i18n import _

INT_LIMIT = 2**31 - 1
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
        self.enabled_box.setToolTip(_("Unticked: Keras's default (None)"))
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
            self._add_optional(_("set"))
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
            self._add_optional(_("set"))
        self.spins: list[QSpinBox] = []
        for i in range(max(1, param.length)):
            if i:
                self.row.addWidget(QLabel("×", self))
            spin = QSpinBox(self)
            spin.setRange(1, 4096)
            spin.setMinimumWidth(44)
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
        self.edit.setPlaceholderText(_("e.g. 28, 28, 1"))
        self.row.addWidget(self.edit, 1)
        self.edit.textEdited.connect(self._on_text_edited)
        self.edit.editingFinished.connect(self._on_editing_finished)
        self._value: list[int] | None = None

    def problem_with(self, numbers: list[int] | None) -> str | None:
        if numbers is None:
            return _("type whole numbers separated by commas, e.g. 28, 28, 1")
        if not self.allow_rest and any(n < 1 for n in numbers):
            return _("sizes must be whole numbers of at least 1")
        problem = self.param.check(numbers)
        return _(problem) if problem else problem

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
        self.kind.addItems(["none", *REGULARIZERS])  # not translated: Keras's values
        self.factor = QDoubleSpinBox(self)
        self.factor.setDecimals(5)
        self.factor.setRange(0.0, 10.0)
        self.factor.setSingleStep(0.001)
        self.factor.setValue(0.01)
        self.factor.setEnabled(False)
        self.factor.setToolTip(_("Penalty factor (Keras's l1/l2 argument)"))
        self.factor.setPrefix("× ")
        # Narrower than their texts' widths when the column is (at 1024 px it is ~160 px): the
        # pair was 206 px wide and the whole form was cut at the column's right edge.
        self.kind.setMinimumWidth(56)
        self.factor.setMinimumWidth(72)
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


