"""The bar above the tabs (Train / Pause / Stop, progress, speed, learning rate, a hint line) and
the error banner laid over the training plots."""

from __future__ import annotations

from PyQt5.QtCore import QRect, Qt
from PyQt5.QtGui import QPainter
from PyQt5.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionProgressBar,
    QStylePainter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.run_text import count, percent
from workbench.i18n import N_, _


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def format_lr(value: float) -> str:
    value = float(value)
    return f"{value:g}" if 1e-3 <= abs(value) < 1e3 else f"{value:.1e}"


CHECKING = N_("Checking the model…")  # train_blocker returns it translated
_TEXT_MARGIN = 6  # each side of a progress bar's text


def train_blocker(state, dataset_for: str | None) -> str:
    """Why Train cannot start now, while no run trains ("" when it can). ``dataset_for``: the
    dataset name ``state.data.dataset`` was loaded for (None: not known yet)."""
    if state.sweeping:
        return _("A sweep is running (Experiments tab): stop it to train here.")
    if not state.engine.loaded:
        return _("Starting the engine (TensorFlow)…")
    if state.data.error:
        return _("The dataset could not be loaded: {reason}").format(reason=state.data.error)
    if state.data.dataset is None or dataset_for not in (None, state.project.dataset):
        return _("Loading the dataset…")
    if state.spec.layers and (state.inspection is None or not state.inspection_current):
        return _(CHECKING)  # a run must not start on the answer for an older edit
    from workbench.actions.train import preflight

    # The free memory checked is this machine's: a remote engine's run says in one line if it
    # lacks memory there.
    return preflight(state.spec, state.inspection, state.training, state.data.dataset,
                     memory=state.engine.where != "remote")


def ready_text(state) -> str:
    """The hint line when Train can start: what a run would do."""
    config = state.training
    params = state.inspection.total_params if state.inspection else 0
    samples = len(state.data.dataset.x_train)
    return _("Ready: {params} parameters · {dataset} ({samples} samples, {validation} for "
             "validation) · {epochs} of batch {batch}, {optimizer} lr {lr}").format(
        params=f"{params:,}", dataset=state.project.dataset, samples=f"{samples:,}",
        validation=percent(config.validation_split, 0), epochs=count(config.epochs, "epoch"),
        batch=config.batch_size, optimizer=config.optimizer, lr=f"{config.learning_rate:g}")


