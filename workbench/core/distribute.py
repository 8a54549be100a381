"""TensorFlow's own distribution strategies for a run (``train --strategy``).

``mirrored(n)``: a ``tf.distribute.MirroredStrategy`` over ``n`` GPUs, or over ``n`` logical CPU
devices where TensorFlow sees fewer than ``n`` GPUs (so it runs, and is tested, on any machine).
Keras's ``model.fit`` does the rest: a model built and compiled inside ``strategy.scope()`` keeps
one copy of its variables per device, splits each (global) batch across them and adds up the
gradients. Logical CPU devices can only be made before TensorFlow has started its runtime, so the
strategy is made first, before any model or tensor.

``multi_worker(workers, index)``: a ``tf.distribute.MultiWorkerMirroredStrategy`` over several
processes (one per machine, each started with the same ``--workers`` list and its own index),
set up through ``TF_CONFIG``. Its training loop is core.multiworker (Keras's ``fit`` fails there).
The checks TensorFlow makes late or never are made first: a port in use, an unknown host, and a
bound on the wait for the other workers.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import socket
import threading
import time

from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import _


class StrategyError(ValueError):
    """A strategy that cannot be set up, in one readable sentence."""


# The most devices one process mirrors over: more GPUs than any machine has, and as many
# logical CPU devices as make sense (TensorFlow took minutes, silently, to make 100,000).
MAX_DEVICES = 64
# The longest --wait for the other workers: a day.
MAX_WAIT_S = 86_400.0


def mirrored(devices: int | None = None):
    """A MirroredStrategy over ``devices`` devices (default: every GPU, else one CPU device)."""
    if devices is not None and not 1 <= devices <= MAX_DEVICES:
        raise StrategyError(_("--devices must be at least 1 and at most {max_devices}, "
                              "got {devices}").format(
                                max_devices=MAX_DEVICES, devices=devices))
    tf, _keras = load_tensorflow(setup=lambda tf: _make_cpu_devices(tf, devices))
    gpus = tf.config.list_physical_devices("GPU")
    n = devices or max(1, len(gpus))
    if len(gpus) >= n:
        return tf.distribute.MirroredStrategy(devices=[f"/gpu:{i}" for i in range(n)])
    have = len(tf.config.list_logical_devices("CPU"))
    if have < n:
        raise StrategyError(
            _("TensorFlow has already started with {have} CPU device(s); {n} can only "
              "be set up before it starts").format(have=have, n=n))
    # NCCL, the default way to add up gradients, works only between GPUs.
    return tf.distribute.MirroredStrategy(devices=[f"/cpu:{i}" for i in range(n)],
                                          cross_device_ops=tf.distribute.ReductionToOneDevice())


# The window splits the CPU in two at TensorFlow's start where there is no GPU, so that a run can
# be mirrored over two devices from its settings (logical devices cannot be made later).
WINDOW_CPU_DEVICES = 2


def split_cpu(tf, devices: int = WINDOW_CPU_DEVICES) -> None:
    """``load_tensorflow(setup=split_cpu)``: ``devices`` logical CPU devices where no GPU is."""
    _make_cpu_devices(tf, devices)


def device_choices(tf=None) -> list[tuple[str, int]]:
    """What a run can be spread over with the devices TensorFlow sees, as (label, devices) for
    ``mirrored(devices)``: one device, or 2..N GPUs, or 2..N logical CPU devices (no GPU)."""
    if tf is None:
        tf, _keras = load_tensorflow()
    gpus = len(tf.config.list_logical_devices("GPU"))
    cpus = len(tf.config.list_logical_devices("CPU"))
    choices = [(_("One device"), 1)]
    if gpus > 1:
        choices += [(_("Mirrored over {n} GPUs").format(n=n), n) for n in range(2, gpus + 1)]
    elif not gpus:
        choices += [(_("Mirrored over {n} logical CPU devices").format(n=n), n)
                    for n in range(2, cpus + 1)]
    return choices


def _make_cpu_devices(tf, devices: int | None) -> None:
    """Before TensorFlow starts: split the CPU into ``devices`` logical devices if there are
    fewer GPUs than that (each replica then has a device of its own)."""
    if devices and len(tf.config.list_physical_devices("GPU")) < devices:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _i in range(devices)])


# Several machines -------------------------------------------------------------------------------

# How long a collective (an all-reduce) may wait for the other workers before it fails; a worker
# that died is usually noticed sooner, by the coordination service's missing heartbeats.
COLLECTIVE_TIMEOUT_S = 60.0


def parse_workers(text: str) -> list[tuple[str, int]]:
    """``HOST:PORT,HOST:PORT,...`` as (host, port) pairs; StrategyError names what is wrong."""
    workers = []
    for item in (part.strip() for part in text.split(",")):
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StrategyError(_("--workers: {item!r} is not HOST:PORT (a port from 1 "
                                  "to 65535)").format(item=item))
        workers.append((host.strip("[]"), int(port)))
    if len(workers) < 2:
        raise StrategyError(_("--workers needs at least two HOST:PORT, one per machine"))
    if len(set(workers)) < len(workers):
        raise StrategyError(_("--workers names the same HOST:PORT twice"))
    return workers


def address(worker: tuple[str, int]) -> str:
    host, port = worker
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def tf_config(workers: list[tuple[str, int]], index: int) -> dict:
    """The ``TF_CONFIG`` TensorFlow's MultiWorkerMirroredStrategy reads: every worker's address
    in the same order on every machine, and which of them this process is (0 is the chief)."""
    if not 0 <= index < len(workers):
        raise StrategyError(_("--worker-index must be from 0 to {n_workers} (one per "
                              "address in --workers)").format(
                                n_workers=len(workers) - 1))
    return {"cluster": {"worker": [address(w) for w in workers]},
            "task": {"type": "worker", "index": index}}


def check_port_free(port: int) -> None:
    """StrategyError when this machine cannot listen on ``port`` (TensorFlow's own message would
    be 'Could not start gRPC server', after its start-up)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError as exc:
            raise StrategyError(_("port {port} on this machine is in use or not allowed "
                                  "({strerror}); pick another in --workers").format(
                                    port=port, strerror=exc.strerror)) from None


