"""``workbench engine --listen HOST:PORT``: the engine alone, no display; and ``workbench train
PROJECT --engine FILE``: a run on such an engine, with the events and results of a local run.

The engine binds loopback unless ``--allow-remote`` (the way in from another machine is an SSH
local forward), signs with a random key it writes, with its address, to the connection file (mode
0600), and serves until Ctrl+C or SIGTERM, then removes its file. The run's caller needs no
TensorFlow: the engine inspects the model, trains on its own copy of a built-in dataset and sends
the trained ``.keras`` back as bytes, which are written as a local run writes its model.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import time
from pathlib import Path

from workbench.actions.errors import ActionError
from workbench.cli_common import EXIT_ERROR, EXIT_INVALID, CliError, _emit, _warn
from workbench.core.safe_io import shown
from workbench.i18n import _

LOST_S = 15.0  # a run's caller that hears nothing (heartbeats included) this long: the link is lost
QUIET_S = 10.0  # a run that says nothing this long, its engine heard: ask for its reply again


def add_parser(sub) -> None:
    p = sub.add_parser("engine", help=_("run the engine alone (no display), for `train --engine` "
                                        "from this or another machine (through ssh -L)"))
    p.add_argument("--listen", required=True, metavar="HOST:PORT",
                   help=_("where to listen, e.g. 127.0.0.1:5555 (port 0: any free port)"))
    p.add_argument("--connection-file", metavar="F",
                   help=_("where to write the connection file (address, port, key; mode 0600); "
                          "default: in the Workbench's data folder, engines/engine-PORT.json"))
    p.add_argument("--allow-remote", action="store_true",
                   help=_("allow an address other than loopback (anyone who can reach it still "
                          "needs the key)"))
    p.set_defaults(func=cmd_engine)


def cmd_engine(args) -> int:
    from workbench.engine import remote
    from workbench.engine.protocol import new_key

    try:
        host, port = remote.parse_listen(args.listen, args.allow_remote)
        if args.connection_file:  # checked before the port is taken
            remote.check_connection_file(args.connection_file)
    except remote.RemoteError as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    from workbench.engine.handlers import EngineState, handlers

    state, key = EngineState(), new_key()
    state.remote = True  # its files (TensorBoard's) would be on its own machine
    try:
        server = remote.bind(key, host, port, handlers(state))
        port = int(server.address.rsplit(":", 1)[1])
        path = Path(args.connection_file or remote.default_connection_file(port))
        connection = remote.Connection(remote.reachable_host(host), port, key, pid=os.getpid(),
                                       version=remote.workbench_version())
        remote.write_connection_file(path, connection)
    except remote.RemoteError as exc:
        if "server" in locals():
            server.close()
        raise CliError(str(exc)) from None
    server.on_close.append(state.cancel_all)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s engine %(levelname)s %(message)s")
    sys.setswitchinterval(0.001)  # as the spawned engine (engine/__main__.py says why)
    print(_("workbench engine listening on {address}; connection file {path}").format(
        address=server.address, path=path), flush=True)
    ended: list[str] = []

    def end(signum, _frame):
        ended.append(signal.Signals(signum).name)
        server.stop()

    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, end)
    threading.Thread(target=state.warm_up, name="engine-warm-up", daemon=True).start()
    try:
        server.serve()
    finally:
        removed = remote.remove_connection_file(path, os.getpid())
        why = ended[0] if ended else _("shut down")
        print(_("workbench engine stopped ({why})").format(why=why)
              + (_("; removed {path}").format(path=path) if removed else ""), flush=True)
    ending = threading.Thread(target=server.context.term, daemon=True)
    ending.start()
    ending.join(2.0)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)  # TensorFlow's own threads must not hold the exit up


# --- train --engine ------------------------------------------------------------------------------


def train_command(args) -> int:
    """``workbench train``: on the engine ``--engine`` names, else here (``cli_train``)."""
    from workbench import cli_train
    from workbench.core.project import check_room_for_run

    if not args.engine:
        return cli_train.cmd_train(args)
    project, out, backup = cli_train.prepare(args)
    check_room_for_run(project, project.training.epochs, args.project)
    cli_train.check_results(args, out)
    return train_remote(args, project, out, backup)


def _connect(args):
    from workbench.engine import remote

    try:
        connection = remote.read_connection_file(args.engine)
        client, _connection = remote.connect(connection, args.engine)
    except remote.RemoteError as exc:
        raise CliError(str(exc)) from None
    return connection, client


def train_remote(args, project, out: Path, backup) -> int:
    """``train PROJECT --engine FILE``: the run on that engine, its results written here."""
    from workbench import cli_train
    from workbench.core.datasets.registry import dataset_names
    from workbench.core.runs import next_run_id
    from workbench.engine.client import EngineError
    from workbench.engine.plain import inspection_from_dict

    builtin = project.dataset in dataset_names()
    if not builtin:
        _check_sendable(project.dataset)
    connection, client = _connect(args)
    try:
        try:
            answer = client.request("inspect", {"spec": project.model.to_dict()}, timeout=120)
        except (EngineError, TimeoutError) as exc:
            raise CliError(_("the engine at {where}: {exc}").format(
                               where=connection.where, exc=exc)) from None
        report = inspection_from_dict(answer["inspection"])
        if not report.ok:
            raise CliError(_("invalid model: {reason}").format(
                               reason=report.error_text()), EXIT_INVALID)
        run_id = next_run_id(project.runs)
        body = {"spec": project.model.to_dict(), "config": project.training.to_dict(),
                "dataset": project.dataset, "run_id": run_id, "weights": False,
                "keras_file": True, "title": f"{Path(args.project).stem} (run {run_id})"}
        if not builtin:
            body["dataset_hash"] = _send_dataset(args, client, project.dataset)
        try:  # Train's checks, on the engine's memory and data
            problem = client.request("check_run", body, timeout=600)["problem"]
        except (EngineError, TimeoutError) as exc:
            raise CliError(str(exc)) from None
        if problem:
            raise CliError(problem[0].lower() + problem[1:], EXIT_INVALID)
        cli_train.clear_backup(args, backup)
        reply = _follow(args, client, connection, body)
    finally:
        client.close()
    return _finish(args, project, out, backup, reply)


def _check_sendable(dataset: str) -> None:
    """A dataset file or folder the engine can be sent (DatasetError in the words of a local run:
    missing, not a regular .npz file)."""
    from workbench.core.datasets.registry import describe

    describe(dataset)


def _send_dataset(args, client, dataset: str) -> str:
    """Send the dataset file unless the engine has it already (keyed by its content): its hash."""
    from workbench.engine.client import EngineError
    from workbench.engine.datacache import DataCacheError, send

    name = shown(Path(dataset).name)
    try:
        digest, sent = send(client.request, dataset)
    except (DataCacheError, EngineError, TimeoutError) as exc:
        raise CliError(_("sending {name} to the engine failed: {exc}").format(
                           name=name, exc=exc)) from None
    except OSError as exc:
        raise CliError(f"{shown(exc.filename or dataset)}: {exc.strerror or exc}") from None
    if not args.json:
        print(_("Sent {name} to the engine ({size} MB)").format(name=name, size=f"{sent / 1e6:.1f}")
              if sent else _("The engine has {name} already (by its content): 0 bytes "
                             "sent").format(name=name), flush=True)
    return digest


def _follow(args, client, connection, body: dict) -> dict:
    """Submit the run, show its epochs as they come, and return its reply's body. Should the
    link drop and come back (zmq reconnects under the same identity), what was sent meanwhile is
    lost: after ``QUIET_S`` without a word of the run, the engine is asked where it is, and its
    reply is fetched again (``result``); the epochs missed are shown from the run's history."""
    events: queue.SimpleQueue = queue.SimpleQueue()
    call = client.submit("train", body, on_event=events.put, on_reply=events.put)
    epochs, shown_epochs = body["config"].get("epochs"), set()
    last_word = time.monotonic()
    try:
        while True:
            try:
                message = events.get(timeout=0.5)
            except queue.Empty:
                if client.silence > LOST_S:
                    raise CliError(_("lost the connection to the engine at {where}; the run goes "
                                     "on there, but its results will not come back here").format(
                                       where=connection.where)) from None
                if time.monotonic() - last_word > QUIET_S:
                    last_word = time.monotonic()
                    reply = _ask_result(client, call.id)
                    if reply is not None:
                        _show_missed(args, reply, shown_epochs, epochs)
                        return reply
                continue
            last_word = time.monotonic()
            if message.kind == "reply":
                if not message.ok:
                    raise CliError(message.error)
                _show_missed(args, message.body, shown_epochs, epochs)
                return message.body
            if message.name == "train_begin" and not args.json:
                print(_("Training on the engine at {where}").format(where=connection.where))
            elif message.name == "warning":
                _warn(message.body.get("text", ""))
            elif message.name == "epoch_end":
                _show_epoch(args, message.body["epoch"], message.body["logs"], epochs)
                shown_epochs.add(message.body["epoch"])
    except KeyboardInterrupt:
        try:  # the run is ours: it stops with us
            client.request("stop", {"request": call.id}, timeout=5)
        except Exception:  # noqa: BLE001 - gone already: nothing more to stop
            pass
        raise


