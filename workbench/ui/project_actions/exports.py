"""File ▸ Export: the trained model (.keras, or ONNX / TFLite / SavedModel through the deployment
dialog), a standalone script, plots, the run history."""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtWidgets import QApplication, QStackedWidget, QTabWidget, QWidget

from workbench.core.export import write_history_csv
from workbench.core.project import weights_path
from workbench.core.run_text import percent
from workbench.ui.plot_export import export_plot

# The plots File ▸ Export can write, by their Qt object names (DESIGN.md contracts).
PLOTS = (("lossPlot", "Loss curves"), ("accuracyPlot", "Accuracy curves"),
         ("confusionMatrix", "Confusion matrix"))


def _export_keras(_state, plain: dict, weights: list, path: Path, dataset):
    """The export task: its own model from plain data, saved, reloaded and compared."""
    from workbench.actions.export import export_keras
    from workbench.core.modelio import model_from_plain

    return export_keras(model_from_plain(plain, weights), path, dataset)


def _export_script(_state, project, plain: dict | None, weights: list | None, path: Path,
                   dataset):
    """The script export task: the script written, its build_model() run beside our model
    (the trained one when its architecture is the project's, else the seeded one)."""
    from workbench.actions.export import export_script
    from workbench.core.modelio import model_from_plain

    model = model_from_plain(plain, weights) if plain is not None else None
    return export_script(project, path, dataset, model)


def _export_deployed(state, plain: dict, weights: list, fmt: str, quantize, path: Path, dataset):
    """The deployment export task: its own model from plain data, converted, run in the export's
    runtime and compared (actions.export.export_deployed). A cancel lands between steps."""
    from workbench.actions.export import export_deployed
    from workbench.core.modelio import model_from_plain

    def progress(value: float, text: str) -> None:
        state.check()  # raises Cancelled: the temporary file is removed on the way out
        state.set_progress(value, text)

    return export_deployed(model_from_plain(plain, weights), fmt, path, dataset, quantize,
                           progress=progress)


def _export_report(_state, project, plain: dict | None, weights: list | None, path: Path,
                   dataset, template_key: str):
    """The report task: the trained model rebuilt from plain data (its own copy), then the one
    report use case, as `workbench report` runs it."""
    from workbench.actions.report import write_report
    from workbench.core.modelio import model_from_plain

    model = model_from_plain(plain, weights) if plain is not None else None
    return write_report(project, path, dataset, model, None, template_key)


def _checked(report, dataset) -> str:
    same = "" if report.agreement is None else f", same class {percent(report.agreement)}"
    return (f"checked on {dataset.name}'s test samples: max |diff| {report.max_abs_diff:.2g}"
            f"{same}, {report.latency_ms:.3g} ms per sample")


