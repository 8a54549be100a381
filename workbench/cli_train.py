"""``workbench train``: the command, its terminal progress, and where and how it runs:
``--strategy`` (one device, mirrored over several, or several machines), the backup folder and
``--resume``. Usage errors are ``ActionError`` (one line on stderr, exit code 2).
"""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.actions.errors import ActionError
from workbench.cli_common import EXIT_ERROR, EXIT_INVALID, CliError, _emit, _load_dataset, _warn
from workbench.i18n import _


def add_arguments(p) -> None:
    p.add_argument("--resume", metavar="DIR",
                   help=_("go on with a killed run from its backup folder (printed at its start)"))
    p.add_argument("--strategy", choices=["mirrored", "multi-worker"],
                   help=_("tf.distribute strategy: mirrored = one replica per device; "
                          "multi-worker = one process per machine, the same command on each"))
    p.add_argument("--devices", type=int,
                   help=_("devices for --strategy mirrored: N GPUs, or N logical CPU devices "
                          "where there are fewer GPUs (default: every GPU, else 1)"))
    p.add_argument("--workers", metavar="HOST:PORT,...",
                   help=_("for --strategy multi-worker: every worker's address, in the same order "
                          "on every machine"))
    p.add_argument("--worker-index", type=int, metavar="I",
                   help=_("for --strategy multi-worker: which of --workers this machine is "
                          "(0, the chief, writes the trained project)"))
    p.add_argument("--engine", metavar="FILE",
                   help=_("train on the engine this connection file names (`workbench engine` "
                          "writes it), here or on another machine; the results are written here"))
    p.add_argument("--wait", type=float, default=120.0, metavar="S",
                   help=_("for --strategy multi-worker: seconds to wait for the other workers "
                          "to join (default 120)"))


def check_arguments(args) -> None:
    """The arguments' own mistakes, said before anything is read, made or touched."""
    if args.engine:
        for flag, value in (("--resume", args.resume), ("--strategy", args.strategy),
                            ("--tensorboard", getattr(args, "tensorboard", None))):
            if value:
                raise ActionError(_("{flag} does not go with --engine yet: the run's files would "
                                    "be on the engine's machine").format(flag=flag))
    kind = args.strategy
    if args.devices is not None and kind != "mirrored":
        raise ActionError(_("--devices needs --strategy mirrored"))
    if (args.workers is not None or args.worker_index is not None) and kind != "multi-worker":
        raise ActionError(_("--workers and --worker-index need --strategy multi-worker"))
    if kind == "multi-worker" and (args.workers is None or args.worker_index is None):
        raise ActionError(_("--strategy multi-worker needs --workers HOST:PORT,... and "
                            "--worker-index I"))


def strategy(args):
    """The ``tf.distribute`` strategy the (checked) arguments ask for (None: none). Made first,
    before any tensor: logical devices and a multi-worker cluster are set up before TensorFlow
    starts."""
    from workbench.core.distribute import StrategyError, mirrored, multi_worker, parse_workers

    try:
        if args.strategy == "mirrored":
            return mirrored(args.devices)
        if args.strategy == "multi-worker":
            return multi_worker(parse_workers(args.workers), args.worker_index, args.wait)
    except StrategyError as exc:
        raise ActionError(str(exc)) from None
    return None


def worker_of(args) -> int:
    """This process's index among the workers (0 for a one-machine run: it is the chief)."""
    return (args.worker_index or 0) if args.strategy == "multi-worker" else 0


def backup_for(args, out: Path):
    """Where the run backs up after each epoch: ``--resume DIR`` (a killed run's), else a
    folder in ``out``, beside the trained project (one per worker: two may share a machine).
    Only checked here, never touched: a folder that is not a backup of ours is refused, whatever
    it holds (the run makes its folder at its first backup)."""
    from workbench.core.backup import Backup, BackupError

    worker = worker_of(args)
    name = Path(args.project).stem + (f".worker-{worker}" if worker else "")
    backup = Backup(args.resume or out / f"{name}.backup")
    try:
        backup.check_resume() if args.resume else backup.check_new()
    except BackupError as exc:
        raise ActionError(str(exc)) from None
    return backup


def clear_backup(args, backup) -> None:
    """A new run's backup folder, cleared of what a run of ours left in it (``Backup.clear``)."""
    from workbench.core.backup import BackupError

    if args.resume:
        return
    try:
        backup.clear()
    except BackupError as exc:
        raise ActionError(str(exc)) from None


SCORED = ("loss", "accuracy", "mae", "mse")  # the test scores a run's summary reports


def test_scores(test: dict) -> dict:
    """The run's test scores as the summary's ``test_*`` entries."""
    return {f"test_{k}": v for k, v in test.items() if k in SCORED}