def _ask_result(client, request: str) -> dict | None:
    """The run's reply if it ended (its first sending lost), None while it runs."""
    from workbench.engine.client import EngineError

    try:
        answer = client.request("result", {"request": request}, timeout=LOST_S)
    except (EngineError, TimeoutError):
        return None  # the link is down again: the silence check says so in time
    if answer.get("reply") is not None:
        return answer["reply"]
    if not answer.get("running"):
        raise CliError(_("the engine no longer knows this run (it was restarted, or the run "
                         "failed while the link was down)"))
    return None


def _show_epoch(args, epoch: int, logs: dict, epochs) -> None:
    if args.json:
        _emit({"event": "epoch_end", "epoch": epoch, "logs": logs})
    else:
        line = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if k != "learning_rate")
        print(_("Epoch {epoch}/{epochs} - {logs}").format(epoch=epoch + 1, epochs=epochs,
                                                          logs=line), flush=True)


def _show_missed(args, reply: dict, shown_epochs: set, epochs) -> None:
    history = reply.get("history") or {}
    for epoch in range(int(reply.get("epochs_completed") or 0)):
        if epoch not in shown_epochs:
            _show_epoch(args, epoch, {k: v[epoch] for k, v in history.items()
                                      if epoch < len(v)}, epochs)