def _export_failure(exc: BaseException) -> str:
    from workbench.actions.errors import ActionError
    from workbench.core.errors import reason_lines

    return str(exc) if isinstance(exc, ActionError) else reason_lines(exc)[0]


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
        """(the trained model's plain config and weights, the dataset) for an export task, or
        (None, None) having told the user why not (nothing trained, the dataset still loading)."""
        model = self.state.trained.run_on_model(_plain_and_weights)
        if model is None:
            self.inform("There is no trained model yet: train the model first.")
            return None, None
        dataset = self.state.data.dataset
        if dataset is None:
            self.inform("The dataset is still loading: export again in a moment.")
            return None, None
        return model, dataset

    def export_model(self) -> Path | None:
        """Ask for a file, then save and check the trained model there in a background task
        (actions.export.export_keras); the status bar reports the check when it is done."""
        model, dataset = self._model_and_dataset()
        if model is None:
            return None
        path = self._ask_export_path("Export trained model", ".keras", "Keras models (*.keras)")
        if path is None:
            return None
        # The task builds its own copy: nothing Keras-mutable crosses threads.
        plain, weights = model
        self._export_runner().start(
            _export_keras, plain, weights, path, dataset, name="export",
            on_result=lambda report: self._status(
                f"Exported the trained model to {report.path} ({report.bytes:,} bytes): "
                f"{_checked(report, dataset)}"),
            on_error=lambda text: self.warn(f"The model was not exported: {text}"),
            describe_error=_export_failure)
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
            self.inform("There is no trained model yet: train the model first.")
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
        plain, weights = model  # the task builds its own copy: nothing Keras-mutable crosses
        return self._export_runner().start(
            _export_deployed, plain, weights, fmt, quantize, path, dataset, name="export",
            on_progress=on_progress, on_result=on_result, on_error=on_error,
            describe_error=_export_failure)

    def _on_deployed(self, path: str, report) -> None:
        self._status(f"Exported {Path(path).name}: {_checked(report, self.state.data.dataset)}")
        bus = getattr(self.state, "bus", None)
        if bus is not None and hasattr(bus, "model_exported"):
            bus.model_exported.emit(path)

    def _export_runner(self):
        from workbench.ui.tasks import TaskRunner

        runner = getattr(self, "_exports", None)
        if runner is None:
            runner = self._exports = TaskRunner(self.window)
        return runner

    def export_script(self) -> Path | None:
        """Ask for a file, then write the standalone script and check, in a background task, that
        its build_model() computes what the trained model computes (actions.export)."""

        inspection = self.state.inspection
        # (an older answer, for the model before the last edit, is no reason to refuse: the
        # export task reports a model that does not build in one line too)
        if inspection is not None and self.state.inspection_current and not inspection.ok:
            self.warn(f"Fix the model first: {inspection.error_text()}")
            return None
        dataset = self.state.data.dataset
        if dataset is None:
            self.inform("The dataset is still loading: export again in a moment.")
            return None
        path = self._ask_export_path("Export Python script", ".py", "Python scripts (*.py)")
        if path is None:
            return None
        project = self.state.project.copy()
        trained = self.state.trained
        plain = weights = None
        if trained.has_model and trained.trained_spec == project.model.to_dict():
            plain, weights = trained.run_on_model(_plain_and_weights)
        self._export_runner().start(
            _export_script, project, plain, weights, path, dataset, name="export",
            on_result=lambda report: self._status(
                f"Exported {path.name}: run it with python {path.name}; "
                f"{_checked(report, dataset)}"),
            on_error=lambda text: self.warn(f"The script was not written: {text}"),
            describe_error=_export_failure)
        return path

    def export_plot(self, object_name: str) -> Path | None:
        widget = self.window.findChild(QWidget, object_name)
        title = dict(PLOTS).get(object_name, object_name)
        if widget is None:
            self.inform(f"There is no {title.lower()} plot to export.")
            return None
        evaluation = getattr(self.window, "evaluation_panel", None)
        if object_name == "confusionMatrix" and evaluation is not None:
            evaluation.draw_pending()  # a result that came behind another tab
        if object_name == "confusionMatrix" and getattr(widget, "counts", None) is None:
            # Exporting it before the evaluation (a background task) has come wrote an empty one.
            self.inform("There is no confusion matrix to export yet: it shows in the Evaluation "
                        "tab once a trained model has been evaluated. Export it when it is there.")
            return None
        path = self._ask_export_path(f"Export {title.lower()}", ".png",
                                     "PNG image (*.png);;SVG drawing (*.svg)")
        if path is None:
            return None
        hidden = self._bring_forward(widget)
        try:
            written = export_plot(widget, path)
        except (OSError, ValueError) as exc:
            self.warn(f"The {title.lower()} plot was not exported: {exc}")
            return None
        finally:
            for stack, page in hidden:
                stack.setCurrentWidget(page)
        self._status(f"Exported the {title.lower()} to {written}")
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
            self.inform("There are no runs yet: train the model first, then export its report.")
            return None
        dataset = self.state.data.dataset
        if dataset is None:
            self.inform("The dataset is still loading: export again in a moment.")
            return None
        path = self._ask_export_path("Export run report", ".html", "HTML report (*.html)")
        if path is None:
            return None
        trained = self.state.trained.run_on_model(_plain_and_weights)
        plain, weights = trained if trained is not None else (None, None)
        key = self.state.path.stem if self.state.path is not None else ""
        self._export_runner().start(
            _export_report, self.state.project.copy(), plain, weights, path, dataset, key,
            name="report",
            on_result=lambda written: self._status(
                f"Wrote the report of run {written.run_id} to {written.path}"
                + (f" ({'; '.join(written.notes)})" if written.notes else "")),
            on_error=lambda text: self.warn(f"The report was not written: {text}"))
        return path

    def export_history(self) -> Path | None:
        runs = self.state.project.runs
        if not runs:
            self.inform("There are no runs yet: train the model first.")
            return None
        path = self._ask_export_path("Export run history", ".csv", "CSV files (*.csv)")
        if path is None:
            return None
        try:
            write_history_csv(runs, path)
        except OSError as exc:
            self.warn(f"The history was not written: {exc.strerror or exc}")
            return None
        self._status(f"Exported {len(runs)} run(s) to {path}")
        return path


def _plain_and_weights(model) -> tuple[dict, list]:
    """On the views' model's thread: its architecture as plain data and a copy of its weights."""
    from workbench.core.modelio import model_to_plain

    return model_to_plain(model), [w.copy() for w in model.get_weights()]
