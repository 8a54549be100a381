"""The parts of ``workbench train`` about where and how it runs: ``--strategy`` (one device,
mirrored over several, or several machines), the backup folder and ``--resume``.

Kept beside cli.py, which calls these from ``cmd_train``, so that the command file stays small.
Usage errors are ``ActionError`` (one line on stderr, exit code 2).
"""

from __future__ import annotations

from pathlib import Path

from workbench.actions.errors import ActionError


def add_arguments(p) -> None:
    p.add_argument("--resume", metavar="DIR",
                   help="go on with a killed run from its backup folder (printed at its start)")
    p.add_argument("--strategy", choices=["mirrored", "multi-worker"],
                   help="tf.distribute strategy: mirrored = one replica per device; "
                        "multi-worker = one process per machine, the same command on each")
    p.add_argument("--devices", type=int,
                   help="devices for --strategy mirrored: N GPUs, or N logical CPU devices "
                        "where there are fewer GPUs (default: every GPU, else 1)")
    p.add_argument("--workers", metavar="HOST:PORT,...",
                   help="for --strategy multi-worker: every worker's address, in the same order "
                        "on every machine")
    p.add_argument("--worker-index", type=int, metavar="I",
                   help="for --strategy multi-worker: which of --workers this machine is "
                        "(0, the chief, writes the trained project)")
    p.add_argument("--wait", type=float, default=120.0, metavar="S",
                   help="for --strategy multi-worker: seconds to wait for the other workers "
                        "to join (default 120)")


def check_arguments(args) -> None:
    """The arguments' own mistakes, said before anything is read, made or touched."""
    kind = args.strategy
    if args.devices is not None and kind != "mirrored":
        raise ActionError("--devices needs --strategy mirrored")
    if (args.workers is not None or args.worker_index is not None) and kind != "multi-worker":
        raise ActionError("--workers and --worker-index need --strategy multi-worker")
    if kind == "multi-worker" and (args.workers is None or args.worker_index is None):
        raise ActionError("--strategy multi-worker needs --workers HOST:PORT,... and "
                          "--worker-index I")


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


def end_backup(backup, warn, results: dict | None = None) -> None:
    """The run's results are in their places (or it had none to save): its backup goes."""
    backup.mark_saved(results)
    left = backup.discard()
    if left:
        warn(f"{backup.folder} is left: it holds files the Workbench did not write "
             f"({', '.join(left[:3])})")


def end_saved(args, backup, emit, warn) -> int:
    """``--resume`` of a run killed after its results were saved: only its backup is left to go."""
    results = backup.saved()
    end_backup(backup, warn, results)
    message = f"the run was saved before it was stopped; its backup {backup.folder} is removed"
    if args.json:
        emit({"event": "done", **results, "status": "saved", "message": message})
    else:
        print(f"Saved {results['model']} and {results['project']} ({message})")
    return 0


def save_trained(args, out: Path, project, run, backup) -> dict:
    """Write the trained ``.keras`` and the project with its new run into ``out``: each first
    whole inside the backup folder, then renamed to its place; the backup goes only after that,
    so a kill at any moment leaves the run (``--resume``) and nothing half-written beside it."""
    from workbench.core.modelio import save_model
    from workbench.core.project import ProjectError, save_project, weights_path

    stem = Path(args.project).stem
    project_path = out / f"{stem}.json"
    if project_path.resolve() == Path(args.project).resolve():
        project_path = out / f"{stem}.trained.json"
    # Beside the project, where the app (and `workbench export`) look for its trained weights.
    model_path = weights_path(project_path)
    project.runs.append(run.outcome.record.to_dict())
    try:
        out.mkdir(parents=True, exist_ok=True)
        staged_model = save_model(run.model, backup.staged(model_path.name))
        staged_project = backup.staged(project_path.name)
        save_project(project, staged_project, place=project_path)
        backup.publish([(staged_model, model_path), (staged_project, project_path)])
    except (OSError, ProjectError) as exc:
        why = str(exc) if isinstance(exc, ProjectError) else (
            f"{exc.filename or out}: cannot be written ({exc.strerror or exc})")
        raise ActionError(f"{why}; the trained run is kept in {backup.folder}: make room, then "
                          f"--resume {backup.folder}") from None
    return {"model": str(model_path), "project": str(project_path)}


def weights_digest(weights) -> str:
    """A short fingerprint of the trained weights: the same on every worker of one run."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for w in weights:
        digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]