def print_done(summary: dict, last_line: str) -> None:
    """The run's end for a person (not ``--json``): its test scores, then ``last_line``."""
    scores = ", ".join(f"{k} {v:.4f}" for k, v in summary.items() if k.startswith("test_"))
    print(_("Test: {scores}").format(scores=scores or _("not scored")))
    print(last_line)


def end_backup(backup, warn, results: dict | None = None) -> None:
    """The run's results are in their places (or it had none to save): its backup goes."""
    backup.mark_saved(results)
    left = backup.discard()
    if left:
        warn(_("{folder} is left: it holds files the Workbench did not write ({left})").format(
                 folder=backup.folder, left=', '.join(left[:3])))


def result_paths(args, out: Path) -> tuple[Path, Path]:
    """Where the trained ``.keras`` and project go: ``NAME.keras``, ``NAME.json`` in ``out``
    (``NAME.trained.json`` where that is the project trained), the model beside its project,
    where the app (and ``workbench export``) look for its trained weights."""
    from workbench.core.project import weights_path

    stem = Path(args.project).stem
    project_path = out / f"{stem}.json"
    if project_path.resolve() == Path(args.project).resolve():
        project_path = out / f"{stem}.trained.json"
    return weights_path(project_path), project_path


def check_results(args, out: Path) -> None:
    """Refuse, before the run, a folder, FIFO or device where a result is to be replaced (a
    regular file or a link is replaced by the rename, never written through)."""
    import os
    import stat

    from workbench.core.safe_io import shown

    for path in result_paths(args, out):
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            what = _("model") if path.suffix == ".keras" else _("project")
            raise ActionError(_("{path}: is in the way of the trained {what} and is not a file; "
                                "nothing was changed: move it, or train with --out "
                                "elsewhere").format(path=shown(path), what=what))


def end_saved(args, backup, emit, warn) -> int:
    """``--resume`` of a run killed after its results were saved: only its backup is left to go."""
    results = backup.saved()
    end_backup(backup, warn, results)
    message = _("the run was saved before it was stopped; its backup {folder} is "
                "removed").format(folder=backup.folder)
    if args.json:
        emit({"event": "done", **results, "status": "saved", "message": message})
    else:
        print(_("Saved {model} and {project}").format(model=results["model"],
                                                      project=results["project"])
              + f" ({message})")
    return 0


def save_trained(args, out: Path, project, record: dict, write_model, backup) -> dict:
    """Write the trained ``.keras`` (``write_model(path)`` writes it, returns where) and the
    project with its new run's ``record`` into ``out``: each first whole inside the backup
    folder, then renamed to its place; the backup goes only after that, so a kill at any moment
    leaves the run (``--resume``) and nothing half-written beside it."""
    from workbench.core.project import ProjectError, save_project

    model_path, project_path = result_paths(args, out)
    project.runs.append(record)
    try:
        out.mkdir(parents=True, exist_ok=True)
        staged_model = write_model(backup.staged(model_path.name))
        staged_project = backup.staged(project_path.name)
        save_project(project, staged_project, place=project_path)
        backup.publish([(staged_model, model_path), (staged_project, project_path)])
    except (OSError, ProjectError) as exc:
        why = str(exc) if isinstance(exc, ProjectError) else (
            _("{filename}: cannot be written ({reason})").format(
                filename=exc.filename or out, reason=exc.strerror or exc))
        raise ActionError(_("{why}; the trained run is kept: once that is mended, --resume "
                            "{folder}").format(why=why, folder=backup.folder)) from None
    return {"model": str(model_path), "project": str(project_path)}


