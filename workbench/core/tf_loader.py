"""Import TensorFlow/Keras once, quietly, from any thread.

TensorFlow's C++ side writes absl/oneDNN banners straight to file descriptor 2 at import and at the
first op, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. We point fd 2 at a temporary file for that window,
then put it back and replay whatever was not such a banner, so real errors still reach the user.

The import also creates some 300,000 long-lived Python objects. Left to the cyclic garbage
collector, every full collection walks all of them while holding the GIL: 100-150 ms in which no
other thread runs, which showed up as the longest GUI stall of each training run. So the collector
is paused during the import and everything it created is then frozen (``gc.freeze()``): modules
live as long as the process anyway, and later collections only walk objects made after start-up.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import tempfile
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")

_lock = threading.Lock()
_modules: tuple | None = None

# Lines TensorFlow prints at start-up that say nothing a user can act on.
_NOISE = re.compile(
    r"(^WARNING: All log messages before absl::InitializeLog\(\))"
    r"|(^[IWE]\d{4} [\d:.]+\s+\d+ \S+\.cc:\d+\])"
    r"|(^To enable the following instructions:)"
    r"|(oneDNN custom operations are on)"
    r"|(rebuild TensorFlow with the appropriate compiler flags)"
)


def is_noise(line: str) -> bool:
    """True for a line of TensorFlow's start-up chatter (absl, oneDNN, CPU instructions)."""
    return bool(_NOISE.search(line))


def _replay(captured: str) -> None:
    kept = [line for line in captured.splitlines() if line.strip() and not is_noise(line)]
    if kept:
        sys.stderr.write("\n".join(kept) + "\n")
        sys.stderr.flush()


def is_loaded() -> bool:
    return _modules is not None


def load_tensorflow(setup=None):
    """Return ``(tensorflow, keras)``, importing them on first use without start-up noise.

    ``setup(tf)`` runs after the import and before TensorFlow's runtime starts (its first op),
    where devices can still be configured; it only runs if this call is the one that imports.
    """
    global _modules
    if _modules is not None:
        return _modules
    with _lock:
        if _modules is not None:
            return _modules
        sys.stderr.flush()
        collecting = gc.isenabled()
        gc.disable()
        saved = os.dup(2)
        with tempfile.TemporaryFile(mode="w+b") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                import keras
                import tensorflow as tf

                tf.get_logger().setLevel("ERROR")
                if setup is not None:
                    setup(tf)
                # The first op prints a second banner; run it while fd 2 is still captured.
                tf.constant(1.0) + 1.0
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                _replay(sink.read().decode("utf-8", "replace"))
                gc.freeze()
                if collecting:
                    gc.enable()
        _modules = (tf, keras)
        return _modules


def keras_module():
    return load_tensorflow()[1]
