"""The ``workbench`` command: the GUI with no arguments, headless commands otherwise (core only).

Every bad input ends with one readable line on stderr and a non-zero exit code, never a traceback
(set WORKBENCH_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from workbench.cli_common import (  # noqa: F401 - the tests and cli_*.py read them here too
    EXIT_ERROR,
    EXIT_INVALID,
    CliError,
    HelpFormatter,
    _emit,
    _load_dataset,
    _one_line,
    _warn,
    localise_argparse,
    padded,
)
from workbench.cli_train import _terminal_listener, cmd_train  # noqa: F401
from workbench.i18n import _

# summary ----------------------------------------------------------------------------------------


def cmd_summary(args) -> int:
    from workbench.core.inspect import format_shape, inspect_keras_model, inspect_model
    from workbench.core.project import load_project

    path = Path(args.project)
    if path.suffix.lower() in (".keras", ".h5", ".hdf5"):  # any Keras model, functional too
        from workbench.core.modelio import load_model

        report, graph = inspect_keras_model(load_model(path, compile=False)), True
        name = path.stem
    else:
        project = load_project(args.project)
        report, graph = inspect_model(project.model), not project.model.is_sequential()
        name = project.name or path.stem

    def names(info) -> dict:  # graphs: which layer is which, and what it takes
        return {"name": info.name, "inbound": list(info.inbound)} if graph else {}

    if args.json:
        _emit({
            "layers": [
                {"class_name": info.class_name,
                 "output_shape": list(info.output_shape) if info.output_shape else None,
                 "params": info.params, **names(info),
                 **({"error": info.error} if info.error else {})}
                for info in report.layers
            ],
            "total_params": report.total_params,
            **({"error": report.error_text(), "error_index": report.error_index}
               if not report.ok else {}),
        })
    else:
        print(_("{name}: input {shape}").format(name=name,
                                                  shape=format_shape(report.input_shape)))
        # (no _() inside an f-string: Babel would not find it)
        heading = [padded(_("layer"), 32), padded(_("output shape"), 18),
                   padded(_("params"), 10, ">")]
        print(f"{'#':>3}  " + " ".join(heading) + ("  " + _("takes") if graph else ""))
        for info in report.layers:
            shape = format_shape(info.output_shape) if info.output_shape else "-"
            params = f"{info.params:,}" if info.params is not None else "-"
            takes = f"  {info.name} <- {', '.join(info.inbound)}" if graph else ""
            mark = "  <-- " + info.error if info.error else ""
            print(f"{info.index + 1:>3}  {info.summary:<32} {shape:<18} {params:>10}"
                  f"{takes}{mark}")
        print(_("Total params: {count}").format(count=f"{report.total_params:,}"))
    if not report.ok:
        sys.stderr.write(_("workbench: invalid model: {reason}").format(
            reason=_one_line(report.error_text())) + "\n")
        return EXIT_INVALID
    from workbench.actions.train import ActionError, check_model_memory

    try:  # what train could not build here, summary does not pass either
        check_model_memory(report.total_params)
    except ActionError as exc:
        sys.stderr.write(_("workbench: invalid model: {reason}").format(reason=exc) + "\n")
        return EXIT_INVALID
    return 0


# train ------------------------------------------------------------------------------------------


# evaluate ---------------------------------------------------------------------------------------


def cmd_evaluate(args) -> int:
    from workbench.actions.evaluate import evaluate
    from workbench.core.modelio import load_model

    model = load_model(args.model)
    dataset = _load_dataset(args.dataset)
    report = evaluate(model, dataset)
    if args.json:
        _emit({"loss": report.loss, "accuracy": report.accuracy,
               "confusion_matrix": report.confusion.tolist()})
    else:
        print(_("loss {loss}  accuracy {accuracy}  ({count} test samples)").format(
            loss=f"{report.loss:.4f}", accuracy=f"{report.accuracy:.4f}",
            count=len(dataset.y_test)))
        print(_("confusion matrix (rows: true class, columns: predicted):"))
        names = dataset.class_names or [str(i) for i in range(report.num_classes)]
        for name, row in zip(names, report.confusion.tolist()):
            print(f"{name[:12]:>12} " + " ".join(f"{v:5d}" for v in row))
    return 0


# predict ----------------------------------------------------------------------------------------


def cmd_predict(args) -> int:
    from workbench.actions.predict import predict_image, read_digit
    from workbench.core.inference import Predictor
    from workbench.core.modelio import load_model

    digits = [read_digit(path) for path in args.images]  # a bad picture: before TensorFlow
    model = load_model(args.model)
    predictor, results = Predictor(), []
    for path, digit in zip(args.images, digits):
        prediction = predict_image(model, path, predictor, digit)
        results.append({"image": str(path),
                        "probabilities": [round(float(p), 6) for p in prediction.probabilities],
                        "predicted": prediction.predicted})
    for item in results:
        if args.json:
            _emit(item)
        else:
            top = item["probabilities"][item["predicted"]]
            print(f"{_one_line(item['image'])}: {item['predicted']} ({top:.1%})")
    return 0


# export -----------------------------------------------------------------------------------------


def cmd_export(args) -> int:
    from workbench.actions.export import export_deployed, export_keras, export_script, trained_model
    from workbench.core.inspect import inspect_model
    from workbench.core.modelio import load_model
    from workbench.core.project import Project, load_project
    from workbench.core.spec import TrainConfig

    source = Path(args.source)
    if source.suffix.lower() in (".keras", ".h5", ".hdf5"):
        model = load_model(source, compile=False)
        project = None
        if args.python:
            from workbench.core.importer import import_model

            imported = import_model(model)
            if not imported.editable:
                raise CliError(_("{path}: no script can be written for it: {reason}").format(
                    path=source, reason=imported.reason), EXIT_INVALID)
            project = Project(imported.spec, imported.training or TrainConfig())
    else:
        project = load_project(source)
        report = inspect_model(project.model)
        if not report.ok:
            raise CliError(_("invalid model: {reason}").format(reason=report.error_text()),
                           EXIT_INVALID)
        if not args.python:  # the model formats export the trained model
            model = trained_model(source)
        else:  # the script's check uses the trained weights when there are some
            from workbench.core.project import weights_path

            model = trained_model(source) if weights_path(source).exists() else None
    name = args.dataset or (project.dataset if project is not None else "mnist-embedded")
    dataset = _load_dataset(name)
    if args.quantize and not args.tflite:
        raise CliError(_("--quantize goes with --tflite"), EXIT_INVALID)
    if args.python:
        result = export_script(project, args.python, dataset, model)
    elif args.keras:
        result = export_keras(model, args.keras, dataset)
    else:
        fmt, path = next((f, p) for f, p in (("onnx", args.onnx), ("tflite", args.tflite),
                                             ("saved-model", args.saved_model)) if p)
        result = export_deployed(model, fmt, path, dataset, args.quantize)
    if args.json:
        _emit(result.to_dict())
    else:
        agreement = "" if result.agreement is None else _(", same class {share}").format(
            share=f"{result.agreement:.1%}")
        accuracy = ""
        if result.accuracy is not None:
            accuracy = _(", accuracy {accuracy} (Keras {keras})").format(
                accuracy=f"{result.accuracy:.2%}", keras=f"{result.keras_accuracy:.2%}")
        print(_("Wrote {path} ({size} bytes); ran it in {runtime} on {count} {dataset} test "
                "samples: max |diff| {diff}{agreement}{accuracy}, {latency} ms per sample").format(
            path=result.path, size=f"{result.bytes:,}", runtime=result.runtime,
            count=result.samples, dataset=name, diff=f"{result.max_abs_diff:.2g}",
            agreement=agreement, accuracy=accuracy, latency=f"{result.latency_ms:.2f}"))
    return 0


# dataset ----------------------------------------------------------------------------------------


def cmd_dataset(args) -> int:
    from workbench.actions.dataset import describe
    from workbench.core.safe_io import shown

    info = describe(_load_dataset(args.dataset))
    if args.json:
        _emit(info)
        return 0
    info = {**info, "name": shown(info["name"]), "classes": [shown(c) for c in info["classes"]]}
    print(_("{name}: {task}, input {shape}").format(
        name=info["name"], task=_(info["task"]), shape=tuple(info["input_shape"])))
    if info["classes"]:
        width = max(5, *(len(str(c)) for c in info["classes"]))
        print("  ".join([padded(_("class"), width, ">"), padded(_("train"), 7, ">"),
                         padded(_("test"), 7, ">")]))
        for name, train, test in zip(info["classes"], info["train_counts"], info["test_counts"]):
            print(f"{name:>{width}}  {train:>7,}  {test:>7,}")
    print(_("{train} training and {test} test samples").format(
        train=f"{sum(info['train_counts']):,}", test=f"{sum(info['test_counts']):,}"))
    return 0


# entry point ------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with the house's errors: one line, the error and a hint, not the whole usage;
    help wrapped by terminal columns (Chinese)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        from workbench.core.safe_io import shown

        self.exit(EXIT_INVALID, _("{prog}: {message} (see '{prog} --help')").format(
            prog=self.prog, message=shown(message)) + "\n")


def make_parser() -> argparse.ArgumentParser:
    from workbench import cli_engine, cli_report, cli_train

    localise_argparse()
    parser = _Parser(
        prog="workbench",
        description=_("Neural-network training workbench. With no command, opens the window."),
    )
    sub = parser.add_subparsers(dest="command", metavar=_("COMMAND"))
    p = sub.add_parser("summary", help=_("per-layer output shapes and parameters of a project"))
    p.add_argument("project")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_summary)
    p = sub.add_parser("train", help=_("train a project headless"))
    p.add_argument("project")
    p.add_argument("--dataset", help=_("dataset name or path (default: the project's)"))
    p.add_argument("--epochs", type=int)
    p.add_argument("--out", help=_("folder for the trained model and project "
                                   "(default: beside the project)"))
    p.add_argument("--json", action="store_true", help=_("one JSON object per line on stdout"))
    cli_train.add_arguments(p)
    cli_report.add_train_arguments(p)
    p.set_defaults(func=cli_engine.train_command)  # here, or on an engine (--engine)
    p = sub.add_parser("evaluate", help=_("test-split accuracy and confusion matrix of a model"))
    p.add_argument("model")
    p.add_argument("--dataset", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("predict", help=_("class probabilities for digit images"))
    p.add_argument("model")
    p.add_argument("images", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)
    p = sub.add_parser("export", help=_("write the standalone script or the trained model "
                                        "(.keras, ONNX, TFLite, SavedModel), each run on the "
                                        "dataset's test samples"))
    p.add_argument("source", metavar="PROJECT|MODEL.keras")
    formats = p.add_mutually_exclusive_group(required=True)
    formats.add_argument("--python", metavar="FILE.py",
                         help=_("standalone Keras training script"))
    formats.add_argument("--keras", metavar="FILE.keras", help=_("the trained model"))
    formats.add_argument("--onnx", metavar="FILE.onnx", help=_("ONNX, checked in onnxruntime"))
    formats.add_argument("--tflite", metavar="FILE.tflite",
                         help=_("TFLite (batch 1), checked in the LiteRT interpreter"))
    formats.add_argument("--saved-model", metavar="DIR",
                         help=_("TensorFlow SavedModel folder"))
    p.add_argument("--quantize", choices=("float16", "int8"),
                   help=_("TFLite post-training quantisation (int8: calibrated on training "
                          "data)"))
    p.add_argument("--dataset",
                   help=_("samples to check the export on (default: the project's)"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("dataset", help=_("what a dataset holds: task, input shape, class counts"))
    p.add_argument("dataset", metavar="NAME|PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dataset)
    from workbench import cli_explain, cli_sweep

    cli_sweep.add_parser(sub)
    cli_engine.add_parser(sub)
    cli_report.add_parsers(sub)
    cli_explain.add_parser(sub)
    return parser


def _known_errors():
    from workbench.actions.errors import ActionError
    from workbench.core.datasets import DatasetError
    from workbench.core.modelio import ModelFileError
    from workbench.core.project import ProjectError
    from workbench.core.spec import SpecError
    from workbench.core.training import TrainingError

    return (CliError, ActionError, DatasetError, ModelFileError, ProjectError, SpecError,
            TrainingError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from workbench.ui.main_window import run_gui

        return run_gui()
    args = make_parser().parse_args(argv)
    if args.command is None:
        make_parser().print_help()
        return 0
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a reader that went away is handled below
        return code
    except _known_errors() as exc:
        sys.stderr.write(f"workbench: {_one_line(exc)}\n")
        return getattr(exc, "code", EXIT_INVALID)
    except KeyboardInterrupt:
        sys.stderr.write(_("workbench: interrupted") + "\n")
        return 130
    except BrokenPipeError:  # the reader went away (`workbench dataset ... | head`): not an error
        # Python would complain again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the contract: never a traceback
        if os.environ.get("WORKBENCH_DEBUG"):
            raise
        if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
            sys.stderr.write(f"workbench: {_one_line(exc.filename)}: {exc.strerror}\n")
            return EXIT_ERROR
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        sys.stderr.write(_("workbench: unexpected error: {error} (set WORKBENCH_DEBUG=1 for "
                           "details)").format(error=_one_line(first)) + "\n")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
