"""The property editor: widgets generated from the catalogue's parameters of the selected layer.

Every edit goes straight to ``ProjectState.set_layer_param`` (one undo step per run of edits of the
same parameter). The editor is rebuilt only when the selected layer's type changes; otherwise the
values are refreshed in place so the widget being typed in keeps its focus and cursor. A parameter
Keras requires is marked; the others say what Keras does when they are left out.
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QFormLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalogue import Param, layer_type
from workbench.core.inspect import format_shape
from workbench.i18n import N_, _
from workbench.ui.builder.editors import ParamEditor, ShapeEditor, make_editor
from workbench.ui.state import ProjectState

HELP_STYLE = "color: #666; font-size: 9pt;"


def param_help(param: Param) -> str:
    """The parameter's help, and what Keras does without it (from the catalogue)."""
    if param.required:
        return _("{help}. * Required: Keras has no default for it.").format(help=_(param.help))
    default = param.default
    if default is None:
        shown = _("none")
    elif isinstance(default, list):
        shown = " × ".join(map(str, default))
    else:
        shown = str(default).lower() if isinstance(default, bool) else str(default)
    return _("{help}. Keras's default: {default}.").format(help=_(param.help), default=shown)


INPUT_PARAM = Param("input_shape", "shape", [28, 28],
                    N_("One sample's shape without the batch axis: (28, 28) for a grey image, "
                       "(784,) for a flat vector, (28, 28, 1) for an image with a channel axis"))


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
        # Keras's names break after an underscore in a narrow column (at 1024 px ~160 px):
        # "kernel_regularizer" unbroken made the form wider than the column, cut at its edge.
        name = QLabel(label.replace("_", "_\u200b"), self._form_host)
        name.setWordWrap(True)
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
        self.title.setText(f"<b>{class_name}</b> — {_(ltype.help)}")
        if not ltype.params:
            note = QLabel(_("This layer has no settings."), self._form_host)
            note.setWordWrap(True)
            note.setStyleSheet(HELP_STYLE)
            grid.addRow(note)
        for param in ltype.params:
            editor = make_editor(param, self._form_host)
            editor.setObjectName(f"param_{param.name}")
            editor.edited.connect(lambda value, e=editor: self._on_param_edited(e, value))
            self.editors[param.name] = editor
            label = f"{param.name} *" if param.required else param.name
            self._add_row(grid, label, editor, param_help(param))

    def _build_input(self, grid: QFormLayout) -> None:
        self.title.setText(_("<b>Input</b> — the shape of one sample fed to the first layer"))
        editor = ShapeEditor(INPUT_PARAM, self._form_host, allow_rest=False)
        editor.setObjectName("param_input_shape")
        editor.edited.connect(lambda value, e=editor: self._on_input_edited(e, value))
        self.editors["input_shape"] = editor
        self._add_row(grid, "input_shape", editor, _(INPUT_PARAM.help))
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
                self.dataset_button.setText(_("Use the dataset's shape {shape}").format(
                    shape=format_shape(dataset.input_shape)))
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

    def retranslate(self) -> None:
        """After Help ▸ Language: the form again, in the new language."""
        self._key = None
        self.rebuild()

    def _on_selection_changed(self, _index: int) -> None:
        self.rebuild()

    def _on_model_changed(self) -> None:
        self.rebuild()

    # Widgets → state ----------------------------------------------------------------------------

    def _on_param_edited(self, editor: ParamEditor, value: Any) -> None:
        problem = editor.param.check(value)
        if problem:
            editor.show_problem(f"{editor.param.name} {_(problem)}")
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
