"""Keep the converters' and runtimes' native chatter off the terminal.

The TFLite converter and the LiteRT interpreter write C++ log lines straight to file descriptor 2
("fully_quantize: 0, ...", "INFO: Created TensorFlow Lite XNNPACK delegate", absl ``W0000``
lines); tf2onnx logs each unsupported op through Python logging. ``captured()`` points fd 2 at a
temporary file and collects tf2onnx's records for the length of a block; the text is handed to the
caller (who puts what matters into a readable error) and never printed.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# fd 2 is one per process: two captures at once would put it back wrongly.
_lock = threading.RLock()


class _Collect(logging.Handler):
    def __init__(self, lines: list[str]):
        super().__init__(logging.WARNING)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a bad log record must not break an export
            pass


@contextmanager
def captured() -> Iterator[list[str]]:
    """Within the block fd 2 and the tf2onnx logger are captured; the yielded list holds the
    captured lines once the block ends (also when it raises)."""
    lines: list[str] = []
    logger = logging.getLogger("tf2onnx")
    handler = _Collect(lines)
    with _lock:
        sys.stderr.flush()
        saved_fd = os.dup(2)
        saved_propagate, saved_level = logger.propagate, logger.level
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET or logger.level > logging.WARNING:
            logger.setLevel(logging.WARNING)
        with tempfile.TemporaryFile(mode="w+b") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield lines
            finally:
                sys.stderr.flush()
                os.dup2(saved_fd, 2)
                os.close(saved_fd)
                logger.removeHandler(handler)
                logger.propagate = saved_propagate
                logger.setLevel(saved_level)
                sink.seek(0)
                text = sink.read().decode("utf-8", "replace")
                lines.extend(line for line in text.splitlines() if line.strip())
