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


def strategy(args):
    """The ``tf.distribute`` strategy the arguments ask for (None: none). Made first, before
    any tensor: logical devices and a multi-worker cluster are set up before TensorFlow starts."""
    from workbench.core.distribute import StrategyError, mirrored, multi_worker, parse_workers

    kind = args.strategy
    if args.devices is not None and kind != "mirrored":
        raise ActionError("--devices needs --strategy mirrored")
    if (args.workers is not None or args.worker_index is not None) and kind != "multi-worker":
        raise ActionError("--workers and --worker-index need --strategy multi-worker")
    try:
        if kind == "mirrored":
            return mirrored(args.devices)
        if kind == "multi-worker":
            if args.workers is None or args.worker_index is None:
                raise ActionError("--strategy multi-worker needs --workers HOST:PORT,... and "
                                  "--worker-index I")
            return multi_worker(parse_workers(args.workers), args.worker_index, args.wait)
    except StrategyError as exc:
        raise ActionError(str(exc)) from None
    return None


def worker_of(args) -> int:
    """This process's index among the workers (0 for a one-machine run: it is the chief)."""
    return (args.worker_index or 0) if args.strategy == "multi-worker" else 0


def backup_for(args, out: Path):
    """Where the run backs up after each epoch: ``--resume DIR`` (a killed run's), else a
    folder in ``out``, beside the trained project (one per worker: two may share a machine)."""
    from workbench.core.backup import Backup

    if args.resume:
        backup = Backup(args.resume)
        if not backup.exists():
            raise ActionError(f"nothing to resume in {args.resume}: it holds no backup of a run")
        return backup
    worker = worker_of(args)
    name = Path(args.project).stem + (f".worker-{worker}" if worker else "")
    backup = Backup(out / f"{name}.backup")
    if backup.exists():  # never overwrite (nor silently resume) a killed run
        raise ActionError(f"{backup.folder} holds the backup of an interrupted run: go on with "
                          f"it (--resume {backup.folder}) or delete that folder to start again")
    backup.discard()  # what a run killed before its first backup left
    return backup


def weights_digest(weights) -> str:
    """A short fingerprint of the trained weights: the same on every worker of one run."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for w in weights:
        digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]
