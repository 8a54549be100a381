"""TensorFlow's own distribution strategies for a run (``train --strategy``).

``mirrored(n)``: a ``tf.distribute.MirroredStrategy`` over ``n`` GPUs, or over ``n`` logical CPU
devices where TensorFlow sees fewer than ``n`` GPUs (so it runs, and is tested, on any machine).
Keras's ``model.fit`` does the rest: a model built and compiled inside ``strategy.scope()`` keeps
one copy of its variables per device, splits each (global) batch across them and adds up the
gradients. Logical CPU devices can only be made before TensorFlow has started its runtime, so the
strategy is made first, before any model or tensor.
"""

from __future__ import annotations

from workbench.core.tf_loader import load_tensorflow


class StrategyError(ValueError):
    """A strategy that cannot be set up, in one readable sentence."""


def mirrored(devices: int | None = None):
    """A MirroredStrategy over ``devices`` devices (default: every GPU, else one CPU device)."""
    if devices is not None and devices < 1:
        raise StrategyError("--devices must be at least 1")
    tf, _ = load_tensorflow(setup=lambda tf: _make_cpu_devices(tf, devices))
    gpus = tf.config.list_physical_devices("GPU")
    n = devices or max(1, len(gpus))
    if len(gpus) >= n:
        return tf.distribute.MirroredStrategy(devices=[f"/gpu:{i}" for i in range(n)])
    have = len(tf.config.list_logical_devices("CPU"))
    if have < n:
        raise StrategyError(
            f"TensorFlow has already started with {have} CPU device(s); {n} can only be set "
            "up before it starts")
    # NCCL, the default way to add up gradients, works only between GPUs.
    return tf.distribute.MirroredStrategy(devices=[f"/cpu:{i}" for i in range(n)],
                                          cross_device_ops=tf.distribute.ReductionToOneDevice())


def _make_cpu_devices(tf, devices: int | None) -> None:
    """Before TensorFlow starts: split the CPU into ``devices`` logical devices if there are
    fewer GPUs than that (each replica then has a device of its own)."""
    if devices and len(tf.config.list_physical_devices("GPU")) < devices:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(devices)])
