"""``workbench report PROJECT``, ``workbench tensorboard PROJECT`` and ``train --tensorboard DIR``:
sharing what a run found.

Kept beside cli.py (which adds them to its parser); the report is actions/report.py, the event
files core/tensorboard.py; these print and have no logic of their own.
"""

from __future__ import annotations

import time
from pathlib import Path

from workbench.i18n import _


def add_parsers(sub) -> None:
    p = sub.add_parser("report", help=_("one self-contained HTML report of a run (model, data, "
                                        "curves, confusion matrix, mistakes, weights)"))
    p.add_argument("project")
    p.add_argument("--run", type=int, metavar="N", help=_("the run's id (default: the last run)"))
    p.add_argument("--out", required=True, metavar="FILE.html")
    p.add_argument("--dataset", help=_("dataset name or path (default: the project's)"))
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("tensorboard", help=_("TensorBoard on the project's event files"))
    p.add_argument("project")
    p.add_argument("--logdir", metavar="DIR",
                   help=_("the event files' folder (default: PROJECT.tensorboard beside it, where "
                          "the window writes them; train --tensorboard DIR writes to DIR)"))
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, default=6006, help=_("(0: any free port)"))
    p.set_defaults(func=cmd_tensorboard)


def add_train_arguments(p) -> None:
    p.add_argument("--tensorboard", metavar="DIR",
                   help=_("also write TensorBoard event files (scalars, weight histograms, "
                          "hyperparameters, the graph) to DIR/run-N"))
    p.add_argument("--tensorboard-batches", action="store_true",
                   help=_("with --tensorboard: the loss and metrics after every batch too"))


def tensorboard_options(args, worker: int) -> dict:
    """``train --tensorboard DIR`` as the train action's arguments, checked before the run (the
    chief alone writes: one run's files)."""
    from workbench.actions.errors import ActionError
    from workbench.actions.train import check_output_folder
    from workbench.core.tensorboard import TensorBoardMissing, require

    if not args.tensorboard:
        if args.tensorboard_batches:
            raise ActionError(_("--tensorboard-batches goes with --tensorboard DIR"))
        return {}
    try:
        require()
    except TensorBoardMissing as exc:
        raise ActionError(str(exc)) from None
    if worker != 0:
        return {}
    return {"tensorboard_dir": check_output_folder(args.tensorboard),
            "tensorboard_batches": args.tensorboard_batches}


def cmd_report(args) -> int:
    from workbench.actions.report import write_report_for_project

    written = write_report_for_project(args.project, args.out, run_id=args.run,
                                       dataset=args.dataset)
    print(_("Wrote {path} (run {run}, {size} bytes)").format(
        path=written.path, run=written.run_id, size=f"{written.bytes:,}"))
    for note in written.notes:
        print("  " + _("note: {note}").format(note=note))
    return 0


def cmd_tensorboard(args) -> int:
    from workbench.actions.errors import ActionError as CliError
    from workbench.core.safe_io import shown
    from workbench.core.tensorboard import PACKAGE_HINT, event_folder

    folder = Path(args.logdir) if args.logdir else event_folder(args.project)
    if not Path(args.project).is_file():
        raise CliError(_("{project}: no such project file").format(
                           project=shown(args.project)))
    if not folder.is_dir():
        raise CliError(_("{folder}: no TensorBoard files there yet (train with --tensorboard "
                         "{folder}, or tick Training ▸ Write TensorBoard files in the "
                         "window)").format(folder=shown(folder)))
    try:
        from tensorboard import program
    except ImportError:
        raise CliError(_("TensorBoard is not installed: {hint}").format(
                           hint=_(PACKAGE_HINT))) from None
    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", str(folder), "--host", args.host,
                          "--port", str(args.port)])
    try:
        url = board.launch()
    except program.TensorBoardServerException as exc:
        raise CliError(_("TensorBoard could not start: {msg}").format(msg=exc.msg)) from None
    print(_("TensorBoard on {folder}: {url} (Ctrl+C to stop)").format(folder=shown(folder),
                                                                     url=url), flush=True)
    while True:  # the server runs on its own threads until interrupted
        time.sleep(3600)
    return 0  # pragma: no cover

