"""A run report: one self-contained HTML file (``workbench report``, File ▸ Export report…).

The model's layer table (Keras's shapes and parameters) and, for a graph, its drawing; the
dataset (splits, class balance, samples of each class); the run's settings and what changed since
the run before; the loss and metric curves; on the test split the confusion matrix, per-class
precision/recall/F1 and the most confident mistakes; the first layer's weights; for a tutorial's
project the tutorial's figures beside ours. Every number comes from the functions the window's
views use (core.evaluation through actions.evaluate, core.introspection, core.changes,
core.tutorials, actions.explore), every picture from the same arrays and colour maps
(core.palette), drawn without Qt (core.figures) and embedded, so the file opens offline.
The HTML is written from a Jinja2 template (resources/report/report.html.j2), escaped.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench import i18n
from workbench.actions import explore
from workbench.actions.errors import ActionError
from workbench.core import changes, figures, introspection, palette, tutorials
from workbench.core.runs import RunRecord
from workbench.core.safe_io import shown
from workbench.i18n import N_, _

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "resources" / "report"
SAMPLES_PER_CLASS = 6
MAX_CLASSES_SHOWN = 20
MISTAKES = 12
MAX_CELL_TEXT = 20  # classes up to which the matrix is a table of numbers (else a picture)


@dataclass
class ReportWritten:
    path: Path
    run_id: int
    bytes: int
    notes: list[str] = field(default_factory=list)  # sections left out, and why


def write_report_for_project(project_path, out, run_id: int | None = None,
                             dataset: str | None = None) -> ReportWritten:
    """``workbench report PROJECT``: the project's trained weights are the ``.keras`` beside it
    (the last run's, as train and Save write them); the data is the run's dataset (``dataset``
    names another)."""
    from workbench.core.datasets import dataset_names, load_dataset
    from workbench.core.modelio import load_model
    from workbench.core.project import load_project, weights_path

    _check_out(out)  # before the work, not after it
    project = load_project(project_path)
    run, _previous = pick_run(project.runs, run_id)  # (a run that is not there: before any loading)
    keras_file = weights_path(project_path)
    model = load_model(keras_file, compile=False) if keras_file.is_file() else None
    known = run.dataset in dataset_names() or (run.dataset and Path(run.dataset).exists())
    data = load_dataset(dataset or (run.dataset if known else project.dataset),
                        seed=run.training.get("seed", project.training.seed) or 0)
    return write_report(project, out, data, model, run_id, Path(project_path).stem)


def write_report(project, out, dataset, model=None, run_id: int | None = None,
                 template_key: str = "") -> ReportWritten:
    """Render the report of run ``run_id`` (default: the last) and write it atomically to
    ``out``. ``model``: the trained Keras model of the project's last run (None: not trained;
    the sections that need it say so)."""
    from workbench.core.project import write_atomic

    out = _check_out(out)
    html, chosen, notes = render_report(project, dataset, model, run_id, template_key)
    try:
        write_atomic(out, html)
    except OSError as exc:
        raise ActionError(_("{out}: cannot be written ({reason})").format(
                              out=shown(out), reason=exc.strerror or exc)) from None
    return ReportWritten(out, chosen, out.stat().st_size, notes)


def _check_out(out) -> Path:
    from workbench.actions.train import check_output_folder

    out = Path(out)
    if out.is_dir():
        raise ActionError(_("{out} is a folder; name the report's file (report.html)").format(
                              out=shown(out)))
    check_output_folder(out.parent)
    return out


def pick_run(runs: list[dict], run_id: int | None) -> tuple[RunRecord, RunRecord | None]:
    """The run asked for (default: the last) and the run before it (None for the first)."""
    records = [RunRecord.from_dict(r, i) for i, r in enumerate(runs)]
    if not records:
        raise ActionError(_("the project has no runs yet: train it first"))
    index = len(records) - 1
    if run_id is not None:
        ids = [r.id for r in records]
        if run_id not in ids:
            raise ActionError(_("the project has no run {run_id} (its runs: {ids})").format(
                                  run_id=run_id, ids=', '.join(map(str, ids))))
        index = ids.index(run_id)
    return records[index], records[index - 1] if index else None


# How a run's status reads in the report's header (translated there).
STATUS_WORDS = (N_("completed"), N_("stopped"), N_("early stopped"), N_("failed"), N_("nan"))


def render_report(project, dataset, model=None, run_id: int | None = None,
                  template_key: str = "") -> tuple[str, int, list[str]]:
    """The report's HTML, the run's id and notes on what was left out."""
    import jinja2

    run, previous = pick_run(project.runs, run_id)
    notes: list[str] = []
    last = RunRecord.from_dict(project.runs[-1], len(project.runs) - 1).id
    if model is not None and run.id != last:
        notes.append(_("the trained weights are run {last}'s: the test-split figures and the "
                       "weights are left out of run {run}'s report").format(last=last, run=run.id))
        model = None
    elif model is None:
        notes.append(_("no trained weights (train, or save the project after training): the "
                       "test-split figures and the weights are left out"))
    from workbench.core.spec import ModelSpec

    spec = project.model
    if isinstance(run.extra.get("model"), dict):
        try:
            spec = ModelSpec.from_dict(run.extra["model"])
        except Exception:  # noqa: BLE001 - an old or hand-edited record: the project's model
            spec = project.model
    context = {
        "title": project.name or _("Workbench project"), "run": run,
        "created": time.strftime("%Y-%m-%d %H:%M"),
        "model": model_section(spec),
        "data": dataset_section(dataset, run.training),
        "settings": settings_section(run, previous, spec),
        "curves": curves_section(run.history),
        "test": run.test or {},
        "evaluation": evaluation_section(model, dataset, notes) if model is not None else None,
        "weights": weights_section(model, dataset, spec) if model is not None else None,
        "tutorial": tutorial_section(project, run, model, template_key),
        "notes": notes,
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True,
                             extensions=["jinja2.ext.i18n"])
    # The template's words in the language in use (tools/i18n.py extracts them into core.po).
    env.install_gettext_callables(i18n._, i18n.ngettext, newstyle=True)
    context["lang"] = "zh-CN" if i18n.language() == "zh_CN" else "en"
    return env.get_template("report.html.j2").render(**context), run.id, notes


# --- the sections ------------------------------------------------------------------------------


def model_section(spec) -> dict:
    from workbench.core.graph import INPUT
    from workbench.core.inspect import format_shape, inspect_model

    report = inspect_model(spec)
    rows = [{"index": info.index + 1, "name": info.name, "layer": info.summary,
             "shape": format_shape(info.output_shape) if info.output_shape else "–",
             "params": f"{info.params:,}" if info.params is not None else "–",
             "takes": ", ".join(info.inbound), "error": info.error or ""}
            for info in report.layers]
    drawing = None
    if not spec.is_sequential():
        nodes = [(INPUT, "input", format_shape(report.input_shape))]
        nodes += [(info.name, f"{info.name} · {info.class_name}",
                   format_shape(info.output_shape) if info.output_shape else "?")
                  for info in report.layers]
        edges = [(source, info.name) for info in report.layers for source in info.inbound]
        drawing = figures.graph_drawing(nodes, edges, INPUT)
    return {"input": format_shape(report.input_shape), "layers": rows,
            "total": f"{report.total_params:,}", "graph": not spec.is_sequential(),
            "drawing": drawing, "error": "" if report.ok else report.error_text()}


def _thumb(x) -> str:
    pixels = explore.to_uint8(explore.picture(x))
    return figures.png_uri(pixels, figures.scale_for(pixels.shape, 64))


def dataset_section(dataset, training: dict) -> dict:
    from workbench.actions.dataset import describe

    info = describe(dataset)
    parts = explore.splits(dataset, float(training.get("validation_split") or 0.0),
                           training.get("seed", 0))
    sizes = {name: int(len(parts[name])) for name in explore.SPLITS}
    section = {"name": dataset.name, "description": dataset.description, "task": info["task"],
               "input": " × ".join(map(str, info["input_shape"])), "sizes": sizes,
               "classes": [], "more_classes": 0}
    if not dataset.is_classification:
        return section
    counts = explore.class_counts(dataset, parts)
    top = max((max(c) for c in counts.values() if c), default=1) or 1
    labels = explore.labels(dataset.y_train)
    shown_classes = info["classes"][:MAX_CLASSES_SHOWN]
    for c, name in enumerate(shown_classes):
        samples = []
        if dataset.is_image:
            picked = np.flatnonzero(labels == c)[:SAMPLES_PER_CLASS]
            samples = [_thumb(dataset.x_train[int(i)]) for i in picked]
        section["classes"].append({
            "name": name, **{s: counts[s][c] for s in explore.SPLITS},
            "bar": 100.0 * counts["train"][c] / top, "samples": samples})
    section["more_classes"] = len(info["classes"]) - len(shown_classes)
    return section


def _flat_settings(training: dict) -> list[tuple[str, str]]:
    rows = []
    for key, value in training.items():
        if isinstance(value, dict) and "class_name" in value:
            config = value.get("config") or {}
            detail = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in config.items())
            value = f"{value['class_name']} ({detail})" if detail else value["class_name"]
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "–"
        rows.append((key.replace("_", " "), "–" if value is None else str(value)))
    return rows


def settings_section(run: RunRecord, previous: RunRecord | None, spec) -> dict:
    before_model = previous.extra.get("model") if previous is not None else None
    return {
        "rows": _flat_settings(run.training),
        "previous": previous.id if previous is not None else None,
        "training_changes": changes.training_changes(
            previous.training if previous is not None else None, run.training),
        "model_changes": changes.model_changes(
            before_model if isinstance(before_model, dict) else None, spec.to_dict()),
        "status": run.status, "message": run.message, "epochs": run.epochs,
        "duration": (_("{seconds} s").format(seconds=f"{run.duration:.1f}")
                     if run.duration is not None else "–"),
        "started": run.started, "dataset": run.dataset,
        "continues": run.extra.get("continues"),
    }


def curves_section(history: dict[str, list[float]]) -> list[dict]:
    """The loss chart and the metric chart, train and validation, as the Training tab draws
    them (its colours; validation with markers)."""
    charts = []
    metric = next((m for m in ("accuracy", "mae", "mse") if m in history), None)
    for key, title in (("loss", _("Loss")), (metric, (metric or "").upper()
                                              if metric != "accuracy" else _("Accuracy"))):
        if key is None:
            continue
        drawn = figures.chart(title, [
            (_("train"), history.get(key, []), palette.TRAIN_COLOR, False),
            (_("validation"), history.get(f"val_{key}", []), palette.VAL_COLOR, True)])
        if drawn is not None:
            charts.append(drawn)
    return charts


def evaluation_section(model, dataset, notes: list[str]) -> dict | None:
    from workbench.actions.evaluate import evaluate
    from workbench.core.evaluation import row_percent_label

    if not dataset.is_classification or len(dataset.x_test) == 0:
        return None
    try:
        report = evaluate(model, dataset)
    except ActionError as exc:
        notes.append(_("the test split was not scored: {reason}").format(reason=exc))
        return None
    n = report.num_classes
    names = list(dataset.class_names) + [str(i) for i in range(len(dataset.class_names), n)]
    top = max(1.0, float(report.confusion.max(initial=0)))  # the window's levels: 0 … max count
    colours = palette.colorize(report.confusion / 1.0, palette.BLUES, 0.0, top)
    rows, picture = [], ""
    if n > MAX_CELL_TEXT:  # as in the Evaluation tab: past 20 classes the numbers do not fit
        picture = figures.heat_uri(report.confusion, palette.BLUES, 0.0, top, 600)
        n_rows = 0
    else:
        n_rows = n
    for t in range(n_rows):
        total = int(report.confusion[t].sum()) or 1
        cells = []
        for p in range(n):
            count = int(report.confusion[t, p])
            dark = count / top > 0.45
            cells.append({"count": count,
                          "share": row_percent_label(100.0 * count / total) if count else "",
                          "bg": palette.css(colours[t, p]), "fg": "#fff" if dark else "#111"})
        rows.append({"name": names[t], "cells": cells})
    mistakes = []
    for i in report.wrong[:MISTAKES]:
        i = int(i)
        pred, true = int(report.predicted[i]), int(report.labels[i])
        mistakes.append({"picture": _thumb(dataset.x_test[i]) if dataset.is_image else "",
                         "true": names[true], "predicted": names[pred], "index": i,
                         "confidence": f"{report.probabilities[i, pred]:.1%}"})
    per_class = [{**m, "name": names[m["class"]]} for m in report.per_class]
    return {"names": names, "rows": rows, "picture": picture, "per_class": per_class,
            "mistakes": mistakes,
            "accuracy": report.accuracy, "loss": report.loss, "samples": len(report.labels),
            "wrong": int(len(report.wrong)), "note": report.note}


def first_layer_picture(layer, kernel: np.ndarray, unit_shape) -> tuple[np.ndarray, str] | None:
    """The first weighted layer's picture as the Weights tab draws it: each Dense unit's
    incoming weights as an image, or each convolution filter, tiled a bit wider than tall."""
    if unit_shape is not None:
        pictures, what = introspection.dense_unit_images(kernel, unit_shape), _("units")
    elif layer.class_name.startswith("Conv") and kernel.ndim == 4:
        pictures, what = introspection.conv_filters(kernel), _("filters")
    else:
        return None
    cols = max(1, math.ceil(math.sqrt(len(pictures) * 1.6)))
    return introspection.tile_images(pictures, cols=cols, pad=1, fill=np.nan), what


def weights_section(model, dataset, spec) -> dict | None:
    from workbench.core.weight_layers import image_shape_for, weighted_layers

    layers = weighted_layers(model)
    if not layers:
        return None
    layer = layers[0]
    kernel = np.asarray(layer.arrays(model.get_weights())[0], dtype=np.float32)
    unit_shape = None
    if layer.class_name == "Dense" and layer.first and kernel.ndim == 2:
        candidates = [dataset.input_shape] if dataset.is_image else []
        unit_shape = image_shape_for(kernel.shape[0], [*candidates, tuple(spec.input_shape)])
    made = first_layer_picture(layer, kernel, unit_shape)
    if made is None:
        return None
    picture, what = made
    lo, hi = introspection.symmetric_limits(kernel)
    return {"layer": layer.label, "what": what, "count": layer.units,
            "picture": figures.heat_uri(picture, palette.DIVERGING, lo, hi, 640),
            "lo": f"{lo:.3g}", "hi": f"{hi:.3g}",
            "bar": figures.heat_uri(np.linspace(lo, hi, 128)[None, :], palette.DIVERGING,
                                    lo, hi, 256)}


def tutorial_section(project, run: RunRecord, model, template_key: str) -> dict | None:
    """The tutorial whose template the project is (by file name or by the template's title)."""
    from workbench.core.templates import templates

    keys = {t.title: t.key for t in templates()}
    key = template_key if template_key in keys.values() else keys.get(project.name, "")
    if not key:
        return None
    found = [t for t in tutorials.TUTORIALS
             if t.template == key or any(s.template == key for s in t.steps)]
    if not found:
        return None
    item = found[0]
    weights = model.get_weights() if model is not None else None
    data: dict[str, Any] = run.to_dict()
    rows = item.rows(data, weights)
    if item.steps:
        rows += tutorials.fonts_rows({key: data})
    # Translated here: the template's _() would %-format them ("≈ 40 %").
    return {"key": item.key, "title": _(item.title), "did": _(item.did),
            "reported": _(item.reported),
            "rows": rows}
