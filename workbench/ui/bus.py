"""Messages between panels that share nothing else: status lines, "test this image", drawings."""

from __future__ import annotations

from PyQt5.QtCore import QObject, pyqtSignal


class MessageBus(QObject):
    status_message = pyqtSignal(str)  # one line for the status bar
    # A picture (numpy array, e.g. a sample in the evaluation gallery) to test in the Draw tab.
    test_image_requested = pyqtSignal(object)
    digit_drawn = pyqtSignal(object)  # the 28x28 input the Draw tab just predicted (float32)
    model_exported = pyqtSignal(str)  # an ONNX/TFLite/SavedModel export that ran (its path)
