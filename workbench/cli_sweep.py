"""``workbench sweep PROJECT --space SPACE.json``: the argparse front of actions/sweep.py.

Kept beside cli.py (which adds it to its parser) so that the command file stays small; it prints
what the action reports and has no logic of its own.
"""

from __future__ import annotations

import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="search the project's settings with Optuna (trials shared "
                                     "by every process on the same storage and study)")
    p.add_argument("project")
    p.add_argument("--space", required=True, metavar="SPACE.json",
                   help='what varies: {"learning_rate": {"low": 1e-4, "high": 1e-1, "log": true}, '
                        '"2.units": {"choices": [32, 64]}, ...}')
    p.add_argument("--trials", type=int, default=10,
                   help="trials the study holds when done, all processes together (default 10)")
    p.add_argument("--epochs", type=int, help="epochs per trial (default: the project's)")
    p.add_argument("--storage", help="an Optuna storage URL (default: sqlite:///PROJECT.sweeps.db "
                                     "beside the project)")
    p.add_argument("--study", help="the study's name (default: the project's name and the "
                                   "space's fingerprint)")
    p.add_argument("--direction", choices=("maximize", "minimize"),
                   help="maximize the validation accuracy or minimize the validation loss "
                        "(default: accuracy where there is one)")
    p.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe")
    p.add_argument("--no-pruning", action="store_true",
                   help="train every trial to its last epoch (default: median pruning)")
    p.add_argument("--dataset", help="dataset name or path (default: the project's)")
    p.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    p.set_defaults(func=cmd_sweep)


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _read_space(path: str):
    from workbench.actions.sweep import SweepError
    from workbench.core.safe_io import FileRefused, read_text

    try:  # a regular file of a settings file's size: never a FIFO or /dev/zero (#19)
        return json.loads(read_text(path, "json", "search-space file"))
    except FileRefused as exc:
        raise SweepError(str(exc)) from None
    except FileNotFoundError:
        raise SweepError(f"{path}: no such search-space file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"{path}: cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SweepError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise SweepError(f"{path}: nested too deeply to be a search space") from None


def _shown(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def cmd_sweep(args) -> int:
    from workbench.actions.sweep import (
        SweepSettings,
        check_storage_url,
        open_storage,
        open_study,
        prepare_sweep,
        run_sweep,
    )
    from workbench.core.datasets import load_dataset
    from workbench.core.project import load_project

    project = load_project(args.project)
    space = _read_space(args.space)
    if args.storage:  # a wrong or unreachable URL is said at once, before TensorFlow loads
        check_storage_url(args.storage)
        if not args.storage.startswith("sqlite"):  # a server: is it there? (makes no file)
            open_storage(args.storage)
    name = args.dataset or project.dataset
    dataset = load_dataset(name, seed=project.training.seed or 0)
    if dataset.notice:
        sys.stderr.write(f"workbench: {dataset.notice}\n")
    settings = SweepSettings(trials=args.trials, sampler=args.sampler,
                             pruning=not args.no_pruning, direction=args.direction,
                             storage=args.storage, study=args.study, epochs=args.epochs)
    sweep = prepare_sweep(project.model, project.training, dataset, name, space, settings,
                          args.project)
    study = open_study(sweep)
    if not args.json:
        print(f"study {sweep.study} in {sweep.storage_shown}: {sweep.direction} "
              f"{sweep.objective}, {settings.trials} trials")

    def on_trial(report):
        if args.json:
            _emit(report.event())
            return
        took = "" if report.duration is None else f" {report.duration:.1f} s"
        note = f"  ({report.message})" if report.message else ""
        print(f"trial {report.number:>3} {report.state:<8} {_shown(report.value):>7}{took}  "
              f"{json.dumps(report.params)}{note}", flush=True)

    outcome = run_sweep(sweep, dataset, on_trial=on_trial, study=study)
    best = outcome.best
    if args.json:
        _emit({"event": "best", "number": best.number if best else None,
               "params": best.params if best else None, "value": best.value if best else None,
               "study": outcome.study, "storage": outcome.storage, "trials": outcome.total})
    elif best is None:
        print("no trial has finished yet")
    else:
        print(f"best: trial {best.number} {sweep.objective} {best.value:.4f} "
              f"{json.dumps(best.params)} ({outcome.total} trials in the study)")
    return 0