def check_hosts(workers: list[tuple[str, int]]) -> None:
    for host, _port in workers:
        try:
            socket.getaddrinfo(host, None)
        except OSError:
            raise StrategyError(_("--workers: host {host!r} is not known to this machine").format(
                                    host=host)) \
                from None


def answering(workers: list[tuple[str, int]], skip: int) -> list[bool]:
    """Which workers accept a connection on their port now (``skip``: this one, True)."""
    found = []
    for i, worker in enumerate(workers):
        if i == skip:
            found.append(True)
            continue
        try:
            socket.create_connection(worker, timeout=2).close()
            found.append(True)
        except OSError:
            found.append(False)
    return found


def multi_worker(workers: list[tuple[str, int]], index: int, wait_s: float = 120.0):
    """A ``tf.distribute.MultiWorkerMirroredStrategy`` with this process as worker ``index``.

    It must be made before TensorFlow's runtime starts, so this is the process's first use of
    TensorFlow. TensorFlow waits for every worker without a limit; here, if they have not all
    joined ``wait_s`` seconds after TensorFlow's import, the process is ended with one line
    naming those missing (the wait happens inside TensorFlow's C++ code, holding the GIL).
    """
    config = tf_config(workers, index)
    if not (math.isfinite(wait_s) and 0 < wait_s <= MAX_WAIT_S):
        raise StrategyError(_("--wait must be more than 0 and at most {max_wait_s:,.0f} "
                              "seconds (a day), got {wait_s:g}").format(
                                max_wait_s=MAX_WAIT_S, wait_s=wait_s))
    check_hosts(workers)
    check_port_free(workers[index][1])
    from workbench.core.tf_loader import is_loaded

    if is_loaded():
        raise StrategyError(_("--strategy multi-worker must be set up before TensorFlow starts"))
    os.environ["TF_CONFIG"] = json.dumps(config)
    made: dict = {}
    started, formed = _watchdog(workers, index, wait_s)
    restore = _signals_to_watchdog()

    def setup(tf) -> None:
        os.write(started, b"s")  # after the import: the wait is counted from here
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING,
            timeout_seconds=COLLECTIVE_TIMEOUT_S)
        made["strategy"] = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=options)

    try:
        load_tensorflow(setup=setup)
    except Exception as exc:  # noqa: BLE001 - TensorFlow's own words, as one line
        from workbench.core.errors import reason_lines

        raise StrategyError(_("worker {index} ({address}) could not start: {reason_lines}").format(
                                index=index, address=address(workers[index]),
                                reason_lines=reason_lines(exc)[-1])) from None
    finally:
        formed()
        restore()
    return made["strategy"]


