"""``workbench sweep PROJECT --space SPACE.json``: the argparse front of actions/sweep.py.

Kept beside cli.py (which adds it to its parser) so that the command file stays small; it prints
what the action reports and has no logic of its own.
"""

from __future__ import annotations

import json
import sys

from workbench.i18n import N_, _


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help=_("search the project's settings with Optuna (trials shared "
                                       "by every process on the same storage and study)"))
    p.add_argument("project")
    p.add_argument("--space", required=True, metavar="SPACE.json",
                   help=_('what varies: {"learning_rate": {"low": 1e-4, "high": 1e-1, '
                          '"log": true}, "2.units": {"choices": [32, 64]}, ...}'))
    p.add_argument("--trials", type=int, default=10,
                   help=_("trials the study holds when done, all processes together (default 10)"))
    p.add_argument("--epochs", type=int, help=_("epochs per trial (default: the project's)"))
    p.add_argument("--storage", help=_("an Optuna storage URL (default: "
                                       "sqlite:///PROJECT.sweeps.db beside the project)"))
    p.add_argument("--study", help=_("the study's name (default: the project's name and the "
                                     "space's fingerprint)"))
    p.add_argument("--direction", choices=("maximize", "minimize"),
                   help=_("maximize the validation accuracy or minimize the validation loss "
                          "(default: accuracy where there is one)"))
    p.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe")
    p.add_argument("--no-pruning", action="store_true",
                   help=_("train every trial to its last epoch (default: median pruning)"))
    p.add_argument("--dataset", help=_("dataset name or path (default: the project's)"))
    p.add_argument("--json", action="store_true", help=_("one JSON object per line on stdout"))
    p.set_defaults(func=cmd_sweep)


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _read_space(path: str):
    from workbench.actions.sweep import SweepError
    from workbench.core.safe_io import FileRefused, read_text

    try:  # a regular file of a settings file's size: never a FIFO or /dev/zero (#19)
        return json.loads(read_text(path, "json", N_("search-space file")))
    except FileRefused as exc:
        raise SweepError(str(exc)) from None
    except FileNotFoundError:
        raise SweepError(_("{path}: no such search-space file").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(_("{path}: cannot be read: {exc}").format(path=path, exc=exc)) from None
    except json.JSONDecodeError as exc:
        raise SweepError(_("{path}: not valid JSON (line {lineno}: {msg})").format(
                             path=path, lineno=exc.lineno, msg=exc.msg)) from None
    except RecursionError:
        raise SweepError(_("{path}: nested too deeply to be a search space").format(
                             path=path)) from None


def _shown(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def cmd_sweep(args) -> int:
    from workbench.actions.sweep import (
        InProcessTrainer,
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
        sys.stderr.write(f"workbench: {dataset.notice}\n")  # (worded where it is made)
    settings = SweepSettings(trials=args.trials, sampler=args.sampler,
                             pruning=not args.no_pruning, direction=args.direction,
                             storage=args.storage, study=args.study, epochs=args.epochs)
    sweep = prepare_sweep(project.model, project.training, dataset, name, space, settings,
                          args.project, trainer=InProcessTrainer())
    study = open_study(sweep)
    if not args.json:
        print(_("study {study} in {storage}: {direction} {objective}, {trials} trials").format(
            study=sweep.study, storage=sweep.storage_shown, direction=sweep.direction,
            objective=sweep.objective, trials=settings.trials))

    def on_trial(report):
        if args.json:
            _emit(report.event())
            return
        took = "" if report.duration is None else " " + _("{seconds} s").format(
            seconds=f"{report.duration:.1f}")
        note = f"  ({report.message})" if report.message else ""
        print(_("trial {number} {state} {value}{took}  {params}{note}").format(
            number=f"{report.number:>3}", state=f"{report.state:<8}",
            value=f"{_shown(report.value):>7}", took=took, params=json.dumps(report.params),
            note=note), flush=True)

    outcome = run_sweep(sweep, dataset, on_trial=on_trial, study=study)
    best = outcome.best
    if args.json:
        _emit({"event": "best", "number": best.number if best else None,
               "params": best.params if best else None, "value": best.value if best else None,
               "study": outcome.study, "storage": outcome.storage, "trials": outcome.total})
    elif best is None:
        print(_("no trial has finished yet"))
    else:
        print(_("best: trial {number} {objective} {value} {params} ({total} trials in the "
                "study)").format(number=best.number, objective=sweep.objective,
                                 value=f"{best.value:.4f}", params=json.dumps(best.params),
                                 total=outcome.total))
    return 0
