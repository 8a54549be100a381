"""Pick what a sweep varies by clicking: a setting (training or any layer's parameter), its range
(the property editor's own spin boxes, ui/builder/editors.py) or its choices (ticked), Add.

The space is kept as SPACE.json's dict (core/sweep_space.py reads it); nothing here checks it
beyond what the editors allow: the sweep's prepare step says what is wrong, in one line.
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalogue import Param, layer_type
from workbench.core.spec import LOSSES, OPTIMIZERS, ModelSpec
from workbench.core.sweep_space import DROPOUT_KEY, DROPOUT_LAYERS
from workbench.i18n import N_, _
from workbench.ui.builder.editors import make_editor

# The training settings a sweep may vary, as the catalogue's Param (so the editors fit them).
TRAINING_PARAMS = (
    Param("learning_rate", "float", 0.001, N_("Step size of the optimizer"), minimum=0.00001,
          maximum=10.0),
    Param("batch_size", "int", 32, N_("Samples per step"), minimum=1, maximum=100_000),
    Param("optimizer", "choice", "adam", N_("The optimizer"), choices=tuple(OPTIMIZERS)),
    Param("momentum", "float", 0.0, N_("SGD/RMSprop momentum"), minimum=0.0, maximum=1.0),
    Param("epochs", "int", 5, N_("Epochs per trial"), minimum=1, maximum=10_000),
    Param("loss", "choice", "sparse_categorical_crossentropy", N_("The loss"), choices=LOSSES),
)
_DROPOUT = Param(DROPOUT_KEY, "float", 0.2, N_("The rate of every Dropout layer"),
                 minimum=0.0, maximum=1.0, exclusive_max=True)


def sweepable(spec: ModelSpec) -> list[tuple[str, str, Param]]:
    """(key, label, param) of everything a sweep of this model may vary."""
    items = [(p.name, p.name.replace("_", " "), p) for p in TRAINING_PARAMS]
    if any(layer.class_name in DROPOUT_LAYERS for layer in spec.layers):
        items.append((DROPOUT_KEY, _("dropout (every Dropout layer)"), _DROPOUT))
    for row, layer in enumerate(spec.layers, start=1):
        for param in layer_type(layer.class_name).params:
            if param.kind in ("int", "float", "choice", "ints") and not param.optional:
                items.append((f"{row}.{param.name}",
                              f"{row} {layer.class_name} · {param.name}", param))
    return items


def _default_choices(param: Param, current: Any) -> list:
    if param.kind == "ints":
        return [[k] * max(1, param.length) for k in (1, 3, 5)]
    return list(param.choices)


class SpaceEditor(QWidget):
    """``space()``: the dict of what varies; ``changed`` after every Add/Remove."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._space: dict[str, dict] = {}
        self._items: list[tuple[str, str, Param]] = []
        self.key_box = QComboBox(self, objectName="sweepKey")
        self.key_box.setMaxVisibleItems(20)
        self.low = self.high = None
        self.log_box = QCheckBox(_("log scale"), self, objectName="sweepLog")
        self.choices = QListWidget(self, objectName="sweepChoices")
        self.choices.setMaximumHeight(110)
        self.add_button = QPushButton(_("Add"), self, objectName="sweepAdd")
        self.remove_button = QPushButton(_("Remove"), self, objectName="sweepRemove")
        self.list = QTreeWidget(self, objectName="sweepSpace")
        self.list.setHeaderLabels([_("varies"), _("over")])
        self.list.setRootIsDecorated(False)
        self.list.setMaximumHeight(100)
        self.range_row = QHBoxLayout()
        self.form = form = QFormLayout()
        form.addRow(_("Vary"), self.key_box)
        form.addRow(_("From / to"), self.range_row)
        form.addRow("", self.log_box)
        form.addRow(_("Choices"), self.choices)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.list)
        self.key_box.currentIndexChanged.connect(self._on_key)
        self.add_button.clicked.connect(self.add_current)
        self.remove_button.clicked.connect(self.remove_selected)

    # The model's settings -------------------------------------------------------------------

    def set_model(self, spec: ModelSpec, config=None) -> None:
        key = self.current_key()
        self._items = sweepable(spec)
        self._config = config
        self.key_box.blockSignals(True)
        self.key_box.clear()
        for k, label, _param in self._items:
            self.key_box.addItem(label, k)
        self.key_box.blockSignals(False)
        keys = [k for k, _, _ in self._items]
        self.key_box.setCurrentIndex(keys.index(key) if key in keys else 0)
        self._on_key()
        self._spec = spec

    def current_key(self) -> str | None:
        return self.key_box.currentData()

    def select_key(self, key: str) -> None:
        self.key_box.setCurrentIndex(self.key_box.findData(key))

    def _param(self) -> Param | None:
        i = self.key_box.currentIndex()
        return self._items[i][2] if 0 <= i < len(self._items) else None

    def _on_key(self, *_args) -> None:
        param = self._param()
        for editor in (self.low, self.high):
            if editor is not None:
                self.range_row.removeWidget(editor)
                editor.deleteLater()
        self.low = self.high = None
        self.choices.clear()
        if param is None:
            return
        numeric = param.kind in ("int", "float")
        if numeric:
            self.low, self.high = make_editor(param, self), make_editor(param, self)
            self.low.setObjectName("sweepLow")
            self.high.setObjectName("sweepHigh")
            start = param.default if isinstance(param.default, (int, float)) else (
                param.minimum or 1)
            if param.kind == "int":
                self.low.set_value(max(int(param.minimum or 1), int(start) // 2))
                self.high.set_value(int(start) * 2)
            else:
                self.low.set_value(float(start) / 10 if start else 0.0)
                self.high.set_value(min(float(param.maximum or 1e9) - 1e-5,
                                        float(start) * 10 if start else 0.5))
            self.range_row.addWidget(self.low)
            self.range_row.addWidget(self.high)
        else:
            for choice in _default_choices(param, None):
                item = QListWidgetItem(str(choice), self.choices)
                item.setData(Qt.UserRole, choice)
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                item.setCheckState(Qt.Unchecked)
        self.log_box.setVisible(param.kind == "float")
        self.log_box.setChecked(param.name == "learning_rate")
        self.choices.setVisible(not numeric)  # a range or ticked choices, never both
        self.form.labelForField(self.choices).setVisible(not numeric)
        label = self.form.labelForField(self.range_row)
        if label is not None:
            label.setVisible(numeric)

    def set_range(self, low, high, log: bool = False) -> None:
        self.low.set_value(low)
        self.high.set_value(high)
        self.log_box.setChecked(log)

    def check_choices(self, values: list) -> None:
        for i in range(self.choices.count()):
            item = self.choices.item(i)
            item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in values else Qt.Unchecked)

    # The space ------------------------------------------------------------------------------

    def add_current(self) -> None:
        param, key = self._param(), self.current_key()
        if param is None:
            return
        if self.low is not None:
            body: dict[str, Any] = {"low": self.low.value(), "high": self.high.value()}
            if param.kind == "float" and self.log_box.isChecked():
                body["log"] = True
        else:
            body = {"choices": [self.choices.item(i).data(Qt.UserRole)
                                for i in range(self.choices.count())
                                if self.choices.item(i).checkState() == Qt.Checked]}
        self._space[key] = body
        self._refresh()

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self._space.pop(item.data(0, Qt.UserRole), None)
        self._refresh()

    def set_space(self, space: dict) -> None:
        self._space = {k: dict(v) for k, v in space.items()}
        self._refresh()

    def space(self) -> dict:
        return {k: dict(v) for k, v in self._space.items()}

    def _refresh(self) -> None:
        self.list.clear()
        for key, body in self._space.items():
            if "choices" in body:
                over = ", ".join(map(str, body["choices"])) or "(none ticked)"
            else:
                over = f"{body['low']:g} … {body['high']:g}" + (" log" if body.get("log")
                                                                 else "")
            item = QTreeWidgetItem(self.list, [key, over])
            item.setData(0, Qt.UserRole, key)
        self.changed.emit()