def _finish(args, project, out: Path, backup, reply: dict) -> int:
    from workbench import cli_train
    from workbench.core.atomic import replacing

    status, message = reply.get("status"), reply.get("message") or ""
    if status == "failed":
        backup.discard()
        raise CliError(message or _("the run failed on the engine"))
    keras = reply.get("keras")
    if keras is None:
        raise CliError(_("the engine sent no trained model back"))

    def write_model(path: Path) -> Path:
        with replacing(path, suffix=".keras") as tmp:
            with open(tmp, "wb") as handle:
                handle.write(memoryview(keras).cast("B"))
        return path

    try:
        saved = cli_train.save_trained(args, out, project, reply["record"], write_model, backup)
    except ActionError as exc:
        raise CliError(str(exc)) from None
    cli_train.end_backup(backup, _warn, saved)
    test = reply.get("test") or {}
    summary = {"event": "done", **saved, "status": status,
               "epochs": reply.get("epochs_completed"),
               "duration": round(float(reply.get("duration") or 0.0), 2), "replicas": 1,
               **cli_train.test_scores(test)}
    if message:
        summary["message"] = message
    if args.json:
        _emit(summary)
    else:
        cli_train.print_done(summary, _("Saved {model} and {project}").format(
            model=summary["model"], project=summary["project"]))
        if message:
            print(message)
    if status == "nan":
        sys.stderr.write(f"workbench: {message}\n")
        return EXIT_ERROR
    return 0