class ElidedProgressBar(QProgressBar):
    """A progress bar whose text ends in "…" where it is too long for the bar (Qt's own drawing
    wrapped it onto a second line and cut both); ``format()`` stays the whole text."""

    def shown_text(self) -> str:
        option = QStyleOptionProgressBar()
        self.initStyleOption(option)
        return self.fontMetrics().elidedText(option.text, Qt.ElideRight,
                                             max(0, self.width() - 2 * _TEXT_MARGIN))

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        option = QStyleOptionProgressBar()
        self.initStyleOption(option)
        option.text = self.shown_text()
        QStylePainter(self).drawControl(QStyle.CE_ProgressBar, option)


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" where its room is too short (cut mid-word before);
    ``text()`` stays the whole text, and its tooltip says it."""

    def shown_text(self) -> str:
        return self.fontMetrics().elidedText(self.text(), Qt.ElideRight,
                                             self.contentsRect().width())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(),
                                  int(self.alignment()) | Qt.TextSingleLine, self.palette(),
                                  self.isEnabled(), self.shown_text(), self.foregroundRole())


class TrainingControlsView(QFrame):
    """The buttons and read-outs; the training panel connects and drives them."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingControls")
        self.setFrameShape(QFrame.StyledPanel)
        self.train_button = QPushButton(_("▶  Train"), self, objectName="trainButton")
        self.continue_button = QPushButton(_("Continue"), self, objectName="continueButton")
        self.continue_button.setEnabled(False)
        self.pause_button = QPushButton(_("Pause"), self, objectName="pauseButton")
        self.stop_button = QPushButton(_("■  Stop"), self, objectName="stopButton")
        self.train_button.setStyleSheet("QPushButton:enabled { font-weight: bold; }")
        self.pause_button.setToolTip(_("Pause training after the current batch"))
        self.stop_button.setToolTip(_("Stop after the current batch and keep the weights reached"))
        for button in (self.train_button, self.pause_button, self.stop_button):
            button.setMinimumWidth(76)
        self.pause_button.setEnabled(False)
        self.stop_button.setEnabled(False)

        self.progress = ElidedProgressBar(self, objectName="trainingProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat(_("Not started"))
        self.progress.setAlignment(Qt.AlignCenter)
        self.progress.setMinimumWidth(150)
        # Its text (the run's summary) must not widen the window: it is cut, the tooltip has it.
        self.progress.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.speed_label = QLabel("", self, objectName="trainingSpeed")
        self.speed_label.setStyleSheet("color: #333;")

        self.lr_label = QLabel("", self, objectName="learningRateLabel")
        self.lr_label.setToolTip(_("Current learning rate (from the optimizer, after each epoch)"))
        self.hint_label = ElidedLabel("", self, objectName="trainingHint")
        self.hint_label.setStyleSheet("color: #555;")
        self.hint_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

        self.row = QHBoxLayout()
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.addWidget(self.train_button)
        self.row.addWidget(self.continue_button)
        self.row.addWidget(self.pause_button)
        self.row.addWidget(self.stop_button)
        self.row.addSpacing(8)
        self.row.addWidget(self.progress, 1)
        # Speed, elapsed, ETA and the learning rate under the bar, beside the hint: in the row
        # above, their changing figures widened the window while a run trained (and at 1024 px
        # the buttons had no room left).
        hints = QHBoxLayout()
        hints.setContentsMargins(0, 0, 0, 0)
        hints.addWidget(self.hint_label, 1)
        hints.addWidget(self.speed_label)
        hints.addSpacing(6)
        hints.addWidget(self.lr_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(self.row)
        layout.addLayout(hints)


class CurveOptionsView(QWidget):
    """Log scale and Autoscale for the curves, and a hint on comparing runs."""

    def __init__(self, curves, parent: QWidget | None = None):
        super().__init__(parent)
        self.log_check = QCheckBox(_("Log scale (loss)"), self, objectName="logScaleCheck")
        self.log_check.setToolTip(_("Show the loss on a logarithmic axis"))
        self.log_check.toggled.connect(curves.set_log_loss)
        autoscale = QPushButton(_("Autoscale"), self, objectName="autoscaleButton")
        autoscale.setToolTip(_("Fit both plots to their data again after zooming"))
        autoscale.clicked.connect(curves.autoscale)
        text = _("Tick earlier runs in the table to draw them faintly for comparison. Drag to "
                 "pan, wheel to zoom.")
        # Ends in "…" where the window is narrow ("... faintly for comparis" at 1024 px).
        self.hint = hint = ElidedLabel(text, self, objectName="curveOptionsHint")
        hint.setToolTip(text + "\n" + _("A sweep's trials come here from the Experiments tab "
                                         "(select a trial, then Show on the Training tab)."))
        hint.setStyleSheet("color: #666;")
        hint.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # a narrow window cuts it
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.log_check)
        layout.addWidget(autoscale)
        layout.addSpacing(12)
        layout.addWidget(hint, 1)


class ErrorBannerView(QFrame):
    """A red message with a close button, laid over a rectangle of its parent (not in a layout:
    there it pushed everything below it down whenever a run failed)."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("trainingBanner")
        self.setStyleSheet("#trainingBanner { background: #fdecea; border: 1px solid #e0a0a0;"
                           " border-radius: 4px; } QLabel { color: #8a1c1c; }")
        self.label = QLabel("", self, objectName="trainingBannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip(_("Hide this message"))
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignTop)
        self.setAutoFillBackground(True)
        self.hide()

    def place_over(self, area: QRect) -> None:
        """Lie over the top of ``area`` (parent coordinates), as wide as it, as tall as the text."""
        width = max(100, area.width())
        height = self.layout().totalHeightForWidth(width)
        if height <= 0:
            height = self.sizeHint().height()
        self.setGeometry(area.x(), area.y(), width, min(height, area.height()))
        self.raise_()