def weights_digest(weights) -> str:
    """A short fingerprint of the trained weights: the same on every worker of one run."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for w in weights:
        digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def _terminal_listener(json_mode: bool, starting: str = ""):
    from workbench.core.tf_loader import load_tensorflow
    from workbench.core.training import TrainingListener

    _tf, keras = load_tensorflow()

    class TerminalListener(TrainingListener):
        """Keras-style progress bar on the terminal, or one JSON line per epoch."""

        def __init__(self):
            self.bar = None
            self.info = {}

        def on_warning(self, text):
            _warn(text)

        def on_train_begin(self, info):
            self.info = info
            if starting and not json_mode:
                print(starting)

        def on_epoch_begin(self, epoch):
            if json_mode:
                return
            print(_("Epoch {epoch}/{epochs}").format(epoch=epoch + 1, epochs=self.info["epochs"]))
            self.bar = keras.utils.Progbar(self.info["steps_per_epoch"])

        def on_batch_end(self, epoch, batch, logs):
            if self.bar is not None:
                values = [(k, v) for k, v in logs.items()]
                self.bar.stateful_metrics = set(logs)
                # The bar is finalised once, at epoch end, with the validation figures.
                self.bar.update(batch + 1, values=values, finalize=False)

        def on_epoch_end(self, epoch, logs):
            if json_mode:
                _emit({"event": "epoch_end", "epoch": epoch, "logs": logs})
            elif self.bar is not None:
                shown = {k: v for k, v in logs.items() if k != "learning_rate"}
                self.bar.stateful_metrics = set(shown)
                self.bar.update(self.info["steps_per_epoch"], values=list(shown.items()),
                                finalize=True)

    return TerminalListener()


def prepare(args):
    """``(project, out, backup)`` of a run, checked before anything is read, made or touched
    (the local run's and ``--engine``'s)."""
    from workbench.actions.train import check_output_folder
    from workbench.core.project import load_project

    check_arguments(args)  # before anything is read or touched
    project = load_project(args.project)
    if args.dataset:
        project.dataset = args.dataset
    if args.epochs is not None:
        from workbench.core.spec import SpecError, checked_epochs

        try:  # the project's own bounds
            project.training.epochs = checked_epochs(args.epochs)
        except SpecError as exc:
            raise CliError(f"--{exc}", EXIT_INVALID) from None
    out = Path(args.out) if args.out else Path(args.project).resolve().parent
    check_output_folder(out)  # before the run, not after it
    backup = backup_for(args, out)  # checked; made once the run starts
    return project, out, backup


def cmd_train(args) -> int:
    from workbench import cli_report
    from workbench.actions.errors import ActionError
    from workbench.actions.train import preflight, train
    from workbench.core.inspect import inspect_model
    from workbench.core.project import check_room_for_run
    from workbench.core.runs import next_run_id

    project, out, backup = prepare(args)
    if args.resume and backup.saved() is not None:  # killed after its results were in place
        return end_saved(args, backup, _emit, _warn)
    worker = worker_of(args)
    if not worker:
        check_room_for_run(project, project.training.epochs, args.project)
        check_results(args, out)
    chosen = strategy(args)  # before any tensor (see there)
    report = inspect_model(project.model)
    if not report.ok:
        raise CliError(_("invalid model: {reason}").format(
                           reason=report.error_text()), EXIT_INVALID)
    _preflight(preflight(project.model, report, project.training, None))  # before the data
    board = cli_report.tensorboard_options(args, worker)  # train's tensorboard_dir, ...
    dataset = _load_dataset(project.dataset, project.training.seed)
    _preflight(preflight(project.model, report, project.training, dataset))  # Train's checks
    starting = (_("Backing up after every epoch to {folder} (if the run is killed: "
                  "--resume {folder})").format(folder=backup.folder))
    clear_backup(args, backup)
    try:
        run = train(project.model, project.training, dataset, project.dataset,
                    _terminal_listener(args.json, starting), run_id=next_run_id(project.runs),
                    strategy=chosen, backup_dir=backup.folder, **board)
    except BaseException:
        if not backup.exists():  # it could not start: nothing of it to keep
            backup.discard()
        raise
    result, test = run.outcome.result, run.outcome.test or {}
    several = result.shard_samples is not None  # on several machines: the chief writes
    if result.status == "failed":
        if backup.exists():  # a lost worker, a full disk, a backup that does not fit: kept
            raise CliError(_("{message} (the run's backup is kept: --resume {folder})").format(
                               message=result.message, folder=backup.folder))
        backup.discard()
        raise CliError(result.message)
    summary = {"event": "done", "model": None, "project": None}
    if not worker:
        try:
            from workbench.core.modelio import save_model

            summary.update(save_trained(args, out, project, run.outcome.record.to_dict(),
                                        lambda path: save_model(run.model, path), backup))
        except ActionError as exc:
            raise CliError(str(exc)) from None
    end_backup(backup, _warn, {"model": summary["model"], "project": summary["project"]})
    summary.update({
        "status": result.status, "epochs": result.epochs_completed,
        "duration": round(result.duration, 2),
        "replicas": chosen.num_replicas_in_sync if chosen is not None else 1,
        **test_scores(test),
    })
    if several:
        summary.update(worker=worker, shard_samples=result.shard_samples,
                       weights_digest=weights_digest(run.outcome.weights))
    if result.message:
        summary["message"] = result.message
    if args.json:
        _emit(summary)
    else:
        print_done(summary, _("Saved {model} and {project}").format(
            model=summary["model"], project=summary["project"]) if not worker else
            _("Worker {worker} done (weights {digest}); the chief saves").format(
                worker=worker, digest=summary["weights_digest"]))
    if result.status == "nan":
        sys.stderr.write(f"workbench: {result.message}\n")
        return EXIT_ERROR
    if result.message and not args.json:
        print(result.message)
    return 0


def _preflight(problem: str) -> None:
    if problem:  # the window's words, as a line of the terminal's
        raise CliError(problem[0].lower() + problem[1:], EXIT_INVALID)
