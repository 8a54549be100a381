"""File ▸ Export ▸ ONNX / TFLite / SavedModel: the dialog that exports the trained model for
deployment and shows what the exported file computes.

The export and its check (``actions.export.export_deployed``) run as a task of the task runner;
the dialog shows its progress and then the report: the file, its size, the share of test samples
on which it picks Keras's class, the largest output difference, both accuracies and the latency
of one sample in the export's runtime. Qt only: the work is the action's.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.run_text import percent
from workbench.i18n import N_, _

# (format, quantize, menu/combo text, what it is for)
CHOICES = (
    ("onnx", None, "ONNX",
     N_("runs in onnxruntime: servers, browsers (onnxruntime-web), C#, C++")),
    ("tflite", None, "TFLite float32",
     N_("LiteRT on phones and small boards; one sample per call")),
    ("tflite", "float16", "TFLite float16", N_("weights stored as float16: half the file")),
    ("tflite", "int8", "TFLite int8",
     N_("weights and activations as int8, calibrated on training data: a quarter of the file, "
        "faster on phones; the report shows what it costs in accuracy")),
    ("saved-model", None, "SavedModel", N_("a folder for TensorFlow Serving")),
)


def choice_index(fmt: str, quantize: str | None = None) -> int:
    return next(i for i, c in enumerate(CHOICES) if c[0] == fmt and c[1] == quantize)


def suffix_for(fmt: str) -> str:
    return {"onnx": ".onnx", "tflite": ".tflite"}.get(fmt, "")


def report_html(report) -> str:
    """The report as a small table (``report``: an ``actions.export.ExportReport``)."""
    rows = [(_("File"), f"{escape(report.path)} ({report.bytes / 1024:,.0f} KB)"),
            (_("Ran in"), _("{runtime}, on {count} test samples").format(
                runtime=escape(report.runtime), count=f"{report.samples:,}"))]
    if report.agreement is not None:
        rows.append((_("Same class as Keras"), _("{share} of the samples").format(
            share=percent(report.agreement))))
    rows.append((_("Largest output difference"), f"{report.max_abs_diff:.2g}"))
    if report.accuracy is not None:
        change = (report.accuracy - report.keras_accuracy) * 100
        keras = percent(report.keras_accuracy, 2)
        rows.append((_("Accuracy"), _("{accuracy} (Keras {keras}, {change} points)").format(
            accuracy=percent(report.accuracy, 2), keras=keras, change=f"{change:+.2f}")))
    rows.append((_("Latency"), _("{ms} ms per sample").format(ms=f"{report.latency_ms:.3f}")))
    cells = "".join(f"<tr><td><b>{name}</b>&nbsp;&nbsp;</td><td>{value}</td></tr>"
                    for name, value in rows)
    return f"<table>{cells}</table>"


class DeployDialog(QDialog):
    """Choose a format and a place, Export, watch the progress, read the report.

    ``start(fmt, quantize, path, on_progress, on_result, on_error)`` starts the export task and
    returns it (or None when there is nothing to export; it says why itself).
    """

    exported = pyqtSignal(str, object)  # path, ExportReport

    def __init__(self, parent: QWidget | None, start: Callable, suggested: Path,
                 index: int = 0):
        super().__init__(parent)
        self.setObjectName("deployDialog")
        self.setWindowTitle(_("Export for deployment"))
        self._start = start
        self._task = None
        self.report = None
        self.error = ""

        self.format_box = QComboBox(self, objectName="deployFormat")
        for _fmt, _quantize, title, _help in CHOICES:
            self.format_box.addItem(title)
        self.help_label = QLabel("", self, objectName="deployHelp")
        self.help_label.setWordWrap(True)
        self.help_label.setStyleSheet("color: #555;")
        self.path_edit = QLineEdit(str(suggested), self, objectName="deployPath")
        self.browse_button = QPushButton(_("Browse…"), self, objectName="deployBrowse")
        self.browse_button.clicked.connect(self._browse)
        self.progress = QProgressBar(self, objectName="deployProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.status_label = QLabel("", self, objectName="deployStatus")
        self.status_label.setWordWrap(True)
        self.report_label = QLabel("", self, objectName="deployReport")
        self.report_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.report_label.setWordWrap(True)
        self.report_label.setMinimumWidth(460)

        buttons = QDialogButtonBox(self)
        self.export_button = buttons.addButton(_("Export"), QDialogButtonBox.AcceptRole)
        self.export_button.setObjectName("deployExport")
        self.close_button = buttons.addButton(QDialogButtonBox.Close)
        self.close_button.setObjectName("deployClose")
        self.export_button.clicked.connect(self.start_export)
        self.close_button.clicked.connect(self.close)

        where = QHBoxLayout()
        where.addWidget(self.path_edit, 1)
        where.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow(_("Format"), self.format_box)
        form.addRow("", self.help_label)
        form.addRow(_("Save to"), where)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(self.report_label)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.format_box.currentIndexChanged.connect(self._on_format_changed)
        self.format_box.setCurrentIndex(index)
        self._on_format_changed(index)

    # The choice ----------------------------------------------------------------------------------

    @property
    def choice(self) -> tuple[str, str | None]:
        fmt, quantize, _title, _help = CHOICES[self.format_box.currentIndex()]
        return fmt, quantize

    def _on_format_changed(self, index: int) -> None:
        fmt, quantize, _title, text = CHOICES[index]
        text = _(text)
        self.help_label.setText(text[0].upper() + text[1:] + ".")
        if not self.running:  # the report of the format before is not this one's
            self.report, self.error = None, ""
            self.report_label.setText("")
            self.status_label.setText("")
            self.progress.setValue(0)
        path = Path(self.path_edit.text().strip() or "model")
        stem = path.name.removesuffix(path.suffix) if path.suffix in (".onnx", ".tflite") \
            else path.name
        for tail in ("-int8", "-float16", "-savedmodel"):
            stem = stem.removesuffix(tail)
        tail = f"-{quantize}" if quantize else ("-savedmodel" if fmt == "saved-model" else "")
        self.path_edit.setText(str(path.with_name(f"{stem}{tail}{suffix_for(fmt)}")))

    def _browse(self) -> None:
        fmt, _quantize = self.choice
        if fmt == "saved-model":
            path = QFileDialog.getExistingDirectory(self, _("SavedModel folder"),
                                                    str(Path(self.path_edit.text()).parent))
        else:
            path, _kind = QFileDialog.getSaveFileName(
                self, _("Export as"), self.path_edit.text(),
                f"{CHOICES[self.format_box.currentIndex()][2]} (*{suffix_for(fmt)})")
        if path:
            self.path_edit.setText(path)

    # The export ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and self._task.running

    def start_export(self) -> None:
        if self.running:
            return
        text = self.path_edit.text().strip()
        if not text:
            self.status_label.setText(_("Say where to save the export."))
            return
        fmt, quantize = self.choice
        self.report, self.error = None, ""
        self.report_label.setText("")
        self.progress.setValue(0)
        self.status_label.setText(_("Starting…"))
        task = self._start(fmt, quantize, Path(text).expanduser(), self._on_progress,
                           self._on_result, self._on_error)
        if task is None:
            self.status_label.setText("")
            return
        self._task = task
        self._set_busy(True)

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.export_button, self.format_box, self.path_edit, self.browse_button):
            widget.setEnabled(not busy)

    def _on_progress(self, value: float, text: str) -> None:
        self.progress.setValue(int(round(value * 100)))
        if text:
            self.status_label.setText(text[0].upper() + text[1:] + "…")

    def _on_result(self, report) -> None:
        self._set_busy(False)
        self.report = report
        self.progress.setValue(100)
        self.status_label.setText(_("Exported and checked in its runtime:"))
        self.report_label.setText(report_html(report))
        self._fit()
        self.exported.emit(report.path, report)

    def _fit(self) -> None:
        """Grow (never shrink) to show the whole report: it was cut at the dialog's bottom."""
        self.layout().activate()
        height = self.layout().totalHeightForWidth(self.width())
        if height > self.height():
            self.resize(self.width(), height)

    def _on_error(self, text: str) -> None:
        self._set_busy(False)
        self.error = text
        self.progress.setValue(0)
        self.status_label.setText(_("Not exported: {text}").format(text=text))
        self._fit()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._task is not None and self._task.running:
            self._task.cancel()  # between steps; the half-written file is removed
        self._set_busy(False)
        super().closeEvent(event)