def _signals_to_watchdog():
    """While TensorFlow waits for the cluster (in C++, holding the GIL) Python's handlers cannot
    run, and TensorFlow's own SIGTERM handler (its preemption notice) swallows SIGTERM. So, in
    the main thread: Ctrl+C (SIGINT) ends the process at once (the watchdog says why), and
    SIGTERM is blocked, so that it stays pending where the watchdog sees it and ends the wait.
    Returns the function that puts Python's handlers back (over TensorFlow's SIGTERM handler,
    which would swallow it for the whole run) and lets SIGTERM through again."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    previous_term = signal.getsignal(signal.SIGTERM)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})

    return restore


def _pending(pid: int, signum: int) -> bool:
    """Whether ``signum`` waits, blocked, to be delivered to process ``pid`` (Linux's /proc;
    False where there is none)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            masks = [line.split(":")[1] for line in status
                     if line.startswith(("SigPnd:", "ShdPnd:"))]
    except OSError:
        return False
    return any(int(mask, 16) >> (signum - 1) & 1 for mask in masks)


def _watchdog(workers, index: int, wait_s: float):
    """A child process that ends this one, with a line saying why, if the cluster has not
    formed ``wait_s`` seconds after it is told the wait began, or a SIGTERM waits for it; it
    also says why when this process ends while waiting (Ctrl+C). (TensorFlow holds the GIL while
    it waits, so no thread of this process could.) Returns the pipe's end to write b"s" to when
    the wait begins, and the function to call when it is over."""
    read, write = os.pipe()
    parent = os.getpid()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child; seen through its effect
        os.close(write)
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C: the parent's end says it
            _watch(read, parent, workers, index, wait_s)
        except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
            code = 1
        os._exit(code)
    os.close(read)

    def formed() -> None:
        try:
            os.write(write, b"f")
        except OSError:  # the child is gone already
            pass
        os.close(write)  # the child sees the end of the pipe and goes
        os.waitpid(child, 0)

    return write, formed


def _watch(read: int, parent: int, workers, index: int, wait_s: float) -> None:  # pragma: no cover
    """The watchdog's loop (see ``_watchdog``): b"s" starts the clock, b"f" ends the watch, the
    pipe's end without b"f" is the parent gone while waiting."""
    deadline = None
    while True:
        left = 0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
        if select.select([read], [], [], left)[0]:
            byte = os.read(read, 1)
            if byte == b"s":
                deadline = time.monotonic() + wait_s
                continue
            if byte != b"f":
                os.write(2, _("workbench: interrupted while worker {index} waited for "
                              "the other workers to join\n").format(index=index).encode())
            return
        if _pending(parent, signal.SIGTERM):
            os.write(2, _("workbench: terminated (SIGTERM) while worker {index} waited "
                          "for the other workers to join\n").format(index=index).encode())
            os.kill(parent, signal.SIGKILL)
            return
        if deadline is not None and time.monotonic() >= deadline:
            missing = [address(w) for w, up in zip(workers, answering(workers, index)) if not up]
            who = ", ".join(missing) or _("some of ") + ", ".join(map(address, workers))
            os.write(2, (_("workbench: worker(s) {who} did not join within {wait_s:g} "
                           "s; start the same command with their --worker-index on each "
                           "machine\n").format(who=who, wait_s=wait_s)).encode())
            os.kill(parent, signal.SIGKILL)
            return


def is_multi_worker(strategy) -> bool:
    if strategy is None:
        return False
    tf, _keras = load_tensorflow()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
