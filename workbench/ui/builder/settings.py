"""Training settings: optimizer, loss, metrics, epochs, batch, validation, early stop, seed, data.

Each edit builds a new ``TrainConfig`` from the state's and hands it to
``ProjectState.set_training`` (undoable; edits of one field merge). A loss that does not fit
the labels is flagged with its fix.
"""

from __future__ import annotations

import math
from pathlib import Path

from PyQt5 import sip
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.datasets import dataset_names, describe
from workbench.core.spec import LOSSES, METRICS, OPTIMIZERS, TrainConfig
from workbench.i18n import _
from workbench.ui.state import ProjectState

WARNING_STYLE = "color: #8a4b00; background: #fff3e0; border: 1px solid #f0c27b; padding: 4px;"
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")


class LearningRateSpinBox(QDoubleSpinBox):
    """Steps through 1-2-5 values (0.0001, 0.0002, 0.0005, 0.001 …), the way rates are tuned."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(5)
        self.setRange(0.00001, 10.0)
        self.setValue(0.001)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        ladder = []
        for exponent in range(-5, 2):
            ladder += [m * 10.0 ** exponent for m in (1, 2, 5)]
        value = self.value()
        # Position on the ladder (between rungs counts as the lower one when going up).
        position = max(i for i, v in enumerate(ladder) if v <= value * (1 + 1e-9)) if (
            value >= ladder[0]) else 0
        if steps < 0 and not math.isclose(ladder[position], value, rel_tol=1e-6):
            position += 1
        position = max(0, min(len(ladder) - 1, position + steps))
        self.setValue(round(ladder[position], 5))
        self.editingFinished.emit()


class TrainingSettingsPanel(QScrollArea):
    """The training settings, scrolled; ``warnings`` (the loss or output that does not fit the
    labels) lies under them, so that showing it moves no field."""

    warnings_changed = pyqtSignal(str)  # the warnings' text, "" when there are none

    def __init__(self, state: ProjectState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingSettings")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.state = state
        body = QWidget(self)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(6, 6, 6, 6)

        # Under the scrolled fields, in a margin of its own: above them, it moved every field
        # down 48 px as it came and went (a click meant for Epochs landed elsewhere).
        self.warnings = QLabel(self, objectName="trainingWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet(WARNING_STYLE)
        self.warnings.hide()

        # Data -------------------------------------------------------------------------------------
        data_box = QGroupBox(_("Data"), body)
        data_form = QFormLayout(data_box)
        # In a narrow builder a field goes under its label rather than off the right edge.
        data_form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.dataset = QComboBox(data_box, objectName="datasetChooser")
        self.dataset.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.dataset.setMinimumContentsLength(10)
        self.open_button = QToolButton(data_box, objectName="openDatasetButton")
        self.open_button.setText(_("Open .npz / folder…"))
        self.open_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.open_button)
        menu.addAction(_("Open .npz file…"), self._on_open_npz)
        menu.addAction(_("Open folder of class sub-folders…"), self._on_open_folder)
        self.open_button.setMenu(menu)
        data_form.addRow(_("Dataset"), self.dataset)
        self.dataset_info = QLabel(data_box, objectName="datasetInfo")
        self.dataset_info.setWordWrap(True)
        self.dataset_info.setStyleSheet("color: #555;")
        data_form.addRow("", self.dataset_info)
        data_form.addRow("", self.open_button)
        self.validation = QDoubleSpinBox(data_box, objectName="validationSplit")
        self.validation.setRange(0.0, 0.9)
        self.validation.setSingleStep(0.05)
        self.validation.setDecimals(2)
        self.validation.setToolTip(
            _("Fraction of the training data held out to validate each epoch"))
        data_form.addRow(_("Validation split"), self.validation)

        # Optimizer --------------------------------------------------------------------------------
        opt_box = QGroupBox(_("Optimizer"), body)
        opt_form = QFormLayout(opt_box)
        opt_form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.optimizer = QComboBox(opt_box, objectName="optimizerChooser")
        for key, name in OPTIMIZERS.items():
            self.optimizer.addItem(name, key)
        opt_form.addRow(_("Optimizer"), self.optimizer)
        self.learning_rate = LearningRateSpinBox(opt_box)
        self.learning_rate.setObjectName("learningRate")
        self.learning_rate.setToolTip(_("Step size; arrows step 1-2-5 (0.001 → 0.002 → 0.005)"))
        opt_form.addRow(_("Learning rate"), self.learning_rate)
        self.momentum = QDoubleSpinBox(opt_box, objectName="momentum")
        self.momentum.setRange(0.0, 1.0)
        self.momentum.setSingleStep(0.1)
        self.momentum.setDecimals(3)
        self.momentum_label = QLabel(_("Momentum"), opt_box)
        opt_form.addRow(self.momentum_label, self.momentum)
        self.nesterov = QCheckBox(_("Nesterov momentum"), opt_box, objectName="nesterov")
        opt_form.addRow("", self.nesterov)

        # Loss and schedule ---------------------------------------------------------------------
        fit_box = QGroupBox(_("Loss and schedule"), body)
        fit_form = QFormLayout(fit_box)
        fit_form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.loss = QComboBox(fit_box, objectName="lossChooser")
        self.loss.addItems(LOSSES)
        # As wide as the room (the longest loss's name made the settings wider than the builder
        # at 1024 px, cutting every field's right end).
        self.loss.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.loss.setMinimumContentsLength(12)
        fit_form.addRow(_("Loss"), self.loss)
        metrics_row = QHBoxLayout()
        self.metric_boxes: dict[str, QCheckBox] = {}
        for metric in METRICS:
            box = QCheckBox(metric, fit_box)
            box.setObjectName(f"metric_{metric}")
            self.metric_boxes[metric] = box
            metrics_row.addWidget(box)
            box.toggled.connect(self._on_metrics_changed)
        metrics_row.addStretch(1)
        fit_form.addRow(_("Metrics"), metrics_row)
        self.epochs = QSpinBox(fit_box, objectName="epochs")
        self.epochs.setRange(1, 100_000)
        fit_form.addRow(_("Epochs"), self.epochs)
        self.batch_size = QSpinBox(fit_box, objectName="batchSize")
        self.batch_size.setRange(1, 1_000_000)
        fit_form.addRow(_("Batch size"), self.batch_size)
        self.devices = QComboBox(fit_box, objectName="devicesChooser")
        self.devices.setToolTip(_("tf.distribute.MirroredStrategy: one replica per device, "
                                  "each batch split over them (train --strategy mirrored "
                                  "--devices N)"))
        fit_form.addRow(_("Devices"), self.devices)

        self.early = QCheckBox(_("When no longer improving"), fit_box,
                               objectName="earlyStopping")
        self.early.setToolTip(_("keras.callbacks.EarlyStopping: stop when the monitored value "
                                "has not improved for `patience` epochs"))
        fit_form.addRow(_("Early stopping"), self.early)
        self.monitor = QComboBox(fit_box, objectName="earlyStoppingMonitor")
        self.monitor.addItems(MONITORS)
        fit_form.addRow(_("Monitor"), self.monitor)
        self.patience = QSpinBox(fit_box, objectName="patience")
        self.patience.setRange(0, 10_000)
        self.patience.setSuffix(_(" epochs"))
        fit_form.addRow(_("Patience"), self.patience)
        self.restore_best = QCheckBox(_("Restore the best"), fit_box,
                                      objectName="restoreBest")
        self.restore_best.setToolTip(_("At the end, go back to the weights of the best epoch "
                                       "(restore_best_weights)"))
        fit_form.addRow("", self.restore_best)

        seed_row = QHBoxLayout()
        self.fixed_seed = QCheckBox(_("Fixed"), fit_box, objectName="fixedSeed")
        self.fixed_seed.setToolTip(_("A fixed seed makes runs repeatable"))
        self.seed = QSpinBox(fit_box, objectName="seed")
        self.seed.setRange(0, 2**31 - 1)
        seed_row.addWidget(self.fixed_seed)
        seed_row.addWidget(self.seed, 1)
        fit_form.addRow(_("Seed"), seed_row)

        outer.addWidget(data_box)
        outer.addWidget(opt_box)
        outer.addWidget(fit_box)
        outer.addStretch(1)
        self.setWidget(body)

        self.dataset.activated.connect(self._on_dataset_chosen)
        self.optimizer.currentIndexChanged.connect(lambda _i: self._apply("optimizer"))
        self.learning_rate.valueChanged.connect(lambda _v: self._apply("learning_rate"))
        self.momentum.valueChanged.connect(lambda _v: self._apply("momentum"))
        self.nesterov.toggled.connect(lambda _v: self._apply("nesterov"))
        self.loss.currentIndexChanged.connect(lambda _i: self._apply("loss"))
        self.epochs.valueChanged.connect(lambda _v: self._apply("epochs"))
        self.batch_size.valueChanged.connect(lambda _v: self._apply("batch_size"))
        self.validation.valueChanged.connect(lambda _v: self._apply("validation_split"))
        self.early.toggled.connect(lambda _v: self._apply("early_stopping"))
        self.monitor.currentIndexChanged.connect(lambda _v: self._apply("early_stopping"))
        self.patience.valueChanged.connect(lambda _v: self._apply("early_stopping"))
        self.restore_best.toggled.connect(lambda _v: self._apply("early_stopping"))
        self.fixed_seed.toggled.connect(lambda _v: self._apply("seed"))
        self.seed.valueChanged.connect(lambda _v: self._apply("seed"))
        self.devices.activated.connect(self._on_devices_chosen)
        state.engine.ready.connect(self._fill_devices)

        state.training_changed.connect(self._on_training_changed)
        state.inspection_changed.connect(self._update_warnings)
        state.data.loaded.connect(self._on_dataset_loaded)
        state.data.failed.connect(self._on_dataset_failed)
        self._updating = False
        # The dataset name state.data.dataset was loaded for (a new choice loads in the background).
        self._loaded_for = state.project.dataset if state.data.dataset is not None else None
        self._on_training_changed()
        self._fill_devices()

    # State → widgets ----------------------------------------------------------------------------

    def _fill_datasets(self) -> None:
        current = self.state.project.dataset
        self.dataset.clear()
        for name in dataset_names():
            self.dataset.addItem(name, name)
            self.dataset.setItemData(self.dataset.count() - 1, _(describe(name)), Qt.ToolTipRole)
        if current not in dataset_names():
            self.dataset.addItem(Path(current).name or current, current)
            self.dataset.setItemData(self.dataset.count() - 1, current, Qt.ToolTipRole)
        self.dataset.setCurrentIndex(self.dataset.findData(current))
        try:
            self.dataset.setToolTip(_(describe(current)))
        except Exception:  # noqa: BLE001 - a path that no longer exists: say so in the info line
            self.dataset.setToolTip(current)

    def _fill_devices(self) -> None:
        """What a run can be mirrored over, as the engine's TensorFlow sees it (its ``device``
        reply): only 'One device' until the engine answers."""
        if self.devices.count() == 0:
            self._show_devices([("One device", 1)])
        if self.state.engine.loaded:
            self.state.engine.ask("device", {}, self._on_device)

    def _on_device(self, body: dict | None, _error: str) -> None:
        if sip.isdeleted(self) or body is None:
            return  # (no engine: 'One device' stays)
        choices = [(str(label), int(n)) for label, n in body["device"].get("choices") or []]
        self._show_devices(choices or [("One device", 1)])

    def _show_devices(self, choices: list[tuple[str, int]]) -> None:
        self.devices.clear()
        for label, n in choices:
            self.devices.addItem(_(label), n)
        index = self.devices.findData(self.state.devices)
        self.devices.setCurrentIndex(max(index, 0))
        self.state.devices = self.devices.currentData()

    def _on_devices_chosen(self, _index: int) -> None:
        self.state.devices = self.devices.currentData()

    def retranslate(self) -> None:
        """After Help ▸ Language: the texts built from the state."""
        self._fill_devices()
        self._on_training_changed()

    def _on_training_changed(self) -> None:
        cfg = self.state.training
        self._updating = True
        try:
            self._fill_datasets()
            self.optimizer.setCurrentIndex(self.optimizer.findData(cfg.optimizer))
            self.learning_rate.setValue(cfg.learning_rate)
            self.momentum.setValue(cfg.momentum)
            self.nesterov.setChecked(cfg.nesterov)
            self.loss.setCurrentText(cfg.loss)
            for metric, box in self.metric_boxes.items():
                box.setChecked(metric in cfg.metrics)
            self.epochs.setValue(cfg.epochs)
            self.batch_size.setValue(cfg.batch_size)
            self.validation.setValue(cfg.validation_split)
            es = cfg.early_stopping
            self.early.setChecked(es is not None)
            if es is not None:
                self.monitor.setCurrentText(es.get("monitor", "val_loss"))
                self.patience.setValue(int(es.get("patience", 3)))
                self.restore_best.setChecked(bool(es.get("restore_best_weights", True)))
            self.fixed_seed.setChecked(cfg.seed is not None)
            if cfg.seed is not None:
                self.seed.setValue(cfg.seed)
        finally:
            self._updating = False
        self._update_enabled()
        self._update_dataset_info()
        self._update_warnings()

    def _update_enabled(self) -> None:
        optimizer = self.optimizer.currentData()
        uses_momentum = optimizer in ("sgd", "rmsprop")
        self.momentum.setVisible(uses_momentum)
        self.momentum_label.setVisible(uses_momentum)
        self.nesterov.setVisible(optimizer == "sgd")
        es = self.early.isChecked()
        for widget in (self.monitor, self.patience, self.restore_best):
            widget.setEnabled(es)
        self.seed.setEnabled(self.fixed_seed.isChecked())

    def _update_dataset_info(self) -> None:
        dataset = self.state.data.dataset
        current = self._loaded_for == self.state.project.dataset
        if dataset is not None and current and self.state.data.error == "":
            if dataset.task == "classification":
                kind = _("{count} classes").format(count=dataset.num_classes)
            else:
                kind = _("regression")
            shape = ", ".join(map(str, dataset.input_shape))
            self.dataset_info.setText(
                _("{train} training / {test} test samples").format(
                    train=f"{len(dataset.x_train):,}", test=f"{len(dataset.x_test):,}")
                + f" · ({shape}) · {kind}")
            self.dataset_info.setStyleSheet("color: #555;")
        elif self.state.data.error and current:
            self.dataset_info.setText(_(self.state.data.error))
            self.dataset_info.setStyleSheet("color: #b3261e;")
        elif not self.state.engine.loaded:
            self.dataset_info.setText(_("Loaded when TensorFlow is ready…"))
            self.dataset_info.setStyleSheet("color: #555;")
        else:
            self.dataset_info.setText(_("Loading…"))
            self.dataset_info.setStyleSheet("color: #555;")

    def _on_dataset_loaded(self) -> None:
        self._loaded_for = self.state.project.dataset
        self._update_dataset_info()
        self._update_warnings()

    def _on_dataset_failed(self, _message: str) -> None:
        self._loaded_for = self.state.project.dataset
        self._update_dataset_info()
        self._update_warnings()

    def compatibility_warnings(self) -> list[str]:
        dataset = self.state.data.dataset
        report = self.state.inspection
        if dataset is None:
            return []
        if self._loaded_for != self.state.project.dataset:
            return []
        from workbench.core.compatibility import check_compatibility

        layers = self.state.spec.layers
        activation = None
        for layer in reversed(layers):
            if "activation" in layer.config:
                activation = layer.config["activation"]
                break
        # An unbuildable model has no output shape; the loss can still be checked.
        output_shape = report.output_shape if report is not None and report.ok else None
        return check_compatibility(output_shape, self.state.training, dataset.task,
                                   dataset.num_classes, activation)

    def _update_warnings(self) -> None:
        warnings = self.compatibility_warnings()
        text = "\n".join(f"⚠ {_sentence(_(w))}" for w in warnings)
        self.warnings.setText(text)
        self.warnings.setVisible(bool(warnings))
        self._place_warnings()
        self.warnings_changed.emit(text)

    def _place_warnings(self) -> None:
        height = 0
        if not self.warnings.isHidden():
            width = self.width() - self.verticalScrollBar().sizeHint().width()
            height = self.warnings.heightForWidth(width)
            self.warnings.setGeometry(0, self.height() - height, width, height)
        self.setViewportMargins(0, 0, 0, height)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_warnings()

    # Widgets → state ----------------------------------------------------------------------------

    def _config(self) -> TrainConfig:
        cfg = self.state.training.copy()
        cfg.optimizer = self.optimizer.currentData()
        cfg.learning_rate = round(self.learning_rate.value(), 5)
        cfg.momentum = round(self.momentum.value(), 3)
        cfg.nesterov = self.nesterov.isChecked()
        cfg.loss = self.loss.currentText()
        cfg.metrics = [m for m, box in self.metric_boxes.items() if box.isChecked()]
        cfg.epochs = self.epochs.value()
        cfg.batch_size = self.batch_size.value()
        cfg.validation_split = round(self.validation.value(), 2)
        if self.early.isChecked():
            cfg.early_stopping = {
                "monitor": self.monitor.currentText(),
                "patience": self.patience.value(),
                "restore_best_weights": self.restore_best.isChecked(),
            }
        else:
            cfg.early_stopping = None
        cfg.seed = self.seed.value() if self.fixed_seed.isChecked() else None
        return cfg

    def _apply(self, key: str) -> None:
        if self._updating:
            return
        self._update_enabled()
        newly_on = self.early.isChecked() and self.state.training.early_stopping is None
        if key == "early_stopping" and newly_on:
            self._updating = True
            self.patience.setValue(max(self.patience.value(), 3))
            self.restore_best.setChecked(True)
            self._updating = False
        self.state.set_training(self._config(), key=key)

    def _on_metrics_changed(self, _on: bool) -> None:
        self._apply("metrics")

    def _on_dataset_chosen(self, index: int) -> None:
        name = self.dataset.itemData(index)
        if name and name != self.state.project.dataset:
            self.state.set_dataset(name)
            self._update_dataset_info()

    def _on_open_npz(self) -> None:
        path, _kind = QFileDialog.getOpenFileName(
            self, _("Open a dataset"), "", _("NumPy arrays (*.npz);;All files (*)"))
        if path:
            self.state.set_dataset(path)

    def _on_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, _("Open a folder with one sub-folder of images per class"))
        if path:
            self.state.set_dataset(path)


def _sentence(text: str) -> str:
    """``text`` with a capital first letter, unless it starts with a Keras name, which keeps
    its spelling ("mean_squared_error on class labels ...", not "Mean_squared_error")."""
    first = text.split(" ", 1)[0]
    return text if "_" in first else text[:1].upper() + text[1:]
