"""File ▸ Export: the trained model (.keras, or ONNX / TFLite / SavedModel through the deployment
dialog), a standalone script, the run's report, plots, the run history.

The model's exports and the report are made by the engine (``export``: written and checked
there, LiteRT in its own child process) and come back as bytes that are written here with the
never-delete rules (``actions.export.write_returned``); plots and the history are written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5 import sip
from PyQt5.QtCore import QObject, QTimer
from PyQt5.QtWidgets import QApplication, QStackedWidget, QTabWidget, QWidget

from workbench.actions.errors import ActionError
from workbench.actions.export import (
    CHECK_SAMPLES,
    REPRESENTATIVE_SAMPLES,
    ExportReport,
    check_writable,
    deployed_path,
    write_returned,
)
from workbench.actions.report import ReportWritten
from workbench.core.export import write_history_csv
from workbench.core.project import weights_path
from workbench.core.run_text import percent
from workbench.i18n import N_, _, ngettext
from workbench.ui.engine_data import EngineData
from workbench.ui.plot_export import export_plot

# The plots File ▸ Export can write, by their Qt object names (DESIGN.md contracts).
PLOTS = (("lossPlot", N_("Loss curves")), ("accuracyPlot", N_("Accuracy curves")),
         ("confusionMatrix", N_("Confusion matrix")))


class EngineExport(QObject):
    """One export made by the engine (``export``): written and checked there, its bytes written
    here when they come (``actions.export.write_returned``). Reads as a task to the deployment
    dialog: ``running``, ``done`` (its end delivered), ``status``, ``cancel()``."""

    def __init__(self, link, body: dict, path: Path, on_result, on_error,
                 on_progress=None, parent: QObject | None = None):
        super().__init__(parent)
        self.link, self.path = link, path
        self.on_result, self.on_error, self.on_progress = on_result, on_error, on_progress
        self.status = "running"
        self.request = None
        try:
            check_writable(path, folder=body.get("kind") == "saved-model")
        except ActionError as exc:  # said as the engine's answer would be: after this returns
            QTimer.singleShot(0, lambda text=str(exc): self._done(None, text))
            return
        self.request = link.ask("export", body, self._done, self._event)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def done(self) -> bool:
        return not self.running

    def cancel(self) -> None:
        """Stop it between steps in the engine; nothing is written here."""
        if not self.running:
            return
        self.status = "cancelled"
        if self.request is not None:
            self.link.forget_ask(self.request)
            self.link.ask("stop", {"request": self.request})

    def _event(self, name: str, body) -> None:
        if name == "progress" and self.running and self.on_progress is not None:
            self.on_progress(body["fraction"], body["text"])

    def _done(self, reply: dict | None, error: str) -> None:
        if not self.running or sip.isdeleted(self) or QApplication.instance() is None:
            return  # cancelled, or its window (the app) has gone
        if not error:
            try:
                written = write_returned(self.path, reply["file"], bool(reply.get("folder")))
            except ActionError as exc:
                error = str(exc)
        self.status = "failed" if error else "done"
        if error:
            self.on_error(error)
            return
        if "report" in reply:
            result = ExportReport(**{**reply["report"], "path": str(written)})
        else:
            result = ReportWritten(written, int(reply["run_id"]), len(reply["file"]),
                                   list(reply.get("notes") or []))
        self.on_result(result)


def check_samples_body(dataset, quantize: str | None = None) -> dict:
    """The samples an export is checked on, as the engine's ``export`` takes them: the first
    ``CHECK_SAMPLES`` test samples (``actions.export.check_samples``'s) and, for int8, the
    training samples the calibration runs on (``representative_samples``'s)."""
    x, y = ((dataset.x_test, dataset.y_test) if len(dataset.x_test)
            else (dataset.x_train, dataset.y_train))
    body = {"name": dataset.name, "task": dataset.task, "class_names": list(dataset.class_names),
            "x_test": np.asarray(x[:CHECK_SAMPLES]), "y_test": np.asarray(y[:CHECK_SAMPLES])}
    if quantize == "int8":
        x, y = ((dataset.x_train, dataset.y_train) if len(dataset.x_train)
                else (dataset.x_test, dataset.y_test))
        picked = np.linspace(0, len(x) - 1, num=min(REPRESENTATIVE_SAMPLES, len(x))).astype(int)
        body.update(x_train=np.asarray(x[picked]), y_train=np.asarray(y[picked]))
    return body


def _checked(report, dataset) -> str:
    same = "" if report.agreement is None else _(", same class {agreement}").format(
        agreement=percent(report.agreement))
    return _("checked on {name}'s test samples: max |diff| {diff}{same}, {ms} ms per "
             "sample").format(name=dataset.name, diff=f"{report.max_abs_diff:.2g}", same=same,
                              ms=f"{report.latency_ms:.3g}")


class ExportMixin:
    """Part of ProjectActions: everything File ▸ Export writes."""

    def _ask_export_path(self, caption: str, suffix: str, filters: str) -> Path | None:
        stem = (self.state.path.stem if self.state.path else
                (self.state.project.name or "workbench").replace(" ", "-"))
        suggested = self.start_folder() / f"{stem}{suffix}"
        if self.state.path is not None and suggested == weights_path(self.state.path):
            # That name is the project's own weights file, which Save rewrites.
            suggested = suggested.with_name(f"{stem}-trained{suffix}")
        path = self.ask_save_path(caption, str(suggested), filters)
        if not path:
            return None
        path = Path(path)
        self._remember_folder(path)
        return path if path.suffix else path.with_suffix(suffix)

    def _model_and_dataset(self):
        """(the trained model as the engine takes it, the dataset) for an export, or
        (None, None) having told the user why not (nothing trained, the dataset still loading)."""
        if not self.state.trained.has_model:
            self.inform(_("There is no trained model yet: train the model first."))
            return None, None
        dataset = self.state.data.dataset
        if dataset is None:
            self.inform(_("The dataset is still loading: export again in a moment."))
            return None, None
        return self.state.trained.model_body(), dataset

    def _export(self, kind: str, path: Path, body: dict, on_result, on_error,
                on_progress=None) -> EngineExport:
        """Ask the engine for the export ``kind`` of ``body``; written at ``path`` when it comes."""
        body = {**body, "kind": kind, "name": path.name, "where": str(path)}
        return EngineExport(self.state.engine, body, path, on_result, on_error, on_progress,
                            self)

    def export_model(self) -> Path | None:
        """Ask for a file, then save and check the trained model there in a background task
        (actions.export.export_keras); the status bar reports the check when it is done."""
        model, dataset = self._model_and_dataset()
        if model is None:
            return None
        path = self._ask_export_path(_("Export trained model"), ".keras",
                                     _("Keras models (*.keras)"))
        if path is None:
            return None
        self._status(_("Exporting the trained model to {name}…").format(name=path.name), 0)
        self._export(
            "keras", path, {**model, "samples": check_samples_body(dataset)},
            on_result=lambda report: self._status(
                _("Exported the trained model to {path} ({bytes} bytes): {checked}").format(
                    path=report.path, bytes=f"{report.bytes:,}",
                    checked=_checked(report, dataset))),
            on_error=lambda text: self.warn(_("The model was not exported: {text}").format(
                text=text)))
        return path

    def export_deployment(self, fmt: str = "onnx", quantize: str | None = None):
        """File ▸ Export ▸ ONNX / TFLite / SavedModel: the deployment dialog (one per window),
        with ``fmt``/``quantize`` chosen. Returns the dialog, or None without a trained model."""
        from workbench.ui.project_actions.deploy_dialog import (
            DeployDialog,
            choice_index,
            suffix_for,
        )

        if not self.state.trained.has_model:
            self.inform(_("There is no trained model yet: train the model first."))
            return None
        dialog = getattr(self, "_deploy_dialog", None)
        index = choice_index(fmt, quantize)
        if dialog is None:
            stem = (self.state.path.stem if self.state.path else
                    (self.state.project.name or "workbench").replace(" ", "-"))
            dialog = self._deploy_dialog = DeployDialog(
                self.window, self._start_deployment,
                self.start_folder() / f"{stem}{suffix_for(fmt)}", index)
            dialog.exported.connect(self._on_deployed)
        else:
            dialog.format_box.setCurrentIndex(index)
        dialog.show()
        dialog.raise_()
        return dialog

    def _start_deployment(self, fmt, quantize, path: Path, on_progress, on_result, on_error):
        """Start the export task for the dialog (None, having said why, when it cannot)."""
        model, dataset = self._model_and_dataset()
        if model is None:
            return None
        self._remember_folder(path)
        path = deployed_path(path, fmt)
        return self._export(fmt, path, {**model, "quantize": quantize,
                                        "samples": check_samples_body(dataset, quantize)},
                            on_result, on_error, on_progress)

    def _on_deployed(self, path: str, report) -> None:
        self._status(_("Exported {name}: {checked}").format(
            name=Path(path).name, checked=_checked(report, self.state.data.dataset)))
        bus = getattr(self.state, "bus", None)
        if bus is not None and hasattr(bus, "model_exported"):
            bus.model_exported.emit(path)

    def export_script(self) -> Path | None:
        """Ask for a file, then write the standalone script and check, in a background task, that
        its build_model() computes what the trained model computes (actions.export)."""

        inspection = self.state.inspection
        # (an older answer, for the model before the last edit, is no reason to refuse: the
        # export task reports a model that does not build in one line too)
        if inspection is not None and self.state.inspection_current and not inspection.ok:
            self.warn(_("Fix the model first: {error_text}").format(
                error_text=inspection.error_text()))
            return None
        dataset = self.state.data.dataset
        if dataset is None:
            self.inform(_("The dataset is still loading: export again in a moment."))
            return None
        path = self._ask_export_path(_("Export Python script"), ".py", _("Python scripts (*.py)"))
        if path is None:
            return None
        project = self.state.project
        trained = self.state.trained
        body = {"project": project.to_dict(), "samples": check_samples_body(dataset)}
        if trained.has_model and trained.trained_spec == project.model.to_dict():
            body.update(trained.model_body())  # else the script's seeded model is checked
        self._export(
            "script", path, body,
            on_result=lambda report: self._status(
                _("Exported {name}: run it with python {name}; {checked}").format(
                    name=path.name, checked=_checked(report, dataset))),
            on_error=lambda text: self.warn(_("The script was not written: {text}").format(
                text=text)))
        return path

    def export_plot(self, object_name: str) -> Path | None:
        evaluation = getattr(self.window, "evaluation_panel", None)  # built now if it was not
        widget = self.window.findChild(QWidget, object_name)
        title = dict(PLOTS).get(object_name, object_name)
        if widget is None:
            self.inform(_("There is no {lower} plot to export.").format(lower=_(title).lower()))
            return None
        if object_name == "confusionMatrix" and evaluation is not None:
            evaluation.draw_pending()  # a result that came behind another tab
        if object_name == "confusionMatrix" and getattr(widget, "counts", None) is None:
            # Exporting it before the evaluation (a background task) has come wrote an empty one.
            self.inform(_("There is no confusion matrix to export yet: it shows in the "
                          "Evaluation tab once a trained model has been evaluated. Export it "
                          "when it is there."))
            return None
        path = self._ask_export_path(_("Export {lower}").format(lower=_(title).lower()), ".png",
                                     _("PNG image (*.png);;SVG drawing (*.svg)"))
        if path is None:
            return None
        hidden = self._bring_forward(widget)
        try:
            written = export_plot(widget, path)
        except (OSError, ValueError) as exc:
            self.warn(_("The {lower} plot was not exported: {exc}").format(
                lower=_(title).lower(), exc=exc))
            return None
        finally:
            for stack, page in hidden:
                stack.setCurrentWidget(page)
        self._status(_("Exported the {lower} to {written}").format(
            lower=_(title).lower(), written=written))
        return written

    @staticmethod
    def _bring_forward(widget: QWidget) -> list[tuple[QWidget, QWidget]]:
        """Show the tab pages holding ``widget`` so it is laid out at its real size (a hidden tab
        exports squashed); returns what to switch back to."""
        switched = []
        child, parent = widget, widget.parentWidget()
        while parent is not None:
            if isinstance(parent, QStackedWidget) and parent.currentWidget() is not child:
                tabs = parent.parentWidget()
                container = tabs if isinstance(tabs, QTabWidget) else parent
                switched.append((container, container.currentWidget()))
                container.setCurrentWidget(child)
            child, parent = parent, parent.parentWidget()
        if switched:
            QApplication.processEvents()
        return switched[::-1]

    def export_report(self) -> Path | None:
        """File ▸ Export Report…: the last run's HTML report, written by a background task."""
        if not self.state.project.runs:
            self.inform(_("There are no runs yet: train the model first, then export its report."))
            return None
        dataset = self.state.data.dataset
        if dataset is None:
            self.inform(_("The dataset is still loading: export again in a moment."))
            return None
        path = self._ask_export_path(_("Export run report"), ".html", _("HTML report (*.html)"))
        if path is None:
            return None
        trained = self.state.trained
        body = {"project": self.state.project.to_dict(),
                "template_key": self.state.path.stem if self.state.path is not None else "",
                **(trained.model_body() if trained.has_model else {})}
        self._status(_("Writing {name}…").format(name=path.name), 0)

        def write(named: dict | None, error: str) -> None:
            if error:
                self.warn(_("The report was not written: {error}").format(error=error))
                return
            self._export(
                "report", path, {**body, **named},
                on_result=lambda written: self._status(
                    f"Wrote the report of run {written.run_id} to {written.path}"
                    + (f" ({'; '.join(written.notes)})" if written.notes else "")),
                on_error=lambda text: self.warn(_("The report was not written: {text}").format(
                    text=text)))

        # The window's dataset, as the engine can load it (a file sent once by its hash).
        if getattr(self, "_report_data", None) is None:
            self._report_data = EngineData(self)
        data = self.state.data
        name = data.name or self.state.project.dataset
        self._report_data.ensure(self.state.engine, dataset, name, data.seed, write)
        return path

    def export_history(self) -> Path | None:
        runs = self.state.project.runs
        if not runs:
            self.inform(_("There are no runs yet: train the model first."))
            return None
        path = self._ask_export_path(_("Export run history"), ".csv", _("CSV files (*.csv)"))
        if path is None:
            return None
        try:
            write_history_csv(runs, path)
        except OSError as exc:
            self.warn(_("The history was not written: {value}").format(value=exc.strerror or exc))
            return None
        self._status(ngettext("Exported {count} run to {path}", "Exported {count} runs to {path}",
                              len(runs)).format(count=len(runs), path=path))
        return path
